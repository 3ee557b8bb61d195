package factory

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ext4Overhead is the share of a partition the file system itself takes (inode tables, group
// descriptors; no journal), kept free when checking that titles fit.
const ext4Overhead = 0.06

// ErrProvisioned is returned for an image whose state partition already holds a box.
var ErrProvisioned = errors.New("the image already holds a box's state")

// PreloadImage prepares the box on a fresh disk image made by scripts/image: it fills a box state
// folder as Preload does, then rebuilds the image's preload, media and state partitions from it
// with mke2fs -d (no loop mount) and writes them in place. The image is changed only after
// everything else has worked. An image that already holds a box (booted or preloaded before) is
// refused unless force, since its identity and titles would be replaced.
func PreloadImage(ctx context.Context, image string, o Order, force bool) (Result, error) {
	f, err := os.OpenFile(image, os.O_RDWR, 0)
	if err != nil {
		return Result{}, fmt.Errorf("box image: %w", err)
	}
	defer f.Close()
	parts, err := ReadGPT(f)
	if err != nil {
		return Result{}, err
	}
	byName := map[string]Partition{}
	for _, p := range parts {
		byName[p.Name] = p
	}
	for _, n := range []string{"preload", "media", "state"} {
		if _, ok := byName[n]; !ok {
			return Result{}, fmt.Errorf("box image %s has no %q partition: build it with 'make image'", image, n)
		}
	}
	work, err := os.MkdirTemp("", "swarmbox-preload")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(work)
	if !force {
		held, err := holdsBox(ctx, f, byName["state"], work)
		if err != nil {
			return Result{}, err
		}
		if held {
			return Result{}, fmt.Errorf("%w (%s): start from a fresh 'make image', or pass -force to replace the box", ErrProvisioned, image)
		}
	}
	o.BoxDir = filepath.Join(work, "state")
	o.Capacity = int64(float64(byName["preload"].Size)*(1-ext4Overhead)) - 1<<20
	res, err := Preload(ctx, o)
	if err != nil {
		return res, err
	}
	// Each area becomes its own file system; the state partition keeps empty mount points.
	trees := map[string]string{"state": o.BoxDir}
	for _, n := range []string{"preload", "media"} {
		trees[n] = filepath.Join(work, n)
		if err := os.Rename(filepath.Join(o.BoxDir, n), trees[n]); err != nil {
			return res, err
		}
		if err := os.Mkdir(filepath.Join(o.BoxDir, n), 0o755); err != nil {
			return res, err
		}
	}
	for _, n := range []string{"preload", "media", "state"} {
		fs := filepath.Join(work, n+".ext4")
		if err := mkfs(ctx, n, byName[n].Size, trees[n], fs); err != nil {
			return res, err
		}
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "writing the %s partition (%d MiB)\n", n, byName[n].Size>>20)
		}
		if err := writeAt(f, fs, byName[n]); err != nil {
			return res, err
		}
	}
	return res, f.Sync()
}

// holdsBox reports whether the state partition's file system has a box database, read with
// debugfs from a copy of the partition (nothing is mounted).
func holdsBox(ctx context.Context, disk *os.File, p Partition, work string) (bool, error) {
	copyPath := filepath.Join(work, "state-check.ext4")
	out, err := os.Create(copyPath)
	if err != nil {
		return false, err
	}
	_, err = io.Copy(out, io.NewSectionReader(disk, p.Start, p.Size))
	out.Close()
	defer os.Remove(copyPath)
	if err != nil {
		return false, fmt.Errorf("read the state partition: %w", err)
	}
	msg, err := exec.CommandContext(ctx, "debugfs", "-R", "stat /box.db", copyPath).CombinedOutput()
	if errors.Is(err, exec.ErrNotFound) {
		return false, errors.New("debugfs is missing: apt-get install e2fsprogs (make deps does it)")
	}
	// "File not found", or no file system at all (a blank partition): nothing to lose.
	return strings.Contains(string(msg), "Inode:"), nil
}

// mkfs makes an ext4 file system image of size bytes holding dir, labelled name (the box mounts
// by label), with the same fixed-UUID scheme as scripts/image.
func mkfs(ctx context.Context, name string, size int64, dir, out string) error {
	uuid := func(s string) string {
		h := fmt.Sprintf("%x", sha256.Sum256([]byte("swarmbox-"+s)))
		return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
	}
	// The partitions the box writes keep a journal (power cuts), as scripts/image makes them.
	journal := "has_journal"
	if name == "preload" {
		journal = "^has_journal"
	}
	cmd := exec.CommandContext(ctx, "mke2fs", "-q", "-F", "-t", "ext4", "-L", name, "-U", uuid(name),
		"-E", "hash_seed="+uuid(name+"-hash")+",root_owner=0:0", "-O", journal+",^metadata_csum_seed",
		"-m", "0", "-I", "256", "-b", "4096", "-d", dir, out, strconv.FormatInt(size/1024, 10)+"k")
	msg, err := cmd.CombinedOutput()
	if errors.Is(err, exec.ErrNotFound) {
		return errors.New("mke2fs is missing: apt-get install e2fsprogs (make deps does it)")
	}
	if err != nil {
		if strings.Contains(string(msg), "Could not allocate") || strings.Contains(string(msg), "No space") {
			return fmt.Errorf("%w: the %s partition cannot hold its files: %s", ErrFull, name, strings.TrimSpace(string(msg)))
		}
		return fmt.Errorf("mke2fs for the %s partition: %v: %s", name, err, strings.TrimSpace(string(msg)))
	}
	return nil
}

// writeAt copies a file system image into its partition.
func writeAt(disk *os.File, fs string, p Partition) error {
	in, err := os.Open(fs)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if st.Size() > p.Size {
		return fmt.Errorf("%w: %s file system is %d bytes, the partition %d", ErrFull, p.Name, st.Size(), p.Size)
	}
	_, err = io.Copy(io.NewOffsetWriter(disk, p.Start), in)
	return err
}
