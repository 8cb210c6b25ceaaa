/*
 * test_vm_map_ram.c - vm_map_ram and vm_unmap_ram on the simulated
 * machine, as Linux 6.1 does them: pieces of per-CPU vmap blocks (the
 * block size from NR_CPUS, power-of-two pieces from the block's front, no
 * guard page), an area of its own above VMAP_MAX_ALLOC pages, the dirty
 * pieces and when their TLB flush happens (the block all dirty, a purge
 * that finds nothing mapped in it, vm_unmap_aliases and its dirty range),
 * one queue of blocks per CPU (threads), misuse refused with nothing
 * changed, leaks, a backend error while mapping; on the host backend, a
 * record read in place.
 */
#define _FILE_OFFSET_BITS 64
#include "ktest.h"

#include "user.h"
#include "backend/sim.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)
#define PG 4096u

struct evlog {
	unsigned purges;
	struct km_event last;
	struct km_vrange ranges[8];
};

static void on_event(void *arg, const struct km_event *ev)
{
	struct evlog *l = arg;
	if (ev->type != KM_EV_PURGE)
		return;
	l->purges++;
	l->last = *ev;
	for (unsigned i = 0; i < ev->nr_areas && i < 8; i++)
		l->ranges[i] = ev->areas[i];
	l->last.areas = NULL; /* readable during the call only */
}

/* VMAP_BBMAP_BITS = clamp(32768 / roundup_pow_of_two(NR_CPUS) / 16,
 * 64, 1024): the kernel's formula over each profile's NR_CPUS. */
static void block_size_from_nr_cpus(void **state)
{
	(void)state;
	static const struct { const char *profile; unsigned pages; } want[] = {
		{ "x86-32", 64 },      /* NR_CPUS=32: 64, the minimum */
		{ "x86-32-pae", 64 },
		{ "arm", 256 },        /* NR_CPUS=8: 32768 / 8 / 16 */
		{ "arm-virt", 256 },
		{ "arm-marvell", 1024 }, /* NR_CPUS=1: 2048, clamped */
	};
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		km_machine *m = kt_machine(want[i].profile, 0, 0, 0, 0);
		struct km_layout l = kt_layout(m);
		KT_EQ(l.vmap_block_pages, want[i].pages);
		KT_EQ(l.vmap_max_alloc, 32);
		km_machine_destroy(m);
	}
	/* NR_CPUS=3 rounds up to 4: 32768 / 4 / 16 = 512 */
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.profile = "arm";
	cfg.nr_cpus = 3;
	km_machine *m = kt_machine_cfg(&cfg);
	KT_EQ(kt_layout(m).vmap_block_pages, 512);
	km_machine_destroy(m);
}

/*
 * x86-32 with 2 GiB: VMALLOC_START 0xf73fe000, so the first block (64
 * pages, 256 KiB, aligned to its size) starts at 0xf7400000; pieces come
 * from its front, rounded to a power of two; a vmap still takes the two
 * pages below it; 33 pages take an area of their own, with no guard.
 */
