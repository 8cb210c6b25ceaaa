#!/usr/bin/env bash
# The kmap kernel under qemu against `kmap replay --json`, byte for byte.
#
#   run.sh KMAP SRCDIR [OUTDIR]
#
# Builds the kernel (kernel/, into OUTDIR, default SRCDIR/build-bare) and
# boots it under qemu with each trace as its module:
#   - every examples/traces/*.trace as it is, and again on the x86 profiles
#     it does not name (its machine line's profile swapped for x86-32 and
#     x86-32-pae), so each example runs on two-level and on PAE tables;
#     pae-6g.trace boots with 6 GiB and reads and writes pages above 4 GiB;
#   - a window of 65536 slots, which moves the kernel to its low image;
#   - tests/qemu/stale-tlb.trace normally, and with tlb=noflush, where it
#     must read the wrong bytes (the TLB flushes are real and needed).
# The JSON on COM1 must equal `KMAP replay --json` and the exit status
# must be the same; the boot log must name the paging mode.
#
# qemu-system-x86 is installed when missing (as root); where it cannot be,
# the test says so and exits 77 (skipped). The same for a compiler that
# cannot build 32-bit code (gcc-multilib).
set -u
kmap=$(realpath "$1")
src=$(realpath "$2")
out=${3:-$src/build-bare}
cd "$src" || exit 2

skip() {
	echo "SKIP: $*"
	exit 77
}

have_qemu() {
	command -v qemu-system-i386 >/dev/null 2>&1 ||
		command -v qemu-system-x86_64 >/dev/null 2>&1
}
if ! have_qemu; then
	echo "qemu-system-x86 is missing; installing it"
	scripts/need-pkgs.sh qemu-system-x86 >/dev/null 2>&1 || true
	have_qemu || skip "qemu-system-x86 is not installed and cannot be installed here" \
	                  "(install it: apt-get install qemu-system-x86)"
fi
# the kernel links with -nostdlib ... -lgcc: try exactly that
links32() {
	echo 'void _start(void) {}' |
		gcc -m32 -ffreestanding -nostdlib -static -x c -o /dev/null - -lgcc \
		2>/dev/null
}
if ! links32; then
	scripts/need-pkgs.sh gcc-multilib >/dev/null 2>&1 || true
	links32 || skip "gcc cannot build 32-bit code (install gcc-multilib)"
fi

mkdir -p "$out"
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C kernel O="$out" > "$out/build.log" 2>&1; then
	echo "FAIL: the kernel does not build:"
	tail -30 "$out/build.log"
	exit 1
fi
elf=$out/kmap-kernel.elf

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

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

# compare NAME TRACE [APPEND]: the kernel's JSON and status against the host's
compare() {
	local n=$1 t=$2 app=${3:-}
	"$kmap" replay --json "$t" > "$tmp/$n.host" 2> /dev/null
	local hrc=$?
	kernel/run-qemu.sh --timeout 120 --append "$app" --json "$tmp/$n.kern" \
		--boot "$tmp/$n.boot" "$elf" "$t" 2> "$tmp/$n.err"
	local krc=$?
	if [ "$krc" = 127 ]; then
		skip "no qemu to run"
	fi
	if [ "$krc" = 125 ] && grep -q "cannot set up guest memory" "$tmp/$n.err"; then
		echo "skipped: $n: this host cannot give qemu the RAM it asks for"
		rm -f "$tmp/$n.boot"
		return
	fi
	if [ "$krc" != "$hrc" ]; then
		echo "FAIL: $n: exit status $krc under qemu, $hrc from kmap replay"
		sed 's/^/    /' "$tmp/$n.err" | head -5
		grep -E "BUG|not enough|cannot|out of" "$tmp/$n.boot" | sed 's/^/    /' | head -5
		fail=$((fail + 1))
	elif ! cmp -s "$tmp/$n.host" "$tmp/$n.kern"; then
		echo "FAIL: $n: the JSON differs from kmap replay --json:"
		diff -u "$tmp/$n.host" "$tmp/$n.kern" | head -20
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
		echo "ok: $n ($(wc -l < "$tmp/$n.kern") lines, exit $krc)"
	fi
}

