package store

import "context"

// ListInto lists s after key after (from the start when "") into ch, in key
// order, and closes ch when done. It is the producer side of the merges of
// two sorted listings (plan, verify): run one per store in an errgroup.
func ListInto(ctx context.Context, s Store, after string, ch chan<- Entry) error {
	defer close(ch)
	return s.List(ctx, "", after, func(e Entry) error {
		select {
		case ch <- e:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}
