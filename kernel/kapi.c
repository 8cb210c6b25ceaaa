/*
 * kapi.c - kmap.h in the kernel: the driver contract (src/core/driver.h)
 * for one CPU and cooperative threads, and the machine of a trace built
 * on real page tables. With the core's own api.c this is the part of
 * kmap.h the replay engine uses, so the engine runs here as it runs in
 * `kmap replay`.
 *
 * The kmap lock: one CPU, no interrupts, so it is only a check that
 * nobody schedules while holding it. A task sleeping in kmap is its
 * thread blocking in schedule(); a wake-up puts the threads on the run
 * queue in the order they slept.
 */
#include "kernel.h"
#include "core/util.h"
#include "fmt.h"

#include <errno.h>

#include <stdio.h>
#include <string.h>

struct km_machine {
	struct km_core k; /* first: see km__core_of() */
};

static struct km_machine machine;
static bool kmap_locked;

static void drv_lock(void *drv)
{
	(void)drv;
	if (kmap_locked)
		kpanic(KEXIT_BUG, "kmap lock taken twice");
	kmap_locked = true;
}

static void drv_unlock(void *drv)
{
	(void)drv;
	kmap_locked = false;
}

static int drv_current(void *drv, struct km_task **t)
{
	(void)drv;
	*t = current->task;
	return 0;
}

/* Block: the thread's on_sleep first (the replay lets its dispatcher go
 * on), then schedule() until a wake-up runs it again. */
static int drv_sleep(void *drv, struct km_task *t, struct km_wait *w)
{
	(void)t;
	(void)w;
	if (current->on_sleep)
		current->on_sleep(current);
	drv_unlock(drv);
	schedule();
	drv_lock(drv);
	return 0;
}

static void drv_woken(void *drv, struct km_task *t)
{
	(void)drv;
	wake_up_process(km__container_of(t, struct ktask, t)->th);
}

static void drv_bug(void *drv, const char *what)
{
	(void)drv;
	kpanic(KEXIT_BUG, "%s", what);
}

static const struct km_driver_ops kernel_driver = {
	.lock = drv_lock,
	.unlock = drv_unlock,
	.current = drv_current,
	.sleep = drv_sleep,
	.woken = drv_woken,
	.bug = drv_bug,
};

/* ---------------------------------------------------------------------- */
/* The boot log: the machine as `kmap layout` shows it                    */
/* ---------------------------------------------------------------------- */

static void range(const char *name, uint64_t a, uint64_t b)
{
	char sz[32];
	*fmt_size(sz, b - a) = 0;
	klog("    %-8s: 0x%08llx - 0x%08llx   (%s)", name, (unsigned long long)a,
	     (unsigned long long)b, sz);
}

