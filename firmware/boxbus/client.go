package boxbus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// Client calls the box's API on a bus. Every call takes a context: a daemon that stops
// answering costs a caller its deadline, never a hang.
type Client struct {
	conn *dbus.Conn
	name string
	obj  dbus.BusObject
	peer bool // a peer-to-peer connection to the daemon itself, no bus daemon between
}

// DialSocket connects to the daemon's own API socket (peer-to-peer D-Bus, no bus daemon: the
// box's state folder's api.sock). It fails when no daemon answers there. Close the client.
func DialSocket(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("connect to the box's API at %s: %w", path, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	} else {
		nc.SetDeadline(time.Now().Add(10 * time.Second))
	}
	conn, err := dbus.NewConn(nc)
	if err == nil {
		err = conn.Auth(nil)
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("authenticate to the box's API at %s (run as the daemon's user or root): %w", path, err)
	}
	nc.SetDeadline(time.Time{})
	c := NewClient(conn, "")
	c.peer = true
	return c, nil
}

// Close closes the client's connection.
func (c *Client) Close() error { return c.conn.Close() }

// NewClient talks to the daemon owning name (Name when empty) on conn.
func NewClient(conn *dbus.Conn, name string) *Client {
	if name == "" {
		name = Name
	}
	return &Client{conn: conn, name: name, obj: conn.Object(name, Path)}
}

// BusName is the name the client talks to.
func (c *Client) BusName() string { return c.name }

func (c *Client) call(ctx context.Context, method string, out []any, args ...any) error {
	call := c.obj.CallWithContext(ctx, Interface+"."+method, 0, args...)
	if call.Err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w: %w", method, ErrUnanswered, ctx.Err())
		}
		return fromCall(method, call.Err)
	}
	if err := call.Store(out...); err != nil {
		return fmt.Errorf("%s: the box answered in an unexpected shape (%w): update this client", method, err)
	}
	return nil
}

// Running reports whether a daemon owns the client's bus name (or, on the daemon's own socket,
// answers a ping).
func (c *Client) Running(ctx context.Context) bool {
	if c.peer {
		return c.obj.CallWithContext(ctx, "org.freedesktop.DBus.Peer.Ping", 0).Err == nil
	}
	var has bool
	err := c.conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, c.name).Store(&has)
	return err == nil && has
}

// Catalog lists every title of the box's catalog replica.
func (c *Client) Catalog(ctx context.Context) (out []Title, err error) {
	err = c.call(ctx, "Catalog", []any{&out})
	return
}

// Categories lists the categories holding titles of kind ("" = every kind), parents included,
// sorted, the uncategorised ("") last.
func (c *Client) Categories(ctx context.Context, kind string) (out []Shelf, err error) {
	err = c.call(ctx, "Categories", []any{&out}, kind)
	return
}

// Item returns one title and where it stands on this box.
func (c *Client) Item(ctx context.Context, id string) (out Item, err error) {
	err = c.call(ctx, "Item", []any{&out}, id)
	return
}

// Items returns every catalog title with where it stands on this box.
func (c *Client) Items(ctx context.Context) (out []Item, err error) {
	err = c.call(ctx, "Items", []any{&out})
	return
}

// Wishlist returns the wishlist, most wanted first.
func (c *Client) Wishlist(ctx context.Context) (out []string, err error) {
	err = c.call(ctx, "Wishlist", []any{&out})
	return
}

// SetWishlist replaces the wishlist.
func (c *Client) SetWishlist(ctx context.Context, ids []string) error {
	if ids == nil {
		ids = []string{}
	}
	return c.call(ctx, "SetWishlist", nil, ids)
}

// MoveWish puts a title at position pos (1 = most wanted), adding it when needed.
func (c *Client) MoveWish(ctx context.Context, id string, pos int) error {
	return c.call(ctx, "MoveWish", nil, id, int32(pos))
}

// RemoveWish takes a title off the wishlist.
func (c *Client) RemoveWish(ctx context.Context, id string) error {
	return c.call(ctx, "RemoveWish", nil, id)
}

// Buy buys (or rents) a title.
func (c *Client) Buy(ctx context.Context, id string, rent bool) (p Purchase, err error) {
	err = c.call(ctx, "Buy", []any{&p.Licence, &p.Expires, &p.ChargedCents, &p.BalanceCents}, id, rent)
	return
}

// Play opens a bought title and returns the loopback URL it is served on.
func (c *Client) Play(ctx context.Context, id string) (url string, err error) {
	err = c.call(ctx, "Play", []any{&url}, id)
	return
}

// Stop ends playback.
func (c *Client) Stop(ctx context.Context) error { return c.call(ctx, "Stop", nil) }

// Account returns the account's status and balance as of the box's last sync.
func (c *Client) Account(ctx context.Context) (status string, balanceCents int64, err error) {
	err = c.call(ctx, "Account", []any{&status, &balanceCents})
	return
}

// Status returns the box, its account and head-end, every local title's progress, its
// connection to the head-end and the head-end's terms (from the properties; a daemon without
// them counts as online, with terms unknown).
func (c *Client) Status(ctx context.Context) (s Status, err error) {
	if err = c.call(ctx, "Status", []any{&s.Box, &s.Account, &s.Headend, &s.Items, &s.Disk}); err != nil {
		return s, err
	}
	all, err := c.properties(ctx)
	s.Link, s.Terms = linkOf(all), termsOf(all)
	return s, err
}

