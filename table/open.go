package table

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"ferry/task"
)

// Types are the srcType and destType values of table jobs.
var Types = []string{"mysql", "postgres"}

// IsType reports whether typ is a table type.
func IsType(typ string) bool { return typ == "mysql" || typ == "postgres" }

// Open connects to one side of a table job, with up to conns connections:
// Domain is host:port, Bucket the database, AccessKey and SecretKey the
// user and password. Its errors say which of the usual causes it is
// (unreachable, authentication, missing database, privileges), naming the
// side, never the password.
func Open(ctx context.Context, role string, ep task.Endpoint, conns int) (DB, error) {
	host, portS, err := net.SplitHostPort(ep.Domain)
	if err != nil {
		host, portS = ep.Domain, map[string]string{"mysql": "3306", "postgres": "5432"}[ep.Type]
	}
	port, err := strconv.ParseUint(portS, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("%s %s: bad port %q", role, ep.Domain, portS)
	}
	var db DB
	switch ep.Type {
	case "postgres":
		var p *postgres
		p, err = openPostgres(ctx, host, uint16(port), ep.AccessKey, ep.SecretKey.Reveal(), ep.Bucket, conns)
		if err == nil {
			db = p
		}
	case "mysql":
		var m *mysqlDB
		m, err = openMySQL(ctx, net.JoinHostPort(host, portS), ep.AccessKey, ep.SecretKey.Reveal(), ep.Bucket, conns)
		if err == nil {
			db = m
		}
	default:
		return nil, fmt.Errorf("%s type %q is not a database (%s)", role, ep.Type, strings.Join(Types, ", "))
	}
	if err != nil {
		return nil, Explain(role, ep, err)
	}
	return db, nil
}

// The classes of errors a connection meets, for the one-line messages of
// Explain (errors.Is finds them).
var (
	ErrUnreachable = errors.New("unreachable")
	ErrAuth        = errors.New("authentication failed")
	ErrNoDatabase  = errors.New("no such database")
	ErrPrivilege   = errors.New("permission denied")
)

// Explain wraps err, from a connection to ep, in a message naming the
// side, its address, and the class of the error.
func Explain(role string, ep task.Endpoint, err error) error {
	what := fmt.Sprintf("%s %s %s", role, ep.Type, ep.Domain)
	var pe *pgconn.PgError
	var ne net.Error
	switch {
	case errors.As(err, &pe) && (pe.Code == "28P01" || pe.Code == "28000"):
		return fmt.Errorf("%s: %w for user %q (check %sAccessKey and %sSecretKey)", what, ErrAuth, ep.AccessKey, role, role)
	case errors.As(err, &pe) && pe.Code == "3D000":
		return fmt.Errorf("%s: %w %q (check %sBucket)", what, ErrNoDatabase, ep.Bucket, role)
	case errors.As(err, &pe) && pe.Code == "42501":
		return fmt.Errorf("%s: %w: %s", what, ErrPrivilege, pe.Message)
	case isMySQLCode(err, 1045):
		return fmt.Errorf("%s: %w for user %q (check %sAccessKey and %sSecretKey)", what, ErrAuth, ep.AccessKey, role, role)
	case isMySQLCode(err, 1049):
		return fmt.Errorf("%s: %w %q (check %sBucket)", what, ErrNoDatabase, ep.Bucket, role)
	case isMySQLCode(err, 1044, 1142, 1143, 1227):
		return fmt.Errorf("%s: %w: %v", what, ErrPrivilege, err)
	case errors.As(err, &ne), isConnRefused(err):
		return fmt.Errorf("%s: %w: %v", what, ErrUnreachable, rootCause(err))
	}
	return fmt.Errorf("%s: %v", what, err)
}

func isConnRefused(err error) bool {
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "no such host") || strings.Contains(s, "i/o timeout")
}

// rootCause is the innermost error's text.
func rootCause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}
