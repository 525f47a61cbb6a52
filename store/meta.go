package store

import (
	"mime"
	"path"
	"strings"
)

// Keys of Entry.Meta, the HTTP metadata that object stores pass from a
// source object to a destination object. Names are lower case. User
// metadata is held under MetaUserPrefix + its name in lower case (as
// "x-amz-meta-owner"), whatever the provider's own prefix on the wire.
const (
	MetaContentType        = "content-type"
	MetaCacheControl       = "cache-control"
	MetaContentDisposition = "content-disposition"
	MetaContentEncoding    = "content-encoding"
	MetaContentLanguage    = "content-language"
	MetaExpires            = "expires"
	MetaUserPrefix         = "x-amz-meta-"
)

// MetaHeaders are the standard headers kept in Entry.Meta.
var MetaHeaders = []string{
	MetaContentType, MetaCacheControl, MetaContentDisposition,
	MetaContentEncoding, MetaContentLanguage, MetaExpires,
}

// GuessContentType returns the MIME type of key's extension (".html" ->
// "text/html; charset=utf-8"), or "" when the extension is unknown. Object
// destinations use it for entries whose Meta has no content-type, such as
// files from a local source.
func GuessContentType(key string) string {
	ext := path.Ext(key)
	if ext == "" {
		return ""
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return mime.TypeByExtension(strings.ToLower(ext))
}
