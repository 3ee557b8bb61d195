package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/godbus/dbus/v5"

	"swarmbox/firmware/boxbus"
)

// kinds are the catalog's kind filters; "" is every kind.
var kinds = []string{"", "video", "audio", "file"}

// snapshot is everything the screens draw from, as the box last told it. The model goroutine
// makes a new one for each change and never touches it again; the drawing goroutine only reads.
type snapshot struct {
	items    []*boxbus.Item            // the catalog, in the box's order; an item is replaced, never changed
	index    map[string]int            // id → position in items; replaced, never changed
	titles   int                       // bumped when the titles themselves (not their states) change
	shelves  map[string][]boxbus.Shelf // by kind filter
	wishlist []string
	local    []string // titles with pieces on the box's disk, in the box's order

	link  boxbus.Link  // the box's connection to its head-end
	terms boxbus.Terms // the head-end's currency and rental length; zero until the box syncs

	accountStatus string // "" while unknown
	balanceCents  int64
	pairing       *boxbus.Pairing // nil while unknown; replaced, never changed (pairing.go)
	nowPlaying    string
	diskFull      string   // Status.Disk: what a full disk holds up, "" when nothing
	disk          diskInfo // the media disk's size, free space and state

	loaded bool  // everything was loaded once
	trust  error // why the box is not answering (wraps boxbus.ErrUnanswered) or refused to load; nil when it answers
}

// item returns a title and where it stands.
func (s *snapshot) item(id string) (boxbus.Item, bool) {
	i, ok := s.index[id]
	if !ok {
		return boxbus.Item{}, false
	}
	return *s.items[i], true
}

// isLocal says whether the box holds pieces of id.
func (s *snapshot) isLocal(id string) bool { return slices.Contains(s.local, id) }

// clone is a copy the model may change (an item only by replacing it: cloning the pointers is
// what keeps a change to a large catalog cheap).
func (s *snapshot) clone() *snapshot {
	c := *s
	c.items = slices.Clone(s.items)
	c.wishlist = slices.Clone(s.wishlist)
	c.local = slices.Clone(s.local)
	return &c
}

// setItem replaces an item known to the catalog.
func (s *snapshot) setItem(it boxbus.Item) {
	if i, ok := s.index[it.ID]; ok {
		s.items[i] = &it
		if it.Pieces > 0 && !s.isLocal(it.ID) {
			s.local = append(s.local, it.ID)
		}
	}
}

// setWishlist replaces the wishlist and every item's rank on it.
func (s *snapshot) setWishlist(ids []string) {
	s.wishlist = ids
	for i, it := range s.items {
		if rank := int32(slices.Index(ids, it.ID) + 1); rank != it.WishRank {
			c := *it
			c.WishRank = rank
			s.items[i] = &c
		}
	}
}

// Config tunes how the TV waits on the box and the player.
type Config struct {
	Player      string        // external player command, e.g. "mpv --vo=drm"; "" plays nothing
	CallTimeout time.Duration // each call to the box
	BuyTimeout  time.Duration // Buy, which waits on the head-end
	Probe       time.Duration // how often to try the box while it does not answer
	Heartbeat   time.Duration // how often to check a quiet box and catch up on progress it did not announce
	SafeArea    int           // percent of the screen's width and height left blank at each edge (a TV crops them); 0 in a terminal window
}

// Option changes the Config of New.
type Option func(*Config)

// WithSafeArea leaves percent of the screen blank at each edge (UI-4): televisions crop the
// edges of the picture, so the box keeps its text within the title-safe area (5 on the box).
// Values outside 0–20 are taken as the nearest of those.
func WithSafeArea(percent int) Option {
	return func(c *Config) { c.SafeArea = min(20, max(0, percent)) }
}

// defaultConfig: a call to the box on the same machine answers in milliseconds, so 3 s means it
// is stuck; buying waits on the head-end over the Internet, so it gets 20 s.
func defaultConfig(player string) Config {
	return Config{Player: player, CallTimeout: 3 * time.Second, BuyTimeout: 20 * time.Second, Probe: 2 * time.Second, Heartbeat: 5 * time.Second}
}

