#!/usr/bin/env bash
# Offline checks of the br2-external tree in buildroot/ (make check-buildroot).
#
#   BUILDROOT_DIR=/path/to/buildroot .ci/check-buildroot.sh
#
# With a Buildroot source tree: Buildroot's check-package -b on every file of
# the tree, each defconfig in buildroot/configs loaded (check-dotconfig.py,
# then a savedefconfig round trip), and the hearthd package's variables as
# Buildroot computes them (printvars). Always: the tree's own consistency,
# hearthd's modules vendored offline the way the package does it, RAUC's
# configuration against the image layout and keys, the tryboot backend's
# tests (board/hearth/test-tryboot.sh), the board scripts on stub inputs
# (post-build.sh on a stub target, post-image.sh with Debian's genimage into
# a real sdcard.img with the A/B partitions, add-bundle.sh into it), and no
# shared default credentials on that stub target (check-credentials.sh).
#
# A full image build needs the internet and is not attempted.
# Exit status: 1 if a check failed, or if BUILDROOT_DIR was given and a check
# could not run; without BUILDROOT_DIR the Buildroot checks are reported as
# skipped and do not fail the run.
set -uo pipefail
# Checks are functions called through run(): not unreachable.
# shellcheck disable=SC2317

top="$(cd "$(dirname "$0")/.." && pwd)"
ext="${top}/buildroot"
br="${BUILDROOT_DIR:-}"
# Buildroot's make must not inherit the caller's make state or Go settings.
# The caller's GOFLAGS are kept for one step only: filling the module cache
# (e.g. -modcacherw, so that a throwaway GOMODCACHE can be removed).
caller_goflags="${GOFLAGS:-}"
unset MAKEFLAGS MFLAGS MAKELEVEL GOFLAGS

work="$(mktemp -d /tmp/hearth-check-buildroot.XXXXXX)"
trap 'rm -rf "${work}"' EXIT

results=()
failed=0
skipped=0
pass() { results+=("PASS  $1"); echo "--- PASS $1"; }
fail() { results+=("FAIL  $1: $2"); echo "--- FAIL $1: $2"; failed=1; }
skip() { results+=("SKIP  $1: $2"); echo "--- SKIP $1: $2"; skipped=1; }
# run NAME CMD...: a check passes when CMD exits 0; its output is kept in
# the work dir and shown on failure.
run() {
	local name=$1 log
	shift
	log="${work}/log.$(echo "${name}" | tr -c 'A-Za-z0-9\n' '_')"
	echo "=== ${name}"
	if ( "$@" ) >"${log}" 2>&1; then
		pass "${name}"
	else
		tail -40 "${log}"
		fail "${name}" "see the output above"
	fi
}

defconfigs=()
for f in "${ext}"/configs/*_defconfig; do
	[ -e "$f" ] && defconfigs+=("$(basename "$f")")
done

# --- The tree itself -------------------------------------------------------

tree_layout() {
	local f ok=0
	for f in external.desc external.mk Config.in package/hearthd/Config.in package/hearthd/hearthd.mk \
		package/hearthd/kiosk.conf.in board/hearth/post-build.sh board/hearth/post-image.sh \
		board/hearth/genimage.cfg board/hearth/config.txt board/hearth/cmdline.txt board/hearth/add-bundle.sh \
		board/hearth/autoboot.txt board/hearth/linux-rauc.fragment board/hearth/test-tryboot.sh \
		board/hearth/check-credentials.sh board/hearth/rootfs-overlay/etc/rauc/system.conf \
		board/hearth/rootfs-overlay/usr/lib/rauc/hearth-tryboot board/hearth/test-post-install.sh \
		board/hearth/rootfs-overlay/usr/lib/rauc/hearth-post-install \
		board/hearth/rootfs-overlay/usr/lib/systemd/system.conf.d/50-hearth-watchdog.conf \
		board/hearth/rootfs-overlay/usr/lib/tmpfiles.d/hearth-data.conf \
		board/hearth/rootfs-overlay/etc/NetworkManager/conf.d/50-hearth-data.conf \
		board/hearth/rauc/README.md board/hearth/rauc/keyring.pem board/hearth/rauc/dev.cert.pem \
		board/hearth/rauc/dev.key.pem board/hearth/rauc/make-dev-keys.sh \
		board/hearth/rootfs-overlay/etc/dbus-1/system.d/hearth.conf README.md; do
		[ -e "${ext}/${f}" ] || { echo "missing buildroot/${f}"; ok=1; }
	done
	grep -qx 'name: HEARTH' "${ext}/external.desc" || { echo "external.desc: name is not HEARTH"; ok=1; }
	[ ${#defconfigs[@]} -gt 0 ] || { echo "no configs/*_defconfig"; ok=1; }
	for f in board/hearth/post-build.sh board/hearth/post-image.sh board/hearth/add-bundle.sh dist.sh \
		board/hearth/rootfs-overlay/usr/lib/rauc/hearth-tryboot board/hearth/test-tryboot.sh \
		board/hearth/rootfs-overlay/usr/lib/rauc/hearth-post-install board/hearth/test-post-install.sh \
		board/hearth/check-credentials.sh board/hearth/rauc/make-dev-keys.sh; do
		[ -x "${ext}/${f}" ] || { echo "buildroot/${f} is not executable"; ok=1; }
	done
	# The uid that owns the FAT mounts is the one the package creates.
	local uid_mk uid_pb
	uid_mk=$(sed -n 's/^[[:space:]]*hearth \([0-9][0-9]*\) hearth .*/\1/p' "${ext}/package/hearthd/hearthd.mk")
	uid_pb=$(sed -n 's/^HEARTH_UID=\([0-9]*\)$/\1/p' "${ext}/board/hearth/post-build.sh")
	[ -n "${uid_mk}" ] && [ "${uid_mk}" = "${uid_pb}" ] ||
		{ echo "hearth uid: hearthd.mk '${uid_mk}', post-build.sh '${uid_pb}'"; ok=1; }
	xmllint --noout "${ext}/board/hearth/rootfs-overlay/etc/dbus-1/system.d/hearth.conf" 2>/dev/null ||
		python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' \
			"${ext}/board/hearth/rootfs-overlay/etc/dbus-1/system.d/hearth.conf" ||
		{ echo "hearth.conf is not well-formed XML"; ok=1; }
	# Nothing the module proxy or a dist tarball brings may be committed.
	if git -C "${top}" ls-files --error-unmatch vendor >/dev/null 2>&1; then
		echo "vendor/ is committed"; ok=1
	fi
	return ${ok}
}
run "tree layout and consistency" tree_layout

