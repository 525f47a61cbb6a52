package store

import "context"

// Stores that write through temporary files (local) name them with a tag
// taken from the context, so that a later attempt of the same task can
// remove what a crashed attempt left behind, without touching the
// temporary files of other tasks writing to the same directory.

type tempTagKey struct{}

// WithTempTag returns a context under which Put names its temporary files
// with tag (letters, digits and '-').
func WithTempTag(ctx context.Context, tag string) context.Context {
	return context.WithValue(ctx, tempTagKey{}, tag)
}

// TempTag returns the tag set by WithTempTag, or "".
func TempTag(ctx context.Context) string {
	s, _ := ctx.Value(tempTagKey{}).(string)
	return s
}

// TempCleaner is implemented by stores that can remove the temporary files
// carrying tag in the directory dirKey ("" is the root).
type TempCleaner interface {
	CleanTemps(ctx context.Context, dirKey, tag string) error
}
