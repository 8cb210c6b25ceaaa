#!/usr/bin/env bash
# The man pages: every function libkmap.so exports (nm -D: ' T km_') and
# every KM_API function of include/kmap.h has man/man3/NAME.3, each page
# has the sections a C library's page is expected to have, .so links point
# at pages that exist, kmap.1 covers every subcommand and option the CLI's
# --help lists, the pages pass groff's warnings (groff-base, installed as
# root when missing; man --warnings too where man-db is there), and
# `cmake --install` puts them in share/man.
#
#   check-man.sh LIBKMAP_SO SRCDIR KMAP
set -u
lib=$(realpath "$1")
src=$(realpath "$2")
kmap=$(realpath "$3")
. "$src/tests/docs/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src/man" || { echo "FAIL: no man/ directory"; exit 1; }

# every exported symbol has a page
if ! command -v nm >/dev/null 2>&1; then
	want_pkg nm binutils || { echo "FAIL: no nm to list the exports"; exit 1; }
fi
nm -D --defined-only "$lib" | awk '$2 == "T" && $3 ~ /^km_/ { print $3 }' | sort -u > "$tmp/exported"
ok "libkmap.so exports km_ functions" test -s "$tmp/exported"
while read -r sym; do
	ok "exported $sym has man/man3/$sym.3" test -f "man3/$sym.3"
done < "$tmp/exported"
# ... and every KM_API function of the header
grep -o 'KM_API[^;]*(' "$src/include/kmap.h" | grep -o 'km_[a-z0-9_]*(' |
	tr -d '(' | sort -u > "$tmp/declared"
while read -r sym; do
	ok "declared $sym has man/man3/$sym.3" test -f "man3/$sym.3"
done < "$tmp/declared"
ok "the header's KM_API functions are the exported ones" \
	cmp -s "$tmp/declared" "$tmp/exported"

# the pages: sections, names, links
# An alias is a symbolic link to the page that describes it, so that
# `man -l man/man3/ALIAS.3` works from anywhere (a .so request is resolved
# from the current directory) and an installed one too.
for f in man3/*.3; do
	ok "$f: no .so request (a link instead)" bash -c "! head -1 '$f' | grep -q '^\.so '"
	if [ -L "$f" ]; then
		target=man3/$(readlink "$f")
		ok "$f: links to an existing page in man3 ($target)" \
			bash -c "[ -f '$target' ] && [ ! -L '$target' ] && [ '$(readlink "$f")' = '$(basename "$(readlink "$f")")' ]"
		name=$(basename "$f" .3)
		ok "$f: named in $target" \
			bash -c "sed -n '/^\.SH NAME/,/^\.SH/p' '$target' | grep -qw '$name'"
		continue
	fi
	for s in NAME SYNOPSIS DESCRIPTION "RETURN VALUE" ERRORS EXAMPLE; do
		ok "$f: has $s" grep -q "^\.SH \"\?$s\"\?\$" "$f"
	done
	ok "$f: .TH first" grep -q '^\.TH ' <(head -1 "$f")
	ok "$f: names its own function" \
		bash -c "sed -n '/^\.SH NAME/,/^\.SH/p' '$f' | grep -qw '$(basename "$f" .3)'"
done

# kmap.1 covers the CLI
ok "man1/kmap.1 exists" test -f man1/kmap.1
"$kmap" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }' > "$tmp/cmds"
ok "kmap --help lists commands" test -s "$tmp/cmds"
while read -r c; do
	ok "kmap.1 documents '$c'" grep -q "^\.B kmap $c\$" man1/kmap.1
	"$kmap" "$c" --help 2>/dev/null | sed -n '/^usage:/,/^$/p' |
		grep -o -- '--[a-z0-9-]*' | sort -u > "$tmp/opts"
	while read -r o; do
		ok "kmap.1 documents '$c $o'" grep -q -- "${o//-/\\\\-}" man1/kmap.1
	done < "$tmp/opts"
done < "$tmp/cmds"

# groff's warnings, and man's where man-db is installed
if want_pkg groff groff-base; then
	for f in man1/*.1 man3/*.3; do
		head -1 "$f" | grep -q '^\.so ' && continue
		groff -man -z -ww "$f" > "$tmp/groff.out" 2>&1
		ok "$f: groff -man -ww is silent" test ! -s "$tmp/groff.out"
		[ -s "$tmp/groff.out" ] && head -5 "$tmp/groff.out"
	done
else
	echo "note: no groff here; the pages' markup was not linted"
fi
if command -v man >/dev/null 2>&1; then
	# from the top of the tree, as a user tries them; aliases included
	for f in man1/*.1 man3/*.3; do
		(cd "$src" && MANWIDTH=80 man --warnings -l "man/$f") > "$tmp/man.txt" 2> "$tmp/man.out"
		ok "man -l man/$f: man --warnings is silent" test ! -s "$tmp/man.out"
		[ -s "$tmp/man.out" ] && head -5 "$tmp/man.out"
		ok "man -l man/$f: shows its page" grep -qw "$(basename "$f" | sed 's/\.[0-9]$//')" "$tmp/man.txt"
	done
fi

# installed by cmake --install (when the library sits in its build tree)
build=$(dirname "$lib")
if [ -f "$build/cmake_install.cmake" ] && command -v cmake >/dev/null 2>&1; then
	cmake --install "$build" --prefix "$tmp/inst" > "$tmp/install.log" 2>&1
	ok "cmake --install runs" test $? = 0
	mandir=$(find "$tmp/inst" -type d -name man3 -path '*man*' | head -1)
	ok "cmake --install puts the man3 pages in place" test -f "$mandir/km_kmap.3"
	ok "cmake --install puts kmap.1 in place" test -f "$(dirname "$mandir")/man1/kmap.1"
	ok "every page is installed" test "$(ls "$mandir" | wc -l)" = "$(ls man3 | wc -l)"
fi

finish
