package firmware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"

	"swarmbox/media"
	"swarmbox/player"
	"swarmbox/storage"
	"swarmbox/sync/cloudclient"
)

// The box's D-Bus API. The TV UI is a client of it and of nothing else.
const (
	DBusName      = "org.swarmbox.Box"
	DBusPath      = dbus.ObjectPath("/org/swarmbox/Box1")
	DBusInterface = "org.swarmbox.Box1"
	dbusErrPrefix = "org.swarmbox.Error."
)

// CatalogEntry is one catalog title on D-Bus: (sssxxs).
type CatalogEntry struct {
	ID, Title, Kind  string
	Size, PriceCents int64
	Category         string // e.g. "films/drama"; "" = uncategorised (added last, so older fields keep their place)
}

// ItemEntry is a title and its state on this box on D-Bus: (sssxxsixxxs).
type ItemEntry struct {
	ID, Title, Kind  string
	Size, PriceCents int64
	State            string
	WishRank         int32
	Pieces           int64
	TotalPieces      int64
	Expires          int64  // Unix seconds; 0 when not bought
	Category         string // as in CatalogEntry
}

// CategoryEntry is one category and how many titles it holds (those beneath it included) on
// D-Bus: (si). "" is the uncategorised titles.
type CategoryEntry struct {
	Category string
	Titles   int32
}

// StatusEntry is one local title in Status: (sbiixx).
type StatusEntry struct {
	ID              string
	Complete        bool
	Pieces, Total   int32
	BytesFromServer int64
	BytesFromPeers  int64
}

// DBusService publishes the API on a bus and emits its signals.
type DBusService struct {
	conn *dbus.Conn
	obj  *dbusObject
}

