package upyun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"ferry/store"
)

// listHeaders are the headers of a folder listing request: JSON, in
// ascending order, limit names a page, from iter ("" for the first page).
func listHeaders(iter string, limit int) http.Header {
	h := http.Header{}
	h.Set("Accept", "application/json")
	h.Set("X-List-Limit", strconv.Itoa(limit))
	h.Set("X-List-Order", "asc")
	if iter != "" {
		h.Set("X-List-Iter", iter)
	}
	return h
}

// listItem is one name of a folder listing.
type listItem struct {
	Name         string `json:"name"`
	Type         string `json:"type"` // "folder", or the file's content type
	Length       int64  `json:"length"`
	LastModified int64  `json:"last_modified"`
}

// listPage is the JSON body of a folder listing.
type listPage struct {
	Files []listItem `json:"files"`
	Iter  string     `json:"iter"`
}

// child is a name of a folder, with its key in the service (a folder's
// ends with '/').
type child struct {
	key  string
	item listItem
}

// folder returns the names of the folder dir ("" or ending with '/'),
// every page of them, sorted by key (a folder's with its '/'), or nil
// when the folder does not exist.
func (s *Upyun) folder(ctx context.Context, dir string) ([]child, error) {
	var out []child
	iter := ""
	for {
		var page listPage
		err := s.do(ctx, dir, func(ctx context.Context) error {
			resp, err := s.request(ctx, http.MethodGet, dir, listHeaders(iter, s.cfg.ListLimit), nil, "")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return store.Transient(fmt.Errorf("reading the listing of %q: %w", dir, err))
			}
			page = listPage{}
			if err := json.Unmarshal(b, &page); err != nil {
				return store.Permanent(fmt.Errorf("the listing of %q is not Upyun's JSON: %v", dir, err))
			}
			return nil
		})
		if errors.Is(err, store.ErrNotExist) && iter == "" {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", dir, err)
		}
		for _, it := range page.Files {
			if it.Name == "" || strings.Contains(it.Name, "/") || it.Name == "." || it.Name == ".." {
				return nil, fmt.Errorf("list %q: the server listed a name %q that is not a file name", dir, it.Name)
			}
			k := dir + it.Name
			if it.Type == "folder" || it.Type == "F" {
				k += "/"
			}
			out = append(out, child{key: k, item: it})
		}
		if page.Iter == "" || page.Iter == eofIter || len(page.Files) == 0 {
			break
		}
		iter = page.Iter
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b child) int { return strings.Compare(a.key, b.key) })
	return out, nil
}

// List calls fn for each file whose key (relative to Config.Prefix) starts
// with prefix and sorts after startAfter, in byte order: a walk of the
// folders from the deepest one that holds prefix, entering only those
// whose keys can match and are not all before startAfter.
func (s *Upyun) List(ctx context.Context, prefix, startAfter string, fn func(store.Entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	full := s.fullKey(prefix)
	after := ""
	if startAfter != "" {
		after = s.fullKey(startAfter)
	}
	return s.walk(ctx, full[:strings.LastIndexByte(full, '/')+1], full, after, fn)
}

func (s *Upyun) walk(ctx context.Context, dir, full, after string, fn func(store.Entry) error) error {
	children, err := s.folder(ctx, dir)
	if err != nil {
		return err
	}
	for _, c := range children {
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasSuffix(c.key, "/") {
			inPrefix := strings.HasPrefix(c.key, full) || strings.HasPrefix(full, c.key)
			allBefore := after > c.key && !strings.HasPrefix(after, c.key)
			if !inPrefix || allBefore {
				continue
			}
			if err := s.walk(ctx, c.key, full, after, fn); err != nil {
				return err
			}
			continue
		}
		if !strings.HasPrefix(c.key, full) || c.key <= after {
			continue
		}
		e := store.Entry{Key: c.key[len(s.cfg.Prefix):], Size: c.item.Length, MTime: time.Unix(c.item.LastModified, 0), Kind: store.File}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}
