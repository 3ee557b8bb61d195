// Package netmap maps a box's public address to where it is: the ISP network and the region the
// operator says that address is in (requirement SCHED-15). The operator writes the map as a file
// of address prefixes; the longest prefix that holds an address wins.
//
// The file has one prefix a line:
//
//	# CIDR              network   region
//	203.0.113.0/24      isp-a     north
//	203.0.113.128/25    isp-b     north   # longest prefix wins
//	2001:db8::/32       isp-a     -       # "-": no region (the account's)
//
// Blank lines and everything from a # on are comments. A network or region of "-" is not set:
// such a line still matches, so it can carve a hole with no location out of a larger prefix.
package netmap

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLabel is the longest network or region label, in bytes.
const MaxLabel = 64

// unset is how the file writes a label that is not set.
const unset = "-"

// Location is where an address is. An empty field is not known: no network label, and the
// region of the box's account.
type Location struct {
	Network string
	Region  string
}

// Entry is one prefix of a Map with its location.
type Entry struct {
	Prefix netip.Prefix
	Location
}

// Map is a parsed prefix map; the zero Map (and a nil *Map) matches nothing. A Map is never
// changed once made, so it may be shared between goroutines.
type Map struct {
	entries []Entry // sorted (see compareEntries)
	// tables has, for IPv4 and IPv6, one hash table per prefix length in use, longest first: a
	// lookup tries one table per length until one holds the address.
	tables [2][]table
}

// table holds the prefixes of one length, keyed by their masked address.
type table struct {
	bits int
	at   map[addrKey]Location
}

// addrKey is an address as two words, IPv4 in the top 32 bits of hi: masking is two ANDs, and
// hashing two words is cheaper than hashing a netip.Prefix.
type addrKey struct{ hi, lo uint64 }

func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// keyOf is a (IPv4 or IPv6, not mapped) with all but its first bits bits cleared.
func keyOf(a netip.Addr, bits int) addrKey {
	var k addrKey
	if a.Is4() {
		b := a.As4()
		k.hi = uint64(binary.BigEndian.Uint32(b[:])) << 32
	} else {
		b := a.As16()
		k.hi, k.lo = binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	}
	if bits <= 64 {
		return addrKey{hi: k.hi & (^uint64(0) << (64 - bits))} // a shift by 64 gives 0
	}
	return addrKey{hi: k.hi, lo: k.lo & (^uint64(0) << (128 - bits))}
}

// New makes a Map of entries; it refuses a prefix that is not in its canonical form (host bits
// set, an IPv4-mapped IPv6 prefix, a zone), a repeated prefix and a bad label.
func New(entries []Entry) (*Map, error) {
	m := &Map{}
	byLen := [2]map[int]map[addrKey]Location{{}, {}}
	for _, e := range entries {
		if err := checkPrefix(e.Prefix); err != nil {
			return nil, err
		}
		for _, l := range []string{e.Network, e.Region} {
			if l == "" {
				continue // not set
			}
			if err := checkLabel(l); err != nil {
				return nil, err
			}
		}
		f, bits := family(e.Prefix.Addr()), e.Prefix.Bits()
		if byLen[f][bits] == nil {
			byLen[f][bits] = map[addrKey]Location{}
		}
		k := keyOf(e.Prefix.Addr(), bits)
		if _, dup := byLen[f][bits][k]; dup {
			return nil, fmt.Errorf("prefix %s is listed twice", e.Prefix)
		}
		byLen[f][bits][k] = e.Location
		m.entries = append(m.entries, e)
	}
	for f := range byLen {
		for bits, at := range byLen[f] {
			m.tables[f] = append(m.tables[f], table{bits: bits, at: at})
		}
		slices.SortFunc(m.tables[f], func(a, b table) int { return cmp.Compare(b.bits, a.bits) })
	}
	slices.SortFunc(m.entries, compareEntries)
	return m, nil
}

