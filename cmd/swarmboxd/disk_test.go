package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDiskQuotasSizeTheAreasFromTheMediaDisk: -disk-config sizes the wishlist and cache areas
// from the media folder's file system (the defaults without a file), a quota flag wins, no
// -disk-config leaves the flags alone, and a bad file is refused with what to do.
func TestDiskQuotasSizeTheAreasFromTheMediaDisk(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "media"), 0o700)
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Join(dir, "media"), &st); err != nil {
		t.Fatal(err)
	}
	size := int64(st.Blocks) * int64(st.Bsize)
	flags := map[string]int64{"wishlist": 0, "cache": 0, "preload": 0}

	q, err := diskQuotas(dir, "", flags)
	if err != nil || q["wishlist"] != 0 || q["cache"] != 0 {
		t.Errorf("without -disk-config: %v, %v; want the flags' zeros", q, err)
	}
	q, err = diskQuotas(dir, filepath.Join(dir, "disk.conf"), flags)
	if err != nil || q["wishlist"] != size*60/100 || q["cache"] != size*35/100 || q["preload"] != 0 {
		t.Errorf("defaults on a %d-byte disk: %v, %v", size, q, err)
	}
	conf := filepath.Join(dir, "disk.conf")
	os.WriteFile(conf, []byte("wishlist=50%\ncache=1G\n"), 0o644)
	q, err = diskQuotas(dir, conf, map[string]int64{"wishlist": 12345, "cache": 0})
	if err != nil || q["wishlist"] != 12345 || q["cache"] != min(1<<30, size) {
		t.Errorf("disk.conf with a wishlist flag: %v, %v; want the flag's 12345 and 1 GiB of cache", q, err)
	}
	os.WriteFile(conf, []byte("cache=most\n"), 0o644)
	if _, err := diskQuotas(dir, conf, flags); err == nil || !strings.Contains(err.Error(), "defaults apply") {
		t.Errorf("a bad disk.conf: %v", err)
	}
}
