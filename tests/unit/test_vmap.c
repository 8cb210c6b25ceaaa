/*
 * test_vmap.c - vmap and vunmap on the simulated machine: first fit with a
 * guard page, bytes through an area across page boundaries, the lazy
 * purge (by lazy_max_pages, by a vmap that finds no room, by
 * km_vm_unmap_aliases), a freed range never reused before its TLB flush,
 * errors that change nothing, the statistics, leaks and the check; and on
 * the host backend, a record spanning pages of real memory read in place,
 * above 4 GiB of it too (in a 32-bit build, more memory than the process
 * can address).
 */
#define _FILE_OFFSET_BITS 64 /* backend/host.h passes file offsets */
#include "ktest.h"

#include "user.h"
#include "backend/host.h"
#include "backend/sim.h"

#include <stdlib.h>
#include <string.h>

#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)

/* The events of a machine, kept for the test to look at. */
struct evlog {
	unsigned purges;
	struct km_event last;
	unsigned flushes;
};

static void on_event(void *arg, const struct km_event *ev)
{
	struct evlog *l = arg;
	if (ev->type == KM_EV_PURGE) {
		l->purges++;
		l->last = *ev;
	} else if (ev->type == KM_EV_FLUSH) {
		l->flushes++;
	}
}


/* The area starts at VMALLOC_START and is PAGE_SIZE * (count + 1) long. */
static void first_fit_and_guard(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 2 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	/* Linux 6.1 i386 with more RAM than MAXMEM: VMALLOC_START
	 * = high_memory + 8 MiB, VMALLOC_END = PKMAP_BASE - 2 pages */
	KT_EQ(l.vmalloc_start, 0xf73fe000);
	KT_EQ(l.vmalloc_end, 0xfebfe000);
	KT_EQ(l.vmap_lazy_max, 8192);
	km_page **hp = kt_pages(m, l.max_low_pfn + 10, 3);
	void *a, *b, *c;
	KT_OK(km_vmap(m, hp, 3, &a));
	KT_EQ((uintptr_t)a, l.vmalloc_start);
	/* a lowmem page and a highmem one, the same page twice */
	km_page *mix[3] = { km_pfn_to_page(m, 300), hp[0], hp[0] };
	KT_OK(km_vmap(m, mix, 3, &b));
	KT_EQ((uintptr_t)b, l.vmalloc_start + 4 * 4096); /* 3 pages + guard */
	KT_OK(km_vmap(m, hp, 1, &c));
	KT_EQ((uintptr_t)c, l.vmalloc_start + 8 * 4096);

	for (unsigned i = 0; i < 3; i++)
		assert_ptr_equal(km_vmalloc_to_page(m, (char *)a + i * 4096), hp[i]);
	assert_null(km_vmalloc_to_page(m, (char *)a + 3 * 4096)); /* guard */
	assert_ptr_equal(km_vmalloc_to_page(m, (char *)b + 1), mix[0]);
	assert_null(km_vmalloc_to_page(m, (void *)0x1000));

	struct km_stats s = kt_stats(m);
	KT_EQ(s.vmaps, 3);
	KT_EQ(s.vmap_areas, 3);
	KT_EQ(s.vmap_pages, 7);
	KT_EQ(s.vmap_lazy_pages, 0);
	KT_EQ(s.vmap_free_pages, 30720 - 10);
	KT_EQ(s.vmap_largest_free, 30720 - 10);
	KT_CHECK(m);

	/* a record across the pages of an area: written through the area,
	 * read back page by page through kmap_local */
	char rec[40], got[40];
	for (unsigned i = 0; i < sizeof(rec); i++)
		rec[i] = (char)('A' + i);
	KT_OK(km_write(m, (char *)a + 4096 - 20, rec, sizeof(rec)));
	KT_OK(km_memcpy_from_page(m, got, hp[0], 4096 - 20, 20));
	KT_OK(km_memcpy_from_page(m, got + 20, hp[1], 0, 20));
	KT_EQ(memcmp(got, rec, sizeof(rec)), 0);
	/* and through the other area, which maps hp[0] twice */
	KT_OK(km_read(m, (char *)b + 2 * 4096 - 20, got, 20));
	KT_EQ(memcmp(got, rec, 20), 0);
	KT_OK(km_read(m, (char *)b + 3 * 4096 - 20, got, 20));
	KT_EQ(memcmp(got, rec, 20), 0);
	/* the guard page has no translation */
	KT_RC(km_read(m, (char *)a + 3 * 4096, got, 1), -EFAULT);

	KT_OK(km_vunmap(m, b));
	KT_OK(km_vunmap(m, a));
	KT_OK(km_vunmap(m, c));
	s = kt_stats(m);
	KT_EQ(s.vunmaps, 3);
	KT_EQ(s.vmap_areas, 0);
	KT_EQ(s.vmap_lazy_pages, 10);
	KT_EQ(s.vmap_purges, 0);
	KT_EQ(s.vmap_free_pages, 30720 - 10); /* lazy ranges are not free */
	KT_CHECK(m);
	free(hp);
	km_machine_destroy(m);
}

