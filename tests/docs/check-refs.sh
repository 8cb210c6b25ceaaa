#!/usr/bin/env bash
# What the documents point a reader at is there: every file path that a
# document, a --help text, a man page or a source comment names exists in
# the tree, and the trace format's reference (replay/trace-format.md)
# covers what the engine implements: every op, every error record's text,
# every key of the JSON lines, and the exit statuses `kmap replay --help`
# lists.
#
#   check-refs.sh SRCDIR KMAP
set -u
src=$(realpath "$1")
kmap=$(realpath "$2")
. "$src/tests/docs/lib.sh"
cd "$src" || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- paths --------------------------------------------------------------
# A path is a word with a folder and a file name with an extension; it is
# found at the top of the tree, beside the file naming it, one folder up
# (man3/km_kmap.3 from man/man1/), or in the folder its users work in
# (core/kerr.h from src/, man1/kmap.1 from man/). Paths of Linux's own
# tree (mm/highmem.c, include/linux/...) and system headers are the
# kernel's, not ours; NAME, FILE, SRC and the like are placeholders.
git ls-files 2>/dev/null | grep -Ev '^fuzz/corpus/' |
	grep -E '\.(md|c|h|S|sh|1|3|in)$|(^|/)(Makefile|CMakeLists\.txt)$' > "$tmp/files"
[ -s "$tmp/files" ] || find . -path ./.git -prune -o -path './build*' -prune -o \
	-type f \( -name '*.md' -o -name '*.[chS13]' -o -name '*.sh' \) -print |
	sed 's,^\./,,' > "$tmp/files"
ok "documents and sources to look at" test -s "$tmp/files"
kernel_paths='^(mm|arch|asm|include/(linux|uapi|asm-generic)|kernel|lib|sys)/'
placeholder='(^|/)(NAME|FILE|SRC|SRCDIR|ALIAS|TRACE|PREFIX|DIR)(/|[.]|$)'
# one awk for every file: "FILE PATH" for each path named outside #include
xargs awk '
	/^[ \t]*#[ \t]*include/ { next }
	{
		line = $0
		while (match(line, /[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+\.(md|c|h|sh|trace|svg|html|1|3|pc|in)([^A-Za-z0-9_]|$)/)) {
			p = substr(line, RSTART, RLENGTH)
			sub(/[^A-Za-z0-9_]$/, "", p)
			before = RSTART > 1 ? substr(line, RSTART - 1, 1) : ""
			line = substr(line, RSTART + RLENGTH)
			if (before !~ /[\/$]/)
				print FILENAME, p
		}
	}' < "$tmp/files" | sort -u |
while read -r f p; do
	[[ $p =~ $kernel_paths ]] && continue
	[[ $p =~ $placeholder ]] && continue
	dir=${f%/*}
	[ "$dir" = "$f" ] && dir=.
	up=${dir%/*}
	[ "$up" = "$dir" ] && up=.
	if [ -e "$p" ] || [ -e "$dir/$p" ] || [ -e "$up/$p" ] ||
	   [ -e "src/$p" ] || [ -e "man/$p" ]; then
		echo "ok $f $p"
	else
		echo "missing $f $p"
	fi
done > "$tmp/paths"
ok "paths named in the tree were found" grep -q '^ok ' "$tmp/paths"
while read -r _ f p; do
	ok "$f: the path it names, $p, exists" false
done < <(grep '^missing ' "$tmp/paths")

# --- the trace format's reference ----------------------------------------
doc=replay/trace-format.md
ok "$doc exists" test -s "$doc"
"$kmap" replay --help > "$tmp/help"
ok "kmap replay --help points at $doc" has "$tmp/help" "$doc"
ok "README points at $doc" has README.md "$doc"
ok "kmap.1 points at $doc" has man/man1/kmap.1 "replay/trace\\-format.md"
ok "the guide points at $doc" grep -q "trace-format.md" docs/guide.md

# every op the reader knows (trace.c's table) has its line in the doc
sed -n '/trace_op_names\[NR_OPS\] = {/,/};/p' replay/trace.c |
	grep -o '"[a-z_]*"' | tr -d '"' > "$tmp/ops"
ok "the reader's op names" test "$(wc -l < "$tmp/ops")" -ge 9
while read -r op; do
	ok "$doc: op $op" grep -q "^TASK $op\\b" "$doc"
done < "$tmp/ops"

# every error text a record can carry: the engine's own and the library's
# misuse codes (km_strerror), through the example traces and the source
grep -o 'fail([^"]*"[^"]*"' replay/engine.c | grep -o '"[^"]*"' | tr -d '"' > "$tmp/errors"
grep -ho '"error":"[^"]*"' tests/golden/expected/*.json | cut -d'"' -f4 >> "$tmp/errors"
sort -u "$tmp/errors" -o "$tmp/errors"
ok "error texts found" test "$(wc -l < "$tmp/errors")" -ge 10
while read -r e; do
	ok "$doc: error '$e'" has "$doc" "\`$e\`"
done < "$tmp/errors"

# every key of every JSON line of the example traces, and of the expect
# lines' mismatches and the timed lines (tests/import's)
for t in examples/traces/*.trace tests/import/mismatch.trace tests/import/timed.trace; do
	cat "tests/golden/expected/$(basename "$t" .trace).json"
done | grep '^{' | grep -o '"[a-z_]*":' | tr -d '":' |
	sort -u > "$tmp/keys"
ok "JSON keys of the mismatch and time records" grep -qx time "$tmp/keys"
while read -r k; do
	ok "$doc: JSON key $k" has "$doc" "\`$k\`"
done < "$tmp/keys"

# the expect lines: both forms, every how, every word a mismatch uses
ok "$doc: expect TASK vaddr" grep -q '^expect TASK vaddr ADDR \[lowmem|hit|new|local\]$' "$doc"
ok "$doc: expect flush" grep -q '^expect flush \[SLOTS|none\]$' "$doc"
sed -n '/trace_how_names\[[A-Z_]*\] = {/,/};/p' replay/trace.c |
	grep -o '"[a-z_]*"' | tr -d '"' | grep -vx any > "$tmp/hows"
ok "the reader's hows" test "$(wc -l < "$tmp/hows")" -ge 4
while read -r w; do
	ok "$doc: how $w" has "$doc" "\`$w\`"
done < "$tmp/hows"
grep -Eo 'memcpy\((r->got|r->want|w|start), "[^"]*"' replay/engine.c |
	cut -d'"' -f2 | sort -u > "$tmp/words"
ok "the mismatch words" test "$(wc -l < "$tmp/words")" -ge 6
while read -r w; do
	ok "$doc: mismatch word '$w'" has "$doc" "\`$w"
done < "$tmp/words"
# times, the replay's overrides, kmap import
for w in '@SECONDS' '--policy NAME' '--last-pkmap N' 'kmap import'; do
	ok "$doc: $w" has "$doc" "$w"
done
"$kmap" import --help > "$tmp/import-help"
ok "kmap import --help names the trace format" has "$tmp/import-help" "$doc"

# the exit statuses
for s in 0 1 2 3; do
	ok "$doc: exit status $s" grep -q "^| $s |" "$doc"
done
finish
