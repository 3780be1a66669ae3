#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test_backend_info.sh [BUILD_DIR] - vdestack-backend-info: text and JSON
# output, exit status, as the current user and, when run as root, as an
# unprivileged user (65534) from a copy of the build in a temporary
# directory that user can read.
#
# BUILD_DIR defaults to build/$VARIANT (release if unset) of the source
# tree.  It needs bin/vdestack-backend-info, lib/ and tests/plugins/ (scons
# builds them).  Prints TAP ("ok N - name"); exits 1 if any test failed.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build/${VARIANT:-release}}" && pwd) || exit 1
TOOL=$BUILD/bin/vdestack-backend-info
PLUG=$BUILD/tests/plugins
VERSION=$(sed -n 's/^#define VDESTACK_VERSION "\(.*\)"$/\1/p' \
	"$SRC/include/vdestack.h")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# the tool must find its library by its rpath ($ORIGIN/../lib) alone
unset VDESTACK_BACKEND_DIR VDESTACK_OPTIONS VDESTACK_DEBUG LD_LIBRARY_PATH

n=0
failed=0
# result NAME COMMAND... - one test: passes if COMMAND succeeds
result() {
	local name=$1
	shift
	n=$((n + 1))
	if "$@" >"$TMP/log" 2>&1; then
		echo "ok $n - $name"
	else
		failed=$((failed + 1))
		echo "not ok $n - $name"
		sed 's/^/#   /' "$TMP/log"
	fi
}
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

# run TOOL ARGS... : stdout in $TMP/out, stderr in $TMP/err, status in $rc
run() {
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
want_rc() {
	[ "$rc" = "$1" ] || {
		echo "exit status $rc, want $1"
		echo "stdout:"
		cat "$TMP/out"
		echo "stderr:"
		cat "$TMP/err"
		return 1
	}
}
has() { # has FILE TEXT...
	local f=$1 t
	shift
	for t in "$@"; do
		grep -qF -- "$t" "$f" || {
			echo "$f lacks '$t':"
			cat "$f"
			return 1
		}
	done
}
# json PYTHON-EXPRESSIONS: each must hold for d = the JSON in $TMP/out
json() {
	python3 - "$TMP/out" "$@" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1], encoding='utf-8'))
b = {e['name']: e for e in d['backends']}
for expr in sys.argv[2:]:
    if not eval('(' + expr + ')'):
        print('JSON: does not hold:', expr)
        print(json.dumps(d, indent=1)[:4000])
        sys.exit(1)
EOF
}
can_open_tun() { # as "$@" (a setpriv prefix, or nothing)
	"$@" /bin/sh -c 'exec 3<>/dev/net/tun' 2>/dev/null
}

t_help_lists_every_option_and_exits_0() {
	run "$TOOL" --help && want_rc 0 &&
		has "$TMP/out" --json --backend-dir=DIR --help --version \
			"Exit status" && [ ! -s "$TMP/err" ]
}
t_version_prints_library_version() {
	run "$TOOL" --version && want_rc 0 && has "$TMP/out" "$VERSION"
}
t_unknown_option_is_usage_error_2() {
	run "$TOOL" --bogus && want_rc 2 && has "$TMP/err" --bogus "--help" &&
		[ ! -s "$TMP/out" ] &&
		run "$TOOL" -x && want_rc 2 &&
		run "$TOOL" stray && want_rc 2 && has "$TMP/err" stray &&
		run "$TOOL" --backend-dir && want_rc 2 &&
		has "$TMP/err" "needs an argument"
}
t_json_is_valid_and_describes_installed_tap() {
	run "$TOOL" --json
	[ "$rc" = 0 ] || [ "$rc" = 1 ] || want_rc 0 || return 1
	json "d['version'] == '$VERSION'" \
		"d['backend_dir'] == '$BUILD/lib/vdestack'" \
		"d['error'] is None" \
		"b['tap']['loaded'] and b['tap']['abi'] == 1" \
		"b['tap']['max_mtu'] == 9216 and b['tap']['relay']" \
		"b['tap']['schemes'] == [] and b['tap']['options'] == []" \
		"d['system']['kernel_release'] != ''" \
		"'max_user_namespaces' in d['system']['user_namespaces']" \
		"d['system']['tun']['path'] == '/dev/net/tun'" \
		"isinstance(d['system']['cap_net_admin'], bool)" \
		"(d['usable'] > 0) == ($rc == 0)"
}
t_text_and_json_agree_on_exit_status() {
	local jrc
	run "$TOOL" --json
	jrc=$rc
	run "$TOOL"
	want_rc "$jrc" && has "$TMP/out" "libvdestack $VERSION" "tap:" \
		"backend directory: $BUILD/lib/vdestack" "user namespaces:" \
		"/dev/net/tun:" "/dev/vhost-net:" "CAP_NET_ADMIN:"
}
t_tap_usable_iff_tun_opens() {
	run "$TOOL" --json
	if can_open_tun; then
		want_rc 0 && json "b['tap']['probe_ok']"
	else
		want_rc 1 && json "not b['tap']['usable']" \
			"'permission denied' in b['tap']['reason'].lower()" \
			"'0666' in b['tap']['reason']"
	fi
}
t_broken_plugins_are_listed_with_their_errors() {
	run "$TOOL" --json --backend-dir "$PLUG"
	json "d['backend_dir'] == '$PLUG'" "len(d['backends']) == 20" \
		"all(not b[x]['loaded'] and x in b[x]['load_error'] and
		     not b[x]['usable'] and b[x]['reason']
		     for x in ['badabi', 'corrupt', 'empty', 'funcsym',
			       'misnamed', 'noname', 'noops', 'nosym',
			       'oversize', 'small',
			       'tiny', 'truncated', 'unresolved'])" \
		"'ABI 999' in b['badabi']['load_error']" \
		"b['badabi']['abi'] == 999" \
		"'not a backend name' in b['BadName']['load_error']" \
		"b['claims']['schemes'] == ['testscheme']" \
		"not b['claims']['relay']" \
		"b['relay']['options'] == [{'name': 'queues',
		   'help': 'N: number of queues (test option)'}]" \
		"not b['unusable']['probe_ok'] and
		 'never runs' in b['unusable']['reason']" \
		"b['relay']['usable'] ==
		 d['system']['user_namespaces']['ok']" \
		"d['auto'] in ('tap', 'relay', None)"
}
t_text_names_every_plugin_file() {
	local f
	run "$TOOL" --backend-dir "$PLUG"
	for f in "$PLUG"/*.so; do
		f=${f##*/}
		has "$TMP/out" "  ${f%.so}: " || return 1
	done
	has "$TMP/out" "NOT loaded:" "NOT usable: unusable:" \
		"option queues=N: number of queues" "claims: testscheme://"
}
t_environment_variable_picks_the_directory() {
	VDESTACK_BACKEND_DIR=$PLUG run "$TOOL" --json
	json "d['backend_dir'] == '$PLUG'" "'relay' in b"
}
t_unreadable_directory_exits_3() {
	run "$TOOL" --backend-dir /nonexistent/vdestack && want_rc 3 &&
		has "$TMP/out" "/nonexistent/vdestack" &&
		run "$TOOL" --json --backend-dir /nonexistent/vdestack &&
		want_rc 3 && has "$TMP/err" "/nonexistent/vdestack" &&
		json "'/nonexistent/vdestack' in d['error']" \
			"d['backends'] == []" "d['auto'] is None"
}
t_empty_directory_exits_1() {
	mkdir -p "$TMP/empty"
	run "$TOOL" --backend-dir "$TMP/empty" && want_rc 1 &&
		has "$TMP/out" "none installed" &&
		run "$TOOL" --json --backend-dir "$TMP/empty" && want_rc 1 &&
		json "d['backends'] == [] and d['usable'] == 0"
}
t_json_escapes_any_path() {
	local d
	d=$TMP/$'q"uote\\back\nline\ttab\x01ctl\xffbad \xc3\xa9'
	mkdir -p "$d" && cp "$PLUG/corrupt.so" "$PLUG/relay.so" "$d/" &&
		run "$TOOL" --json --backend-dir "$d" &&
		json "'q\"uote\\\\back\\nline\\ttab\\x01ctl\\ufffdbad \\u00e9' \
			in d['backend_dir']" \
			"d['backend_dir'] in b['corrupt']['load_error']"
}