/* Until the purge, a freed range keeps its place and the TLB may keep its
 * translations: the next area goes after it, never on it. */
static void lazy_range_not_reused(void **state)
{
	(void)state;
	km_machine *m = kt_machine("arm", 2 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.vmalloc_start, 0xf0800000);
	KT_EQ(l.vmalloc_end, 0xff800000);
	struct evlog ev = { 0 };
	km_set_event_hook(m, on_event, &ev);
	km_page **hp = kt_pages(m, l.max_low_pfn, 4);
	void *a, *b;
	KT_OK(km_vmap(m, hp, 4, &a));
	KT_OK(km_write(m, a, "old", 3));
	char got[4] = { 0 };
	KT_OK(km_read(m, a, got, 3)); /* the TLB holds a's translation */
	KT_OK(km_vunmap(m, a));
	/* the PTE is gone but the TLB still translates: a use after vunmap
	 * reads the old page, as on real hardware before the flush */
	uint64_t stale = kt_stats(m).tlb_stale;
	KT_OK(km_read(m, a, got, 3));
	KT_EQ(memcmp(got, "old", 3), 0);
	assert_true(kt_stats(m).tlb_stale > stale);
	KT_OK(km_vmap(m, hp, 4, &b));
	KT_EQ((uintptr_t)b, (uintptr_t)a + 5 * 4096);
	KT_EQ(ev.purges, 0);
	/* vm_unmap_aliases: one flush over a's range; now it is free */
	KT_OK(km_vm_unmap_aliases(m));
	KT_EQ(ev.purges, 1);
	KT_EQ(ev.last.reason, KM_PURGE_ALIASES);
	KT_EQ(ev.last.nr_areas, 1);
	KT_EQ(ev.last.nr_pages, 5);
	KT_EQ(ev.last.tlb_flush, 1);
	assert_ptr_equal(ev.last.start, a);
	KT_EQ((uintptr_t)ev.last.end, (uintptr_t)a + 5 * 4096);
	KT_RC(km_read(m, a, got, 3), -EFAULT);
	void *c;
	KT_OK(km_vmap(m, hp, 2, &c));
	assert_ptr_equal(c, a);
	/* nothing lazy: a purge with nothing to do flushes nothing */
	KT_OK(km_vm_unmap_aliases(m));
	KT_EQ(ev.purges, 2);
	KT_EQ(ev.last.nr_areas, 0);
	KT_EQ(ev.last.tlb_flush, 0);
	KT_EQ(kt_stats(m).vmap_purges, 1);
	KT_OK(km_vunmap(m, b));
	KT_OK(km_vunmap(m, c));
	KT_CHECK(m);
	free(hp);
	km_machine_destroy(m);
}

/* free_vmap_area_noflush(): once the lazily freed pages pass
 * lazy_max_pages (8192), every lazy area goes with one flush. */
