package media

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
)

// The sealed container. A fixed header, integers big-endian:
//
//	magic "SWBX" | version (1) | 3 reserved zero bytes | item id (16) | chunk size (u32) |
//	nonce prefix (4) | plaintext length (u64)
//
// then the plaintext in chunks of chunk size (the last may be shorter; an empty plaintext has
// none), each sealed with AES-256-GCM and stored as ciphertext ‖ tag:
//
//	nonce           = nonce prefix ‖ u64 chunk index
//	associated data = header ‖ u64 chunk index ‖ last-chunk flag (1 for the final chunk, else 0)
//
// Binding the header, index and last flag means chunks cannot be swapped, reordered or dropped
// from the end, and any change to the header breaks every chunk.

const (
	// Magic opens every container.
	Magic = "SWBX"
	// Version is the container format this package writes and reads.
	Version = 1
	// HeaderSize is the size of the encoded header.
	HeaderSize = 4 + 1 + 3 + 16 + 4 + 4 + 8
	// DefaultChunkSize is the chunk size Seal uses unless told otherwise.
	DefaultChunkSize = 64 << 10
	// MinChunkSize is the smallest chunk size allowed.
	MinChunkSize = 1 << 10
	// MaxChunkSize bounds the chunk size, and so the memory a Reader needs.
	MaxChunkSize = 16 << 20
	// MaxPlainSize bounds the plaintext a container holds (1 PiB).
	MaxPlainSize = 1 << 50

	tagSize   = 16
	nonceSize = 12
	adSize    = HeaderSize + 8 + 1
)

// Container errors.
var (
	ErrNotContainer       = errors.New("not a swarmbox container")
	ErrUnsupportedVersion = errors.New("unsupported container version")
	ErrBadHeader          = errors.New("container header is invalid")
	ErrWrongItem          = errors.New("belongs to another title")
	ErrDamaged            = errors.New("container is damaged or was tampered with")
	ErrTruncated          = errors.New("container is truncated")
	ErrSizeMismatch       = errors.New("input length differs from the size given")
)

// ChunkError says which chunk of a container could not be read, and why.
type ChunkError struct {
	Index int64
	Err   error
}

// Error implements error.
func (e *ChunkError) Error() string { return fmt.Sprintf("chunk %d: %v", e.Index, e.Err) }

// Unwrap returns the cause, so errors.Is(err, ErrDamaged) works.
func (e *ChunkError) Unwrap() error { return e.Err }

// Header is a container's header.
type Header struct {
	Version     uint8   // format version; only Version is read and written
	Item        ItemID  // the title inside
	ChunkSize   uint32  // plaintext bytes per chunk
	NoncePrefix [4]byte // random per container, first part of every chunk's nonce
	PlainSize   int64   // plaintext length
}

// check reports whether h can be encoded and read back.
func (h Header) check() error {
	switch {
	case h.Version != Version:
		return fmt.Errorf("%w %d: update the software", ErrUnsupportedVersion, h.Version)
	case h.ChunkSize < MinChunkSize || h.ChunkSize > MaxChunkSize:
		return fmt.Errorf("%w: chunk size %d not in [%d, %d]", ErrBadHeader, h.ChunkSize, MinChunkSize, MaxChunkSize)
	case h.PlainSize < 0 || h.PlainSize > MaxPlainSize:
		return fmt.Errorf("%w: plaintext length %d not in [0, %d]", ErrBadHeader, h.PlainSize, int64(MaxPlainSize))
	}
	return nil
}

// MarshalBinary encodes the header. It refuses a header ParseHeader would refuse.
func (h Header) MarshalBinary() ([]byte, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	b := make([]byte, HeaderSize)
	copy(b, Magic)
	b[4] = h.Version
	copy(b[8:24], h.Item[:])
	binary.BigEndian.PutUint32(b[24:28], h.ChunkSize)
	copy(b[28:32], h.NoncePrefix[:])
	binary.BigEndian.PutUint64(b[32:40], uint64(h.PlainSize))
	return b, nil
}