static void pieces_of_a_block(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 2 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.vmalloc_start, 0xf73fe000);
	km_page **hp = kt_pages(m, l.max_low_pfn + 10, 40);
	void *a, *b, *c, *v, *big, *w;
	KT_OK(km_vm_map_ram(m, hp, 1, &a));
	KT_EQ((uintptr_t)a, 0xf7400000);
	KT_OK(km_vm_map_ram(m, hp + 1, 3, &b)); /* a piece of 4 */
	KT_EQ((uintptr_t)b, 0xf7401000);
	KT_OK(km_vm_map_ram(m, hp + 4, 1, &c));
	KT_EQ((uintptr_t)c, 0xf7405000);
	KT_OK(km_vmap(m, hp, 1, &v));           /* 1 page and its guard */
	KT_EQ((uintptr_t)v, 0xf73fe000);
	KT_OK(km_vm_map_ram(m, hp, 33, &big));  /* its own area */
	KT_EQ((uintptr_t)big, 0xf7440000);
	KT_OK(km_vmap(m, hp, 1, &w));           /* right after: no guard */
	KT_EQ((uintptr_t)w, 0xf7440000 + 33 * PG);
	for (unsigned i = 0; i < 3; i++)
		assert_ptr_equal(km_vmalloc_to_page(m, (char *)b + i * PG),
		                 hp[1 + i]);
	assert_null(km_vmalloc_to_page(m, (char *)b + 3 * PG)); /* rounding */
	assert_ptr_equal(km_vmalloc_to_page(m, (char *)big + 32 * PG), hp[32]);

	/* a record across the piece's pages, read back page by page */
	char rec[64], got[64];
	for (unsigned i = 0; i < sizeof(rec); i++)
		rec[i] = (char)('a' + i % 26);
	KT_OK(km_write(m, (char *)b + 2 * PG - 30, rec, sizeof(rec)));
	KT_OK(km_memcpy_from_page(m, got, hp[2], PG - 30, 30));
	KT_OK(km_memcpy_from_page(m, got + 30, hp[3], 0, 34));
	KT_EQ(memcmp(got, rec, sizeof(rec)), 0);

	struct km_stats s = kt_stats(m);
	KT_EQ(s.vm_map_rams, 4);
	KT_EQ(s.vmap_blocks, 1);
	KT_EQ(s.vmaps, 2);
	KT_EQ(s.vmap_areas, 2);   /* vmap areas only */
	KT_EQ(s.vmap_free_pages, 30720 - 2 - 64 - 33 - 2);
	KT_CHECK(m);

	struct km_leak lk[8];
	KT_EQ(km_leaks(m, lk, 8), 6);
	/* by address: the vmap, the three pieces, the area, the vmap */
	assert_ptr_equal(lk[0].addr, v);
	assert_ptr_equal(lk[1].addr, a);
	KT_EQ(lk[1].pages, 1);
	assert_ptr_equal(lk[2].addr, b);
	KT_EQ(lk[2].pages, 3);
	KT_EQ(lk[2].pfn, l.max_low_pfn + 11);
	assert_ptr_equal(lk[4].addr, big);
	KT_EQ(lk[4].pages, 33);

	KT_OK(km_vm_unmap_ram(m, a, 1));
	KT_OK(km_vm_unmap_ram(m, b, 3));
	KT_OK(km_vm_unmap_ram(m, c, 1));
	KT_OK(km_vm_unmap_ram(m, big, 33));
	KT_OK(km_vunmap(m, v));
	KT_OK(km_vunmap(m, w));
	s = kt_stats(m);
	KT_EQ(s.vm_unmap_rams, 4);
	KT_EQ(s.vmap_blocks, 1);  /* 6 pages dirty, 58 free: held */
	KT_EQ(s.vmap_lazy_pages, 33 + 2 + 2);
	KT_EQ(km_leaks(m, lk, 8), 0);
	KT_CHECK(m);
	free(hp);
	km_machine_destroy(m);
}

/*
 * The TLB flush of an unmapped piece waits: no purge at vm_unmap_ram; the
 * block, once every page of it is dirty, is lazily freed; the purge
 * (vm_unmap_aliases here) releases it with one flush over it.
 */
