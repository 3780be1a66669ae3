#!/bin/bash
# A setuid program that uses the library must ignore the environment
# variables that change what the library loads or prints
# (VDESTACK_BACKEND_DIR, VDESTACK_OPTIONS, VDESTACK_DEBUG): they are read
# with secure_getenv().  Root only (it makes a setuid-root copy); exit 77
# (skip) otherwise.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
VARIANT=${VARIANT:-release}
LIB=$TOP/build/$VARIANT/lib
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
chmod 0755 "$D"
cp -a "$LIB" "$D/lib"
cat >"$D/p.c" <<'C'
#include <stdio.h>
#include <vdestack.h>
int main(void)
{
	struct vdestack *s = vde_addstack_opt(NULL, NULL, NULL);

	printf("%s\n", vde_backend_dir());
	vde_delstack(s);
	return s ? 0 : 1;
}
C
gcc -I"$TOP/include" -o "$D/p" "$D/p.c" -L"$D/lib" -Wl,-rpath,"$D/lib" \
	-lvdestack
chmod -R a+rX "$D"
mkdir "$D/evil"
chmod 0777 "$D/evil"
run() { setpriv --reuid=65534 --regid=65534 --clear-groups env "$@"; }

# plain program: the variable is honoured (tests can use the build tree)
out=$(run VDESTACK_BACKEND_DIR="$D/evil" "$D/p")
[ "$out" = "$D/evil" ] || { echo "FAIL: plain program ignored the override: $out"; exit 1; }

# setuid copy: it is not
chmod u+s "$D/p"
out=$(run VDESTACK_BACKEND_DIR="$D/evil" VDESTACK_DEBUG=1 \
	VDESTACK_OPTIONS=backend=evil "$D/p" 2>"$D/err") ||
	{ echo "FAIL: setuid program failed"; cat "$D/err"; exit 1; }
[ "$out" = "$D/lib/vdestack" ] || { echo "FAIL: setuid program uses $out"; exit 1; }
[ ! -s "$D/err" ] || { echo "FAIL: setuid program printed debug output"; exit 1; }
echo "PASS: secure_getenv protects setuid programs"
