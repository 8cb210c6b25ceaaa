#!/usr/bin/env bash
# `kmap replay --perfetto FILE` writes the Chrome trace-event format that
# Perfetto's UI and chrome://tracing read: every export of the example
# traces, of tests/import/timed.trace, of real kernels' traces through
# `kmap import` (a cut on its own window and on a smaller one, which
# flushes; a whole capture with the kernel's own flushes),
# and of random traces (gentrace, when given) goes through
# tests/docs/perfetto-check.py: the format's rules (valid JSON, fields per
# phase, non-negative numbers, time order per track, B/E and b/e nested
# and closed, every pid and tid named) and what the run's --json lines say
# (a slot track per slot used, a span per new mapping, a flush instant per
# flush, an asleep span per sleep, each record at its step; the imported
# trace's first event at its real timestamp). The checker is shown broken
# files first, so that it is known to fail. --perfetto changes nothing
# else: the same output and exit status as without it.
#
#   check-perfetto.sh KMAP SRCDIR [GENTRACE]
# Exit 0 (all passed), 1 (a check failed), 77 (no python3: skipped).
set -u
kmap=$(realpath "$1")
src=$(realpath "$2")
gen=${3:-}
. "$src/tests/docs/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! want_pkg python3 python3; then
	echo "SKIP: no python3 and none can be installed"
	exit 77
fi
check="python3 $src/tests/docs/perfetto-check.py"
# not_named OUT PREFIX: no line of OUT starts with PREFIX (a file's name)
not_named() { ! grep -qF -- "$2" "$1"; }
# named_for OUT PREFIX WANT: a line of OUT for PREFIX says WANT
named_for() { grep -F -- "$2" "$1" | grep -qF -- "$3"; }
cd "$src" || exit 2

# The checker fails on broken files, each for its reason.
: > "$tmp/bad.list"
nbad=0
bad() {
	nbad=$((nbad + 1))
	printf '%s' "$3" > "$tmp/bad$nbad.json"
	echo "$tmp/bad$nbad.json -" >> "$tmp/bad.list"
	echo "$1|$2" > "$tmp/bad$nbad.want"
}
M='{"name":"process_name","ph":"M","ts":0,"pid":1,"tid":1,"args":{"name":"p"}},{"name":"thread_name","ph":"M","ts":0,"pid":1,"tid":1,"args":{"name":"t"}}'
bad "invalid JSON" "not valid JSON" '{"traceEvents":[{"name":"a",}]}'
bad "a missing field" "no tid" "{\"traceEvents\":[$M,{\"name\":\"a\",\"ph\":\"i\",\"s\":\"g\",\"ts\":1,\"pid\":1}]}"
bad "an unclosed B" "never ends" "{\"traceEvents\":[$M,{\"name\":\"a\",\"ph\":\"B\",\"ts\":1,\"pid\":1,\"tid\":1}]}"
bad "an E closing another B" "closes B" "{\"traceEvents\":[$M,{\"name\":\"a\",\"ph\":\"B\",\"ts\":1,\"pid\":1,\"tid\":1},{\"name\":\"b\",\"ph\":\"E\",\"ts\":2,\"pid\":1,\"tid\":1}]}"
bad "time going back on a track" "before the track's event" "{\"traceEvents\":[$M,{\"name\":\"a\",\"ph\":\"B\",\"ts\":5,\"pid\":1,\"tid\":1},{\"name\":\"a\",\"ph\":\"E\",\"ts\":4,\"pid\":1,\"tid\":1}]}"
bad "overlapping slices" "without nesting" "{\"traceEvents\":[$M,{\"name\":\"a\",\"ph\":\"X\",\"ts\":1,\"dur\":5,\"pid\":1,\"tid\":1},{\"name\":\"b\",\"ph\":\"X\",\"ts\":3,\"dur\":5,\"pid\":1,\"tid\":1}]}"
bad "X without dur" "X without a non-negative dur" "{\"traceEvents\":[$M,{\"name\":\"a\",\"ph\":\"X\",\"ts\":1,\"pid\":1,\"tid\":1}]}"
bad "a negative ts" "not a non-negative number" "{\"traceEvents\":[$M,{\"name\":\"a\",\"ph\":\"i\",\"s\":\"g\",\"ts\":-1,\"pid\":1,\"tid\":1}]}"
bad "an async e without its b" "no open b" "{\"traceEvents\":[$M,{\"name\":\"a\",\"cat\":\"c\",\"ph\":\"e\",\"id\":7,\"ts\":1,\"pid\":1,\"tid\":1}]}"
bad "a counter without args" "counter without args" "{\"traceEvents\":[$M,{\"name\":\"a\",\"ph\":\"C\",\"ts\":1,\"pid\":1,\"tid\":1}]}"
bad "an unknown phase" "unknown phase" "{\"traceEvents\":[$M,{\"name\":\"a\",\"ph\":\"Q\",\"ts\":1,\"pid\":1,\"tid\":1}]}"
bad "an instant of no known scope" "instant scope" "{\"traceEvents\":[$M,{\"name\":\"a\",\"ph\":\"i\",\"s\":\"x\",\"ts\":1,\"pid\":1,\"tid\":1}]}"
bad "a counter that is not a number" "counter n='3' is not" "{\"traceEvents\":[$M,{\"name\":\"a\",\"ph\":\"C\",\"ts\":1,\"pid\":1,\"tid\":1,\"args\":{\"n\":\"3\"}}]}"
bad "an X of negative dur" "X without a non-negative dur" "{\"traceEvents\":[$M,{\"name\":\"a\",\"ph\":\"X\",\"ts\":5,\"dur\":-2,\"pid\":1,\"tid\":1}]}"
bad "an E without a B" "no open B" "{\"traceEvents\":[$M,{\"name\":\"a\",\"ph\":\"E\",\"ts\":1,\"pid\":1,\"tid\":1}]}"
bad "an unnamed thread" "no thread_name" "{\"traceEvents\":[$M,{\"name\":\"a\",\"ph\":\"i\",\"s\":\"g\",\"ts\":1,\"pid\":1,\"tid\":2}]}"
printf '{"traceEvents":[%s,{"name":"a","ph":"B","ts":1,"pid":1,"tid":1},{"name":"b","ph":"X","ts":1,"dur":1,"pid":1,"tid":1},{"name":"a","ph":"E","ts":3,"pid":1,"tid":1}],"displayTimeUnit":"ms"}' "$M" > "$tmp/good.json"
echo "$tmp/good.json -" >> "$tmp/bad.list"
$check --batch "$tmp/bad.list" > "$tmp/bad.out" 2>&1
ok "the checker fails on broken files" test $? = 1
for i in $(seq 1 $nbad); do
	IFS='|' read -r what want < "$tmp/bad$i.want"
	ok "checker refuses $what" named_for "$tmp/bad.out" "$tmp/bad$i.json: " "$want"