static void block_all_dirty_is_freed(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 2 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	struct evlog ev = { 0 };
	km_set_event_hook(m, on_event, &ev);
	km_page **hp = kt_pages(m, l.max_low_pfn, 32);
	void *a, *b;
	KT_OK(km_vm_map_ram(m, hp, 32, &a));
	KT_OK(km_vm_map_ram(m, hp, 30, &b)); /* a piece of 32: block full */
	KT_EQ((uintptr_t)b, (uintptr_t)a + 32 * PG);
	KT_OK(km_vm_unmap_ram(m, a, 32));
	KT_EQ(ev.purges, 0);
	assert_null(km_vmalloc_to_page(m, a));
	KT_EQ(kt_stats(m).vmap_blocks, 1);
	KT_OK(km_vm_unmap_ram(m, b, 30));
	KT_EQ(ev.purges, 0);
	struct km_stats s = kt_stats(m);
	KT_EQ(s.vmap_blocks, 0);
	KT_EQ(s.vmap_lazy_pages, 64);
	/* the next block goes above: the freed one is not free yet */
	void *c;
	KT_OK(km_vm_map_ram(m, hp, 1, &c));
	KT_EQ((uintptr_t)c, (uintptr_t)a + 64 * PG);
	KT_OK(km_vm_unmap_ram(m, c, 1));
	KT_OK(km_vm_unmap_aliases(m));
	KT_EQ(ev.purges, 1);
	KT_EQ(ev.last.reason, KM_PURGE_ALIASES);
	/* the full block lazily freed, and the second one, fragmented
	 * (nothing mapped, 63 pages never used), released by the purge */
	KT_EQ(ev.last.nr_areas, 2);
	assert_ptr_equal(ev.ranges[0].start, a);
	assert_ptr_equal(ev.ranges[0].end, (char *)a + 64 * PG);
	assert_ptr_equal(ev.ranges[1].start, c);
	assert_ptr_equal(ev.ranges[1].end, (char *)c + 64 * PG);
	KT_EQ(ev.last.tlb_flush, 1);
	assert_ptr_equal(ev.last.start, a);
	assert_ptr_equal(ev.last.end, (char *)a + 128 * PG);
	s = kt_stats(m);
	KT_EQ(s.vmap_lazy_pages, 0);
	KT_EQ(s.vmap_blocks, 0);
	KT_EQ(s.vmap_free_pages, 30720);
	/* free again: the next block takes the first place */
	KT_OK(km_vm_map_ram(m, hp, 1, &c));
	assert_ptr_equal(c, a);
	KT_OK(km_vm_unmap_ram(m, c, 1));
	KT_CHECK(m);
	free(hp);
	km_machine_destroy(m);
}

/*
 * vm_unmap_aliases() flushes the dirty range of a block that still maps
 * something (and, as 6.1 does, again at the next call: the range is not
 * forgotten), but not that of a block with no free pages, which is off
 * its CPU's queue (6.1; fixed in 6.5).
 */
static void aliases_flush_dirty_ranges(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 2 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	struct evlog ev = { 0 };
	km_set_event_hook(m, on_event, &ev);
	km_page **hp = kt_pages(m, l.max_low_pfn, 32);
	void *p[4];
	for (unsigned i = 0; i < 4; i++)
		KT_OK(km_vm_map_ram(m, hp, 2, &p[i]));
	KT_OK(km_vm_unmap_ram(m, p[1], 2));
	KT_OK(km_vm_unmap_ram(m, p[2], 2));
	for (unsigned round = 1; round <= 2; round++) {
		KT_OK(km_vm_unmap_aliases(m));
		KT_EQ(ev.purges, round);
		KT_EQ(ev.last.nr_areas, 0);
		KT_EQ(ev.last.tlb_flush, 1);
		assert_ptr_equal(ev.last.start, p[1]);
		assert_ptr_equal(ev.last.end, (char *)p[2] + 2 * PG);
	}
	KT_EQ(kt_stats(m).vmap_blocks, 1);
	KT_EQ(kt_stats(m).vmap_purges, 0); /* nothing released */
	/* fill the block: it leaves the queue, and its dirt is not seen */
	void *rest;
	KT_OK(km_vm_map_ram(m, hp, 32, &rest));
	KT_OK(km_vm_map_ram(m, hp, 16, &rest));
	KT_OK(km_vm_map_ram(m, hp, 8, &rest));
	void *next;
	KT_OK(km_vm_map_ram(m, hp, 1, &next)); /* a second block */
	KT_EQ((uintptr_t)next, (uintptr_t)p[0] + 64 * PG);
	KT_OK(km_vm_unmap_aliases(m));
	KT_EQ(ev.last.tlb_flush, 0);
	KT_EQ(kt_stats(m).vmap_blocks, 2);
	KT_CHECK(m);
	free(hp);
	km_machine_destroy(m);
}

/* A vm_map_ram that finds no room for a block purges (lazy areas and
 * fragmented blocks) and tries once more, as alloc_vmap_area() does. */