// model follows the box on its own goroutine and publishes snapshots.
type model struct {
	box     Box
	cfg     Config
	publish func(*snapshot) // hands a snapshot to the drawing goroutine
	edits   chan func(*snapshot)

	snap     *snapshot // the last published; the model's goroutine only
	stale    bool      // a reload is due: the box came back, or the catalog changed
	lastBeat time.Time // the last check that the box answers
	lastTry  time.Time // the last load
}

func newModel(box Box, cfg Config, publish func(*snapshot)) *model {
	return &model{box: box, cfg: cfg, publish: publish, edits: make(chan func(*snapshot), 16),
		snap: &snapshot{index: map[string]int{}, shelves: map[string][]boxbus.Shelf{}}}
}

// edit changes the snapshot from another goroutine (a command's result); it waits while the
// model is busy, at most until ctx ends.
func (m *model) edit(ctx context.Context, f func(*snapshot)) {
	select {
	case m.edits <- f:
	case <-ctx.Done():
	}
}

// unanswered notes that a call found the box not answering.
func (m *model) unanswered(ctx context.Context, err error) {
	m.edit(ctx, func(s *snapshot) {
		if s.trust == nil {
			s.trust = err
		}
	})
}

func (m *model) set(s *snapshot) {
	m.snap = s
	m.publish(s)
}

// call runs f with the call deadline.
func (m *model) call(ctx context.Context, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
	defer cancel()
	return f(ctx)
}

