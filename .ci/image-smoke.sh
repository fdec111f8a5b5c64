#!/usr/bin/env bash
# make image-smoke: boot the arm64 hearthd in a real (emulated) arm64 system.
#
#  1. a Debian bookworm arm64 root filesystem from mmdebstrap (systemd, the
#     Debian arm64 kernel with a small initramfs, hearthd's runtime libraries),
#     cached as a tarball between runs;
#  2. bin/linux-arm64/hearthd and cmd/hearthd/hearthd.service put in, with a
#     drop-in (image/hearthd-smoke.conf) that runs it headless against the
#     host's broker and copies its log to the serial console;
#  3. an SD-card-style image (MBR, FAT boot partition with kernel and initrd,
#     ext4 root) made by genimage (image/genimage.cfg);
#  4. a Mosquitto on the host's loopback and qemu-system-aarch64 -M virt
#     booting that image, its serial console read until the unit is up and
#     the broker has the device's retained state.
#
# Optional: not part of make test or .ci/run. It needs root (mmdebstrap's
# chroot, ownership in the image) and binfmt_misc for running arm64 programs
# in the chroot while packages are configured. Where that is not allowed it
# prints SKIP and exits 0, or 1 with IMAGE_SMOKE_REQUIRE=1.
#
# Environment:
#   IMAGE_SMOKE_DIR      work directory (default /tmp/hearth-image-smoke); the
#                        rootfs tarball is cached there
#   IMAGE_SMOKE_REQUIRE  1: a missing prerequisite is a failure, not a skip
#   IMAGE_SMOKE_TIMEOUT  seconds to wait for the guest (default 480)
#   IMAGE_SMOKE_MIRROR   Debian mirror (default: the host's, from apt sources)
#   IMAGE_SMOKE_REBUILD  1: build the root filesystem again even if cached
#   IMAGE_SMOKE_KEEP     1: keep the staged rootfs and image after the run
#
# Network: QEMU user networking with restrict=on, so the guest reaches
# nothing but one guestfwd address, 10.0.2.100:1883, which QEMU connects (one
# socat per connection) to the broker on the host's 127.0.0.1.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=${IMAGE_SMOKE_DIR:-/tmp/hearth-image-smoke}
require=${IMAGE_SMOKE_REQUIRE:-0}
guest_timeout=${IMAGE_SMOKE_TIMEOUT:-480}
bin=$repo/bin/linux-arm64/hearthd
unit=$repo/cmd/hearthd/hearthd.service
device_id=smoke-1
t0=$SECONDS

log() { printf '[image-smoke %4ds] %s\n' $((SECONDS - t0)) "$*"; }
skip() {
	if [ "$require" = 1 ]; then
		echo "image-smoke: FAIL (IMAGE_SMOKE_REQUIRE=1): $*" >&2
		exit 1
	fi
	echo "image-smoke: SKIP: $*"
	exit 0
}
die() { echo "image-smoke: FAIL: $*" >&2; exit 1; }

# ---- prerequisites -------------------------------------------------------

[ "$(id -u)" = 0 ] || skip "needs root (mmdebstrap's chroot and file ownership in the image)"
[ -x "$bin" ] || die "$bin missing: run make cross first"
for t in mmdebstrap qemu-system-aarch64 qemu-aarch64-static genimage mkfs.ext4 mkfs.vfat mcopy sfdisk socat mosquitto mosquitto_sub; do
	command -v "$t" >/dev/null || die "$t missing: run .ci/deps.sh image"
done

# mmdebstrap runs the arm64 maintainer scripts in the chroot: the kernel
# must hand arm64 ELF files to qemu-aarch64-static (binfmt_misc, flag F so
# the interpreter works inside the chroot).
binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/status" ]; then
	mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null ||
		skip "binfmt_misc is not mounted and cannot be mounted here (a container without it?): arm64 programs cannot run in the chroot"
fi
if [ "$(cat "$binfmt/status" 2>/dev/null)" != enabled ]; then
	echo 1 >"$binfmt/status" 2>/dev/null || skip "binfmt_misc is disabled and cannot be enabled"
fi
if ! grep -qx enabled "$binfmt/qemu-aarch64" 2>/dev/null; then
	if command -v update-binfmts >/dev/null; then
		update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
	fi