static void no_room_purges(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 2 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	struct evlog ev = { 0 };
	km_set_event_hook(m, on_event, &ev);
	km_page **hp = kt_pages(m, l.max_low_pfn, 8);
	km_page **many = calloc(30000, sizeof(*many));
	assert_non_null(many);
	for (unsigned i = 0; i < 30000; i++)
		many[i] = hp[i % 8];
	void *big, *mid, *x = NULL;
	/* 30001 pages from 0xf73fe000, then 701: 18 pages free at the end */
	KT_OK(km_vmap(m, many, 30000, &big));
	KT_OK(km_vmap(m, many, 700, &mid));
	KT_EQ(kt_stats(m).vmap_free_pages, 18);
	/* no room for a block (64 pages, aligned): a purge, nothing lazy */
	KT_RC(km_vm_map_ram(m, hp, 1, &x), -ENOSPC);
	assert_null(x);
	KT_EQ(ev.purges, 1);
	KT_EQ(ev.last.reason, KM_PURGE_NOROOM);
	KT_EQ(kt_stats(m).vmap_nospace, 1);
	/* 33 pages do not fit in 18 either */
	KT_RC(km_vm_map_ram(m, many, 33, &x), -ENOSPC);
	KT_OK(km_vunmap(m, mid));
	KT_EQ(ev.purges, 2);
	/* now the purge frees mid's 701 pages and the block goes there, at
	 * its first address aligned to 256 KiB */
	KT_OK(km_vm_map_ram(m, hp, 1, &x));
	KT_EQ(ev.purges, 3);
	KT_EQ(ev.last.nr_areas, 1);
	uintptr_t want = ((uintptr_t)mid + 0x3ffff) & ~(uintptr_t)0x3ffff;
	KT_EQ((uintptr_t)x, want);
	KT_OK(km_vm_unmap_ram(m, x, 1));
	KT_OK(km_vunmap(m, big));
	KT_CHECK(m);
	free(many);
	free(hp);
	km_machine_destroy(m);
}

/* Each thread is a CPU with its own queue of blocks (raw_cpu_ptr). */
struct cpu_arg {
	km_machine *m;
	km_page **pages;
	void *addr[2];
	pthread_barrier_t *bar;
};

static void *cpu_thread(void *arg)
{
	struct cpu_arg *c = arg;
	if (km_vm_map_ram(c->m, c->pages, 1, &c->addr[0]))
		return (void *)1;
	pthread_barrier_wait(c->bar);
	if (km_vm_map_ram(c->m, c->pages, 1, &c->addr[1]))
		return (void *)1;
	pthread_barrier_wait(c->bar);
	if (km_vm_unmap_ram(c->m, c->addr[0], 1) ||
	    km_vm_unmap_ram(c->m, c->addr[1], 1))
		return (void *)1;
	return NULL;
}

static void per_cpu_blocks(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 2 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	km_page **hp = kt_pages(m, l.max_low_pfn, 1);
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, 2);
	struct cpu_arg c[2] = { { m, hp, { 0 }, &bar }, { m, hp, { 0 }, &bar } };
	pthread_t th[2];
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, cpu_thread, &c[i]), 0);
	for (unsigned i = 0; i < 2; i++) {
		void *rv;
		assert_int_equal(pthread_join(th[i], &rv), 0);
		assert_null(rv);
	}
	/* two blocks, one a CPU; each thread's second piece follows its
	 * first in its own block */
	uintptr_t b0 = (uintptr_t)c[0].addr[0] & ~(uintptr_t)0x3ffff;
	uintptr_t b1 = (uintptr_t)c[1].addr[0] & ~(uintptr_t)0x3ffff;
	assert_true(b0 != b1);
	KT_EQ((uintptr_t)c[0].addr[0], b0);
	KT_EQ((uintptr_t)c[1].addr[0], b1);
	KT_EQ((uintptr_t)c[0].addr[1], b0 + PG);
	KT_EQ((uintptr_t)c[1].addr[1], b1 + PG);
	KT_EQ(kt_stats(m).vmap_blocks, 2);
	KT_CHECK(m);
	pthread_barrier_destroy(&bar);
	free(hp);
	km_machine_destroy(m);
}

