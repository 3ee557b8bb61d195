package repository

import (
	"strings"
	"testing"
)

func TestParseByteRange(t *testing.T) {
	const size = 1000
	tests := []struct {
		h          string
		begin, end int64
		err        string
	}{
		{h: "bytes=0-99", begin: 0, end: 100},
		{h: "bytes=900-", begin: 900, end: 1000},
		{h: "bytes=-100", begin: 900, end: 1000},
		{h: "bytes=-5000", begin: 0, end: 1000},
		{h: "bytes=990-2000", begin: 990, end: 1000},
		{h: "", err: "want one range"},
		{h: "items=0-1", err: "want one range"},
		{h: "bytes=0-1,5-9", err: "want one range"},
		{h: "bytes=5", err: "want one range"},
		{h: "bytes=9-5", err: "ends before it begins"},
		{h: "bytes=1000-", err: "past the end"},
		{h: "bytes=-0", err: "no bytes"},
		{h: "bytes=+1-5", err: "not a byte offset"},
		{h: "bytes=-", err: "not a byte offset"},
		{h: "bytes=99999999999999999999-", err: "out of range"},
	}
	for _, tc := range tests {
		b, e, err := ParseByteRange(tc.h, size)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want one saying %q", tc.h, err, tc.err)
			}
			continue
		}
		if err != nil || b != tc.begin || e != tc.end {
			t.Errorf("%q = [%d,%d) %v, want [%d,%d)", tc.h, b, e, err, tc.begin, tc.end)
		}
	}
}

func FuzzParseByteRange(f *testing.F) {
	for _, h := range []string{"bytes=0-99", "bytes=-1", "bytes=5-", "bytes=1-0", "bytes=0-1,2-3"} {
		f.Add(h, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		b, e, err := ParseByteRange(h, size)
		if err == nil && (b < 0 || e > size || b >= e) {
			t.Fatalf("%q of %d bytes = [%d,%d): not a non-empty range within the body", h, size, b, e)
		}
	})
}