# The unit drop-in as hearthd.mk writes it (same sed), checked for the flags
# the image depends on.
dropin() {
	local out="${work}/kiosk.conf"
	sed -e 's|@BUNDLE_PATH@|/boot,/media/usb|g' -e 's|@BUNDLE_RW@|-/boot -/media/usb|g' \
		"${ext}/package/hearthd/kiosk.conf.in" >"${out}" || return 1
	cat "${out}"
	# hearthd's data is on the data partition (/data/hearthd), which the
	# tmpfiles.d entry makes, owned by hearthd's user.
	! grep -n '@[A-Z_]*@' "${out}" &&
		grep -qx 'ExecStart=' "${out}" &&
		grep -qx 'ExecStart=/usr/bin/cage -d -- /usr/bin/hearthd --bundle-path /boot,/media/usb --data /data/hearthd' "${out}" &&
		grep -qx 'NotifyAccess=all' "${out}" &&
		grep -qx 'ReadWritePaths=/data/hearthd -/boot -/media/usb' "${out}" &&
		grep -qx 'RequiresMountsFor=/data/hearthd' "${out}" &&
		grep -qx 'Environment=HOME=/data/hearthd' "${out}" &&
		grep -qx 'StateDirectory=' "${out}" &&
		grep -qx 'd /data/hearthd 0700 hearth hearth -' "${ext}/board/hearth/rootfs-overlay/usr/lib/tmpfiles.d/hearth-data.conf" &&
		grep -q '^ExecStart=/usr/bin/hearthd ' "${top}/cmd/hearthd/hearthd.service" &&
		grep -q '^Environment=LANG=' "${top}/cmd/hearthd/hearthd.service"
}
run "unit drop-in (kiosk.conf) as installed" dropin

# hearthd's modules the way the package gets them: the module cache filled
# as buildroot/README.md says (`go mod download`, the one step that may use
# the network: the Go proxy, as in CI), then vendored into a copy of the
# tree from that cache with no network (GOPROXY=off), then the build graph
# resolved with Buildroot's Go settings and hearthd's tags. Without the
# download this check passed only on machines where an earlier `go mod
# download` had happened to fill the cache (issue 14).
vendor_offline() {
	local src="${work}/src" tags
	command -v go >/dev/null || { echo "go not on PATH"; return 1; }
	tags=$(sed -n 's/^HEARTHD_TAGS = //p' "${ext}/package/hearthd/hearthd.mk")
	mkdir -p "${src}"
	# What Buildroot's rsync of the checkout copies: tracked files and new
	# ones not ignored (a package being added imports them already).
	git -C "${top}" ls-files -z --cached --others --exclude-standard |
		(cd "${top}" && xargs -0 cp --parents -t "${src}" 2>/dev/null)
	cd "${src}" || return 1
	echo "# go mod download into $(go env GOMODCACHE)"
	GOFLAGS="${caller_goflags}" GOTOOLCHAIN=local go mod download ||
		{ echo "go mod download failed: the module cache cannot be filled (no Go proxy?)"; return 1; }
	GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local go mod vendor || return 1
	[ -f vendor/modules.txt ] || return 1
	GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local GOOS=linux GOARCH=arm64 CGO_ENABLED=1 \
		go list -trimpath -buildvcs=false -tags "${tags}" -deps ./cmd/hearthd >"${work}/deps.txt" || return 1
	grep -qx 'fyne.io/fyne/v2/app' "${work}/deps.txt" &&
		grep -qx 'github.com/pion/mediadevices/pkg/codec/opus' "${work}/deps.txt" &&
		echo "tags '${tags}': $(wc -l <"${work}/deps.txt") packages resolved from vendor/"
}
run "hearthd modules vendored offline (GOPROXY=off, -mod=vendor)" vendor_offline

