package firmware

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/godbus/dbus/v5/prop"

	"swarmbox/firmware/boxbus"
	"swarmbox/media"
	"swarmbox/player"
	"swarmbox/storage"
	"swarmbox/sync/cloudclient"
)

// DBusService publishes the API on one D-Bus connection: the object at boxbus.Path, its
// properties, and the ItemChanged and PropertiesChanged signals.
type DBusService struct {
	conn  *dbus.Conn
	props *prop.Properties
	stop  context.CancelFunc
	done  chan struct{}
}

// ServeDBus exports api on conn and takes the bus name (boxbus.Name when empty). It fails if
// another box already owns the name.
func ServeDBus(conn *dbus.Conn, api *API, name string) (*DBusService, error) {
	if name == "" {
		name = boxbus.Name
	}
	s, err := exportAPI(conn, api)
	if err != nil {
		return nil, err
	}
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("request D-Bus name %s: %w", name, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		s.Close()
		return nil, fmt.Errorf("D-Bus name %s is taken: is another swarmboxd running on this bus?", name)
	}
	return s, nil
}

// exportAPI exports api on conn, without a bus name (a peer-to-peer connection has none).
func exportAPI(conn *dbus.Conn, api *API) (*DBusService, error) {
	ctx, cancel := context.WithCancel(context.Background())
	// Subscribe before reading the properties' first values, so no change falls in between.
	changes := api.Subscribe(ctx)
	obj := &dbusObject{api: api}
	if err := conn.Export(obj, boxbus.Path, boxbus.Interface); err != nil {
		cancel()
		return nil, fmt.Errorf("export D-Bus object: %w", err)
	}
	props, err := prop.Export(conn, boxbus.Path, prop.Map{boxbus.Interface: propMap(ctx, api)})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("export D-Bus properties: %w", err)
	}
	node := &introspect.Node{
		Name:       string(boxbus.Path),
		Interfaces: []introspect.Interface{introspect.IntrospectData, prop.IntrospectData, boxbus.Introspection()},
	}
	if err := conn.Export(introspect.NewIntrospectable(node), boxbus.Path, "org.freedesktop.DBus.Introspectable"); err != nil {
		cancel()
		return nil, fmt.Errorf("export D-Bus introspection: %w", err)
	}
	s := &DBusService{conn: conn, props: props, stop: cancel, done: make(chan struct{})}
	go s.follow(ctx, api, changes)
	go s.followDisk(ctx, api, DiskProbeInterval) // read here: the goroutine may outlive a test that changes it
	return s, nil
}

// propMap is every property with its current value.
func propMap(ctx context.Context, api *API) map[string]*prop.Prop {
	st, _ := api.Status(ctx)
	ai, _ := api.Account()
	wish, _ := api.Wishlist(ctx)
	cv, _ := api.CatalogVersion(ctx)
	link := api.Link()
	pp, _ := api.Pairing(ctx)
	d := api.Disk()
	// DBusService.set announces changes itself: prop's own announcement panics on a closed
	// connection.
	ro := func(v any) *prop.Prop { return &prop.Prop{Value: v, Emit: prop.EmitFalse} }
	return map[string]*prop.Prop{
		boxbus.PropBoxID:          ro(st.Box),
		boxbus.PropAccount:        ro(st.Account),
		boxbus.PropHeadend:        ro(st.Headend),
		boxbus.PropAccountStatus:  ro(ai.Status),
		boxbus.PropBalanceCents:   ro(ai.BalanceCents),
		boxbus.PropCurrency:       ro(ai.Currency),
		boxbus.PropRentalSeconds:  ro(ai.RentalSeconds),
		boxbus.PropWishlist:       ro(ids(wish)),
		boxbus.PropCatalogVersion: ro(cv),
		boxbus.PropNowPlaying:     ro(api.NowPlaying()),
		boxbus.PropOnline:         ro(link.Online),
		boxbus.PropOfflineSince:   ro(link.OfflineSince),
		boxbus.PropRegistered:     ro(link.Registered),
		boxbus.PropPaired:         ro(pp.Paired),
		boxbus.PropPairingCode:    ro(pp.Code),
		boxbus.PropPairingURL:     ro(pp.URL),
		boxbus.PropDiskBytes:      ro(d.Bytes),
		boxbus.PropDiskFreeBytes:  ro(d.FreeBytes),
		boxbus.PropDiskState:      ro(string(d.State)),
		boxbus.PropDiskReason:     ro(d.Reason),
	}
}

