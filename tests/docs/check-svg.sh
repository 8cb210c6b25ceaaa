#!/usr/bin/env bash
# The pictures kmap draws are sound SVG: each goes through an XML parser
# (xmllint, from libxml2-utils, installed as root when missing; else
# python3's xml.etree), and the root must be an <svg> in the SVG namespace
# with a positive width and height and a matching viewBox, no NaN or
# negative sizes, and a sane file size. Covers `kmap layout --svg` for every
# profile, `kmap replay --svg` for the example traces, a 1024-slot window
# with more steps than rows, a 65536-slot window, and docs/*.svg.
#
#   check-svg.sh KMAP SRCDIR
# Exit 0 (all passed), 1 (a check failed), 77 (no XML parser: skipped).
set -u
kmap=$(realpath "$1")
src=$(realpath "$2")
. "$src/tests/docs/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# KMAP_XML_PARSER=python3 tries the fallback
if [ "${KMAP_XML_PARSER:-}" = python3 ]; then
	parser=python3
elif want_pkg xmllint libxml2-utils; then
	parser=xmllint
elif command -v python3 >/dev/null 2>&1 &&
     python3 -c 'import xml.etree.ElementTree' 2>/dev/null; then
	parser=python3
else
	echo "SKIP: no XML parser (xmllint or python3) and none can be installed"
	exit 77
fi
echo "XML parser: $parser"

