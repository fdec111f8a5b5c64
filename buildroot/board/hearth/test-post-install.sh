#!/bin/sh
# Tests of RAUC's post-install handler (rootfs-overlay/usr/lib/rauc/
# hearth-post-install) on FAT images standing in for the boot slots, with
# the environment RAUC gives handlers. Run by .ci/check-buildroot.sh with
# every shell given: test-post-install.sh [SHELL...] (default: sh). Needs
# mtools and mkfs.vfat.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
handler="${here}/rootfs-overlay/usr/lib/rauc/hearth-post-install"
[ $# -gt 0 ] || set -- sh
export MTOOLS_SKIP_CHECK=1

failures=0
t=$(mktemp -d)
trap 'rm -rf "${t}"' EXIT

# The tryboot backend's state, for the failure case.
export HEARTH_AUTOBOOT="${t}/boot/autoboot.txt"
export HEARTH_BOOT_STATE="${t}/data/tryboot.state"
export HEARTH_DT_BOOTLOADER="${t}/dt"
export HEARTH_BOOT_ID="${t}/boot_id"
export HEARTH_REBOOT_PARAM="${t}/run/reboot-param"
export HEARTH_TRYBOOT="${here}/rootfs-overlay/usr/lib/rauc/hearth-tryboot"

# The four slots of system.conf, as RAUC lists them to handlers; slot B's
# boot slot is a FAT image holding a bundle's cmdline.txt (slot A's).
setup() {
	rm -rf "${t:?}"/*
	mkdir -p "${t}/boot" "${t}/data" "${t}/dt"
	cp "${here}/autoboot.txt" "${HEARTH_AUTOBOOT}"
	printf '\000\000\000\002' >"${t}/dt/partition"
	echo boot-1 >"${HEARTH_BOOT_ID}"
	mkfs.vfat -C "${t}/bootB.vfat" 4096 >/dev/null
	cp "${here}/cmdline.txt" "${t}/cmdline.txt"
	mcopy -i "${t}/bootB.vfat" "${t}/cmdline.txt" ::/cmdline.txt
	export RAUC_SLOTS="1 2 3 4" RAUC_TARGET_SLOTS="2 4"
	export RAUC_SLOT_NAME_1=rootfs.0 RAUC_SLOT_CLASS_1=rootfs RAUC_SLOT_BOOTNAME_1=A RAUC_SLOT_PARENT_1='' \
		RAUC_SLOT_DEVICE_1=/dev/disk/by-partuuid/48454152-05
	export RAUC_SLOT_NAME_2=rootfs.1 RAUC_SLOT_CLASS_2=rootfs RAUC_SLOT_BOOTNAME_2=B RAUC_SLOT_PARENT_2='' \
		RAUC_SLOT_DEVICE_2=/dev/disk/by-partuuid/48454152-06
	export RAUC_SLOT_NAME_3=boot.0 RAUC_SLOT_CLASS_3=boot RAUC_SLOT_BOOTNAME_3='' RAUC_SLOT_PARENT_3=rootfs.0 \
		RAUC_SLOT_DEVICE_3="${t}/bootA.vfat"
	export RAUC_SLOT_NAME_4=boot.1 RAUC_SLOT_CLASS_4=boot RAUC_SLOT_BOOTNAME_4='' RAUC_SLOT_PARENT_4=rootfs.1 \
		RAUC_SLOT_DEVICE_4="${t}/bootB.vfat"
	# RAUC made B primary before running the handler.
	# shellcheck disable=SC2086
	${sh} "${HEARTH_TRYBOOT}" set-state B bad
	# shellcheck disable=SC2086
	${sh} "${HEARTH_TRYBOOT}" set-primary B
}

fail() {
	echo "FAIL [${sh}] ${case}: $*"
	failures=$((failures + 1))
}

for sh in "$@"; do
	case="the boot slot written into B boots rootB"
	setup
	# shellcheck disable=SC2086
	${sh} "${handler}" >"${t}/out" 2>&1 || fail "handler failed: $(cat "${t}/out")"
	want=$(sed 's/48454152-05/48454152-06/' "${here}/cmdline.txt")
	[ "$(mtype -i "${t}/bootB.vfat" ::/cmdline.txt)" = "${want}" ] ||
		fail "cmdline.txt is '$(mtype -i "${t}/bootB.vfat" ::/cmdline.txt)', want '${want}'"
	# Running it again changes nothing.
	# shellcheck disable=SC2086
	${sh} "${handler}" >/dev/null 2>&1 || fail "second run failed"
	[ "$(mtype -i "${t}/bootB.vfat" ::/cmdline.txt)" = "${want}" ] || fail "second run changed cmdline.txt"
	# shellcheck disable=SC2086
	[ "$(${sh} "${HEARTH_TRYBOOT}" get-primary)" = B ] || fail "B is no longer primary"

	case="a boot image without root= fails and calls the trial off"
	setup
	printf 'console=tty1 quiet\n' >"${t}/cmdline.txt"
	mcopy -o -i "${t}/bootB.vfat" "${t}/cmdline.txt" ::/cmdline.txt
	# shellcheck disable=SC2086
	if ${sh} "${handler}" >"${t}/out" 2>&1; then fail "handler succeeded"; fi
	grep -q 'no root=PARTUUID=' "${t}/out" || fail "no reason given: $(cat "${t}/out")"
	# shellcheck disable=SC2086
	[ "$(${sh} "${HEARTH_TRYBOOT}" get-primary)" = A ] || fail "B is still primary"
	# shellcheck disable=SC2086
	[ "$(${sh} "${HEARTH_TRYBOOT}" get-state B)" = bad ] || fail "B is not bad"
	[ ! -e "${HEARTH_REBOOT_PARAM}" ] || fail "the next reboot is still a tryboot"

	case="an empty boot slot (no cmdline.txt) fails"
	setup
	mdel -i "${t}/bootB.vfat" ::/cmdline.txt
	# shellcheck disable=SC2086
	if ${sh} "${handler}" >"${t}/out" 2>&1; then fail "handler succeeded"; fi
	grep -q 'no cmdline.txt' "${t}/out" || fail "no reason given: $(cat "${t}/out")"

	case="a root-only target leaves the boot slots alone"
	setup
	export RAUC_TARGET_SLOTS="2"
	# shellcheck disable=SC2086
	${sh} "${handler}" >/dev/null 2>&1 || fail "handler failed"
	[ "$(mtype -i "${t}/bootB.vfat" ::/cmdline.txt)" = "$(cat "${here}/cmdline.txt")" ] || fail "boot.1 was changed"
done

if [ "${failures}" -gt 0 ]; then
	echo "test-post-install.sh: ${failures} failure(s)"
	exit 1
fi
echo "test-post-install.sh: passed with: $*"
