package firmware

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"swarmbox/cloud/headend/headendtest"
	"swarmbox/cloud/sales"
	"swarmbox/cloud/store"
	"swarmbox/firmware/boxbus"
	"swarmbox/media"
	"swarmbox/storage"
	"swarmbox/sync/transfer"
)

// testClock is a clock that runs with the real one, moved by Set.
type testClock struct{ off atomic.Int64 }

func (c *testClock) Now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

// Set makes the clock read t now.
func (c *testClock) Set(t time.Time) { c.off.Store(int64(time.Until(t))) }

// Add moves the clock by d.
func (c *testClock) Add(d time.Duration) { c.off.Add(int64(d)) }

const (
	testOwnedPeriod = 30 * 24 * time.Hour
	testRental      = 48 * time.Hour
)

// licenceHeadend starts a real head-end (SQLite, HTTP on loopback) on clock with two titles.
func licenceHeadend(t *testing.T, clock *testClock) *headendtest.Headend {
	return headendtest.Start(t, headendtest.Options{Now: clock.Now, OwnedRenewal: testOwnedPeriod, RentalWindow: testRental},
		headendtest.Title{Name: "Film", Price: 300, Data: make([]byte, 150_000)},
		headendtest.Title{Name: "Other", Price: 300, Data: make([]byte, 120_000)})
}

