#!/bin/busybox sh
# /init of the guest's initramfs (busybox, this script, kmapdrive).
#
# It prints what the host compares, each part between "=== NAME ===" and
# "=== end NAME ===" lines, then powers the guest off:
#   meminfo zoneinfo iomem vmallocinfo   the /proc files
#   kallsyms      the kmap functions this kernel has
#   probes        the kprobe events it took (or refused)
#   kmapdrive     the helper's output: the pages' pfns, reads, wrong tags
#   trace_stats   ftrace's counters (overruns would mean a lost event)
#   trace         the ftrace buffer, gzip then base64
#   dmesg         the boot log
# and "=== done ===" last. kmapdrive's arguments come from the kernel
# command line: kmapdrive=NPAGES,NREP,NRAND,SEED.

/bin/busybox mkdir -p /proc /sys /dev /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

# Kernel messages now would land in the middle of our output; they are all
# in the dmesg part anyway.
echo 1 >/proc/sys/kernel/printk
# root sees real addresses in /proc/vmallocinfo (not hashed ones)
echo 1 >/proc/sys/kernel/kptr_restrict

# part NAME COMMAND...: the command's output between the NAME lines
part() {
	part_name=$1
	shift
	echo "=== $part_name ==="
	"$@"
	echo "=== end $part_name ==="
}

for f in meminfo zoneinfo iomem vmallocinfo; do
	part "$f" cat /proc/$f
done
part kallsyms grep -E ' (kmap_high|kmap_high_get|kunmap_high|flush_all_zero_pkmaps|set_page_address|__kmap_local_page_prot|__kmap_local_pfn_prot|__access_remote_vm)$' /proc/kallsyms

T=/sys/kernel/tracing
mount -t tracefs tracefs $T

# i386 kernels pass the first arguments in registers (-mregparm=3): page
# in %ax, the second argument in %dx; on ARM in r0 and r1.
case "$(uname -m)" in
arm*) A1=%r0 A2=%r1 ;;
*) A1=%ax A2=%dx ;;
esac

probe() {
	if echo "$1" >>$T/kprobe_events 2>/dev/null; then
		echo "probe ok: $1"
	else
		echo "probe refused: $1"
		tail -n 2 $T/error_log
	fi
}

probes() {
	probe "p:kmap/kmap_high kmap_high page=$A1:x32"
	probe "r:kmap/kmap_high_ret kmap_high ret=\$retval:x32"
	probe "p:kmap/kunmap_high kunmap_high page=$A1:x32"
	probe "p:kmap/flush_all_zero_pkmaps flush_all_zero_pkmaps"
	probe "p:kmap/set_page_address set_page_address page=$A1:x32 virtual=$A2:x32"
	# page -> pfn pairs for the host (mem_map is not exported) and the
	# fixmap address of each local map
	probe "p:kmap/kmap_local_page __kmap_local_page_prot page=$A1:x32"
	probe "p:kmap/kmap_local_pfn __kmap_local_pfn_prot pfn=$A1:x32"
	probe "r:kmap/kmap_local_ret __kmap_local_pfn_prot ret=\$retval:x32"
}

echo 0 >$T/tracing_on
echo 8192 >$T/buffer_size_kb
echo >$T/trace
part probes probes

# The local maps are wanted until the helper starts (the child's page
# faults give plenty): the first kmap_high turns them off, which keeps the
# buffer small.
for e in kmap_local_page kmap_local_pfn kmap_local_ret; do
	echo "disable_event:kmap:$e:1" >>$T/events/kmap/kmap_high/trigger
done
echo 1 >$T/events/kmap/enable
echo 1 >$T/tracing_on

args=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^kmapdrive=//p' | tr , ' ')
drive() {
	# shellcheck disable=SC2086
	/kmapdrive $args
	echo "kmapdrive: exit $?"
}
part kmapdrive drive

echo 0 >$T/tracing_on
part trace_stats cat $T/per_cpu/cpu0/stats
trace() { gzip -c $T/trace | base64; }
part trace trace
part dmesg dmesg
echo "=== done ==="
poweroff -f
