#!/usr/bin/env bash
# The README's way to use an installed kmap, as written: install into a
# fresh prefix (cmake --install, what `make install PREFIX=...` runs), then
# `cc hello.c $(pkg-config --cflags --libs kmap)`, and the program starts
# and runs with nothing else set (no ldconfig, no LD_LIBRARY_PATH): it
# finds libkmap.so.0 where it was installed.
#
#   check-install.sh BUILDDIR SRCDIR [CFLAGS]   (CFLAGS: -m32 for build32/)
set -u
build=$(realpath "$1")
src=$(realpath "$2")
cflags=${3:-}
. "$src/tests/docs/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! command -v pkg-config >/dev/null 2>&1; then
	want_pkg pkg-config pkg-config || { echo "FAIL: no pkg-config"; exit 1; }
fi
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" > "$tmp/install.log" 2>&1
ok "cmake --install into a fresh prefix" test $? = 0 || cat "$tmp/install.log"
pc=$(find "$prefix" -name kmap.pc | head -1)
ok "kmap.pc is installed" test -n "$pc"
ok "kmap.h is installed" test -f "$prefix/include/kmap.h"
export PKG_CONFIG_PATH=$(dirname "$pc")
unset LD_LIBRARY_PATH

# the README's command, from the README
cmd=$(grep -o 'cc hello.c $(pkg-config --cflags --libs kmap)' "$src/README.md")
ok "README gives the command" test -n "$cmd"
cp "$src/examples/hello.c" "$tmp/"
# shellcheck disable=SC2086
(cd "$tmp" && eval "$cmd $cflags -o hello") > "$tmp/cc.log" 2>&1
ok "hello.c builds against the installed kmap" test $? = 0 || cat "$tmp/cc.log"
ok "hello links the shared library" \
	bash -c "readelf -d '$tmp/hello' 2>/dev/null | grep -q 'libkmap.so.0'"
if [ -n "$cflags" ] && ! "$src/scripts/runs-32bit.sh" 2>/dev/null; then
	echo "note: 32-bit programs cannot run here; hello was built, not run"
else
	(cd / && "$tmp/hello") > "$tmp/hello.out" 2>&1
	ok "hello starts and exits 0, with no LD_LIBRARY_PATH" test $? = 0 ||
		cat "$tmp/hello.out"
	ok "hello prints what the README says" grep -q "hello, highmem" "$tmp/hello.out"
fi
finish
