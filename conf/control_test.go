package conf

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/filter"
	"ferry/store"
	"ferry/task"
)

func patternsText(ps []*filter.Pattern) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, "\x00")
}

func TestParseJobControl(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		edit  []string
		check func(*Job) bool
	}{
		// Incremental.
		{[]string{"isIncremental=true"}, func(j *Job) bool {
			return j.IsIncremental && j.IncrementalModeInterval == 86400*time.Second && j.UpdateMode == ""
		}},
		{[]string{"isIncremental=true", "incrementalModeInterval=900"}, func(j *Job) bool { return j.IncrementalModeInterval == 900*time.Second }},
		{[]string{"incrementalModeInterval=315360000"}, func(j *Job) bool { return j.IncrementalModeInterval == 315360000*time.Second }},
		{[]string{"importSince=0"}, func(j *Job) bool { return j.ImportSince == 0 }},

		// Update mode and isSkipExistFile: the keys as written, and
		// UpdateRule combining them.
		{nil, rule("", false, false, UpdateAlways)},
		{[]string{"isSkipExistFile=true"}, rule("", true, true, UpdateAlways)},
		{[]string{"isSkipExistFile=false", "updateMode="}, rule("", false, false, UpdateAlways)},
		{[]string{"updateMode=always"}, rule(UpdateAlways, false, false, UpdateAlways)},
		{[]string{"updateMode=never"}, rule(UpdateNever, false, false, UpdateNever)},
		{[]string{"updateMode=Newer"}, rule(UpdateNewer, false, false, UpdateNewer)},
		{[]string{"updateMode=size"}, rule(UpdateSize, false, false, UpdateSize)},
		{[]string{"updateMode=CHECKSUM"}, rule(UpdateChecksum, false, false, UpdateChecksum)},
		// isSkipExistFile=true skips same size and mtime first; updateMode
		// decides for the rest.
		{[]string{"isSkipExistFile=true", "updateMode=checksum"}, rule(UpdateChecksum, true, true, UpdateChecksum)},
		{[]string{"isSkipExistFile=true", "updateMode=never"}, rule(UpdateNever, true, true, UpdateNever)},
		// An incremental job skips unchanged files unless updateMode says.
		{[]string{"isIncremental=true"}, rule("", false, true, UpdateAlways)},
		{[]string{"isIncremental=true", "updateMode=newer"}, rule(UpdateNewer, false, false, UpdateNewer)},
		{[]string{"isIncremental=true", "updateMode=always"}, rule(UpdateAlways, false, false, UpdateAlways)},
		{[]string{"isIncremental=true", "isSkipExistFile=true", "updateMode=size"}, rule(UpdateSize, true, true, UpdateSize)},

		// Filters.
		{[]string{"include=docs/**, **/*.pdf", `exclude=**/.git/**,a\,b`}, func(j *Job) bool {
			return patternsText(j.Filter.Include) == "docs/**\x00**/*.pdf" && patternsText(j.Filter.Exclude) == "**/.git/**\x00a\\,b" &&
				j.Filter.Exclude[1].Match("a,b")
		}},
		{[]string{"include=", "exclude="}, func(j *Job) bool { return j.Filter.Empty() }},
		{[]string{"minSize=1k", "maxSize=2G"}, func(j *Job) bool { return j.Filter.MinSize == 1024 && j.Filter.MaxSize == 2<<30 }},
		{[]string{"minSize=10", "maxSize=10"}, func(j *Job) bool { return j.Filter.MinSize == 10 && j.Filter.MaxSize == 10 }},
		{[]string{"minSize=5M", "maxSize=0"}, func(j *Job) bool { return j.Filter.MinSize == 5<<20 && j.Filter.MaxSize == 0 }},
		{[]string{"modifiedAfter=2024-05-01T00:00:00Z"}, func(j *Job) bool { return j.Filter.ModifiedAfter.Equal(t0) }},
		{[]string{"modifiedAfter=2024-05-01T08:00:00+08:00"}, func(j *Job) bool { return j.Filter.ModifiedAfter.Equal(t0) }},
		// A fraction of a second is dropped.
		{[]string{"modifiedAfter=2024-05-01T00:00:00.9Z"}, func(j *Job) bool { return j.Filter.ModifiedAfter.Equal(t0) }},
		{[]string{"modifiedAfter=1970-01-01T00:00:01Z"}, func(j *Job) bool { return j.Filter.ModifiedAfter.Equal(time.Unix(1, 0)) }},
		{[]string{"modifiedBefore=1714521600"}, func(j *Job) bool { return j.Filter.ModifiedBefore.Equal(t0) }},
		{[]string{"modifiedAfter=0", "modifiedBefore=0"}, func(j *Job) bool { return j.Filter.Empty() }},
		{[]string{"modifiedAfter=1714521600", "modifiedBefore=2024-05-01T00:00:01Z"}, func(j *Job) bool {
			return j.Filter.ModifiedAfter.Equal(t0) && j.Filter.ModifiedBefore.Equal(t0.Add(time.Second))
		}},

		// Mirror.
		{[]string{"mirror=true"}, func(j *Job) bool { return j.Mirror && j.MaxDelete == 1000 }},
		{[]string{"mirror=true", "maxDelete=0"}, func(j *Job) bool { return j.MaxDelete == 0 }},
		{[]string{"mirror=TRUE", "maxDelete=9223372036854775807"}, func(j *Job) bool { return j.MaxDelete == 1<<63-1 }},

		// Local metadata.
		{nil, func(j *Job) bool { return j.PreserveMetadata }},
		{[]string{"preserveMetadata=false"}, func(j *Job) bool { return !j.PreserveMetadata }},

		// Throttling.
		{nil, func(j *Job) bool {
			return j.MaxThroughput == 0 && j.MaxRequestsPerSecond == 0 && len(j.ThroughputSchedule.Windows) == 0 &&
				j.ThroughputSchedule.RateAt(time.Now()) == 0
		}},
		{[]string{"maxThroughput=20MB"}, func(j *Job) bool { return j.MaxThroughput == 20<<20 && j.ThroughputSchedule.Default == 20<<20 }},
		{[]string{"maxThroughput=20M"}, func(j *Job) bool { return j.MaxThroughput == 20<<20 }},
		{[]string{"maxThroughput=20MiB"}, func(j *Job) bool { return j.MaxThroughput == 20<<20 }},
		{[]string{"maxThroughput=20mb/s"}, func(j *Job) bool { return j.MaxThroughput == 20<<20 }},
		{[]string{"maxThroughput=1048576"}, func(j *Job) bool { return j.MaxThroughput == 1<<20 }},
		{[]string{"maxThroughput=0"}, func(j *Job) bool { return j.MaxThroughput == 0 }},
		{[]string{"maxRequestsPerSecond=1000000"}, func(j *Job) bool { return j.MaxRequestsPerSecond == 1000000 }},
		// The schedule falls back to maxThroughput, wherever each is set.
		{[]string{"throughputSchedule=08:00-20:00=20MB,20:00-08:00=0", "maxThroughput=5M"}, func(j *Job) bool {
			s := j.ThroughputSchedule
			return s.Default == 5<<20 && s.String() == "08:00-20:00=20971520,20:00-08:00=0" &&
				s.RateAt(clock(12, 0)) == 20<<20 && s.RateAt(clock(23, 0)) == 0
		}},
		{[]string{"maxThroughput=5M", "throughputSchedule=08:00-20:00=20MB"}, func(j *Job) bool {
			s := j.ThroughputSchedule
			return s.RateAt(clock(7, 59)) == 5<<20 && s.RateAt(clock(8, 0)) == 20<<20 && s.RateAt(clock(20, 0)) == 5<<20
		}},
	}
	for _, tc := range tests {
		j, err := ParseJob(strings.NewReader(jobText(tc.edit...)), "job.cfg")
		if err != nil {
			t.Errorf("%v: %v", tc.edit, err)
			continue
		}
		if !tc.check(j) {
			t.Errorf("%v: wrong value in %+v", tc.edit, j)
		}
	}
}

