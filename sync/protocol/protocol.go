// Package protocol defines the messages between a box and the head-end, and how a box signs its
// requests. Both sides import it; it knows nothing of storage or UI.
//
// Every box request carries three headers: the box id, the time, and an Ed25519 signature over
// the method, path, time and the SHA-256 of the body, made with the box's signing key. The
// head-end looks the key up by box id (registration is the exception: it carries the key and
// proves possession by signing with it). Requests older or newer than MaxSkew are refused.
package protocol

import (
	"time"

	"swarmbox/media"
)

// Version is the protocol version; it is part of every path (/v1/...).
const Version = 1

// Paths served by the head-end.
const (
	PathCatalog  = "/v1/catalog"
	PathItems    = "/v1/items/" // + id, + id + "/torrent"
	PathRegister = "/v1/boxes"
	PathSync     = "/v1/sync"
	PathBuy      = "/v1/buy"
	PathKey      = "/v1/headend-key"
	PathAnnounce = "/announce"
	PathSeed     = "/seed/"
)

// MaxBody is the largest request body the head-end reads; larger ones get 413.
const MaxBody = 1 << 20

// Item kinds.
const (
	KindVideo = "video"
	KindAudio = "audio"
	KindFile  = "file"
)

// CatalogItem is one title as boxes and browsers see it.
type CatalogItem struct {
	ID         media.ItemID `json:"id"`
	Title      string       `json:"title"`
	Kind       string       `json:"kind"`
	PriceCents int64        `json:"price_cents"`
	Size       int64        `json:"size"`        // plaintext bytes
	SealedSize int64        `json:"sealed_size"` // bytes that travel
	InfoHash   string       `json:"info_hash"`
	Pieces     int          `json:"pieces"`
	Added      time.Time    `json:"added"`
	// Category is where the title sits on the shelves, e.g. "films/drama" (see ParseCategory);
	// empty means uncategorised, and is left out of the JSON so older catalogs read the same.
	Category string `json:"category,omitempty"`
}

// Catalog is the list of titles; Version grows with every change.
type Catalog struct {
	Version int64         `json:"version"`
	Items   []CatalogItem `json:"items"`
}

// RegisterRequest enrolls a box. Keys are raw public key bytes (Ed25519, X25519). A box names
// no account: it registers unpaired and a household pairs it with the code it shows
// (RegisterResponse.Pairing), unless it carries an enrollment token the operator made for an
// account (Enroll), which pairs it at once.
type RegisterRequest struct {
	SignKey []byte `json:"sign_key"`
	KEMKey  []byte `json:"kem_key"`
	Enroll  string `json:"enroll,omitempty"`
}

// RegisterResponse tells the box who it is and who the head-end is, and whether it is paired
// to a household yet.
type RegisterResponse struct {
	Box        media.BoxID `json:"box"`
	Region     string      `json:"region"` // empty while unpaired
	HeadendKey []byte      `json:"headend_key"`
	// Account is the household the box is paired to; empty while unpaired, when Pairing says
	// how to pair it.
	Account string        `json:"account,omitempty"`
	Pairing *PairingState `json:"pairing,omitempty"`
}

// Storage areas of a box's disk.
const (
	AreaPreload  = "preload"  // written at the factory; read-only to the box, seedable
	AreaWishlist = "wishlist" // what the household asked for
	AreaCache    = "cache"    // space lent to the swarm for items the scheduler places; evicted first
)

// Holding is an item the box has, completely or in part.
type Holding struct {
	Item     media.ItemID `json:"item"`
	Pieces   int          `json:"pieces"`
	Complete bool         `json:"complete"`
	Area     string       `json:"area,omitempty"` // one of the Area* names; empty = wishlist
	// Range, when set, says the box was placed only these pieces of the item (a range
	// placement, in the cache area) and Pieces counts those it has verified.
	Range *PieceRange `json:"range,omitempty"`
}

// Space is one storage area's byte quota and what is used of it.
type Space struct {
	Area  string `json:"area"`
	Quota int64  `json:"quota"`
	Used  int64  `json:"used"`
	Free  int64  `json:"free"` // what the box can take in, counting what its eviction rules free
}

// Neighbor is a box this box found on its LAN (mDNS), with its BitTorrent address.
type Neighbor struct {
	Box  media.BoxID `json:"box"`
	Addr string      `json:"addr"`
}

// PeerRate is the throughput this box measured while receiving from another box.
type PeerRate struct {
	Box            media.BoxID `json:"box"`
	Bytes          int64       `json:"bytes"`            // bytes the figure is measured over
	BytesPerSecond int64       `json:"bytes_per_second"` // while the transfer was active
}

