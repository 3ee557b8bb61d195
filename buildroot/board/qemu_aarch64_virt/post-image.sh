#!/bin/sh
# Lays out the disk (genimage.cfg) and says how to boot it.
set -eu
BOARD_DIR=$(dirname "$0")
GENIMAGE_TMP=$BUILD_DIR/genimage.tmp
rm -rf "$GENIMAGE_TMP"
genimage --rootpath "$TARGET_DIR" --tmppath "$GENIMAGE_TMP" --inputpath "$BINARIES_DIR" \
	--outputpath "$BINARIES_DIR" --config "$BOARD_DIR/genimage.cfg"
cat <<MSG
swarmbox: $BINARIES_DIR/swarmbox-arm64.img is ready. Boot it with
  qemu-system-aarch64 -M virt -cpu cortex-a57 -m 512 -kernel $BINARIES_DIR/Image \\
    -append "console=ttyAMA0 root=PARTLABEL=root_a rootwait ro" \\
    -drive file=$BINARIES_DIR/swarmbox-arm64.img,format=raw,if=virtio \\
    -netdev user,id=wan -device virtio-net-pci,netdev=wan -device virtio-gpu-pci -device virtio-keyboard-pci
MSG