// Link reads the box's connection to its head-end from its properties. A daemon that predates
// them counts as online and registered.
func (c *Client) Link(ctx context.Context) (Link, error) {
	all, err := c.properties(ctx)
	return linkOf(all), err
}

// properties reads every property of the box; nil, without an error, from a daemon without
// them.
func (c *Client) properties(ctx context.Context) (map[string]dbus.Variant, error) {
	var all map[string]dbus.Variant
	call := c.obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.GetAll", 0, Interface)
	if call.Err != nil {
		err := fromCall("GetAll", call.Err)
		if errors.Is(err, ErrUnanswered) {
			return nil, err
		}
		return nil, nil // a daemon without the properties
	}
	if err := call.Store(&all); err != nil {
		return nil, nil
	}
	return all, nil
}

func linkOf(all map[string]dbus.Variant) Link {
	l := Link{Online: true, Registered: true}
	if v, ok := all[PropOnline].Value().(bool); ok {
		l.Online = v
	}
	if v, ok := all[PropOfflineSince].Value().(int64); ok {
		l.OfflineSince = v
	}
	if v, ok := all[PropRegistered].Value().(bool); ok {
		l.Registered = v
	}
	return l
}

func termsOf(all map[string]dbus.Variant) Terms {
	var t Terms
	if v, ok := all[PropCurrency].Value().(string); ok {
		t.Currency = v
	}
	if v, ok := all[PropRentalSeconds].Value().(int64); ok {
		t.RentalSeconds = v
	}
	return t
}

// Holdings returns the titles on the box's disk with their areas, the areas' room, past
// evictions and the titles refused for lack of space.
func (c *Client) Holdings(ctx context.Context) (d Disk, err error) {
	err = c.call(ctx, "Holdings", []any{&d.Holdings, &d.Areas, &d.Evictions, &d.Refused})
	return
}

// Property reads one of Interface's properties.
func (c *Client) Property(ctx context.Context, name string) (dbus.Variant, error) {
	var v dbus.Variant
	call := c.obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, Interface, name)
	if call.Err != nil {
		return v, fromCall("Get "+name, call.Err)
	}
	return v, call.Store(&v)
}

// Event is one thing the daemon announced: exactly one field is set.
type Event struct {
	Item       *Change                 // ItemChanged
	Properties map[string]dbus.Variant // PropertiesChanged: the properties that changed, with their new values
	// Owner is set when the bus name changed hands: "" when the daemon left the bus (it
	// stopped or crashed), its new unique name when one (re)started; a client then reloads.
	Owner *string
}

// Follow delivers the daemon's signals until ctx ends. The channel is closed then; a slow
// reader makes the bus connection queue signals, so read it promptly.
func (c *Client) Follow(ctx context.Context) (<-chan Event, error) {
	rules := [][]dbus.MatchOption{
		{dbus.WithMatchSender(c.name), dbus.WithMatchObjectPath(Path), dbus.WithMatchInterface(Interface), dbus.WithMatchMember(SignalItemChanged)},
		{dbus.WithMatchSender(c.name), dbus.WithMatchObjectPath(Path), dbus.WithMatchInterface("org.freedesktop.DBus.Properties"), dbus.WithMatchMember("PropertiesChanged")},
		{dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchInterface("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, c.name)},
	}
	if c.peer {
		rules = nil // the daemon sends its signals to every peer; there is no bus to ask
	}
	for i, r := range rules {
		if err := c.conn.AddMatchSignalContext(ctx, r...); err != nil {
			for _, r := range rules[:i] {
				c.conn.RemoveMatchSignal(r...)
			}
			return nil, fmt.Errorf("follow the box's signals: %w", err)
		}
	}
	raw := make(chan *dbus.Signal, 256)
	c.conn.Signal(raw)
	out := make(chan Event, 64)
	var once sync.Once
	go func() {
		defer close(out)
		defer once.Do(func() {
			c.conn.RemoveSignal(raw)
			for _, r := range rules {
				c.conn.RemoveMatchSignal(r...)
			}
		})
		for {
			select {
			case <-ctx.Done():
				return
			case s, ok := <-raw:
				if !ok {
					return
				}
				ev, ok := decodeSignal(s, c.name)
				if !ok {
					continue
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// decodeSignal turns a signal into an Event; ok is false for a signal that is not the box's
// (the connection delivers every signal its match rules let through, other clients' too) or
// that does not have the contract's shape.
func decodeSignal(s *dbus.Signal, name string) (Event, bool) {
	switch s.Name {
	case Interface + "." + SignalItemChanged:
		var ch Change
		var state string
		// dbus.Store converts between integer types; a body of another shape is refused here.
		if s.Path != Path || dbus.SignatureOf(s.Body...).String() != "ssiixx" || dbus.Store(s.Body, &ch.Item, &state, &ch.Pieces, &ch.Total, &ch.BytesFromServer, &ch.BytesFromPeers) != nil {
			return Event{}, false
		}
		ch.State = State(state)
		return Event{Item: &ch}, true
	case "org.freedesktop.DBus.Properties.PropertiesChanged":
		var iface string
		var changed map[string]dbus.Variant
		var invalidated []string
		if s.Path != Path || dbus.Store(s.Body, &iface, &changed, &invalidated) != nil || iface != Interface {
			return Event{}, false
		}
		return Event{Properties: changed}, true
	case "org.freedesktop.DBus.NameOwnerChanged":
		var n, old, owner string
		if dbus.Store(s.Body, &n, &old, &owner) != nil || n != name {
			return Event{}, false
		}
		return Event{Owner: &owner}, true
	}
	return Event{}, false
}
