#!/usr/bin/env bash
# The pictures in a real browser, headless Chromium. `kmap replay --html
# FILE` is opened at a given step (#step=N), runs its script, and the DOM
# it shows is checked: the slots' counts and pages, the hash buckets, each
# task's state and local stack, the flush of the step, and the buttons
# (back, step, first, last, play). Every SVG kmap draws (`kmap replay
# --svg` of the example traces, `kmap layout --svg` of every profile) is
# rendered and measured (overlap.js): no text outside the picture, over
# other text, or under a line. Chromium is Debian's `chromium`, installed
# as root when missing; where it cannot be had the test says so and is
# skipped.
#
#   check-html.sh KMAP SRCDIR
# Exit 0 (all passed), 1 (a check failed), 77 (no Chromium: skipped).
set -u
kmap=$(realpath "$1")
src=$(realpath "$2")
. "$src/tests/docs/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src" || exit 2

# The pages themselves, before any browser: one file, nothing fetched.
for t in story sleep-wake local-misuse colors deadlock vmap-purge vmap vm-map-ram; do
	"$kmap" replay --html "$tmp/$t.html" "examples/traces/$t.trace" > /dev/null 2> "$tmp/$t.err"
	ok "$t.html: nothing on stderr" test ! -s "$tmp/$t.err"
	ok "$t.html: the states are embedded as JSON" \
		has "$tmp/$t.html" '<script id="kmap-data" type="application/json">'
	ok "$t.html: self-contained (no src=, href=, url(, @import, http)" \
		bash -c "! grep -Eq 'src=|href=|url\\(|@import|https?:' '$tmp/$t.html'"
	"$kmap" replay --html "$tmp/$t.again.html" "examples/traces/$t.trace" > /dev/null 2>&1
	ok "$t.html: deterministic" cmp -s "$tmp/$t.html" "$tmp/$t.again.html"
done

browser=${KMAP_CHROMIUM:-}
if [ -z "$browser" ]; then
	for b in chromium chromium-browser google-chrome; do
		command -v "$b" >/dev/null 2>&1 && { browser=$b; break; }
	done
fi
if [ -z "$browser" ] && want_pkg chromium chromium; then
	browser=chromium
fi
if [ -z "$browser" ]; then
	echo "SKIP: no Chromium, and it cannot be installed here (not root, or" \
	     "no package); $pass page checks passed, $fail failed"
	[ "$fail" = 0 ] || exit 1
	exit 77
fi

# dom OUT URL [ARGS]: the DOM after the page has loaded (and, with
# --virtual-time-budget, after its timers ran)
dom() {
	local out=$1 url=$2
	shift 2
	timeout 180 "$browser" --headless --no-sandbox --disable-gpu \
		--disable-dev-shm-usage --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run \
		--no-default-browser-check --user-data-dir="$(mktemp -d -p "$tmp")" \
		"$@" --dump-dom "$url" > "$out" 2> "$out.log"
}

# Can this browser run here at all?
printf '<!DOCTYPE html><p id="x">no</p><script>document.getElementById("x").textContent="probe-" + "ok";</script>\n' > "$tmp/probe.html"
dom "$tmp/probe.dom" "file://$tmp/probe.html"
if ! grep -q probe-ok "$tmp/probe.dom"; then
	echo "SKIP: $browser does not run pages here:"
	tail -5 "$tmp/probe.dom.log"
	[ "$fail" = 0 ] || exit 1
	exit 77
fi
echo "browser: $browser ($("$browser" --version 2>/dev/null | head -1))"

