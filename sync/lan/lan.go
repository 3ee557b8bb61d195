// Package lan finds the box's neighbours on its home or building LAN with multicast DNS
// (github.com/grandcat/zeroconf): every box announces the standard DNS-SD service
// _swarmbox._tcp with its box id and BitTorrent port, and browses for the others, continuously.
// Only the interfaces named in the configuration are used, never all of them.
package lan

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grandcat/zeroconf"

	"swarmbox/media"
)

// Service is the DNS-SD service type boxes announce.
const Service = "_swarmbox._tcp"

const domain = "local."

// Config sets up discovery.
type Config struct {
	// Key is the box's signing key: the announcement carries its public key and a signature
	// (proof.go); the box id is the key's (media.BoxIDFromKey).
	Key        ed25519.PrivateKey
	Port       int      // the BitTorrent port other boxes dial
	Interfaces []string // interface names to announce and browse on; required
	// Round is how often the browse starts afresh (zeroconf reports each service once per
	// browse); a neighbour not seen for two rounds is dropped. Default 30 s.
	Round time.Duration
	Log   *slog.Logger
}

// Neighbor is a box found on the LAN.
type Neighbor struct {
	Box  media.BoxID
	Addr netip.AddrPort
	Seen time.Time
}

// Discovery announces this box and keeps the list of its neighbours.
type Discovery struct {
	cfg    Config
	box    media.BoxID
	signed time.Time // when the announcement was last signed (browse re-signs it)
	ifaces []net.Interface
	server *zeroconf.Server
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	neighbors map[media.BoxID]Neighbor
	changed   chan struct{} // closed and replaced when a neighbour appears
}

// Start announces the box on the configured interfaces and browses until Close.
func Start(ctx context.Context, cfg Config) (*Discovery, error) {
	if len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("LAN discovery needs the box's signing key: announcements prove it")
	}
	if len(cfg.Interfaces) == 0 {
		return nil, errors.New("LAN discovery needs the interfaces to use (-lan-if eth0,…); it never uses all of them")
	}
	if cfg.Port <= 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("LAN discovery: BitTorrent port %d is not a port", cfg.Port)
	}
	if cfg.Round <= 0 {
		cfg.Round = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	var ifaces []net.Interface
	var ips []string
	for _, name := range cfg.Interfaces {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("LAN interface %q: %w (check -lan-if)", name, err)
		}
		if ifi.Flags&net.FlagMulticast == 0 {
			return nil, fmt.Errorf("LAN interface %q cannot multicast: mDNS needs it", name)
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("LAN interface %q: %w", name, err)
		}
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
				ips = append(ips, p.Addr().String())
			}
		}
		ifaces = append(ifaces, *ifi)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("LAN interfaces %s have no IPv4 address to announce", strings.Join(cfg.Interfaces, ","))
	}
	box := media.BoxIDFromKey(cfg.Key.Public().(ed25519.PublicKey))
	host := "swarmbox-" + box.String()[:12]
	server, err := zeroconf.RegisterProxy(box.String(), Service, domain, cfg.Port, host, ips, signedTXT(cfg.Key, cfg.Port, time.Now()), ifaces)
	if err != nil {
		return nil, fmt.Errorf("announce on the LAN: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	d := &Discovery{cfg: cfg, box: box, signed: time.Now(), ifaces: ifaces, server: server, cancel: cancel, done: make(chan struct{}),
		neighbors: map[media.BoxID]Neighbor{}, changed: make(chan struct{})}
	go d.browse(ctx)
	cfg.Log.Info("LAN discovery on", "interfaces", strings.Join(cfg.Interfaces, ","), "addrs", strings.Join(ips, ","), "port", cfg.Port)
	return d, nil
}

// browse runs one zeroconf browse per round until ctx ends.
func (d *Discovery) browse(ctx context.Context) {
	defer close(d.done)
	for {
		round, cancel := context.WithTimeout(ctx, d.cfg.Round)
		if err := d.browseOnce(round); err != nil {
			d.cfg.Log.Warn("LAN browse failed; retrying next round", "err", err)
		}
		<-round.Done()
		cancel()
		if ctx.Err() != nil {
			return
		}
		d.expire(time.Now().Add(-2 * d.cfg.Round))
		if time.Since(d.signed) >= resignEvery {
			d.signed = time.Now()
			d.server.SetText(signedTXT(d.cfg.Key, d.cfg.Port, d.signed))
		}
	}
}

func (d *Discovery) browseOnce(ctx context.Context) error {
	r, err := zeroconf.NewResolver(zeroconf.SelectIfaces(d.ifaces), zeroconf.SelectIPTraffic(zeroconf.IPv4))
	if err != nil {
		return err
	}
	entries := make(chan *zeroconf.ServiceEntry, 16)
	if err := r.Browse(ctx, Service, domain, entries); err != nil {
		return err
	}
	go func() {
		for {
			select {
			case e := <-entries:
				if e != nil {
					d.seen(e)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return nil
}

func (d *Discovery) seen(e *zeroconf.ServiceEntry) {
	if len(e.AddrIPv4) == 0 || e.Port <= 0 || e.Port > 65535 {
		return
	}
	box, err := verifyTXT(e.Text, e.Port, time.Now())
	if err != nil {
		d.ignored(e, err)
		return
	}
	if box == d.box {
		return
	}
	ip, ok := netip.AddrFromSlice(e.AddrIPv4[0].To4())
	if !ok {
		return
	}
	n := Neighbor{Box: box, Addr: netip.AddrPortFrom(ip, uint16(e.Port)), Seen: time.Now()}
	d.mu.Lock()
	old, had := d.neighbors[box]
	d.neighbors[box] = n
	if !had || old.Addr != n.Addr {
		close(d.changed)
		d.changed = make(chan struct{})
	}
	d.mu.Unlock()
	if !had || old.Addr != n.Addr {
		d.cfg.Log.Info("LAN neighbour found", "neighbor", box, "addr", n.Addr)
	}
}

func (d *Discovery) expire(before time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, n := range d.neighbors {
		if n.Seen.Before(before) {
			delete(d.neighbors, id)
			d.cfg.Log.Info("LAN neighbour gone", "neighbor", id)
		}
	}
}

// Neighbors returns the boxes currently seen on the LAN, by box id.
func (d *Discovery) Neighbors() []Neighbor {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Neighbor, 0, len(d.neighbors))
	for _, n := range d.neighbors {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b Neighbor) int { return strings.Compare(a.Box.String(), b.Box.String()) })
	return out
}

// Changed returns a channel closed when a neighbour next appears or moves.
func (d *Discovery) Changed() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changed
}

// Close stops announcing (with a goodbye) and browsing.
func (d *Discovery) Close() {
	d.cancel()
	d.server.Shutdown()
	<-d.done
}
