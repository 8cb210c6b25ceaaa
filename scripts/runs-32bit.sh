#!/usr/bin/env bash
# Can this machine run 32-bit x86 programs? Exit 0 when a program built
# with `gcc -m32` runs, 1 when it does not (a kernel without IA32
# emulation says "Exec format error"), 2 when gcc cannot build one.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo 'int main(void) { return 0; }' > "$tmp/t.c"
gcc -m32 -o "$tmp/t" "$tmp/t.c" 2>/dev/null || exit 2
"$tmp/t" 2>/dev/null || exit 1
