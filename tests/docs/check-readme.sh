#!/usr/bin/env bash
# README.md's table of folders matches the tree: every folder it names
# exists, and every folder of the tree that holds code or tests (the top
# level, src/, tests/) is in it.
#
#   check-readme.sh SRCDIR
set -u
src=$(realpath "$1")
. "$src/tests/docs/lib.sh"
cd "$src" || exit 2
readme=README.md

# the table's first column: `a/`, or `a/`, `b/` on one row, or a file
grep -o '^| `[^|]*|' "$readme" | grep -o '`[a-z_./]*`' | tr -d '`' |
	sed 's,/$,,' | sort -u > /tmp/kmap-readme.$$
ok "README has a table of folders" test -s /tmp/kmap-readme.$$
while read -r d; do
	ok "README's $d exists" test -e "$d"
done < /tmp/kmap-readme.$$
for d in $(git ls-files | grep / | cut -d/ -f1 | sort -u) \
         $(git ls-files src tests | grep '/.*/' | cut -d/ -f1-2 | sort -u); do
	case "$d" in .ci|man|docs) continue ;; esac # man/ and docs/ share a row
	# named itself, or by what is in it (tests/unit/, include/kmap.h)
	ok "folder $d/ is in README's table" grep -q "^$d\(/\|\$\)" /tmp/kmap-readme.$$
done
rm -f /tmp/kmap-readme.$$
finish
