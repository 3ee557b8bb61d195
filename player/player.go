// Package player is the keyed decryption pipe: it checks a box's license for a title (signed by
// the head-end, for this box and this item, not expired), unwraps the content key with the box's
// private key, and decrypts the sealed container with random access. It never sees torrents.
package player

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"swarmbox/internal/outfile"
	"swarmbox/media"
)

// Reasons playback is refused, besides the license's own errors (media.ErrExpired, ErrWrongBox,
// ErrBadSignature, ...) and container damage (media.ErrDamaged).
var (
	ErrNotBought     = errors.New("not bought")
	ErrNotDownloaded = errors.New("not downloaded")
	ErrUnknownItem   = errors.New("unknown item")
)

// Keys are what a box holds to play: its own KEM private key and the head-end's signing key.
type Keys struct {
	Box     media.BoxID
	KEM     *ecdh.PrivateKey
	Headend ed25519.PublicKey
}

// Title is an opened title: plaintext with random access.
type Title struct {
	*media.Reader
	License media.License
	c       Container
}

// Close closes the container.
func (t *Title) Close() error { return t.c.Close() }

// Container is where a sealed container's bytes come from: a file on disk, or a download in
// progress whose reads wait for verified pieces.
type Container interface {
	io.ReaderAt
	io.Closer
}

// Open verifies the license envelope for item and opens its container at path for decryption.
// A nil envelope means the title was never bought.
func Open(keys Keys, item media.ItemID, envelope []byte, path string, now time.Time) (*Title, error) {
	key, lic, err := unlock(keys, item, envelope, now)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w: it is still on its way", item, ErrNotDownloaded)
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return open(key, lic, item, f, st.Size())
}

// OpenContainer is Open for a container that is not (or not yet wholly) a file: c holds size
// sealed bytes. It takes c over: c is closed when the title is, or at once on a refusal.
func OpenContainer(keys Keys, item media.ItemID, envelope []byte, c Container, size int64, now time.Time) (*Title, error) {
	key, lic, err := unlock(keys, item, envelope, now)
	if err != nil {
		c.Close()
		return nil, err
	}
	return open(key, lic, item, c, size)
}

// unlock checks the license and unwraps the content key.
func unlock(keys Keys, item media.ItemID, envelope []byte, now time.Time) (media.ContentKey, media.License, error) {
	var key media.ContentKey
	if envelope == nil {
		return key, media.License{}, fmt.Errorf("%s: %w: buy it first", item, ErrNotBought)
	}
	lic, err := media.ParseLicense(envelope, keys.Headend)
	if err != nil {
		return key, lic, fmt.Errorf("%s: license refused: %w", item, err)
	}
	if err := lic.Check(keys.Box, item, now); err != nil {
		return key, lic, fmt.Errorf("%s: license refused: %w", item, err)
	}
	key, err = lic.UnwrapKey(keys.KEM)
	if err != nil {
		return key, lic, fmt.Errorf("%s: license refused: %w", item, err)
	}
	return key, lic, nil
}

func open(key media.ContentKey, lic media.License, item media.ItemID, c Container, size int64) (*Title, error) {
	r, err := media.NewReader(c, size, key, item)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: container refused: %w", item, err)
	}
	return &Title{Reader: r, License: lic, c: c}, nil
}

// WriteFile decrypts the whole title into path, as outfile.Write writes: a regular file only
// when every chunk authenticated, a device or FIFO directly.
func WriteFile(ctx context.Context, t *Title, path string) error {
	return outfile.Write(path, func(w io.Writer) error { return Copy(ctx, w, t) })
}

// Copy streams the plaintext to w in order. It stops at the first damaged chunk: bytes of a
// chunk that did not authenticate are never written. ctx is checked between chunks.
func Copy(ctx context.Context, w io.Writer, t *Title) error {
	if _, err := t.WriteTo(ctxWriter{ctx, w}); err != nil {
		return fmt.Errorf("%s: %w", t.License.Item, err)
	}
	return nil
}

// ctxWriter refuses writes once ctx is done, so a long copy ends with its context.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
