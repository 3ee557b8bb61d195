package disk

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Share is one area's part of the disk: a percentage of the media file system's size, or a
// fixed number of bytes.
type Share struct {
	Percent float64 // used when Bytes is 0
	Bytes   int64
}

// Of is the share of a disk of size bytes.
func (s Share) Of(size int64) int64 {
	if s.Bytes > 0 {
		return min(s.Bytes, size)
	}
	return int64(float64(size) * s.Percent / 100)
}

// Split is how the media disk is shared among the storage areas (storage.AreaWishlist,
// storage.AreaCache, storage.AreaPreload). An area missing from it has no quota of its own (the
// disk bounds it).
type Split map[string]Share

// DefaultSplit is the split of a box whose disk.conf does not say otherwise: 60 % for what the
// household wished, 35 % lent to the swarm as cache, and 5 % left free so the file system never
// runs full (ext4 fragments and slows down near full). The preload area is the factory's own
// partition, which the box never writes: it gets no share of the media disk.
var DefaultSplit = Split{"wishlist": {Percent: 60}, "cache": {Percent: 35}}

// ParseSplit reads a disk.conf: lines "area=60%" or "area=40G" (bytes, with an optional K, M,
// G or T suffix, powers of 1024), # comments. The areas must be among areas; the percentages
// may not add up to more than 100. Areas the file does not name keep DefaultSplit's share.
func ParseSplit(r io.Reader, areas []string) (Split, error) {
	out := Split{}
	for a, s := range DefaultSplit {
		out[a] = s
	}
	sc := bufio.NewScanner(io.LimitReader(r, 64<<10))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok {
			return nil, fmt.Errorf("disk.conf line %d %q is not area=share (e.g. wishlist=60%%)", n, line)
		}
		known := false
		for _, a := range areas {
			known = known || a == k
		}
		if !known {
			return nil, fmt.Errorf("disk.conf line %d: %q is not an area (the areas are %s)", n, k, strings.Join(areas, ", "))
		}
		s, err := parseShare(v)
		if err != nil {
			return nil, fmt.Errorf("disk.conf line %d: %s: %w", n, k, err)
		}
		out[k] = s
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read disk.conf: %w", err)
	}
	var pct float64
	for _, s := range out {
		if s.Bytes == 0 {
			pct += s.Percent
		}
	}
	if pct > 100 {
		return nil, fmt.Errorf("disk.conf gives the areas %.4g%% of the disk together: at most 100%%", pct)
	}
	return out, nil
}

func parseShare(v string) (Share, error) {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f < 0 || f > 100 || f != f {
			return Share{}, fmt.Errorf("%q is not a percentage from 0 to 100", v)
		}
		return Share{Percent: f}, nil
	}
	mult := int64(1)
	num := strings.TrimSpace(v)
	for i, u := range []string{"K", "M", "G", "T"} {
		if s, ok := strings.CutSuffix(strings.ToUpper(num), u); ok {
			num, mult = strings.TrimSpace(s), int64(1)<<(10*(i+1))
			break
		}
	}
	b, err := strconv.ParseInt(num, 10, 64)
	if err != nil || b < 0 || b > (1<<62)/mult {
		return Share{}, fmt.Errorf("%q is neither a percentage (60%%) nor a byte count (40G)", v)
	}
	if b == 0 {
		return Share{}, errors.New("a share of 0 bytes: use 0% to give an area nothing")
	}
	return Share{Bytes: b * mult}, nil
}

// LoadSplit reads the split from path; a missing file is DefaultSplit.
func LoadSplit(path string, areas []string) (Split, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return DefaultSplit, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	s, err := ParseSplit(f, areas)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (fix or remove the file: without it the defaults apply)", path, err)
	}
	return s, nil
}

// Quotas is the byte quota of each area the split names, for a disk of size bytes. A share
// of 0 % is no room at all, which storage's quotas cannot say (0 there means "the disk"): it
// becomes one byte, which nothing fits in.
func (s Split) Quotas(size int64) map[string]int64 {
	q := map[string]int64{}
	for a, sh := range s {
		q[a] = max(1, sh.Of(size))
	}
	return q
}
