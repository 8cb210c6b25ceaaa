#!/usr/bin/env bash
# Compare one boot of a real kernel (boot.sh's DIR) with kmap.
#
#   compare.sh KMAP CACHE CONFIG DIR
#
# From DIR/console.log it cuts the guest's parts into DIR/ (dmesg,
# meminfo, zoneinfo, iomem, vmallocinfo, kallsyms, probes, kmapdrive,
# trace_stats, and the ftrace buffer as DIR/ftrace), then prints a line
# per figure, "equal VALUE" or "DIFFERENT real=... kmap=...":
#   - the layout, read from the boot log, /proc and the traced addresses,
#     against `kmap layout --json` for the same profile and memory
#     (DIR/layout.json);
#   - the trace: `kmap import` of DIR/ftrace (DIR/kmap.trace) replayed by
#     `kmap replay --json` (DIR/replay.json), whose summary must have
#     checked the address of every kmap_high call and every flush, with
#     no mismatch and no error.
# Exit status 0 when all are equal, 1 when not.
set -u
kmap=$1
cache=$2
config=$3
dir=$4
prof=${config%-*}
pass=0
fail=0
# shellcheck disable=SC1091
. "$cache/env"
case "$prof" in
x86-32-pae) flavour=686-pae arch=i386 ;;
x86-32) flavour=686 arch=i386 ;;
arm-virt) flavour=armmp arch=armhf ;;
esac
version=VERSION_linux_image_6_1_0_${KABI}_${flavour//-/_}_$arch
kconfig=$cache/linux-image-6.1.0-$KABI-${flavour}_$arch/boot/config-6.1.0-$KABI-$flavour

fig() { # WHAT REAL KMAP
	if [ -n "$2" ] && [ "$2" = "$3" ]; then
		printf '  %-40s equal %s\n' "$1" "$2"
		pass=$((pass + 1))
	else
		printf '  %-40s DIFFERENT real=%s kmap=%s\n' "$1" "${2:-(not found)}" "${3:-(none)}"
		fail=$((fail + 1))
	fi
}
must() { # WHAT COMMAND...
	local what=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
	else
		echo "  FAIL: $what"
		fail=$((fail + 1))
	fi
}
finish() {
	echo "  $config: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit
}
# the lines between "=== NAME ===" and "=== end NAME ===" of the console
# (the ends of the lines: the firmware's escape sequences can precede one)
part() {
	awk -v b="=== $1 ===" -v e="=== end $1 ===" '
		substr($0, length($0) - length(e) + 1) == e { p = 0 } p
		substr($0, length($0) - length(b) + 1) == b { p = 1 }' "$dir/console.log"
}
# a number or string of the one-line JSON object in FILE
json() { grep -o "\"$1\":\"\?[^,\"}]*" "$2" | head -1 | sed 's/.*[:"]//'; }
hex() { [ -n "$1" ] && printf '0x%08x' "$1"; }
lacks() { ! grep -q "$1" "$2"; }
# "START-END" pfns of zone NAME in layout.json, "empty" when it is
kzone() {
	grep -o "{\"name\":\"$1\",[^}]*" "$dir/layout.json" |
		sed 's/.*"start_pfn":\([0-9]*\),"end_pfn":\([0-9]*\).*/\1 \2/' |
		awk '{ print ($1 == $2 ? "empty" : $1 "-" $2) }'
}

echo "$config: linux-image-6.1.0-$KABI-$flavour ${!version} ($arch), $(cat "$dir/seconds" 2>/dev/null)s under qemu"
if [ -f "$dir/console-1.log" ]; then
	echo "  (booted twice: the first guest did not get to its end; its last line:" \
		"$(tail -n 1 "$dir/console-1.log"))"
fi
if ! grep -qx "=== done ===" "$dir/console.log" 2>/dev/null; then
	echo "  FAIL: the guest did not get to its end (qemu failed or timed out); the last lines:"
	tail -n 15 "$dir/console.log" 2>/dev/null | sed 's/^/    /'
	fail=$((fail + 1))
	finish
fi
for p in dmesg meminfo zoneinfo iomem vmallocinfo kallsyms probes kmapdrive trace_stats; do
	part "$p" >"$dir/$p"
done
part trace | base64 -d | gunzip >"$dir/ftrace"
dm=$dir/dmesg
ft=$dir/ftrace

# ---- the run: every probe taken, no event lost, every page read right --
must "the kernel refused a probe: $(grep refused "$dir/probes" | head -1)" \
	lacks refused "$dir/probes"
must "ftrace lost events: $(tr '\n' ' ' <"$dir/trace_stats")" \
	grep -qx "dropped events: 0" "$dir/trace_stats"
must "ftrace overran: $(tr '\n' ' ' <"$dir/trace_stats")" grep -qx "overrun: 0" "$dir/trace_stats"
must "kmapdrive: $(grep -v pfns "$dir/kmapdrive" | tr '\n' ' ')" \
	grep -qx "kmapdrive: exit 0" "$dir/kmapdrive"

# ---- the machine: RAM from the real one, then kmap's model of it ------
ram=$(sed -n 's/^\([0-9a-f]*\)-\([0-9a-f]*\) : System RAM$/\1 \2/p' "$dir/iomem")
if [ "$prof" = arm-virt ]; then
	# qemu's virt board has one RAM range; its start is PHYS_OFFSET
	min_pfn=$((16#$(echo "$ram" | head -1 | cut -d' ' -f1) >> 12))
	max_pfn=$(((16#$(echo "$ram" | tail -1 | cut -d' ' -f2) + 1) >> 12))
else
	# x86 has no PHYS_OFFSET; e820's last RAM page (below the 4 GiB the
	# 686 kernel can address) ends max_pfn
	min_pfn=0
	max_pfn=$(($(grep -m1 -o 'last_pfn = 0x[0-9a-f]*' "$dm" | sed 's/.* //')))
fi
mem=$(((max_pfn - min_pfn) * 4))K
if ! "$kmap" layout --machine "$prof" --mem "$mem" --json >"$dir/layout.json"; then
	echo "  FAIL: kmap layout --machine $prof --mem $mem"
	fail=$((fail + 1))
	finish
fi
lj=$dir/layout.json
echo "  kmap layout --machine $prof --mem $mem (RAM to pfn $max_pfn):"

fig "PAGE_OFFSET (kernel config)" "$(hex "$(sed -n 's/^CONFIG_PAGE_OFFSET=//p' "$kconfig")")" \
	"$(hex "$(json page_offset "$lj")")"
if [ "$prof" = arm-virt ]; then
	fig "PHYS_OFFSET (iomem)" "$(hex $((min_pfn << 12)))" "$(hex "$(json phys_offset "$lj")")"
fi
fig "NR_CPUS (boot log)" "$(grep -m1 -o 'NR_CPUS[=:][0-9]*' "$dm" | sed 's/.*[=:]//')" \
	"$(json nr_cpus "$lj")"

# Zones: "  DMA      [mem 0x...-0x...]" or "  Normal   empty" under "Zone
# ranges:" in the boot log; start_pfn and spanned in /proc/zoneinfo.
for z in DMA Normal HighMem; do
	real=$(awk -v z="$z" '/Zone ranges:/ { p = 1; next }
		p && !/\[mem |empty$/ { exit }
		p && $(NF - 1) == z && $NF == "empty" { print "empty" }
		p && $(NF - 2) == z { sub(/]$/, "", $NF); print $NF }' "$dm")
	case "$real" in
	*-*) real="$((${real%-*} >> 12))-$(((${real#*-} + 1) >> 12))" ;;
	esac
	fig "zone $z (boot log)" "$real" "$(kzone "$z")"
done
for z in DMA Normal HighMem Movable; do
	real=$(awk -v z="$z" '$1 == "Node" { p = ($4 == z) }
		p && $1 == "spanned" { s = $2; if (s == 0) { print "empty"; exit } }
		p && $1 == "start_pfn:" { print $2 "-" $2 + s; exit }' "$dir/zoneinfo")
	fig "zone $z (/proc/zoneinfo)" "$real" "$(kzone "$z")"
done

if [ "$prof" = arm-virt ]; then
	# ARM prints no lowmem line: lowmem ends where ZONE_HIGHMEM starts
	max_low=$(awk '$1 == "Node" { p = ($4 == "HighMem") } p && $1 == "start_pfn:" { print $2; exit }' \
		"$dir/zoneinfo")
	fig "max_low_pfn (HighMem's start)" "$max_low" "$(json highmem_start_pfn "$lj")"
else
	max_low=$(grep -m1 -o ' low ram: 0 - [0-9a-f]*' "$dm" | sed 's/.* //')
	[ -n "$max_low" ] && max_low=$((16#$max_low >> 12))
	fig "max_low_pfn (boot log: low ram)" "$max_low" "$(json highmem_start_pfn "$lj")"
	fig "LOWMEM MB (boot log)" "$(grep -m1 -o '[0-9]*MB LOWMEM' "$dm" | sed 's/MB.*//')" \
		"$(($(json lowmem_bytes "$lj") >> 20))"
	fig "HIGHMEM MB (boot log)" "$(grep -m1 -o '[0-9]*MB HIGHMEM' "$dm" | sed 's/MB.*//')" \
		"$(($(json highmem_bytes "$lj") >> 20))"
fi
# high_memory is __va() of lowmem's end
page_offset=$(($(sed -n 's/^CONFIG_PAGE_OFFSET=//p' "$kconfig")))
fig "high_memory (from max_low_pfn)" "$(hex $((page_offset + ((${max_low:-0} - min_pfn) << 12))))" \
	"$(hex "$(json high_memory "$lj")")"

# vmalloc: the first area vmalloc hands out is at VMALLOC_START (it takes
# the lowest free address); VmallocTotal is VMALLOC_END - VMALLOC_START
vs=$(json vmalloc_start "$lj")
ve=$(json vmalloc_end "$lj")
fig "VMALLOC_START (vmallocinfo's lowest)" \
	"$(hex "$(sed -n 's/^\(0x[0-9a-f]*\)-.*/\1/p' "$dir/vmallocinfo" | sort | head -1)")" "$(hex "$vs")"
fig "VmallocTotal kB (meminfo)" "$(awk '$1 == "VmallocTotal:" { print $2 }' "$dir/meminfo")" \
	"$(((ve - vs) >> 10))"

# The window, from the addresses kmap_high returned: the window wraps
# several times, so every slot is used, slot 0 after the first flush.
grep ' kmap_high_ret: ' "$ft" | sed 's/.* ret=//' | sort -u >"$dir/pkmap-addresses"
slots=$(wc -l <"$dir/pkmap-addresses")
fig "PKMAP_BASE (lowest address)" "$(hex "$(head -1 "$dir/pkmap-addresses")")" \
	"$(hex "$(json pkmap_base "$lj")")"
last=$(tail -1 "$dir/pkmap-addresses")
fig "window end (highest address + 4K)" "$(hex $((${last:-0} + 4096)))" \
	"$(hex "$(json pkmap_end "$lj")")"
fig "LAST_PKMAP (addresses seen)" "$slots" "$(json last_pkmap "$lj")"
# The local maps of the child's page faults: depth 0 on CPU 0 is the
# highest fixmap address they use (the fixmap grows down).
fig "kmap_local slot 0, CPU 0" \
	"$(hex "$(grep ' kmap_local_ret: ' "$ft" | sed 's/.* ret=//' | sort -u | tail -1)")" \
	"$(hex $(($(json kmap_local_end "$lj") - 4096)))"

# sizeof(struct page): the n-th kmap_high of the "seq" phase (kmapdrive's
# reads) is the child's page n, whose pfn kmapdrive read from pagemap; the struct page
# pointers of two pages are (pfn difference) * sizeof apart. Every page
# must fit the size found from the two farthest apart.
spage=$(awk 'function hex(s,   v, i) {
		s = tolower(s); sub(/^0x/, "", s); v = 0
		for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	FNR == NR { if ($2 == "pfns") for (i = 4; i <= NF; i++) pfn[$3 + i - 4] = hex($i); next }
	/tracing_mark_write: kmapdrive phase=/ { seq = /phase=seq/; next }
	seq && $1 ~ /^kmapdrive-/ && / kmap_high: / { sub(/.*page=/, ""); page[n++] = hex($0) }
	END {
		if (n < 2) exit
		lo = hi = 0
		for (i = 0; i < n; i++) {
			if (pfn[i] < pfn[lo]) lo = i
			if (pfn[i] > pfn[hi]) hi = i
		}
		size = (page[hi] - page[lo]) / (pfn[hi] - pfn[lo])
		for (i = 0; i < n; i++)
			if (page[i] - page[lo] != (pfn[i] - pfn[lo]) * size) { print "none: page " i " does not fit"; exit }
		print size
	}' "$dir/kmapdrive" "$ft")
fig "sizeof(struct page) (pagemap)" "$spage" "$(json struct_page_size "$lj")"
fig "kmap_high_get (kallsyms)" \
	"$(grep -q ' kmap_high_get$' "$dir/kallsyms" && echo present || echo absent)" \
	"$( [ "$(json kmap_high_get "$lj")" = true ] && echo present || echo absent)"

# ---- the trace: imported, replayed, every address and flush checked --
calls=$(grep -c ' kmap_high: ' "$ft")
flushes=$(grep -c ' flush_all_zero_pkmaps: ' "$ft")
reads=$(sed -n 's/^kmapdrive: reads \([0-9]*\) .*/\1/p' "$dir/kmapdrive")
must "one kmap_high a page read: $calls kmap_high, ${reads:-no} reads" test "$calls" = "${reads:-x}"
must "the window wrapped: $flushes flushes" test "$flushes" -gt 0
"$kmap" import --machine "$prof" --mem "$mem" "$ft" >"$dir/kmap.trace" 2>"$dir/import.log"
fig "kmap import exit status" 0 $?
fig "sizeof(struct page) (kmap import's fit)" \
	"$(sed -n 's/^# pages: struct page \([0-9]*\) bytes.*/\1/p' "$dir/kmap.trace")" \
	"$(json struct_page_size "$lj")"
"$kmap" replay --json "$dir/kmap.trace" >"$dir/replay.json" 2>"$dir/replay.log"
fig "kmap replay exit status" 0 $?
# {"summary":{..."errors":N,...,"checked":{"vaddrs":N,"flushes":N,"mismatches":N}}}
grep '^{"summary"' "$dir/replay.json" | sed 's/"checked":{\([^}]*\)}.*//' >"$dir/summary"
grep '^{"summary"' "$dir/replay.json" | sed -n 's/.*"checked":\({[^}]*}\).*/\1/p' >"$dir/checked"
fig "kmap_high addresses checked" "$calls" "$(json vaddrs "$dir/checked")"
fig "flushes checked" "$flushes" "$(json flushes "$dir/checked")"
fig "mismatches" 0 "$(json mismatches "$dir/checked")"
fig "errors" 0 "$(json errors "$dir/summary")"
finish
