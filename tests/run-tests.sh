#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/run-tests.sh - run the test suite as root and as an unprivileged user
#
# usage: tests/run-tests.sh [--variant V] [--root-only|--unprivileged-only]
#                           [--filter GLOB] [--verbose]
#
# Runs every build/V/tests/unit/test_* and build/V/tests/integration/test_*
# binary and the drop-in test (tests/dropin/run.sh), each under
# "timeout 300", first as the current user, then as uid/gid 65534 through
# setpriv(1).  The checkout may sit where that user cannot enter, so the
# binaries, build/V/lib (library, agent, backends) and the drop-in test are
# staged in a mktemp(1) directory that everyone can read; both runs use
# that copy.  For the unprivileged run, /dev/net/tun is made mode 0666 and
# restored on exit.  Scripts tests/*/test_*.sh (they may build) run in the
# root column only.
#
# --filter GLOB        only binaries whose name (e.g. integration/test_x)
#                      matches GLOB; VDESTACK_TEST_FILTER='*name*' selects
#                      tests inside a binary
# --verbose            print every log, not only those of failures
#
# Logs: build/V/test-logs/{root,unprivileged}/<binary>.log.  Exit status 0
# if nothing failed, 1 otherwise, 2 on usage errors.  Nothing is left
# behind: the staging directory is removed, and processes that outlive
# their test (found by the run's environment marker or by executable path
# in the staging directory) are reported as failures and killed by pid.
set -uo pipefail

UNPRIV_ID=65534
TIMEOUT=300

usage() {
	sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit "${1:-2}"
}

die() {
	echo "run-tests: $*" >&2
	exit 2
}

VARIANT=release
RUN_ROOT=1
RUN_UNPRIV=1
FILTER='*'
VERBOSE=0
while [ $# -gt 0 ]; do
	case $1 in
	--variant) [ $# -ge 2 ] || usage; VARIANT=$2; shift 2 ;;
	--variant=*) VARIANT=${1#*=}; shift ;;
	--root-only) RUN_UNPRIV=0; shift ;;
	--unprivileged-only) RUN_ROOT=0; shift ;;
	--filter) [ $# -ge 2 ] || usage; FILTER=$2; shift 2 ;;
	--filter=*) FILTER=${1#*=}; shift ;;
	-v | --verbose) VERBOSE=1; shift ;;
	-h | --help) usage 0 ;;
	*) usage ;;
	esac
done
[ $RUN_ROOT -eq 1 ] || [ $RUN_UNPRIV -eq 1 ] ||
	die "--root-only and --unprivileged-only exclude each other"

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$TOP/build/$VARIANT
[ -e "$BUILD/lib/libvdestack.so.0" ] ||
	die "no $BUILD/lib/libvdestack.so.0: build first (scons VARIANT=$VARIANT)"

SELF_COL=root
if [ "$(id -u)" != 0 ]; then
	# Not root: one run as this user, in the unprivileged column.
	SELF_COL=unprivileged
	if [ $RUN_UNPRIV -eq 0 ]; then
		die "--root-only needs root"
	fi
	RUN_ROOT=1
	RUN_UNPRIV=0
	echo "run-tests: not root: running once as $(id -un)"
elif [ $RUN_UNPRIV -eq 1 ] && ! command -v setpriv >/dev/null; then
	die "setpriv (util-linux) is needed for the unprivileged run"
fi

