#!/usr/bin/env bash
# run-qemu.sh - boot the kmap kernel under qemu with a trace and print what
# it wrote: the boot log ("[boot] " lines) and then the JSON, exactly as
# `kmap replay --json TRACE` writes it.
#
#   kernel/run-qemu.sh [options] KERNEL|DIR TRACE|-
#
# KERNEL is the i386 kernel (kmap-kernel.elf: qemu-system-i386, the boot
# log on COM2, the JSON on COM1) or the ARMv7 one (kmap-kernel-arm.bin:
# qemu-system-arm -M virt -cpu cortex-a15, the boot log on the PL011, the
# JSON through semihosting). A DIR holding both (build-bare/) lets the
# trace's profile choose: arm* the ARM kernel, the others the i386 one.
#
#     --json FILE    write the JSON stream to FILE instead of stdout
#     --boot FILE    write the boot log to FILE instead of stdout
#     --ram MIB      RAM for the machine (default: the trace's mem + room
#                    for the kernel, see below)
#     --append STR   the kernel's command line (e.g. check=0)
#     --timeout S    give up after S seconds (default 300)
#   KMAP_QEMU_ACCEL=kvm   use KVM instead of TCG
#
# RAM, x86: the trace's `mem=` (or the profile's default) plus 64 MiB for
# the kernel and the trace plus mem/128 for mem_map and the policies'
# page_slot array. qemu's pc machine keeps RAM below 4 GiB up to 3.5 GiB
# and moves what is past 3 GiB above 4 GiB beyond that; the kernel backs
# the trace's pfns with frames of the same number where it can and with
# spare frames past the trace's memory elsewhere (see kernel/mem.c).
# ARM: the trace's memory plus the kernel's own map (96 MiB) and a MiB,
# from 0x40000000 on: the pfns whose frames the kernel holds are backed by
# whole MiBs past the trace's memory. Short-descriptor tables name 32-bit
# physical addresses only, so an ARM trace runs up to about 2.9 GiB.
#
# Exit status: the kernel's (0 or 1 as kmap replay, 2 unreadable trace,
# 3 the machine cannot be built on this RAM, 4 a kernel bug, 5 the machine's
# layout covers the kernel and there is no low image); 124 when qemu
# timed out, 125 when the kernel stopped without an exit status, 127 when
# there is no qemu.
set -u

json_out=- boot_out=- ram= append= tmo=300
while [ $# -gt 0 ]; do
	case "$1" in
	--json) json_out=$2; shift 2 ;;
	--boot) boot_out=$2; shift 2 ;;
	--ram) ram=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--timeout) tmo=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "run-qemu: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ $# -ne 2 ]; then
	echo "usage: $0 [--json FILE] [--boot FILE] [--ram MIB] [--append STR] KERNEL|DIR TRACE" >&2
	exit 2
fi
kernel=$1 trace=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$trace" = - ]; then
	mkdir "$tmp/in"
	cat > "$tmp/in/stdin.trace"
	trace=$tmp/in/stdin.trace
fi
[ -r "$trace" ] || { echo "run-qemu: cannot read $trace" >&2; exit 2; }

# The profile the trace's machine line names ("" when there is none).
trace_profile() {
	sed -e 's/#.*//' "$1" | awk '$1 == "machine" { print $2; exit } NF { exit }'
}
if [ -d "$kernel" ]; then
	case "$(trace_profile "$trace")" in
	arm*) kernel=$kernel/kmap-kernel-arm.bin ;;
	*) kernel=$kernel/kmap-kernel.elf ;;
	esac
fi
arch=x86
case "$kernel" in *-arm.bin) arch=arm ;; esac
[ -r "$kernel" ] || { echo "run-qemu: cannot read the kernel $kernel" >&2; exit 2; }

qemu=
if [ "$arch" = arm ]; then
	command -v qemu-system-arm >/dev/null 2>&1 && qemu=qemu-system-arm
	[ -n "$qemu" ] || { echo "run-qemu: no qemu-system-arm" >&2; exit 127; }
else
	for q in qemu-system-i386 qemu-system-x86_64; do
		if command -v "$q" >/dev/null 2>&1; then qemu=$q; break; fi
	done
	[ -n "$qemu" ] || { echo "run-qemu: no qemu-system-i386 or qemu-system-x86_64" >&2; exit 127; }
fi

