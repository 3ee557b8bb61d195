// Package transfer is the box's BitTorrent engine (github.com/anacrolix/torrent) set up for
// private swarms: no DHT, no PEX, no port forwarding, no tracker but the head-end's, peers only
// as the plan names them, and the operator's web seed only where the plan allows it. Every piece
// is verified against the torrent's hashes before it counts; a peer whose data fails
// verification is banned.
package transfer

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	pp "github.com/anacrolix/torrent/peer_protocol"
	tstorage "github.com/anacrolix/torrent/storage"
	"golang.org/x/time/rate"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// Config sets up an Engine.
type Config struct {
	MediaDir   string // where containers are written, named by the torrent's name
	PreloadDir string // where factory preloads are read from (SeedPreloaded); "" = none
	ListenAddr string // host:port for BitTorrent; port 0 picks one
	Completion tstorage.PieceCompletion
	// Caps on the box's BitTorrent traffic in bytes per second; 0 = no cap. SetCaps changes them.
	UploadBytesPerSecond, DownloadBytesPerSecond int64
	Log                                          *slog.Logger
	// LoopbackPeers says the boxes share one machine's loopback (tests, demos), where every
	// dial comes from 127.0.0.1: that address then counts as any named loopback source.
	LoopbackPeers bool
	// SignKey, when set, is the box's signing key: its peer token (PeerToken) goes in every
	// extended handshake, so peers that admit boxes by key (SetPeerBoxes) admit this one.
	SignKey ed25519.PrivateKey
	// wrapFile, when set, stands between the store and each container file (unit tests).
	wrapFile func(*os.File) containerFile
}

