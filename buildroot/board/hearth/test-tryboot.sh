#!/bin/sh
# Tests of RAUC's tryboot backend (rootfs-overlay/usr/lib/rauc/hearth-tryboot)
# against a temporary directory standing in for the autoboot partition, the
# data partition, the firmware's device tree node and the boot id. Run by
# .ci/check-buildroot.sh with every shell given (dash and busybox sh, the
# image's /bin/sh):
#
#   test-tryboot.sh [SHELL...]       default: sh
#
# Each "reboot" gives a new boot id and sets the partition the firmware
# started, as the Pi's bootloader would: the [tryboot] partition of
# autoboot.txt if the reboot asked for tryboot, otherwise the [all] one.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
backend="${here}/rootfs-overlay/usr/lib/rauc/hearth-tryboot"
[ $# -gt 0 ] || set -- sh

failures=0
t=$(mktemp -d)
trap 'rm -rf "${t}"' EXIT

export HEARTH_AUTOBOOT="${t}/boot/autoboot.txt"
export HEARTH_BOOT_STATE="${t}/data/rauc/tryboot.state"
export HEARTH_DT_BOOTLOADER="${t}/dt"
export HEARTH_BOOT_ID="${t}/boot_id"
export HEARTH_REBOOT_PARAM="${t}/run/reboot-param"

# The partition a boot of the firmware would start: [tryboot]'s if the
# reboot argument asked for it, [all]'s otherwise.
fw_partition() {
	sec=all
	[ "$(cat "${HEARTH_REBOOT_PARAM}" 2>/dev/null)" = "0 tryboot" ] && sec=tryboot
	awk -F= -v want="[${sec}]" '/^\[/ { s = $0; next } s == want && $1 == "boot_partition" { v = $2 } END { print v }' \
		"${HEARTH_AUTOBOOT}"
}

# boot N: the firmware starts partition N (a 32-bit big-endian cell) with
# a new boot id; /run is empty again.
boots=0
boot() {
	boots=$((boots + 1))
	mkdir -p "${t}/dt"
	# shellcheck disable=SC2059 # the octal escape is the format
	printf "\\000\\000\\000\\$(printf '%03o' "$1")" >"${t}/dt/partition"
	echo "boot-${boots}" >"${HEARTH_BOOT_ID}"
	rm -rf "${t}/run"
}

# reboot: as the firmware would, honouring a pending "0 tryboot".
reboot() {
	boot "$(fw_partition)"
}

fresh() {
	rm -rf "${t:?}"/*
	mkdir -p "${t}/boot" "${t}/data"
	cp "${here}/autoboot.txt" "${HEARTH_AUTOBOOT}"
	boots=0
	boot 2
}

# backend ARGS...: the backend run by the shell under test ("busybox sh" is
# two words).
backend() {
	# shellcheck disable=SC2086
	${sh} "${backend}" "$@"
}

# expect WANT CMD...: CMD prints WANT and exits 0.
expect() {
	want=$1
	shift
	if got=$(backend "$@" 2>"${t}/stderr"); then
		if [ "${got}" != "${want}" ]; then
			echo "FAIL [${sh}] ${case}: $* = '${got}', want '${want}'"
			failures=$((failures + 1))
		fi
	else
		echo "FAIL [${sh}] ${case}: $* failed: $(cat "${t}/stderr")"
		failures=$((failures + 1))
	fi
}

# fails CMD...: CMD exits non-zero with a message on stderr.
fails() {
	if backend "$@" >/dev/null 2>"${t}/stderr"; then
		echo "FAIL [${sh}] ${case}: $* succeeded, want an error"
		failures=$((failures + 1))
	elif ! grep -q '^hearth-tryboot: ' "${t}/stderr"; then
		echo "FAIL [${sh}] ${case}: $* failed without saying why"
		failures=$((failures + 1))
	fi
}

# committed_is N: autoboot.txt boots N plainly, the other under [tryboot],
# keeps tryboot_a_b=1 and fits the firmware's 512 bytes.
committed_is() {
	other=3
	[ "$1" = 3 ] && other=2
	want=$(printf '[all]\ntryboot_a_b=1\nboot_partition=%s\n[tryboot]\nboot_partition=%s' "$1" "${other}")
	if [ "$(cat "${HEARTH_AUTOBOOT}")" != "${want}" ]; then
		echo "FAIL [${sh}] ${case}: autoboot.txt is"
		sed 's/^/    /' "${HEARTH_AUTOBOOT}"
		echo "  want [all] boot_partition=$1, [tryboot] boot_partition=${other}"
		failures=$((failures + 1))
	fi
	if [ "$(wc -c <"${HEARTH_AUTOBOOT}")" -gt 512 ]; then
		echo "FAIL [${sh}] ${case}: autoboot.txt is over 512 bytes"
		failures=$((failures + 1))
	fi
}

reboot_param_is() {
	got=$(cat "${HEARTH_REBOOT_PARAM}" 2>/dev/null || true)
	if [ "${got}" != "$1" ]; then
		echo "FAIL [${sh}] ${case}: reboot parameter '${got}', want '$1'"
		failures=$((failures + 1))
	fi
}

# An update installed into the other slot as RAUC does it: the target is
# marked bad while it is written, then made primary.
install_into() {
	expect "" set-state "$1" bad
	expect "" set-primary "$1"
}

for sh in "$@"; do
	case="a new image"
	fresh
	expect A get-current
	expect A get-primary
	expect good get-state A
	expect bad get-state B
	committed_is 2
	reboot_param_is ""

	case="an update tried and committed"
	fresh
	install_into B
	expect B get-primary
	expect good get-state B
	committed_is 2
	reboot_param_is "0 tryboot"
	reboot
	expect B get-current
	# Running the trial: a plain boot would still start A.
	expect A get-primary
	expect good get-state B
	expect "" set-state B good
	committed_is 3
	expect B get-primary
	expect good get-state A
	reboot
	expect B get-current
	expect B get-primary
	expect good get-state B

	case="a second update back into A"
	install_into A
	expect A get-primary
	committed_is 3
	reboot
	expect A get-current
	expect "" set-state A good
	committed_is 2
	reboot
	expect A get-current

	case="tryboot was one-shot: a reset during the trial came back on the old slot"
	fresh
	install_into B
	reboot
	expect B get-current
	# The watchdog resets the board before the health gate: the flag is gone.
	boot "$(fw_partition)"
	expect A get-current
	expect A get-primary
	expect bad get-state B
	committed_is 2

	case="tryboot was one-shot: the reboot after install was a plain one"
	fresh
	install_into B
	boot 2
	expect A get-primary
	expect bad get-state B
	committed_is 2

	case="the health gate fails: the trial slot is marked bad"
	fresh
	install_into B
	reboot
	expect B get-current
	expect "" set-state B bad
	reboot_param_is ""
	expect bad get-state B
	expect A get-primary
	reboot
	expect A get-current
	expect bad get-state B
	committed_is 2

	case="marking a slot good that is not running does not commit it"
	fresh
	install_into B
	expect "" set-state B good
	committed_is 2
	expect B get-primary

	case="set-primary of the committed slot cancels a trial"
	fresh
	install_into B
	expect "" set-primary A
	expect A get-primary
	reboot_param_is ""
	reboot
	expect A get-current
	expect good get-state B

	case="the committed slot marked bad falls back to a good other slot"
	fresh
	install_into B
	reboot
	expect "" set-state B good
	committed_is 3
	expect "" set-state B bad
	committed_is 2
	expect A get-primary
	case="... but not to a bad one"
	fresh
	expect "" set-state A bad
	committed_is 2

	case="bad input"
	fresh
	fails get-state C
	fails set-primary
	fails set-state A maybe
	fails frobnicate
	fails
	printf '\000\000\000\001' >"${t}/dt/partition"
	fails get-current
	printf '\000\001' >"${t}/dt/partition"
	fails get-current
	rm "${t}/dt/partition"
	fails get-current
	fresh
	printf '[all]\ntryboot_a_b=1\n' >"${HEARTH_AUTOBOOT}"
	fails get-primary
	rm "${HEARTH_AUTOBOOT}"
	fails get-primary
done

if [ "${failures}" -gt 0 ]; then
	echo "test-tryboot.sh: ${failures} failure(s)"
	exit 1
fi
echo "test-tryboot.sh: every verb passed with: $*"
