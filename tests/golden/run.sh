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
	ok "$n: no line ends in a space" bash -c "! grep -q ' \$' '$tmp/$n.txt'"
	# a flush is printed above the record of the line that ran it, as the
	# JSON lines have it: "run by line N" and the next record is line N's
	ok "$n: each flush above the line that ran it" awk '
		/^        flush_all_zero_pkmaps, run by line / {
			want = $5; next }
		/^ *[0-9]+  / && want != "" {
			if ($1 != want) bad = 1; want = "" }
		/^        flush_all_zero_pkmaps:/ { bad = 1 }
		END { exit bad || want != "" }' "$tmp/$n.txt"
	# what a row acted on: a vmap's (vunmap's, vm_map_ram's, vm_unmap_ram's)
	# row names its area where another has its pfn, refused ones too, and
	# the column's heading says pfn/area exactly when the trace has such
	# lines, as the pictures' do
	head=pfn
	grep -Eq '^[^#]*[^ #]+ +(vmap|vunmap|vm_map_ram|vm_unmap_ram) ' "$t" &&
		head=pfn/area
	ok "$n: the column headed $head" \
		grep -Eq "^  line  task +op +$head  result " "$tmp/$n.txt"
	ok "$n: an area's row names it in the $head column" awk '
		NR == FNR { if ($2 ~ /^(vmap|vunmap|vm_map_ram|vm_unmap_ram)$/)
		                name[FNR] = $3
		            next }
		/^ *[0-9]+  / && ($1 in name) { n++; if ($4 != name[$1]) bad = 1 }
		END { exit bad || (length(name) > 0) != (n > 0) }' "$t" "$tmp/$n.txt"
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
# One of each checked: the summary counts in the singular
printf '%s\n' 'machine x86-32 mem=2G last_pkmap=2' 'A kmap 300000' \
	'expect A vaddr 0xfec01000 new' 'A kunmap 300000' 'A kmap 300001' \
	'expect flush 1' 'A kunmap 300001' > "$tmp/one.trace"
ok "expect lines: '1 address, 1 flush' checked" \
	grep -qx "checked against the trace's expect lines: 1 address, 1 flush; all equal" \
	<("$kmap" replay "$tmp/one.trace")
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
# --last-pkmap naming the window the trace's profile has anyway: the same
# machine, so the expect lines are checked
"$kmap" replay --last-pkmap 512 tests/golden/expected/import-cut-686-pae-1G.report.trace \
	> "$tmp/expect-same.txt" 2>&1
ok "--last-pkmap of the profile's own window: expect lines checked" \
	grep -q "checked against the trace's expect lines: 100 addresses" "$tmp/expect-same.txt"

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
# holes: both models' costs, text and JSON, on x86 and on arm-virt (pfns
# from 262144, a 256 MiB section of ARM wholly in a hole)
for m in flatmem sparsemem; do
	"$kmap" layout --mem 2G --model $m --holes 300000-300008,393216-458752 \
		> "$tmp/layout-holes-$m.txt"
	compare "layout-holes-$m.txt" "$tmp/layout-holes-$m.txt"
	"$kmap" layout --machine arm-virt --model $m \
		--holes 0x41000-0x41010,327680-393216 --json > "$tmp/layout-arm-virt-holes-$m.json"
	compare "layout-arm-virt-holes-$m.json" "$tmp/layout-arm-virt-holes-$m.json"
done
ok "layout: SPARSEMEM's absent sections cost no memmap" \
	grep -q "memmap: *28 sections" "$tmp/layout-holes-sparsemem.txt"
ok "layout: FLATMEM's mem_map spans the holes" \
	grep -q "524288 pages x 40 B.*the holes' pages included" "$tmp/layout-holes-flatmem.txt"
"$kmap" layout --machine x86-32 --model sparse > /dev/null 2> "$tmp/model.err"
ok "layout: an unknown model exits 2" test $? = 2
ok "layout: an unknown model is named" grep -q -- "--model sparse: not a memory model (flatmem or sparsemem)" "$tmp/model.err"
"$kmap" layout --machine x86-32-pae --mem 16G > "$tmp/layout-pae16.txt"
# 16 GiB / 4 KiB pages x Debian's 40-byte struct page (the seeds' 44 B
# made it 176 MiB)
ok "layout: 160 MiB of mem_map for 16 GiB" grep -q "(160.0 MiB)" "$tmp/layout-pae16.txt"
"$kmap" layout --machine x86-32 --mem 5G > /dev/null 2>&1
ok "layout: mem beyond the limit exits 2" test $? = 2
"$kmap" layout --machine nope > /dev/null 2>&1
ok "layout: unknown profile exits 2" test $? = 2

for c in replay layout import demo bench; do
	"$kmap" "$c" --help > "$tmp/help" 2>&1
	ok "$c --help exits 0" test $? = 0
	ok "$c --help explains" grep -q "usage: kmap $c" "$tmp/help"
	ok "$c --help gives the exit status" grep -q "^Exit status: 0 " "$tmp/help"
	# every option of the usage line is explained below it
	for o in $(head -1 "$tmp/help" | grep -o -- '--[a-z-]*' | sort -u); do
		ok "$c --help explains $o" grep -q -- "^  $o " "$tmp/help"
	done
