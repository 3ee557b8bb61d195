// Package factory prepares a box at purchase time: it gives the box its identity, pins the
// head-end's key and registers it, and preloads sealed titles — the ones the customer chose and
// the head-end's forecast of what the customer's region will want — so that from its first boot
// the box holds them, reports them, and serves them to its neighbours.
package factory

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"swarmbox/cloud/forecast"
	"swarmbox/media"
	"swarmbox/storage"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
	"swarmbox/sync/transfer"
)

// PreloadDir is the folder, inside a box's state folder, of the preload area: the factory
// writes sealed containers there and the box only reads and seeds them.
const PreloadDir = "preload"

// Order is one box's preparation.
type Order struct {
	BoxDir     string // the box's state folder to fill (box.db, media/, preload/)
	Headend    string // the head-end URL the factory uses
	BoxHeadend string // the head-end URL stored on the box (default: Headend)
	// Enroll is the order's enrollment token ('swarmbox-cloud account enroll ACCOUNT'): the
	// box registers with it and is paired to the ordering household before it leaves the
	// factory. Account, when given, must be the household the token pairs to.
	Enroll     string
	Account    string
	Titles     []string // chosen by the customer: item ids, unique id prefixes, or titles
	Extra      int      // how many more titles from the region's demand forecast
	Repository string   // the head-end's folder of sealed containers (<item id>.sbx)
	// Capacity is how many bytes the preload area may hold; 0 means the free space of BoxDir's
	// file system.
	Capacity int64
	Progress io.Writer // one line per step and title; nil for none
	Now      func() time.Time
}

// Result is what was preloaded.
type Result struct {
	Box     media.BoxID
	Account string // the household the box is paired to
	Region  string
	Items   []protocol.CatalogItem // in preload order: chosen, then forecast
	Bytes   int64
}

// ErrFull is returned when the titles do not fit the preload area.
var ErrFull = errors.New("the preload area is full")

// ErrUnknownTitle is returned for a chosen title the head-end's catalog does not have.
var ErrUnknownTitle = errors.New("unknown title")

// Preload prepares the box in o.BoxDir. Nothing is written to the preload area before every
// title is known and the whole set is known to fit.
func Preload(ctx context.Context, o Order) (Result, error) {
	var res Result
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BoxHeadend == "" {
		o.BoxHeadend = o.Headend
	}
	if o.Headend == "" || o.Enroll == "" || o.Repository == "" {
		return res, errors.New("give the head-end URL, the order's enrollment token ('swarmbox-cloud account enroll ACCOUNT') and the head-end's repository folder")
	}
	if o.Extra < 0 {
		return res, fmt.Errorf("extra titles: %d is negative", o.Extra)
	}
	say := func(format string, a ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", a...)
		}
	}
	st, err := storage.Open(ctx, o.BoxDir)
	if err != nil {
		return res, err
	}
	defer st.Close()
	id, err := st.EnsureIdentity(ctx, o.BoxHeadend, "")
	if err != nil {
		return res, err
	}
	res.Box = id.Box
	say("box %s: identity made", id.Box)

	client := cloudclient.New(o.Headend, id.SignKey)
	client.Now = o.Now
	reg, err := client.Register(ctx, o.Enroll, id.KEMKey.PublicKey().Bytes())
	if err != nil {
		return res, fmt.Errorf("register the box with the head-end: %w", err)
	}
	if reg.Account == "" || (o.Account != "" && reg.Account != o.Account) {
		return res, fmt.Errorf("the head-end paired the box to account %q, not the order's %q: check the enrollment token", reg.Account, o.Account)
	}
	if err := st.SetRegistered(ctx, reg.HeadendKey); err != nil {
		return res, err
	}
	if err := st.SetPairing(ctx, storage.Pairing{Paired: true, Account: reg.Account}); err != nil {
		return res, err
	}
	res.Region, res.Account = reg.Region, reg.Account
	say("box %s: registered and paired to account %s (region %s), head-end key pinned", id.Box, reg.Account, reg.Region)

	cat, raw, err := client.Catalog(ctx)
	if err != nil {
		return res, fmt.Errorf("the head-end's catalog: %w", err)
	}
	chosen, err := resolve(cat, o.Titles)
	if err != nil {
		return res, err
	}
	extra, err := forecastTitles(ctx, o.Headend, reg.Region, o.Extra, chosen, cat)
	if err != nil {
		return res, err
	}
	res.Items = append(chosen, extra...)
	say("titles: %d chosen, %d from the %s forecast", len(chosen), len(extra), reg.Region)

	need := int64(0)
	for _, it := range res.Items {
		need += it.SealedSize
	}
	capacity := o.Capacity
	if capacity == 0 {
		capacity = st.FreeBytes()
	}
	if need > capacity {
		return res, fmt.Errorf("%w: the %d titles need %d bytes, it holds %d: choose fewer titles or a bigger preload area", ErrFull, len(res.Items), need, capacity)
	}
	if _, err := st.SaveCatalog(ctx, cat.Version, raw); err != nil {
		return res, err
	}
	pre := st.PreloadDir()
	if err := os.MkdirAll(pre, 0o755); err != nil {
		return res, err
	}
	for i, it := range res.Items {
		say("[%d/%d] %s (%s, %d bytes)", i+1, len(res.Items), it.Title, it.ID, it.SealedSize)
		if err := preloadOne(ctx, client, st, o, pre, it); err != nil {
			return res, fmt.Errorf("preload %q: %w", it.Title, err)
		}
		res.Bytes += it.SealedSize
	}
	say("preloaded %d titles, %d bytes", len(res.Items), res.Bytes)
	return res, nil
}