// Engine runs the box's torrents.
type Engine struct {
	cl      *torrent.Client
	log     *slog.Logger
	allow   *Allowlist
	auth    *peerAuth // who may fetch or be fetched from, by key (peerauth.go)
	up      *rate.Limiter
	down    *rate.Limiter
	preload tstorage.ClientImpl // nil without a preload folder

	mu       sync.Mutex
	torrents map[media.ItemID]*torrent.Torrent
	seeds    map[media.ItemID]webSeedGrant       // the server's web seed, per item
	rates    map[rateKey]*meter                  // what each peer (box, else address) delivered
	dial     map[media.ItemID][]torrent.PeerInfo // peers to keep dialling while incomplete
	serveTo  map[media.ItemID][]torrent.PeerInfo // receivers to keep dialling to serve them (redial.go)
	stop     chan struct{}
	// wanted holds the range of a range placement (Fetch.Range) per item, unclipped; an item
	// without an entry is wanted whole. See wantedRange.
	wanted map[media.ItemID]protocol.PieceRange
	// Chunk requests outstanding per peer, and the most ever outstanding with one peer.
	requested    map[*torrent.Peer]int
	maxRequested int
	// Whom the box downloads from (see filterHaves): the peers the plan names per item, the LAN
	// neighbours for every item, and per connection the standing its haves were judged under.
	named  map[metainfo.Hash]map[netip.Addr][]protocol.PieceRange // nil ranges: any piece
	lan    map[netip.Addr]bool
	judged map[*torrent.PeerConn]string // the standing each peer's haves were judged under (standing)
	bad    *badPeers                    // pieces failing verification per peer address
	// loopback: Config.LoopbackPeers
	loopback bool
	// Server fetchers of ranged grants (serverfetch.go), what they delivered and how many of
	// their pieces failed verification, per item. ctl serialises starting and stopping them;
	// prio orders piece-priority changes. Neither is ever taken under e.mu.
	fetchers   map[media.ItemID]*serverFetch
	fromServer map[media.ItemID]int64
	serverBad  map[media.ItemID]int64
	ctl, prio  sync.Mutex
	wg         sync.WaitGroup // the fetchers' goroutines
	closed     bool           // Close was called: no fetcher starts
	http       *http.Client   // the fetchers' client
	// rec records verified pieces with the bytes that brought them; paused holds the items
	// whose download waits for a full disk to take records again (record.go); kick wakes the
	// retry loop.
	rec     *recorder
	paused  map[media.ItemID]bool
	stalled map[media.ItemID]error // items whose last chunk write failed (ENOSPC); retried
	kick    chan struct{}
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
	// Web seed fetches leave from the box's own IP, as its syncs do (source.go).
	tc.WebTransport = SourceTransport(cfg.ListenAddr)
	// Private swarms only: nothing that finds or exposes peers behind the head-end's back.
	tc.NoDHT = true
	tc.DisablePEX = true
	tc.NoDefaultPortForwarding = true
	tc.DisableWebtorrent = true
	tc.DisableUTP = true // TCP only: shaped and firewalled like the rest of the box's traffic
	tc.DisableIPv6 = true
	// Peers move only sealed containers and the swarm is private: the stream cipher of header
	// obfuscation (MSE, RC4 over every byte) would only cost a set-top box's CPU. Plain handshakes
	// out; obfuscated ones from older boxes are still accepted.
	tc.HeaderObfuscationPolicy = torrent.HeaderObfuscationPolicy{Preferred: false, RequirePreferred: false}
	tc.Seed = true
	// anacrolix/torrent v1.59.1 serves peer requests from one goroutine that waits on a FIFO
	// allocation limiter in map order: with more requests queued than the limit covers, it can
	// wait on a late request while the granted ones are never read, and uploads stall for good.
	// Room for the whole request queue (1024 chunks of 16 KiB) means no request ever waits.
	tc.MaxAllocPeerRequestDataPerConn = 1024 * 16 << 10
	// That room is not memory held: a serving box reads a chunk when it is requested and keeps it
	// until it is sent, so what it holds per connection is what the peer keeps requested. The
	// library lets a downloader keep up to ~960 chunks (15 MiB) requested from each peer, which
	// a 5 Mbit/s uplink drains in 25 s and which made a box serving 7 peers 200 MiB large. Every
	// box asks each peer for at most maxRequestsPerPeer chunks instead (a second of a 50 Mbit/s
	// LAN link, far more than the round trip needs), so a box serving k peers holds about
	// k × 1 MiB of chunks.
	auth := newPeerAuth(cfg.Log)
	if cfg.SignKey != nil {
		tc.ExtendedHandshakeClientVersion = PeerToken(cfg.SignKey)
	}
	tc.Callbacks.ReadExtendedHandshake = func(pc *torrent.PeerConn, m *pp.ExtendedHandshakeMessage) {
		capPeerRequests(pc, m)
		auth.readExtendedHandshake(pc, m)
	}
	tc.Callbacks.PeerConnAdded = append(tc.Callbacks.PeerConnAdded, func(pc *torrent.PeerConn) {
		pc.PeerMaxRequests = min(pc.PeerMaxRequests, maxRequestsPerPeer)
	})
	// Boxes fetch from the few peers the plan names and serve the few it sends: a bound on
	// connections per item bounds the chunks held for them.
	tc.EstablishedConnsPerTorrent = maxConnsPerItem
	// The library walks the wanted pieces rarest first and stops once it has passed 64 MiB of
	// them (MaxUnverifiedBytes), counting pieces no connected peer has: with more than that
	// wanted and without a source yet (other LANs' shares of a server copy, which other boxes
	// bring in), a box never asks the peers it has for what they hold. What is in flight is
	// bounded by the requests per peer and the connections per item instead.
	tc.MaxUnverifiedBytes = 0
	// Only peers the plan named or the LAN announced may connect or be dialled (BEP 27 private
	// swarms trust the tracker; this box trusts nobody else either).
	allow := NewAllowlist()
	allow.SetOpen(true)
	tc.IPBlocklist = allow
	up, down := limiter(cfg.UploadBytesPerSecond), limiter(cfg.DownloadBytesPerSecond)
	tc.UploadRateLimiter, tc.DownloadRateLimiter = up, down
	tc.ListenHost = func(string) string { return host }
	tc.ListenPort = port
	tc.Slogger = cfg.Log.With("part", "torrent")
	if cfg.Completion == nil {
		return nil, errors.New("the transfer engine needs a piece-completion store")
	}
	rec := newRecorder(cfg.Completion)
	tc.DefaultStorage = fileStore{dir: cfg.MediaDir, rec: rec, open: cfg.wrapFile}
	e := &Engine{log: cfg.Log, loopback: cfg.LoopbackPeers, allow: allow, auth: auth, up: up, down: down,
		torrents: map[media.ItemID]*torrent.Torrent{}, seeds: map[media.ItemID]webSeedGrant{}, rates: map[rateKey]*meter{},
		dial: map[media.ItemID][]torrent.PeerInfo{}, wanted: map[media.ItemID]protocol.PieceRange{}, stop: make(chan struct{}), requested: map[*torrent.Peer]int{},
		named: map[metainfo.Hash]map[netip.Addr][]protocol.PieceRange{}, lan: map[netip.Addr]bool{}, judged: map[*torrent.PeerConn]string{}, bad: newBadPeers(),
		fetchers: map[media.ItemID]*serverFetch{}, fromServer: map[media.ItemID]int64{}, serverBad: map[media.ItemID]int64{},
		http: &http.Client{Transport: SourceTransport(cfg.ListenAddr)},
		rec:  rec, paused: map[media.ItemID]bool{}, stalled: map[media.ItemID]error{}, kick: make(chan struct{}, 1)}
	rec.failed = e.unrecordedPiece
	tc.Callbacks.ReceivedUsefulData = append(tc.Callbacks.ReceivedUsefulData, e.received)
	tc.Callbacks.SentRequest = append(tc.Callbacks.SentRequest, func(ev torrent.PeerRequestEvent) { e.countRequest(ev.Peer, 1) })
	tc.Callbacks.DeletedRequest = append(tc.Callbacks.DeletedRequest, func(ev torrent.PeerRequestEvent) { e.countRequest(ev.Peer, -1) })
	tc.Callbacks.PeerClosed = append(tc.Callbacks.PeerClosed, func(p *torrent.Peer) { e.countRequest(p, 0) })
	tc.Callbacks.ReadMessage = func(pc *torrent.PeerConn, m *pp.Message) {
		auth.readMessage(pc, m)
		e.filterHaves(pc, m)
	}
	tc.Callbacks.PeerConnClosed = func(pc *torrent.PeerConn) {
		auth.closed(pc)
		e.mu.Lock()
		delete(e.judged, pc)
		e.mu.Unlock()
		go e.bad.connClosed(pc) // its stats take the client's lock, held here
	}
	if e.cl, err = torrent.NewClient(tc); err != nil {
		return nil, fmt.Errorf("start BitTorrent on %s: %w", cfg.ListenAddr, err)
	}
	if cfg.PreloadDir != "" {
		e.preload = fileStore{dir: cfg.PreloadDir, rec: rec, open: cfg.wrapFile}
	}
	go e.redial()
	go e.recordAgain()
	return e, nil
}

