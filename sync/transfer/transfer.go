// Package transfer is the box's BitTorrent engine (github.com/anacrolix/torrent) set up for
// private swarms: no DHT, no PEX, no port forwarding, no tracker but the head-end's, peers only
// as the plan names them, and the operator's web seed only where the plan allows it. Every piece
// is verified against the torrent's hashes before it counts; a peer whose data fails
// verification is banned.
package transfer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	tstorage "github.com/anacrolix/torrent/storage"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// Config sets up an Engine.
type Config struct {
	MediaDir   string // where containers are written, named by the torrent's name
	ListenAddr string // host:port for BitTorrent; port 0 picks one
	Completion tstorage.PieceCompletion
	Log        *slog.Logger
}

// Engine runs the box's torrents.
type Engine struct {
	cl  *torrent.Client
	log *slog.Logger

	mu       sync.Mutex
	torrents map[media.ItemID]*torrent.Torrent
	seeds    map[media.ItemID]webSeedGrant // the server's web seed, per item
}

// New starts the engine listening on cfg.ListenAddr.
func New(cfg Config) (*Engine, error) {
	host, portStr, err := net.SplitHostPort(cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", cfg.ListenAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("listen port %q: %w", portStr, err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	tc := torrent.NewDefaultClientConfig()
	// Private swarms only: nothing that finds or exposes peers behind the head-end's back.
	tc.NoDHT = true
	tc.DisablePEX = true
	tc.NoDefaultPortForwarding = true
	tc.DisableWebtorrent = true
	tc.DisableUTP = true // TCP only: shaped and firewalled like the rest of the box's traffic
	tc.DisableIPv6 = true
	tc.Seed = true
	// anacrolix/torrent v1.59.1 serves peer requests from one goroutine that waits on a FIFO
	// allocation limiter in map order: with more requests queued than the limit covers, it can
	// wait on a late request while the granted ones are never read, and uploads stall for good.
	// Room for the whole request queue (1024 chunks of 16 KiB) means no request ever waits.
	tc.MaxAllocPeerRequestDataPerConn = 1024 * 16 << 10
	tc.ListenHost = func(string) string { return host }
	tc.ListenPort = port
	tc.Slogger = cfg.Log.With("part", "torrent")
	tc.DefaultStorage = tstorage.NewFileOpts(tstorage.NewFileClientOpts{
		ClientBaseDir:   cfg.MediaDir,
		PieceCompletion: cfg.Completion,
		UsePartFiles:    g.Some(false), // completion lives in the database, not in file names
		Logger:          cfg.Log,
	})
	cl, err := torrent.NewClient(tc)
	if err != nil {
		return nil, fmt.Errorf("start BitTorrent on %s: %w", cfg.ListenAddr, err)
	}
	return &Engine{cl: cl, log: cfg.Log, torrents: map[media.ItemID]*torrent.Torrent{}, seeds: map[media.ItemID]webSeedGrant{}}, nil
}

// Addr is the address the engine accepts peers on.
func (e *Engine) Addr() string {
	for _, l := range e.cl.ListenAddrs() {
		if ap, err := netip.ParseAddrPort(l.String()); err == nil {
			return ap.String()
		}
	}
	return ""
}

// Close stops every torrent and the listener.
func (e *Engine) Close() error {
	errs := e.cl.Close()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// ParseTorrent checks metainfo bytes and returns its info hash (hex) and piece count.
func ParseTorrent(b []byte) (infoHash string, pieces int, err error) {
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		return "", 0, fmt.Errorf("metainfo: %w", err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return "", 0, fmt.Errorf("metainfo info: %w", err)
	}
	if info.Private == nil || !*info.Private {
		return "", 0, fmt.Errorf("metainfo is not marked private: refusing a public torrent")
	}
	return mi.HashInfoBytes().HexString(), info.NumPieces(), nil
}

// add makes sure the torrent of item is in the client.
func (e *Engine) add(item media.ItemID, torrentBytes []byte) (*torrent.Torrent, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.torrents[item]; ok {
		return t, nil
	}
	mi, err := metainfo.Load(bytes.NewReader(torrentBytes))
	if err != nil {
		return nil, fmt.Errorf("metainfo: %w", err)
	}
	spec, err := torrent.TorrentSpecFromMetaInfoErr(mi)
	if err != nil {
		return nil, err
	}
	spec.Trackers, spec.Webseeds, spec.PeerAddrs = nil, nil, nil // only what the plan says
	t, _, err := e.cl.AddTorrentSpec(spec)
	if err != nil {
		return nil, err
	}
	e.torrents[item] = t
	return t, nil
}

// Seed serves an item the box holds.
func (e *Engine) Seed(item media.ItemID, torrentBytes []byte) error {
	_, err := e.add(item, torrentBytes)
	return err
}

// Fetch starts or updates the download of an item as planned: the head-end's tracker, the named
// peers, and the web seed if the plan allows the server.
func (e *Engine) Fetch(item media.ItemID, torrentBytes []byte, f protocol.Fetch) error {
	t, err := e.add(item, torrentBytes)
	if err != nil {
		return err
	}
	if f.Announce != "" {
		t.AddTrackers([][]string{{f.Announce}})
	}
	var peers []torrent.PeerInfo
	for _, p := range f.Peers {
		ap, err := netip.ParseAddrPort(p.Addr)
		if err != nil {
			continue
		}
		peers = append(peers, torrent.PeerInfo{Addr: ipPortAddr(ap), Source: torrent.PeerSourceTracker})
	}
	t.AddPeers(peers)
	if url, ok := e.grantWebSeed(item, f.WebSeed); ok {
		t.AddWebSeeds([]string{url})
	}
	t.DownloadAll()
	return nil
}

// webSeedGrant is where an item stands with the server's web seed.
type webSeedGrant struct {
	url     string // as the plan gave it; empty while the plan does not allow the server
	granted int    // how many times the plan has allowed it
}

// grantWebSeed records the plan's web seed for item and says which URL to add, if any. The
// torrent library suspends a web seed for a minute after the server refuses it (which it does
// while the plan withdraws the server), and cannot remove one; so when the plan allows the
// server again, the box adds the URL afresh under a new query string and fetches at once.
func (e *Engine) grantWebSeed(item media.ItemID, url string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.seeds[item]
	if url == "" || url == g.url {
		g.url = url
		e.seeds[item] = g
		return "", false
	}
	g.url = url
	g.granted++
	e.seeds[item] = g
	if g.granted > 1 {
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		url += fmt.Sprintf("%sgrant=%d", sep, g.granted)
	}
	return url, true
}

// Unplanned notes that the plan no longer names item: the server's web seed is withdrawn
// until a later plan allows it again.
func (e *Engine) Unplanned(item media.ItemID) { e.grantWebSeed(item, "") }

func ipPortAddr(ap netip.AddrPort) torrent.PeerRemoteAddr {
	return &net.TCPAddr{IP: ap.Addr().AsSlice(), Port: int(ap.Port())}
}

// Status is what the engine knows of one item.
type Status struct {
	Pieces          int   // verified pieces
	Total           int   // pieces in the torrent
	Complete        bool  // every piece verified
	BytesFromServer int64 // useful bytes from the web seed since the engine started
	BytesFromPeers  int64 // useful bytes from other boxes since the engine started
	// FromPeer is useful bytes per peer address, for telling who served what.
	FromPeer map[string]int64
}

// Status returns an item's progress; ok is false when the engine does not have it.
func (e *Engine) Status(item media.ItemID) (Status, bool) {
	e.mu.Lock()
	t, ok := e.torrents[item]
	e.mu.Unlock()
	if !ok {
		return Status{}, false
	}
	select {
	case <-t.GotInfo():
	default:
		return Status{}, true
	}
	st := t.Stats()
	s := Status{
		Pieces:          st.PiecesComplete,
		Total:           t.NumPieces(),
		Complete:        t.Complete().Bool(),
		BytesFromServer: st.WebSeeds.BytesReadUsefulData.Int64(),
		BytesFromPeers:  st.PeerConns.BytesReadUsefulData.Int64(),
		FromPeer:        map[string]int64{},
	}
	for _, pc := range t.PeerConns() {
		ps := pc.Stats()
		if n := ps.BytesReadUsefulData.Int64(); n > 0 {
			s.FromPeer[pc.RemoteAddr.String()] += n
		}
	}
	return s, true
}

// WaitComplete blocks until item is complete or ctx ends.
func (e *Engine) WaitComplete(ctx context.Context, item media.ItemID) error {
	e.mu.Lock()
	t, ok := e.torrents[item]
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("item %s is not being transferred", item)
	}
	select {
	case <-t.Complete().On():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WriteStatus writes the torrent client's own status report (connections, choking, requests),
// for diagnosing a stalled transfer.
func (e *Engine) WriteStatus(w io.Writer) { e.cl.WriteStatus(w) }

// Stream reads an item's container while it downloads: reads wait for verified pieces, and the
// pieces from the read position onwards are fetched first, in order, so playback can start
// before the download ends.
type Stream struct {
	mu     sync.Mutex
	r      torrent.Reader
	size   int64
	cancel context.CancelFunc
}

// streamReadahead is how far ahead of the play position pieces are fetched urgently.
const streamReadahead = 8 << 20

// Stream opens item, which must have been added (Fetch or Seed), for reading while it downloads.
func (e *Engine) Stream(item media.ItemID) (*Stream, error) {
	e.mu.Lock()
	t := e.torrents[item]
	e.mu.Unlock()
	if t == nil {
		return nil, fmt.Errorf("%s is not being transferred", item)
	}
	<-t.GotInfo()
	ctx, cancel := context.WithCancel(context.Background())
	r := t.NewReader()
	r.SetContext(ctx)
	r.SetReadahead(streamReadahead)
	return &Stream{r: r, size: t.Length(), cancel: cancel}, nil
}

// Size is the container's size in bytes.
func (s *Stream) Size() int64 { return s.size }

// ReadAt reads at off, waiting until the pieces it needs are verified.
func (s *Stream) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.r.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(s.r, p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

// Close ends the stream; reads waiting for pieces return.
func (s *Stream) Close() error {
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Close()
}
