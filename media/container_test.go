package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

// plaintext returns n deterministic pseudo-random bytes.
func plaintext(seed uint64, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

var (
	testItem = ItemID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	testKey  = ContentKey{31: 1}
)

func sealBytes(t testing.TB, plain []byte, chunkSize int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Seal(context.Background(), &buf, bytes.NewReader(plain), int64(len(plain)), testItem, testKey, SealOptions{ChunkSize: chunkSize}); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return buf.Bytes()
}

func openBytes(t testing.TB, sealed []byte) *Reader {
	t.Helper()
	r, err := NewReader(bytes.NewReader(sealed), int64(len(sealed)), testKey, testItem)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	return r
}

func validHeader() []byte {
	h := Header{Version: Version, Item: testItem, ChunkSize: DefaultChunkSize, NoncePrefix: [4]byte{9, 8, 7, 6}, PlainSize: 12345}
	b, err := h.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}

func TestHeaderRoundTrip(t *testing.T) {
	b := validHeader()
	if len(b) != HeaderSize || HeaderSize != 40 {
		t.Fatalf("header is %d bytes, HeaderSize %d", len(b), HeaderSize)
	}
	h, err := ParseHeader(append(b, "body follows"...))
	if err != nil {
		t.Fatal(err)
	}
	want := Header{Version: Version, Item: testItem, ChunkSize: DefaultChunkSize, NoncePrefix: [4]byte{9, 8, 7, 6}, PlainSize: 12345}
	if h != want {
		t.Fatalf("ParseHeader = %+v, want %+v", h, want)
	}
}

func TestParseHeaderRejects(t *testing.T) {
	patch := func(f func(b []byte)) []byte {
		b := validHeader()
		f(b)
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrNotContainer},
		{"short garbage", []byte("hello"), ErrNotContainer},
		{"truncated", validHeader()[:HeaderSize-1], ErrTruncated},
		{"magic only", []byte("SWB"), ErrTruncated},
		{"wrong magic", patch(func(b []byte) { b[0] = 'X' }), ErrNotContainer},
		{"version 0", patch(func(b []byte) { b[4] = 0 }), ErrUnsupportedVersion},
		{"version 2", patch(func(b []byte) { b[4] = 2; b[5] = 1 }), ErrUnsupportedVersion},
		{"reserved byte", patch(func(b []byte) { b[7] = 1 }), ErrBadHeader},
		{"chunk 0", patch(func(b []byte) { binary.BigEndian.PutUint32(b[24:], 0) }), ErrBadHeader},
		{"chunk too small", patch(func(b []byte) { binary.BigEndian.PutUint32(b[24:], MinChunkSize-1) }), ErrBadHeader},
		{"chunk too big", patch(func(b []byte) { binary.BigEndian.PutUint32(b[24:], MaxChunkSize+1) }), ErrBadHeader},
		{"plain too big", patch(func(b []byte) { binary.BigEndian.PutUint64(b[32:], MaxPlainSize+1) }), ErrBadHeader},
		{"plain negative", patch(func(b []byte) { binary.BigEndian.PutUint64(b[32:], 1<<63) }), ErrBadHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseHeader(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("ParseHeader error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestHeaderMarshalRejects(t *testing.T) {
	tests := []Header{
		{Version: 2, ChunkSize: DefaultChunkSize},
		{Version: Version, ChunkSize: 0},
		{Version: Version, ChunkSize: DefaultChunkSize, PlainSize: -1},
		{Version: Version, ChunkSize: DefaultChunkSize, PlainSize: MaxPlainSize + 1},
	}
	for _, h := range tests {
		if b, err := h.MarshalBinary(); err == nil {
			t.Errorf("MarshalBinary(%+v) = %x, want an error", h, b)
		}
	}
}

func TestSealedSize(t *testing.T) {
	tests := []struct {
		plain int64
		chunk int
		want  int64
	}{
		{0, 1024, HeaderSize + 16}, // one empty, authenticated chunk
		{1, 1024, HeaderSize + 1 + 16},
		{1024, 1024, HeaderSize + 1024 + 16},
		{1025, 1024, HeaderSize + 1025 + 32},
		{DefaultChunkSize * 3, 0, HeaderSize + DefaultChunkSize*3 + 48},
		{MaxPlainSize, MinChunkSize, HeaderSize + MaxPlainSize + MaxPlainSize/MinChunkSize*16},
		{-1, 1024, -1},
		{MaxPlainSize + 1, 1024, -1},
		{1, -1, -1},
		{1, 1023, -1},
		{1, MaxChunkSize + 1, -1},
	}
	for _, tt := range tests {
		if got := SealedSize(tt.plain, tt.chunk); got != tt.want {
			t.Errorf("SealedSize(%d, %d) = %d, want %d", tt.plain, tt.chunk, got, tt.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, cs := range []int{MinChunkSize, DefaultChunkSize} {
		for _, size := range []int{0, 1, cs - 1, cs, cs + 1, 5*cs + 7} {
			plain := plaintext(uint64(size), size)
			sealed := sealBytes(t, plain, cs)
			if int64(len(sealed)) != SealedSize(int64(size), cs) {
				t.Fatalf("chunk %d, size %d: sealed %d bytes, SealedSize says %d", cs, size, len(sealed), SealedSize(int64(size), cs))
			}
			r := openBytes(t, sealed)
			if h := r.Header(); h.Item != testItem || h.ChunkSize != uint32(cs) || h.PlainSize != int64(size) || r.Size() != int64(size) {
				t.Fatalf("chunk %d, size %d: header %+v", cs, size, h)
			}
			got, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("chunk %d, size %d: read %d bytes, err %v; plaintext differs: %v", cs, size, len(got), err, !bytes.Equal(got, plain))
			}
			if n, err := r.ReadAt(make([]byte, 1), int64(size)); n != 0 || err != io.EOF {
				t.Fatalf("ReadAt at the end = %d, %v; want 0, EOF", n, err)
			}
			if err := iotest.TestReader(io.NewSectionReader(r, 0, r.Size()), plain); err != nil {
				t.Fatalf("chunk %d, size %d: %v", cs, size, err)
			}
		}
	}
}

// checkReadAt reads n bytes at off and checks them, and io.ReaderAt's rules, against plain.
func checkReadAt(t *testing.T, r io.ReaderAt, plain []byte, off int64, n int) {
	t.Helper()
	p := make([]byte, n)
	got, err := r.ReadAt(p, off)
	want := max(0, min(int64(n), int64(len(plain))-off))
	if int64(got) != want {
		t.Fatalf("ReadAt(%d bytes, %d) = %d, %v; want %d bytes", n, off, got, err, want)
	}
	if got < n && err != io.EOF || got == n && err != nil && err != io.EOF {
		t.Fatalf("ReadAt(%d bytes, %d) = %d, %v", n, off, got, err)
	}
	if got > 0 && !bytes.Equal(p[:got], plain[off:off+int64(got)]) {
		t.Fatalf("ReadAt(%d bytes, %d): plaintext differs", n, off)
	}
}

func TestReadAtRandom(t *testing.T) {
	for _, cs := range []int{MinChunkSize, DefaultChunkSize} {
		plain := plaintext(7, 3*DefaultChunkSize+123)
		r := openBytes(t, sealBytes(t, plain, cs))
		rng := rand.New(rand.NewPCG(1, uint64(cs)))
		for range 500 {
			off := rng.Int64N(int64(len(plain)) + 10)
			n := rng.IntN(3 * cs)
			checkReadAt(t, r, plain, off, n)
		}
		if _, err := r.ReadAt(make([]byte, 1), -1); err == nil {
			t.Fatal("negative offset accepted")
		}
		if got := r.ChunkOf(int64(cs)*2 + 1); got != 2 {
			t.Fatalf("ChunkOf = %d, want 2", got)
		}
	}
}

func TestReadAtConcurrent(t *testing.T) {
	plain := plaintext(3, 40*MinChunkSize+5)
	r := openBytes(t, sealBytes(t, plain, MinChunkSize))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 2))
			for range 200 {
				off := rng.Int64N(int64(len(plain)))
				n := rng.IntN(3 * MinChunkSize)
				p := make([]byte, n)
				k, err := r.ReadAt(p, off)
				if err != nil && err != io.EOF || !bytes.Equal(p[:k], plain[off:off+int64(k)]) {
					t.Errorf("goroutine %d: ReadAt(%d, %d) = %d, %v, or plaintext differs", g, n, off, k, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestTamper(t *testing.T) {
	const cs = MinChunkSize
	plain := plaintext(5, 4*cs+100) // chunks 0..4, the last 100 bytes long
	good := sealBytes(t, plain, cs)
	chunkAt := func(i int) int { return HeaderSize + i*(cs+tagSize) }
	otherKey := testKey
	otherKey[0] ^= 1

	tests := []struct {
		name    string
		mutate  func(b []byte) []byte
		size    func(b []byte) int64 // what the caller claims; len(b) if nil
		key     ContentKey
		item    ItemID
		openErr error // from NewReader
		readErr error // else from ReadAt, in chunk badChunk
		bad     int64
	}{
		{name: "bit in body", mutate: func(b []byte) []byte { b[chunkAt(2)+17] ^= 4; return b }, readErr: ErrDamaged, bad: 2},
		{name: "bit in tag", mutate: func(b []byte) []byte { b[chunkAt(1)-1] ^= 0x80; return b }, readErr: ErrDamaged, bad: 0},
		{name: "bit in nonce prefix", mutate: func(b []byte) []byte { b[29] ^= 1; return b }, readErr: ErrDamaged, bad: 0},
		{name: "bit in chunk size", mutate: func(b []byte) []byte { b[26] ^= 8; return b }, openErr: ErrDamaged}, // fewer, bigger chunks: the size no longer fits
		{name: "chunk size zeroed", mutate: func(b []byte) []byte { b[26] = 0; return b }, openErr: ErrBadHeader},
		{name: "bit in item id", mutate: func(b []byte) []byte { b[10] ^= 1; return b }, openErr: ErrWrongItem},
		{name: "item id rewritten to match", mutate: func(b []byte) []byte { b[10] ^= 1; return b },
			item: func() ItemID { i := testItem; i[2] ^= 1; return i }(), readErr: ErrDamaged, bad: 0},
		{name: "chunks swapped", mutate: func(b []byte) []byte {
			c1 := bytes.Clone(b[chunkAt(1):chunkAt(2)])
			copy(b[chunkAt(1):], b[chunkAt(2):chunkAt(3)])
			copy(b[chunkAt(2):], c1)
			return b
		}, readErr: ErrDamaged, bad: 1},
		{name: "last chunk removed", mutate: func(b []byte) []byte { return b[:chunkAt(4)] }, openErr: ErrTruncated},
		{name: "last chunk removed, length rewritten", mutate: func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[32:], 4*cs)
			return b[:chunkAt(4)]
		}, readErr: ErrDamaged, bad: 0},
		{name: "tail bytes removed", mutate: func(b []byte) []byte { return b[:len(b)-3] }, openErr: ErrTruncated},
		{name: "tail bytes removed, size claimed", mutate: func(b []byte) []byte { return b[:len(b)-3] },
			size: func([]byte) int64 { return int64(len(good)) }, readErr: ErrTruncated, bad: 4},
		{name: "data appended", mutate: func(b []byte) []byte { return append(b, 0) }, openErr: ErrDamaged},
		{name: "header only", mutate: func(b []byte) []byte { return b[:HeaderSize] }, openErr: ErrTruncated},
		{name: "half a header", mutate: func(b []byte) []byte { return b[:HeaderSize/2] }, openErr: ErrTruncated},
		{name: "not a container", mutate: func(b []byte) []byte { return []byte(strings.Repeat("MZ", 100)) }, openErr: ErrNotContainer},
		{name: "another item", item: ItemID{0xff}, openErr: ErrWrongItem},
		{name: "wrong key", key: otherKey, readErr: ErrDamaged, bad: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bytes.Clone(good)
			if tt.mutate != nil {
				b = tt.mutate(b)
			}
			size := int64(len(b))
			if tt.size != nil {
				size = tt.size(b)
			}
			key, item := testKey, testItem
			if tt.key != (ContentKey{}) {
				key = tt.key
			}
			if !tt.item.IsZero() {
				item = tt.item
			}
			r, err := NewReader(bytes.NewReader(b), size, key, item)
			if tt.openErr != nil {
				if !errors.Is(err, tt.openErr) {
					t.Fatalf("NewReader error = %v, want %v", err, tt.openErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}

			// Read everything into a sentinel-filled buffer: the chunks before the bad one
			// arrive, and nothing from the bad chunk on is written.
			const sentinel = 0xA5
			p := bytes.Repeat([]byte{sentinel}, len(plain))
			n, err := r.ReadAt(p, 0)
			var ce *ChunkError
			if !errors.As(err, &ce) || ce.Index != tt.bad || !errors.Is(err, tt.readErr) {
				t.Fatalf("ReadAt error = %v, want chunk %d: %v", err, tt.bad, tt.readErr)
			}
			if n != int(tt.bad)*cs || !bytes.Equal(p[:n], plain[:n]) {
				t.Fatalf("ReadAt returned %d bytes (want %d) or they differ from the plaintext", n, int(tt.bad)*cs)
			}
			if k := written(p[n:], sentinel); k >= 0 {
				t.Fatalf("byte %d, past the last good chunk, was written", n+k)
			}

			// A read inside the bad chunk alone writes nothing either, even after good reads.
			checkReadAt(t, r, plain[:n], 0, n)
			q := bytes.Repeat([]byte{sentinel}, 100)
			if k, err := r.ReadAt(q, tt.bad*cs+5); k != 0 || !errors.Is(err, tt.readErr) || written(q, sentinel) >= 0 {
				t.Fatalf("ReadAt inside chunk %d = %d, %v; or p was written", tt.bad, k, err)
			}
		})
	}
}

// written returns the index of the first byte of p that is not the sentinel, or -1.
func written(p []byte, sentinel byte) int {
	for i, c := range p {
		if c != sentinel {
			return i
		}
	}
	return -1
}

// failingWriter fails once it has taken n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestSealErrors(t *testing.T) {
	plain := plaintext(9, 3000)
	readErr := errors.New("read failed")
	tests := []struct {
		name string
		r    io.Reader
		w    io.Writer
		size int64
		cs   int
		want error // nil: any error
	}{
		{name: "short input", r: bytes.NewReader(plain[:2999]), size: 3000, want: ErrSizeMismatch},
		{name: "short input at a chunk edge", r: bytes.NewReader(plain[:2048]), size: 3000, want: ErrSizeMismatch},
		{name: "empty input", r: bytes.NewReader(nil), size: 3000, want: ErrSizeMismatch},
		{name: "long input", r: bytes.NewReader(plain), size: 2999, want: ErrSizeMismatch},
		{name: "long input, size 0", r: bytes.NewReader(plain), size: 0, want: ErrSizeMismatch},
		{name: "read error", r: io.MultiReader(bytes.NewReader(plain[:100]), iotest.ErrReader(readErr)), size: 3000, want: readErr},
		{name: "read error after the end", r: io.MultiReader(bytes.NewReader(plain), iotest.ErrReader(readErr)), size: 3000, want: readErr},
		{name: "write error", r: bytes.NewReader(plain), w: &failingWriter{n: 1500}, size: 3000},
		{name: "negative size", r: bytes.NewReader(plain), size: -1},
		{name: "chunk too small", r: bytes.NewReader(plain), size: 3000, cs: 512},
		{name: "chunk too big", r: bytes.NewReader(plain), size: 3000, cs: MaxChunkSize + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.w
			if w == nil {
				w = io.Discard
			}
			cs := tt.cs
			if cs == 0 {
				cs = MinChunkSize
			}
			_, err := Seal(context.Background(), w, tt.r, tt.size, testItem, testKey, SealOptions{ChunkSize: cs})
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Seal error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSealProgressAndCancel(t *testing.T) {
	plain := plaintext(4, 10*MinChunkSize+1)
	var seen []int64
	_, err := Seal(context.Background(), io.Discard, bytes.NewReader(plain), int64(len(plain)), testItem, testKey,
		SealOptions{ChunkSize: MinChunkSize, Progress: func(done int64) { seen = append(seen, done) }})
	if err != nil || len(seen) != 11 || seen[0] != MinChunkSize || seen[10] != int64(len(plain)) {
		t.Fatalf("Seal = %v, progress %v", err, seen)
	}

	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err = Seal(ctx, io.Discard, bytes.NewReader(plain), int64(len(plain)), testItem, testKey,
		SealOptions{ChunkSize: MinChunkSize, Progress: func(int64) { calls++; cancel() }})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("Seal after cancel = %v after %d chunks, want context.Canceled after 1", err, calls)
	}
	if _, err := Seal(ctx, io.Discard, bytes.NewReader(nil), 0, testItem, testKey, SealOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Seal with a done context = %v", err)
	}
}

func TestSealNoncesDiffer(t *testing.T) {
	plain := plaintext(1, 100)
	a, b := sealBytes(t, plain, 0), sealBytes(t, plain, 0)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical: the nonce prefix is not random")
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(validHeader())
	f.Add(validHeader()[:20])
	f.Add([]byte("garbage, not a header at all, but long enough"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		out, err := h.MarshalBinary()
		if err != nil {
			t.Fatalf("parsed header %+v does not marshal: %v", h, err)
		}
		if !bytes.Equal(out, b[:HeaderSize]) {
			t.Fatalf("re-marshalled %x, want %x", out, b[:HeaderSize])
		}
	})
}

// FuzzReaderAt seals a small plaintext, optionally flips bits of the container, and reads at
// fuzzed places: whatever ReadAt returns must be the plaintext.
func FuzzReaderAt(f *testing.F) {
	f.Add(uint16(3000), int64(0), uint16(3000), uint32(0), byte(0))
	f.Add(uint16(2048), int64(1023), uint16(2), uint32(0), byte(0))
	f.Add(uint16(5000), int64(100), uint16(4000), uint32(2000), byte(1))
	f.Add(uint16(0), int64(-1), uint16(1), uint32(0), byte(0))
	f.Fuzz(func(t *testing.T, size uint16, off int64, n uint16, at uint32, mask byte) {
		plain := plaintext(uint64(size), int(size)%6000)
		sealed := sealBytes(t, plain, MinChunkSize)
		if mask != 0 {
			sealed[int(at)%len(sealed)] ^= mask
		}
		r, err := NewReader(bytes.NewReader(sealed), int64(len(sealed)), testKey, testItem)
		if err != nil {
			if mask == 0 {
				t.Fatalf("NewReader: %v", err)
			}
			return
		}
		p := make([]byte, n)
		k, err := r.ReadAt(p, off)
		if off < 0 {
			if k != 0 || err == nil {
				t.Fatalf("ReadAt(%d) = %d, %v", off, k, err)
			}
			return
		}
		if k > len(p) || k > 0 && (off+int64(k) > int64(len(plain)) || !bytes.Equal(p[:k], plain[off:off+int64(k)])) {
			t.Fatalf("ReadAt(%d bytes, %d) = %d, %v: not the plaintext", n, off, k, err)
		}
		if mask == 0 {
			checkReadAt(t, r, plain, off, int(n))
		}
	})
}

var bench struct {
	once   sync.Once
	plain  []byte
	sealed []byte
}

// benchContainer is 64 MiB of plaintext sealed with the default chunk size, made once.
func benchContainer(b *testing.B) (plain, sealed []byte) {
	bench.once.Do(func() {
		bench.plain = plaintext(64, 64<<20)
		bench.sealed = sealBytes(b, bench.plain, DefaultChunkSize)
	})
	return bench.plain, bench.sealed
}

func benchSequential(b *testing.B, readSize int) {
	plain, sealed := benchContainer(b)
	r := openBytes(b, sealed)
	p := make([]byte, readSize)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for off := int64(0); off < r.Size(); off += int64(readSize) {
			if _, err := r.ReadAt(p, off); err != nil && err != io.EOF {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReaderSequential decrypts 64 MiB in 64 KiB reads, one chunk each.
func BenchmarkReaderSequential(b *testing.B) { benchSequential(b, 64<<10) }

// BenchmarkReaderSequential32K reads 32 KiB at a time, as io.Copy does; the chunk cache means
// each chunk is still decrypted once.
func BenchmarkReaderSequential32K(b *testing.B) { benchSequential(b, 32<<10) }

// BenchmarkReaderRandom reads 4 KiB at random offsets: each read decrypts a whole chunk.
func BenchmarkReaderRandom(b *testing.B) {
	_, sealed := benchContainer(b)
	r := openBytes(b, sealed)
	p := make([]byte, 4<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.ReadAt(p, rng.Int64N(r.Size()-int64(len(p)))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeal seals 16 MiB with the default chunk size.
func BenchmarkSeal(b *testing.B) {
	plain := plaintext(16, 16<<20)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Seal(context.Background(), io.Discard, bytes.NewReader(plain), int64(len(plain)), testItem, testKey, SealOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEmptyContainerIsAuthenticated: a bare header for a title, with no sealed chunk, must not
// pass for an empty container, or anyone could blank a title on a box's disk.
func TestEmptyContainerIsAuthenticated(t *testing.T) {
	item, _ := NewItemID()
	key, _ := NewContentKey()
	var buf bytes.Buffer
	if _, err := Seal(context.Background(), &buf, bytes.NewReader(nil), 0, item, key, SealOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), key, item); err != nil {
		t.Fatalf("genuine empty container: %v", err)
	}
	forged := bytes.Clone(buf.Bytes())
	forged[len(forged)-1] ^= 1
	if _, err := NewReader(bytes.NewReader(forged), int64(len(forged)), key, item); !errors.Is(err, ErrDamaged) {
		t.Fatalf("empty container with a bad tag: err = %v, want ErrDamaged", err)
	}
	bare := buf.Bytes()[:HeaderSize]
	if _, err := NewReader(bytes.NewReader(bare), HeaderSize, key, item); !errors.Is(err, ErrTruncated) {
		t.Fatalf("bare header: err = %v, want ErrTruncated", err)
	}
}

func TestWriteTo(t *testing.T) {
	const cs = 1024
	plain := make([]byte, 5*cs+100)
	for i := range plain {
		plain[i] = byte(i * 7)
	}
	sealed := sealBytes(t, plain, cs)
	var out bytes.Buffer
	if n, err := openBytes(t, sealed).WriteTo(&out); err != nil || n != int64(len(plain)) || !bytes.Equal(out.Bytes(), plain) {
		t.Fatalf("WriteTo = %d, %v; equal %v", n, err, bytes.Equal(out.Bytes(), plain))
	}
	// A flipped bit in chunk 2: chunks 0 and 1 are written, nothing of chunk 2 or after.
	bad := bytes.Clone(sealed)
	bad[HeaderSize+2*(cs+tagSize)+10] ^= 1
	out.Reset()
	n, err := openBytes(t, bad).WriteTo(&out)
	var ce *ChunkError
	if !errors.Is(err, ErrDamaged) || !errors.As(err, &ce) || ce.Index != 2 {
		t.Fatalf("WriteTo of a damaged container: %v, want ErrDamaged at chunk 2", err)
	}
	if n != 2*cs || !bytes.Equal(out.Bytes(), plain[:2*cs]) {
		t.Fatalf("wrote %d bytes before the damage, want exactly the %d of the good chunks", n, 2*cs)
	}
	// The empty container writes nothing and no error.
	if n, err := openBytes(t, sealBytes(t, nil, cs)).WriteTo(&out); n != 0 || err != nil {
		t.Fatalf("empty container: %d, %v", n, err)
	}
}