// ParseHeader decodes and checks the header at the start of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		if strings.HasPrefix(Magic, string(b[:min(len(b), len(Magic))])) && len(b) > 0 {
			return Header{}, fmt.Errorf("%w: %d bytes, want a %d-byte header", ErrTruncated, len(b), HeaderSize)
		}
		return Header{}, fmt.Errorf("%w: only %d bytes", ErrNotContainer, len(b))
	}
	if string(b[:4]) != Magic {
		return Header{}, ErrNotContainer
	}
	// Version first: a later version may use the reserved bytes.
	if b[4] != Version {
		return Header{}, fmt.Errorf("%w %d: update the software", ErrUnsupportedVersion, b[4])
	}
	if b[5]|b[6]|b[7] != 0 {
		return Header{}, fmt.Errorf("%w: reserved bytes set", ErrBadHeader)
	}
	h := Header{
		Version:   b[4],
		Item:      ItemID(b[8:24]),
		ChunkSize: binary.BigEndian.Uint32(b[24:28]),
		// A length past 1<<63 turns negative here, which check refuses.
		PlainSize: int64(binary.BigEndian.Uint64(b[32:40])),
	}
	copy(h.NoncePrefix[:], b[28:32])
	if err := h.check(); err != nil {
		return Header{}, err
	}
	return h, nil
}

// numChunks is the number of chunks for a plaintext size; sizes are checked by the caller. An
// empty plaintext still has one (empty) chunk, so that an empty container is authenticated too:
// nobody can blank a title by writing a bare header.
func numChunks(plain, chunk int64) int64 { return max(1, (plain+chunk-1)/chunk) }

// SealedSize is the size of the container for plainSize bytes of plaintext sealed in chunks of
// chunkSize (0 means DefaultChunkSize). It returns -1 if either is out of range.
func SealedSize(plainSize int64, chunkSize int) int64 {
	if chunkSize == 0 {
		chunkSize = DefaultChunkSize
	}
	if chunkSize < MinChunkSize || chunkSize > MaxChunkSize || plainSize < 0 || plainSize > MaxPlainSize {
		return -1
	}
	return HeaderSize + plainSize + numChunks(plainSize, int64(chunkSize))*tagSize
}

// SealOptions tune Seal.
type SealOptions struct {
	ChunkSize int                   // 0 means DefaultChunkSize
	Progress  func(plainDone int64) // called after each chunk with the plaintext bytes sealed; may be nil
}

func newGCM(key ContentKey) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("content key: %w", err)
	}
	return cipher.NewGCM(block)
}

// setChunk fills in the per-chunk part of a nonce and associated data whose fixed parts (nonce
// prefix, header) are already in place.
func setChunk(nonce *[nonceSize]byte, ad *[adSize]byte, i int64, last bool) {
	binary.BigEndian.PutUint64(nonce[4:], uint64(i))
	binary.BigEndian.PutUint64(ad[HeaderSize:], uint64(i))
	ad[adSize-1] = 0
	if last {
		ad[adSize-1] = 1
	}
}

