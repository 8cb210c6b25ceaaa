#!/usr/bin/env bash
# What the real-kernel test needs, on Debian 12:
#   - the host's tools: qemu for x86 and ARM, clang and lld (the guest
#     helper is freestanding C built for i386 and armhf by clang; Debian's
#     ARM cross gcc conflicts with gcc-multilib, which make test needs),
#     cpio; installed with apt-get where missing (as root);
#   - Debian's own Linux 6.1 kernels, linux-image-6.1.0-N-686-pae and -686
#     (i386) and -armmp (armhf), and busybox-static for both, fetched with
#     `apt-get download` (the i386 and armhf architectures are added to
#     dpkg first where missing). From each package only the kernel's
#     boot/ or bin/busybox is kept, in CACHE/PACKAGE_ARCH/, and the .deb
#     is deleted; a later run downloads nothing.
#
#   fetch.sh SRCDIR CACHE
#
# N is the newest ABI the mirror has for all three kernels, or $KABI.
# Writes CACHE/env: KABI=N and the packages' versions. Exit status 0 when
# everything is there, 77 when it cannot be had here (no network, not
# root, not Debian: the reason is printed), 1 on any other failure.
set -u
src=$1
cache=$2
mkdir -p "$cache" && cache=$(cd "$cache" && pwd) || exit 1
export DEBIAN_FRONTEND=noninteractive

skip() {
	echo "SKIP: $*"
	exit 77
}

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
	skip "not a Debian system: no apt-get to fetch Debian's kernels with"
fi

# ---- host tools ------------------------------------------------------
missing=()
for t in qemu-system-x86_64:qemu-system-x86 qemu-system-arm:qemu-system-arm \
	clang:clang ld.lld:lld cpio:cpio; do
	command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t##*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
	[ "$(id -u)" = 0 ] || skip "missing ${missing[*]}; installing them needs root"
	if ! "$src/scripts/need-pkgs.sh" "${missing[@]}" >"$cache/install.log" 2>&1; then
		if grep -qE "Could not resolve|Temporary failure|Failed to fetch|Unable to connect" \
			"$cache/install.log"; then
			skip "cannot install ${missing[*]}: no network (see $cache/install.log)"
		fi
		echo "FAIL: cannot install ${missing[*]}:"
		tail -5 "$cache/install.log"
		exit 1
	fi
fi

# ---- the kernels and busybox -----------------------------------------
packages() {
	echo "linux-image-6.1.0-$1-686-pae:i386 linux-image-6.1.0-$1-686:i386" \
		"linux-image-6.1.0-$1-armmp:armhf busybox-static:i386 busybox-static:armhf"
}

unpacked() {
	local pa
	for pa in $(packages "$1"); do
		[ -f "$cache/${pa/:/_}/.version" ] || return 1
	done
}

# the newest N for which the lists hold all three kernels
newest_abi() {
	apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
		sed -n 's/^linux-image-6\.1\.0-\([0-9]*\)-\(686-pae\|686\|armmp\)$/\1/p' |
		sort -n | uniq -c | awk '$1 == 3 { n = $2 } END { print n }'
}

abi=${KABI:-}
if [ -z "$abi" ] && [ -f "$cache/env" ]; then
	abi=$(sed -n 's/^KABI=//p' "$cache/env")
fi
if [ -z "$abi" ] || ! unpacked "$abi"; then
	if [ "$(id -u)" = 0 ]; then
		for arch in i386 armhf; do
			dpkg --print-foreign-architectures | grep -qx "$arch" ||
				dpkg --add-architecture "$arch"
		done
		# One index failing (a mirror mid-sync) is not fatal: the kernels
		# come from the main suite. Whether anything came is seen below.
		apt-get -o DPkg::Lock::Timeout=600 update >"$cache/apt-update.log" 2>&1
	else
		# without root: the package lists as they are, if they have the
		# two architectures
		for arch in i386 armhf; do
			dpkg --print-foreign-architectures | grep -qx "$arch" ||
				skip "dpkg has no $arch architecture; adding it needs root"
		done
		: >"$cache/apt-update.log"
	fi
	[ -n "${KABI:-}" ] || abi=$(newest_abi)
	if [ -z "$abi" ]; then
		grep -qE "Could not resolve|Temporary failure|Failed to fetch|Unable to connect" \
			"$cache/apt-update.log" &&
			skip "apt-get update could not reach the mirror (see $cache/apt-update.log)"
		echo "FAIL: no linux-image-6.1.0-N-{686-pae,686,armmp} in the package lists"
		exit 1
	fi
fi

mkdir -p "$cache/debs"
# (apt-get download writes into the current directory; as root it would
# hand the file to the _apt user, who cannot write here)
sandbox=()
[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
: >"$cache/env.new"
echo "KABI=$abi" >>"$cache/env.new"
for pa in $(packages "$abi"); do
	dir=$cache/${pa/:/_}
	name=${pa%%:*}
	arch=${pa##*:}
	if [ ! -f "$dir/.version" ]; then
		rm -rf "$dir" "$cache/debs"/*.deb
		if ! (cd "$cache/debs" && apt-get download "${sandbox[@]}" "$pa") \
			>"$cache/download.log" 2>&1; then
			grep -qE "Could not resolve|Temporary failure|Failed to fetch|Unable to connect" \
				"$cache/download.log" &&
				skip "apt-get download $pa: no network (see $cache/download.log)"
			echo "FAIL: apt-get download $pa:"
			tail -5 "$cache/download.log"
			exit 1
		fi
		deb=$(echo "$cache/debs/${name}_"*"_$arch.deb")
		case "$name" in
		linux-image-*) member=./boot ;;
		*) member=./bin/busybox ;;
		esac
		mkdir -p "$dir"
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" "$member" || exit 1
		dpkg-deb -f "$deb" Version >"$dir/.version" || exit 1
		rm -f "$deb"
	fi
	echo "VERSION_$(echo "${name}_$arch" | tr -c 'A-Za-z0-9\n' _)=$(cat "$dir/.version")" \
		>>"$cache/env.new"
done
mv "$cache/env.new" "$cache/env"
