package worker

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/plan"
	"ferry/store"
	"ferry/store/local"
	"ferry/task"
	"ferry/tracker"
)

// lying is a local destination whose Put reports something other than
// what landed: a size one byte off, or a CRC64 with a bit flipped.
type lying struct {
	*local.Local
	size, crc bool
	etag      string // an ETag to answer with
}

func (l *lying) Put(ctx context.Context, key string, r io.Reader, e store.Entry, o store.PutOptions) (store.Entry, error) {
	got, err := l.Local.Put(ctx, key, r, e, o)
	if l.size {
		got.Size++
	}
	if l.crc {
		got.CRC64 ^= 1
	}
	got.ETag = l.etag
	return got, err
}

// Features are the local store's: Put is a method of every store.
func (l *lying) Features() store.Features { return store.FeaturesOf(l.Local) }

// TestTransferVerifies copies a file to destinations that misreport what
// landed: the copy fails with the kind that says how, its detail starts
// with that kind's code, the copy is removed, and progress keeps none of
// its bytes. An honest destination keeps the copy, and the record says
// what the report shows of it: the source's mtime, the CRC64 and the ETag
// the destination answered.
func TestTransferVerifies(t *testing.T) {
	dir := t.TempDir()
	src, err := local.New(filepath.Join(dir, "src"), local.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "src", "f"), []byte("some bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		size, crc bool
		noDelete  bool // the destination cannot delete: the copy stays, and the record says so
		kind      task.Kind
	}{
		{"honest", false, false, false, task.OK},
		{"size", true, false, false, task.SizeNotMatch},
		{"crc", false, true, false, task.ChecksumMismatch},
		{"crc-no-delete", false, true, true, task.ChecksumMismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(dir, "dst-"+c.name)
			l, err := local.New(root, local.Options{Create: true})
			if err != nil {
				t.Fatal(err)
			}
			dst := &lying{Local: l, size: c.size, crc: c.crc, etag: "etag-" + c.name}
			st := &jobStores{src: src, dst: dst, srcF: store.FeaturesOf(src), dstF: store.FeaturesOf(dst)}
			if c.noDelete {
				st.dstF.Delete = nil
			}
			w := New(Config{ID: "w"}, nil)
			lease := task.Lease{Job: "j", TaskID: 1, Spec: task.Spec{Name: "j"}}
			rt := &running{lease: lease, x: optionsOf(lease.Spec)}
			rt.opt, rt.optErr = plan.OptionsOf(lease.Spec)
			x := &transfer{w: w}
			e, err := src.Stat(context.Background(), "f")
			if err != nil {
				t.Fatal(err)
			}
			rec := x.copy(context.Background(), st, rt, e)
			_, statErr := os.Stat(filepath.Join(root, "f"))
			if c.kind == task.OK {
				if rec.Result != tracker.OK || statErr != nil || rt.bytes.Load() != e.Size {
					t.Fatalf("honest copy: %+v, destination %v, progress %d", rec, statErr, rt.bytes.Load())
				}
				want := store.NewCRC64()
				want.Write([]byte("some bytes"))
				if !rec.HasCRC || !rec.HasDestCRC || rec.CRC64 != want.Sum64() || rec.DestCRC64 != want.Sum64() ||
					!rec.SourceMTime.Equal(e.MTime) || e.MTime.IsZero() || rec.ETag != "etag-honest" || rec.DestETag != "" {
					t.Errorf("honest copy's record %+v: want source and destination CRC64 %016x, mtime %v, ETag etag-honest (not indexed: not incremental)",
						rec, want.Sum64(), e.MTime)
				}
				return
			}
			if rec.Result != tracker.Fail || rec.Kind != c.kind || !strings.HasPrefix(rec.Detail, c.kind.String()+": ") {
				t.Errorf("record %+v; want FAIL %s", rec, c.kind)
			}
			stays := strings.Contains(rec.Detail, "the bad copy stays")
			switch {
			case c.noDelete && (statErr != nil || !stays):
				t.Errorf("without Delete: destination %v, record %q; want the copy there and the record to say so", statErr, rec.Detail)
			case !c.noDelete && (!os.IsNotExist(statErr) || stays):
				t.Errorf("the unfaithful copy stayed: %v (record %q)", statErr, rec.Detail)
			}
			if n := rt.bytes.Load(); n != 0 {
				t.Errorf("progress kept %d bytes of a failed copy", n)
			}
		})
	}
}
