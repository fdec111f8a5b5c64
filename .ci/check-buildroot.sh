#!/usr/bin/env bash
# Offline checks of the br2-external tree in buildroot/ (make check-buildroot).
#
#   BUILDROOT_DIR=/path/to/buildroot .ci/check-buildroot.sh
#
# With a Buildroot source tree: Buildroot's check-package -b on every file of
# the tree, each defconfig in buildroot/configs loaded (check-dotconfig.py,
# then a savedefconfig round trip), and the hearthd package's variables as
# Buildroot computes them (printvars). Always: the tree's own consistency,
# hearthd's modules vendored offline the way the package does it, and the
# board scripts on stub inputs (post-build.sh on a stub target, post-image.sh
# with Debian's genimage into a real sdcard.img, add-bundle.sh into it).
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
		board/hearth/rootfs-overlay/etc/dbus-1/system.d/hearth.conf README.md; do
		[ -e "${ext}/${f}" ] || { echo "missing buildroot/${f}"; ok=1; }
	done
	grep -qx 'name: HEARTH' "${ext}/external.desc" || { echo "external.desc: name is not HEARTH"; ok=1; }
	[ ${#defconfigs[@]} -gt 0 ] || { echo "no configs/*_defconfig"; ok=1; }
	for f in board/hearth/post-build.sh board/hearth/post-image.sh board/hearth/add-bundle.sh dist.sh; do
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
	! grep -n '@[A-Z_]*@' "${out}" &&
		grep -qx 'ExecStart=' "${out}" &&
		grep -qx 'ExecStart=/usr/bin/cage -d -- /usr/bin/hearthd --bundle-path /boot,/media/usb --data /var/lib/hearthd' "${out}" &&
		grep -qx 'NotifyAccess=all' "${out}" &&
		grep -qx 'ReadWritePaths=-/boot -/media/usb' "${out}" &&
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

# --- Board scripts on stub inputs --------------------------------------------

board_scripts() {
	local t="${work}/board" b img sig start n f
	local board="${ext}/board/hearth"
	mkdir -p "${t}/target/etc" "${t}/binaries/rpi-firmware/overlays" "${t}/build" "${t}/rootfs/etc"
	export TARGET_DIR="${t}/target" BINARIES_DIR="${t}/binaries" BUILD_DIR="${t}/build"
	export BR2_EXTERNAL_HEARTH_PATH="${ext}" HOST_DIR="${t}/host" BASE_DIR="${t}"
	echo "/dev/root / auto rw 0 1" >"${TARGET_DIR}/etc/fstab"

	echo "# post-build.sh, twice (Buildroot runs it on every make)"
	"${board}/post-build.sh" "${TARGET_DIR}" && "${board}/post-build.sh" "${TARGET_DIR}" || return 1
	cat "${TARGET_DIR}/etc/fstab"
	[ "$(grep -c '^# hearth-bundle begin$' "${TARGET_DIR}/etc/fstab")" = 1 ] || { echo "fstab block not once"; return 1; }
	grep -q '^/dev/root / ' "${TARGET_DIR}/etc/fstab" || { echo "fstab lost its root line"; return 1; }
	grep -Eq '^PARTUUID=48454152-01 /boot vfat .*uid=990,gid=990' "${TARGET_DIR}/etc/fstab" || return 1
	grep -Eq '^/dev/sda1 /media/usb vfat .*x-systemd.automount' "${TARGET_DIR}/etc/fstab" || return 1
	[ -d "${TARGET_DIR}/boot" ] && [ -d "${TARGET_DIR}/media/usb" ] || return 1
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
	n=$(grep -c ' : start=' "${t}/sfdisk.txt")
	[ "${n}" = 2 ] || { echo "${n} partitions, want 2"; return 1; }
	grep -Eq '1 : start= *2048, .*type=c, bootable' "${t}/sfdisk.txt" || { echo "partition 1: not FAT32 LBA, bootable, at 1 MiB"; return 1; }
	grep -Eq '2 : start=.*type=83' "${t}/sfdisk.txt" || { echo "partition 2: not Linux"; return 1; }

	start=$(sed -n 's/^[^:]*1 : start= *\([0-9]*\),.*/\1/p' "${t}/sfdisk.txt")
	export MTOOLS_SKIP_CHECK=1
	mdir -b -i "${img}@@$((start * 512))" ::/ | tee "${t}/mdir.txt"
	for f in start4.elf fixup4.dat config.txt cmdline.txt Image bcm2711-rpi-4-b.dtb bcm2711-rpi-400.dtb \
		bcm2711-rpi-cm4.dtb overlays; do
		grep -qi "^::/${f}/\{0,1\}$" "${t}/mdir.txt" || { echo "boot partition lacks ${f}"; return 1; }
	done
	mtype -i "${img}@@$((start * 512))" ::/cmdline.txt | cmp - "${board}/cmdline.txt" ||
		{ echo "cmdline.txt differs on the boot partition"; return 1; }
	mdir -b -i "${img}@@$((start * 512))" ::/overlays | grep -qi 'vc4-kms-v3d.dtbo' || return 1
	# The second partition is rootfs.ext4, byte for byte.
	sig=$(sed -n 's/^[^:]*2 : start= *\([0-9]*\), size= *\([0-9]*\),.*/\1 \2/p' "${t}/sfdisk.txt")
	# shellcheck disable=SC2086
	set -- ${sig}
	dd if="${img}" bs=512 skip="$1" count="$(($(stat -c %s "${b}/rootfs.ext4") / 512))" status=none |
		cmp - "${b}/rootfs.ext4" || { echo "partition 2 is not rootfs.ext4"; return 1; }

	echo "# add-bundle.sh"
	printf '{"stub": "bundle"}\n' >"${t}/bundle.json"
	"${board}/add-bundle.sh" "${img}" "${t}/bundle.json" || return 1
	mtype -i "${img}@@$((start * 512))" ::/hearth-bundle.json | cmp - "${t}/bundle.json" ||
		{ echo "bundle not on the boot partition"; return 1; }

	echo "# post-image.sh refuses a cmdline.txt that boots another disk"
	sed 's/48454152-02/deadbeef-02/' "${board}/cmdline.txt" >"${b}/rpi-firmware/cmdline.txt"
	if "${board}/post-image.sh" "${BINARIES_DIR}"; then echo "accepted a wrong root="; return 1; fi
	return 0
}
missing_tools=()
for tool in genimage mkdosfs mcopy mdir mtype mkfs.ext4 sfdisk; do
	command -v "${tool}" >/dev/null || missing_tools+=("${tool}")
done
if [ ${#missing_tools[@]} -eq 0 ]; then
	run "board scripts on stub inputs (post-build, genimage via post-image, add-bundle)" board_scripts
else
	skip "board scripts on stub inputs" "missing ${missing_tools[*]} (bash .ci/deps.sh buildroot)"
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
