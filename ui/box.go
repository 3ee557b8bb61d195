// Package ui is the box's TV interface: a tview program driven by the remote control (or a
// terminal keyboard), and a client of the box's D-Bus API only — it never opens the database,
// the torrent engine or a key.
package ui

import (
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// Title is a catalog entry, as org.swarmbox.Box1.Catalog returns it.
type Title struct {
	ID, Title, Kind  string
	Size, PriceCents int64
	Category         string // "" = uncategorised
}

// Shelf is a category and how many titles it holds, as org.swarmbox.Box1.Categories returns it.
type Shelf struct {
	Category string // "" = uncategorised
	Titles   int32
}

// ItemState is a title and where it stands on this box, as org.swarmbox.Box1.Item returns it.
type ItemState struct {
	ID, Title, Kind  string
	Size, PriceCents int64
	State            string
	WishRank         int32
	Pieces           int64
	TotalPieces      int64
	Expires          int64
	Category         string
}

// Local is one title on the box's disk, from org.swarmbox.Box1.Status.
type Local struct {
	ID              string
	Complete        bool
	Pieces, Total   int32
	BytesFromServer int64
	BytesFromPeers  int64
}

// Box is what the UI needs from the box.
type Box interface {
	Catalog() ([]Title, error)
	// Categories lists the categories holding titles of kind ("" = every kind), parents
	// included, sorted, uncategorised last.
	Categories(kind string) ([]Shelf, error)
	Item(id string) (ItemState, error)
	Wishlist() ([]string, error)
	MoveWish(id string, pos int) error
	RemoveWish(id string) error
	Buy(id string, rent bool) (chargedCents, balanceCents int64, err error)
	Play(id string) (url string, err error)
	Stop() error
	Local() ([]Local, error)
	Account() (status string, balanceCents int64, err error)
}

// DBusBox is the Box on the other end of a D-Bus connection.
type DBusBox struct {
	obj dbus.BusObject
}

// Interface and object of the box's API (see firmware.DBusInterface).
const (
	busName  = "org.swarmbox.Box"
	busPath  = dbus.ObjectPath("/org/swarmbox/Box1")
	busIface = "org.swarmbox.Box1"
)

// NewDBusBox talks to the box that owns name (org.swarmbox.Box when empty) on conn.
func NewDBusBox(conn *dbus.Conn, name string) *DBusBox {
	if name == "" {
		name = busName
	}
	return &DBusBox{obj: conn.Object(name, busPath)}
}

// Error is a refusal from the box: Name is the D-Bus error name's last part (NotBought, ...).
type Error struct {
	Name, Message string
}

func (e *Error) Error() string { return e.Message }

func (b *DBusBox) call(method string, out []any, args ...any) error {
	c := b.obj.Call(busIface+"."+method, 0, args...)
	if c.Err != nil {
		var de dbus.Error
		if errors.As(c.Err, &de) {
			msg := de.Name
			if len(de.Body) > 0 {
				msg = fmt.Sprint(de.Body[0])
			}
			name := de.Name
			if i := len("org.swarmbox.Error."); len(name) > i {
				name = name[i:]
			}
			return &Error{Name: name, Message: msg}
		}
		return fmt.Errorf("box unreachable on D-Bus: %w", c.Err)
	}
	return c.Store(out...)
}

// Catalog implements Box.
func (b *DBusBox) Catalog() (out []Title, err error) { err = b.call("Catalog", []any{&out}); return }

// Categories implements Box.
func (b *DBusBox) Categories(kind string) (out []Shelf, err error) {
	err = b.call("Categories", []any{&out}, kind)
	return
}

// Item implements Box.
func (b *DBusBox) Item(id string) (out ItemState, err error) {
	err = b.call("Item", []any{&out}, id)
	return
}

// Wishlist implements Box.
func (b *DBusBox) Wishlist() (out []string, err error) { err = b.call("Wishlist", []any{&out}); return }

// MoveWish implements Box.
func (b *DBusBox) MoveWish(id string, pos int) error { return b.call("MoveWish", nil, id, int32(pos)) }

// RemoveWish implements Box.
func (b *DBusBox) RemoveWish(id string) error { return b.call("RemoveWish", nil, id) }

// Buy implements Box.
func (b *DBusBox) Buy(id string, rent bool) (charged, balance int64, err error) {
	var lic string
	var expires int64
	err = b.call("Buy", []any{&lic, &expires, &charged, &balance}, id, rent)
	return
}

// Play implements Box.
func (b *DBusBox) Play(id string) (url string, err error) {
	err = b.call("Play", []any{&url}, id)
	return
}

// Stop implements Box.
func (b *DBusBox) Stop() error { return b.call("Stop", nil) }

// Local implements Box.
func (b *DBusBox) Local() ([]Local, error) {
	var box, account, headend string
	var out []Local
	err := b.call("Status", []any{&box, &account, &headend, &out})
	return out, err
}

// Account implements Box.
func (b *DBusBox) Account() (status string, balance int64, err error) {
	err = b.call("Account", []any{&status, &balance})
	return
}
