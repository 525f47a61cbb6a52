package keylist

import (
	"bufio"
	"compress/gzip"
	"crypto/md5"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// S3 Inventory: a manifest.json names the report's data files and their
// columns; each data file is CSV, gzip-compressed as S3 writes it when its
// name ends in ".gz". What ferry takes of it:
//
//   - fileFormat must be CSV (ORC and Parquet reports are refused, naming
//     the format);
//   - sourceBucket must be srcBucket, when the job has one;
//   - fileSchema names the columns: Key is required; Size,
//     LastModifiedDate and ETag are used when present; rows whose IsLatest
//     is false or IsDeleteMarker true (a versioned report) are left out;
//   - each data file's size and MD5checksum, when the manifest gives them,
//     must match the file;
//   - keys are URL-encoded in the CSV, as S3 writes them ("+" for a
//     space), and are the bucket's whole keys: those under srcPrefix are
//     listed, relative to it.
//
// A data file's key is the key in the report's bucket. It is looked for
// beside the manifest: under the manifest's directory or one of its
// parents, as the whole key or the key without its first components,
// whichever exists first. A report synced with `aws s3 sync
// s3://inventory-bucket/ dir/` or a copy of its configuration's directory
// are both found.

// manifest is the part of an inventory manifest ferry reads.
type manifest struct {
	SourceBucket      string `json:"sourceBucket"`
	DestinationBucket string `json:"destinationBucket"`
	FileFormat        string `json:"fileFormat"`
	FileSchema        string `json:"fileSchema"`
	Files             []struct {
		Key         string `json:"key"`
		Size        *int64 `json:"size"`
		MD5Checksum string `json:"MD5checksum"`
	} `json:"files"`
}

// columns are the positions of the columns ferry reads (-1: absent).
type columns struct {
	n                                            int
	key, size, mtime, etag, isLatest, isDeleteMk int
}

func parseSchema(schema string) (columns, error) {
	c := columns{key: -1, size: -1, mtime: -1, etag: -1, isLatest: -1, isDeleteMk: -1}
	names := strings.Split(schema, ",")
	c.n = len(names)
	for i, n := range names {
		switch strings.TrimSpace(n) {
		case "Key":
			c.key = i
		case "Size":
			c.size = i
		case "LastModifiedDate":
			c.mtime = i
		case "ETag":
			c.etag = i
		case "IsLatest":
			c.isLatest = i
		case "IsDeleteMarker":
			c.isDeleteMk = i
		}
	}
	if c.key < 0 {
		return c, fmt.Errorf("fileSchema %q has no Key column", schema)
	}
	return c, nil
}

// readInventory reads the inventory whose manifest is cfg.File, calling
// emit for each current object under cfg.Prefix, keyed relative to it.
func readInventory(cfg Config, emit func(record) error) error {
	name := cfg.File
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("srcListFile: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: not an S3 Inventory manifest: %v", name, err)
	}
	if !strings.EqualFold(m.FileFormat, "CSV") {
		return fmt.Errorf("%s: fileFormat %q: ferry reads CSV inventories only (configure the report as CSV)", name, m.FileFormat)
	}
	if cfg.Bucket != "" && m.SourceBucket != "" && m.SourceBucket != cfg.Bucket {
		return fmt.Errorf("%s: sourceBucket %q is not srcBucket %q: this inventory lists another bucket", name, m.SourceBucket, cfg.Bucket)
	}
	cols, err := parseSchema(m.FileSchema)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	if len(m.Files) == 0 {
		return fmt.Errorf("%s: names no data files", name)
	}
	for i, f := range m.Files {
		p, err := locate(name, f.Key)
		if err != nil {
			return fmt.Errorf("%s: files[%d]: %v", name, i, err)
		}
		if err := readData(p, f.Size, f.MD5Checksum, cols, cfg.Prefix, emit); err != nil {
			return err
		}
	}
	return nil
}

// locate finds the data file of key near the manifest (see above).
func locate(manifestPath, key string) (string, error) {
	if key == "" {
		return "", errors.New("empty key")
	}
	parts := strings.Split(strings.TrimLeft(key, "/"), "/")
	var tried []string
	dir := filepath.Dir(manifestPath)
	for range 6 {
		for i := range parts {
			p := filepath.Join(dir, filepath.Join(parts[i:]...))
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p, nil
			}
		}
		tried = append(tried, dir)
		up := filepath.Dir(dir)
		if up == dir {
			break
		}
		dir = up
	}
	return "", fmt.Errorf("data file %q not found under %s (nor under its parents up to %s)", key, tried[0], tried[len(tried)-1])
}

// readData reads one CSV data file.
func readData(p string, size *int64, md5hex string, cols columns, prefix string, emit func(record) error) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("inventory data file: %w", err)
	}
	defer f.Close()
	if size != nil {
		if fi, err := f.Stat(); err == nil && fi.Size() != *size {
			return fmt.Errorf("inventory data file %s: %d bytes, the manifest says %d", p, fi.Size(), *size)
		}
	}
	var h hash.Hash
	var r io.Reader = bufio.NewReaderSize(f, 1<<16)
	if md5hex != "" {
		h = md5.New()
		r = io.TeeReader(r, h)
	}
	raw := r
	if strings.HasSuffix(strings.ToLower(p), ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("inventory data file %s: %v", p, err)
		}
		defer zr.Close()
		r = zr
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = cols.n
	cr.ReuseRecord = true
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("inventory data file %s: %v", p, err)
		}
		line, _ := cr.FieldPos(0)
		rec, ok, err := rowRecord(row, cols, prefix)
		if err != nil {
			return fmt.Errorf("%s:%d: %v", p, line, err)
		}
		if ok {
			if err := emit(rec); err != nil {
				return err
			}
		}
	}
	if h != nil {
		io.Copy(io.Discard, raw) // the rest of the file, for its MD5
		if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, md5hex) {
			return fmt.Errorf("inventory data file %s: MD5 %s, the manifest says %s (damaged or replaced)", p, got, md5hex)
		}
	}
	return nil
}

// rowRecord is the record of one CSV row; ok is false for a row that is
// not a current object under prefix.
func rowRecord(row []string, c columns, prefix string) (record, bool, error) {
	if c.isLatest >= 0 && strings.EqualFold(row[c.isLatest], "false") {
		return record{}, false, nil
	}
	if c.isDeleteMk >= 0 && strings.EqualFold(row[c.isDeleteMk], "true") {
		return record{}, false, nil
	}
	key, err := url.QueryUnescape(row[c.key])
	if err != nil {
		return record{}, false, fmt.Errorf("key %q: not URL-encoded as S3 writes inventories: %v", row[c.key], err)
	}
	rel, ok := strings.CutPrefix(key, prefix)
	if !ok || rel == "" {
		return record{}, false, nil
	}
	r := record{key: rel}
	if c.size >= 0 && row[c.size] != "" {
		if r.size, err = strconv.ParseInt(row[c.size], 10, 64); err != nil || r.size < 0 {
			return record{}, false, fmt.Errorf("Size %q of %q: not a number of bytes", row[c.size], key)
		}
	}
	if c.mtime >= 0 && row[c.mtime] != "" {
		t, err := time.Parse(time.RFC3339Nano, row[c.mtime])
		if err != nil {
			return record{}, false, fmt.Errorf("LastModifiedDate %q of %q: %v", row[c.mtime], key, err)
		}
		r.mtime = t.UnixNano()
	}
	if c.etag >= 0 {
		r.etag = strings.Trim(row[c.etag], `"`)
	}
	return r, true, nil
}
