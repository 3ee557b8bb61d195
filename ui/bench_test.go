package ui

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"swarmbox/firmware/boxbus"
)

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
	benchFirstFrame(b, func() *tview.Application { return loaded(b, box).Application() })
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
	a := loaded(b, newCatalogBox(10_000))
	a.push(newCatalog(a))
	benchKeyRedraw(b, a.Application())
}

// BenchmarkUICategoryKeyRedraw moves between two categories of a 10,000-title catalog: each
// press refilters the whole list (compare BenchmarkUIKeyRedraw, which only moves the focus).
func BenchmarkUICategoryKeyRedraw(b *testing.B) {
	a := loaded(b, newCatalogBox(10_000))
	a.push(newCatalog(a))
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

// BenchmarkEventToRedraw times from a change arriving on the box's event channel to the frame
// that shows it, with a 10,000-title catalog and a title's page on screen (its figures change
// with each event); it reports the median and the 99th percentile. The TV polled the box every
// second before it followed its signals.
func BenchmarkEventToRedraw(b *testing.B) {
	box := newCatalogBox(10_000)
	box.set(0, boxbus.Downloading, 1, 40, 0, 1<<20)
	a := New(box, "", func(c *Config) { c.Probe, c.Heartbeat = time.Hour, time.Hour })
	target := box.items[0].ID
	a.push(newItem(a, target))
	shown := make(chan int32, 1024)
	a.app.SetAfterDrawFunc(func(tcell.Screen) {
		if it, ok := a.snap.item(target); ok {
			select {
			case shown <- it.Pieces:
			default:
			}
		}
	})
	running(b, a)
	for p := range shown { // loaded
		if p == 1 {
			break
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		pieces := int32(i%38) + 2 // never the value on screen before
		t0 := time.Now()
		box.events <- boxbus.Event{Item: &boxbus.Change{Item: target, State: boxbus.Downloading, Pieces: pieces, Total: 40, BytesFromPeers: int64(pieces) << 20}}
		for p := range shown {
			if p == pieces {
				break
			}
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