done
"$kmap" --help > /dev/null
ok "kmap --help exits 0" test $? = 0

# Wrong command lines: one style everywhere. The expected stderr is the
# cause (with the valid values), the one-line usage and where to read
# more, never the whole help; the exit status is 2 and nothing is written
# on stdout.
cp examples/traces/story.trace "$tmp/" # named as a user would name it
while IFS='|' read -r name args; do
	[ -z "$name" ] && continue
	args=${args//SRC/$PWD}
	# shellcheck disable=SC2086
	(cd "$tmp" && "$kmap" $args) > "$tmp/cli.out" 2> "$tmp/cli-$name.err"
	echo "exit $?" >> "$tmp/cli-$name.err"
	compare "cli-$name.err" "$tmp/cli-$name.err"
	ok "cli $name: nothing on stdout" test ! -s "$tmp/cli.out"
	ok "cli $name: a few lines, not the help" test "$(wc -l < "$tmp/cli-$name.err")" -le 4
done <<'CASES'
no-command|
unknown-command|frobnicate
replay-svg-no-value|replay --svg
replay-html-then-option|replay --html --json x.trace
replay-unknown-option|replay --frob x.trace
replay-no-trace|replay --json
replay-two-traces|replay a.trace b.trace
replay-unwritable-svg|replay --svg /nonexistent-dir/x.svg SRC/examples/traces/story.trace
layout-last-pkmap-3|layout --last-pkmap 3
layout-colors-3|layout --machine arm --colors 3
layout-mem-too-big|layout --machine x86-32 --mem 5G
layout-bad-mem|layout --mem 5Q
layout-unknown-profile|layout --machine nope
layout-machine-no-value|layout --machine
layout-unwritable-svg|layout --svg /nonexistent-dir/x.svg
layout-holes-malformed|layout --holes 5-
layout-holes-unsorted|layout --holes 100-200,150-300
layout-holes-beyond|layout --machine arm-virt --holes 100-200
layout-holes-everything|layout --mem 1M --holes 0-256
demo-unknown-profile|demo --machine bogus
demo-mem-too-big|demo --machine x86-32 --mem 5G
demo-all-lowmem|demo --mem 64M
demo-unknown-option|demo --frob
bench-unknown-workload|bench --workload nope
bench-rounds|bench --rounds 0
replay-policy-unknown|replay --policy nope x.trace
replay-policy-no-value|replay --policy
replay-last-pkmap-word|replay --last-pkmap many x.trace
replay-last-pkmap-3|replay --last-pkmap 3 story.trace
replay-perfetto-no-value|replay --perfetto --json x.trace
import-unknown-option|import --frob x.ftrace
import-no-trace|import --mem 1G
import-two-traces|import a.ftrace b.ftrace
import-unknown-profile|import --machine nope x.ftrace
import-bad-mem|import --mem 5Q x.ftrace
import-mem-map-no-value|import --mem-map
CASES

# --svg without --machine: the default profile, drawn
(cd "$tmp" && "$kmap" layout --svg layout-default.svg) > "$tmp/ld.out" 2>&1
ok "layout --svg without --machine exits 0" test $? = 0
ok "layout --svg without --machine draws the default profile" \
	grep -q "x86-32" "$tmp/layout-default.svg"
ok "layout without --machine is x86-32's" \
	cmp -s "$tmp/ld.out" "$exp/layout-x86-32.txt"

# kmap demo on a little real memory: every page written and read back
# right, through kmap's copy helpers and through pwrite/pread alike
"$kmap" demo --mem 160M --json > "$tmp/demo" 2>&1
ok "demo --mem 160M exits 0" test $? = 0
ok "demo: pages checked, none wrong" \
	grep -q '"highmem_pages":24576,"pages_verified":24576,"mismatches":0,' "$tmp/demo"
ok "demo: the read pass read ahead, every page" \
	grep -q '"copy_ahead":24576,' "$tmp/demo"
ok "demo: pread on the same memory, none wrong" \
	grep -q '"pread_gb_per_s":[0-9.]*,"pread_mismatches":0,' "$tmp/demo"

# examples/filesum.c: a file's records through kmap, checked against pread
fsum=$(dirname "$kmap")/example_filesum
if [ -x "$fsum" ]; then
	yes "kmap record 0123456789" | head -c 3145828 > "$tmp/records.dat"
	"$fsum" "$tmp/records.dat" 100 > "$tmp/fs.kmap"
	"$fsum" --pread "$tmp/records.dat" 100 > "$tmp/fs.pread"
	ok "filesum: kmap and pread agree" cmp -s "$tmp/fs.kmap" "$tmp/fs.pread"
	ok "filesum: counts the records" grep -q "^records 31458 " "$tmp/fs.kmap"
	for bad in /tmp /nonexistent-dir/file; do
		"$fsum" "$bad" > "$tmp/fs.out" 2> "$tmp/fs.err"
		ok "filesum $bad: exit 1" test $? = 1
		ok "filesum $bad: its error once" test "$(wc -l < "$tmp/fs.err")" = 1
	done
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