static void purge_at_lazy_max(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32-pae", 4 * GiB, 0, 0, 0);
	struct km_layout l = kt_layout(m);
	struct evlog ev = { 0 };
	km_set_event_hook(m, on_event, &ev);
	km_page **hp = kt_pages(m, l.max_low_pfn, 1023);
	void *a[9];
	for (unsigned i = 0; i < 9; i++) {
		KT_OK(km_vmap(m, hp, 1023, &a[i]));
		KT_EQ((uintptr_t)a[i], l.vmalloc_start + i * 1024 * 4096ull);
	}
	for (unsigned i = 0; i < 8; i++)
		KT_OK(km_vunmap(m, a[i]));
	/* 8 x 1024 = 8192: not past it */
	KT_EQ(ev.purges, 0);
	KT_EQ(kt_stats(m).vmap_lazy_pages, 8192);
	KT_OK(km_vunmap(m, a[8]));
	KT_EQ(ev.purges, 1);
	KT_EQ(ev.last.reason, KM_PURGE_LAZY);
	KT_EQ(ev.last.nr_areas, 9);
	KT_EQ(ev.last.nr_pages, 9216);
	KT_EQ((uintptr_t)ev.last.start, l.vmalloc_start);
	KT_EQ((uintptr_t)ev.last.end, l.vmalloc_start + 9216 * 4096ull);
	struct km_stats s = kt_stats(m);
	KT_EQ(s.vmap_lazy_pages, 0);
	KT_EQ(s.vmap_purges, 1);
	KT_EQ(s.vmap_free_pages, (l.vmalloc_end - l.vmalloc_start) / 4096);
	/* all one free run again */
	KT_EQ(s.vmap_largest_free, s.vmap_free_pages);
	void *b;
	KT_OK(km_vmap(m, hp, 1, &b));
	KT_EQ((uintptr_t)b, l.vmalloc_start);
	KT_OK(km_vunmap(m, b));
	KT_CHECK(m);
	free(hp);
	km_machine_destroy(m);
}

/* alloc_vmap_area()'s overflow: no room, purge, retry; no room even then
 * is -ENOSPC with nothing changed. Fragmentation shows in the stats. */
static void no_room_purge_retry(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 2 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	unsigned total = (unsigned)((l.vmalloc_end - l.vmalloc_start) / 4096);
	KT_EQ(total, 30720); /* 120 MiB */
	struct evlog ev = { 0 };
	km_set_event_hook(m, on_event, &ev);
	km_page **hp = kt_pages(m, l.max_low_pfn, 8191);
	void *a[4];
	for (unsigned i = 0; i < 3; i++)
		KT_OK(km_vmap(m, hp, 8191, &a[i]));
	KT_OK(km_vmap(m, hp, total - 3 * 8192 - 1, &a[3]));
	struct km_stats s = kt_stats(m);
	KT_EQ(s.vmap_free_pages, 0);
	KT_EQ(s.vmap_largest_free, 0);
	/* full: a vmap purges (nothing lazy) and fails */
	void *x = (void *)1;
	KT_RC(km_vmap(m, hp, 1, &x), -ENOSPC);
	assert_ptr_equal(x, (void *)1);
	KT_EQ(ev.purges, 1);
	KT_EQ(ev.last.reason, KM_PURGE_NOROOM);
	KT_EQ(ev.last.nr_areas, 0);
	KT_EQ(kt_stats(m).vmap_nospace, 1);
	/* the second area goes lazily: 8192 pages, not past lazy_max */
	KT_OK(km_vunmap(m, a[1]));
	KT_EQ(ev.purges, 1);
	/* a vmap finds no room, purges the lazy area, and takes its start */
	void *b;
	KT_OK(km_vmap(m, hp, 100, &b));
	assert_ptr_equal(b, a[1]);
	KT_EQ(ev.purges, 2);
	KT_EQ(ev.last.reason, KM_PURGE_NOROOM);
	KT_EQ(ev.last.nr_areas, 1);
	KT_EQ(ev.last.nr_pages, 8192);
	/* fragmentation: 8091 pages free after b, none elsewhere */
	s = kt_stats(m);
	KT_EQ(s.vmap_free_pages, 8192 - 101);
	KT_EQ(s.vmap_largest_free, 8192 - 101);
	KT_RC(km_vmap(m, hp, 8191, &x), -ENOSPC);
	KT_EQ(kt_stats(m).vmap_nospace, 2);
	for (unsigned i = 0; i < 4; i++)
		if (i != 1)
			KT_OK(km_vunmap(m, a[i]));
	KT_OK(km_vunmap(m, b));
	KT_CHECK(m);
	free(hp);
	km_machine_destroy(m);
}

