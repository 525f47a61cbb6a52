package conf

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// decoder walks one key=value file in line order, checking each key against
// keyTable, handing values to typed setters and collecting warnings.
type decoder struct {
	file  string
	kind  fileKind
	p     *props
	warns []*Error
}

// setter stores a non-empty value into a Job or Sys. Its error's text is the
// message part of the *Error the decoder builds.
type setter[T any] func(t *T, v string) error

// decode checks every key of d.p in line order and applies setters, so the
// error returned is the one on the earliest line. Empty values are left to
// the struct's default.
func decode[T any](d *decoder, t *T, setters map[string]setter[T]) error {
	for _, p := range d.p.list {
		k, err := d.known(p)
		if err != nil {
			return err
		}
		name := k.name
		if k.alias != "" {
			name = k.alias
		}
		if set := setters[name]; set != nil && p.Value != "" {
			if err := set(t, p.Value); err != nil {
				return errAt(d.file, p.Line, p.Key, err.Error())
			}
		}
		if !k.impl && k.remote == "" && !k.isDefault(p.Value) {
			msg := k.note
			if msg == "" {
				msg = notImplemented
			}
			d.warn(p.Line, p.Key, msg)
		}
	}
	return nil
}

// known returns p's key's table entry, or the error for a key that is
// unknown, belongs in the other file, or doubles an alias.
func (d *decoder) known(p prop) (*keyInfo, error) {
	k := keyIndex[p.Key]
	if k == nil {
		return nil, errAt(d.file, p.Line, p.Key, unknownKeyMsg(p.Key, d.kind))
	}
	if k.file != d.kind {
		return nil, errAt(d.file, p.Line, p.Key, fmt.Sprintf("belongs in %s, not %s", k.file, d.kind))
	}
	if k.alias != "" {
		if _, line, ok := d.p.get(k.alias); ok {
			return nil, errAt(d.file, p.Line, p.Key,
				fmt.Sprintf("another spelling of %s, which line %d sets; keep one", k.alias, line))
		}
	}
	return k, nil
}

// line returns the line key is set on, or 0.
func (d *decoder) line(key string) int {
	_, n, _ := d.p.get(key)
	return n
}

func (d *decoder) warn(line int, key, msg string) {
	d.warns = append(d.warns, errAt(d.file, line, key, msg))
}

// warnings returns the collected warnings as lines, in line order.
func (d *decoder) warnings() []string {
	slices.SortStableFunc(d.warns, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	var out []string
	for _, w := range d.warns {
		out = append(out, w.Error())
	}
	return out
}

// checkType validates the value of a type key (srcType, destType, jobType)
// against the values ossimport or ferry know and those ferry supports now.
func checkType(v, key string, known, supported []string) error {
	if slices.Contains(supported, v) {
		return nil
	}
	if slices.Contains(known, v) {
		return fmt.Errorf("%q is not supported yet (supported: %s)", v, strings.Join(supported, ", "))
	}
	for _, k := range known {
		if strings.EqualFold(k, v) {
			return fmt.Errorf("%q is not a known %s; values are case-sensitive (did you mean %q?)", v, key, k)
		}
	}
	return fmt.Errorf("%q is not a known %s (known: %s; supported: %s)%s",
		v, key, strings.Join(known, ", "), strings.Join(supported, ", "), commentHint(v))
}
