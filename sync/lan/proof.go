package lan

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/grandcat/zeroconf"

	"swarmbox/media"
)

// An announcement proves the box's key: its TXT data (version 2) carries the box id, the box's
// Ed25519 public key (whose hash is the id, media.BoxIDFromKey), the time it was signed and a
// signature by that key over the id, the BitTorrent port and the time. Anyone can publish
// _swarmbox._tcp on a LAN (avahi-publish); only a box's key makes its announcement.
const (
	txtVersion = "2"
	// maxTXTAge is how old a signed announcement may be; boxes sign theirs anew every
	// resignEvery. A copied announcement only ever leads to a peer that cannot prove the
	// key in the BitTorrent handshake (sync/transfer's peer token).
	maxTXTAge   = 24 * time.Hour
	resignEvery = time.Hour
	// maxTXTFuture tolerates neighbours whose clocks run ahead.
	maxTXTFuture = 10 * time.Minute
)

func txtMessage(box media.BoxID, port int, at int64) []byte {
	return fmt.Appendf(nil, "swarmbox lan announcement\x00%s\x00%d\x00%d", box, port, at)
}

// signedTXT is the TXT data of a box's announcement, signed at now.
func signedTXT(key ed25519.PrivateKey, port int, now time.Time) []string {
	pub := key.Public().(ed25519.PublicKey)
	box := media.BoxIDFromKey(pub)
	at := now.Unix()
	return []string{"v=" + txtVersion, "box=" + box.String(), "key=" + hex.EncodeToString(pub),
		"t=" + strconv.FormatInt(at, 10), "sig=" + base64.RawStdEncoding.EncodeToString(ed25519.Sign(key, txtMessage(box, port, at)))}
}

// verifyTXT checks an announcement of port: the box it proves, or why it proves none.
func verifyTXT(txt []string, port int, now time.Time) (media.BoxID, error) {
	f := map[string]string{}
	for _, kv := range txt {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := f[k]; dup {
			return media.BoxID{}, fmt.Errorf("announcement repeats %q", k)
		}
		f[k] = v
	}
	if f["v"] != txtVersion {
		return media.BoxID{}, fmt.Errorf("announcement version %q, want %s (signed)", clip(f["v"]), txtVersion)
	}
	box, err := media.ParseBoxID(f["box"])
	if err != nil {
		return media.BoxID{}, fmt.Errorf("announcement box id: %w", err)
	}
	pub, err := hex.DecodeString(f["key"])
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return media.BoxID{}, errors.New("announcement without a valid public key")
	}
	if media.BoxIDFromKey(pub) != box {
		return media.BoxID{}, fmt.Errorf("announcement for box %s carries another box's key", box)
	}
	at, err := strconv.ParseInt(f["t"], 10, 64)
	if err != nil {
		return media.BoxID{}, errors.New("announcement without a signing time")
	}
	if t := time.Unix(at, 0); t.Before(now.Add(-maxTXTAge)) || t.After(now.Add(maxTXTFuture)) {
		return media.BoxID{}, fmt.Errorf("announcement of box %s signed at %s, too far from now", box, t.UTC().Format(time.RFC3339))
	}
	sig, err := base64.RawStdEncoding.DecodeString(f["sig"])
	if err != nil || !ed25519.Verify(pub, txtMessage(box, port, at), sig) {
		return media.BoxID{}, fmt.Errorf("announcement of box %s with a bad signature (forged, or its port changed)", box)
	}
	return box, nil
}

func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// ignored logs an announcement that proves no box, once per instance and reason a round.
func (d *Discovery) ignored(e *zeroconf.ServiceEntry, err error) {
	addr := ""
	if len(e.AddrIPv4) > 0 {
		addr = e.AddrIPv4[0].String()
	}
	d.cfg.Log.Warn("LAN announcement ignored: it does not prove a box's key", "instance", clip(e.Instance), "addr", addr, "port", e.Port, "err", err)
}
