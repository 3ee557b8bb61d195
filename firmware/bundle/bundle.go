// Package bundle is the box's firmware update: a root-slot image and its manifest (version,
// hardware targets, size, a SHA-256 per chunk), signed with the operator's Ed25519 key (FW-3).
// A box verifies the signature before it reads any of the image, and each chunk's hash before
// it writes that chunk into its inactive slot, so it streams the bundle (one chunk in memory,
// nothing on disk but the slot) and never boots bytes the operator did not sign (FW-4).
//
// A bundle is one file:
//
//	"SWFWBUN1"                    8 bytes
//	manifest length               4 bytes, big-endian, at most MaxManifest
//	manifest                      JSON (Manifest)
//	signature                     64 bytes: Ed25519 over "swarmbox firmware manifest v1\n" + manifest
//	image                         Manifest.Image.Size bytes, in chunks of Manifest.Image.ChunkSize
//
// The image after the header is a plain payload whose chunk hashes the signed manifest lists:
// published as a catalog item of kind "firmware", the manifest travels as the item's metadata
// and the image as its torrent payload with piece length = chunk size (docs/architecture.md).
package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Limits and constants of the format.
const (
	Magic            = "SWFWBUN1"
	MaxManifest      = 1 << 20
	MinChunk         = 4 << 10
	MaxChunk         = 64 << 20
	DefaultChunk     = 1 << 20
	Kind             = "firmware"
	formatV1         = 1
	maxVersion       = 32
	signatureContext = "swarmbox firmware manifest v1\n"
)

// Manifest describes a bundle; the operator's signature covers its exact bytes.
type Manifest struct {
	Format   int      `json:"format"`
	Kind     string   `json:"kind"`
	Version  string   `json:"version"`
	Hardware []string `json:"hardware"`
	// Rollback allows installing over a newer version: the operator's explicit, signed
	// decision to go back.
	Rollback bool  `json:"rollback,omitempty"`
	Image    Image `json:"image"`
}

// Image is the slot image's size and chunk hashes.
type Image struct {
	Size      int64    `json:"size"`
	ChunkSize int64    `json:"chunk_size"`
	Chunks    []string `json:"chunks"` // hex SHA-256 of each chunk, in order
}

// Errors a caller (and a test) can tell apart; each is wrapped with the details.
var (
	ErrFormat    = errors.New("not a firmware bundle")
	ErrSignature = errors.New("the manifest's signature does not verify with the box's firmware key")
	ErrChunk     = errors.New("a chunk of the image does not match its signed hash")
	ErrTruncated = errors.New("the bundle ends before its image does")
	ErrHardware  = errors.New("the bundle is for other hardware")
	ErrDowngrade = errors.New("the bundle is not newer than the running firmware")
	ErrNoSpace   = errors.New("the inactive slot cannot hold the image")
)

// Check validates a manifest's fields.
func (m *Manifest) Check() error {
	if m.Format != formatV1 {
		return fmt.Errorf("%w: manifest format %d, this box reads %d", ErrFormat, m.Format, formatV1)
	}
	if m.Kind != Kind {
		return fmt.Errorf("%w: manifest kind %q, want %q", ErrFormat, m.Kind, Kind)
	}
	if err := CheckVersion(m.Version); err != nil {
		return fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(m.Hardware) == 0 {
		return fmt.Errorf("%w: the manifest names no hardware", ErrFormat)
	}
	im := m.Image
	if im.ChunkSize < MinChunk || im.ChunkSize > MaxChunk {
		return fmt.Errorf("%w: chunk size %d outside %d..%d", ErrFormat, im.ChunkSize, MinChunk, MaxChunk)
	}
	if im.Size <= 0 {
		return fmt.Errorf("%w: image size %d", ErrFormat, im.Size)
	}
	if n := (im.Size + im.ChunkSize - 1) / im.ChunkSize; int64(len(im.Chunks)) != n {
		return fmt.Errorf("%w: %d chunk hashes for %d bytes in chunks of %d (want %d)", ErrFormat, len(im.Chunks), im.Size, im.ChunkSize, n)
	}
	for i, c := range im.Chunks {
		if b, err := hex.DecodeString(c); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("%w: chunk %d's hash %q is not hex SHA-256", ErrFormat, i, c)
		}
	}
	return nil
}

// CheckVersion accepts dotted versions of digits and letters, 1 to 32 bytes ("2", "1.4.0").
func CheckVersion(v string) error {
	if v == "" || len(v) > maxVersion {
		return fmt.Errorf("version %q: want 1 to %d characters", v, maxVersion)
	}
	for _, p := range strings.Split(v, ".") {
		if p == "" {
			return fmt.Errorf("version %q has an empty part", v)
		}
		for _, c := range p {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return fmt.Errorf("version %q: only digits, letters, '-' and '.'", v)
			}
		}
	}
	return nil
}

// For reports whether the bundle targets hardware hw.
func (m *Manifest) For(hw string) bool { return slices.Contains(m.Hardware, hw) }

