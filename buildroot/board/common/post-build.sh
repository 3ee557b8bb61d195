#!/bin/sh
# Installs the box's init and its settings from the project (the same files `make image` puts
# on the QEMU image), so both recipes boot the same way. $1 is the target folder.
set -eu
TARGET=$1
PROJECT=$BR2_EXTERNAL_SWARMBOX_PATH/..
D=$PROJECT/scripts/image.d
install -D -m 0755 "$D/rc" "$TARGET/sbin/init"
install -D -m 0755 "$D/media-disk" "$TARGET/sbin/media-disk"
install -D -m 0644 "$D/dbus.conf" "$TARGET/etc/swarmbox/dbus.conf"
install -D -m 0755 "$D/udhcpc.script" "$TARGET/etc/swarmbox/udhcpc.script"
ln -sfn ../run/resolv.conf "$TARGET/etc/resolv.conf"
awk '$1 == "root" { for (i = 2; i <= NF; i++) print $i }' "$D/modules" >"$TARGET/etc/swarmbox/modules"
grep -v '^#' "$D/partitions" | awk 'NF { print length($3), $1 ":" $3 ":" $4 }' | sort -n | cut -d' ' -f2 >"$TARGET/etc/swarmbox/partitions"
mkdir -p "$TARGET/var/lib/swarmbox" "$TARGET/run" "$TARGET/tmp"
