package firmware

// A full disk: what the box records, says and does about it. A piece counts only once it is
// recorded (the transfer engine keeps a verified piece whose record failed pending, pauses the
// item and retries until the record succeeds, so nothing verified is fetched again); the box's
// progress comes from the record; the household hears which area is full and what the box
// evicts or refuses (Status.Disk, a warning in the log); a wish that can never fit is refused
// when it is made (ErrNoSpace, org.swarmbox.Error.NoSpace).

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"swarmbox/media"
	"swarmbox/storage"
	"swarmbox/sync/protocol"
	"swarmbox/sync/transfer"
)

// ErrNoSpace is returned for a wish of a title larger than its area can ever take in, even
// with every eviction the rules allow.
var ErrNoSpace = errors.New("no space")

// asRecorded is st with its pieces and completeness capped by what the box has recorded
// verified: an item never shows further along, or ready, than its record. On a read error the
// item stays as it was recorded (it).
func (b *Box) asRecorded(ctx context.Context, it storage.Item, st transfer.Status) transfer.Status {
	if st.Pieces <= it.Pieces && (!st.Complete || it.Complete) {
		return st // nothing beyond what the row, itself capped, already shows
	}
	n, err := b.store.VerifiedPieces(ctx, it.InfoHash)
	if err != nil {
		st.Pieces, st.Complete = it.Pieces, it.Complete
		return st
	}
	st.Pieces = min(st.Pieces, n)
	st.Complete = st.Complete && n >= st.Total
	return st
}

// checkDisk looks for items whose verified pieces a full disk would not let the box record.
// While there are any it says so (Status.Disk, a warning when the sentence changes): which
// area is full, how much the disk has left, and what the box evicts to make room (one item per
// turn, in the eviction rules' order) or, with nothing it may evict, that it refuses new titles
// until space returns. When every piece is recorded again the sentence is cleared.
func (b *Box) checkDisk(ctx context.Context) {
	items, err := b.store.Items(ctx)
	if err != nil {
		return
	}
	var held []string
	areas := map[string]bool{}
	pieces := 0
	var why error
	for _, it := range items {
		st, ok := b.engine.Status(it.ID)
		if !ok || st.Unrecorded == 0 && st.WriteErr == nil {
			continue
		}
		held = append(held, b.api.titleOf(ctx, it.ID))
		areas[it.Area] = true
		pieces += st.Unrecorded
		why = cmp.Or(st.RecordErr, st.WriteErr)
	}
	if len(held) == 0 {
		if b.api.setDiskNote("") {
			b.log.Info("the disk takes records again: every verified piece is recorded and downloads resume")
		}
		return
	}
	var names []string
	for a := range areas {
		names = append(names, a)
	}
	slices.Sort(names)
	note := fmt.Sprintf("The disk is full (%s free in %s): the download of %s into the %s area is paused and what is on the disk is kept",
		sizeText(b.store.FreeBytes()), b.cfg.Dir, strings.Join(held, ", "), strings.Join(names, " and "))
	if pieces > 0 {
		note += fmt.Sprintf("; %d verified pieces wait to be recorded and will not be fetched again", pieces)
	}
	note += "."
	cands, err := b.store.EvictionCandidates(ctx, b.cfg.Now())
	switch {
	case b.store.FreeBytes() >= storage.MinFree:
		// Room has come back (an eviction, or the household freed some): the engine's next
		// retry records the pieces; nothing more need go.
		note += " Space is coming back: the pieces are recorded within seconds."
	case err == nil && len(cands) > 0:
		c := cands[0]
		note += fmt.Sprintf(" The box evicts %s from the %s area (%s) to make room.", b.api.titleOf(ctx, c.Item), c.Area, c.Reason)
		b.engine.Drop(c.Item)
		if err := b.store.EvictCandidate(ctx, c, b.cfg.Now()); err != nil {
			b.log.Warn("eviction to make room on a full disk failed; the item is kept", "item", c.Item, "err", err)
			b.serveAgain(ctx, c.Item)
		} else {
			b.log.Info("evicted to make room on a full disk", "item", c.Item, "area", c.Area, "reason", c.Reason)
		}
	default:
		note += " Nothing may be evicted (titles wished for, bought or playing are kept): new titles are refused until space returns. Remove a wish, or free space on the disk."
	}
	if b.api.setDiskNote(note) {
		b.log.Warn("disk full", "note", note, "err", why)
	}
}

// sizeText writes a byte count for people: "512 B", "3.4 MB", "1.2 GB".
func sizeText(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// setDiskNote sets the sentence Status.Disk carries and reports whether it changed.
func (a *API) setDiskNote(note string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.disk == note {
		return false
	}
	a.disk = note
	return true
}

// diskNote is the sentence on a full disk, "" when there is none.
func (a *API) diskNote() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.disk
}

// titleOf names an item for people: its catalog title, else its id.
func (a *API) titleOf(ctx context.Context, id media.ItemID) string {
	if c, ok := a.catalogItem(ctx, id); ok && c.Title != "" {
		return fmt.Sprintf("%q", c.Title)
	}
	return id.String()
}

// catalogItem finds id in the catalog replica.
func (a *API) catalogItem(ctx context.Context, id media.ItemID) (protocol.CatalogItem, bool) {
	cat, err := a.catalog(ctx)
	if err != nil {
		return protocol.CatalogItem{}, false
	}
	i := slices.IndexFunc(cat.Items, func(c protocol.CatalogItem) bool { return c.ID == id })
	if i < 0 {
		return protocol.CatalogItem{}, false
	}
	return cat.Items[i], true
}

// checkRoom refuses (ErrNoSpace) a wish for a title that is not on the disk and is larger than
// the wishlist area could take in even with every eviction the rules allow: the household hears
// it now, with the sizes, rather than waiting for a download that can never start. Titles
// already wished or on the disk are not checked again.
func (a *API) checkRoom(ctx context.Context, old, items []media.ItemID) error {
	var rooms []storage.Space
	for _, id := range items {
		if slices.Contains(old, id) {
			continue
		}
		if _, err := a.store.GetItem(ctx, id); err == nil {
			continue
		}
		c, ok := a.catalogItem(ctx, id)
		if !ok || c.Size <= 0 {
			continue
		}
		if rooms == nil {
			var err error
			if rooms, err = a.store.Rooms(ctx, a.now()); err != nil {
				return err
			}
		}
		i := slices.IndexFunc(rooms, func(s storage.Space) bool { return s.Area == storage.AreaWishlist })
		if i < 0 {
			continue
		}
		sp := rooms[i]
		if c.Size <= sp.Room {
			continue
		}
		quota := "no quota of its own"
		if sp.Quota > 0 {
			quota = "a quota of " + sizeText(sp.Quota)
		}
		return fmt.Errorf("%w: %q needs %s but the wishlist area can take in at most %s (%s, %s used, %s free on the disk, evictions counted): remove other titles or raise the quota, then wish it again",
			ErrNoSpace, c.Title, sizeText(c.Size), sizeText(sp.Room), quota, sizeText(sp.Used), sizeText(a.store.FreeBytes()))
	}
	return nil
}
