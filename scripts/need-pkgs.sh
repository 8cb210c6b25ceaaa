#!/usr/bin/env bash
# Make sure the given Debian packages are installed.
#
#   scripts/need-pkgs.sh cmake gcc libcmocka-dev
#   scripts/need-pkgs.sh gcc-multilib libcmocka-dev:i386
#
# Installed packages are left alone. If any are missing: as root, run
# `apt-get update` once and install just the missing ones; otherwise print
# which packages are missing and fail.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 PKG..." >&2
    exit 2
fi

if ! command -v dpkg >/dev/null 2>&1; then
    echo "need-pkgs: no dpkg (not Debian-based?); assuming present: $*" >&2
    exit 0
fi

installed() {
    # `dpkg -s` also succeeds for removed packages whose config files are
    # left, so look at the status line too. With a second architecture
    # installed a bare name can be ambiguous: ask for the native one first,
    # then the bare name (Architecture: all packages).
    local q=("$1")
    case "$1" in *:*) ;; *) q=("$1:$(dpkg --print-architecture)" "$1") ;; esac
    for n in "${q[@]}"; do
        # (grep reads to the end: with grep -q, dpkg can die of SIGPIPE
        # and pipefail turns an installed package into a missing one)
        dpkg -s "$n" 2>/dev/null | grep '^Status: install ok installed$' >/dev/null &&
            return 0
    done
    return 1
}

missing=()
for pkg in "$@"; do
    installed "$pkg" || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    {
        echo "need-pkgs: missing Debian packages: ${missing[*]}"
        echo "need-pkgs: install them with:"
        echo "    sudo apt-get install ${missing[*]}"
    } >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Another apt/dpkg may be running (e.g. an install in the background): wait
# for its locks rather than failing at once.
apt_opts=(-o DPkg::Lock::Timeout=600)

retry() {
    local n=1
    until "$@"; do
        if [ "$n" -ge 5 ]; then
            echo "need-pkgs: failed after $n attempts: $*" >&2
            return 1
        fi
        echo "need-pkgs: attempt $n failed; retrying in 15s: $*" >&2
        sleep 15
        n=$((n + 1))
    done
}

echo "need-pkgs: installing: ${missing[*]}" >&2
# foreign-architecture packages (libcmocka-dev:i386) need the architecture
for pkg in "${missing[@]}"; do
    case "$pkg" in
    *:*) arch=${pkg##*:}
         dpkg --print-foreign-architectures | grep -qx "$arch" ||
             dpkg --add-architecture "$arch" ;;
    esac
done
# A mirror caught mid-sync can fail one index of many; what was fetched is
# usually enough, so a failed update is reported, not fatal.
apt-get "${apt_opts[@]}" update ||
    apt-get "${apt_opts[@]}" update ||
    echo "need-pkgs: apt-get update had errors; installing with what it got" >&2
retry apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"

for pkg in "${missing[@]}"; do
    if ! installed "$pkg"; then
        echo "need-pkgs: $pkg is still not installed" >&2
        exit 1
    fi
done
