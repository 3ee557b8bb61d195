// Package headend is the head-end's HTTP service: the catalog, box registration, box sync (state
// in, the box's part of the plan out), purchases that return licenses, the BitTorrent tracker
// and the repository's web seed. It wires the store, the key vault, the repository and the
// scheduler together; each keeps its own concern.
package headend

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"swarmbox/cloud/keyvault"
	"swarmbox/cloud/regions"
	"swarmbox/cloud/repository"
	"swarmbox/cloud/sales"
	"swarmbox/cloud/scheduler"
	"swarmbox/cloud/store"
	"swarmbox/cloud/tracker"
	"swarmbox/media"
	"swarmbox/sync/protocol"
	"swarmbox/vocab"
)

// Config wires a Server.
type Config struct {
	Store *store.Store
	Vault *keyvault.Vault
	Repo  *repository.Repository
	// PublicURL is how boxes reach this head-end (scheme://host:port); announce and web seed URLs
	// are built on it.
	PublicURL string
	// SyncInterval is how often an idle box syncs; a box with transfers under way syncs sooner.
	SyncInterval time.Duration
	// RoundInterval is how often the background loop (Start) plans each region from scratch;
	// between rounds a sync re-plans only the syncing box.
	RoundInterval time.Duration
	// PlanPoll is how often the loop renews its planner leases, notices catalog changes and new
	// regions, and loads plans other instances published (default 1 s).
	PlanPoll time.Duration
	// LeaseTTL is how long a region's planner lease lasts unless renewed: how long the regions
	// of an instance that died stay unplanned (default 10 s, at least 3 PlanPoll).
	LeaseTTL time.Duration
	// Instance names this head-end instance as planner lease holder (default host/random).
	Instance     string
	RentalWindow time.Duration // how long a rental plays
	OwnedRenewal time.Duration // how often an owned title's license must be renewed
	// Currency is every price's and balance's currency, ISO 4217 (default
	// vocab.DefaultCurrency); boxes learn it with the account at each sync.
	Currency string
	Now      func() time.Time
	Log      *slog.Logger
	// Policy decides which licenses may be issued (account status, regions, networks).
	Policy sales.Policy
	// Locations says which network and region a box's address is in (SCHED-15, locate.go):
	// what the scheduler's source tiers compare. Nil: the account's region, and the network
	// label the box reports.
	Locations Locator
	// TrustedProxies are the operator's load balancers: only a request from one of these may
	// name its client in X-Forwarded-For (forwarded.go).
	TrustedProxies []netip.Prefix
	// Web, when set, serves everything outside the API (the customers' browser catalog).
	Web http.Handler
	// Plan tunes the scheduler (zero fields take scheduler.DefaultConfig's values), e.g. how
	// many open wishes make a flash crowd (RangeDemand). The head-end always shares the server's
	// copy among a region's receivers and places flash crowds range by range: it carries the
	// ranges to the boxes.
	Plan scheduler.Config
	// Regions, when set, is the operator's region file (swarmbox-cloud serve -regions): each
	// region's off-peak window and the server's rate in it, read again when it changes and
	// turned into the region's slot calendar every round (SCHED-16). Nil: the server sends at
	// any time.
	Regions *regions.File
	// Prober, when set, finds out whether each box can be reached from outside its network
	// (reach.go, NET-2), and the scheduler's who-dials rule uses what it finds; a box's
	// behind_nat report only ever adds "do not dial me". Nil: the box's report alone.
	Prober Prober
}

// Server serves the head-end's HTTP API.
type Server struct {
	cfg Config

	planner  planner
	evidence *evidence // what backs the boxes' holdings (evidence.go)
	reach    reach     // what probes found of boxes' reachability (reach.go)
	metrics  *metrics
	sales    *sales.Seller
	// boxes caches registered boxes for signature checks: a box's keys never change once
	// registered (a second registration with other keys is refused); its account and region
	// change when it is paired or unpaired, so whatever depends on them reads the box afresh
	// (pairing.go: checkPaired, syncedBox).
	boxes sync.Map // media.BoxID → store.Box
	// syncFrom is the address each box last synced from, which its web seed grants are bound
	// to (seedgrant.go).
	syncFrom sync.Map // media.BoxID → netip.Addr
	// itemIndex has the catalog's item sizes that sync reports are checked against.
	itemIndex itemIndex
}

