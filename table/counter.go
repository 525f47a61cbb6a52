package table

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// After rows are copied with their own key values, the destination's
// counter of an identity, serial or AUTO_INCREMENT column must stand past
// the largest value copied, or the application's next insert there takes
// a value a copied row holds. MariaDB and MySQL (InnoDB) advance an
// AUTO_INCREMENT counter past every value inserted explicitly; a
// PostgreSQL sequence does not move when a value is given, so ferry moves
// it (advanceCounters).

// counters is a destination that moves its counters itself.
type counters interface {
	advanceCounters(ctx context.Context, s *Schema, lo, hi Key) error
}

// advanceCounters moves dst's counters of s past the values of [lo, hi)
// (nil bounds: the whole table), when dst needs it.
func advanceCounters(ctx context.Context, dst DB, s *Schema, lo, hi Key) error {
	if c, ok := dst.(counters); ok {
		if err := c.advanceCounters(ctx, s, lo, hi); err != nil {
			return fmt.Errorf("table %s: advance its counter: %w", s.Name, err)
		}
	}
	return nil
}

// advanceCounters sets the sequence owned by each identity or serial
// column of s (pg_get_serial_sequence, else the one its default's
// nextval names) to the largest value of [lo, hi)
// when that is past the sequence's last value, so its next value is
// beyond every copied one. A descending sequence is left alone. Chunks
// finishing at once take turns (an advisory lock per sequence), so a
// smaller maximum never moves a sequence back.
func (p *postgres) advanceCounters(ctx context.Context, s *Schema, lo, hi Key) error {
	for i, c := range s.Cols {
		if c.Identity == "" && !strings.HasPrefix(c.Default, "nextval(") || c.Kind != KNum {
			continue
		}
		var seq *string
		if err := p.pool.QueryRow(ctx, "SELECT pg_get_serial_sequence($1, $2)", p.table(s), c.Name).Scan(&seq); err != nil {
			return err
		}
		if m := nextvalRe.FindStringSubmatch(c.Default); seq == nil && m != nil {
			seq = &m[1] // a sequence the column does not own
		}
		if seq == nil {
			continue
		}
		err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
			var args []any
			q := "SELECT max(" + p.ident(c.Name) + ")::bigint FROM " + p.table(s)
			if w := rangeWhere(p, s, lo, hi, nil, &args); w != "" {
				q += " WHERE " + w
			}
			var top *int64
			if err := tx.QueryRow(ctx, q, args...).Scan(&top); err != nil || top == nil {
				return err
			}
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", *seq); err != nil {
				return err
			}
			var last, inc int64
			var called bool
			if err := tx.QueryRow(ctx, "SELECT last_value, is_called FROM "+*seq).Scan(&last, &called); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, "SELECT seqincrement FROM pg_sequence WHERE seqrelid = $1::regclass", *seq).Scan(&inc); err != nil {
				return err
			}
			if !called {
				last--
			}
			if inc <= 0 || *top <= last {
				return nil
			}
			_, err := tx.Exec(ctx, "SELECT setval($1::regclass, $2)", *seq, *top)
			return err
		})
		var pe interface{ SQLState() string }
		if errors.As(err, &pe) && pe.SQLState() == "22003" { // out of the sequence's range: leave it
			continue
		}
		if err != nil {
			return fmt.Errorf("column %s: %w", s.Cols[i].Name, err)
		}
	}
	return nil
}
