package firmware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"swarmbox/cloud/headend/headendtest"
	"swarmbox/cloud/scheduler"
	"swarmbox/firmware/boxbus"
	"swarmbox/media"
	"swarmbox/storage"
)

// gate stands between a box and its head-end and can take the head-end away: while down, every
// connection is closed unanswered, as when the home's internet is down.
type gate struct {
	mu   sync.Mutex
	down bool
	srv  *httptest.Server
}

func newGate(t *testing.T, target string) *gate {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		down := g.down
		g.mu.Unlock()
		if down {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gate) set(down bool) {
	g.mu.Lock()
	g.down = down
	g.mu.Unlock()
}

// runningBox is firmware.Run in the test, with a client on its socket.
type runningBox struct {
	dir    string
	cancel context.CancelFunc
	done   chan error
	c      *boxbus.Client
}

func startRun(t *testing.T, dir, headendURL, enroll string) *runningBox {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rb := &runningBox{dir: dir, cancel: cancel, done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() {
		rb.done <- Run(ctx, Config{Dir: dir, HeadendURL: headendURL, Enroll: enroll, ListenAddr: "127.0.0.1:0", Log: log})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := boxbus.DialSocket(ctx, SocketPath(dir))
		if err == nil && c.Running(ctx) {
			rb.c = c
			break
		}
		if err == nil {
			c.Close()
		}
		select {
		case err := <-rb.done:
			t.Fatalf("the box stopped at start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the box's API did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(rb.stop)
	return rb
}

func (rb *runningBox) stop() {
	if rb.cancel == nil {
		return
	}
	rb.c.Close()
	rb.cancel()
	<-rb.done
	rb.cancel = nil
}

// waitUntil polls cond for up to d.
func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
	}
}

func (rb *runningBox) link(t *testing.T) boxbus.Link {
	t.Helper()
	l, err := rb.c.Link(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (rb *runningBox) wishlist(t *testing.T) []string {
	t.Helper()
	w, err := rb.c.Wishlist(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// headendWishlist is the box's wishlist as the head-end holds it.
func headendWishlist(t *testing.T, h *headendtest.Headend) []string {
	t.Helper()
	boxes, err := h.Store.AccountBoxes(context.Background(), headendtest.Account)
	if err != nil {
		t.Fatal(err)
	}
	if len(boxes) != 1 {
		t.Fatalf("the account has %d boxes, want 1", len(boxes))
	}
	return strs(boxes[0].Wishlist)
}

func strs(ids []media.ItemID) []string {
	out := []string{}
	for _, id := range ids {
		out = append(out, id.String())
	}
	return out
}

// onlineWithCatalog starts a box against the gate and waits until it synced and holds the
// catalog; it returns the box and its id.
func onlineWithCatalog(t *testing.T, h *headendtest.Headend, g *gate, dir string) (*runningBox, media.BoxID) {
	t.Helper()
	rb := startRun(t, dir, g.srv.URL, h.Enroll(t))
	waitUntil(t, "the box online with the catalog", 30*time.Second, func() bool {
		items, err := rb.c.Items(context.Background())
		return err == nil && len(items) == len(h.Items) && rb.link(t).Online
	})
	st, err := rb.c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	id, err := media.ParseBoxID(st.Box)
	if err != nil {
		t.Fatal(err)
	}
	return rb, id
}

func titles(n int) []headendtest.Title {
	var out []headendtest.Title
	for i := range n {
		out = append(out, headendtest.Title{Name: fmt.Sprintf("Title %d", i), Kind: "file", Price: 100, Data: []byte(strings.Repeat(fmt.Sprint(i), 1000))})
	}
	return out
}

// TestBoxEditSurvivesRestart: the customer once changed the box's wishlist in the browser, so
// the head-end's list has a version; then, with the head-end down, the household wishes a title
// on the box, and the box restarts. When the head-end is back, the edit arrives there and the
// box keeps it (it used to adopt the head-end's older list: the adopted version lived in memory
// only).
func TestBoxEditSurvivesRestart(t *testing.T) {
	h := headendtest.New(t, titles(3)...)
	g := newGate(t, h.URL)
	dir := t.TempDir()
	rb, boxID := onlineWithCatalog(t, h, g, dir)
	t0, t1 := h.Items[0].ID, h.Items[1].ID
	if _, err := h.Store.SetWishlist(context.Background(), headendtest.Account, boxID, []media.ItemID{t0}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the browser's list adopted", 60*time.Second, func() bool {
		rb.c.Wishlist(context.Background()) // a call per poll; the box syncs on its own interval
		return slices.Equal(rb.wishlist(t), []string{t0.String()})
	})

	g.set(true)
	if err := rb.c.MoveWish(context.Background(), t1.String(), 1); err != nil {
		t.Fatalf("a wish while the head-end is down: %v", err)
	}
	waitUntil(t, "the box to notice it is offline", 30*time.Second, func() bool { return !rb.link(t).Online })
	if l := rb.link(t); l.OfflineSince == 0 || !l.Registered {
		t.Errorf("offline link %+v: want OfflineSince set and Registered", l)
	}
	rb.stop()

	rb = startRun(t, dir, "", "")
	if l := rb.link(t); l.Online {
		t.Errorf("a box restarted with its head-end down says it is online: %+v", l)
	}
	want := []string{t1.String(), t0.String()}
	if got := rb.wishlist(t); !slices.Equal(got, want) {
		t.Fatalf("after the restart the box's list is %v, want %v", got, want)
	}
	g.set(false)
	waitUntil(t, "the edit at the head-end", 90*time.Second, func() bool { return slices.Equal(headendWishlist(t, h), want) })
	waitUntil(t, "the box online again", 30*time.Second, func() bool { return rb.link(t).Online })
	if l := rb.link(t); l.OfflineSince != 0 {
		t.Errorf("online again but OfflineSince = %d", l.OfflineSince)
	}
	if got := rb.wishlist(t); !slices.Equal(got, want) {
		t.Errorf("the box's list became %v after reconnecting, want %v", got, want)
	}
}

// TestOfflineEditsArriveInOrderOnce: edits made on the box while its head-end is down, with a
// restart among them and a browser edit at the head-end meanwhile, reach the head-end in the
// order they were made, each once: the browser's list with the box's edits applied on top.
// A later restart and syncs change nothing more.
func TestOfflineEditsArriveInOrderOnce(t *testing.T) {
	h := headendtest.New(t, titles(4)...)
	g := newGate(t, h.URL)
	dir := t.TempDir()
	rb, boxID := onlineWithCatalog(t, h, g, dir)
	it := func(i int) string { return h.Items[i].ID.String() }
	ctx := context.Background()
	if _, err := h.Store.SetWishlist(ctx, headendtest.Account, boxID, []media.ItemID{h.Items[0].ID}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the browser's list adopted", 60*time.Second, func() bool { return slices.Equal(rb.wishlist(t), []string{it(0)}) })

	g.set(true)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rb.c.MoveWish(ctx, it(1), 1)) // [1 0]
	must(rb.c.MoveWish(ctx, it(2), 1)) // [2 1 0]
	rb.stop()
	rb = startRun(t, dir, "", "")
	must(rb.c.RemoveWish(ctx, it(0)))  // [2 1]
	must(rb.c.MoveWish(ctx, it(1), 3)) // [2 1]: past the end is last
	// Meanwhile the customer changes the list in the browser.
	if _, err := h.Store.SetWishlist(ctx, headendtest.Account, boxID, []media.ItemID{h.Items[3].ID, h.Items[0].ID}); err != nil {
		t.Fatal(err)
	}
	g.set(false)
	// [3 0] with the box's edits on top: [1 3 0], [2 1 3 0], [2 1 3], [2 3 1].
	want := []string{it(2), it(3), it(1)}
	waitUntil(t, "the edits at the head-end", 90*time.Second, func() bool { return slices.Equal(headendWishlist(t, h), want) })
	waitUntil(t, "the box's list", 30*time.Second, func() bool { return slices.Equal(rb.wishlist(t), want) })
	// The head-end saved the list before it answered; the box forgets the edits when the answer
	// arrives, a moment later.
	waitUntil(t, "the box forgets the edits the head-end took", 30*time.Second, func() bool { return len(pendingEdits(t, dir)) == 0 })
	rb.stop()
	if pend := pendingEdits(t, dir); len(pend) != 0 {
		t.Errorf("%d edits pending again after the box stopped: %+v", len(pend), pend)
	}
	rb = startRun(t, dir, "", "")
	waitUntil(t, "the box online after a restart", 60*time.Second, func() bool { return rb.link(t).Online })
	must(rb.c.MoveWish(ctx, it(0), 4)) // a sync at once, carrying one more edit
	want = append(want, it(0))
	waitUntil(t, "the last edit at the head-end", 30*time.Second, func() bool { return slices.Equal(headendWishlist(t, h), want) })
	if got := rb.wishlist(t); !slices.Equal(got, want) {
		t.Errorf("the box's list is %v, want %v", got, want)
	}
}

// TestBuyOfflineFailsFast: a purchase while the head-end is down is refused at once with
// org.swarmbox.Error.Offline and a sentence saying buying needs the connection.
func TestBuyOfflineFailsFast(t *testing.T) {
	h := headendtest.New(t, titles(1)...)
	g := newGate(t, h.URL)
	rb, _ := onlineWithCatalog(t, h, g, t.TempDir())
	g.set(true)
	if err := rb.c.MoveWish(context.Background(), h.Items[0].ID.String(), 1); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the box offline", 30*time.Second, func() bool { return !rb.link(t).Online })
	start := time.Now()
	_, err := rb.c.Buy(context.Background(), h.Items[0].ID.String(), false)
	if !errors.Is(err, boxbus.Refusal(boxbus.ErrOffline)) {
		t.Fatalf("Buy offline: %v, want org.swarmbox.Error.Offline", err)
	}
	if !strings.Contains(err.Error(), "buying needs the connection") || !strings.Contains(err.Error(), "offline since") {
		t.Errorf("the refusal says %q", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the refusal took %s; it must not wait on the head-end", d)
	}
}

// TestNeverRegisteredBoxServesItsAPI: a first start with the head-end unreachable still serves
// the API, which says the box waits for its head-end; it registers and syncs when it comes.
func TestNeverRegisteredBoxServesItsAPI(t *testing.T) {
	h := headendtest.New(t, titles(2)...)
	g := newGate(t, h.URL)
	g.set(true)
	rb := startRun(t, t.TempDir(), g.srv.URL, h.Enroll(t))
	if l := rb.link(t); l.Online || l.Registered {
		t.Errorf("first start, head-end down: link %+v, want offline and not registered", l)
	}
	if _, err := rb.c.Buy(context.Background(), h.Items[0].ID.String(), false); !errors.Is(err, boxbus.Refusal(boxbus.ErrOffline)) {
		t.Errorf("Buy before registration: %v, want org.swarmbox.Error.Offline", err)
	}
	g.set(false)
	waitUntil(t, "registration and the catalog", 90*time.Second, func() bool {
		items, err := rb.c.Items(context.Background())
		l := rb.link(t)
		return err == nil && len(items) == 2 && l.Online && l.Registered
	})
}

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		failures int
		lo, hi   time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{6, 16 * time.Second, 32 * time.Second},
		{7, 30 * time.Second, maxBackoff},
		{1000, 30 * time.Second, maxBackoff},
	} {
		for _, draw := range []func(int64) int64{func(int64) int64 { return 0 }, func(n int64) int64 { return n - 1 }} {
			if d := backoff(c.failures, draw); d < c.lo || d > c.hi {
				t.Errorf("backoff(%d) = %s, want within [%s, %s]", c.failures, d, c.lo, c.hi)
			}
		}
	}
}

func TestCheckLinkCaps(t *testing.T) {
	minimum := fmt.Sprint(scheduler.MinPlannedRate)
	for _, c := range []struct {
		name     string
		up, down int64
		want     string // "" = accepted
	}{
		{"no caps", 0, 0, ""},
		{"at the minimum", scheduler.MinPlannedRate, scheduler.MinPlannedRate, ""},
		{"broadband", 625_000, 3_125_000, ""},
		{"uplink below", scheduler.MinPlannedRate - 1, 0, "-uplink"},
		{"downlink below", 0, 1000, "-downlink"},
		{"negative", -5, 0, "bytes per second"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckLinkCaps(c.up, c.down)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Errorf("accepted up %d down %d", c.up, c.down)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Errorf("error %q does not name %q", err, c.want)
			case c.want != "" && c.up >= 0 && (!strings.Contains(err.Error(), minimum) || !strings.Contains(err.Error(), "bytes/s")):
				t.Errorf("error %q does not name the minimum %s and its unit", err, minimum)
			}
		})
	}
}

// pendingEdits reads the wishlist edits no sync has carried yet from the box's database in dir
// (read-only, a second connection: SQLite in WAL mode lets it read beside a running box, and
// nothing is swept or written under it).
func pendingEdits(t *testing.T, dir string) []storage.PendingEdit {
	t.Helper()
	ctx := context.Background()
	st, err := storage.OpenReadOnly(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pend, err := st.PendingEdits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return pend
}