// maxRequestsPerPeer is how many chunk requests this box keeps outstanding with one peer.
const maxRequestsPerPeer = 64

// maxConnsPerItem bounds the peer connections of one item (the library's default is 50).
const maxConnsPerItem = 16

// capPeerRequests lowers the request queue a peer offers in its extended handshake (reqq, which
// the library takes as how many requests to keep outstanding with it) to maxRequestsPerPeer.
func capPeerRequests(_ *torrent.PeerConn, m *pp.ExtendedHandshakeMessage) {
	if m.Reqq <= 0 || m.Reqq > maxRequestsPerPeer {
		m.Reqq = maxRequestsPerPeer
	}
}

// countRequest follows the chunk requests outstanding with peer (delta 0: the peer is gone).
func (e *Engine) countRequest(peer *torrent.Peer, delta int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if delta == 0 {
		delete(e.requested, peer)
		return
	}
	n := max(e.requested[peer]+delta, 0)
	e.requested[peer] = n
	e.maxRequested = max(e.maxRequested, n)
}

// MaxRequestsOutstanding is the most chunk requests this box has had outstanding with one peer
// since it started: at most maxRequestsPerPeer, which bounds what a serving box holds for it.
func (e *Engine) MaxRequestsOutstanding() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.maxRequested
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