static void log_machine(const struct km_core *k, const char *policy)
{
	struct km_layout l;
	char a[32], b[32];
	km__layout_fill(k, &l);
	klog("Machine %s, policy %s: %llu MiB of memory, %llu pages of %u bytes",
	     l.profile, policy, (unsigned long long)(l.mem_bytes >> 20),
	     (unsigned long long)(l.max_pfn - l.min_pfn), l.page_size);
	klog("  it models %s", l.kernel);
	if (l.phys_offset)
		klog("RAM at physical 0x%llx (PHYS_OFFSET): pfns %llu-%llu",
		     (unsigned long long)l.phys_offset,
		     (unsigned long long)l.min_pfn,
		     (unsigned long long)l.max_pfn - 1);
	for (unsigned i = 0; i < l.nr_holes; i++)
		klog("hole: pfns %llu-%llu, no RAM (pfn_valid %s)",
		     (unsigned long long)l.holes[i].start_pfn,
		     (unsigned long long)l.holes[i].end_pfn - 1,
		     km__pfn_valid(k, l.holes[i].start_pfn) ?
		     "true: reserved pages" : "false: no memmap");
	klog("Zone ranges:");
	for (unsigned i = 0; i < l.nr_zones; i++) {
		const struct km_zone_info *z = &l.zones[i];
		if (z->start_pfn == z->end_pfn) {
			klog("  %-8s empty", z->name);
			continue;
		}
		klog("  %-8s [mem 0x%016llx-0x%016llx]  pfn %llu-%llu%s", z->name,
		     (unsigned long long)(z->start_pfn << l.page_shift),
		     (unsigned long long)((z->end_pfn << l.page_shift) - 1),
		     (unsigned long long)z->start_pfn,
		     (unsigned long long)z->end_pfn - 1,
		     z->highmem ? "  (highmem)" : "");
	}
	klog("%lluMB HIGHMEM available.",
	     (unsigned long long)(l.highmem_bytes >> 20));
	klog("%lluMB LOWMEM available.", (unsigned long long)(l.lowmem_bytes >> 20));
	*fmt_size(a, l.lowmem_bytes) = 0;
	*fmt_size(b, l.highmem_bytes) = 0;
	klog("Memory: lowmem %s, highmem %s (highmem starts at pfn %llu)", a, b,
	     (unsigned long long)l.max_low_pfn);
	*fmt_size(a, l.lowmem_limit) = 0;
	klog("        the %s split allows at most %s of lowmem (MAXMEM)",
	     l.profile, a);
	klog("Virtual kernel memory layout:");
	range("fixmap", l.fixaddr_start, l.fixmap_end);
	range("  local", l.kmap_local_start, l.kmap_local_end);
	if (l.pkmap_base > l.page_offset) {
		range("pkmap", l.pkmap_base, l.pkmap_end);
		range("vmalloc", l.vmalloc_start, l.vmalloc_end);
		range("lowmem", l.page_offset, l.high_memory);
	} else {
		range("vmalloc", l.vmalloc_start, l.vmalloc_end);
		range("lowmem", l.page_offset, l.high_memory);
		range("pkmap", l.pkmap_base, l.pkmap_end);
	}
	klog("pkmap: %u slots of %u bytes from 0x%08llx, %u colour%s, "
	     "page_address() hash of %u buckets; %u local-map slots a CPU "
	     "(%u CPUs in the fixmap, CPU 0 used)", l.last_pkmap, l.page_size,
	     (unsigned long long)l.pkmap_base, l.colors, l.colors == 1 ? "" : "s",
	     l.pa_hash_size, l.km_max_idx - 1, l.nr_cpus);
	klog("mem_map: %llu pages x %zu B = %llu KiB (here; the kernel's struct "
	     "page is %u B)", (unsigned long long)(l.max_pfn - l.min_pfn),
	     sizeof(struct km_page),
	     (unsigned long long)((l.max_pfn - l.min_pfn) *
	                          sizeof(struct km_page) >> 10),
	     l.struct_page_size);
	if (l.sections_width)
		klog("SPARSEMEM: %llu sections of 2^%u bytes present; page->flags: "
		     "section at bit %u (%u bits), zone at bit %u",
		     (unsigned long long)l.present_sections, l.section_size_bits,
		     l.sections_pgshift, l.sections_width, l.zones_pgshift);
}

/*
 * The trace's machine: the core's layout and arrays, real page tables for
 * it (mm.c), the boot log. What cannot be done here ends the boot: a
 * machine that needs more RAM, or whose layout covers this kernel's image.
 */
int km_machine_create(const struct km_config *cfg, km_machine **out)
{
	struct km_core *k = &machine.k;
	const struct km_policy *pol = km__policy_find(cfg->policy);
	int r = km_config_check(cfg, NULL, 0);
	if (r || !pol)
		return r ? r : -EINVAL;
	km__model_config(k, cfg);
	if (km__layout_compute(k, km__profile_find(cfg->profile),
	                       cfg->mem_bytes, cfg->last_pkmap, cfg->colors, 0,
	                       0, 0, false))
		return -EINVAL;
	struct km_page *mem_map = kalloc(km__nr_pages(k) * sizeof(struct km_page));
	void *arena = kalloc(km__core_arena_size(k));
	size_t ps = km__core_page_slot_size(k, pol);
	km__core_init(k, mem_map, arena, ps ? kalloc(ps) : NULL, pol);
	k->be = &km_mmu_ops;
	k->be_ctx = NULL;
	k->drv = &kernel_driver;
	k->drv_ctx = &machine;
	log_machine(k, pol->name);
	r = mm_setup(k);
	if (r)
		kexit(r == -EADDRINUSE ? KEXIT_MOVE : KEXIT_NORUN);
	*out = &machine;
	return 0;
}

void km_machine_destroy(km_machine *m)
{
	(void)m; /* the machine lives until power-off */
}

/* kmap's own codes' texts (the core's table), libc's for errno values. */
const char *km_strerror(int err)
{
	const char *t = km__errtext(err);
	/* t is set for every |err| >= KM_EBASE: -err cannot overflow */
	return t ? t : strerror(err < 0 ? -err : err);
}

/* Tasks are the replay's threads (kernel/replay.c), switched by the
 * scheduler: neither of these is used. */
int km_task_create(km_machine *m, km_task **out)
{
	(void)m;
	(void)out;
	return -ENOSYS;
}

int km_task_switch(km_machine *m, km_task *t)
{
	(void)m;
	(void)t;
	return -ENOSYS;
}
