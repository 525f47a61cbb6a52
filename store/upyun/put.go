package upyun

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"

	"ferry/store"
)

// Put writes key in one PUT with its Content-MD5 (Upyun refuses a body
// that arrived different, and the request is sent again), after reading
// all of r: at most MaxPut bytes. Upyun writes a file whole or not at all.
// The returned Entry carries the CRC64 of the bytes sent.
func (s *Upyun) Put(ctx context.Context, key string, r io.Reader, e store.Entry, o store.PutOptions) (store.Entry, error) {
	if err := s.checkKey(key); err != nil {
		return store.Entry{}, fmt.Errorf("put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return store.Entry{}, err
	}
	var b bytes.Buffer
	if _, err := io.CopyN(&b, r, MaxPut+1); err != nil && err != io.EOF {
		return store.Entry{}, fmt.Errorf("put %q: reading the source: %w", key, err)
	}
	if b.Len() > MaxPut {
		return store.Entry{}, fmt.Errorf("put %q: more than %d bytes: ferry writes Upyun files in one request", key, MaxPut)
	}
	body := b.Bytes()
	sum := md5.Sum(body)
	md5hex := hex.EncodeToString(sum[:])
	ct := e.Meta[store.MetaContentType]
	if ct == "" {
		ct = store.GuessContentType(key)
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := http.Header{}
	h.Set("Content-Type", ct)
	h.Set("Mkdir", "true")
	err := s.do(ctx, key, func(ctx context.Context) error {
		req := bytes.NewReader(body)
		resp, err := s.request(ctx, http.MethodPut, s.fullKey(key), h, req, md5hex)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	if err != nil {
		return store.Entry{}, fmt.Errorf("put %q: %w", key, err)
	}
	return store.Entry{Key: key, Size: int64(len(body)), MTime: time.Now().Truncate(time.Second), ETag: md5hex,
		CRC64: store.UpdateCRC64(0, body), HasCRC: true, Kind: store.File, Meta: map[string]string{store.MetaContentType: ct}}, nil
}

// Delete removes key; a missing key is an error wrapping store.ErrNotExist.
// The folders it leaves empty stay, as Upyun keeps them.
func (s *Upyun) Delete(ctx context.Context, key string) error {
	if err := s.readableKey(key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if _, err := s.Stat(ctx, key); err != nil { // a folder is not deleted as a key
		return fmt.Errorf("delete: %w", err)
	}
	err := s.do(ctx, key, func(ctx context.Context) error {
		resp, err := s.request(ctx, http.MethodDelete, s.fullKey(key), nil, nil, "")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}
