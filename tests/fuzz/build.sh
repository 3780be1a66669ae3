#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/fuzz/build.sh [SECONDS] - build the libFuzzer targets into build/fuzz/
# and run each for SECONDS (default 30) on a copy of its seed corpus.
# Exit status: 0 if every target ran clean, 1 on a crash or build failure.
# Crash inputs are left in build/fuzz/ as crash-* (or leak-*, timeout-*).
#
# Needs clang with libFuzzer (Debian: clang, libclang-rt-14-dev).
set -eu

secs=${1:-30}
top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/fuzz"
cc=${CC_FUZZ:-clang}
cflags="-std=gnu11 -g -O1 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
	-fno-omit-frame-pointer -I$top/include -I$top/core"

mkdir -p "$out"
status=0

# fuzz TARGET MAXLEN: build fuzz_TARGET, run it on a fresh corpus copy.
# MAXLEN reaches a little past the parser's own input limit.
fuzz() {
	t=$1
	corpus="$out/corpus-$t"
	# shellcheck disable=SC2086 # cflags is a word list
	$cc $cflags "$top/tests/fuzz/fuzz_$t.c" -o "$out/fuzz_$t"
	rm -rf "$corpus"
	mkdir -p "$corpus"
	cp "$top/tests/fuzz/corpus/$t/"* "$corpus/"
	echo "== fuzz_$t for ${secs}s"
	if ! (cd "$out" && "./fuzz_$t" -max_total_time="$secs" \
		-max_len="$2" -print_final_stats=1 "$corpus" \
		>"fuzz_$t.log" 2>&1); then
		echo "fuzz_$t: FAILED, see $out/fuzz_$t.log" >&2
		status=1
	fi
	grep -E '^(stat::number_of_executed_units|Done)' "$out/fuzz_$t.log" ||
		true
}

fuzz stackcmd 20000
fuzz options 4200
exit $status
