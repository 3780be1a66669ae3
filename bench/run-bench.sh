#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-bench.sh - compare our libvdestack with Debian's 0.1.2 and with veth.
#
# Builds bench/vdsbench.c twice into build/bench/ (against the system's
# libvdestack 0.1.2 and against build/release/lib), runs every test
# alternately upstream/ours (the order flips each round), N rounds, and
# prints medians, the ratio (>1 means ours is better) and a reference:
# the kernel's limit (two plain namespaces joined by veth, needs root) or
# the plain syscall.  A report, not a test: it never judges numbers.
#
# Every run has a timeout; a hang, crash or error is shown as such.  Each run
# is its own process group, killed and waited for afterwards (upstream's
# helpers outlive a killed process for up to 10 s and tear down TAP devices
# slowly): nothing it started survives it.
set -u

usage() {
	cat <<'EOF'
usage: bench/run-bench.sh [--quick] [--runs N] [--seconds S] [--only REGEX]
                          [--ours-libdir DIR] [--ours-env 'VAR=V ...']
                          [--self-test] [--out FILE]
  --quick        1 round, 2 s windows, smaller maxstacks (a smoke run)
  --runs N       rounds per test (default 5; maxstacks always runs once)
  --seconds S    measuring window of tcp/rr/udp/cpu (default 5)
  --only REGEX   run only tests whose id matches (ids: bench/run-bench.sh --list)
  --ours-libdir  directory with our libvdestack.so.0 (default build/release/lib)
  --ours-env     extra environment for our runs, e.g. 'VDESTACK_OPTIONS=backend=tap'
  --self-test    build "ours" against upstream too (to check the harness)
  --out FILE     also write the markdown report there
                 (default build/bench/report.md; raw lines in build/bench/raw.txt)
  --list         print the test ids and exit
Needs root for the veth reference only.
EOF
}

ARGS_ORIG="$*"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUTDIR=$ROOT/build/bench
RUNS=5
SECONDS_WIN=5
QUICK=0
ONLY=
OURS_LIBDIR=$ROOT/build/release/lib
OURS_ENV=
SELFTEST=0
REPORT=$OUTDIR/report.md
LIST=0

while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1; RUNS=1; SECONDS_WIN=2 ;;
	--runs) RUNS=$2; shift ;;
	--seconds) SECONDS_WIN=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--ours-libdir) OURS_LIBDIR=$(cd "$2" && pwd) || exit 1; shift ;;
	--ours-env) OURS_ENV=$2; shift ;;
	--self-test) SELFTEST=1 ;;
	--out) REPORT=$2; shift ;;
	--list) LIST=1 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 1 ;;
	esac
	shift
done
case $RUNS in ''|*[!0-9]*|0) echo "run-bench: --runs wants a positive integer" >&2; exit 1 ;; esac

# ---- the tests ---------------------------------------------------------------
# id | vdsbench arguments | sides (u=upstream o=ours r=veth reference) |
# timeout in seconds | rounds (0 = --runs)
MAXN=10000 MAXS=60
[ $QUICK = 1 ] && MAXN=1000 MAXS=20
TESTS=()
for net in seqpacket switch ptp; do
	TESTS+=("tcp1500_$net|tcp --net $net --mtu 1500 --seconds $SECONDS_WIN|uo|60|0")
	TESTS+=("tcp9000_$net|tcp --net $net --mtu 9000 --seconds $SECONDS_WIN|uo|60|0")
	TESTS+=("rr_$net|rr --net $net --seconds $SECONDS_WIN|uo|60|0")
	TESTS+=("udp_$net|udp --net $net --size 64 --seconds $SECONDS_WIN|uo|60|0")
	TESTS+=("cpu100_$net|cpu --net $net --rate-mbit 100 --seconds $SECONDS_WIN|uo|60|0")
done
TESTS+=("tcp1500_veth|tcp --net veth --mtu 1500 --seconds $SECONDS_WIN|r|60|0"
	"tcp9000_veth|tcp --net veth --mtu 9000 --seconds $SECONDS_WIN|r|60|0"
	"rr_veth|rr --net veth --seconds $SECONDS_WIN|r|60|0"
	"udp_veth|udp --net veth --size 64 --seconds $SECONDS_WIN|r|60|0"
	"cpu100_veth|cpu --net veth --rate-mbit 100 --seconds $SECONDS_WIN|r|60|0"
	"msocket|msocket --iterations 5000|uo|60|0"
	"addstack|addstack --net seqpacket --iterations 100|uo|60|0"
	"addstack_none|addstack --net none --iterations 100|uo|60|0"
	"addstack_1g|addstack --net seqpacket --iterations 100 --resident-mib 1024|uo|60|0"
	"stackcmd|stackcmd --iterations 200|uo|60|0"
	"stackcmd_1g|stackcmd --iterations 100 --resident-mib 1024|uo|60|0"
	"idle|idle --net seqpacket --stacks 50|uo|60|0"
	"maxstacks_1024|maxstacks --nofile 1024 --max $MAXN --seconds $MAXS --stall 10 --timeout 280|uo|300|1"
	"maxstacks_max|maxstacks --nofile max --max $MAXN --seconds $MAXS --stall 10 --timeout 280|uo|300|1")

# Table rows: label | test | field | better (high/low, else no gain) |
# reference test | reference field | reference label
ROWS=()
for net in seqpacket switch ptp; do
	ROWS+=("TCP bulk MTU 1500, $net (Mbit/s)|tcp1500_$net|value|high|tcp1500_veth|value|veth"
	       "TCP bulk MTU 9000, $net (Mbit/s)|tcp9000_$net|value|high|tcp9000_veth|value|veth"
	       "TCP 1-byte request/response, $net (trans/s)|rr_$net|value|high|rr_veth|value|veth"
	       "UDP 64 B delivered, $net (pkt/s)|udp_$net|value|high|udp_veth|value|veth"
	       "CPU per MB, TCP paced at 100 Mbit/s, $net: process + helpers (ms/MB)|cpu100_$net|value|low|cpu100_veth|value|veth"
	       "CPU per MB, same run: whole machine, others' work included (ms/MB)|cpu100_$net|sys_ms_per_mb|low|cpu100_veth|sys_ms_per_mb|veth"
	       "CPU per MB, same run: rate achieved (Mbit/s)|cpu100_$net|achieved_mbps|high|cpu100_veth|achieved_mbps|veth"
	       "CPU per MB, same run: whole machine busy (% of all CPUs)|cpu100_$net|sys_busy_pct|info|cpu100_veth|sys_busy_pct|veth")
done
ROWS+=("vde_msocket+close (us)|msocket|value|low|msocket|host_us|socket+close"
	"socket+close via vde_default_stack (us)|msocket|default_stack_us|low|msocket|host_us|socket+close"
	"vde_addstack+vde_delstack, seqpacket (ms)|addstack|value|low|addstack|ns_floor_ms,ns_exec_floor_ms|bare userns+netns clone / +execve"
	"vde_addstack+vde_delstack, no network (ms)|addstack_none|value|low|addstack_none|ns_floor_ms,ns_exec_floor_ms|bare userns+netns clone / +execve"
	"vde_addstack+vde_delstack, 1 GiB resident (ms)|addstack_1g|value|low|addstack_1g|ns_floor_ms,ns_exec_floor_ms|bare userns+netns clone / +execve"
	"vde_stackcmd(\"/bin/true\") (ms)|stackcmd|value|low|stackcmd|spawn_ms|posix_spawn+wait"
	"vde_stackcmd(\"/bin/true\"), 1 GiB resident (ms)|stackcmd_1g|value|low|stackcmd_1g|spawn_ms|posix_spawn+wait"
	"idle stack: PSS, process + helpers (KiB/stack)|idle|pss_kib_per_stack|low|||"
	"idle stack: kernel slab+stacks+page tables+percpu (KiB/stack)|idle|kmem_kib_per_stack|low|||"
	"idle stack: fds in the process (per stack, seqpacket pairs: 1 is the wire)|idle|fds_per_stack|low|||"
	"idle stack: threads in the process (per stack)|idle|threads_per_stack|low|||"
	"idle stack: helper processes (per stack)|idle|procs_per_stack|low|||"
	"idle stack: tasks, threads + helpers' threads (per stack)|idle|tasks_per_stack|low|||"
	"stacks one process holds, RLIMIT_NOFILE 1024|maxstacks_1024|value|high|||"
	"stacks one process holds, RLIMIT_NOFILE hard limit|maxstacks_max|value|high|||")

if [ $LIST = 1 ]; then
	for t in "${TESTS[@]}"; do echo "${t%%|*}"; done
	exit 0
fi

# ---- build --------------------------------------------------------------------
mkdir -p "$OUTDIR" || exit 1
CFLAGS="-O2 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE"
BIN_U=$OUTDIR/vdsbench-upstream
BIN_O=$OUTDIR/vdsbench-ours
SRC=$ROOT/bench/vdsbench.c

[ -e /usr/include/vdestack.h ] ||
	{ echo "run-bench: /usr/include/vdestack.h missing (apt-get install libvdestack-dev)" >&2; exit 1; }
gcc $CFLAGS -I/usr/include "$SRC" -o "$BIN_U" -lvdestack -lpthread || exit 1
if [ $SELFTEST = 1 ]; then
	cp "$BIN_U" "$BIN_O" || exit 1
	OURS_LIBDIR=
else
	# Snapshot our library with its agent and backends (they are found
	# next to the library file): a rebuild during the run cannot mix
	# versions or make the loader fall back to the system's copy.
	for _ in $(seq 60); do
		[ -e "$OURS_LIBDIR/libvdestack.so.0" ] && break
		sleep 1
	done
	[ -e "$OURS_LIBDIR/libvdestack.so.0" ] ||
		{ echo "run-bench: $OURS_LIBDIR/libvdestack.so.0 missing (run scons first, or --self-test)" >&2; exit 1; }
	SNAP=$OUTDIR/ours-lib
	rm -rf "$SNAP" && mkdir -p "$SNAP" &&
		cp -a "$OURS_LIBDIR"/libvdestack.so* "$SNAP"/ &&
		{ [ ! -d "$OURS_LIBDIR/vdestack" ] || cp -a "$OURS_LIBDIR/vdestack" "$SNAP"/; } ||
		exit 1
	OURS_SRC=$OURS_LIBDIR
	OURS_LIBDIR=$SNAP
	gcc $CFLAGS -I"$ROOT/include" "$SRC" -o "$BIN_O" \
		-L"$OURS_LIBDIR" -l:libvdestack.so.0 -lpthread || exit 1
fi

# ---- running ----------------------------------------------------------------
WORK=$(mktemp -d /tmp/vdsbench-run.XXXXXX) || exit 1
RAW=$OUTDIR/raw.txt
CUR_PGID=

# group_alive() - whether any process of process group $1 is left.
group_alive() {
	ps -e -o pgid= | grep -qx " *$1"
}

# reap_group() - SIGKILL process group $1 and wait (up to 180 s) until its
# last process is gone: killed TAP owners may take a while in the kernel.
reap_group() {
	local _
	kill -KILL -- "-$1" 2>/dev/null
	for _ in $(seq 1800); do
		group_alive "$1" || return 0
		sleep 0.1
	done
	echo "run-bench: process group $1 still alive after 180 s" >&2
	return 1
}

# leftovers() - pids of processes running our binaries or anything from
# our library directory (the agent), i.e. what a run may have left behind.
leftovers() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case $exe in
		"$BIN_U"|"$BIN_O") echo "${p#/proc/}" ;;
		"$OURS_LIBDIR"/*) [ -n "$OURS_LIBDIR" ] && echo "${p#/proc/}" ;;
		esac
	done
}

cleanup() {
	[ -n "$CUR_PGID" ] && reap_group "$CUR_PGID"
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "run-bench: interrupted" >&2; exit 130' INT TERM

# run_one() - run test $1 on side $2 (u/o/r), round $3; append to $RAW:
# "test=.. side=.. run=.. rc=.. wall_s=.. <the result line or a failure>".
run_one() {
	local id=$1 side=$2 round=$3 args=$4 tmo=$5 bin envs=() rc t0 t1 line left
	case $side in
	u) bin=$BIN_U; envs=(env -u LD_LIBRARY_PATH) ;;
	r) bin=$BIN_U; envs=(env -u LD_LIBRARY_PATH) ;;
	o) bin=$BIN_O
	   if [ -n "$OURS_LIBDIR" ]; then
		   # shellcheck disable=SC2206
		   envs=(env LD_LIBRARY_PATH="$OURS_LIBDIR" $OURS_ENV)
	   else
		   envs=(env -u LD_LIBRARY_PATH)
	   fi ;;
	esac
	t0=$(date +%s.%N)
	# timeout makes its own process group (pgid = its pid) unless
	# --foreground: everything the run starts stays in it.
	TMPDIR=$WORK "${envs[@]}" timeout -k 5 "$tmo" "$bin" $args \
		>"$WORK/out" 2>"$WORK/err" &
	CUR_PGID=$!
	wait $CUR_PGID
	rc=$?
	reap_group $CUR_PGID
	CUR_PGID=
	t1=$(date +%s.%N)
	rm -rf "${WORK:?}"/vdsbench.*
	# Anything that escaped the process group: give it 10 s, then name
	# it in the result and kill it (by pid: we started it).
	left=$(leftovers)
	for _ in $(seq 100); do
		[ -z "$left" ] && break
		sleep 0.1
		left=$(leftovers)
	done
	[ -n "$left" ] && kill -KILL $left 2>/dev/null
	line=$(grep -m1 ' status=\(hang\|error\)' "$WORK/out" ||
	       grep -m1 '^metric=' "$WORK/out")
	if [ -z "$line" ] || { [ $rc -ne 0 ] && ! echo "$line" | grep -q ' status=\(hang\|error\)'; }; then
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			line="status=timeout reason=\"no answer in ${tmo}s\""
		elif [ $rc -gt 128 ]; then
			line="status=crash signal=$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
		else
			line="status=error reason=\"exit $rc, no result line\""
		fi
		line="$line stderr=\"$(head -c 200 "$WORK/err" | tr '\n"' ' _')\""
	fi
	# Check each binary ran with the library it was built for.
	case $side$line in
	o*lib=/usr/lib*) [ -n "$OURS_LIBDIR" ] &&
		{ echo "run-bench: 'ours' ran with the system library: $line" >&2; exit 1; } ;;
	u*lib=$ROOT/*) echo "run-bench: 'upstream' ran with ours: $line" >&2; exit 1 ;;
	esac
	[ -n "$left" ] && line="$line leftover_pids=$(echo $left | tr ' ' ,)"
	printf 'test=%s side=%s run=%s rc=%s wall_s=%.1f %s\n' "$id" "$side" \
		"$round" "$rc" "$(awk "BEGIN {print $t1 - $t0}")" "$line" >>"$RAW"
	printf '  %-20s %-8s round %s: %s\n' "$id" \
		"$(case $side in u) echo upstream;; o) echo ours;; r) echo veth;; esac)" \
		"$round" "$(echo "$line" | sed 's/ lib=[^ ]*//')" >&2
}

IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1
START=$(date -u '+%Y-%m-%d %H:%M UTC')
: >"$RAW"
for t in "${TESTS[@]}"; do
	IFS='|' read -r id args sides tmo rounds <<<"$t"
	[ -n "$ONLY" ] && ! [[ $id =~ $ONLY ]] && continue
	[ "$rounds" = 0 ] && rounds=$RUNS
	if [ "$sides" = r ] && [ $IS_ROOT = 0 ]; then
		echo "test=$id side=r run=1 rc=0 wall_s=0 status=skipped reason=\"needs root\"" >>"$RAW"
		continue
	fi
	for r in $(seq "$rounds"); do
		order=$sides
		[ "$sides" = uo ] && [ $((r % 2)) = 0 ] && order=ou
		for side in $(echo "$order" | grep -o .); do
			run_one "$id" "$side" "$r" "$args" "$tmo"
		done
	done
done

# ---- report -----------------------------------------------------------------
CPU=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/.*: //')
MEM=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
THP=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)
VDEPLUG=$(dpkg-query -W -f='${Version}' libvdeplug2 2>/dev/null)
UPVER=$(dpkg-query -W -f='${Version}' libvdestack0 2>/dev/null)
OURS_DESC="${OURS_SRC:-}/libvdestack.so.0 (snapshot sha256 $(sha256sum "$OURS_LIBDIR/libvdestack.so.0" 2>/dev/null | cut -c1-12), taken at start)"
[ $SELFTEST = 1 ] && OURS_DESC="upstream again (--self-test)"
[ -n "$OURS_ENV" ] && OURS_DESC="$OURS_DESC with $OURS_ENV"