done
ok "checker passes a sound file" not_named "$tmp/bad.out" "$tmp/good.json: "

# export TRACE [REPLAY-OPTIONS...]: --perfetto next to --json; the same
# output and status as --json alone, nothing on stderr; the file and the
# --json lines go to the checker's list (one python3 for all of them)
: > "$tmp/jobs"
export_ok() {
	local t=$1 n
	shift
	n=$(basename "$t" .trace)$(echo "$*" | tr -dc 'a-z0-9')
	"$kmap" replay --json "$@" "$t" > "$tmp/$n.plain" 2>/dev/null
	local prc=$?
	"$kmap" replay --json "$@" --perfetto "$tmp/$n.pf.json" "$t" \
		> "$tmp/$n.jsonl" 2> "$tmp/$n.err"
	ok "$n: same exit status as without --perfetto" test $? = $prc
	ok "$n: same output as without --perfetto" cmp -s "$tmp/$n.plain" "$tmp/$n.jsonl"
	ok "$n: nothing on stderr" test ! -s "$tmp/$n.err"
	echo "$tmp/$n.pf.json $tmp/$n.jsonl $first" >> "$tmp/jobs"
	last=$tmp/$n.pf.json
}

first=
for t in examples/traces/*.trace tests/import/timed.trace; do
	export_ok "$t"
	"$kmap" replay --perfetto "$tmp/again.json" "$t" > /dev/null 2>&1
	ok "$(basename "$t"): deterministic" cmp -s "$last" "$tmp/again.json"
done
# one step = 1 us: the story's records at 0, 1, 2, ... us
ok "story: logical time" grep -q '"time":"logical: a step (each record) is 1 us"' "$tmp/story.pf.json"
ok "deadlock: the sleepers' spans close at the end" \
	test "$(grep -c '"name":"asleep","cat":"sleep","ph":"E"' "$tmp/deadlock.pf.json")" = 2
# other policies and windows
export_ok examples/traces/sleep-wake.trace --policy clock
export_ok examples/traces/story.trace --policy lockfree --last-pkmap 4

# A real kernel's trace: the first event at its first line's timestamp.
"$kmap" import tests/import/cut-686-pae-1G.ftrace > "$tmp/real.trace" 2>/dev/null
ok "import of the real trace" test -s "$tmp/real.trace"
first=$(sed -n 's/^[a-z_0-9]* kmap [0-9]* @\([0-9.]*\).*/\1/p' "$tmp/real.trace" | head -1)
ok "the imported trace has times" test -n "$first"
export_ok "$tmp/real.trace"
ok "real: the trace's times" grep -q '"time":"the trace'"'"'s times' "$tmp/real.pf.json"
export_ok "$tmp/real.trace" --last-pkmap 8
ok "real, 8 slots: flushes drawn" grep -q '"name":"flush"' "$last"
# a whole capture: 1228 kmaps, the kernel's own two flushes on its window
zcat tests/import/x86-32-pae-2G.ftrace.gz | "$kmap" import - > "$tmp/pae2g.trace" 2>/dev/null
first=$(sed -n 's/^[a-z_0-9]* kmap [0-9]* @\([0-9.]*\).*/\1/p' "$tmp/pae2g.trace" | head -1)
ok "the whole capture imported, with times" test -n "$first"
export_ok "$tmp/pae2g.trace"
ok "whole capture: the kernel's two flushes" \
	test "$(grep -c '"name":"flush"' "$last")" = 2
