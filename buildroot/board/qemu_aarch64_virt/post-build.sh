#!/bin/sh
# QEMU virt needs nothing beyond the common files.
set -eu
exec "$BR2_EXTERNAL_SWARMBOX_PATH/board/common/post-build.sh" "$@"
