#!/usr/bin/env bash
# run-diff.sh KMAP_BIN REF_BIN GEN_BIN [COUNT]
#
# Differential test of `kmap replay --json` against the reference model
# (tests/ref/kmapref.c) on COUNT random traces (seeds 1..COUNT, default 300)
# written by tests/ref/gentrace.c.
#
# For each seed: generate a trace, run `KMAP_BIN replay --json TRACE`, take
# pkmap_base and local_base from its machine line, run
# `REF_BIN --pkmap-base .. --local-base .. TRACE`, and compare every line
# after kmap's first (the reference prints no machine line) and the exit
# status. On the first mismatch: print the seed, the trace path (kept) and
# the first differing lines, and exit 1.
#
# Environment: KEEP_GOING=1 runs every seed and reports all mismatches;
# RUN_DIFF_OPS=N fixes the number of operations per trace (default: varies
# with the seed, 20..319); RUN_DIFF_GEN_ARGS="..." extra gentrace options
# (e.g. "--clean" or "--profile arm --last-pkmap 4 --tasks 5");
# RUN_DIFF_TIMEOUT=S per run (default 60).
set -u

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	echo "usage: $0 KMAP_BIN REF_BIN GEN_BIN [COUNT]" >&2
	exit 2
fi
KMAP=$1
REF=$2
GEN=$3
COUNT=${4:-300}
KEEP_GOING=${KEEP_GOING:-0}
TMO=${RUN_DIFF_TIMEOUT:-60}

for b in "$KMAP" "$REF" "$GEN"; do
	if [ ! -x "$b" ]; then
		echo "run-diff: $b: not an executable" >&2
		exit 2
	fi
done

TIMEOUT=()
if command -v timeout >/dev/null 2>&1; then
	TIMEOUT=(timeout "$TMO")
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kmap-run-diff.XXXXXX") || exit 2
keep=0
# shellcheck disable=SC2317 # called by the trap
cleanup() { [ "$keep" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

# Run a snapshot of kmap, so that a rebuild during the run cannot interfere.
if cp -p "$KMAP" "$WORK/kmap" 2>/dev/null; then
	KMAP_ORIG=$KMAP
	KMAP=$WORK/kmap
else
	KMAP_ORIG=$KMAP
fi

passed=0
failed=0

# mismatch SEED TRACE WHAT: report one failing seed; keep its files.
mismatch() {
	local seed=$1 trace=$2 what=$3
	keep=1
	failed=$((failed + 1))
	echo "MISMATCH seed $seed: $what"
	echo "  trace:     $trace"
	echo "  kmap out:  $WORK/kmap-$seed.out (stderr $WORK/kmap-$seed.err)"
	echo "  ref out:   $WORK/ref-$seed.out (stderr $WORK/ref-$seed.err)"
	echo "  regenerate: $GEN $seed $ops ${RUN_DIFF_GEN_ARGS:-}"
	echo "  rerun:     $KMAP_ORIG replay --json $trace"
}

for ((seed = 1; seed <= COUNT; seed++)); do
	trace=$WORK/trace-$seed.txt
	kout=$WORK/kmap-$seed.out
	rout=$WORK/ref-$seed.out
	ops=${RUN_DIFF_OPS:-$((20 + (seed * 97) % 300))}

	# shellcheck disable=SC2086 # word splitting of the extra options is wanted
	if ! "$GEN" "$seed" "$ops" ${RUN_DIFF_GEN_ARGS:-} >"$trace" 2>"$WORK/gen-$seed.err"; then
		keep=1
		echo "run-diff: $GEN $seed $ops ${RUN_DIFF_GEN_ARGS:-} failed:" >&2
		cat "$WORK/gen-$seed.err" >&2
		exit 2
	fi

	${TIMEOUT[@]+"${TIMEOUT[@]}"} "$KMAP" replay --json "$trace" >"$kout" 2>"$WORK/kmap-$seed.err"
	krc=$?

	machine=$(head -n 1 "$kout")
	pkmap_base=$(printf '%s\n' "$machine" | sed -n 's/.*"pkmap_base":"\(0x[0-9a-fA-F]*\)".*/\1/p')
	local_base=$(printf '%s\n' "$machine" | sed -n 's/.*"local_base":"\(0x[0-9a-fA-F]*\)".*/\1/p')
	case $machine in
	'{"machine":'*) ;;
	*)
		mismatch "$seed" "$trace" "kmap's first line is not a machine object (exit $krc)"
		echo "  first line: $machine"
		head -n 5 "$WORK/kmap-$seed.err" | sed 's/^/  stderr: /'
		[ "$KEEP_GOING" = 1 ] && continue
		break
		;;
	esac
	if [ -z "$pkmap_base" ] || [ -z "$local_base" ]; then
		mismatch "$seed" "$trace" "no pkmap_base/local_base in kmap's machine line"
		echo "  machine: $machine"
		[ "$KEEP_GOING" = 1 ] && continue
		break
	fi

	${TIMEOUT[@]+"${TIMEOUT[@]}"} "$REF" --pkmap-base "$pkmap_base" --local-base "$local_base" "$trace" \
		>"$rout" 2>"$WORK/ref-$seed.err"
	rrc=$?
	if [ "$rrc" -ge 2 ]; then
		keep=1
		echo "run-diff: the reference failed on seed $seed (exit $rrc): $trace" >&2
		cat "$WORK/ref-$seed.err" >&2
		exit 2
	fi

	if ! tail -n +2 "$kout" | cmp -s - "$rout"; then
		mismatch "$seed" "$trace" "output differs (exit kmap $krc, ref $rrc)"
		echo "  first differing lines (< kmap, > reference):"
		tail -n +2 "$kout" | diff - "$rout" | head -n 12 | sed 's/^/    /'
		[ "$KEEP_GOING" = 1 ] && continue
		break
	fi
	if [ "$krc" -ne "$rrc" ]; then
		mismatch "$seed" "$trace" "exit status differs: kmap $krc, reference $rrc"
		[ "$KEEP_GOING" = 1 ] && continue
		break
	fi
	passed=$((passed + 1))
	rm -f "$trace" "$kout" "$rout" "$WORK"/*-"$seed".err
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
exit 0