first=

# Random traces: sleeps, local maps, misuse, colours, other policies.
if [ -n "$gen" ] && [ -x "$gen" ]; then
	for seed in $(seq 1 12); do
		case $((seed % 4)) in
		0) args=() ;;
		1) args=(--last-pkmap 4 --tasks 5) ;;
		2) args=(--profile arm --last-pkmap 8 --colors 4 --tasks 4) ;;
		3) args=(--dirty) ;;
		esac
		"$gen" "$seed" 300 "${args[@]}" > "$tmp/gen$seed.trace"
		case $((seed % 3)) in
		0) export_ok "$tmp/gen$seed.trace" --policy clock ;;
		1) export_ok "$tmp/gen$seed.trace" ;;
		2) export_ok "$tmp/gen$seed.trace" --policy lockfree ;;
		esac
	done
else
	echo "note: no gentrace given; random traces not exported"
fi

# The checks of every export above.
$check --batch "$tmp/jobs" > "$tmp/checks" 2>&1
ok "the checker ran" test $? -le 1
while read -r f _; do
	ok "$(basename "$f" .pf.json): format and content checks" \
		not_named "$tmp/checks" "$f: "
done < "$tmp/jobs"
head -20 "$tmp/checks"

# With the pictures: all three written, the same status.
"$kmap" replay --svg "$tmp/s.svg" --html "$tmp/s.html" --perfetto "$tmp/s.json" \
	examples/traces/sleep-wake.trace > /dev/null 2>&1
ok "with --svg and --html: the same exit status" test $? = 1
ok "with --svg and --html: all written" test -s "$tmp/s.svg" -a -s "$tmp/s.html" -a -s "$tmp/s.json"
ok "with --svg and --html: the same file" cmp -s "$tmp/s.json" "$tmp/sleep-wake.pf.json"

# Files that cannot be written: 2 before the run, 3 after it.
"$kmap" replay --perfetto /nonexistent/dir/x.json examples/traces/story.trace \
	> "$tmp/bad.out" 2> "$tmp/bad.err"
ok "--perfetto to a bad path: exit 2" test $? = 2
ok "--perfetto to a bad path: runs nothing" test ! -s "$tmp/bad.out"
ok "--perfetto to a bad path: named" has "$tmp/bad.err" /nonexistent/dir/x.json
if [ -w /dev/full ]; then
	"$kmap" replay --perfetto /dev/full examples/traces/story.trace \
		> /dev/null 2> "$tmp/full.err"
	ok "--perfetto to a full disk: exit 3" test $? = 3
	ok "--perfetto to a full disk: said" has "$tmp/full.err" "cannot write"
fi
"$kmap" replay --perfetto > /dev/null 2>&1
ok "--perfetto without a file: exit 2" test $? = 2

finish