# The size the trace's machine line asks for, in bytes.
trace_mem() {
	local line profile mem=
	line=$(sed -e 's/#.*//' -e 's/^[[:space:]]*//' "$1" | grep -m1 -v '^[[:space:]]*$' || true)
	set -- $line
	[ "${1:-}" = machine ] || { echo $((64 << 20)); return; }
	profile=${2:-}
	shift 2 2>/dev/null || shift $#
	for kv in "$@"; do
		case "$kv" in mem=*) mem=${kv#mem=} ;; esac
	done
	if [ -z "$mem" ]; then
		case "$profile" in
		x86-32-pae) echo $((16 << 30)) ;;
		*) echo $((2 << 30)) ;;
		esac
		return
	fi
	local shift_=0 num=$mem
	case "$mem" in
	*K) shift_=10; num=${mem%K} ;;
	*M) shift_=20; num=${mem%M} ;;
	*G) shift_=30; num=${mem%G} ;;
	esac
	case "$num" in
	0x*|0X*) [[ "$num" =~ ^0[xX][0-9a-fA-F]+$ ]] || num=0 ;;
	*) [[ "$num" =~ ^[0-9]+$ ]] || num=0; num=$((10#$num)) ;;
	esac
	echo $(( num << shift_ ))
}

if [ -z "$ram" ]; then
	mem=$(trace_mem "$trace")
	[ "$mem" -gt 0 ] 2>/dev/null || mem=$((64 << 20))
	tsize=$(stat -c %s "$trace")
	if [ "$arch" = arm ]; then
		ram=$(( (mem + (97 << 20) + (1 << 20) - 1) >> 20 ))
	else
		ram=$(( (mem + (64 << 20) + mem / 128 + tsize + (1 << 20) - 1) >> 20 ))
	fi
fi

# qemu splits -initrd at commas: give it a plain name
base=$(basename "$trace" | tr -c 'A-Za-z0-9._\n-' '_')
cp "$trace" "$tmp/$base"

# TCG by default: the runs are short, and KVM is not always usable where
# /dev/kvm exists (nested, sandboxed). KMAP_QEMU_ACCEL=kvm asks for it.
accel=${KMAP_QEMU_ACCEL:-tcg}
boot_x86() {
	# qemu's pc machine keeps at most 3.5 GiB below 4 GiB (3 GiB when it
	# has to split) and puts the rest above 4 GiB, which two-level page
	# tables cannot reach. RAM that fits under 4 GiB with room for the PCI
	# hole and the BIOS is kept there whole (max-ram-below-4g), so an
	# x86-32 trace of up to ~3.7 GiB still runs without PAE.
	local machine_opts=
	if [ "$ram" -gt 3584 ] && [ "$ram" -le 3840 ]; then
		machine_opts=",max-ram-below-4g=4G"
	fi
	# qemu32 has no PSE-36, so qemu gives it 32-bit physical addresses and
	# PAE could not name the RAM above 4 GiB; with PSE-36 MAXPHYADDR is 36.
	local cpu=${KMAP_QEMU_CPU:-qemu32,+pse36}
	[ "$qemu" = qemu-system-x86_64 ] && cpu=${KMAP_QEMU_CPU:-qemu64}
	rm -f "$tmp/json" "$tmp/boot"
	timeout "$tmo" "$qemu" -accel "$accel" -M "pc$machine_opts" -cpu "$cpu" \
		-m "${ram}M" -nodefaults -display none -monitor none -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-serial "file:$tmp/json" -serial "file:$tmp/boot" \
		-kernel "$1" -initrd "$tmp/$base" -append "$append" \
		> "$tmp/qemu.out" 2>&1
	qrc=$?
	# isa-debug-exit: qemu exits with 2N + 1 for the kernel's status N
	[ "$qrc" -ge 1 ] && [ "$qrc" -le 255 ] && [ $((qrc % 2)) = 1 ] &&
		qrc=$(( (qrc - 1) / 2 ))
}
boot_arm() {
	# the boot log on the PL011; the JSON and the exit status through
	# semihosting (kernel/arm/console.c says why)
	rm -f "$tmp/json" "$tmp/boot"
	timeout "$tmo" "$qemu" -accel "$accel" -M virt -cpu "${KMAP_QEMU_CPU:-cortex-a15}" \
		-m "${ram}M" -nodefaults -display none -monitor none -no-reboot \
		-serial "file:$tmp/boot" -chardev "file,id=json,path=$tmp/json" \
		-semihosting-config enable=on,target=native,chardev=json \
		-kernel "$1" -initrd "$tmp/$base" -append "$append" \
		> "$tmp/qemu.out" 2>&1
	qrc=$?
}
# The kernel's exit status as qemu returned it: $qrc.
if [ "$arch" = arm ]; then
	boot_arm "$kernel"
else
	boot_x86 "$kernel"
	# Exit status 5: the machine's layout covers the kernel's addresses
	# (pkmap windows of 8192 slots and more, or the vmalloc area of a
	# trace that vmaps); the image linked at 0x40000000
	# (kmap-kernel-low.elf, beside KERNEL) runs it.
	low=${kernel%.elf}-low.elf
	if [ "$qrc" = 5 ] && [ -e "$low" ] && grep -q "^\[boot\] power off, exit status 5$" "$tmp/boot"; then
		echo "run-qemu: the machine's layout covers the kernel at 0xf8800000:" \
		     "booting $(basename "$low") (at 0x40000000)" >&2
		boot_x86 "$low"
	fi
fi

emit() { if [ "$2" = - ]; then cat "$1" 2>/dev/null; else cat "$1" > "$2" 2>/dev/null || : > "$2"; fi; }
emit "$tmp/boot" "$boot_out"
emit "$tmp/json" "$json_out"
if [ -s "$tmp/qemu.out" ]; then
	sed 's/^/run-qemu: qemu: /' "$tmp/qemu.out" >&2
fi
if [ "$qrc" = 124 ]; then
	echo "run-qemu: qemu timed out after ${tmo}s" >&2
	exit 124
fi
# The kernel's last words are "[boot] power off, exit status N", and qemu
# then exits with N. qemu failing to start exits 1: without the line that
# is not a status of the kernel's.
status=$(sed -n 's/^\[boot\] power off, exit status \([0-9]*\)$/\1/p' "$tmp/boot" | tail -1)
if [ -n "$status" ] && [ "$qrc" = "$status" ]; then
	exit "$status"
fi
echo "run-qemu: the kernel stopped without an exit status (qemu exit $qrc)" >&2
exit 125