fi
grep -qx enabled "$binfmt/qemu-aarch64" 2>/dev/null ||
	skip "binfmt_misc has no enabled qemu-aarch64 entry and registering one failed (install qemu-user-static and binfmt-support, or allow binfmt_misc)"
grep -q '^flags:.*F' "$binfmt/qemu-aarch64" ||
	skip "the qemu-aarch64 binfmt entry lacks the F flag, so it will not work inside a chroot"

accel=tcg
if [ -w /dev/kvm ] && [ "$(uname -m)" = aarch64 ]; then accel=kvm; fi

mkdir -p "$work"
cd "$work"

# What this script started (mmdebstrap's timeout, Mosquitto, QEMU) is ended
# on the way out, also on Ctrl-C: timeout puts itself in a process group of
# its own, which the terminal's SIGINT does not reach.
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "${IMAGE_SMOKE_KEEP:-0}" != 1 ]; then
		rm -rf "$work/stage" "$work/genimage-tmp" "$work/images" "$work/input"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. root filesystem (cached) -----------------------------------------

mirror=${IMAGE_SMOKE_MIRROR:-}
if [ -z "$mirror" ]; then
	mirror=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
		awk '{print $2}' | head -1 || true)
	mirror=${mirror:-http://deb.debian.org/debian}
fi
mirror=${mirror%/}
security=${mirror%/debian}/debian-security

# The runtime libraries are hearthd's NEEDED entries (libvpx.so.7,
# libturbojpeg.so.0, libGL.so.1, libX11.so.6, libc/libm); checked below
# against the binary so a new one is noticed here, not at boot.
pkgs=(systemd-sysv udev dbus kmod linux-image-arm64 initramfs-tools
	ca-certificates iproute2 libvpx7 libturbojpeg0 libgl1 libx11-6)
pkgs_csv=$(IFS=,; echo "${pkgs[*]}")
key=$( { echo "bookworm arm64 minbase $mirror $pkgs_csv"; cat "$repo/image/initramfs-hook"; } | sha256sum | cut -c1-16)
rootfs_tar=$work/rootfs-$key.tar

if [ "${IMAGE_SMOKE_REBUILD:-0}" = 1 ] || [ ! -s "$rootfs_tar" ]; then
	log "building the arm64 root filesystem with mmdebstrap from $mirror (several minutes under qemu-user; log: $work/mmdebstrap.log)"
	rm -rf rootfs-*.tar rootfs-*.tar.part
	# The initramfs settings go in before linux-image-arm64 is configured,
	# so that its postinst builds the small initramfs once. ($1 in the hooks
	# is mmdebstrap's, the chroot's path.)
	# shellcheck disable=SC2016
	timeout 1800 mmdebstrap --mode=root --format=tar --architectures=arm64 --variant=minbase \
		--include="$pkgs_csv" \
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/etc/initramfs-tools/hooks"' \
		--essential-hook='echo MODULES=list > "$1/etc/initramfs-tools/conf.d/hearth-smoke"' \
		--essential-hook="copy-in $repo/image/initramfs-hook /etc/initramfs-tools/hooks/" \
		--essential-hook='chmod 0755 "$1/etc/initramfs-tools/hooks/initramfs-hook"' \
		bookworm "$rootfs_tar.part" \
		"deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
		"deb $security bookworm-security main" >"$work/mmdebstrap.log" 2>&1 &
	pids+=("$!")
	if ! wait "$!"; then
		tail -30 "$work/mmdebstrap.log" >&2
		die "mmdebstrap failed (log: $work/mmdebstrap.log)"
	fi
	mv "$rootfs_tar.part" "$rootfs_tar"
	log "root filesystem built: $(du -h "$rootfs_tar" | cut -f1)"
else
	log "using the cached root filesystem $rootfs_tar"
fi
[ "${1:-}" = rootfs ] && exit 0

# ---- 2. the staged root filesystem: hearthd, its unit and the drop-ins ----

log "staging: hearthd $(du -h "$bin" | cut -f1), the unit and the smoke drop-ins"
stage=$work/stage
rm -rf "$stage" "$work/input" "$work/images" "$work/genimage-tmp"
mkdir -p "$stage" "$work/input" "$work/images" "$work/empty"
tar -C "$stage" --numeric-owner -xpf "$rootfs_tar"

# Every library hearthd asks for must be in the image.
if command -v aarch64-linux-gnu-readelf >/dev/null; then
	needed=$(aarch64-linux-gnu-readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
else
	needed=$(qemu-aarch64-static "$stage/lib/ld-linux-aarch64.so.1" --list "$bin" 2>/dev/null | awk '/=>/{print $1}')
fi
for lib in $needed; do
	ls "$stage"/usr/lib/aarch64-linux-gnu/"$lib" "$stage"/lib/aarch64-linux-gnu/"$lib" >/dev/null 2>&1 ||
		die "hearthd needs $lib, which the root filesystem lacks: add its package to pkgs in $0"
done

install -m 0755 "$bin" "$stage/usr/bin/hearthd"
install -m 0644 "$unit" "$stage/usr/lib/systemd/system/hearthd.service"
install -d "$stage/etc/systemd/system/hearthd.service.d"
install -m 0644 "$repo/image/hearthd-smoke.conf" "$stage/etc/systemd/system/hearthd.service.d/smoke.conf"
install -m 0644 "$repo/image/hearthd-smoke-report.service" "$stage/etc/systemd/system/"
install -m 0644 "$repo/image/20-wired.network" "$stage/etc/systemd/network/"
echo hearth-smoke >"$stage/etc/hostname"
# Not a first boot: no systemd-firstboot prompts on the console.
if ! grep -qE '^[0-9a-f]{32}$' "$stage/etc/machine-id" 2>/dev/null; then
	tr -d - </proc/sys/kernel/random/uuid >"$stage/etc/machine-id"
fi
# The unit's User=, Group= and SupplementaryGroups= (the host's useradd and
# groupadd, working on the staged tree).
for g in video audio render input; do
	grep -q "^$g:" "$stage/etc/group" || groupadd -R "$stage" -r "$g"
done
grep -q '^hearth:' "$stage/etc/passwd" ||
	useradd -R "$stage" --system --user-group --home-dir /var/lib/hearthd --no-create-home \
		--shell /usr/sbin/nologin --comment "Hearth device daemon" hearth
# systemctl enable in the chroot (arm64, through binfmt_misc).
chroot "$stage" systemctl enable -q hearthd.service hearthd-smoke-report.service \
	systemd-networkd.service systemd-networkd-wait-online.service >/dev/null
# Nothing that would try to reach the internet, should it be there.
chroot "$stage" systemctl mask -q apt-daily.timer apt-daily-upgrade.timer systemd-timesyncd.service 2>/dev/null || true

# ---- 3. the SD-card image ------------------------------------------------

kernel=$(find "$stage/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -1)
initrd=$(find "$stage/boot" -maxdepth 1 -name 'initrd.img-*' | sort -V | tail -1)
[ -n "$kernel" ] || die "no kernel in the root filesystem's /boot"
[ -n "$initrd" ] || die "no initrd in the root filesystem (linux-image-arm64's postinst failed? see $work/mmdebstrap.log)"
cp "$kernel" "$work/input/Image"
cp "$initrd" "$work/input/initrd.img"
cmdline="root=PARTUUID=48454152-02 rootfstype=ext4 rw console=ttyAMA0 systemd.firstboot=off panic=-1 net.ifnames=0"
echo "$cmdline" >"$work/input/cmdline.txt"

root_mb=$(( $(du -sm "$stage" | cut -f1) * 5 / 4 + 128 ))
log "making rootfs.ext4 (${root_mb} MiB) and sdcard.img with genimage"
mkfs.ext4 -q -F -L hearth-root -d "$stage" "$work/input/rootfs.ext4" "${root_mb}M" >/dev/null
timeout 300 genimage --config "$repo/image/genimage.cfg" --rootpath "$work/empty" \
	--tmppath "$work/genimage-tmp" --inputpath "$work/input" --outputpath "$work/images" \
	>"$work/genimage.log" 2>&1 || { tail -20 "$work/genimage.log" >&2; die "genimage failed"; }
img=$work/images/sdcard.img
sfdisk -d "$img" | grep -q 'label-id: 0x48454152' || die "sdcard.img has the wrong disk signature"
log "sdcard.img: $(du -h --apparent-size "$img" | cut -f1); $(sfdisk -l "$img" | grep -c "^$img") partitions"

# ---- 4. the host's broker and the boot -----------------------------------

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
	echo $((20000 + RANDOM % 20000)))
cat >"$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
connection_messages true
log_type all
log_dest file $work/mosquitto.log
user root
CONF
rm -f "$work/mosquitto.log"
mosquitto -c "$work/mosquitto.conf" >/dev/null 2>&1 &
pids+=($!)

console=$work/console.log
rm -f "$console"
log "booting qemu-system-aarch64 -M virt ($accel), broker on 127.0.0.1:$port, serial console: $console (timeout ${guest_timeout}s)"
boot0=$SECONDS
qemu-system-aarch64 -M virt -accel "$accel" -cpu cortex-a72 -smp 2 -m 1024 \
	-display none -monitor none -serial "file:$console" -no-reboot \
	-kernel "$work/input/Image" -initrd "$work/input/initrd.img" -append "$cmdline" \
	-drive "file=$img,if=none,format=raw,id=card" -device virtio-blk-device,drive=card \
	-netdev "user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:1883-cmd:socat - TCP:127.0.0.1:$port" \
	-device virtio-net-device,netdev=n0 >"$work/qemu.log" 2>&1 &
qemu=$!
pids+=("$qemu")

seen() { grep -aq "$1" "$console" 2>/dev/null; }
reported=0
while [ $((SECONDS - boot0)) -lt "$guest_timeout" ]; do
	if seen 'HEARTH-SMOKE-REPORT'; then reported=1; break; fi
	kill -0 "$qemu" 2>/dev/null || break
	sleep 2
done
boot_s=$((SECONDS - boot0))

# ---- 5. checks -----------------------------------------------------------

fails=0
check() { # name, then a command
	local name=$1; shift
	if "$@"; then echo "PASS: $name"; else echo "FAIL: $name"; fails=$((fails + 1)); fi
}
line_time() { # seconds since boot of the first console line matching $1, from the kernel's timestamps where present
	grep -am1 "$1" "$console" | sed -n 's/^\[ *\([0-9.]*\)\].*/ (at \1 s)/p'
}

# systemd colours the console: drop the escape sequences before matching.
sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$console" >"$work/console.txt" 2>/dev/null || true
console=$work/console.txt
state=$(timeout 15 mosquitto_sub -h 127.0.0.1 -p "$port" -t "hearth/v1/dev/$device_id/state" -C 1 -W 10 2>/dev/null || true)
report=$(grep -a -m1 -o 'HEARTH-SMOKE-REPORT.*' "$console" 2>/dev/null | tr -d '\r' || true)

echo "--- image-smoke results (guest ran ${boot_s}s under $accel) ---"
check "kernel booted and found the root filesystem on the SD image" seen 'systemd\[1\]: .*\|Welcome to'
ready_ms=""
prop() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $report"; }
exec_us=$(prop ExecMainStartTimestampMonotonic) active_us=$(prop ActiveEnterTimestampMonotonic)
if [ "${active_us:-0}" -gt 0 ] && [ "${exec_us:-0}" -gt 0 ]; then
	ready_ms=", $(( (active_us - exec_us) / 1000 )) ms after exec"
fi
check "hearthd.service became active (Type=notify: READY=1 received$ready_ms)" test "$(prop ActiveState)" = active
check "hearthd logged 'connected to broker' on the console$(line_time 'connected to broker')" seen 'connected to broker'
check "host broker saw a client from the guest (via QEMU user networking)" grep -q "New client connected from 127.0.0.1:[0-9]* as [^ ]*$device_id " "$work/mosquitto.log"
check "retained state on the host broker is ready ($state)" grep -q "\"device\":\"$device_id\",\"state\":\"ready\"" <<<"$state"
check "still running 40 s later, past WatchdogSec=30, no restarts (${report:-no report})" \
	test "$(prop ActiveState)/$(prop SubState)/$(prop NRestarts)" = active/running/0

if [ "$fails" -gt 0 ]; then
	[ "$reported" = 1 ] || echo "note: no report from the guest within ${guest_timeout}s (qemu $(kill -0 "$qemu" 2>/dev/null && echo still running || echo exited))"
	echo "--- hearthd lines on the console ---"
	grep -a 'hearthd' "$console" | tail -30 || true
	echo "--- host broker ---"; grep -a 'client' "$work/mosquitto.log" | tail -5 || true
	echo "--- last console lines ---"
	tail -40 "$console" || true
	echo "--- qemu ---"; tail -5 "$work/qemu.log" || true
	cp "$console" "$work/console-failed.log"
fi
echo "image-smoke: $((6 - fails)) passed, $fails failed (total $((SECONDS - t0))s; console: $console)"
[ "$fails" -eq 0 ]