func ids(items []media.ItemID) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.String())
	}
	return out
}

// follow turns the API's changes into signals and property changes until ctx ends.
func (s *DBusService) follow(ctx context.Context, api *API, changes <-chan Change) {
	defer close(s.done)
	for {
		c, ok := <-changes
		if !ok {
			if ctx.Err() != nil {
				return
			}
			// Cut off for falling behind: start again from the current values.
			changes = api.Subscribe(ctx)
			for name, p := range propMap(ctx, api) {
				s.set(name, p.Value)
			}
			continue
		}
		switch c.Kind {
		case ItemChanged:
			ch := c.Item
			s.conn.Emit(boxbus.Path, boxbus.Interface+"."+boxbus.SignalItemChanged, ch.Item, string(ch.State), ch.Pieces, ch.Total, ch.BytesFromServer, ch.BytesFromPeers)
		case WishlistChanged:
			s.set(boxbus.PropWishlist, ids(c.Wishlist))
		case NowPlayingChanged:
			s.set(boxbus.PropNowPlaying, c.NowPlaying)
		case AccountChanged:
			s.set(boxbus.PropAccountStatus, c.Account.Status)
			s.set(boxbus.PropBalanceCents, c.Account.BalanceCents)
			s.set(boxbus.PropCurrency, c.Account.Currency)
			s.set(boxbus.PropRentalSeconds, c.Account.RentalSeconds)
		case CatalogChanged:
			s.set(boxbus.PropCatalogVersion, c.CatalogVersion)
		case LinkChanged:
			s.set(boxbus.PropOnline, c.Link.Online)
			s.set(boxbus.PropOfflineSince, c.Link.OfflineSince)
			s.set(boxbus.PropRegistered, c.Link.Registered)
		case PairingChanged:
			s.set(boxbus.PropAccount, c.PairedAccount)
			s.set(boxbus.PropPaired, c.Pairing.Paired)
			s.set(boxbus.PropPairingCode, c.Pairing.Code)
			s.set(boxbus.PropPairingURL, c.Pairing.URL)
		}
	}
}

// set changes a property and announces it with PropertiesChanged. A client that hung up is
// not an error here: its connection ends by itself.
func (s *DBusService) set(name string, v any) {
	s.props.SetMust(boxbus.Interface, name, v)
	s.conn.Emit(boxbus.Path, "org.freedesktop.DBus.Properties.PropertiesChanged", boxbus.Interface, map[string]dbus.Variant{name: dbus.MakeVariant(v)}, []string{})
}

// Close stops the signals. Playback belongs to the API and goes on.
func (s *DBusService) Close() {
	s.stop()
	<-s.done
}

// dbusObject's exported methods are exactly the D-Bus methods. Each takes the raw message
// first, to refuse arguments of the wrong type: godbus would convert an int32 to a string.
type dbusObject struct {
	api *API
}

func callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

// inSignatures is each method's input signature, from the contract.
var inSignatures = func() map[string]string {
	m := map[string]string{}
	for _, meth := range boxbus.Methods {
		sig := ""
		for _, a := range meth.Args {
			if a.Direction == "in" {
				sig += a.Type
			}
		}
		m[meth.Name] = sig
	}
	return m
}()

// checkArgs refuses a call whose arguments do not have the contract's types.
func checkArgs(msg dbus.Message) *dbus.Error {
	member, _ := msg.Headers[dbus.FieldMember].Value().(string)
	want, ok := inSignatures[member]
	got := dbus.SignatureOf(msg.Body...).String()
	if !ok || got != want {
		return dbus.NewError(boxbus.DBusInvalidArgs, []any{fmt.Sprintf("%s takes (%s), not (%s): see docs/dbus.md", member, want, got)})
	}
	return nil
}

