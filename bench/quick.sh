#!/usr/bin/env bash
# `kmap bench --quick --json` runs through: exit 0, one JSON object a line,
# every workload and baseline of bench/README.md there (full_mmap_* on a
# 64-bit build), a hit rate where a window is involved, and every target
# line with its "met". Not a measurement: --quick is one short round.
#
#   quick.sh KMAP
set -u
kmap=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fails=0
check() { # description, then the command
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

"$kmap" bench --quick --json > "$out"
check "kmap bench --quick --json exits 0" test $? = 0
check "every line is one JSON object" \
	awk '!/^\{.*\}$/ { exit 1 }' "$out"
if command -v python3 > /dev/null; then
	check "every line parses as JSON" python3 -c '
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)' "$out"
fi
has() { grep -q "\"workload\":\"$1\",\"policy\":\"$2\"" "$out"; }
for pol in linux lockfree clock tinylfu; do
	for w in hit miss_random miss_random_remap zipf_read zipf_read64 \
	         zipf_read_skew scan_read scan_plus_zipf; do
		check "$w for $pol" has "$w" "$pol"
	done
	check "zipf_read for $pol has its hit rate" \
		grep -q "\"workload\":\"zipf_read\",\"policy\":\"$pol\".*\"hit_rate\":" "$out"
	check "scan_read for $pol is served from the read-ahead" \
		grep -q "\"workload\":\"scan_read\",\"policy\":\"$pol\".*\"ahead\":[1-9].*\"ahead_reads\":[1-9]" "$out"
	check "scan_plus_zipf for $pol has both hit rates" \
		grep -q "\"workload\":\"scan_plus_zipf\",\"policy\":\"$pol\".*\"hit_rate\":.*\"hit_rate_without_scan\":" "$out"
done
check "zipf_read_skew at 0.8 and 1.2" \
	test "$(grep -c '"workload":"zipf_read_skew".*"skew":\(0.80\|1.20\)' "$out")" = 8
base="mutex_pair raw_mmap_touch naive_remap pread_zipf oracle_zipf pread_zipf64
      oracle_zipf64 pread_zipf_skew oracle_zipf_skew pread_scan"
[ "$(getconf LONG_BIT)" = 64 ] &&
	base="$base full_mmap_zipf full_mmap_zipf64 full_mmap_zipf_skew full_mmap_scan"
for w in $base; do
	check "baseline $w" has "$w" -
done
for t in hit_1t_linux_over_mutex_pair hit_2t_over_1t_ miss_1t_linux_over_raw_mmap_touch \
         'miss_2t_.*_over_naive_remap_2t' 'zipf_[a-z]*_over_pread' \
         'zipf_hit_rate_.*_minus_linux' 'zipf_read_[a-z]*_over_pread' \
         'zipf_read_[a-z]*_time_over_oracle' 'zipf_read64_.*_over_pread' \
         'zipf_read64_.*_time_over_oracle' 'zipf_read_skew0.8_.*_over_pread' \
         'zipf_read_skew0.8_.*_time_over_oracle' 'zipf_read_skew1.2_.*_over_pread' \
         'zipf_read_skew1.2_.*_time_over_oracle' 'scan_read_.*_over_pread' \
         'scan_plus_zipf_.*_hit_rate_over_zipf_read'; do
	check "target $t with met" grep -q "\"target\":\"$t.*\"met\":\(true\|false\)" "$out"
done
# memory that cannot be had: exit status 3, with the cause (not under a
# sanitizer, whose shadow memory cannot be had under ulimit -v at all)
if ldd "$kmap" 2> /dev/null | grep -q 'lib[at]san'; then
	echo "skip: no memory (a sanitizer's build)"
else
	(ulimit -v 120000; "$kmap" bench --quick --workload zipf_read > /dev/null 2> "$out.err")
	check "no memory: exit status 3" test $? = 3
	check "no memory: the cause said" grep -q "cannot open memory" "$out.err"
	rm -f "$out.err"
fi
echo "$fails failed"
[ "$fails" = 0 ]
