package netmap

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const sample = `# the operator's prefixes (SCHED-15)
10.0.0.0/8          isp-a   north
10.1.0.0/16         isp-b   north    # a longer prefix wins
10.1.2.0/24         -       south    # region only
10.1.2.128/25       -       -        # a hole: known, no location

2001:db8::/32       isp-a   north
2001:db8:1::/48     isp-v6  south
0.0.0.0/0           world   -
`

func mustParse(t testing.TB, text string) *Map {
	t.Helper()
	m, err := Parse(strings.NewReader(text), "prefixes")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLookupLongestPrefix: the longest prefix holding an address wins, for IPv4, IPv6 and
// IPv4-mapped IPv6 addresses; "-" labels are not set; an address no prefix holds is not found
// (SCHED-15).
func TestLookupLongestPrefix(t *testing.T) {
	m := mustParse(t, sample)
	tests := []struct {
		addr  string
		want  Location
		found bool
	}{
		{"10.9.9.9", Location{"isp-a", "north"}, true},
		{"10.1.9.9", Location{"isp-b", "north"}, true},
		{"10.1.2.3", Location{"", "south"}, true},
		{"10.1.2.200", Location{}, true},
		{"::ffff:10.1.9.9", Location{"isp-b", "north"}, true}, // mapped: taken as IPv4
		{"192.0.2.1", Location{"world", ""}, true},            // only the default route
		{"2001:db8::1", Location{"isp-a", "north"}, true},
		{"2001:db8:1::1", Location{"isp-v6", "south"}, true},
		{"2001:db8:1::1%eth0", Location{"isp-v6", "south"}, true}, // a zone is no part of where
		{"2001:db9::1", Location{}, false},                        // no IPv6 default route
		{"::1", Location{}, false},
	}
	for _, tt := range tests {
		got, found := m.Lookup(netip.MustParseAddr(tt.addr))
		if got != tt.want || found != tt.found {
			t.Errorf("Lookup(%s) = %+v, %v; want %+v, %v", tt.addr, got, found, tt.want, tt.found)
		}
	}
	var none *Map
	if _, found := none.Lookup(netip.MustParseAddr("10.0.0.1")); found {
		t.Error("a nil map found an address")
	}
	if _, found := m.Lookup(netip.Addr{}); found {
		t.Error("the zero address was found")
	}
}

// TestParseErrorsNameTheLine: every bad line is refused with file:line and what is wrong.
func TestParseErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"two fields", "# c\n10.0.0.0/8 isp-a\n", "prefixes:2: want \"CIDR NETWORK REGION\""},
		{"four fields", "10.0.0.0/8 a b c\n", "prefixes:1: want"},
		{"not a prefix", "\n\n10.0.0.0 a b\n", "prefixes:3: "},
		{"bits too many", "10.0.0.0/33 a b\n", "prefixes:1: "},
		{"host bits", "10.1.0.0/8 a b\n", "prefixes:1: prefix 10.1.0.0/8 has host bits set: did you mean 10.0.0.0/8?"},
		{"mapped prefix", "::ffff:10.0.0.0/104 a b\n", "prefixes:1: prefix ::ffff:10.0.0.0/104 is an IPv4-mapped IPv6 prefix"},
		{"repeated", "10.0.0.0/8 a b\n192.0.2.0/24 c d\n10.0.0.0/8 a b\n", "prefixes:3: prefix 10.0.0.0/8 is already on line 1"},
		{"control character", "10.0.0.0/8 a\x01b c\n", "prefixes:1: label"},
		{"long label", "10.0.0.0/8 " + strings.Repeat("x", MaxLabel+1) + " c\n", "prefixes:1: label"},
		{"not UTF-8", "10.0.0.0/8 a\xff c\n", "prefixes:1: label"},
		{"long line", "10.0.0.0/8 a b " + strings.Repeat(" ", 70_000) + "\n", "prefixes:1: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(tt.text), "prefixes")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v, %v; want an error containing %q", m, err, tt.want)
			}
		})
	}
}

