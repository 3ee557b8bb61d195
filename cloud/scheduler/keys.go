package scheduler

// Typed indices: a box, an item, a region, a network and a LAN are each numbered densely within
// a State, and each has its own type so that one cannot be passed where another is meant.
type (
	boxIdx    int32
	itemIdx   int32
	regionIdx int32
	netIdx    int32
	lanIdx    int32
)

// noLAN is the LAN of a box on none.
const noLAN lanIdx = -1

// noBox is "no box" where a box may be excluded (suppliedIn).
const noBox boxIdx = -1

// pack puts two indices into one map key: a in the high half, b in the low half.
func pack(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// itemRegion keys what is kept per item and region: holders, relays, forecasts, shared copies.
type itemRegion uint64

func itemIn(it itemIdx, r regionIdx) itemRegion { return itemRegion(pack(int32(it), int32(r))) }
func (k itemRegion) item() itemIdx              { return itemIdx(k >> 32) }
func (k itemRegion) region() regionIdx          { return regionIdx(uint32(k)) }

// itemNet keys the complete holders of an item per network.
type itemNet uint64

func itemOn(it itemIdx, n netIdx) itemNet { return itemNet(pack(int32(it), int32(n))) }

// itemBox keys what is kept per item and box: range placements planned in the round.
type itemBox uint64

func itemAt(it itemIdx, b boxIdx) itemBox { return itemBox(pack(int32(it), int32(b))) }

// rangeKey keys range holders: an item's range, by its first piece, in a region.
type rangeKey struct {
	item   itemIdx
	region regionIdx
	begin  int32
}

// listKey names one holder or relay list for its scan cursor (ledger.cursor): which list, and
// the item (and network or region) it is for.
type listKey uint64

const (
	noList        listKey = 0       // no cursor: scan from the head
	listNet       listKey = 1 << 63 // index.holdNet
	listRegion    listKey = 1 << 62 // index.holdRegion
	listRelays    listKey = 3 << 61 // ledger.relays
	listAll       listKey = 1 << 61 // index.holdAll
	listRelaysAll listKey = 1 << 60 // ledger.relaysAll
)

func netList(k itemNet) listKey        { return listKey(k) | listNet }
func regionList(k itemRegion) listKey  { return listKey(k) | listRegion }
func relayList(k itemRegion) listKey   { return listKey(k) | listRelays }
func allList(it itemIdx) listKey       { return listKey(uint64(it)) | listAll }
func relaysAllList(it itemIdx) listKey { return listKey(uint64(it)) | listRelaysAll }

// rangeOf keys the holders of item it's range r in region.
func rangeOf(it itemIdx, region regionIdx, r PieceRange) rangeKey {
	return rangeKey{item: it, region: region, begin: int32(r.Begin)}
}
