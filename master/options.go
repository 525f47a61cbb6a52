package master

import (
	"fmt"
	"strconv"
	"time"

	"ferry/filter"
	"ferry/plan"
)

// A job's migration rules travel in Spec.Extra under their job.cfg names,
// as the console validated them; these read them back.

func (s Spec) int(key string) int64 {
	n, _ := strconv.ParseInt(s.Extra[key], 10, 64)
	return n
}

func (s Spec) bool(key string) bool { return s.Extra[key] == "true" }

// Incremental reports whether the job rescans after each round, and how
// long it waits between rounds.
func (s Spec) Incremental() (bool, time.Duration) {
	return s.bool("isIncremental"), time.Duration(s.int("incrementalModeInterval")) * time.Second
}

// Mirror reports whether destination keys the source lacks are deleted,
// and the most a round may delete.
func (s Spec) Mirror() (bool, int64) { return s.bool("mirror"), s.int("maxDelete") }

// PlanOptions returns the job's filters and update rules.
func (s Spec) PlanOptions() (plan.Options, error) {
	o := plan.Options{SkipExist: s.SkipExist}
	var err error
	if o.Update, err = plan.ParseUpdate(s.Extra["updateMode"]); err != nil {
		return o, err
	}
	f := &filter.Set{MinSize: s.int("minSize"), MaxSize: s.int("maxSize")}
	if f.Include, err = filter.CompileList(s.Extra["include"]); err != nil {
		return o, fmt.Errorf("include: %w", err)
	}
	if f.Exclude, err = filter.CompileList(s.Extra["exclude"]); err != nil {
		return o, fmt.Errorf("exclude: %w", err)
	}
	if n := s.int("modifiedAfter"); n != 0 {
		f.ModifiedAfter = time.Unix(n, 0)
	}
	if n := s.int("modifiedBefore"); n != 0 {
		f.ModifiedBefore = time.Unix(n, 0)
	}
	if !f.Empty() {
		o.Filter = f
	}
	if n := s.int("importSince"); n > 0 {
		o.Since = time.Unix(n, 0)
	}
	o.Mirror, _ = s.Mirror()
	return o, nil
}
