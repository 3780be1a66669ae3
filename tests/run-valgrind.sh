#!/bin/bash
# tests/run-valgrind.sh [--variant V] - the integration suite under
# valgrind's memcheck (memory errors, not leaks: the leak checks are the
# tests' own fd/thread/child counts and LeakSanitizer in the asan variant).
# Under valgrind the library starts its agents fork-style (valgrind does
# not implement clone(CLONE_VM) for processes); test_faults (resource
# limits confuse valgrind itself), test_load and the backends needing root
# devices are left out.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
VARIANT=release
[ "${1:-}" = --variant ] && VARIANT=$2
BIN=$TOP/build/$VARIANT/tests/integration
TESTS=(test_transport test_lifecycle test_msocket test_default_stack
       test_stackcmd test_nlconf test_defects test_stack_info
       test_backend_select)
command -v valgrind >/dev/null || { echo "valgrind: not installed"; exit 1; }
rc=0
for t in "${TESTS[@]}"; do
	[ -x "$BIN/$t" ] || continue
	log=$(mktemp)
	if timeout 900 valgrind -q --error-exitcode=99 --leak-check=no \
		--suppressions="$TOP/tests/valgrind.supp" "$BIN/$t" >"$log" 2>&1; then
		echo "  valgrind  $t  PASS"
	else
		echo "  valgrind  $t  FAIL"
		grep -v '^--' "$log" | grep -E -A12 '^==[0-9]+== [A-Z]|FAIL' | head -60
		rc=1
	fi
	rm -f "$log"
done
exit $rc