// ServeDBus exports api on conn at DBusPath and takes the bus name (DBusName when empty). It
// fails if another box already owns the name.
func ServeDBus(conn *dbus.Conn, api *API, name string) (*DBusService, error) {
	if name == "" {
		name = DBusName
	}
	obj := &dbusObject{api: api}
	if err := conn.Export(obj, DBusPath, DBusInterface); err != nil {
		return nil, fmt.Errorf("export D-Bus object: %w", err)
	}
	node := &introspect.Node{
		Name: string(DBusPath),
		Interfaces: []introspect.Interface{
			introspect.IntrospectData,
			{
				Name:    DBusInterface,
				Methods: introspect.Methods(obj),
				Signals: []introspect.Signal{
					{Name: "Progress", Args: []introspect.Arg{{Name: "item", Type: "s"}, {Name: "pieces", Type: "i"}, {Name: "total", Type: "i"},
						{Name: "bytes_from_server", Type: "x"}, {Name: "bytes_from_peers", Type: "x"}}},
					{Name: "ItemState", Args: []introspect.Arg{{Name: "item", Type: "s"}, {Name: "state", Type: "s"}}},
				},
			},
		},
	}
	if err := conn.Export(introspect.NewIntrospectable(node), DBusPath, "org.freedesktop.DBus.Introspectable"); err != nil {
		return nil, err
	}
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil {
		return nil, fmt.Errorf("request D-Bus name %s: %w", name, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return nil, fmt.Errorf("D-Bus name %s is taken: is another swarmboxd running on this bus?", name)
	}
	return &DBusService{conn: conn, obj: obj}, nil
}

// Progress emits the Progress signal.
func (s *DBusService) Progress(item media.ItemID, pieces, total int, fromServer, fromPeers int64) {
	s.conn.Emit(DBusPath, DBusInterface+".Progress", item.String(), int32(pieces), int32(total), fromServer, fromPeers)
}

// StateChanged emits the ItemState signal.
func (s *DBusService) StateChanged(item media.ItemID, state string) {
	s.conn.Emit(DBusPath, DBusInterface+".ItemState", item.String(), state)
}

// Close stops playback and the object.
func (s *DBusService) Close() { s.obj.Stop() }

// dbusObject's exported methods are exactly the D-Bus methods.
type dbusObject struct {
	api *API

	mu   sync.Mutex
	play *playback
}

func callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

// dbusError names the reason for the caller: org.swarmbox.Error.NotBought and so on.
func dbusError(err error) *dbus.Error {
	if err == nil {
		return nil
	}
	name := "Failed"
	var api *cloudclient.APIError
	switch {
	case errors.Is(err, player.ErrNotBought):
		name = "NotBought"
	case errors.Is(err, player.ErrNotDownloaded):
		name = "NotDownloaded"
	case errors.Is(err, ErrUnknownItem), errors.Is(err, storage.ErrNotFound):
		name = "UnknownItem"
	case errors.Is(err, media.ErrExpired):
		name = "Expired"
	case errors.Is(err, media.ErrWrongBox), errors.Is(err, media.ErrKeyUnwrap):
		name = "WrongBox"
	case errors.Is(err, media.ErrBadSignature), errors.Is(err, media.ErrMalformedLicense):
		name = "BadLicense"
	case errors.Is(err, media.ErrDamaged), errors.Is(err, media.ErrTruncated):
		name = "Damaged"
	case errors.Is(err, errInvalidArgs), errors.Is(err, ErrUnknownKind):
		name = "InvalidArgs"
	case errors.Is(err, ErrAccountUnknown):
		name = "AccountUnknown"
	case errors.As(err, &api):
		switch api.Code {
		case "insufficient_balance":
			name = "InsufficientBalance"
		case "account_inactive":
			name = "AccountInactive"
		case "unknown_item":
			name = "UnknownItem"
		default:
			name = "HeadendRefused"
		}
	case errors.Is(err, cloudclient.ErrUnreachable):
		name = "HeadendUnreachable"
	}
	return dbus.NewError(dbusErrPrefix+name, []any{err.Error()})
}

var errInvalidArgs = errors.New("invalid arguments")

func parseItem(s string) (media.ItemID, *dbus.Error) {
	id, err := media.ParseItemID(s)
	if err != nil {
		return id, dbusError(fmt.Errorf("%w: %w", errInvalidArgs, err))
	}
	return id, nil
}

// Catalog lists every title in the box's catalog replica.
func (o *dbusObject) Catalog() ([]CatalogEntry, *dbus.Error) {
	ctx, cancel := callCtx()
	defer cancel()
	cat, err := o.api.Catalog(ctx)
	if err != nil {
		return nil, dbusError(err)
	}
	out := []CatalogEntry{}
	for _, it := range cat.Items {
		out = append(out, CatalogEntry{it.ID.String(), it.Title, it.Kind, it.Size, it.PriceCents, it.Category})
	}
	return out, nil
}

// Categories lists the categories holding titles of kind ("" for every kind), parents
// included, sorted, the uncategorised ("") last.
func (o *dbusObject) Categories(kind string) ([]CategoryEntry, *dbus.Error) {
	ctx, cancel := callCtx()
	defer cancel()
	sh, err := o.api.Categories(ctx, kind)
	if err != nil {
		return nil, dbusError(err)
	}
	out := []CategoryEntry{}
	for _, c := range sh {
		out = append(out, CategoryEntry{c.Category, int32(c.Titles)})
	}
	return out, nil
}

// Item returns one title and its state on this box.
func (o *dbusObject) Item(id string) (ItemEntry, *dbus.Error) {
	item, derr := parseItem(id)
	if derr != nil {
		return ItemEntry{}, derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	info, err := o.api.Item(ctx, item)
	if err != nil {
		return ItemEntry{}, dbusError(err)
	}
	e := ItemEntry{ID: id, Title: info.Title, Kind: info.Kind, Category: info.Category, Size: info.Size, PriceCents: info.PriceCents, State: info.State,
		WishRank: int32(info.WishRank), Pieces: int64(info.Pieces), TotalPieces: int64(info.CatalogItem.Pieces)}
	if !info.Expires.IsZero() {
		e.Expires = info.Expires.Unix()
	}
	return e, nil
}

// Wishlist returns the wishlist, most wanted first.
func (o *dbusObject) Wishlist() ([]string, *dbus.Error) {
	ctx, cancel := callCtx()
	defer cancel()
	w, err := o.api.Wishlist(ctx)
	if err != nil {
		return nil, dbusError(err)
	}
	out := []string{}
	for _, it := range w {
		out = append(out, it.String())
	}
	return out, nil
}

// SetWishlist replaces the wishlist.
func (o *dbusObject) SetWishlist(ids []string) *dbus.Error {
	var items []media.ItemID
	for _, s := range ids {
		it, derr := parseItem(s)
		if derr != nil {
			return derr
		}
		items = append(items, it)
	}
	ctx, cancel := callCtx()
	defer cancel()
	return dbusError(o.api.SetWishlist(ctx, items))
}

// MoveWish puts a title at a position of the wishlist (1 = most wanted), adding it if needed.
func (o *dbusObject) MoveWish(id string, position int32) *dbus.Error {
	item, derr := parseItem(id)
	if derr != nil {
		return derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	if err := o.api.MoveWish(ctx, item, int(position)); err != nil {
		return dbusError(fmt.Errorf("%w: %w", errInvalidArgs, err))
	}
	return nil
}

// RemoveWish takes a title off the wishlist.
func (o *dbusObject) RemoveWish(id string) *dbus.Error {
	item, derr := parseItem(id)
	if derr != nil {
		return derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	return dbusError(o.api.RemoveWish(ctx, item))
}

// Buy buys or rents a title; it returns the license id, its expiry (Unix seconds), what was
// charged and the balance left, in cents.
func (o *dbusObject) Buy(id string, rent bool) (string, int64, int64, int64, *dbus.Error) {
	item, derr := parseItem(id)
	if derr != nil {
		return "", 0, 0, 0, derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	p, err := o.api.Buy(ctx, item, rent)
	if err != nil {
		return "", 0, 0, 0, dbusError(err)
	}
	return p.License.ID, p.License.Expires.Unix(), p.ChargedCents, p.BalanceCents, nil
}

// Play checks the license and serves the decrypted title on a loopback-only HTTP URL with Range
// support, for a media player that seeks. One title plays at a time.
func (o *dbusObject) Play(id string) (string, *dbus.Error) {
	item, derr := parseItem(id)
	if derr != nil {
		return "", derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	t, err := o.api.Open(ctx, item)
	if err != nil {
		return "", dbusError(err)
	}
	release, err := o.api.Hold(context.Background(), item)
	if err != nil {
		t.Close()
		return "", dbusError(err)
	}
	p, err := startPlayback(t)
	if err != nil {
		release()
		t.Close()
		return "", dbusError(err)
	}
	p.release = release
	o.mu.Lock()
	old := o.play
	o.play = p
	o.mu.Unlock()
	if old != nil {
		old.stop()
	}
	return p.url, nil
}

// Stop ends playback.
func (o *dbusObject) Stop() *dbus.Error {
	o.mu.Lock()
	p := o.play
	o.play = nil
	o.mu.Unlock()
	if p != nil {
		p.stop()
	}
	return nil
}

// Account returns the household's account status and balance in cents, as of the box's last
// sync; org.swarmbox.Error.AccountUnknown before the first.
func (o *dbusObject) Account() (string, int64, *dbus.Error) {
	ai, err := o.api.AccountInfo()
	if err != nil {
		return "", 0, dbusError(err)
	}
	return ai.Status, ai.BalanceCents, nil
}

// Status returns the box id, its account and head-end, and every local title's progress.
func (o *dbusObject) Status() (string, string, string, []StatusEntry, *dbus.Error) {
	ctx, cancel := callCtx()
	defer cancel()
	id, err := o.api.Store.Identity(ctx)
	if err != nil {
		return "", "", "", nil, dbusError(err)
	}
	items, err := o.api.Store.Items(ctx)
	if err != nil {
		return "", "", "", nil, dbusError(err)
	}
	out := []StatusEntry{}
	for _, it := range items {
		out = append(out, StatusEntry{it.ID.String(), it.Complete, int32(it.Pieces), int32(it.Total), it.BytesFromServer, it.BytesFromPeers})
	}
	return id.Box.String(), id.Account, id.HeadendURL, out, nil
}

// playback serves one open title over loopback HTTP.
type playback struct {
	url     string
	srv     *http.Server
	title   *player.Title
	release func() // ends the play lease that keeps the title from eviction
}

func startPlayback(t *player.Title) (*playback, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 12)
	rand.Read(tok)
	path := "/play/" + hex.EncodeToString(tok) // unguessable, so other local users cannot watch along
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", time.Time{}, io.NewSectionReader(t, 0, t.Size()))
	})
	p := &playback{url: "http://" + ln.Addr().String() + path, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, title: t}
	go p.srv.Serve(ln)
	return p, nil
}

func (p *playback) stop() {
	p.srv.Close()
	p.title.Close()
	if p.release != nil {
		p.release()
	}
}
