package fleet

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// benchWorld is n boxes in 10 regions, 1,000 titles: each box wishes 3, holds 5 (one of them
// half), reports 3 transfers and 4 peers; what the operator's page reads at each refresh.
func benchWorld(n int) Input {
	in := Input{Titles: map[media.ItemID]string{}, Sizes: map[media.ItemID]int64{}, Plans: map[string]time.Time{}}
	boxID := func(i int) media.BoxID {
		var b media.BoxID
		binary.BigEndian.PutUint64(b[:], uint64(i))
		return b
	}
	itemID := func(i int) media.ItemID {
		var it media.ItemID
		binary.BigEndian.PutUint64(it[:], uint64(i%1000))
		return it
	}
	for i := range 1000 {
		in.Titles[itemID(i)] = fmt.Sprint("title ", i)
		in.Sizes[itemID(i)] = 1 << 30
	}
	for r := range 10 {
		in.Plans[fmt.Sprint("region-", r)] = t0.Add(-time.Duration(r) * time.Second)
	}
	for i := range n {
		id := boxID(i)
		rep := store.Report{Box: id, Region: fmt.Sprint("region-", i%10), Network: fmt.Sprint("isp-", i%3), Updated: t0.Add(-time.Duration(i%300) * time.Second),
			Neighbors: []media.BoxID{boxID((i + 1) % n)}}
		st := store.BoxState{ID: id}
		for k := range 4 {
			rep.Rates = append(rep.Rates, store.PeerRate{Box: boxID((i + 7*k + 1) % n), Bytes: 1 << 20})
		}
		for k := range 5 {
			st.Holdings = append(st.Holdings, protocol.Holding{Item: itemID(i*7 + k), Complete: k != 4, Pieces: 100})
		}
		for k := range 3 {
			st.Wishlist = append(st.Wishlist, itemID(i*13+k))
			in.Transfers = append(in.Transfers, store.Transfer{Box: id, Item: itemID(i*7 + k), BytesFromServer: int64(k) << 20, BytesFromPeers: 3 << 20})
		}
		in.Reports = append(in.Reports, rep)
		in.States = append(in.States, st)
	}
	return in
}

// BenchmarkCompute: the figures of the operator's page from inputs already read (the store's
// reads are not included).
func BenchmarkCompute(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		in := benchWorld(n)
		b.Run(fmt.Sprint(n, "boxes"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Compute(in, t0, 2*time.Minute, 20)
			}
		})
	}
}
