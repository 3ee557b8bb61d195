package headend

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// signedSyncs makes n sync requests of the fixture's box, each signed and different (the
// replay guard refuses a request seen before).
func signedSyncs(f *fixture, n int) ([]*http.Request, [][]byte) {
	f.signed += n
	reqs, bodies := make([]*http.Request, n), make([][]byte, n)
	now := time.Now()
	for i := range n {
		body, _ := json.Marshal(protocol.SyncRequest{PeerAddr: "127.0.0.2:6881", FreeBytes: int64(1<<40 - f.signed - i),
			Wishlist: []media.ItemID{f.item.ID}, Holdings: []protocol.Holding{}, Transfers: []protocol.TransferReport{}})
		r := httptest.NewRequest("POST", protocol.PathSync, bytes.NewReader(body))
		r.RemoteAddr = "127.0.0.2:40000"
		protocol.Sign(r, body, f.client.Box, f.client.Key, now)
		reqs[i], bodies[i] = r, body
	}
	return reqs, bodies
}

// BenchmarkSyncHandler is one box sync through the head-end's handler (no network), beside its
// irreducible part measured in the same run: checking the signature and decoding the JSON.
// Report the ratio sync/verify-decode (make bench prints both).
func BenchmarkSyncHandler(b *testing.B) {
	f := newFixture(b)
	h := f.hs.Handler()
	b.Run("verify-decode", func(b *testing.B) {
		reqs, bodies := signedSyncs(f, b.N)
		key := f.client.Key.Public().(ed25519.PublicKey)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if _, err := protocol.Verify(reqs[i], bodies[i], func(media.BoxID) (ed25519.PublicKey, error) { return key, nil }, time.Now()); err != nil {
				b.Fatal(err)
			}
			var req protocol.SyncRequest
			if err := json.Unmarshal(bodies[i], &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sync", func(b *testing.B) {
		reqs, _ := signedSyncs(f, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, reqs[i])
			if w.Code != http.StatusOK {
				b.Fatalf("sync %d: %d %s", i, w.Code, w.Body)
			}
		}
	})
	// 64 syncs in flight, as under load: the group commit shares transactions among them.
	b.Run("sync-64-in-flight", func(b *testing.B) {
		reqs, _ := signedSyncs(f, b.N)
		var next atomic.Int64
		b.SetParallelism(32) // × GOMAXPROCS (2 here) goroutines
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1) - 1
				w := httptest.NewRecorder()
				h.ServeHTTP(w, reqs[i])
				if w.Code != http.StatusOK {
					b.Errorf("sync %d: %d %s", i, w.Code, w.Body)
					return
				}
			}
		})
	})
}
