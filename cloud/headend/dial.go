package headend

import (
	"swarmbox/cloud/scheduler"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// dialOrders turns the uploads of a box's plan, the receivers it must dial because they cannot
// reach it, into the sync answer's dial orders, one per item, at the addresses addrs gives.
func dialOrders(bp scheduler.BoxPlan, addrs map[media.BoxID]string) []protocol.DialOrder {
	var out []protocol.DialOrder
	at := map[media.ItemID]int{}
	for _, u := range bp.Uploads {
		a := addrs[u.To]
		if a == "" {
			continue
		}
		i, ok := at[u.Item]
		if !ok {
			i = len(out)
			at[u.Item] = i
			out = append(out, protocol.DialOrder{Item: u.Item})
		}
		out[i].To = append(out[i].To, protocol.Peer{Box: u.To, Addr: a, Dial: true})
	}
	return out
}
