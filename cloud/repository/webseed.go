package repository

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"swarmbox/media"
)

// ServeContainer answers a web seed request for item's container with Range support, and
// reports the body bytes it wrote through count (called once, after the response).
func (r *Repository) ServeContainer(w http.ResponseWriter, req *http.Request, item media.ItemID, count func(n int64)) {
	f, err := os.Open(r.Path(item))
	if err != nil {
		http.Error(w, "container not in the repository", http.StatusNotFound)
		return
	}
	defer f.Close()
	cw := &countingWriter{ResponseWriter: w}
	defer func() { count(cw.n) }()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(cw, req, "", time.Time{}, f)
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// ParseByteRange reads an HTTP Range header that asks for one byte range of a body of size
// bytes ("bytes=a-b", "bytes=a-" or "bytes=-n") and returns it as the half-open [begin, end).
// An empty header, several ranges, or a range that is malformed or starts past the end is an
// error.
func ParseByteRange(h string, size int64) (begin, end int64, err error) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return 0, 0, fmt.Errorf("range %q: want one range of bytes, as bytes=first-last", h)
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok || strings.Contains(last, ",") {
		return 0, 0, fmt.Errorf("range %q: want one range of bytes, as bytes=first-last", h)
	}
	num := func(s string) (int64, error) {
		if s == "" || strings.TrimLeft(s, "0123456789") != "" {
			return 0, fmt.Errorf("range %q: %q is not a byte offset", h, s)
		}
		return strconv.ParseInt(s, 10, 64)
	}
	switch {
	case first == "": // the last n bytes
		n, err := num(last)
		if err != nil {
			return 0, 0, err
		}
		if n == 0 {
			return 0, 0, fmt.Errorf("range %q asks for no bytes", h)
		}
		begin, end = max(size-n, 0), size
	case last == "":
		if begin, err = num(first); err != nil {
			return 0, 0, err
		}
		end = size
	default:
		if begin, err = num(first); err != nil {
			return 0, 0, err
		}
		if end, err = num(last); err != nil {
			return 0, 0, err
		}
		if end < begin {
			return 0, 0, fmt.Errorf("range %q ends before it begins", h)
		}
		end = min(end+1, size) // the header's last byte is inclusive
	}
	if begin >= size {
		return 0, 0, fmt.Errorf("range %q starts past the end (%d bytes)", h, size)
	}
	return begin, end, nil
}
