#!/bin/bash
# Install into a staging root as a distribution would, then check the tree,
# the symlinks, pkg-config, the exported symbols against the version
# script, a program built with pkg-config, and uninstall.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
VARIANT=${VARIANT:-release}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
LIBDIR=/usr/lib/$(gcc -print-multiarch)
fail() { echo "FAIL: $*"; exit 1; }

cd "$TOP"
scons -Q VARIANT="$VARIANT" install PREFIX=/usr LIBDIR="$LIBDIR" \
	DESTDIR="$D" >/dev/null
R=$D$LIBDIR
for f in /usr/include/vdestack.h /usr/include/vdestack_backend.h \
	"$LIBDIR/vdestack/vdestack-agent" "$LIBDIR/vdestack/tap.so" \
	"$LIBDIR/pkgconfig/vdestack.pc"; do
	[ -e "$D$f" ] || fail "missing $f"
done
real=$(readlink "$R/libvdestack.so.0") || fail "libvdestack.so.0 is not a link"
[ "$(readlink "$R/libvdestack.so")" = "$real" ] || fail "libvdestack.so link"
[ -f "$R/$real" ] || fail "link target $real missing"
soname=$(readelf -d "$R/$real" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = libvdestack.so.0 ] || fail "soname is '$soname'"
[ -x "$R/vdestack/vdestack-agent" ] || fail "agent not executable"

# exported symbols == version script
want=$(sed -n 's/^[[:space:]]*\([a-z_][a-z_0-9]*\);$/\1/p' \
	core/libvdestack.map.in | sort -u)
have=$(readelf --dyn-syms -W "$R/$real" |
	awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $5 != "LOCAL" && $8 != "" {sub(/@.*/, "", $8); print $8}' |
	grep -v '^VDESTACK_\|^GLIBC_' | sort -u)
[ "$want" = "$have" ] || { diff <(echo "$want") <(echo "$have") || true;
	fail "exported symbols differ from the version script"; }

export PKG_CONFIG_PATH=$R/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D
flags=$(pkg-config --cflags --libs vdestack) || fail "pkg-config vdestack"
[ "$(pkg-config --modversion vdestack)" = "$(sed -n "s/^VERSION = '\(.*\)'/\1/p" SConstruct)" ] ||
	fail "pkg-config version"
# shellcheck disable=SC2086
gcc -o "$D/demo" examples/demo.c $flags -L"$R" || fail "building with pkg-config"
LD_LIBRARY_PATH=$R "$D/demo" | grep -q "demo: OK" || fail "installed demo"

scons -Q VARIANT="$VARIANT" uninstall PREFIX=/usr LIBDIR="$LIBDIR" \
	DESTDIR="$D" >/dev/null
left=$(find "$D" -type f -o -type l | grep -v "^$D/demo$" || true)
[ -z "$left" ] || fail "uninstall left: $left"
# uninstall removes the installed copies only, never the build tree's
for f in lib/libvdestack.so.0 lib/vdestack/vdestack-agent lib/vdestack/tap.so \
	bin/vdestack-backend-info; do
	[ -e "build/$VARIANT/$f" ] || fail "uninstall removed build/$VARIANT/$f"
done
echo "PASS: install, pkg-config, symbols, uninstall"
