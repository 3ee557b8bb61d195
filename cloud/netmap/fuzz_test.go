package netmap

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// FuzzPrefixFile: Parse never panics; whatever it accepts writes out and reads back to the same
// map, and each entry's own address finds the entry (no other prefix is as long).
func FuzzPrefixFile(f *testing.F) {
	f.Add(sample)
	f.Add("")
	f.Add("# only a comment\n\n")
	f.Add("10.0.0.0/8 a b\n10.0.0.0/8 a b\n")
	f.Add("10.1.0.0/8 a b\n")
	f.Add("::ffff:10.0.0.0/104 a b\n")
	f.Add("fe80::/10%eth0 a b\n")
	f.Add("0.0.0.0/0 - -\n::/0 - -\r\n")
	f.Add("10.0.0.0/8 a#b c\n")
	f.Add("10.0.0.0/8 \u00a0 c\n")
	f.Fuzz(func(t *testing.T, text string) {
		m, err := Parse(strings.NewReader(text), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Fatalf("error %q names no line", err)
			}
			return
		}
		var b bytes.Buffer
		if _, err := m.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		back, err := Parse(&b, "written")
		if err != nil {
			t.Fatalf("written map does not parse: %v\n%s", err, b.String())
		}
		if !reflect.DeepEqual(m.Entries(), back.Entries()) {
			t.Fatalf("read back %+v, want %+v", back.Entries(), m.Entries())
		}
		for _, e := range m.Entries() {
			if got, ok := m.Lookup(e.Prefix.Addr()); !ok || !longest(m, e, got) {
				t.Fatalf("Lookup(%s) = %+v, %v: not the entry %+v nor a longer one", e.Prefix.Addr(), got, ok, e)
			}
		}
	})
}

// longest says whether got is the location of e or of a longer prefix holding e's address.
func longest(m *Map, e Entry, got Location) bool {
	best := e
	for _, o := range m.Entries() {
		if o.Prefix.Contains(e.Prefix.Addr()) && o.Prefix.Bits() > best.Prefix.Bits() {
			best = o
		}
	}
	return got == best.Location
}
