package tracker

import (
	"math"
	"strings"
	"testing"
	"time"

	"ferry/task"
)

func TestRecordLine(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		r    Record
		line string
	}{
		{Record{Time: at, Result: OK, Size: 5, CRC64: 0xdeadbeef, HasCRC: true, Key: "a.txt"},
			"2025-03-04T04:06:07Z\tOK\t5\t00000000deadbeef\ta.txt\t\n"},
		{Record{Time: at, Result: Skip, Size: 0, Key: "dir/é", Detail: "exists", Kind: task.Skipped},
			"2025-03-04T04:06:07Z\tSKIP\t0\t-\tdir/é\texists\n"},
		{Record{Time: at, Result: Fail, Size: -1, Key: "a\tb\nc\xff\\", Detail: "READ_ERROR: bad\tthing\n", Kind: task.ReadError},
			"2025-03-04T04:06:07Z\tFAIL\t-1\t-\t" + `a\tb\nc\xff\\` + "\t" + `READ_ERROR: bad\tthing\n` + "\n"},
		{Record{Time: at, Size: math.MaxInt64, CRC64: math.MaxUint64, HasCRC: true, Key: "k"},
			"2025-03-04T04:06:07Z\tOK\t9223372036854775807\tffffffffffffffff\tk\t\n"},
		// What the report needs beyond the six fields, after them.
		{Record{Time: at, Size: 3, CRC64: 7, HasCRC: true, Key: "k", Detail: "d",
			SourceMTime: time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC), DestCRC64: 7, HasDestCRC: true, ETag: "\"e\ttag\""},
			"2025-03-04T04:06:07Z\tOK\t3\t0000000000000007\tk\td" +
				"\tmtime=2024-01-02T03:04:05.0000006Z\tdest_crc64=0000000000000007\tdest_etag=\"e\\ttag\"\n"},
		{Record{Time: at, Result: Skip, Kind: task.Skipped, Key: "k", Detail: "same", ETag: "x"},
			"2025-03-04T04:06:07Z\tSKIP\t0\t-\tk\tsame\tdest_etag=x\n"},
		// An OK line's detail with the stores' notes (a redirect
		// followed) after the retries: still six fields, still OK.
		{Record{Time: at, Size: 3, CRC64: 1, HasCRC: true, Key: "away.txt", Detail: "md5=00; retries=2; redirected=http://b:8080/x%20y?v=1"},
			"2025-03-04T04:06:07Z\tOK\t3\t0000000000000001\taway.txt\tmd5=00; retries=2; redirected=http://b:8080/x%20y?v=1\n"},
	}
	for _, tt := range tests {
		line := tt.r.Line()
		if line != tt.line {
			t.Errorf("Line() = %q, want %q", line, tt.line)
		}
		got, err := ParseLine(strings.TrimSuffix(line, "\n"))
		if err != nil {
			t.Errorf("ParseLine(%q): %v", line, err)
			continue
		}
		want := tt.r
		want.Time = want.Time.UTC()
		if !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC {
			t.Errorf("ParseLine(%q) time %v, want %v UTC", line, got.Time, want.Time)
		}
		got.Time, want.Time = time.Time{}, time.Time{}
		if got != want {
			t.Errorf("ParseLine(%q) = %+v, want %+v", line, got, want)
		}
	}
}

func TestRecordLineDropsSubseconds(t *testing.T) {
	r := Record{Time: time.Date(2025, 1, 1, 0, 0, 0, 999_999_999, time.UTC), Key: "k"}
	got, err := ParseLine(strings.TrimSuffix(r.Line(), "\n"))
	if err != nil || !got.Time.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("ParseLine: %v, %v", got.Time, err)
	}
}

func TestParseLineErrors(t *testing.T) {
	for _, line := range []string{
		"",
		"2025-03-04T04:06:07Z\tOK\t5\t-\tk", // five fields
		"2025-03-04T04:06:07Z\tOK\t5\t-\tk\td\textra", // seven, the seventh not name=value
		"2025-03-04T04:06:07Z\tOK\t5\t-\tk\td\tmtime=yesterday",
		"2025-03-04T04:06:07Z\tOK\t5\t-\tk\td\tdest_crc64=xyz",
		"2025-03-04T04:06:07Z\tOK\t5\t-\tk\td\tdest_etag=bad\\q",
		"yesterday\tOK\t5\t-\tk\t",
		"2025-03-04T04:06:07Z\tMAYBE\t5\t-\tk\t",
		"2025-03-04T04:06:07Z\tOK\tfive\t-\tk\t",
		"2025-03-04T04:06:07Z\tOK\t5\tnothex\tk\t",
		"2025-03-04T04:06:07Z\tOK\t5\t-\tbad\\q\t",
		"2025-03-04T04:06:07Z\tOK\t5\t-\tk\ttrailing\\",
	} {
		if r, err := ParseLine(line); err == nil {
			t.Errorf("ParseLine(%q) = %+v, want an error", line, r)
		}
	}
}

// TestParseLineLater: a line with trailing fields this ferry does not know
// (written by a later one) still parses, keeping what it knows.
func TestParseLineLater(t *testing.T) {
	r, err := ParseLine("2025-03-04T04:06:07Z\tOK\t5\t-\tk\td\turl=http://x/y?a=b\tdest_etag=e")
	if err != nil || r.Key != "k" || r.Detail != "d" || r.ETag != "e" {
		t.Errorf("ParseLine = %+v, %v; want key k, detail d, ETag e", r, err)
	}
}

// FuzzRecordLine: any key, detail and ETag survive a line, which stays one
// line of six fields and the trailing ones it knows.
func FuzzRecordLine(f *testing.F) {
	f.Add("a\tb", "d\n", int64(3), uint64(7), "")
	f.Add("\xff\x00", "", int64(-1), uint64(0), "\"x=y\"\t")
	f.Fuzz(func(t *testing.T, key, detail string, size int64, crc uint64, etag string) {
		r := Record{Time: time.Unix(1_700_000_000, 0).UTC(), Result: Result(size & 1), Size: size, CRC64: crc,
			HasCRC: crc != 0, Key: key, Detail: detail, ETag: etag, DestCRC64: ^crc, HasDestCRC: crc&1 == 1}
		if size&2 != 0 {
			r.SourceMTime = time.Unix(size>>2%(1<<40), size&0x3fffffff).UTC()
		}
		if r.Result == Skip {
			r.Kind = task.Skipped // the line says SKIP, whatever its detail
		}
		if !r.HasDestCRC {
			r.DestCRC64 = 0
		}
		line := r.Line()
		fields := 6
		for _, b := range []bool{!r.SourceMTime.IsZero(), r.HasDestCRC, etag != ""} {
			if b {
				fields++
			}
		}
		if strings.Count(line, "\n") != 1 || strings.Count(line, "\t") != fields-1 {
			t.Fatalf("Line() = %q is not one line of %d fields", line, fields)
		}
		got, err := ParseLine(strings.TrimSuffix(line, "\n"))
		if err != nil || got != r {
			t.Fatalf("ParseLine(%q) = %+v, %v, want %+v", line, got, err, r)
		}
	})
}
