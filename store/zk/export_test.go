package zk

import (
	"github.com/go-zookeeper/zk"

	"ferry/internal/zkwire"
)

// ReadSessions returns the store's read sessions, for tests.
func (s *Store) ReadSessions() []*zkwire.Conn {
	var out []*zkwire.Conn
	for i := range s.readers {
		if c := s.readers[i].Load(); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// MainSession returns the store's main session, for tests.
func (s *Store) MainSession() *zk.Conn { return s.conn }
