package master

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"ferry/state"
)

// Worker credentials: each worker host gets a secret of its own, made
// here when `deploy` asks for one and shipped by it to that host only.
// It lets its holder act as that one worker ID (the host as conf/workers
// writes it) through the worker's calls, and nothing else: the master's
// token stays with the console. Only its SHA-256 is kept (in ferry.db);
// revoking it refuses the host's next call and sends its tasks to others.

// Credential is a worker host's credential as `stat --workers` lists it:
// never the secret.
type Credential struct {
	Worker string
	Issued time.Time
}

// creds indexes the stored credentials by the hash of their secret. The
// rpc guard consults it on every call, before the request is read.
type creds struct {
	mu       sync.RWMutex
	byHash   map[[32]byte]string   // valid secrets -> worker ID
	byWorker map[string]state.Cred // worker ID -> its credential
	revoked  map[[32]byte]string   // secrets revoked since the master started, for the refusals' log
}

func loadCreds(db *state.DB) (*creds, error) {
	cs, err := db.Creds()
	if err != nil {
		return nil, err
	}
	c := &creds{byHash: make(map[[32]byte]string), byWorker: make(map[string]state.Cred), revoked: make(map[[32]byte]string)}
	for _, x := range cs {
		c.byHash[x.Hash] = x.Worker
		c.byWorker[x.Worker] = x
	}
	return c, nil
}

// forget notes a secret that no longer works, for the refusals' log; the
// notes are dropped when they pile up (a name is a nicety, not a check).
func (c *creds) forget(h [32]byte, worker string) {
	if len(c.revoked) >= 4096 {
		clear(c.revoked)
	}
	c.revoked[h] = worker
}

// CheckWorkerID refuses a worker ID a credential cannot be bound to: empty,
// longer than 255 bytes, or with spaces or control characters.
func CheckWorkerID(id string) error {
	if id == "" || len(id) > 255 || !utf8.ValidString(id) {
		return fmt.Errorf("worker %q: want 1 to 255 bytes of UTF-8", id)
	}
	for _, r := range id {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("worker %q: spaces and control characters are not allowed", id)
		}
	}
	return nil
}

// IssueCredential makes a new secret for worker (crypto/rand, 32 bytes,
// hex), stores its hash durably and returns it. A credential the worker
// held before stops working.
func (m *Master) IssueCredential(worker string) (string, error) {
	if err := CheckWorkerID(worker); err != nil {
		return "", err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(b[:])
	c := state.Cred{Worker: worker, Hash: sha256.Sum256([]byte(secret)), Issued: time.Now()}
	if err := m.db.PutCred(c); err != nil {
		return "", m.noteWrite("store a worker credential", err)
	}
	m.creds.mu.Lock()
	if old, ok := m.creds.byWorker[worker]; ok {
		delete(m.creds.byHash, old.Hash)
		m.creds.forget(old.Hash, worker)
	}
	m.creds.byWorker[worker] = c
	m.creds.byHash[c.Hash] = worker
	m.creds.mu.Unlock()
	m.log.Info("worker credential issued", "worker", worker)
	return secret, nil
}

// RevokeCredential forgets worker's credential: its next call is refused.
// The worker is no longer counted alive, and its leases go back to pending
// at once for other workers. False when worker holds no credential.
func (m *Master) RevokeCredential(ctx context.Context, worker string) (bool, error) {
	found, err := m.db.DeleteCred(worker)
	if err != nil {
		return false, m.noteWrite("revoke a worker credential", err)
	}
	if !found {
		return false, nil
	}
	m.creds.mu.Lock()
	if old, ok := m.creds.byWorker[worker]; ok {
		delete(m.creds.byHash, old.Hash)
		delete(m.creds.byWorker, worker)
		m.creds.forget(old.Hash, worker)
	}
	m.creds.mu.Unlock()
	m.mu.Lock()
	if w := m.workers[worker]; w != nil {
		w.revoked = true
	}
	m.mu.Unlock()
	refs, err := m.db.ReleaseWorker(worker)
	if err != nil {
		return true, m.noteWrite("release a revoked worker's leases", err)
	}
	m.dropLeases(refs, "worker credential revoked; its lease is pending again")
	m.log.Warn("worker credential revoked", "worker", worker, "leases_released", len(refs))
	return true, nil
}

// CredentialOf says whose credential secret is: valid names the worker
// it is bound to; when not valid, worker names the one whose credential it
// was if it was revoked or replaced since this master started ("" when it
// is unknown).
func (m *Master) CredentialOf(secret string) (worker string, valid bool) {
	h := sha256.Sum256([]byte(secret))
	m.creds.mu.RLock()
	defer m.creds.mu.RUnlock()
	if w, ok := m.creds.byHash[h]; ok {
		return w, true
	}
	return m.creds.revoked[h], false
}

// Credentials lists the worker hosts that hold a credential, by worker ID.
func (m *Master) Credentials() []Credential {
	m.creds.mu.RLock()
	out := make([]Credential, 0, len(m.creds.byWorker))
	for _, c := range m.creds.byWorker {
		out = append(out, Credential{Worker: c.Worker, Issued: c.Issued})
	}
	m.creds.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Worker < out[j].Worker })
	return out
}
