package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMergeModel: over random job directories (keys attempted several
// times, excluded, deleted, found by verify), the rows Write makes through
// spilled runs merged in stages are those of a model that keeps every
// event in memory and takes each key's latest outcome and finding.
func TestMergeModel(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		keys := make([]string, 1+rng.IntN(300))
		for i := range keys {
			keys[i] = fmt.Sprintf("k%03d%s", rng.IntN(1000), strings.Repeat("x", rng.IntN(40)))
		}
		type ev struct {
			at      int64
			finding bool
			line    string
		}
		model := map[string][]ev{}
		var files []file
		base := int64(1_700_000_000_000)
		for a := range rng.IntN(30) {
			ms := base + int64(a)*1000 + int64(rng.IntN(900))
			var b strings.Builder
			seen := map[string]bool{}
			for range rng.IntN(50) {
				k := keys[rng.IntN(len(keys))]
				if seen[k] {
					continue
				}
				seen[k] = true
				res := []string{"OK", "SKIP", "FAIL"}[rng.IntN(3)]
				detail := ""
				if res == "FAIL" {
					detail = "READ_ERROR: x"
				}
				fmt.Fprintf(&b, "2023-11-14T22:13:19Z\t%s\t%d\t-\t%s\t%s\n", res, rng.IntN(100), k, detail)
				model[k] = append(model[k], ev{at: ms, line: res})
			}
			dir := []string{"succeed_tasks", "failed_tasks"}[rng.IntN(2)]
			files = append(files, file{fmt.Sprintf("%s/%d_%d@w%d/audit.log", dir, a, ms, a%3), b.String()})
		}
		var excl, del, ver strings.Builder
		for i, k := range keys {
			at := base + int64(rng.IntN(40_000))
			switch rng.IntN(6) {
			case 0:
				fmt.Fprintf(&excl, "%s\tEXCLUDE\t1\t%s\tr\n", time.UnixMilli(at).UTC().Format("2006-01-02T15:04:05.000Z"), k)
				model[k] = append(model[k], ev{at: at, line: "EXCLUDE"})
			case 1:
				fmt.Fprintf(&del, "%s\tDELETE\t1\t%s\n", time.UnixMilli(at).UTC().Format("2006-01-02T15:04:05.000Z"), k)
				model[k] = append(model[k], ev{at: at, line: "DELETE"})
			case 2:
				if !strings.Contains(ver.String(), "\t"+k+"\t") {
					fmt.Fprintf(&ver, "%s\t%s\treason %d\n", []string{"MISSING", "DIFFERENT", "EXTRA"}[i%3], k, i)
					model[k] = append(model[k], ev{at: base + 20_000, finding: true, line: fmt.Sprintf("reason %d", i)})
				}
			}
		}
		files = append(files, file{"excluded.log", excl.String()}, file{"deleted.log", del.String()},
			file{fmt.Sprintf("verify/%d.report", base+20_000), ver.String()})
		dir := writeJobDir(t, files)

		// The model: each key's latest outcome and finding, resolved.
		var want []string
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range model {
				if !yield(k) {
					return
				}
			}
		}) {
			var out, find *event
			evs := model[k]
			slices.SortStableFunc(evs, func(a, b ev) int { return int(a.at - b.at) })
			for _, e := range evs {
				x := &event{at: e.at, row: Row{Result: e.line}}
				if e.finding {
					x.class, x.row.Result, x.row.Detail = finding, Fail, e.line
					find = x
				} else {
					out = x
				}
			}
			r, ok := resolve(out, find)
			if ok {
				want = append(want, k+" "+r.Result+" "+r.Detail)
			}
		}

		old := maxFanIn
		maxFanIn = 2 + rng.IntN(4)
		opt := goldenOptions(dir, JSONL, All)
		opt.RunBytes, opt.TempDir = 1+rng.IntN(4000), t.TempDir()
		var b bytes.Buffer
		_, err := Write(context.Background(), &b, opt)
		maxFanIn = old
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			var r jsonRow
			if err := json.Unmarshal([]byte(l), &r); err != nil || r.Result == "" {
				continue // the first and last lines
			}
			got = append(got, r.Key+" "+r.Result+" "+r.Detail)
		}
		// The model's details are verify's only; the others are fixed.
		for i, w := range want {
			if f := strings.SplitN(w, " ", 3); !strings.HasPrefix(f[2], "verify: ") {
				want[i] = f[0] + " " + f[1] + " " + map[string]string{Fail: "READ_ERROR: x", Exclude: "r",
					Delete: "not in the source (mirror)"}[f[1]]
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d (runs of %d bytes, fan-in %d): rows\n%q\nwant\n%q", seed, opt.RunBytes, maxFanIn, got, want)
		}
	}
}
