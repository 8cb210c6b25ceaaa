#!/usr/bin/env bash
# docs/guide.md is true: every ```c block is docs/examples/NAME.c (marked by
# its first line, "/* docs/examples/NAME.c ..."), and every such file is in
# the guide and built (doc_NAME, also run by ctest); every ```console block
# runs, from a clone whose build/ is the build under test (build/kmap,
# build/doc_*), its commands in one shell (TMPDIR the test's own), and each
# prints what the guide shows ("..." stands for any lines; trailing blanks
# do not count); the pictures are what docs/make-pictures.sh draws
# now; the files the guide links exist; and each "src/FILE: NAME()" of the
# name-by-name table is defined in that file.
#
#   check-guide.sh KMAP SRCDIR BUILDDIR
set -u
kmap=$(realpath "$1")
src=$(realpath "$2")
build=$(realpath "$3")
. "$src/tests/docs/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src" || exit 2
guide=docs/guide.md
ok "docs/guide.md exists" test -f "$guide"
[ -f "$guide" ] || { finish; exit 1; }

# Split the guide into its fenced blocks: $tmp/block.N.LANG
awk -v dir="$tmp" '
	/^```/ {
		if (!inb) { inb = 1; n++; lang = substr($0, 4); if (lang == "") lang = "none";
		            f = dir "/block." n "." lang; printf "" > f; next }
		inb = 0; close(f); next
	}
	inb { print > f }
' "$guide"

# match EXPECTED ACTUAL: line by line, "..." skips any lines, trailing
# blanks ignored; prints the first difference
match() {
	local -a e a
	mapfile -t e < <(sed 's/[[:space:]]*$//' "$1")
	mapfile -t a < <(sed 's/[[:space:]]*$//' "$2")
	local i=0 j=0 ne=${#e[@]} na=${#a[@]}
	while [ "$i" -lt "$ne" ]; do
		if [ "${e[$i]}" = "..." ]; then
			i=$((i + 1))
			[ "$i" -eq "$ne" ] && return 0
			while [ "$j" -lt "$na" ] && [ "${a[$j]}" != "${e[$i]}" ]; do
				j=$((j + 1))
			done
			if [ "$j" -ge "$na" ]; then
				echo "  expected (after ...): ${e[$i]}"
				return 1
			fi
		elif [ "$j" -ge "$na" ] || [ "${a[$j]}" != "${e[$i]}" ]; then
			echo "  line $((j + 1)): expected: ${e[$i]}"
			echo "  line $((j + 1)):      got: ${a[$j]:-<end of output>}"
			return 1
		fi
		i=$((i + 1))
		j=$((j + 1))
	done
	if [ "$j" -lt "$na" ]; then
		echo "  more output than shown: ${a[$j]}"
		return 1
	fi
	return 0
}

# ```c blocks are the example files
ncode=0
for b in "$tmp"/block.*.c; do
	[ -e "$b" ] || continue
	ncode=$((ncode + 1))
	name=$(head -1 "$b" | sed -n 's|^/\* \(docs/examples/[A-Za-z0-9_-]*\.c\)[: ].*|\1|p')
	ok "C block $(basename "$b"): marked with its file name" test -n "$name"
	[ -n "$name" ] || continue
	ok "C block $name: is the file" cmp -s "$b" "$name"
	cmp -s "$b" "$name" || diff -u "$name" "$b" | head -10
	echo "$name" >> "$tmp/shown"
done
ok "the guide shows C examples" test "$ncode" -gt 0
for f in docs/examples/*.c; do
	ok "$f: shown in the guide" grep -qx "$f" "$tmp/shown"
	stem=$(basename "$f" .c)
	ok "$f: built (doc_$stem)" test -x "$build/doc_$stem"
done

# ```console blocks run and print what is shown, from a clone whose
# build/ is the build under test
mkdir -p "$tmp/clone"
for d in examples docs tests; do ln -s "$src/$d" "$tmp/clone/$d"; done
ln -s "$build" "$tmp/clone/build"
ok "the guide's build/kmap is the one under test" \
	test "$(realpath "$tmp/clone/build/kmap")" = "$kmap"
ncons=0
for b in "$tmp"/block.*.console; do
	[ -e "$b" ] || continue
	# split into commands ("$ " lines) and their expected output
	awk -v dir="$b" '
		/^\$ / { n++; print substr($0, 3) > (dir ".cmd." n); printf "" > (dir ".exp." n); next }
		n { print > (dir ".exp." n) }
	' "$b"
	# one shell a block, so that a command may use what an earlier one
	# of its block set (a variable, a file under mktemp -d)
	n=$(ls "$b".cmd.* 2>/dev/null | wc -l)
	for k in $(seq 1 "$n"); do
		printf '{ %s\n} > "%s" 2>&1\n' "$(cat "$b.cmd.$k")" "$b.out.$k"
	done > "$b.sh"
	(cd "$tmp/clone" && TMPDIR=$tmp bash "$b.sh" < /dev/null)
	for k in $(seq 1 "$n"); do
		ncons=$((ncons + 1))
		cmd=$(cat "$b.cmd.$k")
		match "$b.exp.$k" "$b.out.$k" > "$tmp/why"
		ok "\$ $cmd: prints what the guide shows" test $? = 0
		cat "$tmp/why"
	done
done
ok "the guide runs commands" test "$ncons" -gt 0

# the pictures are current, and what the guide links exists
mkdir -p "$tmp/pics"
bash docs/make-pictures.sh "$kmap" "$tmp/pics"
ok "docs/make-pictures.sh runs" test $? = 0
for f in "$tmp"/pics/*; do
	n=$(basename "$f")
	ok "docs/$n: current (docs/make-pictures.sh)" cmp -s "$f" "docs/$n"
done
grep -o '](\([^)#]*\))' "$guide" | sed 's/^](\(.*\))$/\1/' | sort -u |
while read -r l; do
	case "$l" in
	http*) echo "FAIL: the guide links outside: $l"; exit 1 ;;
	esac
	[ -e "docs/$l" ] || { echo "FAIL: the guide links docs/$l, which is missing"; exit 1; }
done
ok "every file the guide links exists" test $? = 0

# the name-by-name table points at definitions that exist
grep -o 'src/[a-z_/]*\.[ch]: [A-Za-z_0-9]*()' "$guide" | sort -u > "$tmp/names"
ok "the guide names kernel functions in src/" test -s "$tmp/names"
while IFS= read -r ref; do
	file=${ref%%:*}
	fn=${ref#*: }
	fn=${fn%()}
	ok "$file defines $fn()" grep -Eq "^(#define $fn\(|[A-Za-z].*[ *]$fn\()" "$file"
done < "$tmp/names"

finish
