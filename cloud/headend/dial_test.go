package headend

import (
	"reflect"
	"testing"

	"swarmbox/cloud/scheduler"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// TestDialOrders: the uploads of a plan (receivers a box behind NAT must dial) become one dial
// order per item, at the receivers' addresses; a receiver with no known address is left out.
func TestDialOrders(t *testing.T) {
	item := func(b byte) media.ItemID { return media.ItemID{b} }
	box := func(b byte) media.BoxID { return media.BoxID{b} }
	bp := scheduler.BoxPlan{Uploads: []scheduler.Upload{
		{Item: item(1), To: box(1)}, {Item: item(2), To: box(2)}, {Item: item(1), To: box(3)}, {Item: item(1), To: box(4)},
	}}
	addrs := map[media.BoxID]string{box(1): "198.18.0.11:6881", box(2): "198.18.0.12:6881", box(3): "192.168.1.3:6881"}
	want := []protocol.DialOrder{
		{Item: item(1), To: []protocol.Peer{{Box: box(1), Addr: "198.18.0.11:6881", Dial: true}, {Box: box(3), Addr: "192.168.1.3:6881", Dial: true}}},
		{Item: item(2), To: []protocol.Peer{{Box: box(2), Addr: "198.18.0.12:6881", Dial: true}}},
	}
	if got := dialOrders(bp, addrs); !reflect.DeepEqual(got, want) {
		t.Fatalf("dial orders\n got %+v\nwant %+v", got, want)
	}
	if got := dialOrders(scheduler.BoxPlan{}, addrs); got != nil {
		t.Fatalf("a plan without uploads gives %+v", got)
	}
}
