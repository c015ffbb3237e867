package media

import (
	"bytes"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
)

// DefaultAllowedTypes are the content types accepted when Config.AllowedTypes is empty:
// the common images, PDF, plain text, zip, and office documents.
var DefaultAllowedTypes = []string{
	"image/jpeg", "image/png", "image/gif", "image/webp",
	"application/pdf", "text/plain", "application/zip",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"application/vnd.oasis.opendocument.text",
	"application/vnd.oasis.opendocument.spreadsheet",
	"application/vnd.oasis.opendocument.presentation",
	"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
}

// safeImages are served inline; everything else is an attachment, so that a browser
// never renders an upload as a page of this origin.
var safeImages = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
}

// Office formats are containers that http.DetectContentType knows only as the container:
// once the bytes prove the container, the file name's extension says which format.
var (
	zipFormats = map[string]string{
		".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
		".odt":  "application/vnd.oasis.opendocument.text",
		".ods":  "application/vnd.oasis.opendocument.spreadsheet",
		".odp":  "application/vnd.oasis.opendocument.presentation",
	}
	oleFormats = map[string]string{
		".doc": "application/msword",
		".xls": "application/vnd.ms-excel",
		".ppt": "application/vnd.ms-powerpoint",
	}
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// sniff returns the content type of a file from its first bytes (up to 512), refined by
// its name only where the bytes prove a container that the name then specifies.
func sniff(head []byte, filename string) string {
	ct := http.DetectContentType(head)
	ext := strings.ToLower(filepath.Ext(filename))
	switch baseType(ct) {
	case "application/zip":
		if t, ok := zipFormats[ext]; ok {
			return t
		}
	case "application/octet-stream":
		if t, ok := oleFormats[ext]; ok && bytes.HasPrefix(head, oleMagic) {
			return t
		}
	}
	return ct
}

// baseType is a content type without its parameters, lower case.
func baseType(ct string) string {
	t, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return t
}

// cleanName makes a client's file name safe to store and to put in a header: the last
// path element, no control characters, at most 255 bytes.
func cleanName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	for len(name) > 255 {
		_, size := lastRune(name)
		name = name[:len(name)-size]
	}
	// After cutting: a cut may end the name in spaces (FuzzSniff found it).
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == ".." {
		return "file"
	}
	return name
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return rune(s[i]), len(s) - i
		}
	}
	return 0, 1
}
