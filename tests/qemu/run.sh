#!/usr/bin/env bash
# The kmap kernel under qemu against `kmap replay --json`, byte for byte.
#
#   run.sh KMAP SRCDIR [OUTDIR [ARCH]]
#
# Builds the kernel for ARCH, x86 (the default) or arm (kernel/, into
# OUTDIR, default SRCDIR/build-bare) and boots it under qemu with each
# trace. x86, under qemu-system-i386 with the trace as a multiboot module:
#   - every examples/traces/*.trace on x86-32 and on x86-32-pae (its
#     machine line's profile swapped where it names another), so each
#     example runs on two-level and on PAE tables;
#     pae-6g.trace boots with 6 GiB and reads and writes pages above 4 GiB;
#   - a window of 65536 slots, which moves the kernel to its low image;
#   - random vmap-heavy traces (lazy purges, a full vmalloc area) on both
#     x86 profiles, on real page tables for the vmalloc area (the low image);
#   - tests/qemu/stale-tlb.trace normally, and with tlb=noflush, where it
#     must read the wrong bytes (the TLB flushes are real and needed); the
#     same for vm_map_ram's deferred flush (stale-tlb-vm-map-ram.trace).
# arm, under qemu-system-arm -M virt -cpu cortex-a15 with the trace as the
# initrd:
#   - every example trace on the ARM profiles arm-virt (RAM and pfns from
#     0x40000000, as on the board), arm and arm-2g (its machine line's
#     profile swapped); the boot log names the CPU from MIDR, the
#     short-descriptor tables and the pkmap window's page-table page;
#   - a window of 65536 slots (128 page-table pages), and a machine too big
#     for 32-bit physical addresses (exit 3, said in the boot log);
#   - stale-tlb.trace and stale-tlb-vm-map-ram.trace on arm-virt, normally
#     and with tlb=noflush;
#   - random vmap-heavy traces on arm-virt, arm and arm-2g.
# Both: random traces under each policy, and an unreadable trace. The JSON
# must equal `KMAP replay --json` and the exit status must be the same.
#
# qemu (qemu-system-x86, qemu-system-arm) and the compilers (gcc-multilib;
# clang and lld) are installed when missing (as root); where they cannot
# be, the test says so and exits 77 (skipped).
set -u
kmap=$(realpath "$1")
src=$(realpath "$2")
out=${3:-$src/build-bare}
arch=${4:-x86}
cd "$src" || exit 2

skip() {
	echo "SKIP: $*"
	exit 77
}

if [ "$arch" = arm ]; then
	qemus=(qemu-system-arm) qemu_pkg=qemu-system-arm
else
	qemus=(qemu-system-i386 qemu-system-x86_64) qemu_pkg=qemu-system-x86
fi
have_qemu() {
	for q in "${qemus[@]}"; do
		command -v "$q" >/dev/null 2>&1 && return 0
	done
	return 1
}
if ! have_qemu; then
	echo "$qemu_pkg is missing; installing it"
	scripts/need-pkgs.sh "$qemu_pkg" >/dev/null 2>&1 || true
	have_qemu || skip "$qemu_pkg is not installed and cannot be installed here" \
	                  "(install it: apt-get install $qemu_pkg)"
fi
if [ "$arch" = arm ]; then
	# clang for armv7a-none-eabi and ld.lld: try exactly what the kernel does
	links_arm() {
		echo 'void _start(void) {}' |
			clang --target=armv7a-none-eabi -ffreestanding -nostdlib \
				-fuse-ld=lld -x c -o /dev/null - 2>/dev/null
	}
	if ! links_arm; then
		scripts/need-pkgs.sh clang lld >/dev/null 2>&1 || true
		links_arm || skip "clang and ld.lld cannot build ARM code (install clang lld)"
	fi
	elf=$out/kmap-kernel-arm.bin
else
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
	elf=$out/kmap-kernel.elf
fi

mkdir -p "$out"
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C kernel O="$out" ARCH="$arch" \
	> "$out/build-$arch.log" 2>&1; then
	echo "FAIL: the $arch kernel does not build:"
	tail -30 "$out/build-$arch.log"
	exit 1
fi

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

# on PROFILE TRACE OUT: TRACE with its machine line's profile swapped (OUT
# - for stdout)
on() {
	sed "0,/^[[:space:]]*machine[[:space:]]\+[^[:space:]]\+/s//machine $1/" "$2" |
		if [ "$3" = - ]; then cat; else cat > "$3"; fi
}