// Seal reads exactly size bytes from r and writes them to w as the sealed container of item
// under key. It fails if r holds fewer or more bytes (ErrSizeMismatch) or ctx is done; w then
// holds a partial container that must be thrown away.
func Seal(ctx context.Context, w io.Writer, r io.Reader, size int64, item ItemID, key ContentKey, opt SealOptions) (Header, error) {
	cs := opt.ChunkSize
	if cs == 0 {
		cs = DefaultChunkSize
	}
	if cs < MinChunkSize || cs > MaxChunkSize {
		return Header{}, fmt.Errorf("seal: chunk size %d not in [%d, %d]", cs, MinChunkSize, MaxChunkSize)
	}
	if size < 0 || size > MaxPlainSize {
		return Header{}, fmt.Errorf("seal: plaintext length %d not in [0, %d]", size, int64(MaxPlainSize))
	}
	h := Header{Version: Version, Item: item, ChunkSize: uint32(cs), PlainSize: size}
	// A fresh random prefix per container, so a key reused for a re-seal never repeats a nonce.
	if _, err := rand.Read(h.NoncePrefix[:]); err != nil {
		return Header{}, fmt.Errorf("seal: nonce: %w", err)
	}
	hdr, err := h.MarshalBinary()
	if err != nil {
		return Header{}, fmt.Errorf("seal: %w", err)
	}
	gcm, err := newGCM(key)
	if err != nil {
		return Header{}, fmt.Errorf("seal: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Header{}, fmt.Errorf("seal: %w", err)
	}
	if _, err := w.Write(hdr); err != nil {
		return Header{}, fmt.Errorf("seal: write header: %w", err)
	}

	var nonce [nonceSize]byte
	var ad [adSize]byte
	copy(nonce[:], h.NoncePrefix[:])
	copy(ad[:], hdr)
	buf := make([]byte, cs+tagSize)
	n := numChunks(size, int64(cs))
	var done int64
	for i := range n {
		if err := ctx.Err(); err != nil {
			return Header{}, fmt.Errorf("seal: stopped at chunk %d of %d: %w", i, n, err)
		}
		want := min(int64(cs), size-done)
		if k, err := io.ReadFull(r, buf[:want]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = ErrSizeMismatch
			}
			return Header{}, fmt.Errorf("seal: input ended after %d of %d bytes: %w", done+int64(k), size, err)
		}
		setChunk(&nonce, &ad, i, i == n-1)
		out := gcm.Seal(buf[:0], nonce[:], buf[:want], ad[:]) // in place: buf has room for the tag
		if _, err := w.Write(out); err != nil {
			return Header{}, fmt.Errorf("seal: write chunk %d: %w", i, err)
		}
		done += want
		if opt.Progress != nil {
			opt.Progress(done)
		}
	}
	// One more byte must be EOF, or the input changed under us (a file still being written).
	var one [1]byte
	if k, err := io.ReadFull(r, one[:]); k > 0 {
		return Header{}, fmt.Errorf("seal: input is longer than %d bytes: %w", size, ErrSizeMismatch)
	} else if err != io.EOF {
		return Header{}, fmt.Errorf("seal: read input: %w", err)
	}
	return h, nil
}

// chunkBuf is the scratch space for decrypting one chunk. Nonce and associated data come
// pre-filled with the container's fixed parts.
type chunkBuf struct {
	data  []byte // ChunkSize+tagSize; after a successful open, plaintext at the start
	nonce [nonceSize]byte
	ad    [adSize]byte
}

// Reader decrypts a container with random access. It is safe for concurrent use. It does not
// close the io.ReaderAt it reads from.
//
// It decrypts whole chunks into scratch space and copies out only what authenticated, and it
// keeps the last chunk it decrypted, so small sequential reads decrypt each chunk once.
type Reader struct {
	ra   io.ReaderAt
	hdr  Header
	gcm  cipher.AEAD // stateless after creation, so shared by all readers
	last int64       // index of the final chunk
	bufs sync.Pool   // of *chunkBuf

	mu       sync.Mutex
	cache    *chunkBuf // a chunk's plaintext; read and swapped only under mu
	cacheIdx int64
	cacheLen int
}