// TransferReport is what the box measured for one item it fetched.
type TransferReport struct {
	Item            media.ItemID `json:"item"`
	BytesFromServer int64        `json:"bytes_from_server"`
	BytesFromPeers  int64        `json:"bytes_from_peers"`
	Complete        bool         `json:"complete"`
	// HashFailures counts pieces that failed verification and were fetched again (XFER-4).
	HashFailures int64 `json:"hash_failures,omitempty"`
	// BadSources are the source boxes the plan named for this item whose pieces failed
	// verification at this box (it bans them), with how many such pieces each sent since the
	// box started: the head-end stops naming them as sources of the item (SCHED-13).
	BadSources []BadSource `json:"bad_sources,omitempty"`
}

// BadSource is a source box that sent a receiver pieces failing verification.
type BadSource struct {
	Box    media.BoxID `json:"box"`
	Pieces int64       `json:"pieces"` // pieces it had a part in that failed verification
}

// SyncRequest is a box's state: its wishlist in priority order (first = most wanted), what it
// holds, its free space and what it transferred.
type SyncRequest struct {
	PeerAddr  string           `json:"peer_addr"` // host:port the box accepts BitTorrent on
	Wishlist  []media.ItemID   `json:"wishlist"`
	Holdings  []Holding        `json:"holdings"`
	FreeBytes int64            `json:"free_bytes"`
	Transfers []TransferReport `json:"transfers"`
	Areas     []Space          `json:"areas,omitempty"`      // per-area quotas and free space
	Neighbors []Neighbor       `json:"neighbors,omitempty"`  // LAN neighbours found by mDNS
	PeerRates []PeerRate       `json:"peer_rates,omitempty"` // measured box→this box throughput
	// Link caps from the box's configuration, bytes per second; 0 = unknown.
	UplinkBytesPerSecond   int64  `json:"uplink_bps,omitempty"`
	DownlinkBytesPerSecond int64  `json:"downlink_bps,omitempty"`
	Network                string `json:"network,omitempty"`    // ISP/network label from config, for tests: the head-end's prefix map wins (SCHED-15)
	BehindNAT              bool   `json:"behind_nat,omitempty"` // cannot accept incoming connections
	// WishlistVersion is the head-end's wishlist version this box last adopted (0: none). When
	// the head-end holds a newer one (the customer edited the list in the browser) it ignores
	// Wishlist and sends its list back in SyncResponse.Wishlist.
	WishlistVersion int64 `json:"wishlist_version,omitempty"`
	// Proofs answer the possession challenges of the last sync answer.
	Proofs []Proof `json:"proofs,omitempty"`
	// RefusedPeers counts the peer connections the box refused since it started because they
	// did not prove a key the plan names.
	RefusedPeers int64 `json:"refused_peers,omitempty"`
	// Deadlines are the household's "ready by" times for some of its wishes (SCHED-18); each
	// names an item on Wishlist, once.
	Deadlines []WishDeadline `json:"deadlines,omitempty"`
}

// WishDeadline is a wish the household wants ready by a time.
type WishDeadline struct {
	Item media.ItemID `json:"item"`
	By   time.Time    `json:"by"`
}

// Peer is a box named as a source.
type Peer struct {
	Box  media.BoxID `json:"box"`
	Addr string      `json:"addr"`
	// Dial says this box opens the connection; false means the peer dials us (it can reach us,
	// we cannot reach it: the scheduler never pairs two boxes behind NAT).
	Dial bool `json:"dial,omitempty"`
	// Pieces are the piece ranges this peer is asked to serve; empty means any. They are the
	// planner's booking of the peer's uplink: the box asks the peer for whatever it lacks,
	// unless PiecesOnly.
	Pieces []PieceRange `json:"pieces,omitempty"`
	// PiecesOnly says the box takes only Pieces from this peer: the peer is another LAN's
	// sharer of the server's copy, and this box brings that share into its LAN for the rest.
	PiecesOnly bool `json:"pieces_only,omitempty"`
}

// PieceRange is the half-open range of piece indexes [Begin, End).
type PieceRange = media.PieceRange