// dbusError names the reason for the caller: org.swarmbox.Error.NotBought and so on.
func dbusError(err error) *dbus.Error {
	if err == nil {
		return nil
	}
	name := boxbus.ErrFailed
	var api *cloudclient.APIError
	switch {
	case errors.Is(err, player.ErrNotBought):
		name = boxbus.ErrNotBought
	case errors.Is(err, player.ErrNotDownloaded):
		name = boxbus.ErrNotDownloaded
	case errors.Is(err, ErrUnknownItem), errors.Is(err, storage.ErrNotFound):
		name = boxbus.ErrUnknownItem
	case errors.Is(err, media.ErrExpired):
		name = boxbus.ErrExpired
	case errors.Is(err, media.ErrWrongBox), errors.Is(err, media.ErrKeyUnwrap):
		name = boxbus.ErrWrongBox
	case errors.Is(err, media.ErrBadSignature), errors.Is(err, media.ErrMalformedLicense):
		name = boxbus.ErrBadLicence
	case errors.Is(err, media.ErrDamaged), errors.Is(err, media.ErrTruncated):
		name = boxbus.ErrDamaged
	case errors.Is(err, errInvalidArgs), errors.Is(err, ErrUnknownKind), errors.Is(err, ErrBadPosition):
		name = boxbus.ErrInvalidArgs
	case errors.Is(err, ErrAccountUnknown):
		name = boxbus.ErrAccountUnknown
	case errors.Is(err, ErrOffline):
		name = boxbus.ErrOffline
	case errors.Is(err, ErrNotPaired):
		name = boxbus.ErrNotPaired
	case errors.Is(err, ErrNoSpace), errors.Is(err, storage.ErrDiskFull):
		name = boxbus.ErrNoSpace
	case errors.As(err, &api):
		switch api.Code {
		case "insufficient_balance":
			name = boxbus.ErrInsufficientBalance
		case "account_inactive":
			name = boxbus.ErrAccountInactive
		case "not_paired":
			name = boxbus.ErrNotPaired
		case "unknown_item":
			name = boxbus.ErrUnknownItem
		default:
			name = boxbus.ErrHeadendRefused
		}
	case errors.Is(err, cloudclient.ErrUnreachable):
		name = boxbus.ErrHeadendUnreachable
	}
	return boxbus.NewDBusError(name, err.Error())
}

var errInvalidArgs = errors.New("invalid arguments")

// parseItems checks the call's argument types and parses the item ids in it.
func parseItems(msg dbus.Message, ss ...string) ([]media.ItemID, *dbus.Error) {
	if derr := checkArgs(msg); derr != nil {
		return nil, derr
	}
	out := make([]media.ItemID, 0, len(ss))
	for _, s := range ss {
		id, err := media.ParseItemID(s)
		if err != nil {
			return nil, dbusError(fmt.Errorf("%w: %w", errInvalidArgs, err))
		}
		out = append(out, id)
	}
	return out, nil
}

