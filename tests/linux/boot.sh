#!/usr/bin/env bash
# Boot one configuration under qemu and keep what the guest printed.
#
#   boot.sh CACHE BUILD CONFIG DIR
#
# CONFIG is PROFILE-MEM (x86-32-pae-6G, x86-32-2G, arm-virt-1G); CACHE is
# what fetch.sh filled, BUILD holds initrd-i386.gz and initrd-armhf.gz.
# Writes DIR/console.log (plain text), DIR/qemu-command and
# DIR/seconds (host wall clock). KMAP_LINUX_DRIVE: kmapdrive's arguments;
# KMAP_LINUX_TIMEOUT: seconds before qemu is stopped (default 300).
set -u
cache=$1
build=$2
config=$3
dir=$4
drive=${KMAP_LINUX_DRIVE:-1536,256,1024,12345}
mem=${config##*-}
# shellcheck disable=SC1091
. "$cache/env"

case "$config" in
x86-32-pae-*) flavour=686-pae arch=i386 ;;
x86-32-*) flavour=686 arch=i386 ;;
arm-virt-*) flavour=armmp arch=armhf ;;
*) echo "boot.sh: unknown configuration $config" >&2; exit 2 ;;
esac
kernel=$cache/linux-image-6.1.0-$KABI-${flavour}_$arch/boot/vmlinuz-6.1.0-$KABI-$flavour

if [ "$arch" = i386 ]; then
	# qemu-system-x86_64 boots the 32-bit kernels; qemu-system-i386 under
	# TCG was seen to hang once /init ran, with 4 GiB and more.
	qemu=(qemu-system-x86_64 -machine "pc,memory-backend=ram")
	# no_timer_check: on a busy host, TCG can be too slow for the boot's
	# check that the timer interrupt arrives through the IO-APIC, and the
	# kernel then panics ("IO-APIC + timer doesn't work!")
	append="console=ttyS0 nokaslr no_timer_check"
else
	qemu=(qemu-system-arm -machine "virt,memory-backend=ram" -cpu cortex-a15)
	append="console=ttyAMA0"
fi
# reserve=off: the host needs only what the guest touches (a few hundred
# MiB at 16 GiB), not the guest's whole RAM
qemu+=(-accel tcg -smp 1 -m "$mem"
	-object "memory-backend-ram,id=ram,size=$mem,reserve=off"
	-nographic -no-reboot -kernel "$kernel" -initrd "$build/initrd-$arch.gz"
	-append "$append panic=-1 quiet kmapdrive=$drive")

mkdir -p "$dir"
echo "${qemu[*]}" >"$dir/qemu-command"
start=$SECONDS
# (without the firmware's terminal escapes and the serial line's \r)
timeout -k 10 "${KMAP_LINUX_TIMEOUT:-300}" "${qemu[@]}" </dev/null 2>&1 |
	sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[A-Za-z]//g; s/\r$//' >"$dir/console.log"
echo "$((SECONDS - start))" >"$dir/seconds"
