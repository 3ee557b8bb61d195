package remote

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// uinput ioctls (linux/uinput.h).
const (
	uiSetEvBit   = 0x40045564
	uiSetKeyBit  = 0x40045565
	uiDevCreate  = 0x5501
	uiDevDestroy = 0x5502
)

// TestWatchUinputDevice makes a real input device with the kernel's uinput and presses its
// keys. Kernels without uinput (this project's CI VM has none) cannot run it; the QEMU test of
// the firmware drives a real evdev device through the emulated keyboard instead.
func TestWatchUinputDevice(t *testing.T) {
	ui, err := os.OpenFile("/dev/uinput", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no uinput on this kernel (%v): covered by the firmware's QEMU test", err)
	}
	defer ui.Close()
	fd := int(ui.Fd())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(unix.IoctlSetInt(fd, uiSetEvBit, EvKey))
	for _, k := range []int{103, 108, 0x160, 0x18e} {
		must(unix.IoctlSetInt(fd, uiSetKeyBit, k))
	}
	// struct uinput_user_dev: name[80], input_id (4×u16), ff_effects_max (u32), 4×64 s32.
	name := "swarmbox-test-remote-" + time.Now().Format("150405.000")
	dev := make([]byte, 80+8+4+4*64*4)
	copy(dev, name)
	binary.LittleEndian.PutUint16(dev[80:], 0x06) // BUS_VIRTUAL
	_, err = ui.Write(dev)
	must(err)
	must(unix.IoctlSetInt(fd, uiDevCreate, 0))
	defer unix.IoctlSetInt(fd, uiDevDestroy, 0)

	var path string
	for deadline := time.Now().Add(5 * time.Second); path == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		names, _ := filepath.Glob("/sys/class/input/event*/device/name")
		for _, n := range names {
			if b, _ := os.ReadFile(n); strings.TrimSpace(string(b)) == name {
				path = filepath.Join("/dev/input", filepath.Base(filepath.Dir(filepath.Dir(n))))
			}
		}
	}
	if path == "" {
		t.Fatal("the uinput device did not appear under /sys/class/input")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Press, 4)
	go Watch(ctx, Config{Devices: []string{path}, Rescan: 20 * time.Millisecond}, out)
	time.Sleep(300 * time.Millisecond) // the reader opens the device
	_, err = ui.Write(append(keyEvents(0x18e, 1, 0), keyEvents(108, 1, 0)...))
	must(err)
	for _, want := range []Button{Red, Down} {
		if p := next(t, out); p.Button != want {
			t.Fatalf("press %+v, want %s", p, want)
		}
	}
}
