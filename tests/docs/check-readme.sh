#!/usr/bin/env bash
# README.md's table of folders matches the tree: every folder it names
# exists, and every folder of the tree that holds code or tests (the top
# level, src/, tests/) is in it. And the commands it tells a user to run
# succeed: each `build/kmap replay` and `build/kmap layout` line, and the
# trace of each `make qemu TRACE=` line (the kernel exits with the
# replay's status), exit 0.
#
#   check-readme.sh SRCDIR [KMAP]
set -u
src=$(realpath "$1")
kmap=${2:+$(realpath "$2")}
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

# The first screen (40 lines): how to build, run the demo and test; which
# kernel the linux policy is checked against; FIFO wake-up as kmap's own
head -40 "$readme" > /tmp/kmap-readme.$$
for w in '    make demo ' '    make test ' 'Linux 6.1 as Debian 12' 'tests/linux' \
         "FIFO order: kmap's choice"; do
	ok "README's first screen: $w" has /tmp/kmap-readme.$$ "$w"
done
rm -f /tmp/kmap-readme.$$

if [ -n "$kmap" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	ln -s "$src/examples" "$tmp/examples"
	ln -s "$src/tests" "$tmp/tests"
	mkdir "$tmp/build"
	ln -s "$kmap" "$tmp/build/kmap"
	# in the README's order: an import writes the trace a replay reads
	grep -E '^    build/kmap (replay|layout|import) ' "$readme" | sed 's/ *#.*//' > "$tmp/cmds"
	grep -oE '^    make qemu TRACE=[a-z][^ ]*' "$readme" |
		sed 's/.*TRACE=/build\/kmap replay /' >> "$tmp/cmds"
	ok "README gives commands to run" test -s "$tmp/cmds"
	while read -r cmd; do
		(cd "$tmp" && bash -c "$cmd") > /dev/null 2> "$tmp/err"
		ok "README's '$cmd' exits 0" test $? = 0
		# import's summary goes to stderr by design
		[[ $cmd == *" import "* ]] && continue
		ok "README's '$cmd' says nothing on stderr" test ! -s "$tmp/err"
	done < "$tmp/cmds"

	# Every lowmem figure the README and the man pages give ("875 MB of
	# lowmem") is one that kmap layout prints as a profile's MAXMEM; an
	# older kernel's is said to be one (2.6's) on its line.
	for p in $("$kmap" layout --help | sed -n 's/.*--machine PROFILE *one of: //p'); do
		"$kmap" layout --machine "$p" |
			sed -n 's/.*at most *\([0-9]*\) MB of lowmem (MAXMEM).*/\1/p'
	done | sort -u > "$tmp/maxmem"
	ok "kmap layout prints each profile's MAXMEM" test "$(wc -l < "$tmp/maxmem")" -ge 3
	for f in README.md man/man1/kmap.1 man/man3/*.3; do
		while read -r n; do
			ok "$f: $n MB of lowmem is a profile's MAXMEM" \
				grep -qx "$n" "$tmp/maxmem"
		done < <(grep -v "2\.6" "$f" | tr '\n' ' ' |
		         grep -oE '[0-9]+ MB (of lowmem|split)' | cut -d' ' -f1)
	done
fi
finish
