package worker_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"ferry/state"
	"ferry/store"
	"ferry/store/local"
	"ferry/task"
	"ferry/worker"
)

// lie is how a destination misreports a Put of one key.
type lie int32

const (
	honest     lie = iota
	flipByte       // stores the bytes with one flipped, and says what it stored
	writeShort     // reads every byte, stores all but the last few, says what it stored
	readShort      // stops reading before the end, stores what it read, and succeeds
	wrongCRC       // stores the bytes faithfully, reports another CRC64
	wrongSize      // stores the bytes faithfully, reports another size
)

// short is how many bytes writeShort and readShort drop.
const short = 3

// lyingDest is a destination that puts through a real local store and lies
// about the Puts of one key as told. It states the powers it forwards
// (store.Featurer) one by one, as a wrapper must: those of a destination,
// none of a source's.
type lyingDest struct {
	s   *local.Local
	key string
	lie atomic.Int32
}

var (
	_ store.Store    = (*lyingDest)(nil)
	_ store.Featurer = (*lyingDest)(nil)
	_ io.Closer      = (*lyingDest)(nil)
)

func (l *lyingDest) List(ctx context.Context, prefix, startAfter string, fn func(store.Entry) error) error {
	return l.s.List(ctx, prefix, startAfter, fn)
}

func (l *lyingDest) Stat(ctx context.Context, key string) (store.Entry, error) {
	return l.s.Stat(ctx, key)
}

func (l *lyingDest) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	return l.s.Open(ctx, key, off, n)
}

func (l *lyingDest) Features() store.Features {
	return store.Features{Sync: l.s.Sync, Delete: l.s.Delete, CleanTemps: l.s.CleanTemps}
}

func (l *lyingDest) Close() error { return l.s.Close() }

func (l *lyingDest) Put(ctx context.Context, key string, r io.Reader, e store.Entry, o store.PutOptions) (store.Entry, error) {
	how := lie(l.lie.Load())
	if key != l.key {
		how = honest
	}
	switch how {
	case flipByte:
		r = &flipping{r: r}
	case writeShort:
		b, err := io.ReadAll(r)
		if err != nil {
			return store.Entry{}, err
		}
		r = bytes.NewReader(b[:max(0, len(b)-short)])
	case readShort:
		r = io.LimitReader(r, max(0, e.Size-short))
	}
	put, err := l.s.Put(ctx, key, r, e, o)
	if err != nil {
		return put, err
	}
	switch how {
	case wrongCRC:
		put.CRC64 ^= 1 << 17
	case wrongSize:
		put.Size++
	}
	return put, nil
}

// flipping flips one bit of the first byte it reads.
type flipping struct {
	r    io.Reader
	done bool
}

func (f *flipping) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 && !f.done {
		p[0] ^= 0x40
		f.done = true
	}
	return n, err
}

// TestDestinationThatLies copies a tree through a real master and worker
// into a destination that lies about one key's Put in each of the ways a
// destination can: what landed differs from what was read (a flipped
// byte, a short write, a Put that stopped reading early), or the report
// of it does (a wrong CRC64, a wrong size). Each must fail that key with
// CHECKSUM_MISMATCH or SIZE_NOT_MATCH in its audit log, fail its task with
// the key in error.list, and leave nothing at the key: no file, no partial
// one, no temporary file. The other keys copy. Then, the lie switched
// off, a retry copies the key byte for byte.
func TestDestinationThatLies(t *testing.T) {
	for _, tt := range []struct {
		name string
		lie  lie
		code string
	}{
		{"FlippedByte", flipByte, task.ChecksumMismatch.String()},
		{"ShortWrite", writeShort, task.SizeNotMatch.String()},
		{"ShortRead", readShort, task.SizeNotMatch.String()},
		{"WrongCRC", wrongCRC, task.ChecksumMismatch.String()},
		{"WrongSize", wrongSize, task.SizeNotMatch.String()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			// The victim is larger than the local store's copy buffer,
			// and not a multiple of it. It has a directory of its own:
			// removing it removes that directory, and a Put into it at
			// the same moment would fail (store/local publishes its
			// unnamed temporary file into a directory that is gone).
			files := map[string][]byte{"keep": []byte("an honest copy"), "d/other": make([]byte, 1000), "v/victim": make([]byte, 300<<10+5)}
			for i := range files["v/victim"] {
				files["v/victim"][i] = byte(i*31 + i>>9)
			}
			for k, b := range files {
				p := filepath.Join(src, k)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			l, err := local.New(dst, local.Options{Create: true})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			d := &lyingDest{s: l, key: "v/victim"}
			d.lie.Store(int32(tt.lie))
			cfg := worker.Config{Threads: 2,
				OpenSource: func(s task.Spec) (store.Store, error) { return local.New(s.Src.Prefix, local.Options{}) },
				OpenDest:   func(task.Spec) (store.Store, error) { return d, nil }}

			c := newCluster(t, dir)
			c.submit(localSpec("j", src, dst))
			st := c.work("j", cfg)
			if st.State != state.StateFailed || st.Counters.FilesDone != 2 || st.Counters.FilesFailed != 1 {
				t.Errorf("job %s with %d files done, %d failed; want Failed, 2 and 1:\n%s", st.State, st.Counters.FilesDone, st.Counters.FilesFailed, c.attemptFiles("j", "failed_tasks", "audit.log"))
			}
			var failed []string
			c.m.DB().Tasks("j", state.Failed, func(t *state.Task) error {
				m, err := c.m.DB().Manifest("j", t.ID)
				for _, i := range t.Failed {
					if err == nil && int(i) < len(m) {
						failed = append(failed, m[i].Key)
					}
				}
				return err
			})
			if !slices.Equal(failed, []string{"v/victim"}) {
				t.Errorf("the failed tasks' failed keys are %q; want v/victim alone", failed)
			}
			if el := c.attemptFiles("j", "failed_tasks", "error.list"); el != "v/victim\n" {
				t.Errorf("error.list = %q; want v/victim alone", el)
			}
			if log := c.attemptFiles("j", "failed_tasks", "audit.log"); !strings.Contains(log, "v/victim\t"+tt.code+":") {
				t.Errorf("the audit log does not fail v/victim with %s:\n%s", tt.code, log)
			}
			if got := tree(t, dst); !slices.Equal(got, []string{"d/other", "keep"}) {
				t.Errorf("the destination holds %q; want d/other and keep only (nothing at v/victim, no temporary file)", got)
			}

			d.lie.Store(int32(honest))
			if tasks, entries, err := c.m.Retry(c.ctx, "j"); err != nil || tasks != 1 || entries != 1 {
				t.Fatalf("retry: %d tasks, %d entries, %v; want 1 and 1", tasks, entries, err)
			}
			st = c.work("j", cfg)
			if st.State != state.StateSucceed || st.Counters.FilesDone != 3 || st.Counters.FilesFailed != 0 {
				t.Errorf("after the retry, job %s with %d files done, %d failed; want Succeed, 3 and 0", st.State, st.Counters.FilesDone, st.Counters.FilesFailed)
			}
			for k, want := range files {
				if got, err := os.ReadFile(filepath.Join(dst, k)); err != nil || !bytes.Equal(got, want) {
					t.Errorf("after the retry, destination %s: %d bytes, %v; want the source's %d bytes", k, len(got), err, len(want))
				}
			}
			if got := tree(t, dst); len(got) != len(files) {
				t.Errorf("after the retry, the destination holds %q; want the source's files only", got)
			}
		})
	}
}

// tree lists the files under root, as slash-separated paths relative to it.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
