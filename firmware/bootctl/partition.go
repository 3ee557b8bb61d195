package bootctl

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// PartitionName is the GPT name of the partition holding the record.
const PartitionName = "bootctl"

// System is where the box's kernel interfaces are (the real ones: Host; tests point it at a
// folder of look-alike files).
type System struct {
	Sys, Proc, Dev string
}

// Host is the running kernel's /sys, /proc and /dev.
var Host = System{Sys: "/sys", Proc: "/proc", Dev: "/dev"}

// uevent reads a block device's uevent file (KEY=VALUE lines).
func uevent(path string) map[string]string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// Partition returns the device node of the partition named name in the GPT (PARTNAME).
func (s System) Partition(name string) (string, error) {
	dirs, err := filepath.Glob(filepath.Join(s.Sys, "class", "block", "*", "uevent"))
	if err != nil || len(dirs) == 0 {
		return "", fmt.Errorf("no block devices under %s/class/block: is sysfs mounted?", s.Sys)
	}
	for _, u := range dirs {
		m := uevent(u)
		if m["PARTNAME"] == name && m["DEVNAME"] != "" {
			return filepath.Join(s.Dev, m["DEVNAME"]), nil
		}
	}
	return "", fmt.Errorf("no partition named %q: this disk has no A/B slots (flash an image from 'make image')", name)
}

// SlotDevice is the device node of slot sl's root partition.
func (s System) SlotDevice(sl Slot) (string, error) { return s.Partition(sl.Partition()) }

// BootedSlot tells which slot the running root file system was mounted from (its
// partition's GPT name, found through /proc/self/mountinfo and /sys/dev/block).
func (s System) BootedSlot() (Slot, error) {
	f, err := os.Open(filepath.Join(s.Proc, "self", "mountinfo"))
	if err != nil {
		return NoSlot, fmt.Errorf("which slot is booted: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 22 1 254:2 / / ro,relatime shared:1 - ext4 /dev/vda2 ro
		w := strings.Fields(sc.Text())
		if len(w) < 5 || w[4] != "/" || w[3] != "/" {
			continue
		}
		m := uevent(filepath.Join(s.Sys, "dev", "block", w[2], "uevent"))
		switch m["PARTNAME"] {
		case A.Partition():
			return A, nil
		case B.Partition():
			return B, nil
		}
		return NoSlot, fmt.Errorf("the root file system (device %s, partition %q) is not a root slot", w[2], m["PARTNAME"])
	}
	return NoSlot, fmt.Errorf("which slot is booted: no root mount in %s/self/mountinfo", s.Proc)
}

// OpenDevice opens the record's partition for reading and writing.
func (s System) OpenDevice() (*os.File, error) {
	dev, err := s.Partition(PartitionName)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open the boot-control partition: %w", err)
	}
	return f, nil
}

// CompareVersions orders two firmware versions: dotted numbers, compared part by part
// numerically ("1.10" is newer than "1.9"; a part that is not a number compares as text);
// -1, 0 or 1.
func CompareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := "0", "0"
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if c := compareNumeric(x, y); c != 0 {
			return c
		}
	}
	return 0
}

func compareNumeric(x, y string) int {
	x, y = strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0")
	if isDigits(x) && isDigits(y) {
		if len(x) != len(y) {
			return cmpInt(len(x), len(y))
		}
	}
	return bytes.Compare([]byte(x), []byte(y))
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Current opens the running box's record partition and reads the record and the slot the
// root was mounted from. The caller closes dev.
func (s System) Current() (booted Slot, dev *os.File, rec Record, err error) {
	if booted, err = s.BootedSlot(); err != nil {
		return NoSlot, nil, Record{}, err
	}
	if dev, err = s.OpenDevice(); err != nil {
		return NoSlot, nil, Record{}, err
	}
	if rec, err = Read(dev); err != nil {
		dev.Close()
		return NoSlot, nil, Record{}, err
	}
	return booted, dev, rec, nil
}