# --- RAUC A/B updates (docs/update.md) ----------------------------------------

# system.conf against the image: its slots are genimage.cfg's partitions, by
# the disk signature's PARTUUIDs; each root slot has a bootname and is the
# parent of its boot slot; the backend, keyring and data directory are where
# the image puts them. And what must go with it: RAUC with D-Bus and
# streaming in every defconfig, the kernel fragment with what mounting a
# bundle needs, the watchdog on in config.txt and in systemd.
rauc_config() {
	local board="${ext}/board/hearth" ov conf sig d frag ok=0
	ov="${board}/rootfs-overlay"
	conf="${ov}/etc/rauc/system.conf"
	sig=$(sed -n 's/^[[:space:]]*disk-signature[[:space:]]*=[[:space:]]*0x\([0-9a-fA-F]\{8\}\).*/\1/p' \
		"${board}/genimage.cfg" | tr 'A-F' 'a-f')
	# slot SECTION KEY=VALUE...: each KEY=VALUE is in [SECTION].
	slot() {
		local sec=$1 kv
		shift
		for kv in "$@"; do
			awk -v sec="[$sec]" -v kv="$kv" '/^\[/ { in_sec = ($0 == sec); next } in_sec && $0 == kv { f = 1 } END { exit !f }' \
				"${conf}" || { echo "system.conf: [${sec}] lacks ${kv}"; ok=1; }
		done
	}
	slot system compatible=hearth-rpi4-64 bootloader=custom bundle-formats=-plain data-directory=/data/rauc
	slot handlers bootloader-custom-backend=/usr/lib/rauc/hearth-tryboot post-install=/usr/lib/rauc/hearth-post-install
	slot keyring path=/etc/rauc/keyring.pem check-purpose=codesign
	slot slot.rootfs.0 "device=/dev/disk/by-partuuid/${sig}-05" type=ext4 bootname=A
	slot slot.rootfs.1 "device=/dev/disk/by-partuuid/${sig}-06" type=ext4 bootname=B
	slot slot.boot.0 "device=/dev/disk/by-partuuid/${sig}-02" type=vfat parent=rootfs.0
	slot slot.boot.1 "device=/dev/disk/by-partuuid/${sig}-03" type=vfat parent=rootfs.1
	# Only root slots may have a bootname (RAUC refuses the config otherwise).
	if awk '/^\[slot\.boot\./ { b = 1; next } /^\[/ { b = 0 } b && /^bootname=/ { f = 1 } END { exit !f }' "${conf}"; then
		echo "system.conf: a boot slot has a bootname"; ok=1
	fi
	[ -x "${ov}/usr/lib/rauc/hearth-tryboot" ] || { echo "the backend is not executable"; ok=1; }
	[ -x "${ov}/usr/lib/rauc/hearth-post-install" ] || { echo "the post-install handler is not executable"; ok=1; }
	# The backend's slot numbers are genimage.cfg's partitions 2 and 3.
	grep -q '^[[:space:]]*A) echo 2 ;;' "${ov}/usr/lib/rauc/hearth-tryboot" &&
		grep -q '^[[:space:]]*B) echo 3 ;;' "${ov}/usr/lib/rauc/hearth-tryboot" ||
		{ echo "hearth-tryboot: A is not partition 2 or B not 3"; ok=1; }
	grep -q '^/data/rauc\|d /data/rauc ' "${ov}/usr/lib/tmpfiles.d/hearth-data.conf" ||
		{ echo "tmpfiles.d: no /data/rauc"; ok=1; }
	grep -qx 'path=/data/network/system-connections' "${ov}/etc/NetworkManager/conf.d/50-hearth-data.conf" ||
		{ echo "NetworkManager's connections are not on /data"; ok=1; }
	# autoboot.txt as the firmware wants it, within its 512 bytes.
	[ "$(tr -d '\r' <"${board}/autoboot.txt")" = "$(printf '[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3')" ] ||
		{ echo "autoboot.txt: not [all] tryboot_a_b=1 boot_partition=2 [tryboot] boot_partition=3"; ok=1; }
	[ "$(wc -c <"${board}/autoboot.txt")" -le 512 ] || { echo "autoboot.txt is over 512 bytes"; ok=1; }
	# The hardware watchdog.
	grep -qx 'dtparam=watchdog=on' "${board}/config.txt" || { echo "config.txt: no dtparam=watchdog=on"; ok=1; }
	grep -qx 'RuntimeWatchdogSec=15s' "${ov}/usr/lib/systemd/system.conf.d/50-hearth-watchdog.conf" ||
		{ echo "systemd: RuntimeWatchdogSec is not 15s"; ok=1; }
	# The kernel fragment: what mounting and checking a bundle needs.
	frag="${board}/linux-rauc.fragment"
	for o in SQUASHFS BLK_DEV_LOOP MD BLK_DEV_DM DM_VERITY CRYPTO_SHA256 BLK_DEV_NBD VFAT_FS EXT4_FS WATCHDOG BCM2835_WDT; do
		grep -qx "CONFIG_${o}=y" "${frag}" || { echo "linux-rauc.fragment: no CONFIG_${o}=y"; ok=1; }
	done
	for d in "${defconfigs[@]}"; do
		d="${ext}/configs/${d}"
		for o in BR2_PACKAGE_RAUC BR2_PACKAGE_RAUC_DBUS BR2_PACKAGE_RAUC_NETWORK BR2_PACKAGE_RAUC_STREAMING BR2_PACKAGE_E2FSPROGS \
			BR2_PACKAGE_MTOOLS BR2_PACKAGE_DOSFSTOOLS_MKFS_FAT; do
			grep -qx "${o}=y" "${d}" || { echo "$(basename "${d}"): no ${o}=y"; ok=1; }
		done
		grep -qx 'BR2_LINUX_KERNEL_CONFIG_FRAGMENT_FILES="$(BR2_EXTERNAL_HEARTH_PATH)/board/hearth/linux-rauc.fragment"' "${d}" ||
			{ echo "$(basename "${d}"): the kernel fragment is not hooked"; ok=1; }
		# Both root slots fit the root filesystem Buildroot makes.
		local size
		size=$(sed -n 's/^BR2_TARGET_ROOTFS_EXT2_SIZE="\(.*\)"$/\1/p' "${d}")
		[ "$(awk '/^[[:space:]]*partition rootA/,/}/' "${board}/genimage.cfg" | sed -n 's/^[[:space:]]*size = //p')" = "${size}" ] &&
			[ "$(awk '/^[[:space:]]*partition rootB/,/}/' "${board}/genimage.cfg" | sed -n 's/^[[:space:]]*size = //p')" = "${size}" ] ||
			{ echo "genimage.cfg: rootA and rootB are not both ${size} (BR2_TARGET_ROOTFS_EXT2_SIZE)"; ok=1; }
	done
	return ${ok}
}
run "RAUC system.conf, kernel fragment, watchdog and defconfig agree with the image" rauc_config

