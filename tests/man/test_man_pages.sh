#!/bin/bash
# Every man page renders without warnings, and every exported symbol has a
# page (its own, or a link in man/links.txt; socket is documented in
# vde_default_stack(3)).
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP/man" || exit 1
rc=0
for p in *.[0-9]; do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
	if [ -n "$w" ]; then
		echo "FAIL: $p renders with warnings:"
		echo "$w"
		rc=1
	fi
done
syms=$(sed -n 's/^[[:space:]]*\([a-z_][a-z_0-9]*\);$/\1/p' \
	"$TOP/core/libvdestack.map.in" | sort -u)
for s in $syms; do
	if [ "$s" = socket ]; then
		grep -q '^\.B socket' vde_default_stack.3 ||
			{ echo "FAIL: socket not documented in vde_default_stack.3"; rc=1; }
		continue
	fi
	[ -f "$s.3" ] && continue
	target=$(awk -v a="$s.3" '$1 == a {print $2}' links.txt)
	if [ -z "$target" ] || [ ! -f "$target" ]; then
		echo "FAIL: exported symbol $s has no man page"
		rc=1
	elif ! grep -q "$s" "$target"; then
		echo "FAIL: $target (page of $s) does not mention it"
		rc=1
	fi
done
[ $rc = 0 ] && echo "PASS: man pages render cleanly; every symbol has a page"
exit $rc
