package cloudclient

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"swarmbox/sync/protocol"
)

// TestSyncReplayedIsSignedAgainInTheNextSecond: the head-end refuses a sync whose signed text
// it has seen (same second, same body); the client sends it again signed in a later second,
// once, and a head-end that keeps refusing gets its refusal returned.
func TestSyncReplayedIsSignedAgainInTheNextSecond(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refuse  int // how many syncs the head-end refuses as replays
		wantErr bool
		want    int // syncs the head-end receives
	}{
		{"accepted at once", 0, false, 1},
		{"one replay, then accepted", 1, false, 2},
		{"refused twice", 5, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var dates []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				dates = append(dates, r.Header.Get(protocol.HeaderDate))
				n := len(dates)
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				if n <= tc.refuse {
					w.WriteHeader(http.StatusUnauthorized)
					w.Write([]byte(`{"error":"this signed request was already received","code":"replayed"}`))
					return
				}
				w.Write([]byte(`{}`))
			}))
			defer srv.Close()
			_, key, _ := ed25519.GenerateKey(nil)
			c := New(srv.URL, key)
			_, err := c.Sync(context.Background(), protocol.SyncRequest{PeerAddr: "10.0.2.15:6881"})
			var api *APIError
			if tc.wantErr != (err != nil) || (tc.wantErr && (!errors.As(err, &api) || api.Code != codeReplayed)) {
				t.Fatalf("Sync: %v, want an error: %v", err, tc.wantErr)
			}
			if len(dates) != tc.want {
				t.Fatalf("head-end received %d syncs, want %d", len(dates), tc.want)
			}
			if len(dates) == 2 && dates[1] <= dates[0] {
				t.Errorf("the sync sent again is signed at %s, not after the refused one's %s", dates[1], dates[0])
			}
		})
	}
}
