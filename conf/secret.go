package conf

import "fmt"

// Secret holds a password or an access key's secret. It prints as "******"
// (or "" when empty) through fmt, log and slog, and marshals the same way as
// text or JSON, so it cannot leak by being logged or shown. Reveal returns the
// value for the one place that needs it: the code that authenticates.
//
// Because marshalling masks it, a struct holding a Secret does not survive a
// round trip through encoding/json; code that persists a secret must store
// Reveal() explicitly (and, per DESIGN.md, only in a file of mode 0600).
type Secret string

const mask = "******"

// String returns "******" for a non-empty secret and "" for an empty one.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return mask
}

// GoString makes %#v print the mask too.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// Format masks the secret under every verb, including the ones fmt would
// otherwise report as bad by printing the raw value ("%!d(conf.Secret=...)").
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, s.GoString())
	case verb == 'v' || verb == 's' || verb == 'q':
		fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
	default:
		fmt.Fprint(f, s.String())
	}
}

// MarshalText masks the secret for encoding/json, slog's JSON handler and
// any other text encoder.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }
