#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# compare-builds.sh - one vdsbench measurement with two builds of this
# library, alternately, to see what a change does.
#
#   bench/compare-builds.sh [--rounds N] BEFORE_LIBDIR AFTER_LIBDIR ARGS...
#
# BEFORE_LIBDIR and AFTER_LIBDIR hold libvdestack.so.0 and vdestack/ (a copy
# of build/release/lib from each build); ARGS are vdsbench's, e.g.
# "rr --net seqpacket --seconds 3".  Needs build/bench/vdsbench-ours (made
# by bench/run-bench.sh).  Prints each round's value and the medians.
# A report, not a test: it never judges numbers.
set -u
ROUNDS=3
if [ "${1:-}" = --rounds ]; then
	ROUNDS=$2
	shift 2
fi
if [ $# -lt 3 ]; then
	sed -n '4,12p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/bench/vdsbench-ours
BEFORE=$(cd "$1" && pwd) || exit 2
AFTER=$(cd "$2" && pwd) || exit 2
shift 2
[ -x "$BIN" ] || { echo "compare-builds: no $BIN (run bench/run-bench.sh once)" >&2; exit 2; }

# one run: the value= field of vdsbench's result line, or "error"
one() {
	local v
	v=$(cd /tmp && LD_LIBRARY_PATH=$1 timeout -k 5 120 "$BIN" "${@:2}" 2>/dev/null |
		grep -m1 -o ' value=[0-9.]*' | cut -d= -f2)
	echo "${v:-error}"
}

median() {
	tr ' ' '\n' | grep -v '^$' | grep -v error | sort -g |
		awk '{a[NR] = $1} END {if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2); else print "error"}'
}

b=() a=()
for i in $(seq "$ROUNDS"); do
	b+=("$(one "$BEFORE" "$@")")
	a+=("$(one "$AFTER" "$@")")
	echo "round $i: before ${b[-1]}  after ${a[-1]}"
done
mb=$(echo "${b[*]}" | median)
ma=$(echo "${a[*]}" | median)
echo "median: before $mb  after $ma  after/before $(awk -v x="$ma" -v y="$mb" 'BEGIN {if (y + 0 > 0) printf "%.2f", x / y; else print "-"}')"