/* Misuse: reported, counted, nothing changed. */
static void errors_change_nothing(void **state)
{
	(void)state;
	km_machine *m = kt_machine("arm-virt", 1 * GiB, 0, 0, KM_CHECK);
	km_machine *other = kt_machine("arm-virt", 1 * GiB, 0, 0, 0);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.min_pfn, 0x40000);
	km_page **hp = kt_pages(m, l.max_low_pfn, 2);
	void *a, *x = NULL;
	KT_OK(km_vmap(m, hp, 2, &a));
	uint64_t errs = kt_stats(m).errors;
	KT_RC(km_vmap(m, hp, 0, &x), -EINVAL);
	KT_RC(km_vmap(m, NULL, 1, &x), -EINVAL);
	KT_RC(km_vmap(m, hp, 1, NULL), -EINVAL);
	KT_RC(km_vmap(NULL, hp, 1, &x), -EINVAL);
	km_page *foreign = km_pfn_to_page(other, l.max_low_pfn);
	KT_RC(km_vmap(m, &foreign, 1, &x), -EINVAL);
	/* more pages than the machine has */
	km_page **many = calloc(262145, sizeof(*many));
	assert_non_null(many);
	for (unsigned i = 0; i < 262145; i++)
		many[i] = hp[0];
	KT_RC(km_vmap(m, many, 262145, &x), -EINVAL);
	free(many);
	/* vunmap of what is not an area's start */
	KT_RC(km_vunmap(m, (char *)a + 4096), -KM_ENOAREA);
	KT_RC(km_vunmap(m, (char *)a + 2 * 4096), -KM_ENOAREA); /* guard */
	KT_RC(km_vunmap(m, (char *)a + 1), -KM_ENOAREA);
	KT_RC(km_vunmap(m, NULL), -KM_ENOAREA);
	KT_RC(km_vunmap(m, (void *)(uintptr_t)l.vmalloc_end), -KM_ENOAREA);
	KT_RC(km_vunmap(m, (void *)(uintptr_t)l.pkmap_base), -KM_ENOAREA);
	assert_string_equal(km_strerror(-KM_ENOAREA), "no vmap area at the address");
	KT_EQ(kt_stats(m).errors, errs + 11);
	/* vmap and vunmap may sleep: not inside kmap_atomic */
	void *la;
	KT_OK(km_kmap_atomic(m, hp[1], &la));
	KT_RC(km_vmap(m, hp, 1, &x), -KM_EATOMIC);
	KT_RC(km_vunmap(m, a), -KM_EATOMIC);
	KT_OK(km_kunmap_atomic(m, la));
	assert_null(x);
	struct km_stats s = kt_stats(m);
	KT_EQ(s.vmaps, 1);
	KT_EQ(s.vmap_areas, 1);
	/* a lazily freed area is no area: a second vunmap is refused */
	KT_OK(km_vunmap(m, a));
	KT_RC(km_vunmap(m, a), -KM_ENOAREA);
	KT_CHECK(m);
	free(hp);
	km_machine_destroy(other);
	km_machine_destroy(m);
}

/* Areas still mapped are leaks, listed after the other mappings. */
static void leaks_listed(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 2 * GiB, 0, 0, 0);
	struct km_layout l = kt_layout(m);
	km_page **hp = kt_pages(m, l.max_low_pfn + 5, 3);
	void *a, *b, *va;
	KT_OK(km_kmap(m, hp[0], &va));
	KT_OK(km_vmap(m, hp, 3, &a));
	KT_OK(km_vmap(m, hp + 1, 1, &b));
	struct km_leak lk[4];
	KT_EQ(km_leaks(m, lk, 4), 3);
	KT_EQ(lk[0].vmap, 0);
	KT_EQ(lk[0].users, 1);
	KT_EQ(lk[1].vmap, 1);
	assert_ptr_equal(lk[1].addr, a);
	KT_EQ(lk[1].pages, 3);
	KT_EQ(lk[1].pfn, l.max_low_pfn + 5);
	KT_EQ(lk[2].vmap, 1);
	assert_ptr_equal(lk[2].addr, b);
	KT_EQ(lk[2].pfn, l.max_low_pfn + 6);
	KT_EQ(km_leaks(m, NULL, 0), 3);
	KT_OK(km_vunmap(m, a));
	KT_EQ(km_leaks(m, lk, 4), 2);
	KT_OK(km_vunmap(m, b));
	KT_OK(km_kunmap(m, hp[0]));
	KT_EQ(km_leaks(m, lk, 4), 0);
	free(hp);
	km_machine_destroy(m);
}

