package protocol

import (
	"crypto/sha256"
	"net/http"
	"strconv"

	"swarmbox/media"
)

// ReplayKey names a signed request for replay protection: a hash of the box id and of what the
// box signed (method, path, time and body), never of the signature's text. The same request
// with its signature written differently (base64 allows unused low bits to vary) or signed
// again gets the same key, while two boxes' identical requests get different ones. Call it
// after Verify accepted req from box.
func ReplayKey(box media.BoxID, req *http.Request, body []byte) [32]byte {
	unix, _ := strconv.ParseInt(req.Header.Get(HeaderDate), 10, 64) // Verify parsed it already
	h := sha256.New()
	h.Write([]byte("swarmbox-replay-v1\n"))
	h.Write(box[:])
	h.Write(signedBytes(req.Method, req.URL.RequestURI(), unix, body))
	var k [32]byte
	h.Sum(k[:0])
	return k
}
