#!/usr/bin/env bash
# kmap against the real Linux 6.1: Debian 12's own kernels booted under
# qemu, their memory layout and their kmap_high calls compared with kmap's
# model of the same machine. tests/linux/README.md tells the whole story.
#
#   run.sh KMAP SRCDIR OUTDIR [CONFIG...]
#
# CONFIG is PROFILE-MEM: a kmap profile, x86-32-pae (Debian's 686-pae
# kernel), x86-32 (686) or arm-virt (armmp on qemu's virt board), and the
# guest's RAM as qemu's -m takes it. Default: the ten in CONFIGS below.
# Each boot's files stay in OUTDIR/CONFIG/ (see compare.sh).
#
# Environment:
#   KMAP_LINUX_CACHE    where the packages are kept (default OUTDIR/cache)
#   KMAP_LINUX_JOBS     boots at a time (default 2)
#   KMAP_LINUX_TIMEOUT  seconds one boot may take (default 300)
#   KMAP_LINUX_DRIVE    kmapdrive's NPAGES,NREP,NRAND,SEED
#                       (default 1536,256,1024,12345)
#   KABI                the N of linux-image-6.1.0-N to use (default: the
#                       one in the cache, else the newest on the mirror)
#
# Exit status: 0 when every figure is equal and every replay agrees with
# the kernel; 1 when not; 77 when the test cannot run here (no network
# for the downloads, not root to install what is missing, not Debian).
set -u
kmap=$(realpath "$1")
src=$(realpath "$2")
out=$3
shift 3
CONFIGS="x86-32-pae-1G x86-32-pae-2G x86-32-pae-6G x86-32-pae-16G
x86-32-1G x86-32-2G x86-32-3G x86-32-4G arm-virt-1G arm-virt-2G"
if [ "$#" -gt 0 ]; then
	configs=("$@")
else
	read -r -d '' -a configs <<<"$CONFIGS"
fi
for c in "${configs[@]}"; do
	case "$c" in
	x86-32-pae-[1-9]*G | x86-32-[1-9]*G | arm-virt-[1-9]*G) ;;
	*) echo "run.sh: $c: not PROFILE-MEM with PROFILE x86-32-pae, x86-32 or arm-virt"; exit 2 ;;
	esac
done
mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 1
here=$src/tests/linux
cache=${KMAP_LINUX_CACHE:-$out/cache}
jobs=${KMAP_LINUX_JOBS:-2}
start=$SECONDS

"$here/fetch.sh" "$src" "$cache"
rc=$?
[ "$rc" = 0 ] || exit "$rc"
# shellcheck disable=SC1091
. "$cache/env"
v686=VERSION_linux_image_6_1_0_${KABI}_686_i386
varm=VERSION_linux_image_6_1_0_${KABI}_armmp_armhf
echo "kernels: linux-image-6.1.0-$KABI-686-pae and -686 ${!v686} (i386)," \
	"linux-image-6.1.0-$KABI-armmp ${!varm} (armhf)"

# ---- the guests' initramfs: busybox, /init, kmapdrive ----------------
build=$out/build
mkdir -p "$build"
for arch in i386 armhf; do
	case $arch in
	i386) target=(--target=i686-linux-gnu -march=i686) ;;
	armhf) target=(--target=armv7a-linux-gnueabihf -mcpu=cortex-a15 -marm) ;;
	esac
	root=$build/root-$arch
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys"
	if ! clang "${target[@]}" -O2 -Wall -Wextra -Werror -ffreestanding -fno-builtin \
		-nostdlib -static -fno-pic -fno-stack-protector \
		-fno-asynchronous-unwind-tables -fuse-ld=lld -Wl,--build-id=none \
		-o "$root/kmapdrive" "$here/kmapdrive.c"; then
		echo "FAIL: kmapdrive does not build for $arch"
		exit 1
	fi
	cp "$cache/busybox-static_$arch/bin/busybox" "$root/bin/busybox"
	cp "$here/init.sh" "$root/init"
	chmod 755 "$root/init" "$root/kmapdrive" "$root/bin/busybox"
	# (no device nodes: /init mounts devtmpfs before it needs one)
	(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
		gzip -n >"$build/initrd-$arch.gz" || exit 1
done

# ---- the boots, JOBS at a time; each is compared as soon as it ends ---
one() {
	local dir=$out/$1
	rm -rf "$dir"
	"$here/boot.sh" "$cache" "$build" "$1" "$dir"
	# A guest that did not get to its end (qemu under a loaded host) boots
	# once more; the report says so, and the first console stays.
	if ! grep -qx "=== done ===" "$dir/console.log"; then
		mv "$dir/console.log" "$dir/console-1.log"
		"$here/boot.sh" "$cache" "$build" "$1" "$dir"
	fi
	"$here/compare.sh" "$kmap" "$cache" "$1" "$dir" >"$dir/report" 2>&1
	echo "$?" >"$dir/status"
}
running=0
for c in "${configs[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	one "$c" &
	running=$((running + 1))
done
wait

failed=()
for c in "${configs[@]}"; do
	cat "$out/$c/report"
	[ "$(cat "$out/$c/status")" = 0 ] || failed+=("$c")
done
echo "${#configs[@]} boots in $((SECONDS - start))s;" \
	"$((${#configs[@]} - ${#failed[@]})) agree with kmap, ${#failed[@]} do not${failed[*]:+: ${failed[*]}}"
[ "${#failed[@]}" = 0 ]