report() {
	echo "## libvdestack benchmark, $START"
	echo
	echo "- machine: $CPU, $(nproc) CPUs, $MEM RAM, kernel $(uname -r), THP $THP"
	echo "- upstream: Debian libvdestack0 $UPVER; libvdeplug $VDEPLUG"
	echo "- ours: $OURS_DESC"
	echo "- ours used backend(s): $(grep -o ' side=o .* backend=[^ ]*' "$RAW" | sed 's/.* backend=//' | sort -u | tr '\n' ' ')"
	echo "- command: bench/run-bench.sh $ARGS_ORIG (as $(id -un))"
	echo "- $RUNS round(s) per test, alternating upstream/ours (maxstacks: 1);" \
		"tcp/rr/udp/cpu window ${SECONDS_WIN} s after a warm-up"
	echo
	echo "Medians, with the range over rounds in small print. **gain** =" \
		"ours/upstream for rates and counts, upstream/ours for times," \
		"sizes and CPU per MB (of the medians): **>1 means ours is better**."
	echo
	echo "| metric | upstream 0.1.2 | ours | gain | reference |"
	echo "| --- | ---: | ---: | ---: | --- |"
	for row in "${ROWS[@]}"; do
		printf '%s\n' "$row"
	done | awk -v raw="$RAW" -F'|' '
	function num(s) { return s ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ }
	function field(line, key,   re, m) {
		if (match(line, "(^| )" key "=(\"[^\"]*\"|[^ ]*)")) {
			m = substr(line, RSTART, RLENGTH); sub(/^ /, "", m)
			sub(key "=", "", m); gsub(/"/, "", m); return m
		}
		return ""
	}
	function med(arr, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && arr[j - 1] > arr[j]; j--) {
				t = arr[j]; arr[j] = arr[j - 1]; arr[j - 1] = t
			}
		return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
	}
	function fmt(v) {
		if (v == int(v)) return sprintf("%d", v)
		if (v >= 1000) return sprintf("%.0f", v)
		if (v >= 100) return sprintf("%.1f", v)
		if (v >= 10) return sprintf("%.2f", v)
		return sprintf("%.3g", v)
	}
	# cell(): median of key over ok runs, or what went wrong.
	function cell(test, side, key,   i, n, nok, arr, st, v, bad, where, c) {
		n = 0; nok = 0; bad = ""; delete arr
		for (i = 1; i <= nlines; i++) {
			if (ltest[i] != test || lside[i] != side) continue
			n++
			st = field(lines[i], "status")
			v = field(lines[i], key)
			if (st == "ok" && num(v)) { arr[++nok] = v + 0; continue }
			if (st == "hang" && key == "value" && test ~ /^maxstacks/ && num(v)) {
				# the count reached before the next stack hung
				arr[++nok] = v + 0
				bad = "then " field(lines[i], "where") " hangs"
				continue
			}
			if (st == "skipped") { bad = field(lines[i], "reason"); continue }
			where = field(lines[i], "where"); c = toupper(st)
			if (st == "crash") c = c " " field(lines[i], "signal")
			if (where != "") c = c " in " where
			else if (field(lines[i], "reason") != "") c = c ": " field(lines[i], "reason")
			bad = bad (bad == "" ? "" : "; ") c
		}
		if (n == 0) { cval = ""; return "not run" }
		if (nok == 0) { cval = ""; return bad }
		cval = med(arr, nok)
		c = fmt(cval)
		# med() sorted arr: show the spread when rounds differ
		if (nok > 1 && fmt(arr[1]) != fmt(arr[nok]))
			c = c " <sub>" fmt(arr[1]) "–" fmt(arr[nok]) "</sub>"
		if (test ~ /^maxstacks/) {
			# a count: say why it stopped
			for (i = 1; i <= nlines; i++)
				if (ltest[i] == test && lside[i] == side &&
				    field(lines[i], "status") == "ok")
					bad = "stopped by " field(lines[i], "reason")
			return c " (" bad ")"
		}
		if (bad != "") return c " (" nok "/" n " ok; " bad ")"
		return c
	}
	BEGIN {
		while ((getline l < raw) > 0) {
			nlines++; lines[nlines] = l
			ltest[nlines] = field(l, "test"); lside[nlines] = field(l, "side")
		}
	}
	{
		label = $1; test = $2; key = $3; better = $4
		rtest = $5; rkey = $6; rlabel = $7
		cu = cell(test, "u", key); vu = cval
		co = cell(test, "o", key); vo = cval
		if (cu == "not run" && co == "not run") next
		gain = ""
		if (vu != "" && vo != "" && better ~ /^(high|low)$/) {
			if (better == "high" && vu > 0) gain = sprintf("%.2f", vo / vu)
			else if (better == "low" && vo > 0) gain = sprintf("%.2f", vu / vo)
			else gain = "n/a"
		}
		ref = ""
		if (rtest != "") {
			nk = split(rkey, rkeys, ",")
			for (k = 1; k <= nk; k++) {
				if (rtest == test) {
					# same runs, both sides: pool the medians
					ca = cell(test, "u", rkeys[k]); va = cval
					cb = cell(test, "o", rkeys[k]); vb = cval
					if (va != "" && vb != "") r1 = fmt((va + vb) / 2)
					else if (va != "") r1 = fmt(va)
					else r1 = ca
				} else {
					r1 = cell(rtest, "r", rkeys[k])
				}
				ref = ref (k > 1 ? " / " : "") r1
			}
			ref = ref " " rlabel
		}
		printf "| %s | %s | %s | %s | %s |\n", label, cu, co, gain, ref
	}'
	echo
	echo "Raw result lines: build/bench/raw.txt."
	if grep -q '^test=maxstacks' "$RAW"; then
		echo
		echo '```'
		grep '^test=maxstacks' "$RAW" | sed 's/ lib=[^ ]*//'
		echo '```'
	fi
}

mkdir -p "$(dirname "$REPORT")"
report | tee "$REPORT"
