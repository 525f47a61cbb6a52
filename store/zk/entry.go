package zk

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-zookeeper/zk"

	"ferry/store"
)

// Keys of a znode entry's Meta.
const (
	// MetaACL is the znode's ACL exactly as read: one line per entry,
	// "perms:scheme:id" with perms the number ZooKeeper keeps (READ=1,
	// WRITE=2, CREATE=4, DELETE=8, ADMIN=16). An ACL written with the
	// "auth" scheme reads back as the digest identities it named.
	MetaACL = "zk-acl"
	// MetaSeq is the number the znode's next sequential child would get
	// (see nextSeq), in decimal.
	MetaSeq = "zk-seq"
	// MetaChildren is the number of the znode's children, in decimal.
	MetaChildren = "zk-children"
)

// nextSeq is the number ZooKeeper gives the next sequential child of a
// znode with stat st. Each create of a child raises it by one, a delete
// does not; cversion counts both, so creates = (cversion + children) / 2.
// (Measured on ZooKeeper 3.8, through restarts and expired ephemeral
// children: see TestNextSeq.)
func nextSeq(st *zk.Stat) int64 { return (int64(st.Cversion) + int64(st.NumChildren)) / 2 }

// entryOf describes the znode key from its stat, data and ACL.
func entryOf(key string, st *zk.Stat, data []byte, acl []zk.ACL) store.Entry {
	e := store.Entry{Key: key, Size: int64(len(data)), CRC64: store.UpdateCRC64(0, data), HasCRC: true}
	if st.EphemeralOwner != 0 {
		e.Kind, e.Size, e.HasCRC, e.CRC64 = store.Special, 0, false, 0
		e.Detail = fmt.Sprintf("ephemeral znode (owner session 0x%x): not copied, it lives as long as its session", st.EphemeralOwner)
		return e
	}
	e.Meta = map[string]string{
		MetaACL:      formatACL(acl),
		MetaSeq:      strconv.FormatInt(nextSeq(st), 10),
		MetaChildren: strconv.FormatInt(int64(st.NumChildren), 10),
	}
	return e
}

// unreadable is the entry of a znode whose data or ACL could not be read.
func unreadable(key string, why error) store.Entry {
	return store.Entry{Key: key, Kind: store.Unreadable, Detail: why.Error()}
}

// formatACL writes acl as MetaACL holds it.
func formatACL(acl []zk.ACL) string {
	var b strings.Builder
	for i, a := range acl {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strconv.Itoa(int(a.Perms)))
		b.WriteByte(':')
		b.WriteString(a.Scheme)
		b.WriteByte(':')
		b.WriteString(a.ID)
	}
	return b.String()
}

// parseACL reads MetaACL's text back.
func parseACL(s string) ([]zk.ACL, error) {
	if s == "" {
		return nil, nil
	}
	var out []zk.ACL
	for _, line := range strings.Split(s, "\n") {
		perms, rest, ok1 := strings.Cut(line, ":")
		scheme, id, ok2 := strings.Cut(rest, ":")
		n, err := strconv.ParseInt(perms, 10, 32)
		if !ok1 || !ok2 || err != nil {
			return nil, fmt.Errorf("bad ACL entry %q", line)
		}
		out = append(out, zk.ACL{Perms: int32(n), Scheme: scheme, ID: id})
	}
	return out, nil
}

// ShowACL writes MetaACL's text as people read ACLs ("digest:u:h:cdrwa,
// world:anyone:r"), for reasons and reports.
func ShowACL(s string) string {
	acl, err := parseACL(s)
	if err != nil {
		return s
	}
	parts := make([]string, len(acl))
	for i, a := range acl {
		parts[i] = a.Scheme + ":" + a.ID + ":" + perms(a.Perms)
	}
	return strings.Join(parts, ",")
}

func perms(p int32) string {
	var b []byte
	for _, x := range []struct {
		bit int32
		c   byte
	}{{zk.PermCreate, 'c'}, {zk.PermDelete, 'd'}, {zk.PermRead, 'r'}, {zk.PermWrite, 'w'}, {zk.PermAdmin, 'a'}} {
		if p&x.bit != 0 {
			b = append(b, x.c)
		}
	}
	if rest := p &^ zk.PermAll; rest != 0 {
		b = append(b, fmt.Sprintf("+%d", rest)...)
	}
	return string(b)
}

// Differs is the package's Differs: the store compares znodes so.
func (s *Store) Differs(src, dst store.Entry) string { return Differs(src, dst) }

// Differs says why destination znode d is not a copy of source znode s
// beyond their data (which size and CRC64 compare): another ACL, or a
// sequential counter behind the source's that this round's creations at
// the destination will not bring up (each creation of a missing child
// raises it by one; without both children counts, as in the entry a Put
// returns, no such creation is counted on). "" when they agree, or when
// either entry carries no znode metadata.
func Differs(s, d store.Entry) string {
	sa, ok1 := s.Meta[MetaACL]
	da, ok2 := d.Meta[MetaACL]
	if !ok1 || !ok2 {
		return ""
	}
	if sa != da {
		return fmt.Sprintf("acl %s at the source, %s at the destination", ShowACL(sa), ShowACL(da))
	}
	sSeq, err1 := strconv.ParseInt(s.Meta[MetaSeq], 10, 64)
	dSeq, err2 := strconv.ParseInt(d.Meta[MetaSeq], 10, 64)
	if err1 != nil || err2 != nil {
		return ""
	}
	sN, err3 := strconv.ParseInt(s.Meta[MetaChildren], 10, 64)
	dN, err4 := strconv.ParseInt(d.Meta[MetaChildren], 10, 64)
	if err3 != nil || err4 != nil {
		sN, dN = 0, 0
	}
	if dSeq+max(0, sN-dN) < sSeq {
		return fmt.Sprintf("sequential counter %d at the source, %d at the destination", sSeq, dSeq)
	}
	return ""
}