// run follows the box until ctx ends.
func (m *model) run(ctx context.Context) {
	tick := time.NewTicker(min(m.cfg.Probe, m.cfg.Heartbeat))
	defer tick.Stop()
	var events <-chan boxbus.Event
	for ctx.Err() == nil {
		if events == nil {
			ch, err := m.box.Follow(ctx)
			if err != nil {
				m.distrust(fmt.Errorf("%w: %w", boxbus.ErrUnanswered, err))
				if !sleep(ctx, m.cfg.Probe) {
					return
				}
				continue
			}
			events = ch
			m.reload(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil // the connection was lost: follow again
				continue
			}
			next := m.snap.clone()
			m.apply(ctx, next, ev)
			for n := len(events); n > 0; n-- { // the events already waiting: one redraw for all
				if ev, ok := <-events; ok {
					m.apply(ctx, next, ev)
				}
			}
			if m.stale && next.trust == nil {
				m.snap = next
				m.reload(ctx)
			} else {
				m.set(next) // a daemon that left is tried again by the probe, or when it is back
			}
		case f := <-m.edits:
			next := m.snap.clone()
			f(next)
			if next.trust != nil && m.snap.trust == nil {
				m.stale = true // catch up once it answers again
			}
			m.set(next)
		case <-tick.C:
			switch {
			case m.stale || m.snap.trust != nil:
				if time.Since(m.lastTry) >= m.cfg.Probe {
					m.reload(ctx)
				}
			case time.Since(m.lastBeat) >= m.cfg.Heartbeat && len(m.snap.items) == 0:
				m.reload(ctx) // no catalog yet: the box has not synced, or did not say it has
			case time.Since(m.lastBeat) >= m.cfg.Heartbeat:
				m.heartbeat(ctx)
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// distrust publishes that the box does not answer, keeping what it said before.
func (m *model) distrust(err error) {
	m.stale = true
	if m.snap.trust != nil && m.snap.trust.Error() == err.Error() {
		return
	}
	next := m.snap.clone()
	next.trust = err
	m.set(next)
}

// reload loads everything afresh; when the box does not answer, the old snapshot stays with
// the reason.
func (m *model) reload(ctx context.Context) {
	m.lastTry = time.Now()
	s, err := m.load(ctx)
	if err != nil {
		m.distrust(err)
		return
	}
	m.stale = false
	m.lastBeat = time.Now()
	m.set(s)
}

// load reads everything the screens show, each call with the call deadline.
func (m *model) load(ctx context.Context) (*snapshot, error) {
	s := &snapshot{index: map[string]int{}, shelves: map[string][]boxbus.Shelf{}, loaded: true}
	steps := []func(ctx context.Context) error{
		func(ctx context.Context) error { return m.loadPairing(ctx, s) },
		func(ctx context.Context) error {
			items, err := m.box.Items(ctx)
			for i := range items {
				s.items = append(s.items, &items[i])
			}
			return err
		},
		func(ctx context.Context) (err error) { s.wishlist, err = m.box.Wishlist(ctx); return },
		func(ctx context.Context) error {
			st, err := m.box.Status(ctx)
			for _, l := range st.Items {
				s.local = append(s.local, l.ID)
			}
			s.link, s.terms = st.Link, st.Terms
			s.diskFull = st.Disk
			return err
		},
		func(ctx context.Context) error {
			var err error
			s.accountStatus, s.balanceCents, err = m.box.Account(ctx)
			if errors.Is(err, boxbus.Refusal(boxbus.ErrAccountUnknown)) {
				return nil // the box has not synced yet: the properties tell when it has
			}
			return err
		},
	}
	for _, k := range kinds {
		steps = append(steps, func(ctx context.Context) (err error) { s.shelves[k], err = m.box.Categories(ctx, k); return })
	}
	steps = append(steps, func(ctx context.Context) (err error) { s.disk, err = loadDisk(ctx, m.box); return })
	for _, step := range steps {
		if err := m.call(ctx, step); err != nil {
			return nil, fmt.Errorf("loading from the box: %w", err)
		}
	}
	for i, it := range s.items {
		s.index[it.ID] = i
	}
	s.nowPlaying = m.snap.nowPlaying
	// The screens rebuild their title rows only when the titles changed.
	s.titles = m.snap.titles
	if s.terms.Currency != m.snap.terms.Currency || !slices.EqualFunc(s.items, m.snap.items, func(a, b *boxbus.Item) bool { return titleOf(*a) == titleOf(*b) }) {
		s.titles++
	}
	return s, nil
}

// titleOf is an item without where it stands.
func titleOf(it boxbus.Item) boxbus.Title {
	return boxbus.Title{ID: it.ID, Title: it.Title, Kind: it.Kind, Size: it.Size, PriceCents: it.PriceCents, Category: it.Category}
}

// apply changes s by one event.
func (m *model) apply(ctx context.Context, s *snapshot, ev boxbus.Event) {
	switch {
	case ev.Owner != nil && *ev.Owner == "":
		m.stale = true
		s.trust = fmt.Errorf("%w: its service left the bus", boxbus.ErrUnanswered)
	case ev.Owner != nil:
		m.stale = true // a new daemon: everything afresh
		s.trust = nil
	case ev.Item != nil:
		m.applyChange(ctx, s, *ev.Item)
	case ev.Properties != nil:
		m.applyProperties(s, ev.Properties)
	}
}

func (m *model) applyChange(ctx context.Context, s *snapshot, c boxbus.Change) {
	it, ok := s.item(c.Item)
	if !ok {
		m.stale = true // a title the replica did not have: the catalog changed
		return
	}
	if c.State == boxbus.Removed {
		it.State, it.Pieces, it.BytesFromServer, it.BytesFromPeers, it.Expires, it.LicenceKind = boxbus.NotWished, 0, 0, 0, 0, ""
		s.setItem(it)
		s.local = slices.DeleteFunc(s.local, func(id string) bool { return id == c.Item })
		s.setWishlist(slices.DeleteFunc(s.wishlist, func(id string) bool { return id == c.Item }))
		return
	}
	// A new state may bring a licence or a wishlist rank the signal does not carry; a complete
	// title announced in the same state changed its licence (a renewal, or one refused).
	reread := it.State != c.State || (c.State.Complete() && c.Pieces == it.Pieces)
	it.State, it.Pieces, it.TotalPieces, it.BytesFromServer, it.BytesFromPeers = c.State, c.Pieces, c.Total, c.BytesFromServer, c.BytesFromPeers
	if reread {
		if err := m.call(ctx, func(ctx context.Context) (err error) { it, err = m.box.Item(ctx, c.Item); return }); err != nil {
			if errors.Is(err, boxbus.ErrUnanswered) {
				s.trust = err
				m.stale = true
			}
		}
	}
	s.setItem(it)
}

func (m *model) applyProperties(s *snapshot, props map[string]dbus.Variant) {
	for name, v := range props {
		switch val := v.Value(); name {
		case boxbus.PropWishlist:
			if ids, ok := val.([]string); ok {
				s.setWishlist(ids)
			}
		case boxbus.PropNowPlaying:
			if id, ok := val.(string); ok {
				s.nowPlaying = id
			}
		case boxbus.PropAccountStatus:
			if st, ok := val.(string); ok {
				s.accountStatus = st
			}
		case boxbus.PropBalanceCents:
			if c, ok := val.(int64); ok {
				s.balanceCents = c
			}
		case boxbus.PropCatalogVersion:
			m.stale = true
		case boxbus.PropCurrency:
			if c, ok := val.(string); ok && c != s.terms.Currency {
				s.terms.Currency = c
				s.titles++ // the catalog's prices read in it
			}
		case boxbus.PropRentalSeconds:
			if sec, ok := val.(int64); ok {
				s.terms.RentalSeconds = sec
			}
		case boxbus.PropOnline:
			if on, ok := val.(bool); ok {
				s.link.Online = on
			}
		case boxbus.PropOfflineSince:
			if t, ok := val.(int64); ok {
				s.link.OfflineSince = t
			}
		case boxbus.PropRegistered:
			if r, ok := val.(bool); ok {
				s.link.Registered = r
			}
		case boxbus.PropPaired, boxbus.PropPairingCode, boxbus.PropPairingURL:
			s.applyPairing(name, val)
		default:
			s.disk.apply(name, val)
		}
	}
}

// heartbeat checks that a quiet box still answers (a stopped daemon keeps its bus name, so the
// bus does not tell) and catches up on progress and states it did not announce.
func (m *model) heartbeat(ctx context.Context) {
	m.lastBeat = time.Now()
	var st boxbus.Status
	if err := m.call(ctx, func(ctx context.Context) (err error) { st, err = m.box.Status(ctx); return }); err != nil {
		if errors.Is(err, boxbus.ErrUnanswered) {
			m.distrust(err)
		}
		return
	}
	next := m.snap.clone()
	changed := next.link != st.Link || next.diskFull != st.Disk || next.terms != st.Terms
	if next.terms.Currency != st.Currency {
		next.titles++
	}
	next.link, next.terms = st.Link, st.Terms
	next.diskFull = st.Disk
	for _, l := range st.Items {
		it, ok := next.item(l.ID)
		if !ok {
			continue
		}
		wasLocal, wasComplete := next.isLocal(l.ID), it.TotalPieces > 0 && it.Pieces == it.TotalPieces
		if wasLocal && it.Pieces == l.Pieces && it.BytesFromServer == l.BytesFromServer && it.BytesFromPeers == l.BytesFromPeers {
			continue
		}
		changed = true
		it.Pieces, it.TotalPieces, it.BytesFromServer, it.BytesFromPeers = l.Pieces, l.Total, l.BytesFromServer, l.BytesFromPeers
		if !wasLocal || wasComplete != l.Complete {
			// Its state changed too (downloading, ready to buy); on an error the figures do.
			m.call(ctx, func(ctx context.Context) error {
				fresh, err := m.box.Item(ctx, l.ID)
				if err == nil {
					it = fresh
				}
				return err
			})
		}
		if !next.isLocal(l.ID) {
			next.local = append(next.local, l.ID)
		}
		next.setItem(it)
	}
	if next.accountStatus == "" {
		if status, balance, err := m.accountNow(ctx); err == nil {
			next.accountStatus, next.balanceCents, changed = status, balance, true
		}
	}
	if changed {
		m.set(next)
	}
}

func (m *model) accountNow(ctx context.Context) (status string, balance int64, err error) {
	err = m.call(ctx, func(ctx context.Context) (err error) { status, balance, err = m.box.Account(ctx); return })
	return
}

// refresh reads items and the wishlist after a command changed them, for a box that does not
// announce every change; the result reaches the screens through the model.
func (m *model) refresh(ctx context.Context, wishlist bool, ids ...string) {
	var items []boxbus.Item
	for _, id := range ids {
		if it, err := m.box.Item(ctx, id); err == nil {
			items = append(items, it)
		}
	}
	var wl []string
	var wlErr error
	if wishlist {
		wl, wlErr = m.box.Wishlist(ctx)
	}
	m.edit(ctx, func(s *snapshot) {
		for _, it := range items {
			s.setItem(it)
		}
		if wishlist && wlErr == nil {
			s.setWishlist(wl)
		}
	})
}