# examples_on PROFILE...: every example trace on each PROFILE, as it is
# where it names that profile (run NAME), else swapped (run NAME-on-PROFILE)
examples_on() {
	local t n p q
	for t in examples/traces/*.trace; do
		n=$(basename "$t" .trace)
		p=$(profile_of "$t")
		for q in "$@"; do
			if [ "$q" = "$p" ]; then
				compare "$n" "$t"
			else
				on "$q" "$t" "$tmp/$n-on-$q.trace"
				compare "$n-on-$q" "$tmp/$n-on-$q.trace"
			fi
		done
	done
}

x86_checks() {
	local t n
	examples_on x86-32 x86-32-pae
	for t in examples/traces/*.trace; do
		n=$(basename "$t" .trace)
		case "$(profile_of "$t")" in
		x86-32) ok "$n: two-level page tables" grep -q "paging: two levels" "$tmp/$n.boot" ;;
		x86-32-pae) ok "$n: PAE page tables" grep -q "paging: PAE" "$tmp/$n.boot" ;;
		esac
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
	stale_vm_map_ram tests/qemu/stale-tlb-vm-map-ram.trace
}

# stale_vm_map_ram TRACE: vm_map_ram's pieces go unflushed until their
# block's purge; without that flush a new block at the same address reads
# the old page (one read of the trace's two differs, and says "aa").
stale_vm_map_ram() {
	compare stale-vm-map-ram "$1"
	kernel/run-qemu.sh --timeout 120 --append tlb=noflush --json "$tmp/noflush-vmr.kern" \
		--boot "$tmp/noflush-vmr.boot" "$elf" "$1" 2> /dev/null
	ok "vm_map_ram tlb=noflush: the replay still runs" test $? = 0
	ok "vm_map_ram tlb=noflush: the new block reads the old page" \
		test "$(diff "$tmp/stale-vm-map-ram.host" "$tmp/noflush-vmr.kern" |
		        grep -c '^> .*"op":"read".*"data":"aa"')" = 1
}

arm_checks() {
	local b=$tmp/arm-virt.boot
	examples_on arm-virt arm arm-2g
	ok "arm: the boot log names the CPU from MIDR" \
		grep -q "^\[boot\] kmap kernel .*: ARMv7 Cortex-A15 r[0-9]p[0-9] (MIDR 0x41" "$b"
	ok "arm-virt: RAM and pfns from PHYS_OFFSET" \
		grep -q "RAM at physical 0x40000000 (PHYS_OFFSET): pfns 262144-524287" "$b"
	ok "arm-virt: short-descriptor tables, lowmem in 1 MiB sections" \
		grep -q "paging: ARMv7 short descriptors.*lowmem: 768 sections of 1 MiB" "$b"
	ok "arm-virt: the pkmap window's page-table page just below PAGE_OFFSET" \
		grep -q "pkmap  0xbfe00000-0xbfffffff: L1\[3070\] L1\[3071\] -> page" "$b"
	ok "arm-virt: pfn P is frame P but for the kernel's" \
		grep -q "pfns 262144-524287 (frame = pfn unless shown)" "$b"
	ok "arm-virt: the window's flush by MVA, local maps flushed on map and unmap" \
		grep -q "1 window flushes, 8 single-page flushes (4 TLBIMVAIS, 8 TLBIMVA)" "$b"
	ok "arm: pfn P backed by RAM's frame 0x40000 + P" \
		grep -q "frame = pfn + 0x40000 unless shown" "$tmp/colors.boot"
	ok "arm-virt SPARSEMEM: the boot log names the sections and the flags" \
		grep -q "SPARSEMEM: 8 sections of 2^28 bytes present; page->flags: section at bit 24" "$tmp/sparsemem.boot"
	ok "arm-2g: lowmem from 0x80000000" \
		grep -q "lowmem  : 0x80000000 - " "$tmp/colors-on-arm-2g.boot"

	# 65536 slots: 256 MiB of window from 0x70000000, 128 page-table pages
	{
		echo "machine arm-2g mem=2G last_pkmap=65536"
		echo "A kmap 500000"
		echo "A write 500000 0 77"
		echo "B kmap_local 500001"
		echo "B write 500001 0 88"
		echo "A kunmap 500000"
		echo "A flush_unused"
		echo "A kmap 500000"
		echo "A read 500000 0 1"
		echo "B read 500001 0 1"
		echo "B kunmap_local 500001"
		echo "A kunmap 500000"
	} > "$tmp/wide.trace"
	compare wide-window "$tmp/wide.trace"
	ok "wide window: 128 page-table pages" \
		test "$(grep -c '^\[boot\]   pkmap  0x' "$tmp/wide-window.boot")" = 128
	ok "wide window: the flush is one TLBIMVAIS a page" \
		grep -q "(65536 TLBIMVAIS," "$tmp/wide-window.boot"

	# lowmem ending inside an odd MiB: the MiB before it a section, the last
	# one small pages in the second half of the pair's page-table page
	printf '%s\n' "machine arm-virt mem=785920K" "A kmap 458600" \
		"A write 458600 4095 aa" "A read 458600 4095 1" "A kmap 458000" \
		"A read 458000 0 1" > "$tmp/partial-mib.trace"
	compare partial-mib "$tmp/partial-mib.trace"
	ok "partial MiB: 767 sections and small pages" \
		grep -q "lowmem: 767 sections of 1 MiB and small pages" "$tmp/partial-mib.boot"

	# Short-descriptor tables name 32-bit physical addresses: 3 GiB from
	# 0x40000000, and the kernel's own beside it, do not fit below 4 GiB.
	printf 'machine arm-virt mem=3G\nA kmap 1000000\nA kunmap 1000000\n' > "$tmp/big.trace"
	kernel/run-qemu.sh --timeout 120 --boot "$tmp/big.boot" --json "$tmp/big.kern" \
		"$elf" "$tmp/big.trace" 2> "$tmp/big.err"
	local rc=$?
	if grep -q "cannot set up guest memory" "$tmp/big.err"; then
		echo "skipped: arm 3G: this host cannot give qemu the RAM it asks for"
	else
		ok "arm 3G: exit 3, the machine does not fit below 4 GiB" test "$rc" = 3
		ok "arm 3G: the boot log says why" \
			grep -q "not enough RAM behind the machine.*below 4 GiB (short-descriptor" "$tmp/big.boot"
	fi

	# The TLB maintenance matters on ARM too (the trace's highmem pfns
	# moved to arm-virt's highmem).
	on arm-virt tests/qemu/stale-tlb.trace - |
		sed 's/\<2300\([0-9][0-9]\)\>/4600\1/g' > "$tmp/stale-arm.trace"
	compare stale-tlb-arm "$tmp/stale-arm.trace"
	kernel/run-qemu.sh --timeout 120 --append tlb=noflush --json "$tmp/noflush.kern" \
		--boot "$tmp/noflush.boot" "$elf" "$tmp/stale-arm.trace" 2> /dev/null
	ok "arm tlb=noflush: the replay still runs" test $? = 0
	ok "arm tlb=noflush: stale translations read the wrong bytes" \
		test "$(diff "$tmp/stale-tlb-arm.host" "$tmp/noflush.kern" | grep -c '^> .*"op":"read"')" = 3
	on arm-virt tests/qemu/stale-tlb-vm-map-ram.trace - |
		sed 's/\<2301\([0-9][0-9]\)\>/4601\1/g; s/\<2300\([0-9][0-9]\)\>/4600\1/g' \
		> "$tmp/stale-vmr-arm.trace"
	stale_vm_map_ram "$tmp/stale-vmr-arm.trace"
}

if [ "$arch" = arm ]; then
	arm_checks
else
	x86_checks
fi

# Random traces (tests/ref/gentrace: tasks sleeping and waking, errors,
# local maps) under each policy: the tasks block inside the kernel's kmap
# and must write what kmap replay's parked tasks write. The generator is
# built beside kmap; on arm its machine is arm-virt, then arm-2g.
gentrace=$(dirname "$kmap")/gentrace
if [ -x "$gentrace" ]; then
	for pol in linux lockfree clock; do
		for seed in 1 2; do
			prof=()
			[ "$arch" = arm ] && prof=(--profile "$([ "$seed" = 1 ] && echo arm-virt || echo arm-2g)")
			"$gentrace" "$seed" 400 "${prof[@]}" --last-pkmap 4 \
				--colors $((seed == 2 ? 2 : 1)) --tasks 4 --highmem-pages 40 --dirty |
				sed "/^policy /d; /^[[:space:]]*machine[[:space:]]/a policy $pol" > "$tmp/random-$pol-$seed.trace"
			compare "random-$pol-$seed" "$tmp/random-$pol-$seed.trace"
		done
	done
	ok "random traces: some task slept and woke" \
		grep -q '"resumed":true' "$tmp"/random-*.host
else
	echo "FAIL: no $gentrace to make random traces"
	fail=$((fail + 1))
fi

# vmap: random traces with many and large areas (tests/ref/gentrace
# --vmap-heavy): the purges' one TLB flush for many areas, a full vmalloc
# area, reads through areas, on real page tables. On x86 0xf8800000 is in
# every profile's vmalloc area, so the low image runs them.
if [ -x "$gentrace" ]; then
	seed=1
	if [ "$arch" = arm ]; then vprofs="arm-virt arm arm-2g"; else vprofs="x86-32 x86-32-pae"; fi
	for prof in $vprofs; do
		"$gentrace" "$seed" 300 --profile "$prof" --vmap-heavy --dirty \
			> "$tmp/vmap-$prof.trace"
		compare "vmap-$prof" "$tmp/vmap-$prof.trace"
		seed=$((seed + 2))
	done
	ok "vmap traces: lazily freed areas purged" \
		grep -q '"event":"purge","areas":\["' "$tmp"/vmap-*.host
	if [ "$arch" = x86 ]; then
		ok "vmap traces: the kernel moved to 0x40000000" \
			grep -q "kernel  : 0x40100000" "$tmp/vmap-x86-32.boot"
	fi
fi

# An unreadable trace: exit 2, no JSON, the error in the boot log.
printf 'A kmap 1\nmachine x86-32\n' > "$tmp/bad.trace"
compare bad-trace "$tmp/bad.trace"
ok "bad trace: the error is in the boot log" \
	grep -q "the machine line is missing" "$tmp/bad-trace.boot"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
