package ui

import (
	"context"
	"errors"
	"time"

	"github.com/gdamore/tcell/v2"

	"swarmbox/firmware/boxbus"
	"swarmbox/player"
)

// aView is one thing the TV can show: a box in some state and the screens opened on it.
type aView struct {
	name string
	box  func() Box
	open func(a *App) // pushes the screens, sets what is said; nil is Home
}

// everyView is every screen of the TV, in the states that change what it draws: the glyph,
// safe-area and fit tests render each of these (UI-4).
func everyView() []aView {
	licensed := func(st boxbus.State, kind string, end time.Duration) func() Box {
		return func() Box {
			b := downloadingBox()
			b.items[1].State, b.items[1].LicenceKind, b.items[1].Expires = st, kind, time.Now().Add(end).Unix()
			b.wishlist = []string{b.items[1].ID, b.items[3].ID}
			b.setRanks()
			return b
		}
	}
	downloading := func() Box { return downloadingBox() }
	wished := func() Box {
		b := downloadingBox()
		b.wishlist = []string{id(4), id(5), id(1)}
		b.setRanks()
		return b
	}
	push := func(open func(a *App) screen) func(a *App) { return func(a *App) { a.push(open(a)) } }
	playing := func(st player.Status, known bool, err error) func(a *App) {
		return func(a *App) {
			a.playing = &nowPlaying{id: id(2), title: "Comedy Two", ctl: &fakePlayer{}, known: known, status: st, statusErr: err, stopPoll: func() {}}
			a.push(&playingScreen{a: a, text: newPlayingText()})
		}
	}
	views := []aView{
		{"home", downloading, nil},
		{"home, owned title", licensed(boxbus.Bought, "owned", 30*24*time.Hour), nil},
		{"home, unpaired", func() Box {
			return &unpairedBox{fakeBox: newCatalogBox(3), p: boxbus.Pairing{Code: "BCDF-GHJK", URL: "http://tv.example/pair"}}
		}, nil},
		{"home, offline", func() Box {
			b := downloadingBox()
			b.link = boxbus.Link{Registered: true, OfflineSince: time.Now().Add(-time.Hour).Unix()}
			return b
		}, nil},
		{"home, never reached", func() Box { b := downloadingBox(); b.link = boxbus.Link{}; return b }, nil},
		{"home, disk full", func() Box {
			b := downloadingBox()
			b.disk = "The disk is full (0 B free in /var/lib/swarmbox): the download of \"Drama One\" is paused."
			return b
		}, nil},
		{"home, a failure said", downloading, func(a *App) { a.fail(errors.New("no")) }},
		{"home, the box not answering", downloading, func(a *App) { a.snap.trust = boxbus.ErrUnanswered; a.drawChrome() }},
		{"home, the box failing", downloading, func(a *App) { a.snap.trust = errors.New("broken"); a.drawChrome() }},
		{"catalog", downloading, push(func(a *App) screen { return newCatalog(a) })},
		{"catalog, many", func() Box { return newCatalogBox(40) }, push(func(a *App) screen { return newCatalog(a) })},
		{"catalog searched", downloading, push(func(a *App) screen { a.filter.search = "o"; return newCatalog(a) })},
		{"search", downloading, push(func(a *App) screen { a.filter.search = "drama"; return newSearch(a) })},
		{"downloads", downloading, push(func(a *App) screen { return newDownloads(a) })},
		{"wishlist", wished, push(func(a *App) screen { return newWishlist(a) })},
		{"wishlist, empty", downloading, push(func(a *App) screen { return newWishlist(a) })},
		{"title downloading", downloading, push(func(a *App) screen { return newItem(a, id(1)) })},
		{"title ready to buy", downloading, push(func(a *App) screen { return newItem(a, id(2)) })},
		{"title kept", downloading, push(func(a *App) screen { return newItem(a, id(3)) })},
		{"title free", downloading, push(func(a *App) screen { return newItem(a, id(5)) })},
		{"title owned", licensed(boxbus.Bought, "owned", 30*24*time.Hour), push(func(a *App) screen { return newItem(a, id(2)) })},
		{"title rented", licensed(boxbus.Bought, "rental", 5*time.Hour), push(func(a *App) screen { return newItem(a, id(2)) })},
		{"title rental ended", licensed(boxbus.Expired, "rental", -time.Hour), push(func(a *App) screen { return newItem(a, id(2)) })},
		{"buy dialog", downloading, push(func(a *App) screen { it, _ := a.snap.item(id(2)); return newBuy(a, it, false) })},
		{"rent dialog", downloading, push(func(a *App) screen { it, _ := a.snap.item(id(2)); return newBuy(a, it, true) })},
		{"player starting", downloading, playing(player.Status{}, false, nil)},
		{"player playing", downloading, playing(player.Status{Position: 10, Duration: 100}, true, nil)},
		{"player paused", downloading, playing(player.Status{Position: 10, Duration: 100, Paused: true}, true, nil)},
		{"player buffering", downloading, playing(player.Status{Position: 10, Duration: 100, Buffering: true}, true, nil)},
		{"player finished", downloading, playing(player.Status{Ended: true}, true, nil)},
		{"player not answering", downloading, playing(player.Status{}, true, errors.New("refused"))},
	}
	// Info over every screen.
	for _, v := range views {
		views = append(views, aView{v.name + ", help", v.box, func(a *App) {
			if v.open != nil {
				v.open(a)
			}
			a.push(newHelp(a.nav.top()))
		}})
	}
	return views
}

// render shows v on a simulated w×h console of a UI with opts and returns the console.
func render(t testingT, v aView, w, h int, opts ...Option) tcell.SimulationScreen {
	a := New(v.box(), "", opts...)
	s, err := a.model.load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	a.model.snap = s
	a.show(s)
	sim := console(a, w, h)
	if v.open != nil {
		v.open(a)
	}
	a.app.ForceDraw()
	return sim
}

// testingT is what render needs of a test.
type testingT interface {
	Fatal(args ...any)
	Context() context.Context
}