// licenceBox starts a real box daemon (firmware.Run) in dir on clock, with every title of h
// already complete on its disk, and returns a client of its API socket. It stops when the test
// ends, or when stop is called.
func licenceBox(t *testing.T, h *headendtest.Headend, dir string, clock *testClock) (c *boxbus.Client, stop func()) {
	t.Helper()
	ctx := context.Background()
	if _, err := os.Stat(SocketPath(dir)); err != nil { // first start: the titles on the disk
		st, err := storage.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.EnsureIdentity(ctx, h.URL, headendtest.Account); err != nil {
			t.Fatal(err)
		}
		for _, it := range h.Items {
			b, err := os.ReadFile(h.Repo.Path(it.ID))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(st.ContainerPath(it.ID), b, 0o600); err != nil {
				t.Fatal(err)
			}
			m, err := transfer.ParseMeta(it.Torrent)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.AddItem(ctx, it.ID, it.InfoHash, it.Torrent, it.Pieces, m.Length, time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := st.UpdateItem(ctx, it.ID, it.Pieces, true, 0, int64(len(b)), time.Now()); err != nil {
				t.Fatal(err)
			}
			// Every piece recorded as verified, as a real download leaves it: without these the
			// engine finds nothing verified, the item reads "downloading" until it is fetched again.
			for i := range it.Pieces {
				if err := st.SetPiece(ctx, it.InfoHash, i, true); err != nil {
					t.Fatal(err)
				}
			}
		}
		st.Close()
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- Run(runCtx, Config{Dir: dir, HeadendURL: h.URL, Enroll: h.Enroll(t), ListenAddr: "127.0.0.1:0",
			Now: clock.Now, RenewPoll: 20 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		if c != nil {
			c.Close()
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("box: %v", err)
		}
	}
	t.Cleanup(stop)
	eventually(t, "the box answers with its catalog, online", func() bool {
		if c == nil {
			if c, _ = boxbus.DialSocket(ctx, SocketPath(dir)); c == nil {
				return false
			}
		}
		it, err := c.Item(ctx, h.Items[0].ID.String())
		if err != nil || it.State == "" {
			return false
		}
		st, err := c.Status(ctx)
		return err == nil && st.Link.Online // the box starts offline until the head-end answers
	})
	return c, stop
}

// eventually waits up to 20 s for ok.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func item(t *testing.T, c *boxbus.Client, id media.ItemID) boxbus.Item {
	t.Helper()
	it, err := c.Item(context.Background(), id.String())
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// plays says whether the box opens the title for playback (and stops it again).
func plays(t *testing.T, c *boxbus.Client, id media.ItemID) error {
	t.Helper()
	ctx := context.Background()
	url, err := c.Play(ctx, id.String())
	if err != nil {
		return err
	}
	defer c.Stop(ctx)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if n, err := io.Copy(io.Discard, resp.Body); err != nil || n == 0 {
		t.Fatalf("playing %s: %d bytes, %v", id, n, err)
	}
	return nil
}

// renewalsAudited counts the head-end's audit rows of renewals issued and refused (by reason).
func renewalsAudited(t *testing.T, h *headendtest.Headend) (issued int, refused map[string]int) {
	t.Helper()
	log, err := h.Store.AuditLog(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	refused = map[string]int{}
	for _, e := range log {
		switch {
		case e.Outcome == store.AuditIssued && e.Reason == sales.WhyRenewal:
			issued++
		case e.Outcome == store.AuditRefused && e.Kind == "renewal":
			refused[e.Reason]++
		}
	}
	return issued, refused
}

// TestOwnedLicenceRenews: a bought title stays playable across three renewal periods of its
// licence, the box renewing it on its own, free; a rental bought at the same time ends as
// bought (LIC-3, LIC-4). Head-end and box share an injected clock, moved 25 days at a time.
func TestOwnedLicenceRenews(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{}
	h := licenceHeadend(t, clock)
	c, _ := licenceBox(t, h, t.TempDir(), clock)
	film, other := h.Items[0].ID, h.Items[1].ID
	bought, err := c.Buy(ctx, film.String(), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Buy(ctx, other.String(), true); err != nil {
		t.Fatal(err)
	}
	expires := bought.Expires
	for period := 1; period <= 3; period++ {
		clock.Add(25 * 24 * time.Hour) // 5 days left of 30: due (renewals fall between 15 and 10 days before the end)
		eventually(t, "the owned licence is renewed", func() bool { return item(t, c, film).Expires > expires })
		it := item(t, c, film)
		if it.State != boxbus.Bought || it.LicenceKind != string(media.Owned) || it.RenewalRefused != "" {
			t.Fatalf("period %d: owned title %q (%s), refusal %q", period, it.State, it.LicenceKind, it.RenewalRefused)
		}
		if got, want := time.Unix(it.Expires, 0), clock.Now().Add(testOwnedPeriod); got.Before(want.Add(-time.Minute)) || got.After(want.Add(time.Minute)) {
			t.Fatalf("period %d: renewed licence ends %v, want a full period from now (%v)", period, got, want)
		}
		expires = it.Expires
		if err := plays(t, c, film); err != nil {
			t.Fatalf("period %d: the owned title does not play: %v", period, err)
		}
		if r := item(t, c, other); r.State != boxbus.Expired || r.LicenceKind != string(media.Rental) {
			t.Fatalf("period %d: the rental is %q (%s), want it ended", period, r.State, r.LicenceKind)
		}
		if err := plays(t, c, other); !errors.Is(err, boxbus.Refusal(boxbus.ErrExpired)) {
			t.Fatalf("period %d: the ended rental plays: %v", period, err)
		}
	}
	if issued, refused := renewalsAudited(t, h); issued != 3 || len(refused) != 0 {
		t.Errorf("head-end audit: %d renewals, refused %v; want 3 and none", issued, refused)
	}
	lics, err := h.Store.Licenses(ctx, headendtest.Account)
	if err != nil {
		t.Fatal(err)
	}
	var charged int64
	for _, l := range lics {
		charged += l.Charged
	}
	if charged != 300+100 {
		t.Errorf("charged %d cents in all, want 400 (the purchase and the rental; renewals are free)", charged)
	}
}

// TestSuspendedAccountRenewalRefused: a suspended account's renewal is refused; the box records
// the head-end's reason and shows it over its API, and the title plays until its licence ends,
// not after and not before (LIC-1, LIC-4).
func TestSuspendedAccountRenewalRefused(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{}
	h := licenceHeadend(t, clock)
	c, _ := licenceBox(t, h, t.TempDir(), clock)
	film := h.Items[0].ID
	bought, err := c.Buy(ctx, film.String(), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.SetStatus(ctx, headendtest.Account, store.StatusSuspended, clock.Now()); err != nil {
		t.Fatal(err)
	}
	accountIs(t, c, film, "suspended")
	clock.Add(25 * 24 * time.Hour)
	eventually(t, "the box shows the refused renewal", func() bool { return item(t, c, film).RenewalRefused != "" })
	it := item(t, c, film)
	if !strings.HasPrefix(it.RenewalRefused, sales.ReasonAccountInactive+": ") || !strings.Contains(it.RenewalRefused, "suspended") {
		t.Errorf("refusal over the API %q, want the reason %s and that the account is suspended", it.RenewalRefused, sales.ReasonAccountInactive)
	}
	if it.State != boxbus.Bought || it.Expires != bought.Expires {
		t.Errorf("after the refusal: %q until %d, want bought until %d", it.State, it.Expires, bought.Expires)
	}
	end := time.Unix(bought.Expires, 0)
	clock.Set(end.Add(-time.Minute))
	if err := plays(t, c, film); err != nil {
		t.Fatalf("a minute before the licence ends the title does not play: %v", err)
	}
	clock.Set(end.Add(time.Second))
	if err := plays(t, c, film); !errors.Is(err, boxbus.Refusal(boxbus.ErrExpired)) {
		t.Fatalf("after the licence ended: %v, want Expired", err)
	}
	if it := item(t, c, film); it.State != boxbus.Expired || it.RenewalRefused == "" {
		t.Errorf("after the end: %q, refusal %q", it.State, it.RenewalRefused)
	}
	if issued, refused := renewalsAudited(t, h); issued != 0 || refused[sales.ReasonAccountInactive] == 0 {
		t.Errorf("head-end audit: %d renewals, refused %v", issued, refused)
	}
	resp, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `swarmbox_renewals_total{outcome="refused",reason="account_inactive"}`) {
		t.Errorf("/metrics has no refused renewals")
	}
	// The account back in order: the next try renews, and the title plays again.
	if _, err := h.Store.SetStatus(ctx, headendtest.Account, store.StatusActive, clock.Now()); err != nil {
		t.Fatal(err)
	}
	accountIs(t, c, film, "active")
	eventually(t, "the title is renewed once the account is active", func() bool { return item(t, c, film).State == boxbus.Bought })
	if it := item(t, c, film); it.RenewalRefused != "" {
		t.Errorf("renewed, yet the refusal %q is still shown", it.RenewalRefused)
	}
}

// accountIs makes the box sync (a wish does at once) until it has the account's status.
func accountIs(t *testing.T, c *boxbus.Client, id media.ItemID, status string) {
	t.Helper()
	ctx := context.Background()
	if err := c.MoveWish(ctx, id.String(), 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the box has the account "+status, func() bool {
		st, _, err := c.Account(ctx)
		return err == nil && st == status
	})
}

// TestClockRollbackRefused: after the head-end vouched for a time past a rental's end, setting
// the box's clock back does not revive the rental, neither in the running daemon nor, after a
// restart, in the API opened in process; the box keeps working with its clock set back (LIC-5).
func TestClockRollbackRefused(t *testing.T) {
	ctx := context.Background()
	headClock, boxClock := &testClock{}, &testClock{}
	h := licenceHeadend(t, headClock)
	dir := t.TempDir()
	c, stop := licenceBox(t, h, dir, boxClock)
	film, other := h.Items[0].ID, h.Items[1].ID
	start := boxClock.Now()
	for _, id := range []media.ItemID{film, other} {
		if _, err := c.Buy(ctx, id.String(), true); err != nil {
			t.Fatal(err)
		}
	}
	headClock.Add(testRental + time.Hour)
	boxClock.Add(testRental + time.Hour)
	// A wish makes the box sync at once; the head-end's answer vouches for its time.
	if err := c.MoveWish(ctx, film.String(), 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the head-end has the box's wish", func() bool {
		boxes, err := h.Store.BoxStates(ctx)
		return err == nil && len(boxes) == 1 && slices.Contains(boxes[0].Wishlist, film)
	})
	boxClock.Set(start.Add(time.Hour)) // back to when the rentals had 47 hours to run
	eventually(t, "the rental stays ended with the clock set back", func() bool { return item(t, c, other).State == boxbus.Expired })
	if err := plays(t, c, other); !errors.Is(err, boxbus.Refusal(boxbus.ErrExpired)) {
		t.Fatalf("the ended rental plays with the clock set back: %v", err)
	}
	// The box still reaches the head-end (it signs with its secure time): renting again works.
	p, err := c.Buy(ctx, film.String(), true)
	if err != nil {
		t.Fatalf("renting with the clock set back: %v", err)
	}
	if want := headClock.Now().Add(testRental); time.Unix(p.Expires, 0).Before(want.Add(-time.Minute)) {
		t.Errorf("the new rental ends %v, want the head-end's time plus the window (%v)", time.Unix(p.Expires, 0), want)
	}
	if err := plays(t, c, film); err != nil {
		t.Fatalf("the new rental does not play: %v", err)
	}
	stop()
	// No daemon, the real clock (47 hours before the rental's end): the kept time still rules.
	api, err := OpenAPI(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	if it, err := api.Item(ctx, other); err != nil || it.State != boxbus.Expired {
		t.Fatalf("after a restart with the clock set back: %q, %v; want the rental ended", it.State, err)
	}
	if _, err := api.Open(ctx, other); !errors.Is(err, media.ErrExpired) {
		t.Fatalf("after a restart with the clock set back, opening the ended rental: %v, want ErrExpired", err)
	}
}