// rule checks UpdateMode as written and what UpdateRule makes of it.
func rule(written UpdateMode, skipExist, skipSame bool, mode UpdateMode) func(*Job) bool {
	return func(j *Job) bool {
		s, m := j.UpdateRule()
		return j.UpdateMode == written && j.IsSkipExistFile == skipExist && s == skipSame && m == mode
	}
}

func TestParseJobControlErrors(t *testing.T) {
	tests := []struct {
		edit []string
		want string
	}{
		{[]string{"incrementalModeInterval=899"}, "job.cfg:6: incrementalModeInterval: 899 is below ossimport's minimum of 900 seconds (incrementalMinInterval in sys.properties lowers it, for tests)"},
		{[]string{"incrementalModeInterval=0"}, "job.cfg:6: incrementalModeInterval: 0 is below ossimport's minimum of 900 seconds (incrementalMinInterval in sys.properties lowers it, for tests)"},
		{[]string{"incrementalModeInterval=-5"}, "job.cfg:6: incrementalModeInterval: -5 is below ossimport's minimum of 900 seconds (incrementalMinInterval in sys.properties lowers it, for tests)"},
		{[]string{"incrementalModeInterval=315360001"}, "job.cfg:6: incrementalModeInterval: 315360001 is out of range (want at most 315360000 seconds)"},
		{[]string{"incrementalModeInterval=1d"}, `job.cfg:6: incrementalModeInterval: "1d" is not an integer`},
		{[]string{"incrementalModeInterval=99999999999999999999"}, `job.cfg:6: incrementalModeInterval: "99999999999999999999" is out of range (want 1 to 315360000)`},
		{[]string{"isIncremental=yes"}, `job.cfg:6: isIncremental: "yes" is not a boolean (want true or false)`},
		{[]string{"importSince=2024-01-01"}, `job.cfg:6: importSince: "2024-01-01" is not an integer`},

		{[]string{"updateMode=sizeonly"}, `job.cfg:6: updateMode: "sizeonly" is not an update mode (want always, never, newer, size or checksum)`},
		{[]string{"updateMode=size+mtime"}, `job.cfg:6: updateMode: "size+mtime" is not an update mode (want always, never, newer, size or checksum)`},
		{[]string{"updateMode=never # safe"}, `job.cfg:6: updateMode: "never # safe" is not an update mode (want always, never, newer, size or checksum) (a comment must be on a line of its own)`},
		{[]string{"isSkipExistFile=true", "updateMode=always"}, `job.cfg:7: updateMode: "always" overwrites existing files, but isSkipExistFile=true (line 6) skips them; keep one`},
		{[]string{"updateMode=ALWAYS", "isSkipExistFile=true"}, `job.cfg:6: updateMode: "ALWAYS" overwrites existing files, but isSkipExistFile=true (line 7) skips them; keep one`},

		{[]string{"include=docs/[a-"}, `job.cfg:6: include: pattern "docs/[a-": "[" without a closing "]"`},
		{[]string{"include=*.md,,*.txt"}, `job.cfg:6: include: pattern 2 of the list is empty (a comma inside a pattern is \,)`},
		{[]string{"exclude=/tmp/*"}, `job.cfg:6: exclude: pattern "/tmp/*": starts with "/"; patterns match the key relative to srcPrefix (write "tmp/*")`},
		{[]string{"exclude=***"}, `job.cfg:6: exclude: pattern "***": "***": use * (within a name) or ** (any depth)`},
		{[]string{`exclude=a\`}, `job.cfg:6: exclude: pattern "a\\": ends with a lone "\" (write \\ for a backslash)`},
		{[]string{"minSize=-1"}, `job.cfg:6: minSize: "-1" is not a size (want bytes, or a number with K, M, G or T)`},
		{[]string{"maxSize=1.5G"}, `job.cfg:6: maxSize: "1.5G" is not a size (want bytes, or a number with K, M, G or T)`},
		{[]string{"minSize=2K", "maxSize=1K"}, "job.cfg:7: maxSize: 1024 bytes is less than minSize, 2048 bytes (line 6); no file would be copied"},
		{[]string{"modifiedAfter=2024-05-01"}, `job.cfg:6: modifiedAfter: "2024-05-01" is not a time (want RFC 3339 with a zone, e.g. 2024-05-01T00:00:00Z or 2024-05-01T08:00:00+08:00, or unix seconds)`},
		{[]string{"modifiedAfter=2024-05-01T00:00:00"}, `job.cfg:6: modifiedAfter: "2024-05-01T00:00:00" is not a time (want RFC 3339 with a zone, e.g. 2024-05-01T00:00:00Z or 2024-05-01T08:00:00+08:00, or unix seconds)`},
		{[]string{"modifiedBefore=-1"}, `job.cfg:6: modifiedBefore: "-1" is not a time (want RFC 3339 with a zone, e.g. 2024-05-01T00:00:00Z or 2024-05-01T08:00:00+08:00, or unix seconds)`},
		{[]string{"modifiedBefore=253402300800"}, `job.cfg:6: modifiedBefore: "253402300800" is out of range (want unix seconds up to 253402300799, year 9999)`},
		{[]string{"modifiedAfter=1714521600", "modifiedBefore=2024-05-01T00:00:00Z"},
			"job.cfg:7: modifiedBefore: 2024-05-01T00:00:00Z is not after modifiedAfter, 2024-05-01T00:00:00Z (line 6); no file would be copied"},
		{[]string{"modifiedBefore=2024-01-01T00:00:00Z", "modifiedAfter=2024-05-01T00:00:00Z"},
			"job.cfg:6: modifiedBefore: 2024-01-01T00:00:00Z is not after modifiedAfter, 2024-05-01T00:00:00Z (line 7); no file would be copied"},

		{[]string{"mirror=yes"}, `job.cfg:6: mirror: "yes" is not a boolean (want true or false)`},
		{[]string{"maxDelete=-1"}, "job.cfg:6: maxDelete: -1 is out of range (want at least 0)"},
		{[]string{"maxDelete=many"}, `job.cfg:6: maxDelete: "many" is not an integer`},
		{[]string{"modifiedAfter=1969-12-31T23:59:59Z"}, `job.cfg:6: modifiedAfter: "1969-12-31T23:59:59Z" is not after 1970-01-01T00:00:00Z (want a later time, or 0 for no bound)`},
		{[]string{"modifiedAfter=1970-01-01T08:00:00+08:00"}, `job.cfg:6: modifiedAfter: "1970-01-01T08:00:00+08:00" is not after 1970-01-01T00:00:00Z (want a later time, or 0 for no bound)`},
		{[]string{"preserveMetadata=1"}, `job.cfg:6: preserveMetadata: "1" is not a boolean (want true or false)`},

		{[]string{"maxThroughput=-1"}, `job.cfg:6: maxThroughput: "-1" is not a rate (want bytes per second, or a number with K, M, G or T such as 20MB; 0 = unlimited)`},
		{[]string{"maxThroughput=20Mbps"}, `job.cfg:6: maxThroughput: "20Mbps" is not a rate (want bytes per second, or a number with K, M, G or T such as 20MB; 0 = unlimited)`},
		{[]string{"maxThroughput=/s"}, `job.cfg:6: maxThroughput: "/s" is not a rate (want bytes per second, or a number with K, M, G or T such as 20MB; 0 = unlimited)`},
		{[]string{"maxThroughput=9000000T"}, `job.cfg:6: maxThroughput: "9000000T" is not a rate (want bytes per second, or a number with K, M, G or T such as 20MB; 0 = unlimited)`},
		{[]string{"throughputSchedule=08:00-20:00"}, `job.cfg:6: throughputSchedule: "08:00-20:00" has no "=" (want HH:MM-HH:MM=RATE, e.g. 08:00-20:00=20MB)`},
		{[]string{"throughputSchedule=8-20=1M"}, `job.cfg:6: throughputSchedule: "8-20=1M": "8" is not a time of day (want HH:MM, 00:00 to 23:59)`},
		{[]string{"throughputSchedule=08:00-20:00=1M,20:00-09:00=0"}, `job.cfg:6: throughputSchedule: "20:00-09:00=0" overlaps "08:00-20:00=1M" at 08:00`},
		{[]string{"maxRequestsPerSecond=-1"}, "job.cfg:6: maxRequestsPerSecond: -1 is out of range (want 0 to 1000000)"},
		{[]string{"maxRequestsPerSecond=1000001"}, "job.cfg:6: maxRequestsPerSecond: 1000001 is out of range (want 0 to 1000000)"},
		{[]string{"maxRequestPerSecond=5"}, "job.cfg:6: maxRequestPerSecond: unknown key (did you mean maxRequestsPerSecond?)"},
		{[]string{"excludes=*.tmp"}, "job.cfg:6: excludes: unknown key (did you mean exclude?)"},
		{[]string{"incrementalMinInterval=1"}, "job.cfg:6: incrementalMinInterval: belongs in sys.properties, not job.cfg"},
		{[]string{"workerMaxThroughput(KB/s)=1"}, "job.cfg:6: workerMaxThroughput(KB/s): belongs in sys.properties, not job.cfg"},
	}
	for _, tc := range tests {
		_, err := ParseJob(strings.NewReader(jobText(tc.edit...)), "job.cfg")
		got := ""
		if err != nil {
			got = err.Error()
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("%T is not *Error", err)
			}
		}
		if got != tc.want {
			t.Errorf("%v:\ngot  %q\nwant %q", tc.edit, got, tc.want)
		}
	}
}

func TestParseJobControlWarnings(t *testing.T) {
	tests := []struct {
		edit []string
		want []string
	}{
		// ossimport's template values and ferry's defaults are quiet.
		{[]string{"isIncremental=false", "incrementalModeInterval=86400", "importSince=0", "isSkipExistFile=false", "updateMode=",
			"include=", "exclude=", "minSize=0", "maxSize=0", "modifiedAfter=", "modifiedBefore=", "mirror=false", "maxDelete=1000",
			"preserveMetadata=true", "maxThroughput=0", "throughputSchedule=", "maxRequestsPerSecond=0"}, nil},
		{[]string{"incrementalModeInterval=3600"}, []string{"job.cfg:6: incrementalModeInterval: not used with isIncremental=false; ignored"}},
		{[]string{"isIncremental=true", "incrementalModeInterval=3600"}, nil},
		{[]string{"isIncremental=true", "updateMode=always"}, []string{
			`job.cfg:7: updateMode: "always" copies every file again in every round of an incremental job (isIncremental=true, line 6); leave it empty to copy what is new or changed`}},
		{[]string{"maxDelete=5"}, []string{"job.cfg:6: maxDelete: not used with mirror=false; ignored"}},
		{[]string{"maxDelete=5", "mirror=true"}, nil},
		{[]string{"jobType=audit", "mirror=true", "updateMode=never"}, []string{
			"job.cfg:7: mirror: not used with jobType=audit; ignored",
			"job.cfg:8: updateMode: not used with jobType=audit; ignored"}},
		// preserveMetadata is for local destinations only.
		{[]string{"preserveMetadata=false"}, nil},
	}
	for _, tc := range tests {
		j, err := ParseJob(strings.NewReader(jobText(tc.edit...)), "job.cfg")
		if err != nil {
			t.Errorf("%v: %v", tc.edit, err)
			continue
		}
		if !slices.Equal(j.Warnings, tc.want) {
			t.Errorf("%v: warnings\n%q\nwant\n%q", tc.edit, j.Warnings, tc.want)
		}
	}
	j, err := ParseJob(strings.NewReader(objText("preserveMetadata=false", "preserveMetadata=true")), "job.cfg")
	if err == nil {
		t.Errorf("set twice: %v", j)
	}
	j, err = ParseJob(strings.NewReader(objText("preserveMetadata=false")), "job.cfg")
	if err != nil || !slices.Equal(j.Warnings, []string{"job.cfg:13: preserveMetadata: not used with destType=oss; ignored"}) {
		t.Errorf("object destination: %v, %q", err, j.Warnings)
	}
	j, err = ParseJob(strings.NewReader(objText("preserveMetadata=TRUE")), "job.cfg")
	if err != nil || len(j.Warnings) != 0 {
		t.Errorf("object destination, default: %v, %q", err, j.Warnings)
	}
}

// TestIncrementalMinInterval: sys.properties' incrementalMinInterval lowers
// the minimum, and only through ParseJobWith and LoadJobWith.
func TestIncrementalMinInterval(t *testing.T) {
	sys, err := ParseSys(strings.NewReader("workingDir=w\nincrementalMinInterval=2\n"), "conf/sys.properties")
	if err != nil {
		t.Fatal(err)
	}
	in := jobText("isIncremental=true", "incrementalModeInterval=2")
	j, err := ParseJobWith(strings.NewReader(in), "job.cfg", sys)
	if err != nil || j.IncrementalModeInterval != 2*time.Second || len(j.Warnings) != 0 {
		t.Errorf("lowered: %v, %v", j, err)
	}
	_, err = ParseJob(strings.NewReader(in), "job.cfg")
	if err == nil || err.Error() != "job.cfg:7: incrementalModeInterval: 2 is below ossimport's minimum of 900 seconds (incrementalMinInterval in sys.properties lowers it, for tests)" {
		t.Errorf("without sys: %v", err)
	}
	_, err = ParseJobWith(strings.NewReader(in), "job.cfg", DefaultSys())
	if err == nil || !strings.Contains(err.Error(), "2 is below ossimport's minimum of 900 seconds") {
		t.Errorf("default sys: %v", err)
	}
	_, err = ParseJobWith(strings.NewReader(jobText("isIncremental=true", "incrementalModeInterval=1")), "job.cfg", sys)
	if err == nil || err.Error() != "job.cfg:7: incrementalModeInterval: 1 is below incrementalMinInterval, 2 seconds (conf/sys.properties:2)" {
		t.Errorf("below the lowered minimum: %v", err)
	}
	// LoadJobWith reads a file under the same rule.
	p := filepath.Join(t.TempDir(), "job.cfg")
	if err := os.WriteFile(p, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	if j, err := LoadJobWith(p, sys); err != nil || j.IncrementalModeInterval != 2*time.Second {
		t.Errorf("LoadJobWith: %v, %v", j, err)
	}
	if _, err := LoadJob(p); err == nil {
		t.Error("LoadJob accepted 2 seconds")
	}
	if _, err := LoadJobWith(filepath.Join(t.TempDir(), "none"), sys); err == nil || !strings.Contains(err.Error(), ": cannot read: ") {
		t.Errorf("LoadJobWith missing file: %v", err)
	}
}

// clock is a time on 2024-03-10 (a DST change in America/New_York) at h:m
// UTC.
func clock(h, m int) time.Time { return time.Date(2024, 3, 10, h, m, 30, 0, time.UTC) }

func TestSchedule(t *testing.T) {
	tests := []struct {
		in   string
		def  int64
		at   map[[2]int]int64 // hour, minute -> rate
		text string
	}{
		{"", 7, map[[2]int]int64{{0, 0}: 7, {12, 0}: 7, {23, 59}: 7}, ""},
		{"08:00-20:00=20MB,20:00-08:00=0", 5, map[[2]int]int64{
			{7, 59}: 0, {8, 0}: 20 << 20, {19, 59}: 20 << 20, {20, 0}: 0, {0, 0}: 0, {3, 0}: 0, {23, 59}: 0,
		}, "08:00-20:00=20971520,20:00-08:00=0"},
		// Wrap-around past midnight, with uncovered times falling back.
		{"22:00-06:00=1M", 9, map[[2]int]int64{
			{21, 59}: 9, {22, 0}: 1 << 20, {23, 59}: 1 << 20, {0, 0}: 1 << 20, {5, 59}: 1 << 20, {6, 0}: 9, {12, 0}: 9,
		}, "22:00-06:00=1048576"},
		{"00:00-24:00=3K", 9, map[[2]int]int64{{0, 0}: 3 << 10, {23, 59}: 3 << 10}, "00:00-24:00=3072"},
		{"20:00-00:00=1G", 9, map[[2]int]int64{{19, 59}: 9, {20, 0}: 1 << 30, {23, 59}: 1 << 30, {0, 0}: 9}, "20:00-24:00=1073741824"},
		{" 9:30-10:15 = 1500 , 12:00-13:00=2MiB/s ", 0, map[[2]int]int64{
			{9, 29}: 0, {9, 30}: 1500, {10, 14}: 1500, {10, 15}: 0, {12, 30}: 2 << 20,
		}, "09:30-10:15=1500,12:00-13:00=2097152"},
		{"23:59-00:00=1,00:00-00:01=2", 0, map[[2]int]int64{{23, 58}: 0, {23, 59}: 1, {0, 0}: 2, {0, 1}: 0}, "23:59-24:00=1,00:00-00:01=2"},
	}
	for _, tc := range tests {
		s, err := ParseSchedule(tc.in)
		if err != nil {
			t.Errorf("ParseSchedule(%q): %v", tc.in, err)
			continue
		}
		s.Default = tc.def
		for hm, want := range tc.at {
			if got := s.RateAt(clock(hm[0], hm[1])); got != want {
				t.Errorf("%q at %02d:%02d: %d, want %d", tc.in, hm[0], hm[1], got, want)
			}
		}
		if s.String() != tc.text {
			t.Errorf("%q: String() = %q, want %q", tc.in, s.String(), tc.text)
		}
		// String parses back to the same schedule.
		if s2, err := ParseSchedule(s.String()); err != nil || s2.String() != s.String() {
			t.Errorf("%q: round trip %q, %v", tc.in, s2.String(), err)
		}
	}
	// RateAt reads the wall clock of the time it is given.
	s, _ := ParseSchedule("08:00-20:00=1M")
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		at := time.Date(2024, 1, 1, 1, 0, 0, 0, time.UTC).In(loc) // 09:00 in Shanghai
		if s.RateAt(at) != 1<<20 || s.RateAt(at.UTC()) != 0 {
			t.Errorf("RateAt ignores the location: %d %d", s.RateAt(at), s.RateAt(at.UTC()))
		}
	}
}

func TestScheduleErrors(t *testing.T) {
	const want = " (want HH:MM-HH:MM=RATE, e.g. 08:00-20:00=20MB)"
	tests := []struct{ in, err string }{
		{"08:00-20:00", `"08:00-20:00" has no "="` + want},
		{"08:00=1M", `"08:00=1M" has no "-" between two times` + want},
		{"08:00-20:00=1M,", "window 2 of the list is empty"},
		{",08:00-20:00=1M", "window 1 of the list is empty"},
		{"8-20=1M", `"8-20=1M": "8" is not a time of day (want HH:MM, 00:00 to 23:59)`},
		{"08:00-20=1M", `"08:00-20=1M": "20" is not a time of day (want HH:MM, 00:00 to 23:59, or 24:00)`},
		{"24:00-08:00=1M", `"24:00-08:00=1M": "24:00" is not a time of day (want HH:MM, 00:00 to 23:59)`},
		{"08:00-24:01=1M", `"08:00-24:01=1M": "24:01" is not a time of day (want HH:MM, 00:00 to 23:59, or 24:00)`},
		{"08:60-09:00=1M", `"08:60-09:00=1M": "08:60" is not a time of day (want HH:MM, 00:00 to 23:59)`},
		{"08:0-09:00=1M", `"08:0-09:00=1M": "08:0" is not a time of day (want HH:MM, 00:00 to 23:59)`},
		{"123:00-09:00=1M", `"123:00-09:00=1M": "123:00" is not a time of day (want HH:MM, 00:00 to 23:59)`},
		{"+8:00-09:00=1M", `"+8:00-09:00=1M": "+8:00" is not a time of day (want HH:MM, 00:00 to 23:59)`},
		{"08:00-08:00=1M", `"08:00-08:00=1M" is empty: it starts where it ends (for the whole day write 00:00-24:00)`},
		{"00:00-00:00=1M", `"00:00-00:00=1M" is empty: it starts where it ends (for the whole day write 00:00-24:00)`},
		{"08:00-20:00=fast", `"08:00-20:00=fast": "fast" is not a rate (want bytes per second, or a number with K, M, G or T such as 20MB; 0 = unlimited)`},
		{"08:00-20:00=", `"08:00-20:00=": "" is not a rate (want bytes per second, or a number with K, M, G or T such as 20MB; 0 = unlimited)`},
		{"08:00-20:00=1M,19:00-21:00=2M", `"19:00-21:00=2M" overlaps "08:00-20:00=1M" at 19:00`},
		{"22:00-06:00=1M,05:00-07:00=2M", `"05:00-07:00=2M" overlaps "22:00-06:00=1M" at 05:00`},
		{"00:00-24:00=1M,12:00-12:01=2M", `"12:00-12:01=2M" overlaps "00:00-24:00=1M" at 12:00`},
		{"1:00-2:00=1M, 01:30-03:00=2M", `"01:30-03:00=2M" overlaps "1:00-2:00=1M" at 01:30`},
	}
	for _, tc := range tests {
		_, err := ParseSchedule(tc.in)
		if err == nil || err.Error() != tc.err {
			t.Errorf("ParseSchedule(%q) = %v\nwant %s", tc.in, err, tc.err)
		}
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1": 1, "20MB": 20 << 20, "20M": 20 << 20, "20MiB": 20 << 20, "20m": 20 << 20, "20MB/s": 20 << 20,
		"512k/S": 512 << 10, "1G": 1 << 30, "2T": 2 << 40, "100B": 100, "100b/s": 100,
	} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "/s", "-1", "1.5M", "20Mb/sec", "M", "20 MB", "20MiB/min"} {
		if _, err := parseRate(in); err == nil {
			t.Errorf("parseRate(%q): no error", in)
		}
	}
}