# ------------------------------------------------------------- leftovers
# pids of processes of this run still alive: marker in their environment,
# or an executable in the staging directory
leftover_pids() {
	local p exe
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = $$ ] && continue
		[ "$p" = "$BASHPID" ] && continue
		exe=$(readlink "/proc/$p/exe" 2>/dev/null) || exe=
		if [[ $exe == "$STAGE"/* ]] ||
			{ tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null |
			grep -qxF "$MARKER"; then
			echo "$p"
		fi
	done
}

# kill_leftovers [quiet] - kill them by pid; status 1 if there were any
kill_leftovers() {
	local pids p found=0
	pids=$(leftover_pids)
	for p in $pids; do
		found=1
		[ "${1:-}" = quiet ] ||
			echo "run-tests: leftover process $p:" \
				"$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null)"
		kill -KILL "$p" 2>/dev/null
	done
	return $found
}

# ------------------------------------------------------------------ staging
if [ "$(id -u)" = 0 ]; then
	# Runs as root change /dev/net/tun's mode: two at once would restore
	# each other's 0666.  One at a time (fd 9, closed for the tests).
	LOCK=/run/lock/vdestack-run-tests.lock
	[ -d /run/lock ] || LOCK=/tmp/vdestack-run-tests.lock
	exec 9>"$LOCK" || die "cannot open $LOCK"
	if ! flock -n 9; then
		echo "run-tests: waiting for another run (lock $LOCK)"
		flock -w 3600 9 || die "another run holds $LOCK"
	fi
fi

RUNDIR=$(mktemp -d /tmp/vdestack-tests.XXXXXX) || die "mktemp failed"
STAGE=$RUNDIR/stage
MARKER=VDESTACK_TEST_RUN=$RUNDIR
TUN_MODE=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$TUN_MODE" ]; then
		chmod "$TUN_MODE" /dev/net/tun
	fi
	kill_leftovers quiet
	rm -rf "$RUNDIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

chmod 0755 "$RUNDIR"
mkdir -p "$STAGE/tests" "$RUNDIR/tmp" "$RUNDIR/home"
chmod 1777 "$RUNDIR/tmp"
[ "$(id -u)" = 0 ] && chown "$UNPRIV_ID:$UNPRIV_ID" "$RUNDIR/home"
cp -a "$BUILD/lib" "$STAGE/lib"
for d in unit integration plugins; do
	if [ -d "$BUILD/tests/$d" ]; then
		mkdir -p "$STAGE/tests/$d"
		find "$BUILD/tests/$d" -maxdepth 1 -type f ! -name '*.o' \
			! -name '*.os' -exec cp -a {} "$STAGE/tests/$d/" \;
	fi
done
mkdir -p "$STAGE/dropin"
cp -a "$TOP/tests/dropin/run.sh" "$TOP/tests/dropin/prog.c" "$STAGE/dropin/"
chmod -R a+rX "$STAGE"

LOGS=$BUILD/test-logs
rm -rf "$LOGS" 2>/dev/null
mkdir -p "$LOGS/root" "$LOGS/unprivileged" 2>/dev/null
if [ ! -w "$LOGS/root" ] || [ ! -w "$LOGS/unprivileged" ]; then
	# a build tree we cannot write (another user's): keep logs in /tmp
	LOGS=$(mktemp -d /tmp/vdestack-test-logs.XXXXXX) || die "mktemp failed"
	mkdir -p "$LOGS/root" "$LOGS/unprivileged"
fi

# ------------------------------------------------------------ what to run
# entries: "name|kind" ; kind: bin (staged binary), dropin, script
ENTRIES=()
for d in unit integration; do
	for f in "$STAGE/tests/$d"/test_*; do
		{ [ -f "$f" ] && [ -x "$f" ]; } || continue
		ENTRIES+=("$d/$(basename "$f")|bin")
	done
done
# The drop-in test and the scripts check the release build as shipped
# (uninstrumented programs cannot load a sanitizer-built library).
case $VARIANT in
asan | ubsan | tsan) ;;
*)
	ENTRIES+=("dropin/run.sh|dropin")
	for f in "$TOP"/tests/*/test_*.sh; do
		[ -f "$f" ] || continue
		ENTRIES+=("${f#"$TOP"/tests/}|script")
	done
	;;
esac

SELECTED=()
for e in "${ENTRIES[@]}"; do
	name=${e%%|*}
	# shellcheck disable=SC2053
	[[ $name == $FILTER ]] && SELECTED+=("$e")
done
[ ${#SELECTED[@]} -gt 0 ] || die "no test matches '$FILTER'"

# --------------------------------------------------------------- running
declare -A RESULT
FAILED=0

# run_entry COLUMN ENTRY
run_entry() {
	local col=$1 name=${2%%|*} kind=${2##*|}
	local log=$LOGS/$col/${name//\//_}.log rc res skipped
	local envv=(LD_LIBRARY_PATH="$STAGE/lib" TMPDIR="$RUNDIR/tmp" "$MARKER")
	local v
	for v in VDESTACK_TEST_FILTER VDESTACK_DEBUG ASAN_OPTIONS \
		UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && envv+=("$v=${!v}")
	done
	local cmd
	case $kind in
	bin) cmd=("$STAGE/tests/$name") ;;
	dropin) cmd=("$STAGE/dropin/run.sh" "$STAGE/lib") ;;
	script) cmd=(env VARIANT="$VARIANT" "$TOP/tests/$name") ;;
	esac

	if [ "$col" = unprivileged ] && [ "$SELF_COL" = root ]; then
		if [ "$kind" = script ]; then
			RESULT[$col:$name]=-
			return
		fi
		# a clean environment: nothing of root's leaks in
		timeout -k 10 $TIMEOUT setpriv --reuid=$UNPRIV_ID \
			--regid=$UNPRIV_ID --clear-groups \
			env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
			HOME="$RUNDIR/home" LANG=C.UTF-8 "${envv[@]}" \
			"${cmd[@]}" </dev/null >"$log" 2>&1 9>&-
		rc=$?
	else
		env "${envv[@]}" timeout -k 10 $TIMEOUT "${cmd[@]}" \
			</dev/null >"$log" 2>&1 9>&-
		rc=$?
	fi

	skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s).*/\1/p' "$log" |
		tail -n1)
	case $rc in
	0) res=PASS; [ -n "$skipped" ] && res="PASS ($skipped skipped)" ;;
	77) res=SKIP ;;
	124 | 137) res="TIMEOUT (${TIMEOUT}s)" ;;
	*) res="FAIL ($rc)" ;;
	esac
	if ! kill_leftovers >>"$log"; then
		res="FAIL (leftover processes)"
		rc=1
	fi
	if [ -n "$(ls -A "$RUNDIR/tmp")" ]; then
		echo "run-tests: left in TMPDIR: $(ls -A "$RUNDIR/tmp")" >>"$log"
		rm -rf "${RUNDIR:?}/tmp/"* "$RUNDIR"/tmp/.[!.]* 2>/dev/null
		[[ $res == PASS* ]] && res="FAIL (left files in TMPDIR)"
	fi
	RESULT[$col:$name]=$res
	case $res in
	PASS* | SKIP) ;;
	*) FAILED=1 ;;
	esac
	printf '  %-13s %-44s %s\n' "$col" "$name" "$res"
	if [ $VERBOSE -eq 1 ] || { [[ $res != PASS* ]] && [ "$res" != SKIP ]; }; then
		if [[ $res == PASS* ]] || [ "$res" = SKIP ]; then
			sed 's/^/      | /' "$log"
		else
			# the failing tests and their messages, not every OK line
			grep -v '^\[       OK \]\|^\[ RUN      \]' "$log" |
				tail -n 60 | sed 's/^/      | /'
			echo "      (full log: $log)"
		fi
	fi
}