# The development keys belong together: the signing certificate is issued
# by the keyring's CA, for code signing, and its key signs what the keyring
# then verifies (a CMS signature, as a bundle's).
rauc_dev_keys() {
	local k="${ext}/board/hearth/rauc"
	command -v openssl >/dev/null || { echo "no openssl"; return 1; }
	openssl verify -CAfile "${k}/keyring.pem" "${k}/dev.cert.pem" || return 1
	openssl x509 -in "${k}/dev.cert.pem" -noout -ext extendedKeyUsage | grep -q 'Code Signing' ||
		{ echo "dev.cert.pem is not for code signing"; return 1; }
	openssl x509 -in "${k}/dev.cert.pem" -noout -subject | grep -q 'NOT FOR PRODUCTION' ||
		{ echo "dev.cert.pem does not say it is for development"; return 1; }
	echo "hearth test payload" >"${work}/payload"
	openssl cms -sign -binary -nosmimecap -in "${work}/payload" -signer "${k}/dev.cert.pem" \
		-inkey "${k}/dev.key.pem" -outform DER -out "${work}/payload.sig" &&
		openssl cms -verify -binary -inform DER -in "${work}/payload.sig" -content "${work}/payload" \
			-CAfile "${k}/keyring.pem" -purpose any -out /dev/null || return 1
	grep -q 'DEVELOPMENT ONLY' "${k}/README.md" || { echo "rauc/README.md does not say development only"; return 1; }
	# Valid for years yet: a development image must keep taking updates.
	openssl x509 -in "${k}/keyring.pem" -noout -checkend $((10 * 365 * 86400)) &&
		openssl x509 -in "${k}/dev.cert.pem" -noout -checkend $((10 * 365 * 86400))
}
run "RAUC development keys (keyring, signing certificate and key belong together)" rauc_dev_keys

