#!/usr/bin/env bash
# Copies a provisioning bundle onto the boot partition of an SD card image,
# without mounting anything: add-bundle.sh sdcard.img hearth-bundle.json
# Needs sfdisk and mtools. Write the image to one card only: the bundle is
# that device's (hearthd removes it from the card once applied).

set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 sdcard.img hearth-bundle.json" >&2
	exit 2
fi
img=$1
bundle=$2

# The name hearthd looks for in its --bundle-path folders.
name=hearth-bundle.json

# Start of partition 1, in 512-byte sectors.
start=$(sfdisk -d "${img}" | sed -n 's/^[^:]*1 : start= *\([0-9]*\),.*/\1/p')
if [ -z "${start}" ]; then
	echo "add-bundle.sh: no partition 1 in ${img}" >&2
	exit 1
fi

MTOOLS_SKIP_CHECK=1 mcopy -o -i "${img}@@$((start * 512))" "${bundle}" "::${name}"
echo "add-bundle.sh: ${bundle} is ${name} on the boot partition of ${img}"
