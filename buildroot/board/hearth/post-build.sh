#!/bin/sh
# Buildroot post-build script (BR2_ROOTFS_POST_BUILD_SCRIPT): mounts for the
# provisioning bundle. Run with TARGET_DIR set; idempotent, as Buildroot
# runs it again on every `make`.
#
# /boot is the SD card's FAT partition (genimage.cfg), where the installer
# puts hearth-bundle.json; /media/usb a USB stick carrying one. Both are
# mounted owned by hearthd's user so that hearthd can remove the bundle
# after applying it: its secret key must not stay on a FAT partition.

set -eu

BOARD_DIR="$(dirname "$0")"
# The user and group created by HEARTHD_USERS (package/hearthd/hearthd.mk).
HEARTH_UID=990
HEARTH_GID=990

# The partitions' PARTUUIDs come from the disk signature in genimage.cfg.
sig=$(sed -n 's/^[[:space:]]*disk-signature[[:space:]]*=[[:space:]]*0x\([0-9a-fA-F]\{8\}\).*/\1/p' \
	"${BOARD_DIR}/genimage.cfg" | tr 'A-F' 'a-f')
if [ -z "${sig}" ]; then
	echo "post-build.sh: no disk-signature in ${BOARD_DIR}/genimage.cfg" >&2
	exit 1
fi

mkdir -p "${TARGET_DIR}/boot" "${TARGET_DIR}/media/usb"

fat_opts="rw,noatime,flush,uid=${HEARTH_UID},gid=${HEARTH_GID},fmask=0077,dmask=0077"
fstab="${TARGET_DIR}/etc/fstab"
touch "${fstab}"
# Replace this script's block from an earlier run.
sed -i '/^# hearth-bundle begin$/,/^# hearth-bundle end$/d' "${fstab}"
cat >> "${fstab}" <<FSTAB
# hearth-bundle begin
PARTUUID=${sig}-01 /boot vfat ${fat_opts},nofail 0 2
/dev/sda1 /media/usb vfat ${fat_opts},nofail,noauto,x-systemd.automount,x-systemd.device-timeout=2s 0 0
# hearth-bundle end
FSTAB

if [ ! -f "${TARGET_DIR}/usr/lib/systemd/system/hearthd.service" ]; then
	echo "post-build.sh: warning: hearthd.service is not installed" \
		"(BR2_PACKAGE_HEARTHD)" >&2
fi
