package boxbus

import "github.com/godbus/dbus/v5/introspect"

func in(name, typ string) introspect.Arg {
	return introspect.Arg{Name: name, Type: typ, Direction: "in"}
}
func out(name, typ string) introspect.Arg {
	return introspect.Arg{Name: name, Type: typ, Direction: "out"}
}

// Wire signatures of the structs above.
const (
	sigTitle = "(sssxxs)"
	sigItem  = "(sssxxssiiixxxss)"
	sigShelf = "(si)"
	sigLocal = "(sbiixx)"
	sigHold  = "(sbiixxsxii)"
	sigSpace = "(sxxxb)"
	sigNote  = "(sss)"
)

// Methods is Interface's methods with named arguments, as the daemon's introspection shows
// them. The daemon's tests check that its exported methods have exactly these signatures.
var Methods = []introspect.Method{
	{Name: "Catalog", Args: []introspect.Arg{out("titles", "a"+sigTitle)}},
	{Name: "Categories", Args: []introspect.Arg{in("kind", "s"), out("shelves", "a"+sigShelf)}},
	{Name: "Item", Args: []introspect.Arg{in("item", "s"), out("info", sigItem)}},
	{Name: "Items", Args: []introspect.Arg{out("items", "a"+sigItem)}},
	{Name: "Wishlist", Args: []introspect.Arg{out("items", "as")}},
	{Name: "SetWishlist", Args: []introspect.Arg{in("items", "as")}},
	{Name: "MoveWish", Args: []introspect.Arg{in("item", "s"), in("position", "i")}},
	{Name: "RemoveWish", Args: []introspect.Arg{in("item", "s")}},
	{Name: "Buy", Args: []introspect.Arg{in("item", "s"), in("rent", "b"),
		out("licence", "s"), out("expires", "x"), out("charged_cents", "x"), out("balance_cents", "x")}},
	{Name: "Play", Args: []introspect.Arg{in("item", "s"), out("url", "s")}},
	{Name: "Stop"},
	{Name: "Account", Args: []introspect.Arg{out("status", "s"), out("balance_cents", "x")}},
	{Name: "Status", Args: []introspect.Arg{out("box", "s"), out("account", "s"), out("headend", "s"), out("items", "a"+sigLocal), out("disk", "s")}},
	{Name: "Pairing", Args: []introspect.Arg{out("paired", "b"), out("code", "s"), out("url", "s"), out("expires", "x")}},
	{Name: "Holdings", Args: []introspect.Arg{out("holdings", "a"+sigHold), out("areas", "a"+sigSpace), out("evictions", "a"+sigNote), out("refused", "a"+sigNote)}},
}

// Signals is Interface's signals with named arguments.
var Signals = []introspect.Signal{
	{Name: SignalItemChanged, Args: []introspect.Arg{{Name: "item", Type: "s"}, {Name: "state", Type: "s"},
		{Name: "pieces", Type: "i"}, {Name: "total", Type: "i"}, {Name: "bytes_from_server", Type: "x"}, {Name: "bytes_from_peers", Type: "x"}}},
}

// Properties is Interface's properties, all read-only, each change announced with
// org.freedesktop.DBus.Properties.PropertiesChanged.
var Properties = []introspect.Property{
	{Name: PropBoxID, Type: "s", Access: "read"},
	{Name: PropAccount, Type: "s", Access: "read"},
	{Name: PropHeadend, Type: "s", Access: "read"},
	{Name: PropAccountStatus, Type: "s", Access: "read"},
	{Name: PropBalanceCents, Type: "x", Access: "read"},
	{Name: PropCurrency, Type: "s", Access: "read"},
	{Name: PropRentalSeconds, Type: "x", Access: "read"},
	{Name: PropWishlist, Type: "as", Access: "read"},
	{Name: PropCatalogVersion, Type: "x", Access: "read"},
	{Name: PropNowPlaying, Type: "s", Access: "read"},
	{Name: PropOnline, Type: "b", Access: "read"},
	{Name: PropOfflineSince, Type: "x", Access: "read"},
	{Name: PropRegistered, Type: "b", Access: "read"},
	{Name: PropPaired, Type: "b", Access: "read"},
	{Name: PropPairingCode, Type: "s", Access: "read"},
	{Name: PropPairingURL, Type: "s", Access: "read"},
	{Name: PropDiskBytes, Type: "x", Access: "read"},
	{Name: PropDiskFreeBytes, Type: "x", Access: "read"},
	{Name: PropDiskState, Type: "s", Access: "read"},
	{Name: PropDiskReason, Type: "s", Access: "read"},
}

// Introspection is Interface as the daemon describes it.
func Introspection() introspect.Interface {
	return introspect.Interface{Name: Interface, Methods: Methods, Signals: Signals, Properties: Properties}
}
