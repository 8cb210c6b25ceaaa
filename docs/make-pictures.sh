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
"$kmap" layout --mem 2G --model sparsemem --holes 300000-300008,393216-458752 \
	--svg "$out/layout-holes.svg" > /dev/null
for t in story sleep-wake; do
	# sleep-wake has an error line on purpose: exit 1 is expected
	"$kmap" replay --svg "$out/$t.svg" --html "$out/$t.html" \
		"examples/traces/$t.trace" > /dev/null || [ $? = 1 ]
done
# misuse on purpose: exit 1
"$kmap" replay --svg "$out/local-misuse.svg" \
	examples/traces/local-misuse.trace > /dev/null || [ $? = 1 ]
# section 10: a real kernel's trace, imported and replayed under its own
# name (the picture's title), as the guide's commands do
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zcat tests/import/x86-32-pae-2G.ftrace.gz > "$tmp/kmap.ftrace"
(cd "$tmp" && "$kmap" import kmap.ftrace > kmap.trace 2> /dev/null &&
	"$kmap" replay --svg "$out/kmap-x86-32-pae-2G.svg" kmap.trace > /dev/null)
