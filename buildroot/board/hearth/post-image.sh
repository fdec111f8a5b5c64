#!/usr/bin/env bash
# Buildroot post-image script (BR2_ROOTFS_POST_IMAGE_SCRIPT): puts the boot
# files and rootfs.ext4 from BINARIES_DIR into sdcard.img with genimage.
# Needs BINARIES_DIR and BUILD_DIR, as Buildroot sets them, and genimage,
# mkdosfs and mcopy on PATH (host-genimage, host-dosfstools, host-mtools).
#
# The provisioning bundle is not part of the image: the installer copies
# hearth-bundle.json onto the boot partition after flashing, or into
# sdcard.img with add-bundle.sh (see buildroot/README.md).

set -euo pipefail

BOARD_DIR="$(dirname "$0")"
GENIMAGE_CFG="${BOARD_DIR}/genimage.cfg"
GENIMAGE_TMP="${BUILD_DIR}/genimage.tmp"

# Every input genimage.cfg names, so that a missing one is reported by
# name rather than by genimage's first failure.
missing=0
for f in $(sed -n 's/^[[:space:]]*"\([^"]*\)",\{0,1\}[[:space:]]*$/\1/p' "${GENIMAGE_CFG}") rootfs.ext4; do
	if [ ! -e "${BINARIES_DIR}/${f}" ]; then
		echo "post-image.sh: missing ${BINARIES_DIR}/${f}" >&2
		missing=1
	fi
done
[ "${missing}" = 0 ] || exit 1

# The kernel command line must boot the rootfs partition of this disk.
sig=$(sed -n 's/^[[:space:]]*disk-signature[[:space:]]*=[[:space:]]*0x\([0-9a-fA-F]\{8\}\).*/\1/p' \
	"${GENIMAGE_CFG}" | tr 'A-F' 'a-f')
if ! grep -q "root=PARTUUID=${sig}-02\b" "${BINARIES_DIR}/rpi-firmware/cmdline.txt"; then
	echo "post-image.sh: cmdline.txt does not boot PARTUUID=${sig}-02" \
		"(the disk-signature in genimage.cfg)" >&2
	exit 1
fi

# genimage copies --rootpath whole; the rootfs is already built, so give it
# an empty one.
ROOTPATH_TMP="$(mktemp -d)"
trap 'rm -rf "${ROOTPATH_TMP}"' EXIT

rm -rf "${GENIMAGE_TMP}"
genimage \
	--rootpath "${ROOTPATH_TMP}" \
	--tmppath "${GENIMAGE_TMP}" \
	--inputpath "${BINARIES_DIR}" \
	--outputpath "${BINARIES_DIR}" \
	--config "${GENIMAGE_CFG}"

echo "post-image.sh: ${BINARIES_DIR}/sdcard.img"