// compareEntries orders IPv4 before IPv6, then by address, then shorter prefixes first.
func compareEntries(a, b Entry) int {
	return cmp.Or(a.Prefix.Addr().Compare(b.Prefix.Addr()), cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()))
}

func checkPrefix(p netip.Prefix) error {
	switch {
	case !p.IsValid():
		return fmt.Errorf("prefix %s is not valid", p)
	case p.Addr().Zone() != "":
		return fmt.Errorf("prefix %s has a zone: write it without %%%s", p, p.Addr().Zone())
	case p.Addr().Is4In6():
		return fmt.Errorf("prefix %s is an IPv4-mapped IPv6 prefix: write IPv4 prefixes as a.b.c.d/n", p)
	case p.Masked() != p:
		return fmt.Errorf("prefix %s has host bits set: did you mean %s?", p, p.Masked())
	}
	return nil
}

// checkLabel says whether l may be a network or region label: printable, no spaces, no #, not
// "-", at most MaxLabel bytes.
func checkLabel(l string) error {
	switch {
	case l == "" || l == unset:
		return fmt.Errorf("label %q: a label must not be empty or %q", l, unset)
	case len(l) > MaxLabel:
		return fmt.Errorf("label %.20q…: longer than %d bytes", l, MaxLabel)
	case !utf8.ValidString(l):
		return fmt.Errorf("label %q: not UTF-8", l)
	}
	for _, r := range l {
		if r == '#' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("label %q: no spaces, # or control characters", l)
		}
	}
	return nil
}

// Lookup returns the location of the longest prefix holding a (IPv4-mapped IPv6 addresses are
// taken as IPv4), and whether any prefix holds it.
func (m *Map) Lookup(a netip.Addr) (Location, bool) {
	if m == nil || !a.IsValid() {
		return Location{}, false
	}
	a = a.Unmap()
	for _, t := range m.tables[family(a)] {
		if loc, ok := t.at[keyOf(a, t.bits)]; ok {
			return loc, true
		}
	}
	return Location{}, false
}

// Entries returns the map's entries, IPv4 first, by address, shorter prefixes first.
func (m *Map) Entries() []Entry {
	if m == nil {
		return nil
	}
	return slices.Clone(m.entries)
}

// Len is the number of prefixes.
func (m *Map) Len() int {
	if m == nil {
		return 0
	}
	return len(m.entries)
}

// WriteTo writes the map in the file format, one line per prefix; Parse reads it back to the
// same map.
func (m *Map) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	for _, e := range m.Entries() {
		fmt.Fprintf(&b, "%s %s %s\n", e.Prefix, orUnset(e.Network), orUnset(e.Region))
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func orUnset(l string) string {
	if l == "" {
		return unset
	}
	return l
}

// Parse reads a prefix map in the file format (see the package comment). name is what errors
// call the file; every error about a line reads "name:LINE: what is wrong".
func Parse(r io.Reader, name string) (*Map, error) {
	var entries []Entry
	lineOf := map[netip.Prefix]int{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", name, n, fmt.Sprintf(format, args...))
		}
		if len(f) != 3 {
			return nil, bad(`want "CIDR NETWORK REGION" ("-" for a label not set), got %d fields`, len(f))
		}
		p, err := netip.ParsePrefix(f[0])
		if err != nil {
			return nil, bad("%v", err)
		}
		if err := checkPrefix(p); err != nil {
			return nil, bad("%v", err)
		}
		if first, dup := lineOf[p]; dup {
			return nil, bad("prefix %s is already on line %d", p, first)
		}
		lineOf[p] = n
		e := Entry{Prefix: p}
		for i, dst := range []*string{&e.Network, &e.Region} {
			if l := f[1+i]; l != unset {
				if err := checkLabel(l); err != nil {
					return nil, bad("%v", err)
				}
				*dst = l
			}
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, n+1, err)
	}
	return New(entries)
}
