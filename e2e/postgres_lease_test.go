package e2e

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/repository"
	"swarmbox/internal/testenv"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// TestPostgresHeadendProcessesShareThePlannerLease: two swarmbox-cloud processes on one real
// PostgreSQL database (and one state folder for the key vault and repository). The first plans
// the region; a box syncing with the second is answered from the plan the first publishes.
// The first is killed (SIGKILL, so its lease is not given back): once the lease runs out the
// second plans the region and answers from its own plan.
func TestPostgresHeadendProcessesShareThePlannerLease(t *testing.T) {
	pg := testenv.Postgres(t)
	t.Setenv("SWARMBOX_DATABASE", pg.Database(t))
	lease := func(name string) []string {
		return []string{"-instance", name, "-plan-poll", "100ms", "-lease-ttl", "2s", "-round-interval", "300ms"}
	}
	a := startCloud(t, lease("a")...)
	a.cmd(t, "account", "create", "-region", "eu-west", "acct")
	waitFor(t, "instance a to plan eu-west", 20*time.Second, func() bool {
		return a.proc.logHas("planner lease", "region=eu-west", "instance=a", "held=true")
	})
	b := &cloud{state: a.state}
	b.serve(t, lease("b")...)
	src := filepath.Join(t.TempDir(), "doc.bin")
	if err := os.WriteFile(src, []byte(strings.Repeat("two head-ends ", 30000)), 0o600); err != nil {
		t.Fatal(err)
	}
	id, _ := a.ingest(t, src, "Shared Paper", "file")
	ctx := context.Background()
	_, anyKey, _ := ed25519.GenerateKey(rand.Reader)
	cat, _, err := cloudclient.New(b.url, anyKey).Catalog(ctx)
	if err != nil || len(cat.Items) != 1 || cat.Items[0].ID.String() != id {
		t.Fatalf("catalog from instance b: %+v %v", cat, err)
	}
	it := cat.Items[0]

	// Boxes are plain clients here: what matters is which instance answers.
	token := strings.TrimSpace(a.cmd(t, "account", "enroll", "-boxes", "2", "acct"))
	register := func(url string) ed25519.PrivateKey {
		_, sk, _ := ed25519.GenerateKey(rand.Reader)
		kem, _ := ecdh.X25519().GenerateKey(rand.Reader)
		if _, err := cloudclient.New(url, sk).Register(ctx, token, kem.PublicKey().Bytes()); err != nil {
			t.Fatal(err)
		}
		return sk
	}
	holderKey, wisherKey := register(a.url), register(b.url)
	// The two boxes are this test's requests, but their BitTorrent ports are real listeners:
	// the head-end dials a box's port back to learn whether it can be reached (NET-2), and two
	// boxes it cannot reach would never be paired.
	holderAddr, wisherAddr := testenv.AcceptingPort(t), testenv.AcceptingPort(t)
	holderBox := media.BoxIDFromKey(holderKey.Public().(ed25519.PublicKey))
	n := int64(0)
	// The holder proves what it claims: an instance names a box as a source only once it has
	// answered that instance's possession challenges (from the container in the repository).
	container := filepath.Join(a.state, "repository", id+repository.Ext)
	var proofs []protocol.Proof
	challenged := func(url string) bool {
		t.Helper()
		n++ // no two requests alike: an identical one in the same second is a replay
		resp, err := cloudclient.New(url, holderKey).Sync(ctx, protocol.SyncRequest{PeerAddr: holderAddr, FreeBytes: 1<<30 - n,
			Holdings: []protocol.Holding{{Item: it.ID, Pieces: it.Pieces, Complete: true}}, Proofs: proofs})
		if err != nil {
			t.Fatal(err)
		}
		proofs = nil
		for _, ch := range resp.Challenges {
			f, err := os.Open(container)
			if err != nil {
				t.Fatal(err)
			}
			h, err := protocol.ProofHash(ch.Nonce, f, ch.Offset, ch.Length)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			proofs = append(proofs, protocol.Proof{Item: ch.Item, Nonce: ch.Nonce, Hash: h})
		}
		return len(resp.Challenges) > 0
	}
	holds := func(url string) {
		t.Helper()
		waitFor(t, "the holder's possession proof to be taken", 20*time.Second, func() bool { return !challenged(url) })
	}
	sentToHolder := func(url string) bool {
		t.Helper()
		n++
		resp, err := cloudclient.New(url, wisherKey).Sync(ctx, protocol.SyncRequest{PeerAddr: wisherAddr, FreeBytes: 1<<30 - n, Wishlist: []media.ItemID{it.ID}})
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.Fetches) == 1 && len(resp.Fetches[0].Peers) == 1 && resp.Fetches[0].Peers[0].Box == holderBox
	}
	holds(a.url)
	waitFor(t, "instance b to send the wishing box to the holder, from a's published plan", 20*time.Second, func() bool { return sentToHolder(b.url) })
	if b.proc.logHas("planner lease", "instance=b", "held=true") {
		t.Fatal("instance b planned while a held the lease")
	}

	// Kill a: its lease is not released, and runs out.
	a.proc.cmd.Process.Kill()
	a.proc.cmd.Wait()
	waitFor(t, "instance b to take the region over", 20*time.Second, func() bool {
		return b.proc.logHas("planner lease", "region=eu-west", "instance=b", "held=true")
	})
	holds(b.url)
	waitFor(t, "instance b to plan the wishing box itself", 20*time.Second, func() bool { return sentToHolder(b.url) })
}
