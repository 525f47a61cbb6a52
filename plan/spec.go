package plan

import (
	"fmt"

	"ferry/filter"
	"ferry/task"
)

// OptionsOf returns a job's rules from its spec: its filters compiled
// (conf checked them; an error here means a spec conf did not make) and
// its update rules. The master calls it to scan, a worker once per job.
func OptionsOf(s task.Spec) (Options, error) {
	o := Options{SkipExist: s.SkipExist, Update: s.Update, Since: s.ImportSince, Mirror: s.Mirror}
	if o.Update == "" {
		o.Update = Always
	}
	f := &filter.Set{MinSize: s.Filter.MinSize, MaxSize: s.Filter.MaxSize,
		ModifiedAfter: s.Filter.ModifiedAfter, ModifiedBefore: s.Filter.ModifiedBefore}
	var err error
	if f.Include, err = compile(s.Filter.Include); err != nil {
		return o, fmt.Errorf("include: %w", err)
	}
	if f.Exclude, err = compile(s.Filter.Exclude); err != nil {
		return o, fmt.Errorf("exclude: %w", err)
	}
	if !f.Empty() {
		o.Filter = f
	}
	return o, nil
}

func compile(src []string) ([]*filter.Pattern, error) {
	var out []*filter.Pattern
	for _, s := range src {
		p, err := filter.Compile(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
