package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"swarmbox/firmware/boxbus"
	"swarmbox/player"
)

// TestTVStatesAreTrue (UI-2, issue 18): every state a title can be in reads in the shared
// vocabulary on every screen that shows it (Home, the title's page, the wishlist, Downloads,
// the catalog); a rental never reads "bought"; nothing received reads no shares; a free title is
// never offered for sale; prices carry the account's currency; "Playing" appears only while the
// player reports playing; a failed Play says what happened in a sentence, without addresses.
// The avoid words are looked for in any case.
func TestTVStatesAreTrue(t *testing.T) {
	comedy := id(2) // downloadingBox's second title, 2.99 to own
	item := func(n int) func(a *App) screen { return func(a *App) screen { return newItem(a, id(n)) } }
	wishlist := func(a *App) screen { return newWishlist(a) }
	downloads := func(a *App) screen { return newDownloads(a) }
	catalog := func(a *App) screen { return newCatalog(a) }
	// licensed makes the second title bought, with a licence of kind ending in end from now.
	licensed := func(st boxbus.State, kind string, end time.Duration) func() *fakeBox {
		return func() *fakeBox {
			b := downloadingBox()
			b.items[1].State, b.items[1].LicenceKind, b.items[1].Expires = st, kind, time.Now().Add(end).Unix()
			b.wishlist = []string{comedy}
			b.items[1].WishRank = 1
			return b
		}
	}
	for _, c := range []struct {
		name        string
		box         func() *fakeBox
		screens     []func(a *App) screen
		want, avoid []string
	}{
		{"owned", licensed(boxbus.Bought, "owned", 30*24*time.Hour), []func(a *App) screen{item(2), wishlist},
			[]string{"Ready to watch     Comedy Two", "State     owned — the box renews its licence by", "Comedy Two                         owned", "▶ Play"},
			[]string{"rented", "buy for €", "rent for €", "ready to buy"}},
		{"rented, 2 days", licensed(boxbus.Bought, "rental", 48*time.Hour), []func(a *App) screen{item(2), wishlist, downloads},
			[]string{"State     rented · 2 days left", "Comedy Two                         rented · 2 days left", "▶ Play"},
			[]string{"bought", "48h", "0m0s", "owned"}},
		{"rented, 5 hours", licensed(boxbus.Bought, "rental", 5*time.Hour+10*time.Minute), []func(a *App) screen{item(2), wishlist},
			[]string{"State     rented · 5 hours left"},
			[]string{"bought", "owned"}},
		{"rented, less than an hour", licensed(boxbus.Bought, "rental", 20*time.Minute), []func(a *App) screen{item(2)},
			[]string{"State     rented · 20 minutes left"},
			[]string{"bought"}},
		{"rented, streamed by the box, no player says it plays", licensed(boxbus.Playing, "rental", 48*time.Hour), []func(a *App) screen{item(2), wishlist},
			[]string{"State     rented · 2 days left"},
			[]string{"playing", "bought"}},
		{"rental ended", licensed(boxbus.Expired, "rental", -time.Hour), []func(a *App) screen{item(2), wishlist},
			[]string{"Rental ended       Comedy Two", "State     rental ended", "Rent for €1.00, 2 days"},
			[]string{"bought", "left"}},
		{"ready to buy, with the currency", downloadingBox, []func(a *App) screen{item(2), catalog},
			[]string{"Ready to buy       Comedy Two", "State     ready to buy", "Price     €2.99 to own, €1.00 to rent for 2 days", "Buy for €2.99", "Rent for €1.00, 2 days", "€3.99", "€1.99"},
			[]string{" 2.99", " 3.99"}},
		{"free, ready", func() *fakeBox { b := downloadingBox(); b.items[1].PriceCents = 0; return b }, []func(a *App) screen{item(2), downloads},
			[]string{"Free to watch      Comedy Two", "State     free, ready to watch", "Price     free", "Get it — free"},
			[]string{"buy for free", "ready to buy", "buy for", "rent for"}},
		{"downloading, from where", downloadingBox, []func(a *App) screen{item(1), downloads},
			[]string{"Downloading        Drama One", "State     downloading 25%", "6.0 MB from neighbours, 3.0 MB from the operator"},
			[]string{"% from", "nothing received"}},
		{"downloading, nothing received", func() *fakeBox { b := shelvedBox(); b.set(0, boxbus.Downloading, 0, 40, 0, 0); return b }, []func(a *App) screen{item(1), downloads},
			[]string{"State     downloading 0%", "nothing received yet", "waiting for sources"},
			[]string{"% from", "from neighbours", "from the operator", "0 kb"}},
		{"downloading, all from the operator", func() *fakeBox { b := shelvedBox(); b.set(0, boxbus.Downloading, 4, 40, 1<<20, 0); return b }, []func(a *App) screen{item(1)},
			[]string{"1.0 MB received, all from the operator"},
			[]string{"from neighbours", "%  from"}},
		{"kept for neighbours", downloadingBox, []func(a *App) screen{item(3), downloads},
			[]string{"State     kept for neighbours (not on your list)", "kept for neighbours, not on your list"},
			[]string{"ready to buy      jazz", "% from"}},
		{"wished", func() *fakeBox {
			b := shelvedBox()
			b.wishlist = []string{id(4)}
			b.setRanks()
			return b
		}, []func(a *App) screen{item(4), wishlist},
			[]string{"State     on your wishlist, #1", "Kids Four                          on your wishlist"},
			[]string{"not wished"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := loaded(t, c.box())
			sim := console(a, 100, 30)
			screens := []string{strings.Join(onScreen(a, sim), "\n")}
			for _, s := range c.screens {
				a.push(s(a))
				screens = append(screens, strings.Join(onScreen(a, sim), "\n"))
				a.back()
			}
			all := strings.Join(screens, "\n")
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("no screen says %q:\n%s", w, all)
				}
			}
			for _, w := range c.avoid {
				if strings.Contains(strings.ToLower(all), strings.ToLower(w)) {
					t.Errorf("a screen says %q:\n%s", w, all)
				}
			}
		})
	}

	t.Run("the rent dialog says how long a rental plays", func(t *testing.T) {
		a := loaded(t, downloadingBox())
		it, _ := a.snap.item(comedy)
		if got := newBuy(a, it, true).text(a.snap); !strings.Contains(got, "Rent Comedy Two for €1.00? It plays for 2 days from now.") || !strings.Contains(got, "Balance €10.00, after €9.00.") {
			t.Errorf("the rent dialog says %q", got)
		}
		if got := newBuy(a, it, false).text(a.snap); strings.Contains(got, "plays for") || !strings.Contains(got, "Buy Comedy Two for €2.99?") {
			t.Errorf("the buy dialog says %q", got)
		}
	})

	// The player overlay says only what the player reports.
	for _, c := range []struct {
		name        string
		known       bool
		st          player.Status
		err         error
		want, avoid string
	}{
		{"player not answered yet", false, player.Status{}, nil, "Starting…", "playing"},
		{"player plays", true, player.Status{Position: 10, Duration: 100}, nil, "▶ Playing", "paused"},
		{"player paused", true, player.Status{Position: 10, Duration: 100, Paused: true}, nil, "‖ Paused", "playing"},
		{"player buffering", true, player.Status{Position: 10, Duration: 100, Buffering: true}, nil, "Buffering", "playing"},
		{"player finished", true, player.Status{Ended: true}, nil, "■ Finished", "playing"},
		{"player not answering", true, player.Status{}, errors.New("dial unix /tmp/mpv.sock: connection refused"), "The player does not answer. Press Stop, then Play again.", "playing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := loaded(t, downloadingBox())
			sim := console(a, 100, 30)
			a.playing = &nowPlaying{id: comedy, title: "Comedy Two", ctl: &fakePlayer{}, known: c.known, status: c.st, statusErr: c.err, stopPoll: func() {}}
			a.push(&playingScreen{a: a, text: newPlayingText()})
			screen := strings.Join(onScreen(a, sim), "\n")
			if !strings.Contains(screen, c.want) {
				t.Errorf("the player overlay lacks %q:\n%s", c.want, screen)
			}
			for _, w := range []string{c.avoid, "http://", "/tmp/", "stream"} {
				if strings.Contains(strings.ToLower(screen), w) {
					t.Errorf("the player overlay says %q:\n%s", w, screen)
				}
			}
		})
	}

	t.Run("Play on a box without a player", func(t *testing.T) {
		box := licensed(boxbus.Bought, "owned", 30*24*time.Hour)()
		a := loaded(t, box)
		sim := console(a, 100, 30)
		a.push(newItem(a, comedy))
		calls := box.calls
		a.play(comedy, "Comedy Two", 0)
		screen := strings.Join(onScreen(a, sim), "\n")
		if !strings.Contains(screen, "This box has no player set up, so it cannot show the title. Call the operator") {
			t.Errorf("no sentence says why nothing plays:\n%s", screen)
		}
		for _, w := range []string{"playing", "http://", "127.0.0.1"} {
			if strings.Contains(strings.ToLower(screen), w) {
				t.Errorf("the screen says %q:\n%s", w, screen)
			}
		}
		if a.playing != nil || box.calls != calls {
			t.Errorf("a title plays with no player (%d calls to the box)", box.calls-calls)
		}
	})

	t.Run("a failure's sentence is whole on the box's console", func(t *testing.T) {
		box := licensed(boxbus.Bought, "owned", 30*24*time.Hour)()
		a := loaded(t, box, WithSafeArea(5))
		sim := console(a, 80, 25) // 72 columns inside the safe area: the sentence takes two lines
		a.push(newItem(a, comedy))
		a.play(comedy, "Comedy Two", 0)
		words := strings.Fields(strings.Join(onScreen(a, sim), " "))
		if screen := strings.Join(words, " "); !strings.Contains(screen, noPlayer) {
			t.Errorf("the sentence %q is cut:\n%s", noPlayer, strings.Join(rows(sim), "\n"))
		}
		// Its second line starts in the column its first does.
		lines := rows(sim)
		for i, l := range lines[:len(lines)-1] {
			if strings.Contains(l, "This box has no player") {
				indent := func(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }
				if a, b := indent(l), indent(lines[i+1]); a != b || strings.TrimSpace(lines[i+1]) == "" {
					t.Errorf("the status line's lines start at columns %d and %d:\n%s\n%s", a, b, l, lines[i+1])
				}
			}
		}
	})

	for _, c := range []struct {
		name     string
		playErr  error
		startErr error
		want     string
	}{
		{"the player does not start", nil, errors.New("exec: \"mpv\": executable file not found in $PATH"), "The player did not start, so nothing plays."},
		{"the box refuses to stream", &boxbus.Error{Name: boxbus.ErrNotBought, Message: comedy + ": not bought: buy it first"}, nil, "This title is not yours yet: buy or rent it first."},
		{"the box refuses for a reason of its own", &boxbus.Error{Name: boxbus.ErrFailed, Message: "open /var/lib/swarmbox/x: input/output error"}, nil, "The box could not do that. Try again"},
	} {
		t.Run(c.name, func(t *testing.T) {
			box := licensed(boxbus.Bought, "owned", 30*24*time.Hour)()
			box.playErr = c.playErr
			a := New(box, "mpv", func(c *Config) { c.Probe, c.Heartbeat = time.Hour, time.Hour })
			a.startPlayer = func(context.Context, string, string, float64) (playback, error) { return nil, c.startErr }
			sim := running(t, a)
			see(t, a, sim, 5*time.Second, "Ready to watch     Comedy Two")
			a.app.QueueUpdateDraw(func() { a.push(newItem(a, comedy)); a.play(comedy, "Comedy Two", 0) })
			screen := see(t, a, sim, 5*time.Second, c.want)
			for _, w := range []string{"playing", "http://", "127.0.0.1", "/var/lib", "not bought: buy it first", "executable", "org.swarmbox"} {
				if strings.Contains(strings.ToLower(screen), w) {
					t.Errorf("the screen says %q:\n%s", w, screen)
				}
			}
		})
	}
}