// resolve finds the chosen titles in the catalog, by id, unique id prefix or exact title.
func resolve(cat protocol.Catalog, names []string) ([]protocol.CatalogItem, error) {
	var out []protocol.CatalogItem
	var unknown []string
	for _, n := range names {
		var hits []protocol.CatalogItem
		for _, it := range cat.Items {
			if it.Title == n || it.ID.String() == n {
				hits = []protocol.CatalogItem{it}
				break
			}
			if len(n) >= 4 && strings.HasPrefix(it.ID.String(), strings.ToLower(n)) {
				hits = append(hits, it)
			}
		}
		switch {
		case len(hits) == 0:
			unknown = append(unknown, n)
		case len(hits) > 1:
			return nil, fmt.Errorf("%q names %d titles: give more of the id", n, len(hits))
		case !slices.ContainsFunc(out, func(c protocol.CatalogItem) bool { return c.ID == hits[0].ID }):
			out = append(out, hits[0])
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w: %q: the head-end's catalog has no such title (see 'swarmbox-cloud catalog')", ErrUnknownTitle, unknown)
	}
	return out, nil
}

// forecastTitles asks the head-end for the region's forecast and returns the n best titles that
// were not chosen already.
func forecastTitles(ctx context.Context, headend, region string, n int, chosen []protocol.CatalogItem, cat protocol.Catalog) ([]protocol.CatalogItem, error) {
	if n == 0 {
		return nil, nil
	}
	u := strings.TrimRight(headend, "/") + "/v1/forecast?region=" + url.QueryEscape(region) + fmt.Sprintf("&limit=%d", min(n+len(chosen), 1000))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the head-end's forecast: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("the head-end's forecast: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the head-end's forecast: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	var f forecast.Forecast
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, fmt.Errorf("the head-end's forecast is not JSON: %w", err)
	}
	var out []protocol.CatalogItem
	for _, sc := range f.Items {
		if len(out) == n {
			break
		}
		if slices.ContainsFunc(chosen, func(c protocol.CatalogItem) bool { return c.ID == sc.Item }) {
			continue
		}
		if i := slices.IndexFunc(cat.Items, func(c protocol.CatalogItem) bool { return c.ID == sc.Item }); i >= 0 {
			out = append(out, cat.Items[i])
		}
	}
	return out, nil
}

// preloadOne copies a sealed container into the preload area, checking every piece against the
// item's torrent, and records the item as held with every piece verified.
func preloadOne(ctx context.Context, client *cloudclient.Client, st *storage.Store, o Order, pre string, it protocol.CatalogItem) error {
	tb, err := client.Torrent(ctx, it.ID)
	if err != nil {
		return fmt.Errorf("its torrent: %w", err)
	}
	m, err := transfer.ParseMeta(tb)
	if err != nil {
		return err
	}
	if !m.Private {
		return fmt.Errorf("the torrent is not marked private: refusing a public torrent")
	}
	if m.InfoHash != it.InfoHash {
		return fmt.Errorf("the torrent's info hash %s differs from the catalog's %s", m.InfoHash, it.InfoHash)
	}
	name := it.ID.String() + ".sbx"
	dst := filepath.Join(pre, name)
	if err := copyVerified(filepath.Join(o.Repository, name), dst, m); err != nil {
		return err
	}
	// The box's storage finds containers in its preload area and seeds them from first boot.
	// Storage reads no torrents: it records the item only once transfer re-read the copy in place.
	p := storage.Preload{InfoHash: m.InfoHash, Torrent: tb, Pieces: m.Pieces, Size: m.Length}
	verify := func(ctx context.Context, path string) error { return transfer.VerifyFile(ctx, path, m) }
	if err := st.AddPreloaded(ctx, it.ID, p, verify, o.Now()); err != nil {
		os.Remove(dst)
		return err
	}
	return nil
}

// copyVerified copies src to dst (temp file, fsync, rename) and fails unless every piece
// matches the torrent's SHA-1.
func copyVerified(src, dst string, m transfer.Meta) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("the sealed container: %w (is -repository the head-end's repository folder?)", err)
	}
	defer in.Close()
	tmp := dst + ".part"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	w := bufio.NewWriterSize(out, 1<<20)
	buf := make([]byte, m.PieceLength)
	var total int64
	for i, want := range m.PieceHashes {
		n, err := io.ReadFull(in, buf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			out.Close()
			return fmt.Errorf("the sealed container ends at piece %d of %d: %w", i, m.Pieces, err)
		}
		if sha1.Sum(buf[:n]) != want {
			out.Close()
			return fmt.Errorf("piece %d of the sealed container does not match its torrent: the repository copy is damaged", i)
		}
		w.Write(buf[:n])
		total += int64(n)
	}
	if extra, _ := in.Read(buf[:1]); extra > 0 || total != m.Length {
		out.Close()
		return fmt.Errorf("the sealed container is %d bytes or more, its torrent says %d", total+int64(extra), m.Length)
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return fmt.Errorf("%w: %v", ErrFull, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("%w: %v", ErrFull, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
