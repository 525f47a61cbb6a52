package master

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Problem is a condition of the master itself, not of one job, that holds
// the jobs back: today, a full working directory. Stat shows it on every
// active job; it clears itself.
type Problem struct {
	Message string
	Since   time.Time
}

// noSpace returns the errno of err when it says the disk is full (no
// space, or the user's quota exhausted), else nil.
func noSpace(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) && (errno == syscall.ENOSPC || errno == syscall.EDQUOT) {
		return errno
	}
	return nil
}

// noteWrite looks at the error of a write to the master's directory (the
// database, the audit directories): when the disk is full it becomes the
// master's problem, said once in the log and shown by Stat until a
// completion is recorded again. what says what could not be done. It
// returns err.
func (m *Master) noteWrite(what string, err error) error {
	errno := noSpace(err)
	if errno == nil {
		return err
	}
	msg := fmt.Sprintf("%s is full: cannot %s (%v); ferry resumes by itself when space returns", m.cfg.Dir, what, errno)
	m.mu.Lock()
	first := m.problem.Message == ""
	if first {
		m.problem.Since = time.Now()
	}
	m.problem.Message = msg
	m.mu.Unlock()
	if first {
		m.log.Error("working directory full; jobs wait for space", "dir", m.cfg.Dir, "err", err)
	}
	return err
}

// logWrite logs the failure of a periodic write (what), unless the disk is
// full: then it is the master's problem, logged once by noteWrite rather
// than at every tick.
func (m *Master) logWrite(what string, err error) {
	if noSpace(m.noteWrite(what, err)) == nil {
		m.log.Error(what, "err", err)
	}
}

// spaceBack clears the problem noteWrite recorded, if any: a write has
// succeeded again.
func (m *Master) spaceBack() {
	m.mu.Lock()
	p := m.problem
	m.problem = Problem{}
	m.mu.Unlock()
	if p.Message != "" {
		m.log.Info("working directory has space again; jobs resume", "dir", m.cfg.Dir, "full_for", time.Since(p.Since).Round(time.Second))
	}
}

// Problem returns the master's current problem; a zero Problem when there
// is none.
func (m *Master) Problem() Problem {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.problem
}
