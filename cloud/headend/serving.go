package headend

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"swarmbox/sync/protocol"
)

// Serving is how the head-end's HTTP server (the boxes' API, the web seed and the browser
// catalog on one port) guards itself against slow and greedy clients (requirement SRV-1): a
// client that sends its request slowly, reads its answer slowly or holds many connections is
// dropped or refused, and everyone else goes on being served. Zero fields take the defaults.
type Serving struct {
	// ReadHeader bounds reading a request's header (default 10 s).
	ReadHeader time.Duration
	// Read bounds reading a whole request, header and body (default 20 s). Every request body
	// is small (at most protocol.MaxBody, browser forms 16 KiB), so a client still sending after
	// this is trickling on purpose or hopeless.
	Read time.Duration
	// Write bounds writing a whole answer (default 60 s), except the web seed's, whose large
	// bodies instead get SeedChunk for each chunk (an answer that keeps moving never times out,
	// one that stalls is dropped).
	Write     time.Duration
	SeedChunk time.Duration // default 30 s
	// Idle is how long a kept-alive connection may wait for its next request (default 120 s).
	Idle time.Duration
	// ConnsPerAddr is how many connections one client address may hold open at once (default
	// 64); more are closed as soon as they are accepted. Boxes behind one NAT share an address,
	// so this is set for a household or an office, not for one box.
	ConnsPerAddr int
	// StreamsPerConn bounds concurrent HTTP/2 streams on one connection (default 32), which the
	// per-address connection limit alone would not.
	StreamsPerConn int
}

func (sv Serving) withDefaults() Serving {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&sv.ReadHeader, 10*time.Second)
	def(&sv.Read, 20*time.Second)
	def(&sv.Write, 60*time.Second)
	def(&sv.SeedChunk, 30*time.Second)
	def(&sv.Idle, 120*time.Second)
	if sv.ConnsPerAddr <= 0 {
		sv.ConnsPerAddr = 64
	}
	if sv.StreamsPerConn <= 0 {
		sv.StreamsPerConn = 32
	}
	return sv
}

// NewHTTPServer makes the http.Server that serves h with sv's timeouts. The server's own
// WriteTimeout is left unset: writeDeadlines sets each answer's deadline by route instead.
// Serve it on a listener from LimitConns.
func NewHTTPServer(h http.Handler, sv Serving, log *slog.Logger) *http.Server {
	sv = sv.withDefaults()
	if log == nil {
		log = slog.Default()
	}
	return &http.Server{
		Handler:           writeDeadlines(h, sv),
		ReadHeaderTimeout: sv.ReadHeader,
		ReadTimeout:       sv.Read,
		IdleTimeout:       sv.Idle,
		MaxHeaderBytes:    64 << 10,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: sv.StreamsPerConn},
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// writeDeadlines gives every answer a deadline to be written by: the whole answer within
// sv.Write, or for the web seed's streamed containers, each chunk within sv.SeedChunk.
func writeDeadlines(h http.Handler, sv Serving) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if strings.HasPrefix(r.URL.Path, protocol.PathSeed) {
			rc.SetWriteDeadline(time.Now().Add(sv.SeedChunk))
			w = &chunkDeadline{ResponseWriter: w, rc: rc, d: sv.SeedChunk}
		} else {
			rc.SetWriteDeadline(time.Now().Add(sv.Write))
		}
		h.ServeHTTP(w, r)
	})
}

// chunkDeadline moves the write deadline on before every chunk of an answer.
type chunkDeadline struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (c *chunkDeadline) Write(p []byte) (int, error) {
	c.rc.SetWriteDeadline(time.Now().Add(c.d))
	return c.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (c *chunkDeadline) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// LimitConns wraps ln so that one client address holds at most perAddr connections at once; a
// connection beyond that is closed as soon as it is accepted (the client sees the connection
// reset) and counted in log at debug level.
//
// The limit is on the TCP peer: it is applied on accept, before a byte of HTTP is read, so an
// X-Forwarded-For header cannot be known yet, let alone believed. Connections from the
// addresses in exempt (the trusted proxies) are not limited: a load balancer carries every
// client's requests, and bounding connections per client is then its job.
func LimitConns(ln net.Listener, perAddr int, log *slog.Logger, exempt ...netip.Prefix) net.Listener {
	if perAddr <= 0 {
		perAddr = Serving{}.withDefaults().ConnsPerAddr
	}
	if log == nil {
		log = slog.Default()
	}
	return &connLimit{Listener: ln, per: perAddr, exempt: exempt, open: map[netip.Addr]int{}, log: log}
}

type connLimit struct {
	net.Listener
	per    int
	exempt proxies
	log    *slog.Logger

	mu   sync.Mutex
	open map[netip.Addr]int
}

func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := sourceAddr(c.RemoteAddr().String())
		if l.exempt.trusted(addr) {
			return c, nil
		}
		l.mu.Lock()
		full := l.open[addr] >= l.per
		if !full {
			l.open[addr]++
		}
		l.mu.Unlock()
		if full {
			l.log.Debug("connection refused: too many from one address", "addr", addr, "limit", l.per)
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: func() { l.release(addr) }}, nil
	}
}

func (l *connLimit) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[addr]--; l.open[addr] <= 0 {
		delete(l.open, addr)
	}
}

// limitedConn gives its address's slot back when it is closed (once, however often Close is
// called).
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