// NewReader opens the container in ra, sealedSize bytes long, that holds item sealed with key.
// It checks the header and the size; a wrong key shows up as ErrDamaged on the first read.
func NewReader(ra io.ReaderAt, sealedSize int64, key ContentKey, item ItemID) (*Reader, error) {
	if sealedSize < 0 {
		return nil, fmt.Errorf("container size %d is negative", sealedSize)
	}
	raw := make([]byte, min(sealedSize, HeaderSize))
	if k, err := ra.ReadAt(raw, 0); k < len(raw) {
		if err == nil || errors.Is(err, io.EOF) {
			err = ErrTruncated
		}
		return nil, fmt.Errorf("read container header: %w", err)
	}
	h, err := ParseHeader(raw)
	if err != nil {
		return nil, err
	}
	if h.Item != item {
		return nil, fmt.Errorf("container %w: it holds %s, not %s", ErrWrongItem, h.Item, item)
	}
	switch want := SealedSize(h.PlainSize, int(h.ChunkSize)); {
	case sealedSize < want:
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrTruncated, sealedSize, want)
	case sealedSize > want:
		return nil, fmt.Errorf("%w: %d bytes, want %d: data after the last chunk", ErrDamaged, sealedSize, want)
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	r := &Reader{ra: ra, hdr: h, gcm: gcm, last: numChunks(h.PlainSize, int64(h.ChunkSize)) - 1}
	r.bufs.New = func() any {
		b := &chunkBuf{data: make([]byte, int(h.ChunkSize)+tagSize)}
		copy(b.nonce[:], h.NoncePrefix[:])
		copy(b.ad[:], raw)
		return b
	}
	if h.PlainSize == 0 {
		// ReadAt never touches the lone empty chunk, so authenticate it here.
		b := r.bufs.Get().(*chunkBuf)
		defer r.bufs.Put(b)
		if _, err := r.open(b, 0); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Header returns the container's header.
func (r *Reader) Header() Header { return r.hdr }

// Size returns the plaintext length.
func (r *Reader) Size() int64 { return r.hdr.PlainSize }

// ChunkOf returns the index of the chunk that holds plaintext offset off.
func (r *Reader) ChunkOf(off int64) int64 {
	if r.hdr.ChunkSize == 0 { // zero Reader
		return 0
	}
	return off / int64(r.hdr.ChunkSize)
}

// ReadAt reads plaintext at off, with io.ReaderAt semantics. It copies into p only chunks that
// authenticate: at the first one that does not, it returns the bytes before it and a *ChunkError
// wrapping ErrDamaged (or ErrTruncated if ra ran short).
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at negative offset %d", off)
	}
	cs := int64(r.hdr.ChunkSize)
	n := 0
	for n < len(p) && off < r.hdr.PlainSize {
		i := off / cs
		k, err := r.readChunk(p[n:], i, int(off-i*cs))
		n += k
		off += int64(k)
		if err != nil {
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteTo writes the whole plaintext to w in order, decrypting chunks in place (no copy
// through a caller's buffer) and, on a machine with more than one core, several at a time. It
// stops at the first chunk that does not authenticate, having written only the chunks before it.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	if r.hdr.PlainSize == 0 {
		return 0, nil
	}
	// A window of chunks is decrypted in parallel, then written in order: AES-GCM is the whole
	// cost of playback, and a box has cores to spare while it plays.
	window := 2 * min(runtime.GOMAXPROCS(0), 4)
	bufs := make([]*chunkBuf, window)
	for i := range bufs {
		bufs[i] = r.bufs.Get().(*chunkBuf)
		defer r.bufs.Put(bufs[i])
	}
	pts := make([][]byte, window)
	errs := make([]error, window)
	var n int64
	for base := int64(0); base <= r.last; base += int64(window) {
		k := int(min(int64(window), r.last-base+1))
		if k == 1 {
			pts[0], errs[0] = r.open(bufs[0], base)
		} else {
			var wg sync.WaitGroup
			for j := range k {
				wg.Go(func() { pts[j], errs[j] = r.open(bufs[j], base+int64(j)) })
			}
			wg.Wait()
		}
		for j := range k {
			if errs[j] != nil {
				return n, errs[j]
			}
			m, err := w.Write(pts[j])
			n += int64(m)
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// readChunk copies plaintext of chunk i from offset within on into p.
func (r *Reader) readChunk(p []byte, i int64, within int) (int, error) {
	r.mu.Lock()
	if r.cache != nil && r.cacheIdx == i {
		n := copy(p, r.cache.data[within:r.cacheLen])
		r.mu.Unlock()
		return n, nil
	}
	r.mu.Unlock()

	b := r.bufs.Get().(*chunkBuf)
	pt, err := r.open(b, i)
	if err != nil {
		r.bufs.Put(b)
		return 0, err
	}
	n := copy(p, pt[within:])

	r.mu.Lock()
	old := r.cache
	r.cache, r.cacheIdx, r.cacheLen = b, i, len(pt)
	r.mu.Unlock()
	if old != nil {
		r.bufs.Put(old)
	}
	return n, nil
}

// open reads and decrypts chunk i into b, returning its plaintext.
func (r *Reader) open(b *chunkBuf, i int64) ([]byte, error) {
	cs := int64(r.hdr.ChunkSize)
	sealed := b.data[:min(cs, r.hdr.PlainSize-i*cs)+tagSize]
	if k, err := r.ra.ReadAt(sealed, HeaderSize+i*(cs+tagSize)); k < len(sealed) {
		if err == nil || errors.Is(err, io.EOF) {
			err = ErrTruncated
		}
		return nil, &ChunkError{Index: i, Err: err}
	}
	setChunk(&b.nonce, &b.ad, i, i == r.last)
	pt, err := r.gcm.Open(sealed[:0], b.nonce[:], sealed, b.ad[:])
	if err != nil {
		return nil, &ChunkError{Index: i, Err: ErrDamaged}
	}
	return pt, nil
}