# As 65534 from a copy: the build tree may sit where that user cannot go.
stage() {
	local s=$TMP/stage
	mkdir -p "$s/tests" && cp -a "$BUILD/lib" "$BUILD/bin" "$s/" &&
		cp -a "$PLUG" "$s/tests/" && chmod -R a+rX "$TMP" &&
		echo "$s"
}
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
t_unprivileged_user_gets_verdict_and_reason() {
	local s
	s=$(stage) || return 1
	run "${NOBODY[@]}" "$s/bin/vdestack-backend-info" --json
	if can_open_tun "${NOBODY[@]}"; then
		want_rc 0 && json "b['tap']['probe_ok']" "d['system']['uid'] == 65534"
	else
		# /dev/net/tun 0600: tap must say so, and the fix
		want_rc 1 && json "d['system']['uid'] == 65534" \
			"not d['system']['tun']['accessible']" \
			"'permission denied' in d['system']['tun']['status']" \
			"not b['tap']['usable'] and not b['tap']['probe_ok']" \
			"b['tap']['errno'] == 13" \
			"'/dev/net/tun' in b['tap']['reason']" \
			"'0666' in b['tap']['reason']" "d['auto'] is None" &&
			run "${NOBODY[@]}" "$s/bin/vdestack-backend-info" &&
			want_rc 1 &&
			has "$TMP/out" "tap: NOT usable: /dev/net/tun:" "0666"
	fi
}
t_unprivileged_user_sees_broken_plugins_too() {
	local s
	s=$(stage) || return 1
	run "${NOBODY[@]}" "$s/bin/vdestack-backend-info" --json \
		--backend-dir "$s/tests/plugins"
	json "len(d['backends']) == 20" "not b['badabi']['loaded']" \
		"not b['truncated']['loaded']" \
		"b['relay']['usable'] == d['system']['user_namespaces']['ok']" \
		"(d['usable'] > 0) == ($rc == 0)"
}

[ -x "$TOOL" ] || { echo "Bail out! $TOOL not built"; exit 1; }
echo "# $TOOL as $(id -un)"
for t in help_lists_every_option_and_exits_0 version_prints_library_version \
	unknown_option_is_usage_error_2 \
	json_is_valid_and_describes_installed_tap \
	text_and_json_agree_on_exit_status tap_usable_iff_tun_opens \
	broken_plugins_are_listed_with_their_errors \
	text_names_every_plugin_file \
	environment_variable_picks_the_directory \
	unreadable_directory_exits_3 empty_directory_exits_1 \
	json_escapes_any_path; do
	result "$t" "t_$t"
done
for t in unprivileged_user_gets_verdict_and_reason \
	unprivileged_user_sees_broken_plugins_too; do
	if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
		skip "$t" "needs root and setpriv"
	else
		result "$t" "t_$t"
	fi
done
echo "1..$n"
[ "$failed" = 0 ]
