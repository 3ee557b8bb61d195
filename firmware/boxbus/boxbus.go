// Package boxbus is the box's D-Bus contract: the bus, object and interface names, the wire
// types of org.swarmbox.Box1, the item states, the error names, and a client. The daemon's
// service (package firmware) and every client (the TV UI, the swarmboxd subcommands) import it,
// so the contract exists once. docs/dbus.md documents it with busctl, gdbus and dbus-monitor
// examples.
//
// Integers on the wire have one type per quantity: piece counts, wishlist positions and
// category sizes are int32 ("i"); bytes, cents and Unix seconds are int64 ("x").
package boxbus

import (
	"github.com/godbus/dbus/v5"

	"swarmbox/vocab"
)

// Names of the box's API on the bus.
const (
	// Name is the well-known bus name the daemon owns (`swarmboxd run -dbus-name` may change it,
	// for several boxes on one test bus).
	Name = "org.swarmbox.Box"
	// Path is the one object the daemon exports.
	Path = dbus.ObjectPath("/org/swarmbox/Box1")
	// Interface holds the methods, signals and properties below.
	Interface = "org.swarmbox.Box1"
)

// Methods of Interface, for callers building messages by hand (busctl, tests).
const (
	MethodCatalog     = Interface + ".Catalog"
	MethodCategories  = Interface + ".Categories"
	MethodItem        = Interface + ".Item"
	MethodItems       = Interface + ".Items"
	MethodWishlist    = Interface + ".Wishlist"
	MethodSetWishlist = Interface + ".SetWishlist"
	MethodMoveWish    = Interface + ".MoveWish"
	MethodRemoveWish  = Interface + ".RemoveWish"
	MethodBuy         = Interface + ".Buy"
	MethodPlay        = Interface + ".Play"
	MethodStop        = Interface + ".Stop"
	MethodAccount     = Interface + ".Account"
	MethodStatus      = Interface + ".Status"
	MethodHoldings    = Interface + ".Holdings"
	MethodPairing     = Interface + ".Pairing"
)

// SignalItemChanged is emitted for every change of an item's state or progress on this box:
// ItemChanged(s item, s state, i pieces, i total, x bytes_from_server, x bytes_from_peers).
// State "removed" says the item left the box and the wishlist.
const SignalItemChanged = "ItemChanged"

// Properties of Interface (org.freedesktop.DBus.Properties, read-only, each change announced
// with PropertiesChanged).
const (
	PropBoxID          = "BoxID"          // s: the box's id
	PropAccount        = "Account"        // s: the household's account name
	PropHeadend        = "Headend"        // s: the head-end's URL
	PropAccountStatus  = "AccountStatus"  // s: active, suspended, closed; "" before the first sync
	PropBalanceCents   = "BalanceCents"   // x: the account's balance as of the last sync
	PropWishlist       = "Wishlist"       // as: item ids, most wanted first
	PropCatalogVersion = "CatalogVersion" // x: the local catalog replica's version; 0 = none yet
	PropNowPlaying     = "NowPlaying"     // s: the item being played; "" when none
	// PropOnline says the box reached its head-end at its last try (b). The box works offline:
	// the catalog replica, playback of bought titles, wishes (kept and sent on reconnect) and
	// sharing with LAN neighbours; buying needs the connection.
	PropOnline = "Online"
	// PropOfflineSince is when the box last lost its head-end, Unix seconds (x); 0 while online.
	PropOfflineSince = "OfflineSince"
	// PropRegistered says the head-end has enrolled this box (b); false on a first start until
	// the head-end is reached: the box then waits for it.
	PropRegistered  = "Registered"
	PropPaired      = "Paired"      // b: the box is paired to a household (Account) and may buy
	PropPairingCode = "PairingCode" // s: XXXX-XXXX to enter at PairingURL while not paired; "" when paired
	PropPairingURL  = "PairingURL"  // s: where the household enters the code; "" when paired
	// PropCurrency is the account's currency, ISO 4217 (s), from the head-end; "" before the
	// first sync. Every price and balance is in it.
	PropCurrency = "Currency"
	// PropRentalSeconds is how long a rental plays, seconds (x), from the head-end; 0 before
	// the first sync. The TV says it before the household rents.
	PropRentalSeconds = "RentalSeconds"
)

// State is where an item stands on this box; the state names and the household's words for
// them live in package vocab, which the TV, the command line and the browser share.
type State = vocab.State

