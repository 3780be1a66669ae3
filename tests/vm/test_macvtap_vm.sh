#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/test_macvtap_vm.sh - the macvtap integration test on Debian's kernel
#
# usage: tests/vm/test_macvtap_vm.sh [--in-guest]
#
# Boots Debian 12's kernel (6.1) under QEMU with ../shared/vmtest/vmtest
# (relative to the checkout; $VMTEST overrides it) and runs
# build/$VARIANT/tests/integration/test_macvtap there twice: as root (every
# test: veth pairs, macvtaps, the application killed) and as uid 65534
# (creation must fail with EPERM and say why).  The VM has no network
# device but lo: the tests build their LANs in namespaces of their own.
# tests/run-tests.sh runs this script in its root column.
#
# Build first (scons).  Exit status: 0 passed, 1 a test failed, 77 skipped
# (not root, or no vmtest next to the checkout), 124 the VM timed out, 125
# the VM failed to boot.  --in-guest is the part that runs inside the VM.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
VARIANT=${VARIANT:-release}
BIN=build/$VARIANT/tests/integration/test_macvtap

if [ "${1:-}" = --in-guest ]; then
	echo "guest: $(uname -r), $(nproc) CPU"
	chmod 0666 /dev/net/tun || exit 1
	# the checkout may be unreadable for uid 65534: stage what it needs
	STAGE=$(mktemp -d /tmp/vdestack-macvtap.XXXXXX) || exit 1
	mkdir -p "$STAGE/tests/integration"
	cp -a "build/$VARIANT/lib" "$STAGE/lib"
	cp -a "$BIN" "$STAGE/tests/integration/"
	chmod -R a+rX "$STAGE"
	rc=0
	echo "=== test_macvtap as root"
	"$STAGE/tests/integration/test_macvtap" || rc=1
	# indented: tests/run-tests.sh counts the skips of the root run only
	echo "=== test_macvtap as uid 65534 (all but one test skip)"
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin TMPDIR=/tmp \
		"$STAGE/tests/integration/test_macvtap" 2>&1 |
		sed 's/^/    /' || rc=1
	rm -rf "$STAGE"
	exit $rc
fi

VMTEST=${VMTEST:-$TOP/../shared/vmtest/vmtest}
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: vmtest needs root"
	exit 77
fi
if [ ! -f "$VMTEST" ]; then
	echo "SKIP: no vmtest at $VMTEST"
	exit 77
fi
if [ ! -x "$TOP/$BIN" ]; then
	echo "no $TOP/$BIN: build first (scons)" >&2
	exit 1
fi
# vmtest shares $PWD with the guest read-write, at the same path: build/
# must be under it
cd "$TOP" || exit 1
bash "$VMTEST" --timeout "${VMTEST_TIMEOUT:-900}" -- \
	env VARIANT="$VARIANT" tests/vm/test_macvtap_vm.sh --in-guest