if [ $RUN_ROOT -eq 1 ]; then
	echo "run-tests: as $(id -un) (uid $(id -u)), variant $VARIANT"
	for e in "${SELECTED[@]}"; do
		run_entry "$SELF_COL" "$e"
	done
fi

if [ $RUN_UNPRIV -eq 1 ]; then
	if [ -e /dev/net/tun ]; then
		TUN_MODE=$(stat -c %a /dev/net/tun)
		chmod 0666 /dev/net/tun
	fi
	echo "run-tests: as uid/gid $UNPRIV_ID via setpriv, staged in $STAGE"
	for e in "${SELECTED[@]}"; do
		run_entry unprivileged "$e"
	done
	if [ -n "$TUN_MODE" ]; then
		chmod "$TUN_MODE" /dev/net/tun
		TUN_MODE=
	fi
fi

# ---------------------------------------------------------------- summary
echo
printf '%-46s %-26s %s\n' binary root "unprivileged (uid $UNPRIV_ID)"
printf '%-46s %-26s %s\n' ------ ---- ------------
for e in "${SELECTED[@]}"; do
	name=${e%%|*}
	printf '%-46s %-26s %s\n' "$name" "${RESULT[root:$name]:--}" \
		"${RESULT[unprivileged:$name]:--}"
done
echo
if [ $FAILED -ne 0 ]; then
	echo "run-tests: FAILED (logs in $LOGS)"
	exit 1
fi
echo "run-tests: all passed"
exit 0