/* A backend error while mapping an area: nothing is left mapped. */
static void backend_fault(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 2 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	km_page **hp = kt_pages(m, l.max_low_pfn, 5);
	void *be = km__machine_backend(m);
	struct km__sim_faults f = { .fail_at = 3, .kinds = KM_SIM_FAULT_MAP };
	km__sim_set_faults(be, &f);
	void *a;
	KT_RC(km_vmap(m, hp, 5, &a), -EIO);
	struct km__sim_faults none = { 0 };
	km__sim_set_faults(be, &none);
	struct km_stats s = kt_stats(m);
	KT_EQ(s.vmaps, 0);
	KT_EQ(s.vmap_areas, 0);
	KT_EQ(s.vmap_lazy_pages, 0);
	KT_EQ(s.vmap_free_pages, 30720);
	KT_OK(km_vmap(m, hp, 5, &a));
	KT_EQ((uintptr_t)a, l.vmalloc_start);
	/* clearing fails: the vunmap changes nothing and may be retried */
	f = (struct km__sim_faults){ .always = KM_SIM_FAULT_CLEAR };
	km__sim_set_faults(be, &f);
	KT_RC(km_vunmap(m, a), -EIO);
	KT_EQ(kt_stats(m).vmap_areas, 1);
	km__sim_set_faults(be, &none);
	KT_OK(km_vunmap(m, a));
	/* the PTEs set cannot be cleared either: the area (and its guard)
	 * waits for a purge, not taken again before it */
	KT_OK(km_vm_unmap_aliases(m));
	f = (struct km__sim_faults){ .fail_at = 3, .kinds = KM_SIM_FAULT_MAP,
	                             .always = KM_SIM_FAULT_CLEAR };
	km__sim_set_faults(be, &f);
	KT_RC(km_vmap(m, hp, 5, &a), -EIO);
	km__sim_set_faults(be, &none);
	s = kt_stats(m);
	KT_EQ(s.vmaps, 1);
	KT_EQ(s.vmap_areas, 0);
	KT_EQ(s.vmap_lazy_pages, 6);
	KT_CHECK(m);
	KT_OK(km_vmap(m, hp, 5, &a));
	KT_EQ((uintptr_t)a, l.vmalloc_start + 6 * 4096);
	KT_OK(km_vunmap(m, a));
	KT_OK(km_vm_unmap_aliases(m));
	KT_EQ(kt_stats(m).vmap_lazy_pages, 0);
	KT_OK(km_vmap(m, hp, 5, &a));
	KT_EQ((uintptr_t)a, l.vmalloc_start);
	KT_OK(km_vunmap(m, a));
	KT_CHECK(m);
	free(hp);
	km_machine_destroy(m);
}

/*
 * Real memory: records that span pages which are far apart in the memory
 * file (physical memory) are read and written in place through one vmap;
 * a run of consecutive pages takes one mmap; vunmap leaves the pages
 * mapped until the purge, which unmaps all lazily cleared runs.
 */
static void host_record_across_pages(void **state)
{
	(void)state;
	km_machine *m = kt_host_machine(NULL, 64 * MiB, 4 * MiB, 8 * MiB);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.vmalloc_end - l.vmalloc_start, 8 * MiB);
	/* the vmalloc area lies just below the window */
	KT_EQ(l.vmalloc_end, l.pkmap_base);
	static const uint64_t pfns[3] = { 9000, 2000, 12345 };
	const char rec[] = "a record of 60 bytes that starts 20 bytes before a page end";
	size_t len = sizeof(rec) - 1;
	km_page *p[3];
	kt_pages_at(m, pfns, 3, p);
	kt_record_across(m, p[0], p[1], rec, len, 20);
	void *a;
	KT_OK(km_vmap(m, p, 3, &a));
	KT_EQ((uintptr_t)a, l.vmalloc_start);
	/* in place: a plain pointer */
	const char *r = (const char *)a + 4096 - 20;
	KT_EQ(memcmp(r, rec, len), 0);
	/* written through the area, seen in the pages */
	memcpy((char *)a + 2 * 4096 - 4, "WXYZabcd", 8);
	char got[8];
	KT_OK(km_memcpy_from_page(m, got, p[1], 4096 - 4, 4));
	KT_OK(km_memcpy_from_page(m, got + 4, p[2], 0, 4));
	KT_EQ(memcmp(got, "WXYZabcd", 8), 0);

	/* 256 consecutive pages (1 MiB) take one mmap */
	km_page **run = kt_pages(m, 4096, 256);
	uint64_t maps0, unmaps0, maps1, unmaps1;
	km__host_counts(km__machine_backend(m), &maps0, &unmaps0);
	void *b;
	KT_OK(km_vmap(m, run, 256, &b));
	km__host_counts(km__machine_backend(m), &maps1, &unmaps1);
	KT_EQ(maps1 - maps0, 1);
	KT_EQ((uintptr_t)b, (uintptr_t)a + 4 * 4096);
	((char *)b)[255 * 4096 + 7] = 42;
	KT_OK(km_memcpy_from_page(m, got, run[255], 7, 1));
	KT_EQ(got[0], 42);
	/* vunmap: no munmap yet; the purge unmaps both areas' runs with one
	 * call, a's guard page between them included */
	km__host_counts(km__machine_backend(m), &maps1, &unmaps1);
	KT_OK(km_vunmap(m, a));
	KT_OK(km_vunmap(m, b));
	km__host_counts(km__machine_backend(m), &maps0, &unmaps0);
	KT_EQ(unmaps0, unmaps1);
	KT_OK(km_vm_unmap_aliases(m));
	km__host_counts(km__machine_backend(m), &maps1, &unmaps1);
	KT_EQ(unmaps1 - unmaps0, 1);
	void *c;
	KT_OK(km_vmap(m, p, 1, &c));
	assert_ptr_equal(c, a);
	KT_EQ(memcmp((const char *)c + 4096 - 20, rec, 20), 0);
	KT_OK(km_vunmap(m, c));
	free(run);
	km_machine_destroy(m);
}

