package headend

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// TestBadReportsRefusedOrBounded: a sync whose report has a negative or impossible number
// (int64-max or negative byte counts, bytes beyond a few times the item's size, piece counts
// beyond the item, too many entries) is refused with 400 naming the field and stores nothing;
// holdings and transfers of items the catalog does not know are dropped and counted, and the
// rest of the sync is kept.
func TestBadReportsRefusedOrBounded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	it := f.item.ID
	size := f.item.SealedSize
	limit := transferFactor*size + transferSlack // the most bytes a box may have received for it
	many := func(n int, each func(i int) protocol.TransferReport) []protocol.TransferReport {
		out := make([]protocol.TransferReport, n)
		for i := range out {
			out[i] = each(i)
		}
		return out
	}
	unknown := func(i int) media.ItemID { return media.ItemID{0xee, byte(i >> 8), byte(i)} }
	tests := []struct {
		field string
		req   protocol.SyncRequest
	}{
		{"transfers[0]: negative", protocol.SyncRequest{Transfers: []protocol.TransferReport{{Item: it, BytesFromPeers: -1}}}},
		{"transfers[0]: negative", protocol.SyncRequest{Transfers: []protocol.TransferReport{{Item: it, BytesFromServer: math.MinInt64}}}},
		{"transfers[0]: negative", protocol.SyncRequest{Transfers: []protocol.TransferReport{{Item: it, HashFailures: -2}}}},
		{"transfers[0]:", protocol.SyncRequest{Transfers: []protocol.TransferReport{{Item: it, BytesFromPeers: math.MaxInt64}}}},
		{"transfers[0]:", protocol.SyncRequest{Transfers: []protocol.TransferReport{{Item: it, BytesFromServer: math.MaxInt64, BytesFromPeers: math.MaxInt64}}}},
		{"transfers[1]:", protocol.SyncRequest{Transfers: []protocol.TransferReport{{Item: it, BytesFromServer: size}, {Item: it, BytesFromServer: limit - 10, BytesFromPeers: 11}}}},
		{"transfers[0].hash_failures", protocol.SyncRequest{Transfers: []protocol.TransferReport{{Item: it, HashFailures: math.MaxInt64}}}},
		{"transfers[0].bad_sources:", protocol.SyncRequest{Transfers: []protocol.TransferReport{{Item: it, BadSources: make([]protocol.BadSource, MaxBadSources+1)}}}},
		{"transfers[0].bad_sources[0].pieces", protocol.SyncRequest{Transfers: []protocol.TransferReport{{Item: it, BadSources: []protocol.BadSource{{Pieces: 0}}}}}},
		{"transfers[0].bad_sources[0].pieces", protocol.SyncRequest{Transfers: []protocol.TransferReport{{Item: it, BadSources: []protocol.BadSource{{Pieces: math.MaxInt64}}}}}},
		{"holdings[0].pieces", protocol.SyncRequest{Holdings: []protocol.Holding{{Item: it, Pieces: -1}}}},
		{"holdings[0].pieces", protocol.SyncRequest{Holdings: []protocol.Holding{{Item: it, Pieces: f.item.Pieces + 1}}}},
		{"holdings[0].pieces", protocol.SyncRequest{Holdings: []protocol.Holding{{Item: it, Pieces: math.MaxInt, Complete: true}}}},
		{"transfers: 4097 entries", protocol.SyncRequest{Transfers: many(MaxReportEntries+1, func(i int) protocol.TransferReport {
			return protocol.TransferReport{Item: unknown(i), BytesFromPeers: 1}
		})}},
		{"neighbors: 1025 entries", protocol.SyncRequest{Neighbors: make([]protocol.Neighbor, MaxReportPeers+1)}},
		{"peer_rates[0]", protocol.SyncRequest{PeerRates: []protocol.PeerRate{{Box: f.client.Box, Bytes: math.MaxInt64}}}},
		{"free_bytes", protocol.SyncRequest{FreeBytes: math.MaxInt64}},
		{"uplink_bps", protocol.SyncRequest{UplinkBytesPerSecond: math.MaxInt64}},
		{"areas[0]", protocol.SyncRequest{Areas: []protocol.Space{{Area: protocol.AreaCache, Quota: math.MaxInt64}}}},
		{"refused_peers", protocol.SyncRequest{RefusedPeers: -1}},
		{"proofs: 65 entries", protocol.SyncRequest{Proofs: make([]protocol.Proof, MaxReportProofs+1)}},
		{"proofs[0]", protocol.SyncRequest{Proofs: []protocol.Proof{{Item: it, Nonce: strings.Repeat("a", 129)}}}},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			_, err := f.client.Sync(ctx, tc.req)
			var api *cloudclient.APIError
			if !errors.As(err, &api) || api.Status != http.StatusBadRequest || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %v, want a 400 naming %s", err, tc.field)
			}
		})
	}
	if rep, err := f.st.Report(ctx, f.client.Box); err != nil || !rep.Updated.IsZero() {
		t.Fatalf("report after refused syncs: %+v, %v; want nothing stored", rep, err)
	}
	if n, err := f.st.PeerBytesReported(ctx); err != nil || n != 0 {
		t.Fatalf("peer bytes after refused syncs: %d, %v; want 0", n, err)
	}
	// 1000 transfers of made-up items and one real one: the made-up ones are dropped, counted.
	junk := many(1000, func(i int) protocol.TransferReport {
		return protocol.TransferReport{Item: unknown(i), BytesFromPeers: 1 << 30}
	})
	junk = append(junk, protocol.TransferReport{Item: it, BytesFromPeers: size})
	holdings := []protocol.Holding{{Item: unknown(1), Pieces: 5}, {Item: it, Pieces: 1}}
	if _, err := f.client.Sync(ctx, protocol.SyncRequest{FreeBytes: 1 << 30, Transfers: junk, Holdings: holdings}); err != nil {
		t.Fatalf("a sync with unknown items: %v, want them dropped and the rest kept", err)
	}
	if n, err := f.st.PeerBytesReported(ctx); err != nil || n != size {
		t.Fatalf("peer bytes stored: %d, %v; want %d (the real item's only)", n, err, size)
	}
	if got := counterValue(f.hs.metrics.reportDropped); got != 1001 {
		t.Fatalf("dropped entries counted: %v, want 1001", got)
	}
	if got := counterValue(f.hs.metrics.reportRefused); got != float64(len(tests)) {
		t.Fatalf("refused syncs counted: %v, want %d", got, len(tests))
	}
	states, err := f.st.BoxStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || len(states[0].Holdings) != 1 || states[0].Holdings[0].Item != it {
		t.Fatalf("holdings stored %+v, want only the real item's", states)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return math.NaN()
	}
	return m.GetCounter().GetValue()
}
