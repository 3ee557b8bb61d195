package ui

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"swarmbox/firmware/boxbus"
	"swarmbox/vocab"
)

// fakeBox is a box in memory. While hold is set, every call waits until it is closed or the
// call's context ends, as a stopped daemon makes the client wait.
type fakeBox struct {
	mu       sync.Mutex
	items    []boxbus.Item
	wishlist []string
	local    []boxbus.Local
	account  string
	balance  int64
	hold     chan struct{}
	events   chan boxbus.Event
	calls    int
	link     boxbus.Link  // the head-end connection Status reports
	buyErr   error        // what Buy answers instead of buying, when set
	disk     string       // Status.Disk
	terms    boxbus.Terms // the head-end's currency and rental length Status reports
	playErr  error        // what Play answers instead of a stream, when set
}

func newFakeBox(titles ...boxbus.Item) *fakeBox {
	b := &fakeBox{items: titles, account: "active", balance: 1000, events: make(chan boxbus.Event, 64), link: boxbus.Link{Online: true, Registered: true},
		terms: boxbus.Terms{Currency: "EUR", RentalSeconds: 48 * 3600}}
	for i := range b.items {
		if b.items[i].State == "" {
			b.items[i].State = boxbus.NotWished
		}
	}
	return b
}

// newCatalogBox is a box with a catalog of n titles and nothing local, for the benchmarks.
func newCatalogBox(n int) *fakeBox {
	kinds := []string{"video", "audio", "file"}
	cats := []string{"films/drama", "music/jazz", "", "kids", "films/comedy"}
	var titles []boxbus.Item
	for i := range n {
		titles = append(titles, boxbus.Item{ID: fmt.Sprintf("%032x", i), Title: fmt.Sprintf("Title number %d", i), Kind: kinds[i%3], Size: int64(i) << 20, PriceCents: 399, Category: cats[i%5]})
	}
	return newFakeBox(titles...)
}

// shelvedBox is a small catalog over several categories.
func shelvedBox() *fakeBox {
	return newFakeBox(
		boxbus.Item{ID: fmt.Sprintf("%032x", 1), Title: "Drama One", Kind: "video", Category: "films/drama", Size: 1 << 20, PriceCents: 399},
		boxbus.Item{ID: fmt.Sprintf("%032x", 2), Title: "Comedy Two", Kind: "video", Category: "films/comedy", Size: 1 << 20, PriceCents: 299},
		boxbus.Item{ID: fmt.Sprintf("%032x", 3), Title: "Jazz Three", Kind: "audio", Category: "music/jazz", Size: 1 << 20, PriceCents: 99},
		boxbus.Item{ID: fmt.Sprintf("%032x", 4), Title: "Kids Four", Kind: "video", Category: "kids", Size: 1 << 20, PriceCents: 199},
		boxbus.Item{ID: fmt.Sprintf("%032x", 5), Title: "Manual", Kind: "file", Category: "", Size: 1 << 10, PriceCents: 0},
	)
}

// downloadingBox is shelvedBox with its first title arriving, its second ready on disk and a
// range of its third kept for neighbours.
func downloadingBox() *fakeBox {
	b := shelvedBox()
	got := int64(3 << 20)
	b.set(0, boxbus.Downloading, 10, 40, got, 2*got)
	b.set(1, boxbus.ReadyToBuy, 40, 40, 0, 9<<20)
	b.set(2, boxbus.Kept, 10, 40, 0, 1<<20)
	return b
}

func (b *fakeBox) set(i int, st boxbus.State, pieces, total int32, server, peers int64) {
	it := &b.items[i]
	it.State, it.Pieces, it.TotalPieces, it.BytesFromServer, it.BytesFromPeers = st, pieces, total, server, peers
	b.local = append(b.local, boxbus.Local{ID: it.ID, Complete: pieces == total, Pieces: pieces, Total: total, BytesFromServer: server, BytesFromPeers: peers})
}

// wait is every call's start: it counts the call and waits while the box is held.
func (b *fakeBox) wait(ctx context.Context) error {
	b.mu.Lock()
	b.calls++
	h := b.hold
	b.mu.Unlock()
	if h == nil {
		return nil
	}
	select {
	case <-h:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", boxbus.ErrUnanswered, ctx.Err())
	}
}

// pause makes every call wait until resume.
func (b *fakeBox) pause() {
	b.mu.Lock()
	b.hold = make(chan struct{})
	b.mu.Unlock()
}

func (b *fakeBox) resume() {
	b.mu.Lock()
	close(b.hold)
	b.hold = nil
	b.mu.Unlock()
}

func (b *fakeBox) Items(ctx context.Context) ([]boxbus.Item, error) {
	if err := b.wait(ctx); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.items), nil
}

