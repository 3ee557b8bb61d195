package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"swarmbox/firmware/bundle"
	"swarmbox/internal/cmdline"
)

// firmware is `swarmbox-cloud firmware keygen|build` (FW-3): the operator's signing key and
// signed update bundles of a root-slot image.
func firmware(args []string) error {
	if len(args) < 1 {
		return errors.New("firmware needs a subcommand: keygen or build")
	}
	switch args[0] {
	case "keygen":
		return firmwareKeygen(args[1:])
	case "build":
		return firmwareBuild(args[1:])
	}
	return fmt.Errorf("firmware %s: unknown subcommand (keygen, build)", args[0])
}

func firmwareKeygen(args []string) error {
	fs := flag.NewFlagSet("firmware keygen", flag.ExitOnError)
	pos, err := cmdline.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("firmware keygen KEYFILE (writes KEYFILE and KEYFILE.pub)")
	}
	if _, err := bundle.GenerateKey(pos[0]); err != nil {
		return err
	}
	fmt.Printf("firmware signing key %s; its public half %s.pub goes into the box image (scripts/image FIRMWARE_KEY=%s)\n", pos[0], pos[0], pos[0])
	return nil
}

func firmwareBuild(args []string) error {
	fs := flag.NewFlagSet("firmware build", flag.ExitOnError)
	keyPath := fs.String("key", "", "the operator's firmware signing key (firmware keygen)")
	version := fs.String("version", "", "the bundle's firmware version, e.g. 2 or 1.4.0 (boxes refuse versions not newer than theirs)")
	hardware := fs.String("hardware", "", "hardware the image runs on, comma-separated (the box's /etc/swarmbox/hardware, e.g. qemu-arm64)")
	rollback := fs.Bool("rollback", false, "an explicit rollback: boxes on a newer version install it too")
	chunk := fs.Int64("chunk", bundle.DefaultChunk, "chunk size in bytes (each chunk's SHA-256 is in the signed manifest)")
	out := fs.String("o", "", "the bundle file to write")
	pos, err := cmdline.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *keyPath == "" || *version == "" || *hardware == "" || *out == "" {
		return errors.New("firmware build -key KEY -version V -hardware HW[,HW] ROOTFS.img -o BUNDLE")
	}
	key, err := bundle.LoadPrivateKey(*keyPath)
	if err != nil {
		return err
	}
	img, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("the root image: %w", err)
	}
	defer img.Close()
	tmp := *out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	start := time.Now()
	w := bufio.NewWriterSize(f, 1<<20)
	m, err := bundle.Build(w, key, bundle.Spec{Version: *version, Hardware: strings.Split(*hardware, ","), Rollback: *rollback, ChunkSize: *chunk}, img)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("build %s: %w", *out, err)
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Printf("bundle %s: version %s for %s, %d bytes in %d chunks, signed (%.0f MB/s)\n", *out, m.Version, strings.Join(m.Hardware, ","),
		m.Image.Size, len(m.Image.Chunks), float64(m.Image.Size)/1e6/el.Seconds())
	return nil
}
