package disk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var areas = []string{"preload", "wishlist", "cache"}

func TestParseSplit(t *testing.T) {
	const gib = int64(1) << 30
	for _, c := range []struct {
		name string
		in   string
		size int64
		want map[string]int64
		err  string
	}{
		{"defaults", "", 100 * gib, map[string]int64{"wishlist": 60 * gib, "cache": 35 * gib}, ""},
		{"percentages", "wishlist=80%\ncache = 10% # the swarm's part\n", 100 * gib, map[string]int64{"wishlist": 80 * gib, "cache": 10 * gib}, ""},
		{"bytes with units", "wishlist=40G\ncache=512M\npreload=1T\n", 100 * gib, map[string]int64{"wishlist": 40 * gib, "cache": 512 << 20, "preload": 100 * gib}, ""},
		{"plain bytes, lower-case unit", "cache=4096\nwishlist=2g", 100 * gib, map[string]int64{"wishlist": 2 * gib, "cache": 4096}, ""},
		{"nothing for the cache", "cache=0%", 100 * gib, map[string]int64{"wishlist": 60 * gib, "cache": 1}, ""},
		{"over 100 %", "wishlist=70%\ncache=40%", 0, nil, "at most 100%"},
		{"unknown area", "films=10%", 0, nil, `"films" is not an area`},
		{"not key=value", "wishlist 60%", 0, nil, "not area=share"},
		{"bad percentage", "cache=120%", 0, nil, "percentage from 0 to 100"},
		{"negative bytes", "cache=-5G", 0, nil, "neither a percentage"},
		{"zero bytes", "cache=0", 0, nil, "use 0%"},
		{"overflow", "cache=99999999999T", 0, nil, "neither a percentage"},
		{"NaN", "cache=NaN%", 0, nil, "percentage"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := ParseSplit(strings.NewReader(c.in), areas)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := s.Quotas(c.size)
			if len(got) != len(c.want) {
				t.Fatalf("Quotas = %v, want %v", got, c.want)
			}
			for a, q := range c.want {
				if got[a] != q {
					t.Errorf("quota %s = %d, want %d", a, got[a], q)
				}
			}
		})
	}
}

func TestLoadSplitWithoutAFileIsTheDefault(t *testing.T) {
	dir := t.TempDir()
	s, err := LoadSplit(filepath.Join(dir, "disk.conf"), areas)
	if err != nil || len(s) != len(DefaultSplit) || s["wishlist"] != DefaultSplit["wishlist"] {
		t.Fatalf("LoadSplit without a file = %v, %v", s, err)
	}
	p := filepath.Join(dir, "bad.conf")
	os.WriteFile(p, []byte("wishlist=lots\n"), 0o644)
	if _, err := LoadSplit(p, areas); err == nil || !strings.Contains(err.Error(), "defaults apply") {
		t.Errorf("a bad disk.conf: %v, want an error saying what to do", err)
	}
}

func FuzzParseSplit(f *testing.F) {
	f.Add("wishlist=60%\ncache=35%\n")
	f.Add("wishlist=40G\ncache=512M # c\npreload=1T")
	f.Add("cache=1e308%\nwishlist=-0%")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSplit(strings.NewReader(in), areas)
		if err != nil {
			return
		}
		const size = int64(1) << 40
		var sum int64
		for a, q := range s.Quotas(size) {
			if q < 1 || q > size {
				t.Errorf("ParseSplit(%q): quota %s = %d for a disk of %d", in, a, q, size)
			}
			if s[a].Bytes == 0 {
				sum += q
			}
		}
		if sum > size+int64(len(s)) {
			t.Errorf("ParseSplit(%q): the percentages give %d bytes of %d", in, sum, size)
		}
	})
}