func (b *fakeBox) Item(ctx context.Context, id string) (boxbus.Item, error) {
	if err := b.wait(ctx); err != nil {
		return boxbus.Item{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.IndexFunc(b.items, func(t boxbus.Item) bool { return t.ID == id })
	if i < 0 {
		return boxbus.Item{}, boxbus.Refusal(boxbus.ErrUnknownItem)
	}
	return b.items[i], nil
}

// Categories counts like the box's storage.Shelves: parents count their children, the
// uncategorised ("") come last.
func (b *fakeBox) Categories(ctx context.Context, kind string) ([]boxbus.Shelf, error) {
	if err := b.wait(ctx); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := map[string]int32{}
	for _, t := range b.items {
		if kind != "" && t.Kind != kind {
			continue
		}
		n[t.Category]++
		if i := strings.IndexByte(t.Category, '/'); i > 0 {
			n[t.Category[:i]]++
		}
	}
	out := []boxbus.Shelf{}
	for _, c := range slices.Sorted(maps.Keys(n)) {
		if c != "" {
			out = append(out, boxbus.Shelf{Category: c, Titles: n[c]})
		}
	}
	if n[""] > 0 {
		out = append(out, boxbus.Shelf{Category: "", Titles: n[""]})
	}
	return out, nil
}

func (b *fakeBox) Wishlist(ctx context.Context) ([]string, error) {
	if err := b.wait(ctx); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.wishlist), nil
}

// setRanks gives every item its wishlist rank and a wished title its state; b.mu is held.
func (b *fakeBox) setRanks() {
	for i := range b.items {
		it := &b.items[i]
		it.WishRank = int32(slices.Index(b.wishlist, it.ID) + 1)
		switch {
		case it.WishRank > 0 && it.State == boxbus.NotWished:
			it.State = boxbus.Wished
		case it.WishRank == 0 && it.State == boxbus.Wished:
			it.State = boxbus.NotWished
		}
	}
}

func (b *fakeBox) MoveWish(ctx context.Context, id string, pos int) error {
	if err := b.wait(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	wl := slices.DeleteFunc(b.wishlist, func(w string) bool { return w == id })
	b.wishlist = slices.Insert(wl, min(max(pos, 1)-1, len(wl)), id)
	b.setRanks()
	return nil
}

func (b *fakeBox) RemoveWish(ctx context.Context, id string) error {
	if err := b.wait(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.wishlist = slices.DeleteFunc(b.wishlist, func(w string) bool { return w == id })
	b.setRanks()
	return nil
}

func (b *fakeBox) Buy(ctx context.Context, id string, rent bool) (boxbus.Purchase, error) {
	if err := b.wait(ctx); err != nil {
		return boxbus.Purchase{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buyErr != nil {
		return boxbus.Purchase{}, b.buyErr
	}
	i := slices.IndexFunc(b.items, func(t boxbus.Item) bool { return t.ID == id })
	if i < 0 || b.items[i].State != boxbus.ReadyToBuy {
		return boxbus.Purchase{}, &boxbus.Error{Name: boxbus.ErrNotDownloaded, Message: "not on the box yet"}
	}
	price, kind, expires := b.items[i].PriceCents, vocab.LicenceOwned, int64(1<<40)
	if rent {
		price, kind, expires = vocab.RentalPrice(price), vocab.LicenceRental, time.Now().Add(time.Duration(b.terms.RentalSeconds)*time.Second).Unix()
	}
	b.balance -= price
	b.items[i].State, b.items[i].Expires, b.items[i].LicenceKind = boxbus.Bought, expires, kind
	return boxbus.Purchase{Licence: "l", Expires: expires, ChargedCents: price, BalanceCents: b.balance}, nil
}

func (b *fakeBox) Play(ctx context.Context, id string) (string, error) {
	if err := b.wait(ctx); err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.playErr != nil {
		return "", b.playErr
	}
	return "http://127.0.0.1:1/play/" + id, nil
}

func (b *fakeBox) Stop(ctx context.Context) error { return b.wait(ctx) }

func (b *fakeBox) Account(ctx context.Context) (string, int64, error) {
	if err := b.wait(ctx); err != nil {
		return "", 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.account, b.balance, nil
}

func (b *fakeBox) Status(ctx context.Context) (boxbus.Status, error) {
	if err := b.wait(ctx); err != nil {
		return boxbus.Status{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return boxbus.Status{Box: "box", Account: "household", Items: slices.Clone(b.local), Link: b.link, Terms: b.terms, Disk: b.disk}, nil
}

func (b *fakeBox) Follow(ctx context.Context) (<-chan boxbus.Event, error) {
	if err := b.wait(ctx); err != nil {
		return nil, err
	}
	return b.events, nil
}

// loaded builds the UI for box with everything loaded, without running it.
func loaded(t testing.TB, box Box, opts ...Option) *App {
	t.Helper()
	return loadedApp(t, New(box, "", opts...))
}

// loadedApp loads everything for a and shows it, without running it.
func loadedApp(t testing.TB, a *App) *App {
	t.Helper()
	s, err := a.model.load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a.model.snap = s
	a.show(s)
	return a
}

// console gives a a simulated w×h console (once: tview finishes a replaced screen).
func console(a *App, w, h int) tcell.SimulationScreen {
	sim := tcell.NewSimulationScreen("UTF-8")
	a.app.SetScreen(sim)
	sim.SetSize(w, h)
	return sim
}

// rows is the simulated screen's text, one string per row.
func rows(sim tcell.SimulationScreen) []string {
	cells, cw, ch := sim.GetContents()
	out := make([]string, ch)
	for y := range ch {
		var b strings.Builder
		for x := range cw {
			r := cells[y*cw+x].Runes
			if len(r) == 0 {
				b.WriteByte(' ')
				continue
			}
			b.WriteString(string(r))
		}
		out[y] = b.String()
	}
	return out
}

// onScreen draws a on its console and returns the text, one string per row.
func onScreen(a *App, sim tcell.SimulationScreen) []string {
	a.app.ForceDraw()
	return rows(sim)
}
