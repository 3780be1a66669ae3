#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/guest.sh - runs inside the vmtest VM, as root (see run-vm-tests.sh)
#
# usage: guest.sh VARIANT QUICK
#
# Gives /dev/vhost-net to group kvm, mode 0660, as Debian's udev does
# (creating the group in the VM's throw-away /etc if the host has none),
# makes /dev/net/tun 0666, stages build/VARIANT where uid 65534 can read it,
# then runs the test binaries as root, as uid 65534 in group kvm and as
# uid 65534 without it.  Exit status: 0 if every run passed, else 1.
set -uo pipefail

VARIANT=$1
QUICK=${2:-0}
UNPRIV=65534
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$TOP/build/$VARIANT
LOGS=$BUILD/vm-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"

echo "guest: $(uname -r), $(nproc) CPU"
modprobe vhost_net 2>/dev/null
if [ ! -c /dev/vhost-net ]; then
	echo "guest: no /dev/vhost-net in the VM" >&2
	exit 1
fi
getent group kvm >/dev/null || groupadd --system kvm ||
	echo "kvm:x:990:" >>/etc/group
KVM_GID=$(getent group kvm | cut -d: -f3)
chgrp kvm /dev/vhost-net && chmod 0660 /dev/vhost-net && chmod 0666 /dev/net/tun ||
	exit 1
ls -l /dev/vhost-net /dev/net/tun

# the checkout may be unreadable for uid 65534 (CI clones as root)
STAGE=$(mktemp -d /tmp/vdestack-vm.XXXXXX) || exit 1
chmod 0755 "$STAGE"
cp -a "$BUILD/lib" "$STAGE/lib"
mkdir -p "$STAGE/tests/vm" "$STAGE/tests/integration" "$STAGE/tmp" "$STAGE/home"
cp -a "$BUILD/tests/vm/test_vhost" "$STAGE/tests/vm/"
FORCED=(test_transport test_defects test_lifecycle)
for t in "${FORCED[@]}"; do
	[ -x "$BUILD/tests/integration/$t" ] &&
		cp -a "$BUILD/tests/integration/$t" "$STAGE/tests/integration/"
done
chmod -R a+rX "$STAGE"
chmod 1777 "$STAGE/tmp"
chown "$UNPRIV:$UNPRIV" "$STAGE/home"

FAILED=0
# run LABEL EXPECT WHO BINARY [VAR=VALUE...]
#   WHO: root | kvm (uid 65534 in group kvm) | nogroup (uid 65534 alone)
run() {
	local label=$1 expect=$2 who=$3 bin=$4
	shift 4
	local log=$LOGS/$label.log rc res skipped
	local envv=(PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8
		TMPDIR="$STAGE/tmp" VDESTACK_VHOST_EXPECT="$expect" "$@")
	local start=$SECONDS
	case $who in
	root)
		env -i HOME=/root "${envv[@]}" timeout -k 10 900 "$STAGE/$bin" \
			</dev/null >"$log" 2>&1 ;;
	kvm)
		setpriv --reuid=$UNPRIV --regid=$UNPRIV --groups="$KVM_GID" \
			env -i HOME="$STAGE/home" "${envv[@]}" \
			timeout -k 10 900 "$STAGE/$bin" </dev/null >"$log" 2>&1 ;;
	nogroup)
		setpriv --reuid=$UNPRIV --regid=$UNPRIV --clear-groups \
			env -i HOME="$STAGE/home" "${envv[@]}" \
			timeout -k 10 900 "$STAGE/$bin" </dev/null >"$log" 2>&1 ;;
	esac
	rc=$?
	skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s)\..*/\1/p' "$log" |
		tail -n1)
	case $rc in
	0) res=PASS; [ -n "$skipped" ] && res="PASS ($skipped skipped)" ;;
	124 | 137) res=TIMEOUT; FAILED=1 ;;
	*) res="FAIL ($rc)"; FAILED=1 ;;
	esac
	printf '  %-44s %-22s %4ds\n' "$label" "$res" $((SECONDS - start))
	if [[ $res != PASS* ]]; then
		grep -v '^\[       OK \]\|^\[ RUN      \]' "$log" | tail -n 40 |
			sed 's/^/      | /'
	fi
	# the notes (measured stats, messages checked) are worth keeping
	grep '^  note:' "$log" | head -n 8 | sed 's/^/      /'
}

echo "guest: test_vhost"
run root-usable usable root tests/vm/test_vhost
run uid$UNPRIV-group-kvm-usable usable kvm tests/vm/test_vhost
run uid$UNPRIV-no-group-denied denied nogroup tests/vm/test_vhost

if [ "$QUICK" != 1 ]; then
	echo "guest: integration tests, every stack forced to vhost-net"
	for t in "${FORCED[@]}"; do
		[ -x "$STAGE/tests/integration/$t" ] || continue
		run "root-forced-$t" usable root "tests/integration/$t" \
			VDESTACK_OPTIONS=backend=vhost-net
	done
fi
rm -rf "$STAGE"
[ $FAILED -eq 0 ]