// Fetch is one planned transfer to the syncing box.
type Fetch struct {
	Item     media.ItemID `json:"item"`
	InfoHash string       `json:"info_hash"`
	Announce string       `json:"announce"`           // the tracker URL for this box
	Peers    []Peer       `json:"peers"`              // boxes to fetch from
	WebSeed  string       `json:"web_seed,omitempty"` // set only when the plan allows the server
	// WebSeedPieces, when not empty, are the only pieces the box takes from WebSeed: the
	// server's one copy into a region is split among the region's receivers, each taking its
	// ranges from the server and the rest from the others. Empty means any piece. The web seed
	// refuses bytes outside them.
	WebSeedPieces []PieceRange `json:"web_seed_pieces,omitempty"`
	// Start is when the transfer may begin (zero = now); server transfers go to off-peak slots.
	Start time.Time `json:"start,omitzero"`
	// Area is where the item goes: AreaWishlist (default when empty) or AreaCache for a cache
	// placement (an item not on this box's wishlist, fetched to serve others).
	Area string `json:"area,omitempty"`
	// Range, when set, limits the fetch to these pieces: a range placement into the cache
	// area. When many boxes of a region wish an item at once, idle boxes each take one range
	// and serve it to them (CACHE-1, CACHE-2, SCHED-10). Nil means the whole item, and widens an
	// earlier range placement of it to the whole item.
	Range *PieceRange `json:"range,omitempty"`
}

// SyncResponse is the box's part of the plan.
type SyncResponse struct {
	Fetches []Fetch        `json:"fetches"`
	Evict   []media.ItemID `json:"evict,omitempty"` // items the box should delete to make room
	// Accept lists the addresses (IP or IP:port) of boxes that may connect to this box: those
	// planned to fetch from it. JSON null (a head-end that does not fill it) leaves the box
	// accepting anyone who knows a private info hash; a list, even empty, makes it strict.
	Accept           []string `json:"accept"`
	SyncAfterSeconds int      `json:"sync_after_seconds"`
	CatalogVersion   int64    `json:"catalog_version"`
	// WishlistVersion is the head-end's version of this box's wishlist. When it is newer than
	// the box's SyncRequest.WishlistVersion, Wishlist is the list the box must adopt (in
	// priority order; empty means the customer cleared it).
	WishlistVersion int64          `json:"wishlist_version,omitempty"`
	Wishlist        []media.ItemID `json:"wishlist,omitempty"`
	// Account is the household's account as of this sync, so the TV can show the balance
	// before a purchase.
	Account *AccountInfo `json:"account,omitempty"`
	// Challenges ask the box to prove holdings the head-end has no evidence of (answered in
	// the next sync's Proofs).
	Challenges []Challenge `json:"challenges,omitempty"`
	// PeerBoxes are the boxes this box may exchange pieces with: the plan's sources and
	// receivers of its items. Peers prove which box they are by key (a signed token in the
	// BitTorrent extended handshake); a list, even empty, makes the box refuse every other
	// peer. JSON null (a head-end that does not fill it) leaves the box open.
	PeerBoxes []media.BoxID `json:"peer_boxes"`
	// Dial lists, per item this box holds, the receivers it must connect to itself because
	// they cannot reach it (it is behind NAT) and it can reach them (SCHED-12, NET-2): a held
	// item is served without a tracker, so the plan is how the box learns them.
	Dial []DialOrder `json:"dial,omitempty"`
}

// DialOrder names the receivers a box connects to, to serve them an item it holds.
type DialOrder struct {
	Item media.ItemID `json:"item"`
	To   []Peer       `json:"to"`
}

// AccountInfo is what a box may know of its household's account.
type AccountInfo struct {
	Status       string `json:"status"` // active, suspended or closed
	BalanceCents int64  `json:"balance_cents"`
	// ID is the household's account; empty when the box is not paired to one (then Status
	// and the balance say nothing and the box asks PathPairing for its code).
	ID string `json:"id,omitempty"`
	// Currency is the balance's and every price's currency, ISO 4217 (e.g. "EUR"); empty from
	// a head-end that predates it, when the box shows amounts without one.
	Currency string `json:"currency,omitempty"`
	// RentalSeconds is how long a rental plays, so the TV says it before the household
	// rents; 0 from a head-end that predates it.
	RentalSeconds int64 `json:"rental_seconds,omitempty"`
}

// BuyRequest asks for a license. RequestID makes retries safe: the same id never charges twice.
type BuyRequest struct {
	Item      media.ItemID      `json:"item"`
	Kind      media.LicenseKind `json:"kind"`
	RequestID string            `json:"request_id"`
}

// BuyResponse carries the signed license envelope (see media.ParseLicense).
type BuyResponse struct {
	License      []byte `json:"license"`
	ChargedCents int64  `json:"charged_cents"`
	BalanceCents int64  `json:"balance_cents"`
}

// Error is the body of every 4xx/5xx answer.
type Error struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}
