package player

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Session serves one open title on a loopback-only HTTP URL with Range support, for a media
// player that seeks.
type Session struct {
	url   string
	srv   *http.Server
	title *Title
}

// Serve serves t until Close (which closes t too). The URL's path is unguessable, so other
// local users cannot watch along.
func Serve(ctx context.Context, t *Title) (*Session, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("serve the title on loopback: %w", err)
	}
	tok := make([]byte, 12)
	rand.Read(tok)
	path := "/play/" + hex.EncodeToString(tok)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", time.Time{}, io.NewSectionReader(t, 0, t.Size()))
	})
	s := &Session{url: "http://" + ln.Addr().String() + path, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, title: t}
	go s.srv.Serve(ln)
	return s, nil
}

// URL is where the title is served.
func (s *Session) URL() string { return s.url }

// Close stops serving and closes the title.
func (s *Session) Close() error {
	s.srv.Close()
	return s.title.Close()
}