// Close stops every torrent, server fetcher and the listener.
func (e *Engine) Close() error {
	select {
	case <-e.stop:
	default:
		close(e.stop)
	}
	e.mu.Lock()
	e.closed = true
	for _, sf := range e.fetchers {
		sf.cancel()
	}
	e.mu.Unlock()
	e.wg.Wait()
	e.http.CloseIdleConnections()
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

// add makes sure the torrent of item is in the client, its data in the media folder or, with
// fromPreload, in the preload folder.
func (e *Engine) add(item media.ItemID, torrentBytes []byte, fromPreload bool) (*torrent.Torrent, error) {
	// e.mu is not held while the library adds the torrent: AddTorrentSpec takes the client's
	// lock, and the library's callbacks (a connection closing, bytes received) take e.mu with
	// the client's lock held; holding both in the other order deadlocked a box that added an
	// item while a peer connection closed.
	e.mu.Lock()
	t, ok := e.torrents[item]
	e.mu.Unlock()
	if ok {
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
	if fromPreload {
		if e.preload == nil {
			return nil, fmt.Errorf("item %s is a preload but the engine has no preload folder", item)
		}
		spec.Storage = e.preload
	}
	t, _, err = e.cl.AddTorrentSpec(spec)
	if err != nil {
		return nil, err
	}
	t.SetOnWriteChunkError(func(err error) { e.writeFailed(t, err) })
	e.mu.Lock()
	defer e.mu.Unlock()
	if old, ok := e.torrents[item]; ok {
		return old, nil // added meanwhile (the library returns the same torrent for the same hash)
	}
	e.torrents[item] = t
	return t, nil
}

// Seed serves an item the box holds.
func (e *Engine) Seed(item media.ItemID, torrentBytes []byte) error {
	_, err := e.add(item, torrentBytes, false)
	return err
}

// SeedPreloaded serves an item the factory wrote into the preload folder.
func (e *Engine) SeedPreloaded(item media.ItemID, torrentBytes []byte) error {
	_, err := e.add(item, torrentBytes, true)
	return err
}

// Drop stops serving and fetching item (before its files are deleted).
func (e *Engine) Drop(item media.ItemID) {
	e.stopServer(item)
	e.mu.Lock()
	t, ok := e.torrents[item]
	delete(e.torrents, item)
	delete(e.seeds, item)
	delete(e.dial, item)
	delete(e.wanted, item)
	delete(e.fromServer, item)
	delete(e.serverBad, item)
	delete(e.paused, item)
	delete(e.stalled, item)
	e.mu.Unlock()
	if ok {
		t.Drop()
		e.rec.forgetTorrent(t.InfoHash())
	}
}

// StrictPeers makes the engine refuse every peer not allowed with Allow (true), or accept incoming
// connections from anyone (false, the start: see Allowlist.SetOpen).
func (e *Engine) StrictPeers(strict bool) { e.allow.SetOpen(!strict) }

// Allow lets the box exchange data with addr (a peer the plan named or the LAN announced); a
// LAN neighbour ("lan") is also a source of every item.
func (e *Engine) Allow(addr netip.Addr, why string) {
	e.allow.Add(addr, why)
	if why == "lan" {
		e.mu.Lock()
		e.lan[addr.Unmap()] = true
		e.mu.Unlock()
	}
}

// mayFetchFrom says whether the box downloads item ih from ip, and which pieces (nil: any): a
// LAN neighbour, any piece; a peer the plan names for it, the pieces the plan names (Peer.Pieces,
// e.g. another LAN's share of the server's copy, which one box brings into its LAN). e.mu must
// be held.
func (e *Engine) mayFetchFrom(ih metainfo.Hash, ip netip.Addr) (bool, []protocol.PieceRange) {
	if e.lan[ip] {
		return true, nil
	}
	if ranges, ok := e.named[ih][ip]; ok {
		return true, ranges
	}
	// Boxes on one machine's loopback (tests, demos) dial from 127.0.0.1 whatever address they
	// listen on: with a loopback source named, that address is the source's too.
	if e.loopback && ip == netip.AddrFrom4([4]byte{127, 0, 0, 1}) {
		for a := range e.named[ih] {
			if a.IsLoopback() {
				return true, nil
			}
		}
	}
	return false, nil
}

// restand closes t's connections whose peers' haves were judged under another plan: hidden
// though now a source, shown though no longer one, or shown for other pieces. Either side dials
// again as its plan says.
func (e *Engine) restand(t *torrent.Torrent) {
	for _, pc := range t.PeerConns() {
		ap, err := netip.ParseAddrPort(pc.RemoteAddr.String())
		if err != nil {
			continue
		}
		e.mu.Lock()
		judged, ok := e.judged[pc]
		stale := ok && judged != standing(e.mayFetchFrom(t.InfoHash(), ap.Addr().Unmap()))
		e.mu.Unlock()
		if stale {
			pc.Close()
		}
	}
}

// SetCaps changes the upload and download caps (bytes per second, 0 = none).
func (e *Engine) SetCaps(up, down int64) {
	setLimit(e.up, up)
	setLimit(e.down, down)
}

// Fetch starts or updates the download of an item as planned: the head-end's tracker, the named
// peers (allowed, and dialled unless the plan says they dial us), extra peers (LAN neighbours,
// allowed and dialled), and the web seed if the plan allows the server: for any piece through
// the torrent client's web seed, or, with WebSeedPieces, for those pieces only through the
// engine's own server fetcher (see serverfetch.go). A call with extra peers is the LAN's, not
// the plan's, and leaves the named peers and the server grant as they were. A peer named with
// PiecesOnly is asked for its Pieces only (see filterHaves); other Pieces are the planner's
// booking, and the client asks every source for whatever it lacks. Every call, the LAN's too,
// sets the pieces wanted: f.Range (a range placement) or, when nil, the whole item; the box
// still serves whatever pieces it has.
func (e *Engine) Fetch(item media.ItemID, torrentBytes []byte, f protocol.Fetch, extra ...netip.AddrPort) error {
	t, err := e.add(item, torrentBytes, false)
	if err != nil {
		return err
	}
	e.mu.Lock()
	if f.Range != nil {
		e.wanted[item] = *f.Range
	} else {
		delete(e.wanted, item)
	}
	e.mu.Unlock()
	if f.Range != nil && t.Info() != nil && clipRange(*f.Range, t.NumPieces()).Empty() {
		e.log.Warn("range placement has no piece in the torrent; nothing fetched",
			"item", item, "range", *f.Range, "pieces", t.NumPieces())
	}
	if f.Announce != "" {
		t.AddTrackers([][]string{{f.Announce}})
	}
	// A plan that sets Dial on any peer says who dials; a plan that sets it on none predates
	// the field, and this box dials them all.
	anyDial := slices.ContainsFunc(f.Peers, func(p protocol.Peer) bool { return p.Dial })
	var peers []torrent.PeerInfo
	named := map[netip.Addr][]protocol.PieceRange{}
	for _, p := range f.Peers {
		ap, err := netip.ParseAddrPort(p.Addr)
		if err != nil {
			e.log.Warn("plan names a peer with a bad address; skipped", "item", item, "addr", p.Addr, "err", err)
			continue
		}
		e.allow.Add(ap.Addr(), "plan")
		a := ap.Addr().Unmap()
		old, seen := named[a]
		switch {
		case len(p.Pieces) == 0 || !p.PiecesOnly || (seen && old == nil):
			named[a] = nil // any piece
		default:
			named[a] = append(old, p.Pieces...)
		}
		if p.Dial || !anyDial {
			peers = append(peers, torrent.PeerInfo{Addr: ipPortAddr(ap), Source: torrent.PeerSourceTracker})
		}
	}
	for _, ap := range extra {
		e.Allow(ap.Addr(), "lan")
		peers = append(peers, torrent.PeerInfo{Addr: ipPortAddr(ap), Source: torrent.PeerSourceDirect})
	}
	if len(extra) == 0 { // the plan's call, not the LAN's: its peers are the item's sources now
		e.mu.Lock()
		e.named[t.InfoHash()] = named
		e.mu.Unlock()
	}
	select {
	case <-t.GotInfo():
		e.restand(t)
	default:
	}
	t.AddPeers(peers)
	if len(peers) > 0 {
		e.mu.Lock()
		e.dial[item] = peers
		e.mu.Unlock()
	}
	if len(extra) == 0 {
		if f.WebSeed != "" && len(f.WebSeedPieces) > 0 {
			// The library's web seed counts as withdrawn under a ranged grant, so that a later
			// unranged one adds it afresh (it may have been suspended by refusals meanwhile).
			e.grantWebSeed(item, "")
			if ranges := normalizeRanges(f.WebSeedPieces, t.NumPieces()); len(ranges) > 0 {
				e.serveRanges(item, t, f.WebSeed, ranges)
			} else {
				e.stopServer(item) // no granted piece is in this torrent: nothing from the server
			}
		} else {
			e.stopServer(item)
			if url, ok := e.grantWebSeed(item, f.WebSeed); ok {
				t.AddWebSeeds([]string{url})
			}
		}
	} else {
		e.resumeServer(item, t) // the grant stands, but this call may have widened the range
	}
	e.setPriorities(item, t)
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
// until a later plan allows it again, and a server fetcher stops, its pieces left to peers.
func (e *Engine) Unplanned(item media.ItemID) {
	e.grantWebSeed(item, "")
	if e.stopServer(item) {
		e.mu.Lock()
		t := e.torrents[item]
		e.mu.Unlock()
		if t != nil {
			e.setPriorities(item, t)
		}
	}
}

func ipPortAddr(ap netip.AddrPort) torrent.PeerRemoteAddr {
	return &net.TCPAddr{IP: ap.Addr().AsSlice(), Port: int(ap.Port())}
}

// wantsMore says t (item's torrent, its info known) lacks a piece the box fetches: a range
// placement whose range is complete wants nothing more, though the item is not complete.
func (e *Engine) wantsMore(item media.ItemID, t *torrent.Torrent) bool {
	e.mu.Lock()
	want := e.wantedRange(item, t.NumPieces())
	e.mu.Unlock()
	for i := want.Begin; i < want.End; i++ {
		if !t.PieceState(i).Complete {
			return true
		}
	}
	return false
}

// wantedRange is the range of item's pieces the box fetches, of n in all: a range placement's,
// clipped to the torrent, or the whole item. e.mu must be held.
func (e *Engine) wantedRange(item media.ItemID, n int) protocol.PieceRange {
	if r, ok := e.wanted[item]; ok {
		return clipRange(r, n)
	}
	return protocol.PieceRange{Begin: 0, End: n}
}

// clipRange clips r to [0, n); the result is empty when r has no piece there.
func clipRange(r protocol.PieceRange, n int) protocol.PieceRange {
	r.Begin, r.End = max(r.Begin, 0), min(r.End, n)
	r.End = max(r.End, r.Begin)
	return r
}

// Status is what the engine knows of one item.
type Status struct {
	Pieces          int   // verified pieces
	Total           int   // pieces in the torrent
	Complete        bool  // every piece verified
	BytesFromServer int64 // useful bytes from the server (web seed or ranged fetcher) since the engine started
	BytesFromPeers  int64 // useful bytes from other boxes since the engine started
	// FromPeer is useful bytes per peer address, for telling who served what.
	FromPeer map[string]int64
	// HashFailures counts pieces that failed verification (their data is fetched again; a peer
	// that sent them is banned, a server is retried later).
	HashFailures int64
	// BadFromPeer counts, per peer address, the pieces that failed verification it had a part in.
	BadFromPeer map[netip.Addr]int64
	// Unrecorded counts pieces that verified but could not be recorded (a full disk); they do
	// not count in Pieces, and the download is paused until they are recorded. RecordErr says
	// why.
	Unrecorded int
	RecordErr  error
	// WriteErr is why the last write of a received chunk failed (a full disk), while the
	// download waits to try again; nil when writes work.
	WriteErr error
}

// Status returns an item's progress; ok is false when the engine does not have it.
func (e *Engine) Status(item media.ItemID) (Status, bool) {
	e.mu.Lock()
	t, ok := e.torrents[item]
	fromServer, serverBad, writeErr := e.fromServer[item], e.serverBad[item], e.stalled[item]
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
		Pieces:          st.PiecesComplete - e.rec.shownComplete(t),
		Total:           t.NumPieces(),
		Complete:        t.Complete().Bool() && e.rec.shownComplete(t) == 0,
		BytesFromServer: st.WebSeeds.BytesReadUsefulData.Int64() + fromServer,
		BytesFromPeers:  st.PeerConns.BytesReadUsefulData.Int64(),
		FromPeer:        map[string]int64{},
	}
	s.HashFailures = st.PiecesDirtiedBad.Int64() + serverBad
	s.BadFromPeer = e.bad.of(t)
	s.Unrecorded, s.RecordErr = e.rec.unrecorded(t.InfoHash())
	s.WriteErr = writeErr
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
