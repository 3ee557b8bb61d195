package firmware

import (
	"io"
	"log/slog"
	"net/netip"
	"testing"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

func TestBadSourcesNamedOnlyByThePlan(t *testing.T) {
	liar, other := media.BoxID{1}, media.BoxID{2}
	item := media.ItemID{9}
	b := &Box{log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		peerBox: map[string]media.BoxID{"127.0.0.2:6881": liar, "127.0.0.4:6881": other}}
	b.noteBad(item, map[netip.Addr]int64{netip.MustParseAddr("127.0.0.2"): 3, netip.MustParseAddr("127.0.0.9"): 5})
	b.noteBad(item, map[netip.Addr]int64{netip.MustParseAddr("127.0.0.2"): 1}) // a fresh connection counts from 0
	got := b.badSources(item)
	if len(got) != 1 || got[0] != (protocol.BadSource{Box: liar, Pieces: 3}) {
		t.Fatalf("bad sources %+v, want only the planned liar with its most pieces", got)
	}
	if got := b.badSources(media.ItemID{8}); len(got) != 0 {
		t.Fatalf("bad sources %+v for an item nobody lied about", got)
	}
}
