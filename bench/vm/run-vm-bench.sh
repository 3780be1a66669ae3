#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/vm/run-vm-bench.sh - vhost-net against tap, packets per second
#
# usage: bench/vm/run-vm-bench.sh [--variant V] [--cpus N] [--timeout S]
#                                 [--icount] [-- VHOSTBENCH-ARGS...]
#
# Builds bench/vm/vhostbench.c against build/V (build that first), boots
# the vmtest VM (../shared/vmtest/vmtest next to the checkout, or $VMTEST:
# the build machines' kernels have no vhost-net) and runs it there as
# root: a UDP 64-byte flood and a TCP bulk stream between two stacks of
# one backend, tap and vhost-net alternating, MTU 1500 then 9000.
# Default arguments: --seconds 3 --rounds 3.  The output ends with the
# "ratio" lines (vhost-net / tap); everything goes to build/V/vm-bench.log.
# Exit status: vhostbench's in the VM; 77 without vmtest.
#
# Under TCG the VM's speed follows the host's load: with other jobs on the
# machine, rounds of one backend differ by 2x.  --icount makes the guest's
# clock count executed instructions (QEMU -icount shift=0,sleep=off, which
# needs one vCPU and single-threaded TCG): results then measure CPU cost
# per packet, repeat to a few per mille, and ignore the host's load, but
# say nothing about what a second CPU would gain.  vmtest has no option
# for it, so a qemu-system-x86_64 wrapper that adds it goes first in PATH
# for this run.
set -uo pipefail

VARIANT=release
CPUS=1
TIMEOUT=900
ICOUNT=0
while [ $# -gt 0 ]; do
	case $1 in
	--variant) VARIANT=$2; shift 2 ;;
	--cpus) CPUS=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--icount) ICOUNT=1; shift ;;
	--) shift; break ;;
	-h | --help) sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-vm-bench: unknown argument $1" >&2; exit 2 ;;
	esac
done
ARGS=("$@")
[ ${#ARGS[@]} -gt 0 ] || ARGS=(--seconds 3 --rounds 3)

TOP=$(cd "$(dirname "$0")/../.." && pwd)
VMTEST=${VMTEST:-$TOP/../shared/vmtest/vmtest}
BUILD=$TOP/build/$VARIANT
if [ ! -f "$VMTEST" ]; then
	echo "run-vm-bench: SKIP: no vmtest at $VMTEST" >&2
	exit 77
fi
[ -e "$BUILD/lib/vdestack/vhost-net.so" ] || {
	echo "run-vm-bench: build first (scons VARIANT=$VARIANT)" >&2
	exit 2
}
mkdir -p "$BUILD/bench/vm"
BIN=$BUILD/bench/vm/vhostbench
# -march stays generic: the VM's CPU (QEMU TCG) has no AVX
${CC:-gcc} -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -pthread -I"$TOP/include" \
	-o "$BIN" "$TOP/bench/vm/vhostbench.c" -L"$BUILD/lib" -lvdestack \
	-Wl,-rpath,"$BUILD/lib" || exit 2

if [ $ICOUNT -eq 1 ]; then
	QEMU=$(command -v qemu-system-x86_64) || {
		echo "run-vm-bench: no qemu-system-x86_64 (run vmtest --setup)" >&2
		exit 2
	}
	WRAP=$(mktemp -d) || exit 2
	trap 'rm -rf "$WRAP"' EXIT
	cat >"$WRAP/qemu-system-x86_64" <<-EOF
		#!/bin/bash
		args=()
		for a in "\$@"; do
		    [ "\$a" = tcg,thread=multi ] && a=tcg,thread=single
		    args+=("\$a")
		done
		exec "$QEMU" "\${args[@]}" -icount shift=0,sleep=off
	EOF
	chmod +x "$WRAP/qemu-system-x86_64"
	PATH=$WRAP:$PATH
	CPUS=1
fi

cd "$TOP" || exit 2
LOG=$BUILD/vm-bench.log
bash "$VMTEST" --cpus "$CPUS" --timeout "$TIMEOUT" -- sh -c '
	echo "vm: $(uname -r), $(nproc) CPU"
	modprobe vhost_net
	"$0" "$@" --mtu 1500 all && "$0" "$@" --mtu 9000 all' \
	"$BIN" "${ARGS[@]}" 2>&1 | grep -v 'MP-BIOS' | tee "$LOG"
rc=${PIPESTATUS[0]}
echo "run-vm-bench: log in $LOG"
exit "$rc"
