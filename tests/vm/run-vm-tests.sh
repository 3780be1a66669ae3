#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/run-vm-tests.sh - the tests that need vhost-net, in a VM
#
# usage: tests/vm/run-vm-tests.sh [--variant V] [--timeout SECS] [--cpus N]
#                                 [--quick]
#
# Our build machines' kernels have no vhost-net, so this boots Debian's
# kernel under QEMU with ../shared/vmtest/vmtest (relative to the checkout,
# as in CI; $VMTEST overrides it) and runs tests/vm/guest.sh there, which
# runs build/V/tests/vm/test_vhost as root, as an unprivileged user in the
# group owning /dev/vhost-net and as that user without it, and (unless
# --quick) the transport, defect and lifecycle integration tests with
# every stack forced to vhost-net.  Build first (scons); the caller runs
# "vmtest --setup" once (it needs root and the network).
#
# Output: one line per run and the failing tests; full logs in
# build/V/vm-logs/ (not test-logs/, which
# tests/run-tests.sh empties).  Exit status: 0 all passed, 1 a test failed,
# 2 usage or build missing, 77 skipped (no vmtest next to the checkout),
# 124 the VM timed out, 125 the VM failed to boot.
set -uo pipefail

VARIANT=release
TIMEOUT=1800
CPUS=1
QUICK=0
usage() {
	sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit "${1:-2}"
}
while [ $# -gt 0 ]; do
	case $1 in
	--variant) [ $# -ge 2 ] || usage; VARIANT=$2; shift 2 ;;
	--variant=*) VARIANT=${1#*=}; shift ;;
	--timeout) [ $# -ge 2 ] || usage; TIMEOUT=$2; shift 2 ;;
	--timeout=*) TIMEOUT=${1#*=}; shift ;;
	--cpus) [ $# -ge 2 ] || usage; CPUS=$2; shift 2 ;;
	--cpus=*) CPUS=${1#*=}; shift ;;
	--quick) QUICK=1; shift ;;
	-h | --help) usage 0 ;;
	*) usage ;;
	esac
done

TOP=$(cd "$(dirname "$0")/../.." && pwd)
VMTEST=${VMTEST:-$TOP/../shared/vmtest/vmtest}
if [ ! -f "$VMTEST" ]; then
	echo "run-vm-tests: SKIP: no vmtest at $VMTEST (the vhost-net tests" \
		"need it: it boots a kernel that has vhost-net)"
	exit 77
fi
BUILD=$TOP/build/$VARIANT
for f in "$BUILD/tests/vm/test_vhost" "$BUILD/lib/vdestack/vhost-net.so"; do
	if [ ! -e "$f" ]; then
		echo "run-vm-tests: no $f: build first (scons VARIANT=$VARIANT)" >&2
		exit 2
	fi
done

# vmtest shares $PWD read-write with the guest: the checkout, so the guest
# writes its logs into build/.
cd "$TOP" || exit 2
echo "run-vm-tests: booting a VM ($CPUS CPU, timeout ${TIMEOUT}s)"
bash "$VMTEST" --timeout "$TIMEOUT" --cpus "$CPUS" -- \
	bash "$TOP/tests/vm/guest.sh" "$VARIANT" "$QUICK"
rc=$?
case $rc in
0) echo "run-vm-tests: all passed" ;;
124) echo "run-vm-tests: the VM timed out after ${TIMEOUT}s" ;;
125) echo "run-vm-tests: the VM failed (no boot, or a kernel panic)" ;;
*) echo "run-vm-tests: FAILED (logs in $BUILD/vm-logs)"; rc=1 ;;
esac
exit $rc
