// Package loadgen measures how many box syncs a head-end answers per second, and how long the
// slowest of them take: simulated boxes, each with its own key, register and then sync in a
// closed loop over HTTP on loopback, against a head-end started in this process (on SQLite or
// PostgreSQL) or one already running. A share of the boxes own a title and renew its licence
// instead of syncing (POST /v1/renew, each a new licence), so renewal load is in the figures.
package loadgen

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"swarmbox/cloud/headend"
	"swarmbox/cloud/keyvault"
	"swarmbox/cloud/repository"
	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// Options says what to run.
type Options struct {
	Boxes       int           // simulated boxes
	Duration    time.Duration // how long to measure, after every box registered
	Concurrency int           // syncs in flight at once (default min(Boxes, 64))
	Titles      int           // titles ingested in process (default 8)
	// URL of a running head-end; empty starts one in this process on Database (a SQLite path,
	// empty = a temporary file, or a postgres:// URL).
	URL     string
	Account string // account the boxes are paired to (created in process)
	// Enroll is an enrollment token pairing Boxes boxes ('swarmbox-cloud account enroll
	// -boxes N'), needed with URL; in process one is made for Account.
	Enroll   string
	Database string
	// RenewShare is the share of boxes (0..1) that buy one owned title at registration and then
	// renew its licence on every turn instead of syncing. With URL, the account must be able to
	// pay for those purchases.
	RenewShare float64
}

// Result is what loadgen prints.
type Result struct {
	SyncsPerSecond float64 `json:"syncs_per_second"`
	P50ms          float64 `json:"p50_ms"`
	P99ms          float64 `json:"p99_ms"`
	Store          string  `json:"store"`
	Boxes          int     `json:"boxes"`
	Concurrency    int     `json:"concurrency"`
	Syncs          int     `json:"syncs"`
	Errors         int     `json:"errors"`
	Seconds        float64 `json:"seconds"`
	// Renewals of owned licences, by the RenewShare of boxes, in the same run.
	RenewingBoxes     int     `json:"renewing_boxes"`
	Renewals          int     `json:"renewals"`
	RenewalsPerSecond float64 `json:"renewals_per_second"`
	RenewalP99ms      float64 `json:"renewal_p99_ms"`
}

