package repository

import (
	"net/http"
	"os"
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
