#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/macvtap/run.sh - throughput of a macvtap stack vs the veth limit
#
# usage: bench/macvtap/run.sh [--libdir DIR] [mvtbench options...]
#   --libdir DIR   our libvdestack.so.0 (default build/release/lib; its
#                  vdestack/ directory must hold macvtap.so)
#   mvtbench options: --seconds S (3), --runs N (3), --mtu M (1500)
#
# Builds bench/macvtap/mvtbench.c into build/bench/macvtap/ against DIR and
# runs it as root (it makes its own network namespaces; nothing is left on
# the host).  Prints the median TCP throughput of a stack on
# macvtap://vh0 talking to the veth peer of vh0, of two plain namespaces
# joined by veth (the kernel's limit), and the ratio.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIBDIR=$ROOT/build/release/lib
if [ "${1:-}" = --libdir ]; then
	LIBDIR=$(cd "$2" && pwd)
	shift 2
fi
[ -e "$LIBDIR/libvdestack.so.0" ] ||
	{ echo "run.sh: no $LIBDIR/libvdestack.so.0: build first (scons)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root" >&2; exit 1; }
OUT=$ROOT/build/bench/macvtap
mkdir -p "$OUT"
${CC:-gcc} -O2 -Wall -Wextra -D_GNU_SOURCE -pthread -I"$ROOT/include" \
	-o "$OUT/mvtbench" "$ROOT/bench/macvtap/mvtbench.c" \
	-L"$LIBDIR" -Wl,-rpath,"$LIBDIR" -lvdestack
# the veth reference needs no library, but the same process runs both
timeout 600 "$OUT/mvtbench" "$@"
