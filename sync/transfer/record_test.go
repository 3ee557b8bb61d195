package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"swarmbox/media"
	"swarmbox/storage"
	"swarmbox/sync/protocol"
)

// fullRecord is a piece record on a disk that fills up: while full, every write fails as
// SQLite's does ("database or disk is full", ENOSPC underneath).
type fullRecord struct {
	mu            sync.Mutex
	full          bool
	done          map[string]bool
	server, peers int64
	refused       int
}

func newFullRecord() *fullRecord { return &fullRecord{done: map[string]bool{}} }

var errFull = fmt.Errorf("database or disk is full: %w", syscall.ENOSPC)

func (r *fullRecord) PieceDone(_ context.Context, ih string, i int) (bool, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.done[fmt.Sprint(ih, i)]
	return ok, d, nil
}

func (r *fullRecord) SetPiece(_ context.Context, ih string, i int, done bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.full {
		r.refused++
		return errFull
	}
	r.done[fmt.Sprint(ih, i)] = done
	return nil
}

func (r *fullRecord) RecordPiece(_ context.Context, ih string, i int, server, peers int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.full {
		r.refused++
		return errFull
	}
	r.done[fmt.Sprint(ih, i)] = true
	r.server += server
	r.peers += peers
	return nil
}

func (r *fullRecord) setFull(full bool) {
	r.mu.Lock()
	r.full = full
	r.mu.Unlock()
}

// recorded counts the pieces recorded verified.
func (r *fullRecord) recorded() (n int, refused int, peers int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.done {
		if d {
			n++
		}
	}
	return n, r.refused, r.peers
}

// enospcFile fails every write with ENOSPC while its disk is full.
type enospcFile struct {
	containerFile
	full *bool
	mu   *sync.Mutex
}

func (f enospcFile) WriteAt(b []byte, off int64) (int, error) {
	f.mu.Lock()
	full := *f.full
	f.mu.Unlock()
	if full {
		return 0, &os.PathError{Op: "write", Path: "container", Err: syscall.ENOSPC}
	}
	return f.containerFile.WriteAt(b, off)
}

// TestDiskFullNeverMarksVerified: a piece counts only when its data is written and its record
// committed. While the record (or the container) refuses writes, the engine shows no piece the
// record lacks, pauses, and once space returns completes without fetching again what verified.
func TestDiskFullNeverMarksVerified(t *testing.T) {
	t.Run("record refused", func(t *testing.T) {
		item, data, tb, seeder := newSeeder(t, 31, 2<<20)
		rec := newFullRecord()
		rec.setFull(true)
		dir := t.TempDir()
		leecher := newEngineWith(t, Config{MediaDir: dir, ListenAddr: "127.0.0.3:0", Completion: Completion(rec)})
		if err := leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: seeder.Addr()}}}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "a record to be refused and the item paused", func() bool {
			st, _ := leecher.Status(item)
			checkShownAsRecorded(t, leecher, item, rec)
			return st.Unrecorded > 0 && leecher.isPaused(item)
		})
		for range 20 { // paused: nothing more counts while the record refuses
			checkShownAsRecorded(t, leecher, item, rec)
			time.Sleep(50 * time.Millisecond)
		}
		rec.setFull(false)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		waitUntil(t, "every piece recorded once space returned", func() bool {
			n, _, _ := rec.recorded()
			st, _ := leecher.Status(item)
			return st.Complete && n == st.Total
		})
		mustComplete(t, ctx, item, leecher, seeder)
		st, _ := leecher.Status(item)
		_, refused, peers := rec.recorded()
		t.Logf("%d records refused while full; %d bytes received for %d, %d recorded", refused, st.BytesFromPeers, len(data), peers)
		if st.BytesFromPeers > int64(len(data)) {
			t.Errorf("received %d bytes for a %d-byte item: verified pieces were fetched again", st.BytesFromPeers, len(data))
		}
		if peers != int64(len(data)) {
			t.Errorf("recorded %d bytes from peers with the pieces; want exactly the item's %d", peers, len(data))
		}
		sameFile(t, dir, item, data)
	})
	t.Run("write refused (ENOSPC)", func(t *testing.T) {
		item, data, tb, seeder := newSeeder(t, 32, 1<<20)
		rec := newFullRecord()
		var mu sync.Mutex
		full := true
		dir := t.TempDir()
		leecher := newEngineWith(t, Config{MediaDir: dir, ListenAddr: "127.0.0.3:0", Completion: Completion(rec),
			wrapFile: func(f *os.File) containerFile { return enospcFile{osFile{f}, &full, &mu} }})
		if err := leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: seeder.Addr()}}}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "a write to fail", func() bool {
			st, _ := leecher.Status(item)
			checkShownAsRecorded(t, leecher, item, rec)
			return st.WriteErr != nil && errors.Is(st.WriteErr, syscall.ENOSPC)
		})
		for range 20 {
			checkShownAsRecorded(t, leecher, item, rec)
			if n, _, _ := rec.recorded(); n != 0 {
				t.Fatalf("%d pieces recorded verified though no write succeeded", n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		mu.Lock()
		full = false
		mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		mustComplete(t, ctx, item, leecher, seeder)
		sameFile(t, dir, item, data)
		if n, _, peers := rec.recorded(); n != leecher.torrentsPieces(item) || peers != int64(len(data)) {
			t.Errorf("recorded %d pieces and %d bytes; want every piece and %d bytes", n, peers, len(data))
		}
	})
	t.Run("real full tmpfs", func(t *testing.T) {
		realFullDisk(t)
	})
}

