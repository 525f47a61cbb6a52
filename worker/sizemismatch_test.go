package worker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/plan"
	"ferry/store"
	httpstore "ferry/store/http"
	"ferry/store/local"
	"ferry/task"
	"ferry/tracker"
)

// TestSizeNotSent copies from an http server whose HEAD says 1000 bytes
// and whose GET sends 600 (a Content-Length of 600): nothing changed, the
// server contradicts itself, so the copy fails SIZE_NOT_MATCH with both
// sizes, not SOURCE_CHANGED with identical before/after values.
func TestSizeNotSent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", "Wed, 03 Mar 2021 05:06:07 GMT")
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Length", "1000")
			return
		}
		w.Header().Set("Content-Length", "600")
		w.Write([]byte(strings.Repeat("x", 600)))
	}))
	defer srv.Close()
	dir := t.TempDir()
	list := filepath.Join(dir, "http.list")
	if err := os.WriteFile(list, []byte(srv.URL+"/ x f\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := httpstore.New(list, 1, 3, store.Timeouts{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := local.New(filepath.Join(dir, "dst"), local.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	st := &jobStores{src: src, dst: dst, srcF: store.FeaturesOf(src), dstF: store.FeaturesOf(dst)}
	lease := task.Lease{Job: "j", TaskID: 1, Spec: task.Spec{Name: "j"}}
	rt := &running{lease: lease, x: optionsOf(lease.Spec)}
	rt.opt, rt.optErr = plan.OptionsOf(lease.Spec)
	e, err := src.Stat(context.Background(), "f")
	if err != nil || e.Size != 1000 {
		t.Fatalf("Stat = %+v, %v", e, err)
	}
	rec := (&transfer{w: New(Config{ID: "w"}, nil)}).copy(context.Background(), st, rt, e)
	want := "SIZE_NOT_MATCH: the source said 1000 bytes (before and after the read), sent 600"
	if rec.Result != tracker.Fail || rec.Kind != task.SizeNotMatch || !strings.HasPrefix(rec.Detail, want) {
		t.Fatalf("record %+v\nwant FAIL %q", rec, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "dst", "f")); !os.IsNotExist(err) {
		t.Errorf("the short copy stayed: %v", err)
	}
}
