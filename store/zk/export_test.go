package zk

import "github.com/go-zookeeper/zk"

// ReadSessions returns the store's read sessions, for tests.
func (s *Store) ReadSessions() []*zk.Conn { return s.readers }

// MainSession returns the store's main session, for tests.
func (s *Store) MainSession() *zk.Conn { return s.conn }
