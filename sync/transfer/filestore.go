package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/anacrolix/torrent/metainfo"
	tstorage "github.com/anacrolix/torrent/storage"
)

// fileStore is the engine's torrent storage: each torrent is one container file, named by the
// torrent, in one folder; pieces are read and written in place (no second copy), and a piece's
// completion is recorded only after its bytes are on the disk (fdatasync), so a power cut never
// leaves a piece marked verified whose data was lost.
//
// anacrolix/torrent's own file storage maps files into memory and keeps every mapping until the
// client closes: an evicted container's blocks stay allocated, and a write into a sparse
// mapping on a full disk kills the process with SIGBUS. Plain reads and writes have neither
// problem, and closing the torrent closes the file.
type fileStore struct {
	dir  string
	rec  *recorder
	open func(*os.File) containerFile // nil: the file itself (a unit test injects faults here)
}

// OpenTorrent implements tstorage.ClientImpl for single-file torrents.
func (s fileStore) OpenTorrent(_ context.Context, info *metainfo.Info, infoHash metainfo.Hash) (tstorage.TorrentImpl, error) {
	if len(info.Files) > 0 {
		return tstorage.TorrentImpl{}, fmt.Errorf("torrent %s has %d files: boxes carry single-file containers", info.Name, len(info.Files))
	}
	if info.Name == "" || info.Name != filepath.Base(info.Name) || info.Name == "." || info.Name == ".." {
		return tstorage.TorrentImpl{}, fmt.Errorf("torrent name %q is not a plain file name", info.Name)
	}
	path := filepath.Join(s.dir, info.Name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) {
		f, err = os.Open(path) // a read-only preload
	}
	if err != nil {
		return tstorage.TorrentImpl{}, fmt.Errorf("open container %s: %w", path, err)
	}
	var cf containerFile = osFile{f}
	if s.open != nil {
		cf = s.open(f)
	}
	t := &fileTorrent{f: cf, ih: infoHash, rec: s.rec}
	return tstorage.TorrentImpl{
		Piece: func(p metainfo.Piece) tstorage.PieceImpl { return filePiece{t, p} },
		Close: t.close,
	}, nil
}

type fileTorrent struct {
	f         containerFile
	ih        metainfo.Hash
	rec       *recorder
	closeOnce sync.Once
}

func (t *fileTorrent) close() error {
	var err error
	t.closeOnce.Do(func() { err = t.f.Close() })
	return err
}

type filePiece struct {
	t *fileTorrent
	p metainfo.Piece
}

func (p filePiece) key() metainfo.PieceKey {
	return metainfo.PieceKey{InfoHash: p.t.ih, Index: p.p.Index()}
}

// ReadAt reads within the piece; reading past the file's end (a piece never written) is EOF.
func (p filePiece) ReadAt(b []byte, off int64) (int, error) {
	if rest := p.p.Length() - off; int64(len(b)) > rest {
		b = b[:max(rest, 0)]
	}
	n, err := p.t.f.ReadAt(b, p.p.Offset()+off)
	if err == nil && n < len(b) {
		err = io.EOF
	}
	return n, err
}

// WriteAt writes within the piece.
func (p filePiece) WriteAt(b []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(b)) > p.p.Length() {
		return 0, fmt.Errorf("write of %d bytes at %d is outside piece %d (%d bytes)", len(b), off, p.p.Index(), p.p.Length())
	}
	return p.t.f.WriteAt(b, p.p.Offset()+off)
}

// MarkComplete makes the piece's bytes durable, then records it verified with the bytes that
// brought it. If either fails the piece does not count: the error goes back to the client, and
// a failed record is retried (see recorder) while Completion says not verified.
func (p filePiece) MarkComplete() error {
	if err := p.t.f.datasync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		p.t.rec.forget(p.key())
		return fmt.Errorf("sync piece %d to disk: %w", p.p.Index(), err)
	}
	return p.t.rec.complete(p.key(), p.p.Length())
}

// MarkNotComplete records the piece as not verified; what it received is not counted.
func (p filePiece) MarkNotComplete() error {
	p.t.rec.forget(p.key())
	return p.t.rec.completion.Set(p.key(), false)
}

// Completion is what the database says of the piece; a piece whose record is pending counts as
// not verified.
func (p filePiece) Completion() tstorage.Completion {
	if p.t.rec.isPending(p.key()) {
		return tstorage.Completion{Ok: true, Complete: false}
	}
	c, err := p.t.rec.completion.Get(p.key())
	if err != nil {
		return tstorage.Completion{Err: err}
	}
	return c
}

// containerFile is what the store does with a container: read and write in place, flush to the
// disk, close. A unit test puts a file that fails writes (ENOSPC) in its place.
type containerFile interface {
	io.ReaderAt
	io.WriterAt
	datasync() error
	Close() error
}

// osFile is a container on the disk.
type osFile struct{ *os.File }

// datasync flushes the file's data to the disk. It goes through SyscallConn, which holds the
// descriptor open for the call: File.Fd races with a Close from the client dropping the
// torrent while a hasher marks a piece, and the number could by then name another file.
func (f osFile) datasync() error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fdatasync(int(fd)) }); err != nil {
		return err
	}
	return serr
}
