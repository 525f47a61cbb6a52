package conf

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// azureDest is a valid destType=azure, for jobText.
var azureDest = []string{"destType=azure", "destPrefix=out/", "destBucket=box", "destAccessKey=acct", "destSecretKey=a2V5"}

// TestSplitFileThreshold: sizes with a suffix, 0 for never, the default;
// bad values and values below one part are one-line errors naming the
// file, the line and the key; a destination that part tasks do not write
// (azure) gets no split and a warning when the key is set off its
// default, none at the default the template carries.
func TestSplitFileThreshold(t *testing.T) {
	for _, tc := range []struct {
		edits []string
		want  int64 // the spec's SplitThreshold
	}{
		{nil, 1 << 30},
		{[]string{"splitFileThreshold=0"}, 0},
		{[]string{"splitFileThreshold=5m"}, 5 << 20},
		{[]string{"splitFileThreshold=2G"}, 2 << 30},
		{[]string{"splitFileThreshold=10GiB"}, 10 << 30},
		{[]string{"splitFileThreshold=5242880"}, 5 << 20},
		{append([]string{"splitFileThreshold=1g"}, azureDest...), 0},
		{append([]string{"splitFileThreshold=0"}, azureDest...), 0},
	} {
		j, err := ParseJob(strings.NewReader(jobText(tc.edits...)), "conf/job.cfg")
		if err != nil {
			t.Errorf("%q: %v", tc.edits, err)
			continue
		}
		if got := j.Spec().SplitThreshold; got != tc.want {
			t.Errorf("%q: SplitThreshold %d, want %d", tc.edits, got, tc.want)
		}
		if len(j.Warnings) > 0 {
			t.Errorf("%q: warnings %q", tc.edits, j.Warnings)
		}
	}
	for _, tc := range []struct{ value, want string }{
		{"1.5g", `conf/job.cfg:6: splitFileThreshold: "1.5g" is not a size (want bytes, or a number with K, M, G or T)`},
		{"big", `conf/job.cfg:6: splitFileThreshold: "big" is not a size (want bytes, or a number with K, M, G or T)`},
		{"-1", `conf/job.cfg:6: splitFileThreshold: "-1" is not a size (want bytes, or a number with K, M, G or T)`},
		{"1g # one gig", `conf/job.cfg:6: splitFileThreshold: "1g # one gig" is not a size (want bytes, or a number with K, M, G or T) (a comment must be on a line of its own)`},
		{"1m", `conf/job.cfg:6: splitFileThreshold: "1m" is less than 5M, the least part of a split file (0: no file is split)`},
		{"5242879", `conf/job.cfg:6: splitFileThreshold: "5242879" is less than 5M, the least part of a split file (0: no file is split)`},
		{"9000000T", `conf/job.cfg:6: splitFileThreshold: "9000000T" is out of range (want at least 0 bytes)`},
	} {
		_, err := ParseJob(strings.NewReader(jobText("splitFileThreshold="+tc.value)), "conf/job.cfg")
		if err == nil || err.Error() != tc.want || strings.Contains(err.Error(), "\n") {
			t.Errorf("splitFileThreshold=%s: got %v\nwant %s", tc.value, err, tc.want)
		}
	}
	j, err := ParseJob(strings.NewReader(jobText(append(azureDest, "splitFileThreshold=2g")...)), "conf/job.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"conf/job.cfg:9: splitFileThreshold: not used with destType=azure; ignored"}; !slices.Equal(j.Warnings, want) {
		t.Errorf("azure destination, splitFileThreshold=2g: warnings %q, want %q", j.Warnings, want)
	}
}

// TestSrcListFile: a key list's path is resolved as srcPrefix is (against
// the home, "~/" against the user's home); a Windows path, or a list in a
// Kafka job, is a one-line error naming the file, the line and the key.
func TestSrcListFile(t *testing.T) {
	home := t.TempDir()
	uh, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ value, want string }{
		{"lists/keys.txt", filepath.Join(home, "lists/keys.txt")},
		{"/data/inv/manifest.json", "/data/inv/manifest.json"},
		{"~/keys.txt", filepath.Join(uh, "keys.txt")},
		{"./a/../keys.txt", filepath.Join(home, "keys.txt")},
	} {
		j, err := resolveJob(t, home, "srcListFile="+tc.value)
		if err != nil {
			t.Errorf("srcListFile=%s: %v", tc.value, err)
			continue
		}
		if j.SrcListFile != tc.want || j.Spec().SrcList != tc.want {
			t.Errorf("srcListFile=%s: resolved to %q (spec %q), want %q", tc.value, j.SrcListFile, j.Spec().SrcList, tc.want)
		}
	}
	if j, err := resolveJob(t, home); err != nil || j.Spec().SrcList != "" {
		t.Errorf("no srcListFile: spec's list %q, %v; want none", j.Spec().SrcList, err)
	}
	if _, err := resolveJob(t, home, "srcListFile=D:/lists/keys.txt"); err == nil ||
		!strings.HasPrefix(err.Error(), `conf/job.cfg:6: srcListFile: "D:/lists/keys.txt" is a Windows path`) || strings.Contains(err.Error(), "\n") {
		t.Errorf("srcListFile=D:/lists/keys.txt: %v, want a one-line error naming conf/job.cfg:6 and srcListFile", err)
	}
	_, err = ParseJob(strings.NewReader(kafkaBase+"srcListFile=/data/keys.txt\n"), "k.cfg")
	if want := "k.cfg:7: srcListFile: a Kafka job copies topics, not a list of keys; remove it"; err == nil || err.Error() != want {
		t.Errorf("kafka job with srcListFile: %v, want %s", err, want)
	}
}