// Reader reads a bundle whose signature verified: the manifest, then the image chunk by
// chunk, each checked against its hash.
type Reader struct {
	Manifest Manifest
	r        io.Reader
	next     int
	buf      []byte
	// HeaderSize is how many bytes precede the image.
	HeaderSize int64
}

// Open reads a bundle's header and verifies its signature with pub; nothing of the image is
// read yet.
func Open(r io.Reader, pub ed25519.PublicKey) (*Reader, error) {
	var head [12]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, shortRead(err))
	}
	if string(head[:8]) != Magic {
		return nil, fmt.Errorf("%w: it starts with %q, want %q", ErrFormat, head[:8], Magic)
	}
	n := binary.BigEndian.Uint32(head[8:])
	if n == 0 || n > MaxManifest {
		return nil, fmt.Errorf("%w: manifest of %d bytes (at most %d)", ErrFormat, n, MaxManifest)
	}
	raw := make([]byte, int(n)+ed25519.SignatureSize)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("%w: in the manifest: %w", ErrTruncated, shortRead(err))
	}
	man, sig := raw[:n], raw[n:]
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, signed(man), sig) {
		return nil, ErrSignature
	}
	var m Manifest
	if err := jsonDecode(man, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %w", ErrFormat, err)
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return &Reader{Manifest: m, r: r, HeaderSize: int64(12 + len(raw))}, nil
}

func shortRead(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("the file ends early")
	}
	return err
}

func signed(manifest []byte) []byte {
	return append([]byte(signatureContext), manifest...)
}

// Next returns the next chunk of the image (valid until the following call) once its hash
// matched, or io.EOF after the last.
func (b *Reader) Next() ([]byte, error) {
	im := b.Manifest.Image
	if b.next == len(im.Chunks) {
		return nil, io.EOF
	}
	size := im.ChunkSize
	if rest := im.Size - int64(b.next)*im.ChunkSize; rest < size {
		size = rest
	}
	if b.buf == nil {
		b.buf = make([]byte, im.ChunkSize)
	}
	c := b.buf[:size]
	if _, err := io.ReadFull(b.r, c); err != nil {
		return nil, fmt.Errorf("%w: chunk %d of %d: %w", ErrTruncated, b.next+1, len(im.Chunks), shortRead(err))
	}
	sum := sha256.Sum256(c)
	if hex.EncodeToString(sum[:]) != im.Chunks[b.next] {
		return nil, fmt.Errorf("%w: chunk %d of %d (bytes %d..%d of the image)", ErrChunk, b.next+1, len(im.Chunks), int64(b.next)*im.ChunkSize, int64(b.next)*im.ChunkSize+size)
	}
	b.next++
	return c, nil
}

// Spec is what a bundle is built from, besides the image.
type Spec struct {
	Version   string
	Hardware  []string
	Rollback  bool
	ChunkSize int64 // 0: DefaultChunk
}

// Build writes a bundle of the image (read twice: hashes, then bytes) signed with key.
func Build(w io.Writer, key ed25519.PrivateKey, spec Spec, image io.ReadSeeker) (Manifest, error) {
	m := Manifest{Format: formatV1, Kind: Kind, Version: spec.Version, Hardware: spec.Hardware, Rollback: spec.Rollback,
		Image: Image{ChunkSize: spec.ChunkSize}}
	if m.Image.ChunkSize == 0 {
		m.Image.ChunkSize = DefaultChunk
	}
	buf := make([]byte, m.Image.ChunkSize)
	for {
		n, err := io.ReadFull(image, buf)
		if n > 0 {
			sum := sha256.Sum256(buf[:n])
			m.Image.Chunks = append(m.Image.Chunks, hex.EncodeToString(sum[:]))
			m.Image.Size += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return m, fmt.Errorf("read the image: %w", err)
		}
	}
	if err := m.Check(); err != nil {
		return m, err
	}
	man, err := json.Marshal(m)
	if err != nil {
		return m, err
	}
	var head [12]byte
	copy(head[:], Magic)
	binary.BigEndian.PutUint32(head[8:], uint32(len(man)))
	if _, err := image.Seek(0, io.SeekStart); err != nil {
		return m, fmt.Errorf("rewind the image: %w", err)
	}
	for _, b := range [][]byte{head[:], man, ed25519.Sign(key, signed(man))} {
		if _, err := w.Write(b); err != nil {
			return m, fmt.Errorf("write the bundle: %w", err)
		}
	}
	if n, err := io.CopyBuffer(w, io.LimitReader(image, m.Image.Size), buf); err != nil || n != m.Image.Size {
		return m, fmt.Errorf("write the bundle's image (%d of %d bytes): %w", n, m.Image.Size, err)
	}
	return m, nil
}

// jsonDecode decodes a manifest strictly (unknown fields are an error).
func jsonDecode(b []byte, m *Manifest) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(m)
}
