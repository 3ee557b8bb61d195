package firmware

import (
	"net/http"
	"os"

	"swarmbox/media"
	"swarmbox/sync/protocol"
	"swarmbox/sync/transfer"
)

// answerChallenges proves to the head-end that the box holds what it claims: for each
// challenge, the hash of the nonce and the asked bytes of the container on disk. A challenge
// the box cannot answer (no such container, a range past its end) is left unanswered: the
// head-end then plans the holding only as far as its own evidence goes.
func (b *Box) answerChallenges(cs []protocol.Challenge) []protocol.Proof {
	var out []protocol.Proof
	for _, c := range cs {
		if c.Offset < 0 || c.Length <= 0 || c.Length > protocol.MaxChallengeLength || len(c.Nonce) > 256 {
			b.log.Warn("possession challenge out of bounds; not answered", "item", c.Item, "offset", c.Offset, "length", c.Length)
			continue
		}
		f, err := os.Open(b.store.ContainerPath(c.Item))
		if err != nil {
			b.log.Info("possession challenge for an item not on disk; not answered", "item", c.Item)
			continue
		}
		fi, err := f.Stat()
		var h string
		if err == nil && c.Offset+c.Length <= fi.Size() {
			h, err = protocol.ProofHash(c.Nonce, f, c.Offset, c.Length)
		}
		f.Close()
		if err != nil || h == "" {
			b.log.Warn("possession challenge not answered", "item", c.Item, "err", err)
			continue
		}
		out = append(out, protocol.Proof{Item: c.Item, Nonce: c.Nonce, Hash: h})
	}
	return out
}

// sourceBound makes the box's requests to the head-end leave from the IP it listens on for
// peers (when it listens on one): the head-end takes a box's peer address from the address its
// sync comes from, never from what the box says (transfer.SourceTransport).
func sourceBound(listen string, c *http.Client) *http.Client {
	out := *c
	out.Transport = transfer.SourceTransport(listen)
	return &out
}

// peerBoxes are the boxes the engine admits, by key: those the plan names, its sources and
// receivers. A LAN neighbour is not admitted for being one: anyone can announce a key of its
// own on the LAN; the head-end plans LAN transfers once the box reports its neighbours.
func (b *Box) peerBoxes(resp protocol.SyncResponse) map[media.BoxID]string {
	out := map[media.BoxID]string{}
	for _, id := range resp.PeerBoxes {
		out[id] = "plan"
	}
	for _, f := range resp.Fetches {
		for _, p := range f.Peers {
			out[p.Box] = "plan"
		}
	}
	return out
}
