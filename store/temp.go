package store

import "context"

// TempCleaner is implemented by stores that can remove the temporary files
// carrying tag (PutOptions.TempTag) in the directory dirKey ("" is the
// root).
type TempCleaner interface {
	CleanTemps(ctx context.Context, dirKey, tag string) error
}
