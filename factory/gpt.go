package factory

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
)

// Partition is one GPT partition of a disk image, in bytes.
type Partition struct {
	Name        string
	Start, Size int64
}

const sector = 512

// ReadGPT reads the partition table of a disk image (512-byte sectors, as scripts/image and
// genimage write it).
func ReadGPT(r io.ReaderAt) ([]Partition, error) {
	hdr := make([]byte, 92)
	if _, err := r.ReadAt(hdr, sector); err != nil {
		return nil, fmt.Errorf("disk image: no GPT header: %w", err)
	}
	if string(hdr[:8]) != "EFI PART" {
		return nil, errors.New("disk image: no GPT partition table (build the image with 'make image')")
	}
	entriesLBA := binary.LittleEndian.Uint64(hdr[72:])
	count := binary.LittleEndian.Uint32(hdr[80:])
	size := binary.LittleEndian.Uint32(hdr[84:])
	if size < 128 || size > 4096 || count > 1024 || entriesLBA > 1<<40 {
		return nil, fmt.Errorf("disk image: implausible GPT (%d entries of %d bytes at sector %d)", count, size, entriesLBA)
	}
	buf := make([]byte, int(count)*int(size))
	if _, err := r.ReadAt(buf, int64(entriesLBA)*sector); err != nil {
		return nil, fmt.Errorf("disk image: GPT entries: %w", err)
	}
	var out []Partition
	for i := 0; i < int(count); i++ {
		e := buf[i*int(size) : (i+1)*int(size)]
		if bytes.Equal(e[:16], make([]byte, 16)) {
			continue // unused entry
		}
		first, last := binary.LittleEndian.Uint64(e[32:]), binary.LittleEndian.Uint64(e[40:])
		if last < first || last >= 1<<40 {
			return nil, fmt.Errorf("disk image: GPT entry %d spans sectors %d to %d", i, first, last)
		}
		u := make([]uint16, 36)
		for j := range u {
			u[j] = binary.LittleEndian.Uint16(e[56+2*j:])
		}
		if n := indexZero(u); n >= 0 {
			u = u[:n]
		}
		out = append(out, Partition{Name: string(utf16.Decode(u)), Start: int64(first) * sector, Size: int64(last-first+1) * sector})
	}
	return out, nil
}

func indexZero(u []uint16) int {
	for i, c := range u {
		if c == 0 {
			return i
		}
	}
	return -1
}
