package task

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// A spec printed or logged whole never shows its secret keys.
func TestSecretNeverPrinted(t *testing.T) {
	s := Spec{Name: "j", Src: Endpoint{Type: "s3", AccessKey: "ak", SecretKey: "hunter2-src"},
		Dest: Endpoint{SecretKey: "hunter2-dest"}}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out = append(out, fmt.Sprintf(verb, s), fmt.Sprintf(verb, s.Src.SecretKey))
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("job", "spec", s, "endpoint", s.Src)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("job", "spec", s, "secret", s.Dest.SecretKey)
	out = append(out, logged.String())
	for _, o := range out {
		if strings.Contains(o, "hunter2") {
			t.Errorf("secret printed: %s", o)
		}
	}
	if s.Src.SecretKey.Reveal() != "hunter2-src" {
		t.Error("Reveal lost the secret")
	}
	if r := s.Redacted(); r.Src.SecretKey != "" || r.Dest.SecretKey != "" || s.Src.SecretKey == "" {
		t.Errorf("Redacted: %q %q, original %q", r.Src.SecretKey.Reveal(), r.Dest.SecretKey.Reveal(), s.Src.SecretKey.Reveal())
	}
}
