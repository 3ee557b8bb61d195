package ui

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// catalogBox is a box with a large catalog and nothing local, for the UI's benchmarks.
type catalogBox struct{ titles []Title }

func newCatalogBox(n int) *catalogBox {
	b := &catalogBox{}
	kinds := []string{"video", "audio", "file"}
	cats := []string{"films/drama", "music/jazz", "", "kids", "films/comedy"}
	for i := range n {
		b.titles = append(b.titles, Title{ID: fmt.Sprintf("%032x", i), Title: fmt.Sprintf("Title number %d", i), Kind: kinds[i%3], Size: int64(i) << 20, PriceCents: 399, Category: cats[i%5]})
	}
	return b
}

func (b *catalogBox) Catalog() ([]Title, error) { return b.titles, nil }

// Categories counts like the box's storage.Shelves: parents count their children, the
// uncategorised ("") come last.
func (b *catalogBox) Categories(kind string) ([]Shelf, error) {
	n := map[string]int32{}
	for _, t := range b.titles {
		if kind != "" && t.Kind != kind {
			continue
		}
		n[t.Category]++
		if i := strings.IndexByte(t.Category, '/'); i > 0 {
			n[t.Category[:i]]++
		}
	}
	out := []Shelf{}
	for _, c := range slices.Sorted(maps.Keys(n)) {
		if c != "" {
			out = append(out, Shelf{c, n[c]})
		}
	}
	if n[""] > 0 {
		out = append(out, Shelf{"", n[""]})
	}
	return out, nil
}
func (b *catalogBox) Item(id string) (ItemState, error) {
	i := slices.IndexFunc(b.titles, func(t Title) bool { return t.ID == id })
	if i < 0 {
		return ItemState{}, fmt.Errorf("unknown item %s", id)
	}
	t := b.titles[i]
	return ItemState{ID: t.ID, Title: t.Title, Kind: t.Kind, Size: t.Size, PriceCents: t.PriceCents, State: "not wished", Category: t.Category}, nil
}
func (b *catalogBox) Wishlist() ([]string, error)            { return nil, nil }
func (b *catalogBox) MoveWish(string, int) error             { return nil }
func (b *catalogBox) RemoveWish(string) error                { return nil }
func (b *catalogBox) Buy(string, bool) (int64, int64, error) { return 0, 0, nil }
func (b *catalogBox) Play(string) (string, error)            { return "", nil }
func (b *catalogBox) Stop() error                            { return nil }
func (b *catalogBox) Local() ([]Local, error)                { return nil, nil }
func (b *catalogBox) Account() (string, int64, error)        { return "active", 1000, nil }

// drawn runs app on a 160×50 simulation screen and returns a channel that gets a value after
// every frame.
func drawn(b *testing.B, app *tview.Application) chan struct{} {
	sim := tcell.NewSimulationScreen("UTF-8")
	if err := sim.Init(); err != nil {
		b.Fatal(err)
	}
	sim.SetSize(160, 50)
	app.SetScreen(sim)
	frames := make(chan struct{}, 1)
	app.SetAfterDrawFunc(func(tcell.Screen) {
		select {
		case frames <- struct{}{}:
		default:
		}
	})
	go app.Run()
	return frames
}

// benchFirstFrame times from building a UI to its first frame on screen.
func benchFirstFrame(b *testing.B, build func() *tview.Application) {
	for range b.N {
		app := build()
		<-drawn(b, app)
		app.Stop()
	}
}

func BenchmarkUIFirstFrame(b *testing.B) {
	box := newCatalogBox(10_000)
	benchFirstFrame(b, func() *tview.Application { return New(box, "").Application() })
}

func BenchmarkUIFirstFrameBaseline(b *testing.B) {
	benchFirstFrame(b, func() *tview.Application {
		l := tview.NewList().AddItem("Browse the catalog", "", 0, nil).AddItem("My wishlist", "", 0, nil).AddItem("Downloads", "", 0, nil)
		return tview.NewApplication().SetRoot(l, true)
	})
}

// benchKeyRedraw presses Down b.N times and reports the p99 time from key to redrawn frame.
func benchKeyRedraw(b *testing.B, app *tview.Application) {
	benchKeysRedraw(b, app, tcell.KeyDown)
}

// benchKeysRedraw presses keys in turn b.N times and reports the p99 time from key to redrawn
// frame.
func benchKeysRedraw(b *testing.B, app *tview.Application, keys ...tcell.Key) {
	frames := drawn(b, app)
	<-frames
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		app.QueueEvent(tcell.NewEventKey(keys[i%len(keys)], 0, tcell.ModNone))
		<-frames
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	app.Stop()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

func BenchmarkUIKeyRedraw(b *testing.B) {
	a := New(newCatalogBox(10_000), "")
	a.open("catalog")
	benchKeyRedraw(b, a.Application())
}

// BenchmarkUICategoryKeyRedraw moves between two categories of a 10,000-title catalog: each
// press refilters the whole list (compare BenchmarkUIKeyRedraw, which only moves the focus).
func BenchmarkUICategoryKeyRedraw(b *testing.B) {
	a := New(newCatalogBox(10_000), "")
	a.open("catalog")
	benchKeysRedraw(b, a.Application(), tcell.KeyRight, tcell.KeyLeft)
}

// BenchmarkUICategoryKeyRedrawBaseline: bare tview refilling a list with half of 10,000 entries
// on each key, as a category change does.
func BenchmarkUICategoryKeyRedrawBaseline(b *testing.B) {
	l := tview.NewList()
	n := 0
	l.SetInputCapture(func(ev *tcell.EventKey) *tcell.EventKey {
		n++
		l.Clear()
		for i := n % 2; i < 10_000; i += 2 {
			l.AddItem(fmt.Sprintf("Title number %d", i), "", 0, nil)
		}
		return nil
	})
	benchKeysRedraw(b, tview.NewApplication().SetRoot(l, true), tcell.KeyRight, tcell.KeyLeft)
}

func BenchmarkUIKeyRedrawBaseline(b *testing.B) {
	l := tview.NewList()
	for i := range 10_000 {
		l.AddItem(fmt.Sprintf("Title number %d", i), "", 0, nil)
	}
	benchKeyRedraw(b, tview.NewApplication().SetRoot(l, true))
}