// New makes a Server; zero durations get defaults. Start its planning before serving syncs.
func New(cfg Config) *Server {
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = 30 * time.Second
	}
	if cfg.RentalWindow <= 0 {
		cfg.RentalWindow = 48 * time.Hour
	}
	if cfg.Currency == "" {
		cfg.Currency = vocab.DefaultCurrency
	}
	if cfg.OwnedRenewal <= 0 {
		cfg.OwnedRenewal = 30 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.RoundInterval <= 0 {
		cfg.RoundInterval = time.Minute
	}
	if cfg.PlanPoll <= 0 {
		cfg.PlanPoll = time.Second
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 10 * time.Second
	}
	cfg.LeaseTTL = max(cfg.LeaseTTL, 3*cfg.PlanPoll)
	seller := &sales.Seller{Store: sales.FromStore(cfg.Store), Vault: cfg.Vault, Policy: cfg.Policy,
		RentalWindow: cfg.RentalWindow, OwnedRenewal: cfg.OwnedRenewal, Log: cfg.Log}
	return &Server{cfg: cfg, planner: newPlanner(cfg.Instance), evidence: newEvidence(), metrics: newMetrics(cfg.Store), sales: seller}
}

// CountSignInFailure counts a failed or rate-limited customer sign-in on /metrics.
func (s *Server) CountSignInFailure() { s.metrics.signInFail.Inc() }

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, map[string]bool{"ok": true}) })
	mux.HandleFunc("GET "+protocol.PathKey, s.headendKey)
	mux.HandleFunc("GET "+protocol.PathCatalog, s.catalog)
	mux.HandleFunc("GET "+protocol.PathItems+"{id}", s.item)
	mux.HandleFunc("GET "+protocol.PathItems+"{id}/torrent", s.torrent)
	mux.HandleFunc("POST "+protocol.PathRegister, s.register)
	mux.HandleFunc("POST "+protocol.PathSync, s.sync)
	mux.HandleFunc("POST "+protocol.PathBuy, s.buy)
	mux.HandleFunc("POST "+protocol.PathRenew, s.renew)
	mux.HandleFunc("POST "+protocol.PathPairing, s.pairing)
	mux.HandleFunc("GET "+PathForecast, s.forecast)
	mux.Handle("GET "+protocol.PathAnnounce, &tracker.Tracker{
		Authorize: s.authorizeAnnounce, Peers: s, Interval: s.cfg.SyncInterval, Log: s.cfg.Log,
	})
	mux.HandleFunc("GET "+protocol.PathSeed+"{box}/{token}/{file}", s.seed)
	mux.Handle("GET /metrics", s.metrics.handler())
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	}
	mux.HandleFunc("/v1/", notFound)
	if s.cfg.Web != nil {
		mux.Handle("/", s.cfg.Web)
	} else {
		mux.HandleFunc("/", notFound)
	}
	return recoverer(s.cfg.Log, clientAddrs(s.cfg.TrustedProxies, mux))
}

// recoverer turns a handler panic into a 500 so one bad request never takes the head-end down.
func recoverer(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil && v != http.ErrAbortHandler {
				log.Error("handler panic", "path", r.URL.Path, "panic", v)
				writeError(w, http.StatusInternalServerError, "internal", "internal error")
			}
		}()
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(protocol.Error{Error: msg, Code: code})
}

// readBody reads a request body up to protocol.MaxBody, answering 413 past that.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, protocol.MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", protocol.MaxBody))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "bad_request", "could not read body: "+err.Error())
		return nil, false
	}
	return b, true
}

// decode parses a JSON body strictly.
func decode(w http.ResponseWriter, body []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_json", "malformed JSON: "+err.Error())
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "bad_json", "malformed JSON: trailing data")
		return false
	}
	return true
}

// boxRequest reads and authenticates a signed box request.
func (s *Server) boxRequest(w http.ResponseWriter, r *http.Request) (store.Box, []byte, bool) {
	body, ok := readBody(w, r)
	if !ok {
		return store.Box{}, nil, false
	}
	var b store.Box
	_, err := protocol.Verify(r, body, func(id media.BoxID) (ed25519.PublicKey, error) {
		if v, ok := s.boxes.Load(id); ok {
			b = v.(store.Box)
			return b.SignKey, nil
		}
		var err error
		b, err = s.cfg.Store.Box(r.Context(), id)
		if err == nil {
			s.boxes.Store(id, b)
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, protocol.ErrUnknownBox
		}
		return b.SignKey, err
	}, s.cfg.Now())
	switch {
	case errors.Is(err, protocol.ErrUnsigned), errors.Is(err, protocol.ErrBadSignature), errors.Is(err, protocol.ErrStale), errors.Is(err, protocol.ErrUnknownBox):
		writeError(w, http.StatusUnauthorized, "unauthorized", err.Error())
		return b, nil, false
	case err != nil:
		s.internal(w, r, err)
		return b, nil, false
	}
	protocol.VouchTime(w.Header(), r, b.ID, s.cfg.Now(), s.cfg.Vault.SignStatement) // the box's secure clock (LIC-5)
	return b, body, true
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.cfg.Log.Error("request failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "internal error; the operator has been told")
}

func (s *Server) headendKey(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string][]byte{"key": s.cfg.Vault.PublicKey()})
}