# svg_ok FILE: prints what is wrong, returns non-zero when anything is
svg_ok() {
	local f=$1 root ns w h vb n
	if [ ! -s "$f" ]; then
		echo "  $f: missing or empty"
		return 1
	fi
	if [ "$(stat -c %s "$f")" -gt $((8 << 20)) ]; then
		echo "  $f: larger than 8 MiB"
		return 1
	fi
	if grep -Eqi '"-?(nan|inf)|=\"-?(nan|inf)' "$f"; then
		echo "  $f: a NaN or infinite number"
		return 1
	fi
	if [ "$parser" = xmllint ]; then
		xmllint --noout "$f" || { echo "  $f: not well-formed XML"; return 1; }
		root=$(xmllint --xpath 'local-name(/*)' "$f")
		ns=$(xmllint --xpath 'namespace-uri(/*)' "$f")
		w=$(xmllint --xpath 'string(/*/@width)' "$f")
		h=$(xmllint --xpath 'string(/*/@height)' "$f")
		vb=$(xmllint --xpath 'string(/*/@viewBox)' "$f")
		n=$(xmllint --xpath "count(//*[local-name()='rect'][number(@width) < 0 or number(@height) < 0])" "$f")
	else
		read -r root ns w h vb n < <(python3 - "$f" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    r = ET.parse(sys.argv[1]).getroot()
except ET.ParseError as e:
    print("PARSE-ERROR", e); sys.exit(0)
tag = r.tag
ns, name = (tag[1:].split('}') if tag.startswith('{') else ('', tag))
bad = 0
for el in r.iter():
    if el.tag.endswith('}rect') or el.tag == 'rect':
        for a in ('width', 'height'):
            v = el.get(a)
            try:
                if v is not None and float(v) < 0: bad += 1
            except ValueError:
                bad += 1
print(name, ns or '-', r.get('width', '') or '-', r.get('height', '') or '-',
      (r.get('viewBox', '') or '').replace(' ', ','), bad)
PY
)
		vb=${vb//,/ }
		if [ "$root" = PARSE-ERROR ]; then
			echo "  $f: not well-formed XML"
			return 1
		fi
	fi
	if [ "$root" != svg ] || [ "$ns" != http://www.w3.org/2000/svg ]; then
		echo "  $f: the root is '$root' in '$ns', not an SVG <svg>"
		return 1
	fi
	if ! [[ "$w" =~ ^[0-9]+$ && "$h" =~ ^[0-9]+$ ]] || [ "$w" -le 0 ] ||
	   [ "$h" -le 0 ]; then
		echo "  $f: width '$w' or height '$h' is not a positive number"
		return 1
	fi
	if [ "$vb" != "0 0 $w $h" ]; then
		echo "  $f: viewBox '$vb' does not match ${w}x$h"
		return 1
	fi
	if [ "${n%.*}" != 0 ]; then
		echo "  $f: $n rects of negative size"
		return 1
	fi
	return 0
}

cd "$src" || exit 2

# kmap layout --svg
for p in x86-32 x86-32-pae arm arm-2g; do
	"$kmap" layout --machine "$p" --svg "$tmp/layout-$p.svg" > "$tmp/layout-$p.txt"
	ok "layout --svg $p: exit 0" test $? = 0
	ok "layout --svg $p: valid SVG" svg_ok "$tmp/layout-$p.svg"
	ok "layout --svg $p: zones drawn" has "$tmp/layout-$p.svg" ZONE_HIGHMEM
	ok "layout --svg $p: pkmap drawn" has "$tmp/layout-$p.svg" "pkmap: the kmap window"
	ok "layout --svg $p: text output unchanged" \
		cmp -s "$tmp/layout-$p.txt" "tests/golden/expected/layout-$p.txt"
done
"$kmap" layout --machine x86-32-pae --mem 16G --svg "$tmp/pae16.svg" > /dev/null
ok "layout --svg x86-32-pae 16G: valid SVG" svg_ok "$tmp/pae16.svg"
ok "layout --svg: 16 GiB labelled" has "$tmp/pae16.svg" "0x400000000"
ok "layout --svg: 160 MiB of mem_map at 16 GiB" has "$tmp/pae16.svg" "160.0 MiB"
"$kmap" layout --machine x86-32 --mem 512M --svg "$tmp/nohigh.svg" > /dev/null
ok "layout --svg without highmem: valid SVG" svg_ok "$tmp/nohigh.svg"
"$kmap" layout --machine x86-32 --svg /nonexistent/dir/x.svg > /dev/null 2> "$tmp/err"
ok "layout --svg to a bad path: exit 2" test $? = 2
ok "layout --svg to a bad path: named" has "$tmp/err" /nonexistent/dir/x.svg

# kmap replay --svg, the example traces
for t in examples/traces/*.trace; do
	n=$(basename "$t" .trace)
	"$kmap" replay --json "$t" > "$tmp/$n.plain" 2>/dev/null
	prc=$?
	"$kmap" replay --json --svg "$tmp/$n.svg" "$t" > "$tmp/$n.json" 2> "$tmp/$n.err"
	ok "replay --svg $n: same exit status as without" test $? = $prc
	ok "replay --svg $n: same output as without" cmp -s "$tmp/$n.plain" "$tmp/$n.json"
	ok "replay --svg $n: nothing on stderr" test ! -s "$tmp/$n.err"
	ok "replay --svg $n: valid SVG" svg_ok "$tmp/$n.svg"
	"$kmap" replay --svg "$tmp/$n.again.svg" "$t" > /dev/null 2>&1
	ok "replay --svg $n: deterministic" cmp -s "$tmp/$n.svg" "$tmp/$n.again.svg"
done
ok "replay --svg: the story's flush is marked" has "$tmp/story.svg" "flush: 6 cleared, TLB flush"
ok "replay --svg: a sleeping task is marked" has "$tmp/sleep-wake.svg" "<title>asleep</title>"
ok "replay --svg: a woken task is marked" has "$tmp/sleep-wake.svg" "<title>woken</title>"
ok "replay --svg: the deadlock's sleepers are marked" has "$tmp/deadlock.svg" "<title>asleep</title>"
ok "replay --svg: the vmalloc area drawn" has "$tmp/vmap-purge.svg" "the vmalloc area"
ok "replay --svg: a lazily freed area" has "$tmp/vmap-purge.svg" "a1: 2047 pages at 0xf0800000, lazily freed"
ok "replay --svg: the purge marked" has "$tmp/vmap-purge.svg" "purge: 5 areas, TLB flush"
ok "replay --svg: no vmalloc area without vmap" bash -c "! grep -q 'vmalloc area' '$tmp/story.svg'"
# the label column names a vmap's area where a page's step has its pfn,
# and its heading says so (as the HTML stepper's does)
for n in vmap vm-map-ram; do
	ok "replay --svg $n: the label column headed pfn/area" has "$tmp/$n.svg" 'op            pfn/area result</text>'
done
ok "replay --svg vmap: a vmap row names its area" has "$tmp/vmap.svg" '   14 A      vmap             seeds ok<'
ok "replay --svg vmap: a refused vmap row names its area" has "$tmp/vmap.svg" '   37 B      vmap             again error<'
ok "replay --svg story: the label column headed pfn" has "$tmp/story.svg" 'op                 pfn result</text>'
ok "replay --svg story: no pfn/area without areas" bash -c "! grep -q 'pfn/area' '$tmp/story.svg'"
# local-misuse: the slot it used, not 1024; the local stacks; the errors
d=$tmp/local-misuse.svg
ok "replay --svg: a big window shows the slots used" has "$d" "Only the 1 slot the trace used is drawn, of 1024."
ok "replay --svg: a task's local stack is drawn" has "$d" "<title>running, 2 local maps</title>"
ok "replay --svg: an atomic section is drawn" has "$d" "<title>running, 1 local map, in an atomic section</title>"
ok "replay --svg: an error's text is shown, not only in a tooltip" \
	grep -q '<tspan fill="#cb181d">not the newest local mapping</tspan>' "$d"
ok "replay --svg: a resumed step says so in words" grep -q '230100 ok new resumed<title>' "$tmp/sleep-wake.svg"
ok "replay --svg: the legend explains resumed" has "$tmp/sleep-wake.svg" '"resumed": a kmap retried after a wake-up'

# A 1024-slot window and more steps than the picture has rows.
{
	echo "machine x86-32 mem=4G"
	for r in 0 1; do
		for i in $(seq 0 999); do echo "T$((i % 3)) kmap $((300000 + r * 5000 + i))"; done
		for i in $(seq 0 899); do echo "T$((i % 3)) kunmap $((300000 + r * 5000 + i))"; done
		for i in $(seq 900 999); do echo "T$((i % 3)) kunmap $((300000 + r * 5000 + i))"; done
	done
} > "$tmp/long.trace"
"$kmap" replay --svg "$tmp/long.svg" --html "$tmp/long.html" "$tmp/long.trace" > /dev/null 2> "$tmp/long.err"
ok "replay --svg, 4000 steps of 1024 slots: exit 0" test $? = 0
ok "replay --svg, 4000 steps: nothing on stderr" test ! -s "$tmp/long.err"
ok "replay --svg, 4000 steps: valid SVG" svg_ok "$tmp/long.svg"
ok "replay --svg, 4000 steps: rows capped, with a note" has "$tmp/long.svg" "The first 1500 of 4000 steps are drawn."
ok "replay --svg, 4000 steps: under 2 MiB" test "$(stat -c %s "$tmp/long.svg")" -lt $((2 << 20))
# 65536 slots: columns of 64 slots
{
	echo "machine x86-32-pae mem=64G last_pkmap=65536"
	for i in $(seq 0 299); do echo "A kmap $((300000 + i))"; done
	for i in $(seq 0 299); do echo "A kunmap $((300000 + i))"; done
} > "$tmp/wide.trace"
"$kmap" replay --svg "$tmp/wide.svg" "$tmp/wide.trace" > /dev/null 2> "$tmp/wide.err"
ok "replay --svg, 65536 slots: exit 0" test $? = 0
ok "replay --svg, 65536 slots: valid SVG" svg_ok "$tmp/wide.svg"
ok "replay --svg, 65536 slots: grouped, with a note" has "$tmp/wide.svg" "Each column is 64 slots"
ok "replay --svg, 65536 slots: at most 2048 px wide" \
	test "$(grep -o 'width="[0-9]*"' "$tmp/wide.svg" | head -1 | tr -dc 0-9)" -le 2048

# Bad paths fail before anything runs.
"$kmap" replay --svg /nonexistent/dir/x.svg examples/traces/story.trace > "$tmp/bad.out" 2> "$tmp/bad.err"
ok "replay --svg to a bad path: exit 2" test $? = 2
ok "replay --svg to a bad path: runs nothing" test ! -s "$tmp/bad.out"
ok "replay --svg to a bad path: named" has "$tmp/bad.err" /nonexistent/dir/x.svg
"$kmap" replay --svg > /dev/null 2>&1
ok "replay --svg without a file: exit 2" test $? = 2

# the pictures in the guide
for f in docs/*.svg; do
	[ -e "$f" ] || continue
	ok "$f: valid SVG" svg_ok "$f"
done

finish