// torrentsPieces is the piece count of item's torrent.
func (e *Engine) torrentsPieces(item media.ItemID) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.torrents[item].NumPieces()
}

// checkShownAsRecorded fails if the engine shows item further along than the record.
func checkShownAsRecorded(t *testing.T, e *Engine, item media.ItemID, rec *fullRecord) {
	t.Helper()
	st, _ := e.Status(item)
	n, _, _ := rec.recorded()
	if st.Pieces > n || st.Complete && n < st.Total {
		t.Fatalf("the engine shows %d pieces (complete %v) but only %d are recorded", st.Pieces, st.Complete, n)
	}
}

// sameFile fails unless item's container in dir holds data.
func sameFile(t *testing.T, dir string, item media.ItemID, data []byte) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(dir, item.String()+".sbx"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("container differs from the item (err %v)", err)
	}
}

// realFullDisk runs a box's store and engine on a real tmpfs that the test mounts in a folder
// it created (and unmounts at the end), fills the disk once the container is allocated, so
// SQLite's records fail with "database or disk is full", and then frees it.
func realFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("mounting a tmpfs needs root")
	}
	item, data, tb, seeder := newSeeder(t, 33, 3<<20)
	disk := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", disk).CombinedOutput(); err != nil {
			exec.Command("umount", "-l", disk).Run()
			t.Logf("umount %s: %v %s", disk, err, out)
		}
	})
	ctx := context.Background()
	st, err := storage.Open(ctx, filepath.Join(disk, "box"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMeta(tb)
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Reserve(ctx, storage.Want{Item: item, InfoHash: m.InfoHash, Torrent: tb, Total: m.Pieces, PieceLength: m.PieceLength, Length: m.Length}, storage.AreaWishlist, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := res.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	leecher := newEngineWith(t, Config{MediaDir: st.MediaDir(), ListenAddr: "127.0.0.3:0", Completion: Completion(st)})
	t.Cleanup(func() { leecher.Close(); st.Close() })
	// The container is allocated; now nothing else fits.
	filler := filepath.Join(disk, "filler")
	fill(t, filler)
	if err := leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: seeder.Addr()}}}); err != nil {
		t.Fatal(err)
	}
	shown := func() (engine, recorded int, complete bool) {
		s, _ := leecher.Status(item)
		n, err := st.VerifiedPieces(ctx, m.InfoHash)
		if err != nil {
			t.Fatal(err)
		}
		return s.Pieces, n, s.Complete
	}
	waitUntil(t, "a record to fail on the full disk", func() bool {
		e, n, c := shown()
		if e > n || c && n < m.Pieces {
			t.Fatalf("the engine shows %d pieces (complete %v) but %d are recorded", e, c, n)
		}
		s, _ := leecher.Status(item)
		return s.Unrecorded > 0
	})
	s, _ := leecher.Status(item)
	t.Logf("full disk: %v", s.RecordErr)
	for range 20 {
		if e, n, c := shown(); e > n || c {
			t.Fatalf("the engine shows %d pieces (complete %v) but %d are recorded", e, c, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "every piece recorded once space returned", func() bool {
		e, n, c := shown()
		return c && e == m.Pieces && n == m.Pieces
	})
	it, err := st.GetItem(ctx, item)
	if err != nil {
		t.Fatal(err)
	}
	s, _ = leecher.Status(item)
	t.Logf("received %d bytes for %d; recorded %d from peers", s.BytesFromPeers, len(data), it.BytesFromPeers)
	if s.BytesFromPeers > int64(len(data)) {
		t.Errorf("received %d bytes for a %d-byte item: verified pieces were fetched again", s.BytesFromPeers, len(data))
	}
	if it.BytesFromPeers != int64(len(data)) {
		t.Errorf("recorded %d bytes with the pieces; want the item's %d", it.BytesFromPeers, len(data))
	}
	got, err := os.ReadFile(st.ContainerPath(item))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("container differs (err %v)", err)
	}
}

// fill writes path until the disk refuses more.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				// Small writes take the last blocks.
				for {
					if _, err := f.Write(buf[:512]); err != nil {
						return
					}
				}
			}
			t.Fatal(err)
		}
	}
}