func (s *Server) catalog(w http.ResponseWriter, r *http.Request) {
	c, err := s.cfg.Store.Catalog(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, c)
}

// itemFromPath parses the {id} path value and loads the item, answering 400/404 itself.
func (s *Server) itemFromPath(w http.ResponseWriter, r *http.Request) (store.Item, bool) {
	id, err := media.ParseItemID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_id", err.Error())
		return store.Item{}, false
	}
	return s.loadItem(w, r, id)
}

func (s *Server) loadItem(w http.ResponseWriter, r *http.Request, id media.ItemID) (store.Item, bool) {
	it, err := s.cfg.Store.Item(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown_item", "no item "+id.String()+" in the catalog")
		return it, false
	}
	if err != nil {
		s.internal(w, r, err)
		return it, false
	}
	return it, true
}

func (s *Server) item(w http.ResponseWriter, r *http.Request) {
	if it, ok := s.itemFromPath(w, r); ok {
		writeJSON(w, it.CatalogItem)
	}
}

func (s *Server) torrent(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.boxRequest(w, r); !ok {
		return
	}
	if it, ok := s.itemFromPath(w, r); ok {
		w.Header().Set("Content-Type", "application/x-bittorrent")
		w.Write(it.Torrent)
	}
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req protocol.RegisterRequest
	if !decode(w, body, &req) {
		return
	}
	if len(req.SignKey) != ed25519.PublicKeySize {
		writeError(w, http.StatusBadRequest, "bad_key", "sign_key must be an Ed25519 public key")
		return
	}
	if _, err := ecdh.X25519().NewPublicKey(req.KEMKey); err != nil {
		writeError(w, http.StatusBadRequest, "bad_key", "kem_key must be an X25519 public key")
		return
	}
	if !checkNewBoxKeys(w, req) {
		return
	}
	// Proof of possession: the request is signed with the key it registers.
	id := media.BoxIDFromKey(req.SignKey)
	if _, err := protocol.Verify(r, body, func(claimed media.BoxID) (ed25519.PublicKey, error) {
		if claimed != id {
			return nil, fmt.Errorf("%w: box id does not match sign_key", protocol.ErrBadSignature)
		}
		return req.SignKey, nil
	}, s.cfg.Now()); err != nil {
		writeError(w, http.StatusUnauthorized, "unauthorized", err.Error())
		return
	}
	b, err := s.enroll(r, store.Box{ID: id, SignKey: req.SignKey, KEMKey: req.KEMKey, Registered: s.cfg.Now()}, req.Enroll)
	switch {
	case errors.Is(err, store.ErrEnrollRefused):
		writeError(w, http.StatusForbidden, "enroll_refused", err.Error())
		return
	case errors.Is(err, store.ErrKeyMismatch):
		writeError(w, http.StatusConflict, "key_mismatch", err.Error())
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	resp, err := s.registered(r.Context(), b)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.cfg.Log.Info("box registered", "box", id, "account", b.Account, "region", b.Region, "paired", b.Account != store.Unpaired)
	writeJSON(w, resp)
}

func (s *Server) sync(w http.ResponseWriter, r *http.Request) {
	b, body, ok := s.boxRequest(w, r)
	if !ok {
		return
	}
	var req protocol.SyncRequest
	if !decode(w, body, &req) {
		return
	}
	addr, err := peerAddr(req.PeerAddr, r.RemoteAddr)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_peer_addr", err.Error())
		return
	}
	if err := checkReport(req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_report", err.Error())
		return
	}
	loc := s.locate(r.RemoteAddr, req.Network) // where the box is, from its address (SCHED-15)
	req.Network = loc.Network
	if !s.admitReport(w, r, b, &req) { // bounds, unknown items (reportcheck.go)
		return
	}
	req.BehindNAT = !s.reachable(r.Context(), b.ID, addr, req.BehindNAT) // NET-2
	now := s.cfg.Now()
	s.noteSyncAddr(b.ID, r.RemoteAddr)
	// Only syncs need replay protection: a replayed sync would put back a box's old state,
	// while a replayed buy is answered like a retry (same license, no charge) and must stay
	// possible for a box whose answer was lost. The key lives in the store, so a request
	// replayed to another instance is refused too; it is kept while the request's date is
	// within protocol.MaxSkew of now, plus a minute for instances whose clocks differ.
	key := protocol.ReplayKey(b.ID, r, body) // what was signed, not how the signature is written
	until := now.Add(2 * protocol.MaxSkew)
	if date, err := strconv.ParseInt(r.Header.Get(protocol.HeaderDate), 10, 64); err == nil { // Verify parsed it already
		until = time.Unix(date, 0).Add(protocol.MaxSkew + time.Minute)
	}
	saved, err := s.cfg.Store.RecordSync(r.Context(), store.SyncRecord{
		Box: b.ID, PeerAddr: addr, Req: req, Region: loc.Region, Now: now, Replay: key[:16], ReplayUntil: until,
	})
	if errors.Is(err, store.ErrReplayed) {
		s.metrics.requests.WithLabelValues("replayed").Inc()
		writeError(w, http.StatusUnauthorized, "replayed", "this signed request was already received: sign every request anew")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if b, err = s.syncedBox(r.Context(), b, saved.Account); err != nil {
		s.internal(w, r, err)
		return
	}
	resp := s.unpairedAnswer(saved)
	if saved.Account != store.Unpaired {
		if resp, err = s.answer(b, addr, req, saved, now); err != nil {
			s.internal(w, r, err)
			return
		}
		resp.Account = &protocol.AccountInfo{Status: saved.AccountStatus, BalanceCents: saved.BalanceCents, ID: saved.Account,
			Currency: s.cfg.Currency, RentalSeconds: int64(s.cfg.RentalWindow / time.Second)}
	}
	resp.WishlistVersion = saved.WishlistVersion
	if saved.Adopt {
		resp.Wishlist = saved.Wishlist
	}
	s.metrics.syncs.Inc()
	writeJSON(w, resp)
}

func (s *Server) announceURL(box media.BoxID) string {
	q := url.Values{"box": {box.String()}, "token": {s.cfg.Vault.Token("announce", box.String())}}
	return s.cfg.PublicURL + protocol.PathAnnounce + "?" + q.Encode()
}

func (s *Server) authorizeAnnounce(q url.Values) (media.BoxID, error) {
	box, err := media.ParseBoxID(q.Get("box"))
	if err != nil || !s.cfg.Vault.CheckToken(q.Get("token"), "announce", box.String()) {
		return media.BoxID{}, errors.New("announce URL is not valid for any box: sync again for a fresh one")
	}
	return box, nil
}

// withinPieces says whether bytes [begin, end) of a container of size bytes in n pieces lie in
// one of the piece ranges.
func withinPieces(begin, end, size int64, n int, ranges []scheduler.PieceRange) bool {
	pl := repository.PieceLength(size)
	if n <= 0 || (size+pl-1)/pl != int64(n) {
		return false // not a layout this repository made: refuse rather than guess
	}
	for _, r := range ranges {
		if begin >= int64(r.Begin)*pl && end <= min(int64(r.End)*pl, size) {
			return true
		}
	}
	return false
}

func (s *Server) seedURL(box media.BoxID, item media.ItemID) string {
	return fmt.Sprintf("%s%s%s/%s/%s%s", s.cfg.PublicURL, protocol.PathSeed, box, s.seedToken(box, item, s.cfg.Now()), item, repository.Ext)
}

// seed is the web seed: it serves a container only to a box whose current plan lets the server
// send it that item, and counts the bytes.
func (s *Server) seed(w http.ResponseWriter, r *http.Request) {
	box, err := media.ParseBoxID(r.PathValue("box"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_id", err.Error())
		return
	}
	item, err := media.ParseItemID(strings.TrimSuffix(r.PathValue("file"), repository.Ext))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_id", err.Error())
		return
	}
	if err := s.checkSeedGrant(r.PathValue("token"), box, item, r.RemoteAddr, s.cfg.Now()); err != nil {
		writeError(w, http.StatusUnauthorized, "unauthorized", err.Error())
		return
	}
	it, ok := s.loadItem(w, r, item)
	if !ok {
		return
	}
	pieces, allowed := s.serverAllowed(box, item, s.cfg.Now())
	if !allowed {
		writeError(w, http.StatusForbidden, "not_planned", "the plan does not let the server send this item to this box; fetch it from the named peers")
		return
	}
	if len(pieces) > 0 {
		// The box's share of the region's one server copy: bytes of other pieces come from the
		// boxes that share it.
		begin, end, err := repository.ParseByteRange(r.Header.Get("Range"), it.SealedSize)
		if err != nil || !withinPieces(begin, end, it.SealedSize, it.Pieces, pieces) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", it.SealedSize))
			writeError(w, http.StatusRequestedRangeNotSatisfiable, "outside_share",
				fmt.Sprintf("the plan lets the server send only pieces %v of this item to this box (one byte range per request); fetch the rest from the named peers", pieces))
			return
		}
		pinServedRange(r, begin, end) // serve exactly the range checked, whatever If-Range says
	}
	s.cfg.Repo.ServeContainer(w, r, item, func(n int64) {
		s.metrics.egress.Add(float64(n))
		s.evidence.addServed(box, item, n)
		if err := s.cfg.Store.AddServed(context.WithoutCancel(r.Context()), box, item, n); err != nil {
			s.cfg.Log.Error("count web seed bytes", "err", err)
		}
	})
}
