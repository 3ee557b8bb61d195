package e2e

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"swarmbox/cloud/repository"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// TestLyingHolderIsDemotedEndToEnd: a box (a client in the test, not swarmboxd) claims a whole
// title from its first sync and says it accepts peers at a made-up address; it answers the
// head-end's possession challenges from the real container, so it is named as a source, but
// nothing listens where it is. A real box wishing the title completes anyway (the head-end
// demotes the silent source on the wisher's reports and hands the fetch to the server), and
// the head-end logs the demotion.
func TestLyingHolderIsDemotedEndToEnd(t *testing.T) {
	c := startCloud(t)
	film := filepath.Join(t.TempDir(), "film.avi")
	must(t, "swarmbox-cloud", "testcard", "-kind", "video", "-seconds", "6", film)
	x, _ := c.ingest(t, film, "Sample Film", "video")
	item, err := media.ParseItemID(x)
	if err != nil {
		t.Fatal(err)
	}
	c.cmd(t, "account", "create", "-region", "eu-west", "-credit", "2000", "liar")
	_, sk, _ := ed25519.GenerateKey(rand.Reader)
	kem, _ := ecdh.X25519().GenerateKey(rand.Reader)
	liar := cloudclient.New(c.url, sk)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := liar.Register(ctx, c.enroll(t, "liar"), kem.PublicKey().Bytes()); err != nil {
		t.Fatal(err)
	}
	container := filepath.Join(c.state, "repository", x+repository.Ext)
	var pieces int
	cat, _, err := liar.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range cat.Items {
		if it.ID == item {
			pieces = it.Pieces
		}
	}
	if pieces == 0 {
		t.Fatalf("item %s not in the catalog", x)
	}
	proven := make(chan struct{})
	go func() { // the liar syncs every half second, answering challenges honestly
		var proofs []protocol.Proof
		for n := int64(0); ctx.Err() == nil; n++ {
			resp, err := liar.Sync(ctx, protocol.SyncRequest{PeerAddr: "203.0.113.66:9", FreeBytes: 1<<30 - n, UplinkBytesPerSecond: 100 << 20,
				Holdings: []protocol.Holding{{Item: item, Pieces: pieces, Complete: true}}, Proofs: proofs})
			if err == nil {
				if len(proofs) > 0 && len(resp.Challenges) == 0 {
					select {
					case <-proven:
					default:
						close(proven)
					}
				}
				proofs = nil
				for _, ch := range resp.Challenges {
					f, err := os.Open(container)
					if err != nil {
						continue
					}
					h, err := protocol.ProofHash(ch.Nonce, f, ch.Offset, ch.Length)
					f.Close()
					if err == nil {
						proofs = append(proofs, protocol.Proof{Item: ch.Item, Nonce: ch.Nonce, Hash: h})
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	select {
	case <-proven:
	case <-time.After(60 * time.Second):
		t.Fatal("the liar's possession proof was not taken within 60 s")
	}
	wisher := startBox(t, c, 1)
	wisher.cmd(t, "wish", x)
	wisher.waitComplete(t, x)
	if !c.proc.logHas("source demoted", liar.Box.String()) {
		t.Errorf("the head-end never demoted the silent source %s; log:\n%s", liar.Box, tail(c.proc.Log(), 40))
	}
	if c.proc.logHas("203.0.113.66") || wisher.proc.logHas("203.0.113.66") {
		t.Error("the made-up address was handed out")
	}
}
