package table

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// A destination that checks foreign keys (PostgreSQL: ferry cannot turn
// them off without superuser rights) refuses a child row whose parent
// row has not landed yet, when the parent's chunk is still being copied
// by another thread or worker. The tables are planned parents first
// (parentsFirst), so such a wait is short: the chunk is copied again
// after a pause, until refWaitMax has passed. Each try is whole and
// idempotent (CopyChunk).

// refWaitMax bounds the time a chunk waits for the rows it references.
var refWaitMax = 2 * time.Minute

// isRefViolation reports whether err is a foreign key's refusal: of a
// row whose referenced row is missing, or (mirror) of the deletion of a
// row another table's rows still reference.
func isRefViolation(err error) bool {
	var pe *pgconn.PgError
	var me *mysql.MySQLError
	return errors.As(err, &pe) && pe.Code == "23503" || errors.As(err, &me) && me.Number == 1452
}

// waitForRefs runs try until it succeeds, fails otherwise than on a
// missing referenced row, or refWaitMax has passed; then the error says
// what to do.
func waitForRefs[T any](ctx context.Context, try func() (T, error)) (T, error) {
	deadline := time.Now().Add(refWaitMax)
	pause := 250 * time.Millisecond
	for {
		res, err := try()
		if err == nil || !isRefViolation(err) {
			return res, err
		}
		if time.Now().Add(pause).After(deadline) {
			return res, fmt.Errorf("%w (waited %s for the other table's rows to land or go: is that table in this job's tables=?)",
				err, refWaitMax)
		}
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(pause):
		}
		pause = min(2*pause, 8*time.Second)
	}
}
