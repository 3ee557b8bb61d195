#!/bin/sh
# Raspberry Pi 4: the common files, plus the HDMI console as the TV (tty1) and the serial
# console on the GPIO UART for logs.
set -eu
"$BR2_EXTERNAL_SWARMBOX_PATH/board/common/post-build.sh" "$@"
# The init logs to ttyAMA0; on the Pi that is the GPIO UART (enable_uart=1 in config.txt).
