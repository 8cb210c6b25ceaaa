#!/usr/bin/env bash
# Golden CLI tests: the example traces, unreadable traces and layouts, each
# compared byte for byte with its expected output in tests/golden/expected.
#
#   run.sh KMAP SRCDIR            check
#   run.sh KMAP SRCDIR --update   rewrite the expected files (then review
#                                 the diff before committing it)
set -u
kmap=$(realpath "$1")
src=$2
update=${3:-}
cd "$src" || exit 2
exp=tests/golden/expected
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

# compare NAME ACTUAL_FILE
compare() {
	if [ "$update" = --update ]; then
		cp "$2" "$exp/$1"
		pass=$((pass + 1))
	elif cmp -s "$2" "$exp/$1"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $1 differs from $exp/$1:"
		diff -u "$exp/$1" "$2" | head -20
		fail=$((fail + 1))
	fi
}

# ok WHAT CONDITION...: a check that is not a comparison
ok() {
	local what=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $what"
		fail=$((fail + 1))
	fi
}

for t in examples/traces/*.trace; do
	n=$(basename "$t" .trace)
	"$kmap" replay --json "$t" > "$tmp/$n.json" 2> "$tmp/$n.err"
	echo "exit $?" >> "$tmp/$n.json"
	compare "$n.json" "$tmp/$n.json"
	"$kmap" replay "$t" > "$tmp/$n.txt" 2>> "$tmp/$n.err"
	echo "exit $?" >> "$tmp/$n.txt"
	compare "$n.txt" "$tmp/$n.txt"
	ok "$n: nothing on stderr" test ! -s "$tmp/$n.err"
	# the same input gives byte-identical output, from a pipe too
	"$kmap" replay --json - < "$t" > "$tmp/$n.again" 2>/dev/null
	echo "exit $?" >> "$tmp/$n.again"
	ok "$n: deterministic" cmp -s "$tmp/$n.json" "$tmp/$n.again"
done

# Generated bad inputs: a line of megabytes.
head -c 3000000 /dev/zero | tr '\0' 'a' > "$tmp/long.trace"
sed -i '1i machine x86-32' "$tmp/long.trace"
"$kmap" replay "$tmp/long.trace" > "$tmp/long.out" 2> "$tmp/long.err"
rc=$?
ok "line of megabytes: exit 2" test "$rc" = 2
ok "line of megabytes: names line 2" grep -q "long.trace:2: line longer than" "$tmp/long.err"
ok "line of megabytes: runs nothing" test ! -s "$tmp/long.out"

for t in tests/golden/bad/*.trace; do
	n=$(basename "$t" .trace)
	"$kmap" replay --json "$t" > "$tmp/$n.out" 2> "$tmp/$n.err"
	echo "exit $?" >> "$tmp/$n.err"
	compare "bad-$n.err" "$tmp/$n.err"
	ok "bad $n: runs nothing" test ! -s "$tmp/$n.out"
done
# kmap import: cuts of real kernels' traces (tests/import/README.md), as the
# trace file prints them (.ftrace) and as trace-cmd report does (.report):
# the trace made, the report on stderr, and its replay's checked summary.
for t in tests/import/*.ftrace tests/import/*.report; do
	[ -e "$t" ] || continue
	n=import-$(basename "$t")
	"$kmap" import "$t" > "$tmp/$n.trace" 2> "$tmp/$n.err"
	echo "exit $?" >> "$tmp/$n.err"
	compare "$n.trace" "$tmp/$n.trace"
	compare "$n.err" "$tmp/$n.err"
	"$kmap" replay "$tmp/$n.trace" > "$tmp/$n.out" 2>&1
	echo "exit $?" >> "$tmp/$n.out"
	ok "$n: every address and flush equal" \
		grep -q "expect lines: .*; all equal" "$tmp/$n.out"
	ok "$n: replays cleanly" grep -qx "exit 0" "$tmp/$n.out"
done
ok "import: ftrace and trace-cmd report give the same calls" \
	cmp -s <(grep -v '^#' "$exp/import-cut-686-pae-1G.ftrace.trace") \
	       <(grep -v '^#' "$exp/import-cut-686-pae-1G.report.trace")
"$kmap" import --mem 1G --mem-map 0xf64f8000 tests/import/bad/no-pairs.ftrace \
	> "$tmp/mm.trace" 2>/dev/null
ok "import --mem-map: pfns without kmap_local pairs" \
	cmp -s <(grep -v '^#' "$tmp/mm.trace") \
	       <(grep -v '^#' "$exp/import-cut-686-pae-1G.ftrace.trace" | sed 's/mem=1021M/mem=1G/')
for t in tests/import/bad/*.ftrace; do
	n=import-bad-$(basename "$t" .ftrace)
	"$kmap" import "$t" > "$tmp/$n.out" 2> "$tmp/$n.err"
	echo "exit $?" >> "$tmp/$n.err"
	compare "$n.err" "$tmp/$n.err"
	ok "$n: writes no trace" test ! -s "$tmp/$n.out"
done
"$kmap" import --machine arm tests/import/cut-686-pae-1G.ftrace > "$tmp/o" \
	2> "$tmp/import-wrong-machine.err"
echo "exit $?" >> "$tmp/import-wrong-machine.err"
compare import-wrong-machine.err "$tmp/import-wrong-machine.err"
# Expect lines not borne out: every kind of mismatch, text and JSON.
"$kmap" replay tests/import/mismatch.trace > "$tmp/mismatch.txt" 2>&1
echo "exit $?" >> "$tmp/mismatch.txt"
compare mismatch.txt "$tmp/mismatch.txt"
"$kmap" replay --json tests/import/mismatch.trace > "$tmp/mismatch.json" 2>&1
echo "exit $?" >> "$tmp/mismatch.json"
compare mismatch.json "$tmp/mismatch.json"
# Times on the lines (@SECONDS): records of timed lines carry them in JSON
# ("time"); the text is as without.
for f in txt json; do
	"$kmap" replay $([ $f = json ] && echo --json) tests/import/timed.trace \
		> "$tmp/timed.$f" 2>&1
	echo "exit $?" >> "$tmp/timed.$f"
	compare timed.$f "$tmp/timed.$f"
done
ok "timed: the text is the same without the times" \
	cmp -s "$tmp/timed.txt" <(sed 's/ @[0-9.]*$//' tests/import/timed.trace |
	                          "$kmap" replay - 2>&1; echo "exit $?")
# Another policy or window: the same calls, the expect lines not checked.
"$kmap" replay --policy clock --last-pkmap 8 examples/traces/expect.trace \
	> "$tmp/expect-clock.txt" 2>&1
echo "exit $?" >> "$tmp/expect-clock.txt"
compare expect-clock.txt "$tmp/expect-clock.txt"

"$kmap" replay /nonexistent/trace > /dev/null 2> "$tmp/nofile.err"
ok "missing file: exit 2" test $? = 2
ok "missing file: named" grep -q "/nonexistent/trace" "$tmp/nofile.err"

for p in $("$kmap" layout --help | sed -n 's/.*--machine PROFILE  one of: //p'); do
	"$kmap" layout --machine "$p" > "$tmp/layout-$p.txt"
	compare "layout-$p.txt" "$tmp/layout-$p.txt"
	"$kmap" layout --machine "$p" --json > "$tmp/layout-$p.json"
	compare "layout-$p.json" "$tmp/layout-$p.json"
	"$kmap" layout --machine "$p" --model sparsemem --json > "$tmp/layout-$p-sparsemem.json"
	compare "layout-$p-sparsemem.json" "$tmp/layout-$p-sparsemem.json"
done
"$kmap" layout --machine arm-virt --model sparsemem > "$tmp/layout-arm-virt-sparsemem.txt"
compare layout-arm-virt-sparsemem.txt "$tmp/layout-arm-virt-sparsemem.txt"
"$kmap" layout --machine x86-32 --model sparse > /dev/null 2> "$tmp/model.err"
ok "layout: an unknown model exits 2" test $? = 2
ok "layout: an unknown model is named" grep -q "unknown memory model 'sparse'" "$tmp/model.err"
"$kmap" layout --machine x86-32-pae --mem 16G > "$tmp/layout-pae16.txt"
# 16 GiB / 4 KiB pages x Debian's 40-byte struct page (the seeds' 44 B
# made it 176 MiB)
ok "layout: 160 MiB of mem_map for 16 GiB" grep -q "(160.0 MiB)" "$tmp/layout-pae16.txt"
"$kmap" layout --machine x86-32 --mem 5G > /dev/null 2>&1
ok "layout: mem beyond the limit exits 2" test $? = 2
"$kmap" layout --machine nope > /dev/null 2>&1
ok "layout: unknown profile exits 2" test $? = 2

for c in replay layout demo; do
	"$kmap" "$c" --help > "$tmp/help" 2>&1
	ok "$c --help exits 0" test $? = 0
	ok "$c --help explains" grep -q "usage: kmap $c" "$tmp/help"
done
"$kmap" --help > /dev/null
ok "kmap --help exits 0" test $? = 0
"$kmap" frobnicate > /dev/null 2>&1
ok "unknown command exits 2" test $? = 2

# examples/filesum.c: a file's records through kmap, checked against pread
fsum=$(dirname "$kmap")/example_filesum
if [ -x "$fsum" ]; then
	yes "kmap record 0123456789" | head -c 3145828 > "$tmp/records.dat"
	"$fsum" "$tmp/records.dat" 100 > "$tmp/fs.kmap"
	"$fsum" --pread "$tmp/records.dat" 100 > "$tmp/fs.pread"
	ok "filesum: kmap and pread agree" cmp -s "$tmp/fs.kmap" "$tmp/fs.pread"
	ok "filesum: counts the records" grep -q "^records 31458 " "$tmp/fs.kmap"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
