#!/bin/sh
# No shared default credentials in an image (ETSI EN 303 645 5.1, EN 18031,
# UK PSTI): check-credentials.sh TARGET_DIR [DEFCONFIG]
#
# TARGET_DIR is a root filesystem tree: Buildroot's output/target after a
# build, or the stub target of make check-buildroot (the rootfs overlay and
# post-build.sh's output). DEFCONFIG, when given, is checked for the
# settings that decide root's password. Every finding is printed; exit 1 if
# there is one.
#
# A credential every device of a build shares is one that works on all of
# them: a password hash (or an empty password) in /etc/shadow, an SSH key
# that lets someone in, a private key or a password written into a
# configuration file. A device's own secrets arrive later, in its
# provisioning bundle, onto the data partition.

set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ ! -d "$1" ]; then
	echo "usage: $0 TARGET_DIR [DEFCONFIG]" >&2
	exit 2
fi
root=$1
defconfig=${2:-}
found=0

finding() {
	echo "check-credentials: $*"
	found=1
}

# Accounts: a password field that is not locked ("*", or "!" before
# anything) is a password someone can type, the same on every device.
for f in etc/shadow etc/passwd; do
	[ -f "${root}/${f}" ] || continue
	while IFS=: read -r user pw _; do
		[ -n "${user}" ] || continue
		case ${user} in '#'*) continue ;; esac
		case ${f}:${pw} in
		etc/passwd:x | *:'*'* | *:'!'*) ;;
		*:)
			finding "${f}: ${user} has an empty password (anyone may log in)" ;;
		*)
			finding "${f}: ${user} has a password set in the image, the same on every device" ;;
		esac
	done <"${root}/${f}"
done

# Keys that let someone in, and private keys of any kind: the tree is
# copied to every device. (The RAUC keyring is a certificate: public.)
keys=$(find "${root}" \( -name 'authorized_keys*' -o -name '*.rhosts' -o -name 'ssh_host_*_key' \) \
	\( -type f -o -type l \) 2>/dev/null | sed "s|^${root}/*||")
for k in ${keys}; do
	finding "${k}: a login key or host key baked into the image"
done
privs=$(grep -rlI -e '-----BEGIN [A-Z ]*PRIVATE KEY-----' "${root}" 2>/dev/null | sed "s|^${root}/*||" || true)
for k in ${privs}; do
	finding "${k}: a private key in the image"
done

# Passwords and pre-shared keys written into configuration files under /etc
# (Wi-Fi, brokers, web servers). A commented line or an empty value is fine.
if [ -d "${root}/etc" ]; then
	hits=$(mktemp)
	grep -rnIE '^[[:space:]]*(password|passwd|psk|wpa_passphrase|secret|auth_pass)[[:space:]]*[=:][[:space:]]*[^[:space:]]' \
		"${root}/etc" 2>/dev/null | sed "s|^${root}/*||" >"${hits}" || true
	while IFS= read -r line; do
		finding "${line%%:*}: a password in a configuration file (${line#*:})"
	done <"${hits}"
	rm -f "${hits}"
fi

# root's password comes from the defconfig: login must be off, and no
# password given (Buildroot's skeleton otherwise leaves it empty).
if [ -n "${defconfig}" ]; then
	grep -qx '# BR2_TARGET_ENABLE_ROOT_LOGIN is not set' "${defconfig}" ||
		finding "${defconfig}: root may log in with a password (want '# BR2_TARGET_ENABLE_ROOT_LOGIN is not set')"
	if grep -q '^BR2_TARGET_GENERIC_ROOT_PASSWD=' "${defconfig}"; then
		finding "${defconfig}: BR2_TARGET_GENERIC_ROOT_PASSWD gives every device the same root password"
	fi
fi

if [ "${found}" = 1 ]; then
	echo "check-credentials: ${root} has shared default credentials (see above)"
	exit 1
fi
echo "check-credentials: ${root}: no shared default credentials"