// TestParseEmptyAndComments: comments, blank lines, tabs and CRLF line ends are fine; a file
// with no prefix is an empty map that matches nothing.
func TestParseEmptyAndComments(t *testing.T) {
	m := mustParse(t, "# nothing yet\r\n\r\n   \t# still nothing\n")
	if m.Len() != 0 {
		t.Fatalf("%d prefixes, want 0", m.Len())
	}
	m = mustParse(t, "10.0.0.0/8\tisp-a\tnorth\r\n")
	if got, _ := m.Lookup(netip.MustParseAddr("10.0.0.1")); got != (Location{"isp-a", "north"}) {
		t.Fatalf("Lookup = %+v", got)
	}
}

// TestWriteToParsesBack: a map written out reads back to the same map.
func TestWriteToParsesBack(t *testing.T) {
	m := mustParse(t, sample)
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	back := mustParse(t, b.String())
	if !reflect.DeepEqual(m.Entries(), back.Entries()) {
		t.Fatalf("written\n%s\nread back %+v, want %+v", b.String(), back.Entries(), m.Entries())
	}
}

// writeFile puts text at path the safe way, by renaming a new file over it.
func writeFile(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestFileReload: a rewritten file is read again by Watch; a bad one is refused with its
// file:line and the last good map stays; the next good one loads (SCHED-15).
func TestFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prefixes")
	writeFile(t, path, "10.0.0.0/8 isp-a north\n")
	f, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Watch(ctx, 5*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()
	addr := netip.MustParseAddr("10.0.0.1")
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited 10 s for %s", what)
			}
		}
	}
	at := func() Location { l, _ := f.Lookup(addr); return l }

	writeFile(t, path, "10.0.0.0/8 isp-b south\n")
	waitFor("the rewritten file", func() bool { return at() == Location{"isp-b", "south"} })

	writeFile(t, path, "10.0.0.0/8 isp-c south\n10.0.0.0/33 x y\n")
	waitFor("the bad file's error", func() bool { return f.Err() != nil })
	if err := f.Err(); !strings.Contains(err.Error(), path+":2: ") {
		t.Errorf("error %q does not name %s:2", err, path)
	}
	if got := at(); got != (Location{"isp-b", "south"}) {
		t.Errorf("after a bad file: %+v, want the last good map's", got)
	}

	os.Remove(path)
	if err := f.Reload(); err == nil {
		t.Error("Reload of a missing file: no error")
	}
	writeFile(t, path, "10.0.0.0/8 isp-d east\n")
	waitFor("the file put back", func() bool { return at() == Location{"isp-d", "east"} && f.Err() == nil })

	if _, err := Open(filepath.Join(t.TempDir(), "none"), nil); err == nil {
		t.Error("Open of a missing file: no error")
	}
}

// BenchmarkLookup: one lookup (what every sync costs) in a map of 20 000 IPv4 and 20 000 IPv6
// prefixes of lengths 8 to 32 (IPv4) and 20 to 64 (IPv6), about a national ISP table.
func BenchmarkLookup(b *testing.B) {
	var entries []Entry
	seen := map[netip.Prefix]bool{}
	x := uint64(1)
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	for len(entries) < 40_000 {
		var p netip.Prefix
		if len(entries)%2 == 0 {
			v := next()
			a := netip.AddrFrom4([4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)})
			p, _ = a.Prefix(8 + int(v>>32)%25)
		} else {
			v, w := next(), next()
			var raw [16]byte
			for i := range 8 {
				raw[i] = byte(v >> (8 * i))
			}
			p, _ = netip.AddrFrom16(raw).Prefix(20 + int(w%45))
		}
		if !seen[p] {
			seen[p] = true
			entries = append(entries, Entry{Prefix: p, Location: Location{Network: "isp", Region: "r"}})
		}
	}
	m, err := New(entries)
	if err != nil {
		b.Fatal(err)
	}
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		addrs[i] = entries[int(next()%uint64(len(entries)))].Prefix.Addr()
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Lookup(addrs[i%len(addrs)])
	}
}
