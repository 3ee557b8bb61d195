// Package ui is the box's TV interface: a tview program driven by the remote control (or a
// terminal keyboard), and a client of the box's D-Bus API only — it never opens the database,
// the torrent engine or a key.
//
// One goroutine (the model) follows the box and hands the drawing goroutine immutable
// snapshots; the household's actions run as commands with deadlines, so a box that stops
// answering never freezes the TV.
package ui

import (
	"context"

	"github.com/godbus/dbus/v5"

	"swarmbox/firmware/boxbus"
)

// Box is what the TV needs from the box's D-Bus API; *boxbus.Client is one.
type Box interface {
	Items(ctx context.Context) ([]boxbus.Item, error)
	Item(ctx context.Context, id string) (boxbus.Item, error)
	Categories(ctx context.Context, kind string) ([]boxbus.Shelf, error)
	Wishlist(ctx context.Context) ([]string, error)
	MoveWish(ctx context.Context, id string, pos int) error
	RemoveWish(ctx context.Context, id string) error
	Buy(ctx context.Context, id string, rent bool) (boxbus.Purchase, error)
	Play(ctx context.Context, id string) (url string, err error)
	Stop(ctx context.Context) error
	Account(ctx context.Context) (status string, balanceCents int64, err error)
	Status(ctx context.Context) (boxbus.Status, error)
	Follow(ctx context.Context) (<-chan boxbus.Event, error)
}

// NewDBusBox is the box that owns name (boxbus.Name when empty) on conn.
func NewDBusBox(conn *dbus.Conn, name string) *boxbus.Client { return boxbus.NewClient(conn, name) }