/*
 * The seeds' case on the host: memory past what a 32-bit process can
 * address (6 GiB, a sparse memfd), a record that spans two pages above
 * 4 GiB that are not neighbours in physical memory, read in place through
 * one vmap and with km_read; after vunmap the address is refused, purged
 * or not.
 */
static void host_record_above_4g(void **state)
{
	(void)state;
	/* x86-32-pae: more than 4 GiB of physical memory */
	km_machine *m = kt_host_machine("x86-32-pae", 6 * GiB, 4 * MiB, 4 * MiB);
	/* 4.5 GiB and 5.25 GiB: both past 32 bits of physical address */
	const uint64_t pfns[2] = { (4 * GiB + GiB / 2) >> 12,
	                           (5 * GiB + GiB / 4) >> 12 };
	static const char rec[] = "name=kmap;size=0x1000;start=4.5GiB;continued on a far page";
	size_t len = sizeof(rec) - 1, head = 25;
	km_page *p[2];
	kt_pages_at(m, pfns, 2, p);
	kt_record_across(m, p[0], p[1], rec, len, head);
	void *a;
	KT_OK(km_vmap(m, p, 2, &a));
	const char *r = (const char *)a + 4096 - head;
	KT_EQ(memcmp(r, rec, len), 0); /* a plain pointer, in place */
	char got[sizeof(rec)] = { 0 };
	KT_OK(km_read(m, r, got, len));
	KT_EQ(memcmp(got, rec, len), 0);
	assert_ptr_equal(km_vmalloc_to_page(m, r + head), p[1]);
	/* lazily freed: the host still maps it, km_read does not go there */
	KT_OK(km_vunmap(m, a));
	KT_EQ(km_read(m, r, got, 1), -EFAULT);
	KT_OK(km_vm_unmap_aliases(m));
	KT_EQ(km_read(m, r, got, 1), -EFAULT);
	km_machine_destroy(m);
}

/* vmalloc_bytes is the host backend's; the simulated machine refuses it */
static void host_only_vmalloc_bytes(void **state)
{
	(void)state;
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.vmalloc_bytes = 8 * MiB;
	char msg[128];
	KT_RC(km_config_check(&cfg, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "host backend"));
	cfg.backend = KM_BACKEND_HOST;
	cfg.vmalloc_bytes = 8 * MiB + 1;
	KT_RC(km_config_check(&cfg, msg, sizeof(msg)), -EINVAL);
	cfg.vmalloc_bytes = 2 * GiB;
	KT_RC(km_config_check(&cfg, msg, sizeof(msg)), -EINVAL);
	cfg.vmalloc_bytes = 0;
	cfg.mem_bytes = 16 * MiB;
	km_machine *m = kt_machine_cfg(&cfg);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.vmalloc_end - l.vmalloc_start, 64 * MiB);
	km_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KT_TEST(first_fit_and_guard),
		KT_TEST(lazy_range_not_reused),
		KT_TEST(purge_at_lazy_max),
		KT_TEST(no_room_purge_retry),
		KT_TEST(errors_change_nothing),
		KT_TEST(leaks_listed),
		KT_TEST(backend_fault),
		KT_TEST(host_record_across_pages),
		KT_TEST(host_record_above_4g),
		KT_TEST(host_only_vmalloc_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
