#!/bin/sh
# Puts the firmware, kernel, device tree, config.txt and cmdline.txt on the boot partition and
# lays out the SD card (genimage.cfg).
set -eu
BOARD_DIR=$(dirname "$0")
cp "$BOARD_DIR/config.txt" "$BOARD_DIR/cmdline.txt" "$BINARIES_DIR/"
GENIMAGE_TMP=$BUILD_DIR/genimage.tmp
rm -rf "$GENIMAGE_TMP"
genimage --rootpath "$TARGET_DIR" --tmppath "$GENIMAGE_TMP" --inputpath "$BINARIES_DIR" \
	--outputpath "$BINARIES_DIR" --config "$BOARD_DIR/genimage.cfg"
echo "swarmbox: $BINARIES_DIR/swarmbox-rpi4.img is ready: make flash DEV=/dev/sdX IMAGE=… (scripts/flash)"