// Run registers the boxes, lets them sync for the duration and reports.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Boxes <= 0 || o.Duration <= 0 {
		return Result{}, errors.New("loadgen needs -boxes > 0 and -duration > 0")
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	// Each box belongs to one worker, so a box never has two syncs in flight (as a real box
	// does not): more workers than boxes would idle.
	o.Concurrency = min(o.Concurrency, o.Boxes)
	if o.Titles <= 0 {
		o.Titles = 8
	}
	if o.Account == "" {
		o.Account = "loadgen"
	}
	if o.RenewShare < 0 || o.RenewShare > 1 {
		return Result{}, fmt.Errorf("renew share %v: give a share of the boxes between 0 and 1", o.RenewShare)
	}
	res := Result{Boxes: o.Boxes, Concurrency: o.Concurrency, Store: "remote"}
	var items []media.ItemID
	if o.URL == "" {
		h, err := startHeadend(ctx, &o)
		if err != nil {
			return res, err
		}
		defer h.close()
		res.Store, items = h.engine, h.items
	} else {
		_, anyKey, _ := ed25519.GenerateKey(rand.Reader) // the catalog needs no signature
		c, _, err := cloudclient.New(o.URL, anyKey).Catalog(ctx)
		if err != nil {
			return res, fmt.Errorf("catalog of %s: %w", o.URL, err)
		}
		for _, it := range c.Items {
			items = append(items, it.ID)
		}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: o.Concurrency}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	boxes := make([]*box, o.Boxes)
	if err := parallel(ctx, o.Concurrency, o.Boxes, func(i int) error {
		b, err := newBox(ctx, o.URL, o.Enroll, hc, items, uint64(i))
		boxes[i] = b
		if err == nil && float64(i) < o.RenewShare*float64(o.Boxes) {
			err = b.own(ctx)
		}
		return err
	}); err != nil {
		return res, fmt.Errorf("register boxes: %w", err)
	}
	for _, b := range boxes {
		if b.owned != (media.ItemID{}) {
			res.RenewingBoxes++
		}
	}
	var mu sync.Mutex
	var lat, renewLat []time.Duration
	errs := 0
	var firstErr error
	stop := time.Now().Add(o.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine, renewed []time.Duration
			bad := 0
			var werr error
			for i := w; time.Now().Before(stop) && ctx.Err() == nil; i += o.Concurrency {
				if i >= len(boxes) {
					i = w // back to this worker's first box: i ≡ w (mod Concurrency) always
				}
				b := boxes[i]
				t0 := time.Now()
				if b.owned != (media.ItemID{}) {
					if err := b.renew(ctx); err != nil {
						bad++
						werr = err
						continue
					}
					renewed = append(renewed, time.Since(t0))
					continue
				}
				if err := b.sync(ctx); err != nil {
					bad++
					werr = err
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			renewLat = append(renewLat, renewed...)
			errs += bad
			if firstErr == nil {
				firstErr = werr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Syncs, res.Errors, res.Renewals = len(lat), errs, len(renewLat)
	if len(lat) == 0 && len(renewLat) == 0 {
		return res, fmt.Errorf("no sync succeeded: %v", firstErr)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		res.SyncsPerSecond = round(float64(len(lat)) / res.Seconds)
		res.P50ms = round(ms(lat[len(lat)/2]))
		res.P99ms = round(ms(p99(lat)))
	}
	if len(renewLat) > 0 {
		slices.Sort(renewLat)
		res.RenewalsPerSecond = round(float64(len(renewLat)) / res.Seconds)
		res.RenewalP99ms = round(ms(p99(renewLat)))
	}
	if errs > 0 {
		slog.Warn("some syncs failed", "failed", errs, "example", firstErr)
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// p99 is the 99th percentile of sorted latencies.
func p99(lat []time.Duration) time.Duration {
	return lat[min(len(lat)-1, int(math.Ceil(float64(len(lat))*0.99))-1)]
}
func round(f float64) float64 { return math.Round(f*100) / 100 }

// parallel runs f(0..n-1) on up to k goroutines and returns the first error.
func parallel(ctx context.Context, k, n int, f func(int) error) error {
	next := make(chan int)
	errc := make(chan error, k)
	var wg sync.WaitGroup
	for range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := range n {
		select {
		case next <- i:
		case err = <-errc:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	return err
}

// box is one simulated box: a real key pair and a wishlist over the catalog.
type box struct {
	c     *cloudclient.Client
	wish  []media.ItemID
	n     int64
	wishV int64
	items []media.ItemID
	owned media.ItemID // the title it renews; zero for a box that only syncs
}

func newBox(ctx context.Context, url, enroll string, hc *http.Client, items []media.ItemID, seed uint64) (*box, error) {
	_, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	kem, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	c := cloudclient.New(url, sk)
	c.HTTP = hc
	if _, err := c.Register(ctx, enroll, kem.PublicKey().Bytes()); err != nil {
		return nil, err
	}
	r := mrand.New(mrand.NewPCG(seed, 7))
	b := &box{c: c, items: items}
	for _, it := range items {
		if r.IntN(3) == 0 {
			b.wish = append(b.wish, it)
		}
	}
	return b, nil
}

func (b *box) sync(ctx context.Context) error {
	b.n++ // free space changes with every report, so no two requests are the same
	resp, err := b.c.Sync(ctx, protocol.SyncRequest{
		PeerAddr: "127.0.0.1:6881", Wishlist: b.wish, FreeBytes: 1<<40 - b.n, WishlistVersion: b.wishV,
		Holdings: []protocol.Holding{}, Transfers: []protocol.TransferReport{},
	})
	if err == nil && resp.WishlistVersion > b.wishV {
		b.wish, b.wishV = resp.Wishlist, resp.WishlistVersion
	}
	return err
}

// own buys one title to own, to renew it from then on.
func (b *box) own(ctx context.Context) error {
	if len(b.items) == 0 {
		return errors.New("no titles to own: renewing boxes need a catalog")
	}
	item := b.items[int(b.c.Box[0])%len(b.items)]
	if _, err := b.c.Buy(ctx, protocol.BuyRequest{Item: item, Kind: media.Owned, RequestID: "loadgen-own"}); err != nil {
		return fmt.Errorf("a renewing box buys its title (credit the account, or -renew-share 0): %w", err)
	}
	b.owned = item
	return nil
}

// renew renews the owned title's licence: a new request id each time, so each is a new licence.
func (b *box) renew(ctx context.Context) error {
	b.n++
	_, err := b.c.Renew(ctx, protocol.RenewRequest{Item: b.owned, RequestID: fmt.Sprintf("loadgen-renew-%d", b.n)})
	return err
}

type inProcess struct {
	engine string
	items  []media.ItemID
	close  func()
}

// startHeadend starts a head-end on a loopback port with titles and the account, and points
// o.URL at it.
func startHeadend(ctx context.Context, o *Options) (*inProcess, error) {
	dir, err := os.MkdirTemp("", "swarmbox-loadgen-")
	if err != nil {
		return nil, err
	}
	cleanup := []func(){func() { os.RemoveAll(dir) }}
	fail := func(err error) (*inProcess, error) {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
		return nil, err
	}
	dsn := o.Database
	if dsn == "" {
		dsn = filepath.Join(dir, "headend.db")
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return fail(err)
	}
	cleanup = append(cleanup, func() { st.Close() })
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	master := make([]byte, 32)
	rand.Read(master)
	v, err := keyvault.New(master, ed25519.NewKeyFromSeed(seed))
	if err != nil {
		return fail(err)
	}
	repo, err := repository.Open(filepath.Join(dir, "repository"))
	if err != nil {
		return fail(err)
	}
	h := &inProcess{engine: st.Engine()}
	for i := range o.Titles {
		src := filepath.Join(dir, fmt.Sprintf("title-%d", i))
		data := make([]byte, 256<<10)
		rand.Read(data)
		if err := os.WriteFile(src, data, 0o600); err != nil {
			return fail(err)
		}
		it, key, err := repo.Ingest(ctx, src, repository.IngestOptions{Title: fmt.Sprintf("Load title %d", i), Kind: protocol.KindVideo, PriceCents: 300})
		if err != nil {
			return fail(err)
		}
		if err := st.AddItem(ctx, it, v.Wrap(it.ID, key)); err != nil {
			return fail(err)
		}
		h.items = append(h.items, it.ID)
	}
	credit := int64(math.Ceil(o.RenewShare*float64(o.Boxes))) * 300 // the renewing boxes' purchases
	if err := st.CreateAccount(ctx, o.Account, "eu", credit, time.Now()); err != nil {
		return fail(err)
	}
	if o.Enroll, err = st.CreateEnrollment(ctx, o.Account, o.Boxes, 24*time.Hour, time.Now()); err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	o.URL = "http://" + ln.Addr().String()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	hs := headend.New(headend.Config{Store: st, Vault: v, Repo: repo, PublicURL: o.URL, Log: quiet})
	hs.Start(ctx)
	cleanup = append(cleanup, hs.Close)
	srv := &http.Server{Handler: hs.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	cleanup = append(cleanup, func() { srv.Close() })
	h.close = func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	return h, nil
}
