package protocol

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"swarmbox/media"
)

// Headers of the time the head-end vouches for in its answer to a signed box request: its clock
// (Unix milliseconds) and an Ed25519 signature, with its licence-signing key, over the time, the
// box and the request's own signature header (so the statement answers this request of this box
// and no other). A box never treats "now" as earlier than the latest such time: a clock set back
// does not revive a rental.
const (
	HeaderTime          = "Swarmbox-Headend-Time"
	HeaderTimeSignature = "Swarmbox-Headend-Time-Signature"
)

// Errors of VouchedTime.
var (
	ErrNoTime      = errors.New("the answer carries no time from the head-end")
	ErrBadTimeSign = errors.New("the head-end's time signature does not verify")
)

// TimeStatement is what the head-end signs to vouch for its time in an answer to the request of
// box whose signature header was requestSig.
func TimeStatement(box media.BoxID, unixMilli int64, requestSig string) []byte {
	return fmt.Appendf(nil, "swarmbox-time-v1\n%s\n%d\n%s", box, unixMilli, requestSig)
}

// VouchTime sets the time headers on an answer to req (a signed request of box), signing with
// sign (the head-end's licence key).
func VouchTime(h http.Header, req *http.Request, box media.BoxID, now time.Time, sign func([]byte) []byte) {
	ms := now.UnixMilli()
	sig := sign(TimeStatement(box, ms, req.Header.Get(HeaderSignature)))
	h.Set(HeaderTime, strconv.FormatInt(ms, 10))
	h.Set(HeaderTimeSignature, base64.StdEncoding.EncodeToString(sig))
}

// VouchedTime reads and checks the time in an answer to the request req that box signed, with
// the head-end's public key.
func VouchedTime(h http.Header, req *http.Request, box media.BoxID, headend ed25519.PublicKey) (time.Time, error) {
	msHdr, sigHdr := h.Get(HeaderTime), h.Get(HeaderTimeSignature)
	if msHdr == "" || sigHdr == "" {
		return time.Time{}, ErrNoTime
	}
	ms, err := strconv.ParseInt(msHdr, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}, fmt.Errorf("%w: bad %s header %q", ErrBadTimeSign, HeaderTime, msHdr)
	}
	sig, err := base64.StdEncoding.DecodeString(sigHdr)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: signature is not base64", ErrBadTimeSign)
	}
	if len(headend) != ed25519.PublicKeySize || !ed25519.Verify(headend, TimeStatement(box, ms, req.Header.Get(HeaderSignature)), sig) {
		return time.Time{}, ErrBadTimeSign
	}
	return time.UnixMilli(ms).UTC(), nil
}
