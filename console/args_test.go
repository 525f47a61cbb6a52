package console

import (
	"io"
	"slices"
	"testing"
)

func TestPermuteArgs(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	tests := []struct{ in, want []string }{
		{[]string{"ferry", "stat", "job", "--json"}, []string{"ferry", "stat", "--json", "job"}},
		{[]string{"ferry", "--home", "/h", "stat", "job", "--interval", "5s", "-w"}, []string{"ferry", "--home", "/h", "stat", "--interval", "5s", "-w", "job"}},
		{[]string{"ferry", "stat", "--json", "job"}, []string{"ferry", "stat", "--json", "job"}},
		{[]string{"ferry", "clean", "job", "--force"}, []string{"ferry", "clean", "--force", "job"}},
		{[]string{"ferry", "stat", "--", "-odd-job-name"}, []string{"ferry", "stat", "--", "-odd-job-name"}},
		{[]string{"ferry", "nosuch", "a", "--x"}, []string{"ferry", "nosuch", "a", "--x"}},
		{[]string{"ferry", "verify", "job", "--mode=simple"}, []string{"ferry", "verify", "--mode=simple", "job"}},
		{[]string{"ferry"}, []string{"ferry"}},
	}
	for _, tc := range tests {
		if got := permuteArgs(app, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("permuteArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