profile_of() {
	sed -e 's/#.*//' "$1" | awk '$1 == "machine" { print $2; exit }'
}

for t in examples/traces/*.trace; do
	n=$(basename "$t" .trace)
	p=$(profile_of "$t")
	compare "$n" "$t"
	case "$p" in
	x86-32) ok "$n: two-level page tables" grep -q "paging: two levels" "$tmp/$n.boot" ;;
	x86-32-pae) ok "$n: PAE page tables" grep -q "paging: PAE" "$tmp/$n.boot" ;;
	esac
	for q in x86-32 x86-32-pae; do
		[ "$q" = "$p" ] && continue
		sed "0,/^[[:space:]]*machine[[:space:]]\+[^[:space:]]\+/s//machine $q/" "$t" > "$tmp/$n-on-$q.trace"
		compare "$n-on-$q" "$tmp/$n-on-$q.trace"
	done
done

# 6 GiB under PAE: the pages above 4 GiB are real frames above 4 GiB
if [ -e "$tmp/pae-6g.boot" ]; then
	ok "pae-6g: qemu gave RAM above 4 GiB" \
		grep -q "BIOS-e820: \[mem 0x0000000100000000-" "$tmp/pae-6g.boot"
	ok "pae-6g: PAE page tables" grep -q "paging: PAE" "$tmp/pae-6g.boot"
fi

# A window of 65536 slots (256 MiB) covers 0xf8800000, where the kernel
# lives: kmap-kernel-low.elf, linked at 0x40000000, runs it.
{
	echo "machine x86-32-pae mem=3G last_pkmap=65536"
	echo "A kmap 700000"
	echo "A write 700000 0 77"
	echo "B kmap_local 700001"
	echo "B write 700001 0 88"
	echo "A kunmap 700000"
	echo "A flush_unused"
	echo "A kmap 700000"
	echo "A read 700000 0 1"
	echo "B read 700001 0 1"
	echo "B kunmap_local 700001"
	echo "A kunmap 700000"
} > "$tmp/wide.trace"
compare wide-window "$tmp/wide.trace"
ok "wide window: the kernel moved to 0x40000000" \
	grep -q "kernel  : 0x40100000" "$tmp/wide-window.boot"

# The TLB flushes matter: without them the same trace reads stale pages.
compare stale-tlb tests/qemu/stale-tlb.trace
kernel/run-qemu.sh --timeout 120 --append tlb=noflush --json "$tmp/noflush.kern" \
	--boot "$tmp/noflush.boot" "$elf" tests/qemu/stale-tlb.trace 2> /dev/null
ok "tlb=noflush: the replay still runs" test $? = 0
ok "tlb=noflush: stale translations read the wrong bytes" \
	test "$(diff "$tmp/stale-tlb.host" "$tmp/noflush.kern" | grep -c '^> .*"op":"read"')" = 3

# Random traces (tests/ref/gentrace: tasks sleeping and waking, errors,
# local maps) under each policy: the tasks block inside the kernel's kmap
# and must write what kmap replay's parked tasks write. The generator is
# built beside kmap.
gentrace=$(dirname "$kmap")/gentrace
if [ -x "$gentrace" ]; then
	for pol in linux lockfree clock; do
		for seed in 1 2; do
			"$gentrace" "$seed" 400 --last-pkmap 4 --colors $((seed == 2 ? 2 : 1)) \
				--tasks 4 --highmem-pages 40 --dirty |
				sed "/^policy /d; 1a policy $pol" > "$tmp/random-$pol-$seed.trace"
			compare "random-$pol-$seed" "$tmp/random-$pol-$seed.trace"
		done
	done
	ok "random traces: some task slept and woke" \
		grep -q '"resumed":true' "$tmp"/random-*.host
else
	echo "FAIL: no $gentrace to make random traces"
	fail=$((fail + 1))
fi

# An unreadable trace: exit 2, nothing on COM1, the error in the boot log.
printf 'A kmap 1\nmachine x86-32\n' > "$tmp/bad.trace"
compare bad-trace "$tmp/bad.trace"
ok "bad trace: the error is in the boot log" \
	grep -q "the machine line is missing" "$tmp/bad-trace.boot"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
