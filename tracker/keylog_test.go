package tracker

import (
	"strings"
	"testing"
	"time"
)

func TestKeyEventLine(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.FixedZone("CET", 3600))
	for _, c := range []struct {
		e    KeyEvent
		line string
	}{
		{KeyEvent{Time: at, Action: ActionDelete, Size: 50, Key: "f.txt"},
			"2025-03-04T04:06:07.891Z\tDELETE\t50\tf.txt\n"},
		{KeyEvent{Time: at, Action: ActionExclude, Size: 3, Key: "a\tb\xff", Reason: "matches exclude *.tmp",
			MTime: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)},
			"2025-03-04T04:06:07.891Z\tEXCLUDE\t3\t" + `a\tb\xff` + "\tmatches exclude *.tmp\tmtime=2024-01-02T03:04:05.000000006Z\n"},
	} {
		if got := string(c.e.AppendLine(nil)); got != c.line {
			t.Errorf("AppendLine = %q, want %q", got, c.line)
		}
		got, err := ParseKeyEvent(strings.TrimSuffix(c.line, "\n"))
		want := c.e
		want.Time = want.Time.UTC()
		if err != nil || got != want {
			t.Errorf("ParseKeyEvent(%q) = %+v, %v; want %+v", c.line, got, err, want)
		}
	}
	// deleted.log as ferry wrote it before: seconds, four fields.
	if e, err := ParseKeyEvent("2025-03-04T04:06:07Z\tDELETE\t50\tf.txt"); err != nil || e.Key != "f.txt" || e.Size != 50 {
		t.Errorf("an older deleted.log line: %+v, %v", e, err)
	}
	for _, bad := range []string{"", "2025-03-04T04:06:07Z\tDELETE\t50", "now\tDELETE\t1\tk", "2025-03-04T04:06:07Z\tKEEP\t1\tk",
		"2025-03-04T04:06:07Z\tDELETE\tx\tk", "2025-03-04T04:06:07Z\tDELETE\t1\tk\\"} {
		if e, err := ParseKeyEvent(bad); err == nil {
			t.Errorf("ParseKeyEvent(%q) = %+v, want an error", bad, e)
		}
	}
}