# Every verb of the tryboot backend against a temporary autoboot partition
# and data directory, and the post-install handler on FAT images, in dash
# and in busybox sh (the image's /bin/sh).
tryboot() {
	local shells=()
	command -v dash >/dev/null && shells+=(dash)
	command -v busybox >/dev/null && shells+=("busybox sh")
	[ ${#shells[@]} -gt 0 ] || shells=(sh)
	if command -v shellcheck >/dev/null; then
		shellcheck -s sh "${ext}/board/hearth/rootfs-overlay/usr/lib/rauc/hearth-tryboot" \
			"${ext}/board/hearth/test-tryboot.sh" "${ext}/board/hearth/check-credentials.sh" \
			"${ext}/board/hearth/rootfs-overlay/usr/lib/rauc/hearth-post-install" \
			"${ext}/board/hearth/test-post-install.sh" || return 1
	fi
	"${ext}/board/hearth/test-tryboot.sh" "${shells[@]}" &&
		"${ext}/board/hearth/test-post-install.sh" "${shells[@]}"
}
run "RAUC tryboot backend and post-install handler (test-tryboot.sh, test-post-install.sh)" tryboot

# --- Board scripts on stub inputs --------------------------------------------

board_scripts() {
	local t="${work}/board" b img sig f p start size
	local board="${ext}/board/hearth"
	mkdir -p "${t}/target/etc" "${t}/binaries/rpi-firmware/overlays" "${t}/build" "${t}/rootfs/etc"
	export TARGET_DIR="${t}/target" BINARIES_DIR="${t}/binaries" BUILD_DIR="${t}/build"
	export BR2_EXTERNAL_HEARTH_PATH="${ext}" HOST_DIR="${t}/host" BASE_DIR="${t}"
	echo "/dev/root / auto rw 0 1" >"${TARGET_DIR}/etc/fstab"
	# Buildroot copies the rootfs overlay before it runs post-build.sh.
	cp -a "${board}/rootfs-overlay/." "${TARGET_DIR}/"

	echo "# post-build.sh, twice (Buildroot runs it on every make)"
	"${board}/post-build.sh" "${TARGET_DIR}" && "${board}/post-build.sh" "${TARGET_DIR}" || return 1
	cat "${TARGET_DIR}/etc/fstab"
	[ "$(grep -c '^# hearth-bundle begin$' "${TARGET_DIR}/etc/fstab")" = 1 ] || { echo "fstab block not once"; return 1; }
	[ "$(grep -c '^# hearth-data begin$' "${TARGET_DIR}/etc/fstab")" = 1 ] || { echo "fstab data block not once"; return 1; }
	grep -q '^/dev/root / ' "${TARGET_DIR}/etc/fstab" || { echo "fstab lost its root line"; return 1; }
	grep -Eq '^PARTUUID=48454152-01 /boot vfat .*uid=990,gid=990' "${TARGET_DIR}/etc/fstab" || return 1
	grep -Eq '^PARTUUID=48454152-07 /data ext4 ' "${TARGET_DIR}/etc/fstab" || { echo "no /data mount of partition 7"; return 1; }
	grep -Eq '^/dev/sda1 /media/usb vfat .*x-systemd.automount' "${TARGET_DIR}/etc/fstab" || return 1
	[ -d "${TARGET_DIR}/boot" ] && [ -d "${TARGET_DIR}/media/usb" ] && [ -d "${TARGET_DIR}/data" ] || return 1
	cmp "${TARGET_DIR}/etc/rauc/keyring.pem" "${board}/rauc/keyring.pem" || { echo "keyring not installed"; return 1; }
	# Each mount line has the six fstab fields.
	awk '!/^#/ && NF && NF != 6 { print "fstab: bad line: " $0; bad = 1 } END { exit bad }' \
		"${TARGET_DIR}/etc/fstab" || return 1

	echo "# stub BINARIES_DIR as the kernel, rpi-firmware and ext2 would leave it"
	b="${BINARIES_DIR}"
	head -c 4M /dev/urandom >"${b}/Image"
	for f in start4.elf fixup4.dat; do head -c 64K /dev/urandom >"${b}/rpi-firmware/${f}"; done
	cp "${board}/config.txt" "${b}/rpi-firmware/config.txt"
	cp "${board}/cmdline.txt" "${b}/rpi-firmware/cmdline.txt"
	head -c 4K /dev/urandom >"${b}/rpi-firmware/overlays/vc4-kms-v3d.dtbo"
	touch "${b}/rpi-firmware/overlays/README"
	for f in bcm2711-rpi-4-b bcm2711-rpi-400 bcm2711-rpi-cm4; do head -c 32K /dev/urandom >"${b}/${f}.dtb"; done
	echo hearth >"${t}/rootfs/etc/hostname"
	mkfs.ext4 -q -L rootfs -d "${t}/rootfs" "${b}/rootfs.ext4" 32M || return 1

	echo "# post-image.sh"
	"${board}/post-image.sh" "${BINARIES_DIR}" || return 1
	img="${b}/sdcard.img"
	[ -f "${img}" ] || { echo "no sdcard.img"; return 1; }
	sfdisk -d "${img}" | tee "${t}/sfdisk.txt"
	grep -q '^label: dos$' "${t}/sfdisk.txt" || return 1
	grep -q '^label-id: 0x48454152$' "${t}/sfdisk.txt" || return 1
	# part N: "start size type" of partition N.
	part() { sed -n "s/^[^:]*[^0-9]$1 : start= *\([0-9]*\), size= *\([0-9]*\), type=\([0-9a-f]*\).*/\1 \2 \3/p" "${t}/sfdisk.txt"; }
	[ "$(grep -c ' : start=' "${t}/sfdisk.txt")" = 7 ] || { echo "want 7 partitions (autoboot, bootA, bootB, extended, rootA, rootB, data)"; return 1; }
	grep -Eq '1 : start= *2048, .*type=c, bootable' "${t}/sfdisk.txt" || { echo "partition 1: not FAT32 LBA, bootable, at 1 MiB"; return 1; }
	# The firmware boots primary FAT partitions only: A and B are 2 and 3.
	for p in 2 3; do [ "$(part $p | cut -d' ' -f3)" = c ] || { echo "partition $p: not FAT32 LBA"; return 1; }; done
	[ "$(part 4 | cut -d' ' -f3)" = f ] || { echo "partition 4: not the extended partition"; return 1; }
	for p in 5 6 7; do [ "$(part $p | cut -d' ' -f3)" = 83 ] || { echo "partition $p: not Linux"; return 1; }; done
	# A and B alike: an update of either slot fits the other.
	[ "$(part 2 | cut -d' ' -f2)" = "$(part 3 | cut -d' ' -f2)" ] || { echo "bootA and bootB differ in size"; return 1; }
	[ "$(part 5 | cut -d' ' -f2)" = "$(part 6 | cut -d' ' -f2)" ] || { echo "rootA and rootB differ in size"; return 1; }
	[ "$(part 5 | cut -d' ' -f2)" = $((768 * 2048)) ] || { echo "rootA is not 768 MiB"; return 1; }

	export MTOOLS_SKIP_CHECK=1
	# Partition 1: autoboot.txt, which boots A (2) and tries B (3).
	start=$(part 1 | cut -d' ' -f1)
	mtype -i "${img}@@$((start * 512))" ::/autoboot.txt | cmp - "${board}/autoboot.txt" ||
		{ echo "autoboot.txt differs on partition 1"; return 1; }
	mdir -b -i "${img}@@$((start * 512))" ::/ | tee "${t}/mdir1.txt"
	# Partition 2: slot A's boot files, booting rootA (partition 5).
	start=$(part 2 | cut -d' ' -f1)
	mdir -b -i "${img}@@$((start * 512))" ::/ | tee "${t}/mdir.txt"
	for f in start4.elf fixup4.dat config.txt cmdline.txt Image bcm2711-rpi-4-b.dtb bcm2711-rpi-400.dtb \
		bcm2711-rpi-cm4.dtb overlays; do
		grep -qi "^::/${f}/\{0,1\}$" "${t}/mdir.txt" || { echo "boot partition A lacks ${f}"; return 1; }
	done
	mtype -i "${img}@@$((start * 512))" ::/cmdline.txt | cmp - "${board}/cmdline.txt" ||
		{ echo "cmdline.txt differs on boot partition A"; return 1; }
	mtype -i "${img}@@$((start * 512))" ::/cmdline.txt | grep -q 'root=PARTUUID=48454152-05 ' ||
		{ echo "slot A does not boot partition 5"; return 1; }
	mtype -i "${img}@@$((start * 512))" ::/config.txt | grep -qx 'dtparam=watchdog=on' ||
		{ echo "config.txt on slot A lacks the watchdog"; return 1; }
	mdir -b -i "${img}@@$((start * 512))" ::/overlays | grep -qi 'vc4-kms-v3d.dtbo' || return 1
	# Slot B's cmdline.txt (for a bundle) boots partition 6.
	grep -q 'root=PARTUUID=48454152-06 ' "${b}/slot-b/cmdline.txt" || { echo "slot-b/cmdline.txt does not boot partition 6"; return 1; }
	# Partition 5 is rootfs.ext4, byte for byte.
	# shellcheck disable=SC2046 # "start size type"
	set -- $(part 5)
	dd if="${img}" bs=512 skip="$1" count="$(($(stat -c %s "${b}/rootfs.ext4") / 512))" status=none |
		cmp - "${b}/rootfs.ext4" || { echo "partition 5 is not rootfs.ext4"; return 1; }
	# Partition 7 is an empty ext4 labelled hearthdata, filling the partition.
	# shellcheck disable=SC2046
	set -- $(part 7)
	dd if="${img}" bs=512 skip="$1" count="$2" status=none of="${t}/data.ext4"
	size=$(dumpe2fs -h "${t}/data.ext4" 2>/dev/null | sed -n 's/^Filesystem volume name: *//p')
	[ "${size}" = hearthdata ] || { echo "partition 7: not ext4 labelled hearthdata ('${size}')"; return 1; }

	echo "# add-bundle.sh"
	printf '{"stub": "bundle"}\n' >"${t}/bundle.json"
	"${board}/add-bundle.sh" "${img}" "${t}/bundle.json" || return 1
	start=$(part 1 | cut -d' ' -f1)
	mtype -i "${img}@@$((start * 512))" ::/hearth-bundle.json | cmp - "${t}/bundle.json" ||
		{ echo "bundle not on partition 1 (/boot)"; return 1; }
	mtype -i "${img}@@$((start * 512))" ::/autoboot.txt | cmp - "${board}/autoboot.txt" ||
		{ echo "add-bundle.sh changed autoboot.txt"; return 1; }

	echo "# post-image.sh refuses a cmdline.txt that boots another disk"
	sed 's/48454152-05/deadbeef-05/' "${board}/cmdline.txt" >"${b}/rpi-firmware/cmdline.txt"
	if "${board}/post-image.sh" "${BINARIES_DIR}"; then echo "accepted a wrong root="; return 1; fi
	return 0
}
missing_tools=()
for tool in genimage mkdosfs mcopy mdir mtype mkfs.ext4 mke2fs dumpe2fs sfdisk; do
	command -v "${tool}" >/dev/null || missing_tools+=("${tool}")
done
if [ ${#missing_tools[@]} -eq 0 ]; then
	run "board scripts on stub inputs (post-build, genimage via post-image, add-bundle)" board_scripts
else
	skip "board scripts on stub inputs" "missing ${missing_tools[*]} (bash .ci/deps.sh buildroot)"
fi

# No shared default credentials (EN 303 645 5.1): check-credentials.sh over
# the stub target that board_scripts left (the rootfs overlay and
# post-build.sh's output), given the accounts Buildroot would write there:
# its skeleton's /etc/passwd and /etc/shadow (from BUILDROOT_DIR, else the
# skeleton's root line, "root::", an empty password), root's password as
# the defconfig sets it (skeleton-init-common.mk), and the users of this
# tree's packages (*_USERS, as support/scripts/mkusers writes them). Then
# the check itself is checked: a planted password, login key, private key
# and Wi-Fi passphrase must each fail it.
accounts() {
	local target=$1 defconfig=$2 mk u uid gid pw rest
	if [ -n "${br}" ] && [ -f "${br}/system/skeleton/etc/shadow" ]; then
		cp "${br}/system/skeleton/etc/passwd" "${br}/system/skeleton/etc/shadow" "${target}/etc/"
	else
		echo 'root:x:0:0:root:/root:/bin/sh' >"${target}/etc/passwd"
		echo 'root::::::::' >"${target}/etc/shadow"
	fi
	if grep -qx '# BR2_TARGET_ENABLE_ROOT_LOGIN is not set' "${defconfig}"; then
		sed -i 's,^root:[^:]*:,root:*:,' "${target}/etc/shadow"
	else
		pw=$(sed -n 's/^BR2_TARGET_GENERIC_ROOT_PASSWD="\(.*\)"$/\1/p' "${defconfig}")
		[ -z "${pw}" ] || sed -i 's,^root:[^:]*:,root:$6$stub$hash:,' "${target}/etc/shadow"
	fi
	for mk in "${ext}"/package/*/*.mk; do
		sed -n '/^define [A-Z0-9_]*_USERS$/,/^endef$/p' "${mk}" | sed '1d;$d' |
			while read -r u uid _ gid pw rest; do
				case ${pw} in
				-) pw="" ;;
				'!='*) pw='!$6$stub$hash' ;;
				'='*) pw='$6$stub$hash' ;;
				esac
				echo "${u}:x:${uid}:${gid}::/:/bin/false" >>"${target}/etc/passwd"
				echo "${u}:${pw}:::::::" >>"${target}/etc/shadow"
			done
	done
}
credentials() {
	local target="${work}/board/target" check="${ext}/board/hearth/check-credentials.sh" d bad
	[ -d "${target}/etc" ] || { echo "no stub target (the board scripts check did not run)"; return 1; }
	for d in "${defconfigs[@]}"; do
		accounts "${target}" "${ext}/configs/${d}"
		echo "# ${d}: /etc/shadow"
		cat "${target}/etc/shadow"
		"${check}" "${target}" "${ext}/configs/${d}" || return 1
	done
	echo "# each of these must fail the check"
	bad="${work}/bad-target"
	plant() {
		rm -rf "${bad}" && cp -a "${target}" "${bad}"
		case $1 in
		hash) sed -i 's,^root:[^:]*:,root:$6$x$y:,' "${bad}/etc/shadow" ;;
		empty) echo 'guest::::::::' >>"${bad}/etc/shadow" ;;
		keys) mkdir -p "${bad}/root/.ssh" && echo 'ssh-ed25519 AAAA' >"${bad}/root/.ssh/authorized_keys" ;;
		private) cp "${ext}/board/hearth/rauc/dev.key.pem" "${bad}/etc/rauc/signing.key.pem" ;;
		psk) printf 'network={\n\tssid="Home"\n\tpsk=correcthorse\n}\n' >"${bad}/etc/wpa_supplicant.conf" ;;
		esac
	}
	for c in hash empty keys private psk; do
		plant "${c}"
		if "${check}" "${bad}" >"${work}/cred.out" 2>&1; then
			echo "check-credentials.sh passed a target with a planted ${c}"; return 1
		fi
		echo "${c}: $(head -1 "${work}/cred.out")"
	done
	# And a defconfig that lets root log in.
	sed '/^# BR2_TARGET_ENABLE_ROOT_LOGIN is not set$/d' "${ext}/configs/${defconfigs[0]}" >"${work}/login_defconfig"
	if "${check}" "${target}" "${work}/login_defconfig" >"${work}/cred.out" 2>&1; then
		echo "check-credentials.sh passed a defconfig with root login"; return 1
	fi
	echo "root login: $(head -1 "${work}/cred.out")"
}
if [ ${#missing_tools[@]} -eq 0 ]; then
	run "no shared default credentials on the stub target (check-credentials.sh)" credentials
else
	skip "no shared default credentials on the stub target" "needs the board scripts check (bash .ci/deps.sh buildroot)"
fi

# --- With a Buildroot tree -----------------------------------------------------

br_checks=("check-package -b")
for d in "${defconfigs[@]}"; do
	br_checks+=("${d}: load + check-dotconfig.py" "${d}: savedefconfig round trip" "${d}: hearthd package variables")
done

if [ -z "${br}" ]; then
	for c in "${br_checks[@]}"; do
		skip "${c}" "no Buildroot tree: make check-buildroot BUILDROOT_DIR=/path/to/buildroot"
	done
	skipped_ok=1
elif [ ! -f "${br}/Makefile" ] || [ ! -x "${br}/utils/check-package" ] || [ ! -f "${br}/support/scripts/check-dotconfig.py" ]; then
	for c in "${br_checks[@]}"; do
		fail "${c}" "${br} is not a Buildroot source tree"
	done
else
	br="$(cd "${br}" && pwd)"
	echo "Buildroot: ${br} ($(make -s -C "${br}" --no-print-directory print-version 2>/dev/null))"

	# check-package wants python3 with magic and flake8 (Debian's python3 has
	# them from .ci/deps.sh buildroot; a pyenv python3 earlier on PATH may not).
	py=""
	for p in /usr/bin/python3 python3; do
		if command -v "$p" >/dev/null && "$p" -c 'import magic, flake8' 2>/dev/null; then py=$p; break; fi
	done
	if [ -z "${py}" ]; then
		skip "check-package -b" "no python3 with python3-magic and flake8 (bash .ci/deps.sh buildroot)"
	elif ! command -v shellcheck >/dev/null; then
		skip "check-package -b" "no shellcheck (bash .ci/deps.sh buildroot)"
	else
		check_package() {
			local out
			cd "${ext}" || return 1
			out=$(find . -type f ! -name '*.md' | sort | xargs "${py}" "${br}/utils/check-package" -b 2>&1)
			echo "${out}"
			# It exits 0 on warnings too: any warning is a failure here.
			echo "${out}" | grep -q '^0 warnings generated$'
		}
		run "check-package -b" check_package
	fi

	for d in "${defconfigs[@]}"; do
		o="${work}/out-${d}"
		load() {
			make -C "${br}" BR2_EXTERNAL="${ext}" O="${o}" "${d}" &&
				"${py:-python3}" "${br}/support/scripts/check-dotconfig.py" "${o}/.config" "${ext}/configs/${d}"
		}
		run "${d}: load + check-dotconfig.py" load
		roundtrip() {
			[ -f "${o}/.config" ] || { echo "not loaded"; return 1; }
			make -C "${br}" O="${o}" savedefconfig BR2_DEFCONFIG="${work}/${d}.saved" &&
				diff -u "${ext}/configs/${d}" "${work}/${d}.saved"
		}
		run "${d}: savedefconfig round trip" roundtrip
		pkgvars() {
			local v
			[ -f "${o}/.config" ] || { echo "not loaded"; return 1; }
			grep -qx 'BR2_PACKAGE_HEARTHD=y' "${o}/.config" || { echo "BR2_PACKAGE_HEARTHD is not set"; return 1; }
			v=$(make -s -C "${br}" O="${o}" printvars \
				VARS='HEARTHD_SITE HEARTHD_SITE_METHOD HEARTHD_VERSION HEARTHD_BUILD_OPTS HEARTHD_FINAL_DEPENDENCIES HEARTHD_BUNDLE_PATH') ||
				return 1
			echo "${v}"
			grep -qx "HEARTHD_SITE=${top}" <<<"${v}" &&
				grep -qx 'HEARTHD_SITE_METHOD=local' <<<"${v}" &&
				grep -Eq '^HEARTHD_VERSION=.+' <<<"${v}" &&
				grep -Eq '^HEARTHD_BUILD_OPTS=.*-X main\.Version=[^ ]+' <<<"${v}" &&
				grep -Eq '^HEARTHD_BUILD_OPTS=.*-tags "migrated_fynedo wayland dynamic"' <<<"${v}" &&
				grep -Eq '^HEARTHD_BUILD_OPTS=.*-buildvcs=false' <<<"${v}" &&
				for dep in host-go alsa-lib jpeg libegl libgles libvpx opus wayland libxkbcommon; do
					grep -Eq "^HEARTHD_FINAL_DEPENDENCIES=(.* )?${dep}( |$)" <<<"${v}" || { echo "no ${dep}"; return 1; }
				done
		}
		run "${d}: hearthd package variables" pkgvars
	done
fi

echo
echo "check-buildroot summary (a full image build needs the internet and is not attempted):"
printf '  %s\n' "${results[@]}"
if [ "${failed}" = 1 ]; then
	echo "check-buildroot: FAILED"
	exit 1
fi
if [ "${skipped}" = 1 ] && [ -z "${skipped_ok:-}" ]; then
	echo "check-buildroot: some checks could not run (see SKIP above)"
	exit 1
fi
if [ "${skipped}" = 1 ]; then
	echo "check-buildroot: passed, but the Buildroot checks were SKIPPED (no BUILDROOT_DIR)"
else
	echo "check-buildroot: all checks ran and passed"
fi
exit 0