/* Misuse is refused and changes nothing. */
static void errors_change_nothing(void **state)
{
	(void)state;
	km_machine *m = kt_machine("arm", 1 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	km_page **hp = kt_pages(m, l.max_low_pfn, 40);
	void *a, *big, *v, *x = NULL;
	KT_OK(km_vm_map_ram(m, hp, 3, &a));
	KT_OK(km_vm_map_ram(m, hp, 40, &big));
	KT_OK(km_vmap(m, hp, 2, &v));
	struct km_stats before = kt_stats(m);
	KT_RC(km_vm_map_ram(m, hp, 0, &x), -EINVAL);
	KT_RC(km_vm_map_ram(m, NULL, 1, &x), -EINVAL);
	KT_RC(km_vm_map_ram(m, hp, 1, NULL), -EINVAL);
	KT_RC(km_vm_map_ram(NULL, hp, 1, &x), -EINVAL);
	km_page *bogus[1] = { (km_page *)(void *)&x };
	KT_RC(km_vm_map_ram(m, bogus, 1, &x), -EINVAL);
	/* not the count it was mapped with, not its start, not this kind */
	KT_RC(km_vm_unmap_ram(m, a, 4), -KM_ENOAREA);
	KT_RC(km_vm_unmap_ram(m, a, 2), -KM_ENOAREA);
	KT_RC(km_vm_unmap_ram(m, a, 0), -KM_ENOAREA);
	KT_RC(km_vm_unmap_ram(m, (char *)a + PG, 2), -KM_ENOAREA);
	KT_RC(km_vm_unmap_ram(m, (char *)a + 1, 3), -KM_ENOAREA);
	KT_RC(km_vm_unmap_ram(m, big, 39), -KM_ENOAREA);
	KT_RC(km_vm_unmap_ram(m, big, 41), -KM_ENOAREA);
	KT_RC(km_vm_unmap_ram(m, v, 2), -KM_ENOAREA);
	KT_RC(km_vm_unmap_ram(m, NULL, 1), -KM_ENOAREA);
	KT_RC(km_vm_unmap_ram(m, (void *)(uintptr_t)l.vmalloc_end, 1),
	      -KM_ENOAREA);
	KT_RC(km_vunmap(m, a), -KM_ENOAREA);
	KT_RC(km_vunmap(m, big), -KM_ENOAREA);
	/* may sleep: not inside kmap_atomic */
	void *la;
	KT_OK(km_kmap_atomic(m, hp[0], &la));
	KT_RC(km_vm_map_ram(m, hp, 1, &x), -KM_EATOMIC);
	KT_RC(km_vm_unmap_ram(m, a, 3), -KM_EATOMIC);
	KT_RC(km_vm_unmap_aliases(m), -KM_EATOMIC);
	KT_OK(km_kunmap_atomic(m, la));
	assert_null(x);
	struct km_stats s = kt_stats(m);
	KT_EQ(s.errors, before.errors + 19); /* not the NULL machine */
	KT_EQ(s.vm_map_rams, before.vm_map_rams);
	KT_EQ(s.vm_unmap_rams, 0);
	KT_EQ(s.vmap_blocks, 1);
	KT_EQ(s.vmap_free_pages, before.vmap_free_pages);
	KT_CHECK(m);
	/* unmapped once; a second time is refused */
	KT_OK(km_vm_unmap_ram(m, a, 3));
	KT_RC(km_vm_unmap_ram(m, a, 3), -KM_ENOAREA);
	KT_OK(km_vm_unmap_ram(m, big, 40));
	KT_RC(km_vm_unmap_ram(m, big, 40), -KM_ENOAREA);
	KT_OK(km_vunmap(m, v));
	KT_CHECK(m);
	free(hp);
	km_machine_destroy(m);
}

/*
 * A backend error while mapping: nothing stays mapped, and the range goes
 * as vm_unmap_ram() of the half-made mapping would: the piece dirty in
 * its block (the next piece comes after it; vm_unmap_aliases flushes it),
 * an area of its own lazily freed (not taken again before the purge).
 */
static void backend_fault(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 2 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	struct evlog ev = { 0 };
	km_set_event_hook(m, on_event, &ev);
	km_page **hp = kt_pages(m, l.max_low_pfn, 40);
	void *be = km__machine_backend(m);
	/* the third page's PTE fails (one set_pte a page on the sim) */
	struct km__sim_faults f = { .fail_at = 3, .kinds = KM_SIM_FAULT_MAP };
	struct km__sim_faults none = { 0 };
	void *a = NULL, *b;
	km__sim_set_faults(be, &f);
	KT_RC(km_vm_map_ram(m, hp, 3, &a), -EIO);
	assert_null(a);
	km__sim_set_faults(be, &none);
	struct km_stats s = kt_stats(m);
	KT_EQ(s.vm_map_rams, 0);
	KT_EQ(s.vmap_blocks, 1);
	KT_EQ(s.vmap_lazy_pages, 0);
	assert_null(km_vmalloc_to_page(m, (void *)0xf7400000));
	KT_CHECK(m);
	KT_OK(km_vm_map_ram(m, hp, 1, &b));
	KT_EQ((uintptr_t)b, 0xf7400000 + 4 * PG); /* past the dirty 4 */
	KT_OK(km_vm_unmap_aliases(m));
	KT_EQ(ev.last.tlb_flush, 1);
	KT_EQ((uintptr_t)ev.last.start, 0xf7400000);
	KT_EQ((uintptr_t)ev.last.end, 0xf7400000 + 4 * PG);

	/* 33 pages: an area of its own, after the block */
	km__sim_set_faults(be, &f);
	KT_RC(km_vm_map_ram(m, hp, 33, &a), -EIO);
	assert_null(a);
	km__sim_set_faults(be, &none);
	s = kt_stats(m);
	KT_EQ(s.vm_map_rams, 1);
	KT_EQ(s.vmap_lazy_pages, 33);
	KT_CHECK(m);
	KT_OK(km_vm_map_ram(m, hp, 33, &a));
	KT_EQ((uintptr_t)a, 0xf7440000 + 33 * PG);
	KT_OK(km_vm_unmap_ram(m, a, 33));
	KT_OK(km_vm_unmap_ram(m, b, 1));
	KT_OK(km_vm_unmap_aliases(m));
	s = kt_stats(m);
	KT_EQ(s.vmap_lazy_pages, 0);
	KT_EQ(s.vmap_blocks, 0); /* nothing mapped in it: purged */
	KT_EQ(s.vmap_free_pages, 30720);
	KT_CHECK(m);
	free(hp);
	km_machine_destroy(m);
}

/* Real memory: a record that spans pages far apart in the memory file is
 * read in place through one vm_map_ram piece. */
static void host_record_in_place(void **state)
{
	(void)state;
	km_machine *m = kt_host_machine(NULL, 64 * MiB, 4 * MiB, 8 * MiB);
	static const uint64_t pfns[2] = { 9000, 2000 };
	const char rec[] = "forty bytes across two pages, in place!";
	size_t len = sizeof(rec) - 1;
	km_page *p[2];
	kt_pages_at(m, pfns, 2, p);
	kt_record_across(m, p[0], p[1], rec, len, 20);
	void *a;
	KT_OK(km_vm_map_ram(m, p, 2, &a));
	KT_EQ(memcmp((char *)a + PG - 20, rec, len), 0);
	char got[64];
	KT_OK(km_read(m, (char *)a + PG - 20, got, len));
	KT_EQ(memcmp(got, rec, len), 0);
	KT_OK(km_vm_unmap_ram(m, a, 2));
	KT_RC(km_read(m, (char *)a + PG - 20, got, len), -EFAULT);
	KT_OK(km_vm_unmap_aliases(m));
	KT_CHECK(m);
	km_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KT_TEST(block_size_from_nr_cpus),
		KT_TEST(pieces_of_a_block),
		KT_TEST(block_all_dirty_is_freed),
		KT_TEST(aliases_flush_dirty_ranges),
		KT_TEST(no_room_purges),
		KT_TEST(per_cpu_blocks),
		KT_TEST(errors_change_nothing),
		KT_TEST(backend_fault),
		KT_TEST(host_record_in_place),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