// Catalog lists every title in the box's catalog replica.
func (o *dbusObject) Catalog(msg dbus.Message) ([]boxbus.Title, *dbus.Error) {
	if derr := checkArgs(msg); derr != nil {
		return nil, derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	out, err := o.api.Catalog(ctx)
	return out, dbusError(err)
}

// Categories lists the categories holding titles of kind ("" for every kind), parents
// included, sorted, the uncategorised ("") last.
func (o *dbusObject) Categories(msg dbus.Message, kind string) ([]boxbus.Shelf, *dbus.Error) {
	if derr := checkArgs(msg); derr != nil {
		return nil, derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	out, err := o.api.Categories(ctx, kind)
	return out, dbusError(err)
}

// Item returns one title and its state on this box.
func (o *dbusObject) Item(msg dbus.Message, id string) (boxbus.Item, *dbus.Error) {
	item, derr := parseItems(msg, id)
	if derr != nil {
		return boxbus.Item{}, derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	out, err := o.api.Item(ctx, item[0])
	return out, dbusError(err)
}

// Items returns every catalog title with its state on this box.
func (o *dbusObject) Items(msg dbus.Message) ([]boxbus.Item, *dbus.Error) {
	if derr := checkArgs(msg); derr != nil {
		return nil, derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	out, err := o.api.Items(ctx)
	return out, dbusError(err)
}

// Wishlist returns the wishlist, most wanted first.
func (o *dbusObject) Wishlist(msg dbus.Message) ([]string, *dbus.Error) {
	if derr := checkArgs(msg); derr != nil {
		return nil, derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	w, err := o.api.Wishlist(ctx)
	return ids(w), dbusError(err)
}

// SetWishlist replaces the wishlist.
func (o *dbusObject) SetWishlist(msg dbus.Message, list []string) *dbus.Error {
	items, derr := parseItems(msg, list...)
	if derr != nil {
		return derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	return dbusError(o.api.SetWishlist(ctx, items))
}

// MoveWish puts a title at a position of the wishlist (1 = most wanted), adding it if needed.
func (o *dbusObject) MoveWish(msg dbus.Message, id string, position int32) *dbus.Error {
	item, derr := parseItems(msg, id)
	if derr != nil {
		return derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	return dbusError(o.api.MoveWish(ctx, item[0], int(position)))
}

// RemoveWish takes a title off the wishlist.
func (o *dbusObject) RemoveWish(msg dbus.Message, id string) *dbus.Error {
	item, derr := parseItems(msg, id)
	if derr != nil {
		return derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	return dbusError(o.api.RemoveWish(ctx, item[0]))
}

// Buy buys or rents a title; it returns the license id, its expiry (Unix seconds), what was
// charged and the balance left, in cents.
func (o *dbusObject) Buy(msg dbus.Message, id string, rent bool) (string, int64, int64, int64, *dbus.Error) {
	item, derr := parseItems(msg, id)
	if derr != nil {
		return "", 0, 0, 0, derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	p, err := o.api.Buy(ctx, item[0], rent)
	if err != nil {
		return "", 0, 0, 0, dbusError(err)
	}
	return p.Licence, p.Expires, p.ChargedCents, p.BalanceCents, nil
}

// Play serves a bought title on a loopback URL (API.Play).
func (o *dbusObject) Play(msg dbus.Message, id string) (string, *dbus.Error) {
	item, derr := parseItems(msg, id)
	if derr != nil {
		return "", derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	url, err := o.api.Play(ctx, item[0])
	return url, dbusError(err)
}

// Stop ends playback.
func (o *dbusObject) Stop(msg dbus.Message) *dbus.Error {
	if derr := checkArgs(msg); derr != nil {
		return derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	return dbusError(o.api.Stop(ctx))
}

// Account returns the household's account status and balance in cents, as of the box's last
// sync; org.swarmbox.Error.AccountUnknown before the first.
func (o *dbusObject) Account(msg dbus.Message) (string, int64, *dbus.Error) {
	if derr := checkArgs(msg); derr != nil {
		return "", 0, derr
	}
	ai, err := o.api.Account()
	return ai.Status, ai.BalanceCents, dbusError(err)
}

// Status returns the box id, its account and head-end, and every local title's progress.
func (o *dbusObject) Status(msg dbus.Message) (string, string, string, []boxbus.Local, string, *dbus.Error) {
	if derr := checkArgs(msg); derr != nil {
		return "", "", "", nil, "", derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	s, err := o.api.Status(ctx)
	return s.Box, s.Account, s.Headend, s.Items, s.Disk, dbusError(err)
}

// Holdings returns the titles on the disk with their areas, the areas' room, past evictions
// and the titles refused for lack of space.
func (o *dbusObject) Holdings(msg dbus.Message) ([]boxbus.Holding, []boxbus.Space, []boxbus.Note, []boxbus.Note, *dbus.Error) {
	if derr := checkArgs(msg); derr != nil {
		return nil, nil, nil, nil, derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	d, err := o.api.Holdings(ctx)
	return d.Holdings, d.Areas, d.Evictions, d.Refused, dbusError(err)
}
