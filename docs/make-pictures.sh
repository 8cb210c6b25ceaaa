#!/usr/bin/env bash
# Draw the guide's pictures again: docs/make-pictures.sh KMAP [OUTDIR]
# (OUTDIR defaults to docs/). The traces are named relative to the source
# tree, as the pictures show them.
set -eu
kmap=$(realpath "$1")
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath "${2:-$src/docs}")
cd "$src"
"$kmap" layout --machine x86-32 --svg "$out/layout-x86-32.svg" > /dev/null
"$kmap" layout --machine arm --svg "$out/layout-arm.svg" > /dev/null
"$kmap" layout --machine x86-32-pae --mem 16G --svg "$out/layout-pae-16g.svg" > /dev/null
"$kmap" layout --machine arm-virt --model sparsemem --svg "$out/layout-arm-virt-sparsemem.svg" > /dev/null
for t in story sleep-wake; do
	# sleep-wake has an error line on purpose: exit 1 is expected
	"$kmap" replay --svg "$out/$t.svg" --html "$out/$t.html" \
		"examples/traces/$t.trace" > /dev/null || [ $? = 1 ]
done