// TestTVTakesAndRentsTrue (UI-2): a free title is taken without a price or a dialog and reads
// owned; a rental reads rented with its time left, never bought, in the status line and on the
// title's page.
func TestTVTakesAndRentsTrue(t *testing.T) {
	for _, c := range []struct {
		name  string
		price int64
		keys  []tcell.Key // on the title's page
		want  []string
		avoid []string
	}{
		{"free", 0, []tcell.Key{tcell.KeyEnter}, []string{"Done: it is yours, free. Press Play to watch.", "State     owned", "▶ Play"}, []string{"buy", "paid", "€0.00"}},
		{"rent", 299, []tcell.Key{tcell.KeyDown, tcell.KeyEnter, tcell.KeyEnter},
			[]string{"Rented: €1.00 paid, balance €9.00; 2 days left. Press Play to watch.", "State     rented · 2 days left", "▶ Play"}, []string{"bought", "owned"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			box := downloadingBox()
			box.items[1].PriceCents = c.price
			a := New(box, "", func(c *Config) { c.Probe, c.Heartbeat = time.Hour, time.Hour })
			sim := running(t, a)
			see(t, a, sim, 5*time.Second, "Comedy Two")
			a.app.QueueUpdateDraw(func() { a.push(newItem(a, id(2))) })
			see(t, a, sim, 2*time.Second, "State ")
			for _, k := range c.keys {
				a.app.QueueEvent(tcell.NewEventKey(k, 0, tcell.ModNone))
			}
			screen := see(t, a, sim, 5*time.Second, c.want...)
			for _, w := range c.avoid {
				if strings.Contains(strings.ToLower(screen), w) {
					t.Errorf("the screen says %q:\n%s", w, screen)
				}
			}
		})
	}
}
