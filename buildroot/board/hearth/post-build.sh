#!/bin/sh
# Buildroot post-build script (BR2_ROOTFS_POST_BUILD_SCRIPT): mounts for the
# provisioning bundle and the data partition, and RAUC's keyring. Run with
# TARGET_DIR set; idempotent, as Buildroot runs it again on every `make`.
#
# /boot is the SD card's first partition (autoboot.txt, genimage.cfg),
# where the installer puts hearth-bundle.json; /media/usb a USB stick
# carrying one. Both are mounted owned by hearthd's user so that hearthd
# can remove the bundle after applying it: its secret key must not stay on
# a FAT partition. RAUC's tryboot backend (root) rewrites autoboot.txt there.
#
# /data is the data partition that updates never write (docs/update.md).
#
# The keyring RAUC checks bundles against is HEARTH_RAUC_KEYRING (a file,
# from the environment or the make command line) or, if unset, the
# development keyring in board/hearth/rauc/ (development images only).

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

mkdir -p "${TARGET_DIR}/boot" "${TARGET_DIR}/media/usb" "${TARGET_DIR}/data"

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

sed -i '/^# hearth-data begin$/,/^# hearth-data end$/d' "${fstab}"
cat >> "${fstab}" <<FSTAB
# hearth-data begin
PARTUUID=${sig}-07 /data ext4 rw,noatime,nodev,nosuid 0 2
# hearth-data end
FSTAB

keyring="${HEARTH_RAUC_KEYRING:-${BOARD_DIR}/rauc/keyring.pem}"
if [ ! -f "${keyring}" ]; then
	echo "post-build.sh: no RAUC keyring at ${keyring} (HEARTH_RAUC_KEYRING)" >&2
	exit 1
fi
if [ -z "${HEARTH_RAUC_KEYRING:-}" ]; then
	echo "post-build.sh: warning: the DEVELOPMENT RAUC keyring is installed;" \
		"set HEARTH_RAUC_KEYRING for a production image (docs/update.md)" >&2
fi
install -D -m 0644 "${keyring}" "${TARGET_DIR}/etc/rauc/keyring.pem"

if [ ! -f "${TARGET_DIR}/usr/lib/systemd/system/hearthd.service" ]; then
	echo "post-build.sh: warning: hearthd.service is not installed" \
		"(BR2_PACKAGE_HEARTHD)" >&2
fi
