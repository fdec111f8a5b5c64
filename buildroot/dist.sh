#!/usr/bin/env bash
# Makes a self-contained source tarball for image builds on a machine
# without the Go module proxy: dist.sh [OUTDIR]  ->  OUTDIR/hearth-VERSION.tar.gz
# It holds the committed tree (git archive HEAD, this buildroot/ included),
# vendor/ from `go mod vendor`, and VERSION, which hearthd.mk stamps into
# the binary. vendor/ is made in a temporary copy: it never enters the
# checkout, and must not be committed.

set -euo pipefail

top="$(cd "$(dirname "$0")/.." && pwd)"
out="$(cd "${1:-.}" && pwd)"
version="$(git -C "${top}" describe --always --dirty)"
case "${version}" in *-dirty)
	echo "dist.sh: note: uncommitted changes are not in the tarball" >&2 ;;
esac
version="${version%-dirty}"

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
src="${tmp}/hearth-${version}"
mkdir "${src}"
git -C "${top}" archive HEAD | tar -x -C "${src}"
(cd "${src}" && GOFLAGS=-mod=mod go mod vendor)
echo "${version}" > "${src}/VERSION"
tar -C "${tmp}" --sort=name --owner=0 --group=0 --numeric-owner \
	-czf "${out}/hearth-${version}.tar.gz" "hearth-${version}"
echo "dist.sh: ${out}/hearth-${version}.tar.gz"
