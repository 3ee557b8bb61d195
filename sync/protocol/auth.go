package protocol

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"swarmbox/media"
)

// Header names of a signed request.
const (
	HeaderBox       = "Swarmbox-Box"
	HeaderDate      = "Swarmbox-Date"
	HeaderSignature = "Swarmbox-Signature"
)

// MaxSkew is how far a request's time may be from the head-end's clock.
const MaxSkew = 5 * time.Minute

// Errors of Verify; the head-end answers all of them with 401.
var (
	ErrUnsigned     = errors.New("request is not signed by a box")
	ErrBadSignature = errors.New("box signature does not verify")
	ErrStale        = errors.New("request time is too far from the head-end's clock")
	ErrUnknownBox   = errors.New("box is not registered")
)

func signedBytes(method, uri string, unix int64, body []byte) []byte {
	sum := sha256.Sum256(body)
	return fmt.Appendf(nil, "swarmbox-v1\n%s\n%s\n%d\n%s", method, uri, unix, hex.EncodeToString(sum[:]))
}

// Sign adds the box's signature headers to req, whose body is body.
func Sign(req *http.Request, body []byte, box media.BoxID, key ed25519.PrivateKey, now time.Time) {
	unix := now.Unix()
	sig := ed25519.Sign(key, signedBytes(req.Method, req.URL.RequestURI(), unix, body))
	req.Header.Set(HeaderBox, box.String())
	req.Header.Set(HeaderDate, strconv.FormatInt(unix, 10))
	req.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
}

// Verify checks the signature headers of req against body. keyFor returns the signing key of a
// registered box (or ErrUnknownBox). It returns the authenticated box id.
func Verify(req *http.Request, body []byte, keyFor func(media.BoxID) (ed25519.PublicKey, error), now time.Time) (media.BoxID, error) {
	boxHdr, dateHdr, sigHdr := req.Header.Get(HeaderBox), req.Header.Get(HeaderDate), req.Header.Get(HeaderSignature)
	if boxHdr == "" || dateHdr == "" || sigHdr == "" {
		return media.BoxID{}, ErrUnsigned
	}
	box, err := media.ParseBoxID(boxHdr)
	if err != nil {
		return media.BoxID{}, fmt.Errorf("%w: %w", ErrUnsigned, err)
	}
	unix, err := strconv.ParseInt(dateHdr, 10, 64)
	if err != nil {
		return media.BoxID{}, fmt.Errorf("%w: bad %s header", ErrUnsigned, HeaderDate)
	}
	if d := now.Sub(time.Unix(unix, 0)); d > MaxSkew || d < -MaxSkew {
		return media.BoxID{}, fmt.Errorf("%w (off by %s): check the box's clock", ErrStale, d.Round(time.Second))
	}
	// Strict: one signature has one text, so a copy with other unused low bits is refused.
	sig, err := base64.StdEncoding.Strict().DecodeString(sigHdr)
	if err != nil || len(sig) != ed25519.SignatureSize || base64.StdEncoding.EncodeToString(sig) != sigHdr {
		return media.BoxID{}, fmt.Errorf("%w: signature is not %d bytes in canonical base64", ErrBadSignature, ed25519.SignatureSize)
	}
	pub, err := keyFor(box)
	if err != nil {
		return media.BoxID{}, err
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, signedBytes(req.Method, req.URL.RequestURI(), unix, body), sig) {
		return media.BoxID{}, ErrBadSignature
	}
	return box, nil
}
