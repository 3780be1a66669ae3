#!/bin/bash
# Build every examples/*.c against the INSTALLED library (scons install into
# a staging root, then pkg-config, as a user of the distribution package
# would) and run it.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
VARIANT=${VARIANT:-release}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
LIBDIR=/usr/lib/$(gcc -print-multiarch)
cd "$TOP"
scons -Q VARIANT="$VARIANT" install PREFIX=/usr LIBDIR="$LIBDIR" \
	DESTDIR="$D/root" >/dev/null
export PKG_CONFIG_PATH=$D/root$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D/root
flags=$(pkg-config --cflags --libs vdestack)
rc=0
for src in examples/*.c; do
	name=$(basename "$src" .c)
	# shellcheck disable=SC2086
	if ! gcc -Wall -Werror -o "$D/$name" "$src" $flags -L"$D/root$LIBDIR"; then
		echo "FAIL: $name does not build with pkg-config"
		rc=1
		continue
	fi
	if out=$(LD_LIBRARY_PATH=$D/root$LIBDIR timeout 60 "$D/$name" 2>&1); then
		echo "PASS: $name"
	else
		echo "FAIL: $name"
		echo "$out" | sed 's/^/    /'
		rc=1
	fi
done
exit $rc
