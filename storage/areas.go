package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"swarmbox/media"
)

// Storage areas of the box's disk (the same names as protocol.Area*).
const (
	AreaPreload  = "preload"  // written at the factory, read-only to the box, held and seedable
	AreaWishlist = "wishlist" // what the household asked for
	AreaCache    = "cache"    // space lent to the swarm for items the scheduler places; evicted first
)

// Areas lists the three areas in report order.
var Areas = []string{AreaPreload, AreaWishlist, AreaCache}

// ErrNoSpace is returned when an item does not fit in its area even after every allowed eviction.
var ErrNoSpace = errors.New("no space")

// ErrNotEvictable is returned for an eviction the rules forbid (preload, or being played).
var ErrNotEvictable = errors.New("item cannot be evicted")

// SetQuotas sets each area's byte quota (0 = bounded by the disk only). Unknown areas are refused.
func (s *Store) SetQuotas(q map[string]int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for a, n := range q {
		if !slices.Contains(Areas, a) {
			return fmt.Errorf("quota for unknown area %q: the areas are %s", a, strings.Join(Areas, ", "))
		}
		if n < 0 {
			return fmt.Errorf("quota for area %s is negative (%d)", a, n)
		}
	}
	s.quotas = map[string]int64{}
	for a, n := range q {
		s.quotas[a] = n
	}
	return nil
}

// Space is one area's quota and use, in bytes.
type Space struct {
	Area  string
	Quota int64 // 0 = no quota of its own: used + what the disk has left
	Used  int64
	Free  int64 // what can still be written: min(quota - used, free disk)
	Full  bool  // nothing more fits without an eviction
	// Room is what the area can take in with the eviction rules applied (expired rentals, cache,
	// unwished titles make way): what a planner may count on. Set by Rooms, not Spaces.
	Room int64
}

// Rooms is Spaces with Room filled in: the same arithmetic Reserve does to plan evictions, so
// what the box reports it can take in, it can.
func (s *Store) Rooms(ctx context.Context, now time.Time) ([]Space, error) {
	spaces, err := s.Spaces(ctx)
	if err != nil {
		return nil, err
	}
	cands, err := s.EvictionCandidates(ctx, now)
	if err != nil {
		return nil, err
	}
	reclaim := map[string]int64{}
	var all int64
	for _, c := range cands {
		reclaim[c.Area] += c.Size
		all += c.Size
	}
	disk := s.diskFree()
	for i, sp := range spaces {
		if sp.Area == AreaPreload {
			continue
		}
		room := disk + all
		if sp.Quota > 0 {
			room = min(room, max(0, sp.Quota-sp.Used)+reclaim[sp.Area])
		}
		spaces[i].Room = max(0, room)
	}
	return spaces, nil
}