# The SVGs, drawn and measured: all in one page, each in a <div> named
# after it, with overlap.js, whose findings are in the DOM after it ran
{
	printf '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>\n'
	for t in examples/traces/*.trace; do
		n=$(basename "$t" .trace)
		"$kmap" replay --svg "$tmp/pic-$n.svg" "$t" > /dev/null
		echo "replay-$n" >> "$tmp/pics"
	done
	for m in $("$kmap" layout --help | sed -n 's/.*--machine PROFILE  one of: //p'); do
		"$kmap" layout --machine "$m" --svg "$tmp/pic-layout-$m.svg" > /dev/null
		echo "layout-$m" >> "$tmp/pics"
	done
	while read -r n; do
		printf '<div id="%s">\n' "$n"
		sed '1{/^<?xml/d}' "$tmp/pic-${n#replay-}.svg"
		printf '</div>\n'
	done < "$tmp/pics"
	printf '<pre id="result"></pre>\n<script>\n'
	cat "$src/tests/docs/overlap.js"
	printf '</script></body></html>\n'
} > "$tmp/render.html"
dom "$tmp/render.dom" "file://$tmp/render.html"
sed -n '/<pre id="result">/,/<\/pre>/p' "$tmp/render.dom" | sed 's/<[^>]*>//g' |
	grep -v '^$' > "$tmp/render.txt"
ok "the pictures were measured" grep -q '<pre id="result">' "$tmp/render.dom"
while read -r n; do
	ok "$n.svg: nothing overlaps when drawn" bash -c "! grep -q '^$n: ' '$tmp/render.txt'"
	grep "^$n: " "$tmp/render.txt" | head -6 | sed 's/^/    /'
done < "$tmp/pics"

# at PAGE STEP-ARGS NAME: dump PAGE#STEP-ARGS into $tmp/NAME.dom
at() {
	dom "$tmp/$3.dom" "file://$tmp/$1.html#$2" "${@:4}"
}
# slot DOM NR COUNT PFN: the slot's cell shows COUNT and PFN ('' for none)
slot() { has "$1" "id=\"slot-$2\" data-count=\"$3\" data-pfn=\"$4\""; }
# task DOM NAME STATE [DEPTH]
task() {
	has "$1" "<tr id=\"task-$2\" class=\"$3\" data-state=\"$3\"" &&
		{ [ -z "${4:-}" ] || has "$1" "data-state=\"$3\" data-depth=\"$4\""; }
}
# bucket DOM PFNS...: the pages' bucket (hash_32(pfn, 7)) chains PFNS
bucket() {
	local d=$1
	shift
	local b=$(( ($1 * 0x61C88647 & 0xFFFFFFFF) >> 25 ))
	has "$d" "id=\"bucket-$b\" data-pfns=\"$*\""
}

# story.trace: map, hit, wrap and flush, on 8 slots
at story step=0 s0
d=$tmp/s0.dom
ok "story #0: at the start" has "$d" 'id="pos">step 0 / 28<'
ok "story #0: every slot free" test "$(grep -o 'data-count="0"' "$d" | wc -l)" = 8
at story step=1 s1
d=$tmp/s1.dom
ok "story #1: 230000 took slot 1 with count 2" slot "$d" 1 2 230000
ok "story #1: slot 0 free" slot "$d" 0 0 ""
ok "story #1: 230000 in its hash bucket" bucket "$d" 230000
ok "story #1: the step is described" has "$d" "A kmap 230000 → ok new (slot 1) 0xfec01000"
at story step=16 s16
d=$tmp/s16.dom
ok "story #16: 230003 in use in slot 4" slot "$d" 4 2 230003
for s in 1 2 3 5 6 7; do
	ok "story #16: slot $s free but still mapped" \
		grep -q "id=\"slot-$s\" data-count=\"1\" data-pfn=\"2300" "$d"
done
ok "story #16: 230000 still in the hash" bucket "$d" 230000
ok "story #16: summary" has "$d" "1 in use, 6 free but still mapped, 1 free"
at story step=17 s17
d=$tmp/s17.dom
ok "story #17: the wrap flushed the count-1 slots" \
	has "$d" "flush_all_zero_pkmaps: cleared 1, 2, 3, 5, 6, 7, one TLB flush of the window"
ok "story #17: 230010 took slot 0" slot "$d" 0 2 230010
ok "story #17: 230003 kept slot 4" slot "$d" 4 2 230003
for s in 1 2 3 5 6 7; do
	ok "story #17: slot $s cleared" slot "$d" "$s" 0 ""
done
ok "story #17: 230000 left the hash" bucket "$d" 230010
ok "story #17: 230003 still hashed" bucket "$d" 230003
ok "story #17: 230000's bucket empty" has "$d" 'id="bucket-23" data-pfns=""'
ok "story #17: the flushed slots are marked" grep -q 'class="slot c0 cleared" id="slot-1"' "$d"
ok "story #17: the step's slot is marked" grep -q 'class="slot c2 acted" id="slot-0"' "$d"
at story step=28 s28
d=$tmp/s28.dom
ok "story #28: the end" has "$d" 'id="pos">step 28 / 28<'
ok "story #28: lowmem never entered the window" has "$d" "0 in use, 0 free but still mapped, 8 free"

# sleep-wake.trace: B and C sleep on a full window, wake, retry
at sleep-wake step=5 w5
d=$tmp/w5.dom
ok "sleep-wake #5: B asleep" task "$d" B asleep
ok "sleep-wake #5: B asleep in kmap 230100" has "$d" "asleep in kmap 230100 (line 10)"
ok "sleep-wake #5: A running" task "$d" A running
ok "sleep-wake #5: the window is full" has "$d" "4 in use, 0 free but still mapped, 0 free"
at sleep-wake step=7 w7
d=$tmp/w7.dom
ok "sleep-wake #7: B asleep" task "$d" B asleep
ok "sleep-wake #7: C asleep" task "$d" C asleep
at sleep-wake step=8 w8
d=$tmp/w8.dom
ok "sleep-wake #8: the kunmap woke both" has "$d" "the kunmap woke 2 tasks"
ok "sleep-wake #8: B woken" task "$d" B woken
ok "sleep-wake #8: C woken" task "$d" C woken
ok "sleep-wake #8: slot 2 free but still mapped" slot "$d" 2 1 230001
at sleep-wake step=10 w10
d=$tmp/w10.dom
ok "sleep-wake #10: B got slot 2" slot "$d" 2 2 230100
ok "sleep-wake #10: B running" task "$d" B running
ok "sleep-wake #10: C asleep again" task "$d" C asleep
ok "sleep-wake #10: 230001 left the hash, 230100 came in" bucket "$d" 230100

# the steps' list says what each flush did, nothing cleared included
ok "sleep-wake: line 8's wrap cleared nothing, and the list says so" \
	grep -q 'line 8: A kmap 230003 → ok new (slot 0) 0x[0-9a-f]* <span class="flush">\[flush: nothing cleared\]' "$tmp/w5.dom"
ok "sleep-wake: line 10's retry cleared slot 2" \
	grep -q 'line 10: B kmap 230100 → ok new (slot 2) 0x[0-9a-f]* \[resumed after a wake-up\] <span class="flush">\[flush: 1 cleared, one TLB flush\]' "$tmp/w5.dom"

# local-misuse.trace: a task's local stack and atomic sections
at local-misuse step=2 l2
d=$tmp/l2.dom
ok "local-misuse #2: A holds two local maps" task "$d" A running 2
ok "local-misuse #2: bottom to top" grep -q '<td class="stack"><span class="local">240000</span><span class="local">240001</span></td>' "$d"
at local-misuse step=4 l4
ok "local-misuse #4: the refused unmap changed nothing" task "$tmp/l4.dom" A running 2
at local-misuse step=9 l9
d=$tmp/l9.dom
ok "local-misuse #9: kmap_atomic: one mapping, atomic" task "$d" A running 1
ok "local-misuse #9: atomic section 1, 240002 on the stack" \
	has "$d" '<td>1</td><td class="stack"><span class="atomic">240002 atomic</span></td>'

# vmap-purge.trace: areas mapped, lazily freed, purged at lazy_max_pages
ok "story.html: no vmalloc section without vmap" \
	bash -c "! grep -q 'id=\"vmalloc\"' '$tmp/story.html'"
area() { has "$1" "id=\"area-$2\" data-state=\"$3\""; }
at vmap-purge step=5 v5
d=$tmp/v5.dom
ok "vmap-purge #5: five areas mapped" has "$d" "5 areas mapped (10235 pages), 0 lazily freed"
ok "vmap-purge #5: a5 mapped, the step's" \
	grep -q 'class="area acted" id="area-a5" data-state="mapped"' "$d"
ok "vmap-purge #5: the step is described" has "$d" "area a5: 2047 pages at 0xf2800000"
at vmap-purge step=12 v12
d=$tmp/v12.dom
for a in a1 a2 a3 a4; do
	ok "vmap-purge #12: $a lazily freed" area "$d" "$a" lazy
done
ok "vmap-purge #12: a5 and small mapped" area "$d" a5 mapped
ok "vmap-purge #12: 8192 lazy pages, not past lazy_max_pages" \
	has "$d" "4 lazily freed (8192 pages with their guard pages; past 8192"
at vmap-purge step=13 v13
d=$tmp/v13.dom
ok "vmap-purge #13: the purge is described" \
	has "$d" "vmap purge (lazy_max_pages): a1, a2, a3, a4, a5 released, one TLB flush"
ok "vmap-purge #13: the lazy areas are gone" \
	bash -c "! grep -q 'id=\"area-a[1-5]\"' '$d'"
ok "vmap-purge #13: small stays" area "$d" small mapped
at vmap-purge step=14 v14
ok "vmap-purge #14: small2 at VMALLOC_START again" has "$tmp/v14.dom" "area small2: 1 page at 0xf0800000"

# the steps' heading: a vmap's (vm_map_ram's) step names its area where
# another names its pfn, and the heading says so when the trace has areas,
# as the SVG's does
at vmap step=1 h1
d=$tmp/h1.dom
ok "vmap: the steps' heading says pfn/area" has "$d" '<p id="log-head">line: task op pfn/area → result</p>'
ok "vmap #1: the step names its area" has "$d" 'line 14: A vmap seeds → ok 0xf73fe000</li>'
ok "vmap #1: the description names the area" has "$d" 'A vmap seeds → ok 0xf73fe000</span>'
ok "vmap: a page's step still names its pfn" has "$d" 'line 17: A write 524288 → ok</li>'
ok "vmap: vunmap names its area" has "$d" 'line 32: A vunmap seeds → ok 0xf73fe000</li>'
# a refused vmap or vunmap names its area too, as the text output does
ok "vmap: a refused vmap names its area" has "$d" 'line 37: B vmap again → error: area name in use</li>'
ok "vmap: a refused vunmap names its area" has "$d" 'line 38: B vunmap nosuch → error: no such area</li>'
at vm-map-ram step=1 h2
ok "vm-map-ram: the steps' heading says pfn/area" has "$tmp/h2.dom" '<p id="log-head">line: task op pfn/area → result</p>'
ok "vm-map-ram #1: the step names its area" has "$tmp/h2.dom" 'line 9: A vm_map_ram r1 → ok 0x'
ok "story: the steps' heading says pfn" has "$tmp/s1.dom" '<p id="log-head">line: task op pfn → result</p>'
ok "story: no pfn/area without areas" bash -c "! grep -q 'pfn/area' '$tmp/s1.dom'"

# the buttons
at sleep-wake 'step=10&do=back,back,step' b1
ok "buttons: back, back, step from #10 is #9" has "$tmp/b1.dom" 'id="pos">step 9 / 18<'
ok "buttons: #9 shows B's resumed kmap" slot "$tmp/b1.dom" 2 2 230100
ok "buttons: #9: C woken, not yet retried" task "$tmp/b1.dom" C woken
at sleep-wake 'step=3&do=last' b2
ok "buttons: end" has "$tmp/b2.dom" 'id="pos">step 18 / 18<'
at sleep-wake 'step=12&do=first,step' b3
ok "buttons: start, then a step" has "$tmp/b3.dom" 'id="pos">step 1 / 18<'
at sleep-wake 'step=0&do=back' b5
ok "buttons: back at the start stays there" has "$tmp/b5.dom" 'id="pos">step 0 / 18<'
at sleep-wake 'step=0&play' b4 --virtual-time-budget=60000
ok "play: runs to the last step" has "$tmp/b4.dom" 'id="pos">step 18 / 18<'
ok "play: stops there" grep -q 'id="play"[^>]*>▶ play<' "$tmp/b4.dom"

# a 1024-slot window, 4000 steps
{
	echo "machine x86-32 mem=4G"
	for r in 0 1; do
		for i in $(seq 0 999); do echo "T$((i % 3)) kmap $((300000 + r * 5000 + i))"; done
		for i in $(seq 0 999); do echo "T$((i % 3)) kunmap $((300000 + r * 5000 + i))"; done
	done
} > "$tmp/long.trace"
"$kmap" replay --html "$tmp/long.html" "$tmp/long.trace" > /dev/null
at long step=1000 g1
ok "1024 slots #1000: 1000 in use" has "$tmp/g1.dom" "1000 in use, 0 free but still mapped, 24 free"
at long step=2000 g2
ok "1024 slots #2000: all released, still mapped" has "$tmp/g2.dom" "0 in use, 1000 free but still mapped, 24 free"
at long step=2024 g3
ok "1024 slots #2024: the wrap flushed 1000 slots" \
	has "$tmp/g3.dom" "flush_all_zero_pkmaps: cleared 1, 2, 3, 4,"
ok "1024 slots #2024: 305023 took slot 0" slot "$tmp/g3.dom" 0 2 305023
ok "1024 slots #2024: the rest free" has "$tmp/g3.dom" "24 in use, 0 free but still mapped, 1000 free"
at long 'step=3999&do=step,back,step' g4
ok "1024 slots: #4000 by buttons" has "$tmp/g4.dom" 'id="pos">step 4000 / 4000<'

finish
