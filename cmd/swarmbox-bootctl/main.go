// Command swarmbox-bootctl is the box's boot path for the A/B root slots (FW-2): a small
// static binary in the initramfs, so the initramfs and the daemon share one tested reader
// and writer of the boot-control record (checksums, two copies) instead of a second one in
// busybox sh.
//
//	swarmbox-bootctl boot                       pick the slot, write the record; prints "DEVICE SLOT trial|normal BOOTCTL-DEVICE"
//	swarmbox-bootctl watchdog -timeout D SLOT   (fd 3: the bootctl partition) reboot unless SLOT's trial is confirmed in time
//	swarmbox-bootctl init -slot a -version V FILE   a fresh record in FILE (scripts/image)
//	swarmbox-bootctl show FILE|-                 print the record
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	"swarmbox/firmware/bootctl"
)

const usage = `usage: swarmbox-bootctl boot | watchdog [-timeout D] SLOT | init -slot a|b -version V FILE | show FILE
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "boot":
		err = boot(bootctl.Host)
	case "watchdog":
		err = watchdog(os.Args[2:])
	case "init":
		err = initFile(os.Args[2:])
	case "show":
		err = show(os.Args[2:])
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "swarmbox-bootctl:", err)
		os.Exit(1)
	}
}

// boot is the initramfs's choice. Whatever goes wrong with the record, it still names a slot
// to mount (the active one, else a): a box must boot.
func boot(sys bootctl.System) error {
	choice, note, recDev := bootctl.Choice{Slot: bootctl.A}, "", "-"
	if d, err := sys.Partition(bootctl.PartitionName); err == nil {
		recDev = d
	}
	f, err := sys.OpenDevice()
	if err != nil {
		note = err.Error()
	} else {
		defer f.Close()
		rec, err := bootctl.Read(f)
		switch {
		case err != nil:
			note = err.Error() + "; booting slot a"
		default:
			var next bootctl.Record
			var changed bool
			choice, next, changed = rec.Boot()
			if changed {
				if _, err := bootctl.Write(f, rec, next); err != nil {
					// Without the decremented count, a trial could repeat forever: boot the
					// slot known good instead.
					note = err.Error() + "; booting the active slot"
					choice = bootctl.Choice{Slot: rec.Active}
				} else {
					note = next.Note
				}
			}
		}
	}
	if note != "" {
		fmt.Fprintln(os.Stderr, "swarmbox: boot control:", note)
	}
	dev, err := sys.SlotDevice(choice.Slot)
	if err != nil {
		return err
	}
	mode := "normal"
	if choice.Trial {
		mode = "trial"
	}
	fmt.Println(dev, choice.Slot, mode, recDev)
	return nil
}

// watchdog waits for the trial slot to be confirmed (the daemon's health check writes the
// record) and reboots the box when it is not within the timeout, so a slot that hangs or
// whose software never comes up uses one of its tries. It reads the record through fd 3,
// opened by the initramfs before switch_root, and runs on from the initramfs: it does not
// depend on anything in the slot on trial.
func watchdog(args []string) error {
	fs := flag.NewFlagSet("watchdog", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 3*time.Minute, "how long the trial slot has to come up healthy")
	if err := fs.Parse(args); err != nil {
		return err
	}
	slot, err := bootctl.ParseSlot(fs.Arg(0))
	if err != nil {
		return err
	}
	dev := os.NewFile(3, "bootctl")
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if waitConfirmed(ctx, dev, slot, 2*time.Second) {
		return nil
	}
	fmt.Fprintf(os.Stderr, "swarmbox: boot control: slot %s did not come up healthy within %s: rebooting\n", slot, *timeout)
	syscall.Sync()
	return syscall.Reboot(syscall.LINUX_REBOOT_CMD_RESTART)
}

// waitConfirmed polls the record until slot is no longer on trial (true) or ctx ends.
func waitConfirmed(ctx context.Context, dev bootctl.Device, slot bootctl.Slot, every time.Duration) bool {
	for {
		if rec, err := bootctl.Read(dev); err == nil && rec.Trying != slot {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(every):
		}
	}
}

func initFile(args []string) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	slotName := fs.String("slot", "a", "the slot the image holds")
	version := fs.String("version", "", "its firmware version")
	size := fs.Int64("size", 1<<20, "the partition's size in bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *version == "" {
		return errors.New("init -slot a|b -version V FILE")
	}
	slot, err := bootctl.ParseSlot(*slotName)
	if err != nil {
		return err
	}
	f, err := os.Create(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(*size); err != nil {
		return err
	}
	_, err = bootctl.Init(f, slot, *version)
	return err
}

func show(args []string) error {
	if len(args) != 1 {
		return errors.New("show FILE")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := bootctl.Read(f)
	if err != nil {
		return err
	}
	fmt.Printf("seq %d\nactive %s (version %s)\ntrying %s\ntries %d of %d left\nslot a %q\nslot b %q\nnote %s\n",
		r.Seq, r.Active, r.Version(r.Active), r.Trying, r.TriesLeft, r.Tries, r.Version(bootctl.A), r.Version(bootctl.B), r.Note)
	return nil
}