// The states of an item (vocab's), in the order a title usually goes through them.
const (
	NotWished   = vocab.NotWished
	Wished      = vocab.Wished
	Downloading = vocab.Downloading
	Kept        = vocab.Kept
	ReadyToBuy  = vocab.ReadyToBuy
	Bought      = vocab.Bought
	Playing     = vocab.Playing
	Expired     = vocab.Expired
	// Removed is only a signal's state: the item is no longer on the box nor on the wishlist.
	Removed = vocab.Removed
)

// States lists every state.
var States = vocab.States

// ParseState checks a state word from the wire.
func ParseState(s string) (State, error) { return vocab.ParseState(s) }

// Title is one catalog entry: (sssxxs).
type Title struct {
	ID, Title, Kind  string
	Size, PriceCents int64
	Category         string // e.g. "films/drama"; "" = uncategorised
}

// Item is a title and where it stands on this box: (sssxxssiiixxxss).
type Item struct {
	ID, Title, Kind  string
	Size, PriceCents int64
	Category         string
	State            State
	WishRank         int32 // 1-based; 0 when not wished
	Pieces           int32 // verified pieces on this box
	TotalPieces      int32
	BytesFromServer  int64
	BytesFromPeers   int64
	Expires          int64  // the licence's expiry, Unix seconds; 0 when not bought
	LicenceKind      string // "owned", "rental"; "" when not bought
	// RenewalRefused is why the head-end last refused to renew this owned title's licence:
	// its reason code, ": ", and its sentence (e.g. "account_inactive: the account is
	// suspended: …"); the title plays until Expires. "" when renewals pass or it is not owned.
	RenewalRefused string
}

// Shelf is one category and how many titles it holds (those beneath it included): (si).
// Category "" is the uncategorised titles.
type Shelf struct {
	Category string
	Titles   int32
}

// Local is one title on the box's disk, in Status: (sbiixx).
type Local struct {
	ID              string
	Complete        bool
	Pieces, Total   int32
	BytesFromServer int64
	BytesFromPeers  int64
}

// Status is what Status returns: the box, its account and head-end, and every local title;
// Client.Status also fills in the connection from the properties Online, OfflineSince and
// Registered.
type Status struct {
	Box, Account, Headend string
	Items                 []Local
	Link
	Terms
	// Disk says, in a sentence for the household, what a full disk holds up: which area is
	// full, how much is left, and what the box evicts or refuses. "" when nothing.
	Disk string
}

// Link is the box's connection to its head-end, as the properties Online, OfflineSince and
// Registered tell it.
type Link struct {
	Online       bool
	OfflineSince int64 // Unix seconds; 0 while online
	Registered   bool
}

// Terms are the head-end's terms for this household, as the properties Currency and
// RentalSeconds tell them; zero before the box's first sync.
type Terms struct {
	Currency      string // ISO 4217, e.g. "EUR"
	RentalSeconds int64  // how long a rental plays
}

// Holding is one title on the box's disk with its storage area, in Holdings: (sbiixxsxii).
type Holding struct {
	ID              string
	Complete        bool
	Pieces, Total   int32
	BytesFromServer int64
	BytesFromPeers  int64
	Area            string // preload, wishlist or cache
	Size            int64  // bytes reserved in the area
	// RangeBegin and RangeEnd (exclusive) are the pieces a range placement holds; both 0 for
	// the whole title.
	RangeBegin, RangeEnd int32
}

// Space is one storage area's room, in Holdings: (sxxxb).
type Space struct {
	Area              string
	Quota, Used, Free int64 // bytes; Quota 0 = bounded by the disk only
	Full              bool  // nothing more fits without an eviction
}

// Note says why a title left the disk or was not taken in, in Holdings: (sss).
type Note struct {
	Item, Area, Reason string
}

// Disk is what Holdings returns: the titles on the disk, the areas, past evictions and the
// titles refused for lack of space.
type Disk struct {
	Holdings  []Holding
	Areas     []Space
	Evictions []Note
	Refused   []Note
}

// Purchase is what Buy returns: (sxxx).
type Purchase struct {
	Licence      string // the licence id
	Expires      int64  // Unix seconds
	ChargedCents int64
	BalanceCents int64
}

// Change is one ItemChanged signal.
type Change struct {
	Item            string
	State           State
	Pieces, Total   int32
	BytesFromServer int64
	BytesFromPeers  int64
}
