#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/dropin/run.sh LIBDIR - drop-in compatibility with Debian's 0.1.2
#
# Builds prog.c against Debian's /usr/include/vdestack.h and libvdestack.so
# (package libvdestack-dev), then runs the unchanged binary with LIBDIR (our
# build/<variant>/lib) on LD_LIBRARY_PATH.  Passes if the program succeeds
# and the libvdestack it mapped is the one in LIBDIR, as ldd also says.
# Exit: 0 pass, 1 fail, 77 skipped (no libvdestack-dev).
set -euo pipefail

fail() { echo "dropin: FAIL: $*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 LIBDIR" >&2; exit 2; }
libdir=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
syslib=/usr/lib/$multiarch/libvdestack.so

if [ ! -e /usr/include/vdestack.h ] || [ ! -e "$syslib" ]; then
	echo "dropin: SKIP: Debian's libvdestack-dev is not installed"
	exit 77
fi
# the system header must be upstream's (non-const), not an installed copy
# of ours
grep -q 'vde_addstack(char \*vdenet' /usr/include/vdestack.h ||
	fail "/usr/include/vdestack.h is not Debian's 0.1.2 header"
[ -e "$libdir/libvdestack.so.0" ] || fail "no libvdestack.so.0 in $libdir"

work=$(mktemp -d "${TMPDIR:-/tmp}/vdestack-dropin.XXXXXX")
trap 'rm -rf "$work"' EXIT

# only the system's header and library: no build-tree paths
unset CPATH C_INCLUDE_PATH LIBRARY_PATH LD_LIBRARY_PATH LD_PRELOAD
gcc -std=gnu11 -O2 -Wall -Wextra -o "$work/prog" "$here/prog.c" -lvdestack ||
	fail "cannot build against Debian's libvdestack"

resolved=$(ldd "$work/prog" | awk '/libvdestack\.so/ {print $3}')
[ "$(realpath "$resolved")" = "$(realpath "$syslib")" ] ||
	fail "built binary resolves libvdestack to $resolved, not $syslib"

resolved=$(LD_LIBRARY_PATH=$libdir ldd "$work/prog" |
	awk '/libvdestack\.so/ {print $3}')
[ "$(dirname "$(realpath "$resolved")")" = "$libdir" ] ||
	fail "with LD_LIBRARY_PATH=$libdir ldd resolves libvdestack to $resolved"

set +e
out=$(LD_LIBRARY_PATH=$libdir timeout 120 "$work/prog" 2>&1)
rc=$?
set -e
echo "$out"
[ $rc -eq 0 ] || fail "the 0.1.2 program failed with our library (status $rc)"
loaded=$(echo "$out" | sed -n 's/^loaded: //p')
[ -n "$loaded" ] || fail "the program did not map any libvdestack"
[ "$(dirname "$(realpath "$loaded")")" = "$libdir" ] ||
	fail "the program ran with $loaded, not ours from $libdir"
echo "dropin: PASS: Debian-built binary ran with $loaded"