// TestJobFilterAllows: the parsed Filter is the filter.Set the engine uses.
func TestJobFilterAllows(t *testing.T) {
	j, err := ParseJob(strings.NewReader(jobText("include=docs/**,**/*.pdf", "exclude=**/tmp/**",
		"minSize=1", "modifiedBefore=2030-01-01T00:00:00Z")), "job.cfg")
	if err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for key, want := range map[string]bool{
		"docs/a.txt": true, "x/y/z.pdf": true, "a.pdf": true, "docs/tmp/a": false, "src/a.go": false,
	} {
		if ok, reason := j.Filter.Allow(store.Entry{Key: key, Size: 5, MTime: mt}); ok != want {
			t.Errorf("%s: %v (%s), want %v", key, ok, reason, want)
		}
	}
	if ok, _ := j.Filter.Allow(store.Entry{Key: "docs/empty", Size: 0, MTime: mt}); ok {
		t.Error("empty file passed minSize=1")
	}
}

// FuzzSchedule: ParseSchedule never panics, errors are one line, and a
// schedule's String parses back to the same windows.
func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"08:00-20:00=20MB,20:00-08:00=0", "22:00-06:00=1M", "00:00-24:00=1", "9:30-10:15=1500/s", "a-b=c", ",", "08:00-08:00=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSchedule(in)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		s2, err := ParseSchedule(s.String())
		if err != nil || !slices.Equal(s.Windows, s2.Windows) {
			t.Fatalf("%q: round trip through %q: %v", in, s.String(), err)
		}
		for m := 0; m < task.MinutesPerDay; m += 7 {
			s.RateAt(time.Date(2024, 1, 1, m/60, m%60, 0, 0, time.UTC))
		}
	})
}