// Spaces reports every area's quota and use.
func (s *Store) Spaces(ctx context.Context) ([]Space, error) {
	used, err := s.usedByArea(ctx, s.db)
	if err != nil {
		return nil, err
	}
	disk := s.diskFree()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Space
	for _, a := range Areas {
		sp := Space{Area: a, Quota: s.quotas[a], Used: used[a], Free: disk}
		if sp.Quota > 0 {
			sp.Free = max(0, min(disk, sp.Quota-sp.Used))
		}
		if a == AreaPreload {
			sp.Free = 0 // the box never writes there
		}
		sp.Full = sp.Free == 0 && a != AreaPreload
		out = append(out, sp)
	}
	return out, nil
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (s *Store) usedByArea(ctx context.Context, db querier) (map[string]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT area, SUM(size) FROM items GROUP BY area`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	used := map[string]int64{}
	for rows.Next() {
		var a string
		var n int64
		if err := rows.Scan(&a, &n); err != nil {
			return nil, err
		}
		used[a] = n
	}
	return used, rows.Err()
}

// sweepOrphans removes container files in the media folder that no item row owns: an eviction
// deletes the row first, so a crash before the file went leaves only such an orphan.
func (s *Store) sweepOrphans(ctx context.Context) error {
	items, err := s.Items(ctx)
	if err != nil {
		return err
	}
	own := map[string]bool{}
	for _, it := range items {
		own[it.ID.String()+".sbx"] = true
	}
	ents, err := os.ReadDir(s.MediaDir())
	if err != nil {
		return fmt.Errorf("read media folder: %w", err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".sbx") || own[e.Name()] {
			continue
		}
		if err := os.Remove(filepath.Join(s.MediaDir(), e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove orphaned container %s: %w", e.Name(), err)
		}
	}
	return nil
}

// Want is an item to take in, in the plain figures of its torrent: the caller reads them with
// transfer.ParseMeta, which refuses a torrent whose piece count disagrees with its length;
// storage does not parse torrents.
type Want struct {
	Item        media.ItemID
	InfoHash    string // hex
	Torrent     []byte // kept for the engine
	Total       int    // pieces in the torrent
	PieceLength int64  // bytes of every piece but the last
	Length      int64  // the container's length: all the torrent's bytes
}

// ErrRoomChanged is returned by Commit when making room now takes an item the Reservation did
// not list in Evict (what the rules allow changed in between): nothing was evicted or admitted.
var ErrRoomChanged = errors.New("room changed since the reservation")

// Reservation is room Reserve or ReserveRange found for an item and not yet taken: nothing on
// the disk or in the database has changed. Commit takes it.
//
// Why two steps rather than storage calling back into the transfer engine: an item evicted to
// make room may be in the engine, which holds its container open and writes pieces and their
// completion rows. Its file must not be deleted under the engine (the blocks of a file still
// open are not freed, so the room would not be there, and the engine would write into a deleted
// file and record completion for a gone item). So the caller first stops the engine's use of
// every item in Evict (transfer.Engine.Drop), then calls Commit, which evicts them and admits the
// item. Commit works the choice out again and refuses (ErrRoomChanged) if it now takes anything
// not in Evict, so nothing the engine still uses is ever deleted; an item in Evict that Commit
// did not evict (a playback lease taken in between, see Playing) stays, and the caller serves it
// again.
type Reservation struct {
	// Evict is what Commit evicts to make room, in the order the rules take them.
	Evict []media.ItemID

	s    *Store
	a    admission
	now  time.Time
	done bool
}

// admitKind is what a reservation does to the item it is for.
type admitKind int

const (
	admitNothing admitKind = iota // the box keeps what it has
	admitNew                      // a new row and container
	admitMove                     // a cache placement moves to the wishlist area, no copy
	admitWiden                    // a range placement grows to the whole item
)

// admission is one item being taken in: what, where, and the room it needs.
type admission struct {
	kind admitKind
	want Want
	area string
	// r is the pieces a range placement holds (empty for the whole item), the bytes [off, end)
	// of the container.
	r        media.PieceRange
	off, end int64
	have     Item // the range placement admitWiden grows
	// quotaNeed is the bytes more the area's quota must take, diskNeed the bytes more the disk.
	quotaNeed, diskNeed int64
}

// what names the admission in messages.
func (a admission) what() string {
	switch {
	case a.kind == admitWiden:
		return fmt.Sprintf("item %s (%d bytes, %d held as pieces [%d, %d))", a.want.Item, a.want.Length, a.have.Size, a.have.Range.Begin, a.have.Range.End)
	case !a.r.Empty():
		return fmt.Sprintf("item %s pieces [%d, %d) (%d bytes)", a.want.Item, a.r.Begin, a.r.End, a.end-a.off)
	}
	return fmt.Sprintf("item %s (%d bytes)", a.want.Item, a.end-a.off)
}

// Reserve plans taking a new item into area (AreaWishlist or AreaCache): it checks the area's
// quota and the disk and chooses what the rules allow evicting if needed (see
// EvictionCandidates). Commit then evicts that, records the item and allocates its whole
// container file up front, so a later write can never meet a full disk half way through a piece.
// An item already on the box keeps its progress; a cache placement of an item the household now
// wishes for moves to the wishlist area without copying, and a range placement (see
// ReserveRange) is widened to the whole item in area. An item that cannot fit is refused here
// (ErrNoSpace, recorded for Refusals), with nothing evicted.
func (s *Store) Reserve(ctx context.Context, w Want, area string, now time.Time) (*Reservation, error) {
	if area == "" {
		area = AreaWishlist
	}
	if area != AreaWishlist && area != AreaCache {
		return nil, fmt.Errorf("items are fetched into the wishlist or cache area, not %q", area)
	}
	if w.Length < 0 {
		return nil, fmt.Errorf("item %s: a length of %d bytes", w.Item, w.Length)
	}
	a := admission{kind: admitNew, want: w, area: area, off: 0, end: w.Length, quotaNeed: w.Length, diskNeed: w.Length}
	if have, err := s.GetItem(ctx, w.Item); err == nil {
		switch {
		case !have.Range.Empty():
			// Room for the bytes it lacks (all of them against area's quota if it changes
			// area), never by evicting the item itself.
			a.kind, a.have = admitWiden, have
			a.diskNeed = max(0, w.Length-have.Size)
			a.quotaNeed = a.diskNeed
			if have.Area != area {
				a.quotaNeed = w.Length
			}
		case have.Area == AreaCache && area == AreaWishlist:
			a.kind = admitMove
		default:
			a.kind = admitNothing
		}
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return s.plan(ctx, a, now)
}

// ReserveRange plans taking item w.Item into the cache area holding only the pieces r of its
// torrent: a range placement, so that in a flash crowd idle boxes can each serve one part of a
// title. Only the range's bytes count against the quota and get blocks; the container file still
// has the item's full length, so pieces sit at the torrent's offsets. Room is made as Reserve
// makes it. An item already on the box, whole or as a range, is kept as it is (Commit does
// nothing).
func (s *Store) ReserveRange(ctx context.Context, w Want, r media.PieceRange, now time.Time) (*Reservation, error) {
	if !r.Valid(w.Total) {
		return nil, fmt.Errorf("piece range [%d, %d) of %s: the torrent has %d pieces", r.Begin, r.End, w.Item, w.Total)
	}
	// transfer.ParseMeta refuses such torrents; this guards the arithmetic all the same.
	off := int64(r.Begin) * w.PieceLength
	end := min(int64(r.End)*w.PieceLength, w.Length)
	if w.PieceLength <= 0 || end <= off {
		return nil, fmt.Errorf("piece range [%d, %d) of %s: the torrent's %d pieces of %d bytes do not fit its length of %d bytes", r.Begin, r.End, w.Item, w.Total, w.PieceLength, w.Length)
	}
	a := admission{kind: admitNew, want: w, area: AreaCache, r: r, off: off, end: end, quotaNeed: end - off, diskNeed: end - off}
	if _, err := s.GetItem(ctx, w.Item); err == nil {
		a.kind = admitNothing
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return s.plan(ctx, a, now)
}

// plan chooses the evictions a needs, changing nothing.
func (s *Store) plan(ctx context.Context, a admission, now time.Time) (*Reservation, error) {
	res := &Reservation{s: s, a: a, now: now}
	if a.kind == admitNothing || a.kind == admitMove {
		return res, nil
	}
	victims, err := s.makeRoom(ctx, a, now)
	if err != nil {
		return nil, s.refused(ctx, a, err, now)
	}
	for _, v := range victims {
		res.Evict = append(res.Evict, v.Item)
	}
	return res, nil
}

// Commit takes the room: it evicts what making room takes now (only items in r.Evict, which the
// caller has stopped using) and admits the item. It returns what it evicted, also with an error.
func (r *Reservation) Commit(ctx context.Context) ([]media.ItemID, error) {
	if r.done {
		return nil, errors.New("reservation already committed")
	}
	r.done = true
	s, a := r.s, r.a
	switch a.kind {
	case admitNothing:
		return nil, nil
	case admitMove:
		_, err := s.db.ExecContext(ctx, `UPDATE items SET area = ? WHERE id = ?`, AreaWishlist, a.want.Item.String())
		return nil, err
	}
	victims, err := s.makeRoom(ctx, a, r.now)
	if err != nil {
		return nil, s.refused(ctx, a, err, r.now)
	}
	for _, v := range victims {
		if !slices.Contains(r.Evict, v.Item) {
			return nil, fmt.Errorf("%s into the %s area: making room now takes %s, which the reservation did not list: %w", a.what(), a.area, v.Item, ErrRoomChanged)
		}
	}
	var evicted []media.ItemID
	for _, v := range victims {
		if err := s.evict(ctx, v.Item, v.Reason, r.now); err != nil {
			return evicted, err
		}
		evicted = append(evicted, v.Item)
	}
	if a.kind == admitWiden {
		return evicted, s.widen(ctx, a, r.now)
	}
	return evicted, s.admit(ctx, a, r.now)
}

// refused wraps err, a failure to make room for a, and records it for Refusals if it is
// ErrNoSpace.
func (s *Store) refused(ctx context.Context, a admission, err error, now time.Time) error {
	err = fmt.Errorf("%s into the %s area: %w", a.what(), a.area, err)
	if errors.Is(err, ErrNoSpace) {
		s.refuse(ctx, a.want.Item, a.area, err, now)
	}
	return err
}

// admit records a new item holding the bytes [a.off, a.end) of its container in a.area, room
// having been made.
func (s *Store) admit(ctx context.Context, a admission, now time.Time) error {
	w := a.want
	if _, err := s.db.ExecContext(ctx, `INSERT INTO items (id, info_hash, torrent, total, updated, area, size, range_begin, range_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.Item.String(), w.InfoHash, w.Torrent, w.Total, now.UnixMilli(), a.area, a.end-a.off, a.r.Begin, a.r.End); err != nil {
		return err
	}
	if err := allocate(s.ContainerPath(w.Item), w.Length, a.off, a.end); err != nil {
		s.db.ExecContext(ctx, `DELETE FROM items WHERE id = ?`, w.Item.String())
		os.Remove(s.ContainerPath(w.Item))
		if errors.Is(err, syscall.ENOSPC) {
			err = fmt.Errorf("%s: the disk is full: %w", a.what(), ErrNoSpace)
			s.refuse(ctx, w.Item, a.area, err, now)
			return err
		}
		return fmt.Errorf("allocate %s: %w", s.ContainerPath(w.Item), err)
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM refusals WHERE item = ?`, w.Item.String())
	return err
}

// widen turns the range placement a.have into the whole item in a.area, keeping its pieces, room
// having been made. If it fails the range placement stays as it was.
func (s *Store) widen(ctx context.Context, a admission, now time.Time) error {
	id, size := a.have.ID, a.want.Length
	// Blocks first, row second: a failure or crash in between leaves the range row, which
	// counts fewer bytes than are allocated, never more.
	if err := allocate(s.ContainerPath(id), size, 0, size); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			err = fmt.Errorf("%s: the disk is full: %w", a.what(), ErrNoSpace)
			s.refuse(ctx, id, a.area, err, now)
			return err
		}
		return fmt.Errorf("allocate %s: %w", s.ContainerPath(id), err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE items SET area = ?, size = ?, range_begin = 0, range_end = 0 WHERE id = ?`, a.area, size, id.String()); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM refusals WHERE item = ?`, id.String())
	return err
}

// refuse records why an item could not be admitted, for the box's status; best effort, since
// the disk may be too full for even that.
func (s *Store) refuse(ctx context.Context, id media.ItemID, area string, why error, now time.Time) {
	s.db.ExecContext(ctx, `INSERT OR REPLACE INTO refusals (item, area, reason, at) VALUES (?, ?, ?, ?)`, id.String(), area, why.Error(), now.UnixMilli())
}

// Refusal is an item the box could not take in for lack of space.
type Refusal struct {
	Item   media.ItemID
	Area   string
	Reason string
	At     time.Time
}

// Refusals lists items refused for lack of space and not admitted since.
func (s *Store) Refusals(ctx context.Context) ([]Refusal, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT item, area, reason, at FROM refusals ORDER BY at, item`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Refusal
	for rows.Next() {
		var r Refusal
		var id string
		var at int64
		if err := rows.Scan(&id, &r.Area, &r.Reason, &at); err != nil {
			return nil, err
		}
		if r.Item, err = media.ParseItemID(id); err != nil {
			return nil, err
		}
		r.At = time.UnixMilli(at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// allocate makes the file at path size bytes long with the blocks of [off, end) allocated
// (fallocate), so the space is taken now rather than when the last piece arrives.
func allocate(path string, size, off, end int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	if end > off {
		if err := syscall.Fallocate(int(f.Fd()), 0, off, end-off); err != nil && !errors.Is(err, syscall.EOPNOTSUPP) {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// makeRoom chooses candidates other than the item a is for until a.quotaNeed more bytes fit in
// a.area's quota and a.diskNeed on the disk, changing nothing. It works out the whole choice, so
// an item that cannot fit evicts nothing (ErrNoSpace).
func (s *Store) makeRoom(ctx context.Context, a admission, now time.Time) ([]Candidate, error) {
	spaces, err := s.Spaces(ctx)
	if err != nil {
		return nil, err
	}
	sp := spaces[slices.IndexFunc(spaces, func(x Space) bool { return x.Area == a.area })]
	quotaShort := int64(0)
	if sp.Quota > 0 {
		quotaShort = sp.Used + a.quotaNeed - sp.Quota
	}
	diskShort := a.diskNeed - s.diskFree()
	if quotaShort <= 0 && diskShort <= 0 {
		return nil, nil
	}
	cands, err := s.EvictionCandidates(ctx, now)
	if err != nil {
		return nil, err
	}
	var chosen []Candidate
	for _, c := range cands {
		if quotaShort <= 0 && diskShort <= 0 {
			break
		}
		if c.Item == a.want.Item {
			continue
		}
		// Evicting from another area helps a disk shortage, never a quota.
		if quotaShort > 0 && c.Area != a.area && diskShort <= 0 {
			continue
		}
		chosen = append(chosen, c)
		diskShort -= c.Size
		if c.Area == a.area {
			quotaShort -= c.Size
		}
	}
	switch {
	case quotaShort > 0:
		return nil, fmt.Errorf("%w: the %s area's quota is %d bytes, %d are used and the eviction rules free too little: remove a wish or raise the quota", ErrNoSpace, a.area, sp.Quota, sp.Used)
	case diskShort > 0:
		return nil, fmt.Errorf("%w: the disk is full (%d bytes free) and the eviction rules free too little: remove a wish", ErrNoSpace, s.diskFree())
	}
	return chosen, nil
}

// Candidate is an item the eviction rules allow to go, and why.
type Candidate struct {
	Item   media.ItemID
	Area   string
	Size   int64
	Reason string
}

// Eviction reasons, in the order the rules take them.
const (
	ReasonExpiredRental = "expired rental"
	ReasonCache         = "cache placement"
	ReasonUnwished      = "no longer wished"
	ReasonScheduler     = "scheduler"
)

// EvictionCandidates lists, in the order they go, the items the box may delete to make room:
//
//  1. items whose only license is a rental that has expired;
//  2. cache placements, least recently updated first;
//  3. items in the wishlist area the household no longer wishes for and has no license for.
//
// Never listed: preload items (read-only), items being played (see Playing), items on the
// wishlist, items with a license still valid or owned. The scheduler's evictions (Evict) are
// honoured apart from the first two.
func (s *Store) EvictionCandidates(ctx context.Context, now time.Time) ([]Candidate, error) {
	items, err := s.Items(ctx)
	if err != nil {
		return nil, err
	}
	wish, _, err := s.Wishlist(ctx)
	if err != nil {
		return nil, err
	}
	id, err := s.Identity(ctx)
	if err != nil && !errors.Is(err, ErrNoIdentity) {
		return nil, err
	}
	var rentals, cache, unwished []Candidate
	slices.SortStableFunc(items, func(a, b Item) int { return a.Updated.Compare(b.Updated) })
	for _, it := range items {
		if it.Area == AreaPreload {
			continue
		}
		if playing, err := s.isPlaying(ctx, it.ID, now); err != nil {
			return nil, err
		} else if playing {
			continue
		}
		lic, licErr := s.License(ctx, it.ID)
		hasLicense := licErr == nil
		if licErr != nil && !errors.Is(licErr, ErrNotFound) {
			return nil, licErr
		}
		if hasLicense {
			l, err := media.ParseLicense(lic, id.HeadendKey)
			if err == nil && l.Kind == media.Rental && !now.Before(l.Expires) {
				rentals = append(rentals, Candidate{it.ID, it.Area, it.Size, ReasonExpiredRental})
			}
			continue
		}
		switch {
		case it.Area == AreaCache && !slices.Contains(wish, it.ID):
			cache = append(cache, Candidate{it.ID, it.Area, it.Size, ReasonCache})
		case it.Area == AreaWishlist && !slices.Contains(wish, it.ID):
			unwished = append(unwished, Candidate{it.ID, it.Area, it.Size, ReasonUnwished})
		}
	}
	return slices.Concat(rentals, cache, unwished), nil
}

// Evict deletes an item the scheduler asked the box to drop. Preload items and items being
// played are refused with ErrNotEvictable. The caller stops serving the item first.
func (s *Store) Evict(ctx context.Context, item media.ItemID, now time.Time) error {
	it, err := s.GetItem(ctx, item)
	if err != nil {
		return err
	}
	if it.Area == AreaPreload {
		return fmt.Errorf("%s is a factory preload, read-only to the box: %w", item, ErrNotEvictable)
	}
	if playing, err := s.isPlaying(ctx, item, now); err != nil {
		return err
	} else if playing {
		return fmt.Errorf("%s is being played: %w", item, ErrNotEvictable)
	}
	return s.evict(ctx, item, ReasonScheduler, now)
}

// evict removes the item's rows (item, piece completion) in one transaction, then its file. A
// crash in between leaves an orphaned file that the next Open removes.
func (s *Store) evict(ctx context.Context, item media.ItemID, reason string, now time.Time) error {
	it, err := s.GetItem(ctx, item)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM items WHERE id = ?`, `DELETE FROM pieces WHERE info_hash = ?`} {
		arg := item.String()
		if strings.Contains(q, "pieces") {
			arg = it.InfoHash
		}
		if _, err := tx.ExecContext(ctx, q, arg); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO evictions (item, area, reason, at) VALUES (?, ?, ?, ?)`, item.String(), it.Area, reason, now.UnixMilli()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.MediaDir(), item.String()+".sbx")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("evicted %s but could not remove its file (removed on next start): %w", item, err)
	}
	return nil
}

// Eviction is one past eviction.
type Eviction struct {
	Item   media.ItemID
	Area   string
	Reason string
	At     time.Time
}

// Evictions lists past evictions, oldest first.
func (s *Store) Evictions(ctx context.Context) ([]Eviction, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT item, area, reason, at FROM evictions ORDER BY rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Eviction
	for rows.Next() {
		var e Eviction
		var id string
		var at int64
		if err := rows.Scan(&id, &e.Area, &e.Reason, &at); err != nil {
			return nil, err
		}
		if e.Item, err = media.ParseItemID(id); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Playing marks item as being played until the given time (a lease the player renews), so no
// eviction touches it; a zero until ends it.
func (s *Store) Playing(ctx context.Context, item media.ItemID, until time.Time) error {
	if until.IsZero() {
		_, err := s.db.ExecContext(ctx, `DELETE FROM playing WHERE item = ?`, item.String())
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO playing (item, until) VALUES (?, ?)`, item.String(), until.UnixMilli())
	return err
}

func (s *Store) isPlaying(ctx context.Context, item media.ItemID, now time.Time) (bool, error) {
	var until int64
	err := s.db.QueryRowContext(ctx, `SELECT until FROM playing WHERE item = ?`, item.String()).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil && now.UnixMilli() < until, err
}
