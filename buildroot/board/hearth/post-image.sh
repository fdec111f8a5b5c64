#!/usr/bin/env bash
# Buildroot post-image script (BR2_ROOTFS_POST_IMAGE_SCRIPT): puts the boot
# files, rootfs.ext4 and an empty data filesystem from BINARIES_DIR into
# sdcard.img with genimage (the A/B layout of genimage.cfg). Needs
# BINARIES_DIR and BUILD_DIR, as Buildroot sets them, and genimage, mkdosfs,
# mcopy and mke2fs on PATH (host-genimage, host-dosfstools, host-mtools,
# host-e2fsprogs).
#
# The image holds slot A only (autoboot.txt boots partition 2); slot B's
# partitions are left empty for the first update. The provisioning bundle
# is not part of the image: the installer copies hearth-bundle.json onto
# the first partition after flashing, or into sdcard.img with add-bundle.sh
# (see buildroot/README.md).

set -euo pipefail

BOARD_DIR="$(dirname "$0")"
GENIMAGE_CFG="${BOARD_DIR}/genimage.cfg"
GENIMAGE_TMP="${BUILD_DIR}/genimage.tmp"

# autoboot.txt on the first partition: boot slot A (partition 2), and B
# (3) once after `reboot "0 tryboot"`.
cp "${BOARD_DIR}/autoboot.txt" "${BINARIES_DIR}/autoboot.txt"

# Each boot slot's cmdline.txt boots its own root slot: the board's file
# boots rootA (partition 5); slot B's copy boots rootB (6). slot-b/ is not
# in this image: it is for a bundle that writes boot.1.
sig=$(sed -n 's/^[[:space:]]*disk-signature[[:space:]]*=[[:space:]]*0x\([0-9a-fA-F]\{8\}\).*/\1/p' \
	"${GENIMAGE_CFG}" | tr 'A-F' 'a-f')
cmdline="${BINARIES_DIR}/rpi-firmware/cmdline.txt"
if [ ! -f "${cmdline}" ]; then
	echo "post-image.sh: missing ${cmdline}" >&2
	exit 1
fi
if ! grep -q "root=PARTUUID=${sig}-05\b" "${cmdline}"; then
	echo "post-image.sh: cmdline.txt does not boot PARTUUID=${sig}-05" \
		"(slot A's root partition; the disk-signature in genimage.cfg)" >&2
	exit 1
fi
mkdir -p "${BINARIES_DIR}/slot-a" "${BINARIES_DIR}/slot-b"
cp "${cmdline}" "${BINARIES_DIR}/slot-a/cmdline.txt"
sed "s/root=PARTUUID=${sig}-05\b/root=PARTUUID=${sig}-06/" "${cmdline}" \
	>"${BINARIES_DIR}/slot-b/cmdline.txt"

# Every input genimage.cfg names, so that a missing one is reported by
# name rather than by genimage's first failure.
missing=0
for f in $(sed -n 's/^[[:space:]]*\(image = \)\{0,1\}"\([^"]*\)",\{0,1\}[[:space:]]*$/\2/p' "${GENIMAGE_CFG}" |
	grep -v '\.vfat$\|\.ext4$') rootfs.ext4; do
	if [ ! -e "${BINARIES_DIR}/${f}" ]; then
		echo "post-image.sh: missing ${BINARIES_DIR}/${f}" >&2
		missing=1
	fi
done
[ "${missing}" = 0 ] || exit 1

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
