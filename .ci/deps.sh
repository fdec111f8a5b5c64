#!/usr/bin/env bash
# Installs from Debian's packages what building, testing, the demo and the benchmarks need.
# Idempotent: packages already present are skipped, so a second run costs a few seconds.
# Usage: .ci/deps.sh [base|cross|bench|buildroot|image|all]   (default: all; image is not in all)
set -euo pipefail
what=${1:-all}

base=(ca-certificates pkg-config gcc libc6-dev mosquitto xvfb xauth x11-apps x11-xserver-utils
  libgl1-mesa-dev libgl1-mesa-dri libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev
  libxi-dev libxxf86vm-dev libvpx-dev libopus-dev libturbojpeg0-dev imagemagick dbus locales fonts-dejavu-core procps
  chromium iproute2 util-linux systemd tesseract-ocr tesseract-ocr-eng)
cross=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
  libgl1-mesa-dev:arm64 libx11-dev:arm64 libxcursor-dev:arm64 libxrandr-dev:arm64
  libxinerama-dev:arm64 libxi-dev:arm64 libxxf86vm-dev:arm64 libvpx-dev:arm64
  libturbojpeg0-dev:arm64 libopus-dev:arm64)
bench=(libjpeg-turbo-progs time ffmpeg mosquitto-clients)
# make check-buildroot: Buildroot's kconfig and check-package (Debian's python3
# with python3-magic and flake8, shellcheck), and the SD image on stub inputs.
# The tryboot backend's tests run in busybox sh (the image's /bin/sh) and
# dash; openssl checks the development RAUC keys.
buildroot=(make gcc g++ libc6-dev patch perl rsync file cpio unzip bc python3 python3-magic python3-flake8 shellcheck
  genimage mtools dosfstools e2fsprogs fdisk busybox dash openssl)
# make image-smoke (optional, not in all): a Debian arm64 root filesystem
# (mmdebstrap, arm64 maintainer scripts through binfmt_misc), an SD image
# (genimage), booted in qemu-system-aarch64 with the host's broker reached
# through QEMU's guestfwd (socat).
image=(mmdebstrap qemu-system-arm qemu-user-static binfmt-support genimage e2fsprogs dosfstools
  mtools fdisk socat mosquitto mosquitto-clients)

pkgs=()
case "$what" in
  base) pkgs=("${base[@]}") ;;
  cross) pkgs=("${cross[@]}") ;;
  bench) pkgs=("${bench[@]}") ;;
  buildroot) pkgs=("${buildroot[@]}") ;;
  image) pkgs=("${image[@]}") ;;
  all) pkgs=("${base[@]}" "${cross[@]}" "${bench[@]}" "${buildroot[@]}") ;;
  *) echo "deps.sh: unknown set $what (base|cross|bench|buildroot|image|all)" >&2; exit 2 ;;
esac

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

case " ${pkgs[*]} " in *":arm64"*)
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $sudo dpkg --add-architecture arm64
    rm -f /tmp/.hearth-apt-updated
  fi ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}"
if [ ! -e /tmp/.hearth-apt-updated ]; then
  $sudo apt-get update -qq
  touch /tmp/.hearth-apt-updated
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/hearth-apt.log 2>&1 || {
  tail -40 /tmp/hearth-apt.log >&2; exit 1; }
# The system broker must not hold port 1883 or outlive the tests; Hearth starts its own.
if command -v systemctl >/dev/null && systemctl is-active -q mosquitto 2>/dev/null; then
  $sudo systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
# A real UTF-8 locale, or Fyne logs "Error parsing user locale C".
if ! locale -a 2>/dev/null | grep -qi '^en_US.utf8$'; then
  sed -i 's/^# *en_US.UTF-8/en_US.UTF-8/' /etc/locale.gen 2>/dev/null && $sudo locale-gen >/dev/null 2>&1 || true
fi
