/*
 * fuzz_api.c - libFuzzer target: random sequences of API calls on the
 * simulated backend, every policy, with the expensive invariant check
 * (KM_CHECK: counts against the hash, the page tables and the TLB model)
 * after every call, and every page's bytes checked against a shadow copy.
 *
 * The input drives a small machine: byte 0 picks the policy, the window
 * (2..16 slots), colours and profile; then each op byte picks a call and
 * the bytes after it its arguments. Three simulated tasks take turns, so a
 * full window puts a task to sleep instead of blocking the fuzzer.
 */
#include <kmap.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NPAGES 24   /* highmem pages in play */
#define NTASKS 3

struct fz {
	const uint8_t *p, *end;
	km_machine *m;
	struct km_layout l;
	km_task *task[NTASKS];
	int cur;
	uint64_t sleep_pfn[NTASKS];
	/* each task's local addresses, bottom first: at most KM_LOCAL_MAX on
	 * the stack, and pkmap ones beside them (the fuzzer stops at MAXLOC) */
#define MAXLOC 64
	void *local[NTASKS][MAXLOC];
	uint64_t local_pfn[NTASKS][MAXLOC];
	/* a pkmap address (kmap_high_get's reuse, Kirkwood): a user of the
	 * page's slot, given back by any kunmap_local, in any order */
	bool local_pk[NTASKS][MAXLOC];
	int nlocal[NTASKS];
	uint8_t shadow[NPAGES + 1][8]; /* first bytes of each page; [NPAGES]: lowmem */
};

static unsigned next(struct fz *f)
{
	return f->p < f->end ? *f->p++ : 0;
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz_api: %s\n", what);
	abort();
}

/* page index i (0..NPAGES-1 highmem, NPAGES a lowmem page, more: beyond) */
static uint64_t pfn_of(struct fz *f, unsigned i)
{
	if (i < NPAGES)
		return f->l.max_low_pfn + i;
	if (i == NPAGES)
		return 300;
	return f->l.max_pfn + i;
}

static int index_of(struct fz *f, uint64_t pfn)
{
	if (pfn >= f->l.max_low_pfn && pfn < f->l.max_low_pfn + NPAGES)
		return (int)(pfn - f->l.max_low_pfn);
	return pfn == 300 ? NPAGES : -1;
}

/* read the first 8 bytes through @va and compare with the shadow */
static void verify(struct fz *f, void *va, uint64_t pfn)
{
	uint8_t got[8];
	int i = index_of(f, pfn);
	if (i < 0)
		return;
	if (km_read(f->m, va, got, 8))
		die("read through a live mapping failed");
	if (memcmp(got, f->shadow[i], 8))
		die("wrong bytes through a mapping");
}

static void write_through(struct fz *f, void *va, uint64_t pfn, uint8_t v)
{
	int i = index_of(f, pfn);
	if (i < 0)
		return;
	memset(f->shadow[i], v, 8);
	if (km_write(f->m, va, f->shadow[i], 8))
		die("write through a live mapping failed");
}

static void switch_to(struct fz *f, int t)
{
	if (km_task_state(f->m, f->task[t]) != KM_TASK_RUNNING)
		return;
	if (km_task_switch(f->m, f->task[t]))
		die("task switch failed");
	f->cur = t;
}

static void do_kmap(struct fz *f, uint64_t pfn, uint8_t v)
{
	km_page *pg = km_pfn_to_page(f->m, pfn);
	void *va;
	if (!pg)
		return;
	int r = km_kmap(f->m, pg, &va);
	if (r == -KM_ESLEEPING) {
		f->sleep_pfn[f->cur] = pfn;
		return;
	}
	if (r)
		return;
	verify(f, va, pfn);
	if (km_kmap_to_page(f->m, va) != pg)
		die("kmap_to_page disagrees");
	write_through(f, va, pfn, v);
}

static void run_woken(struct fz *f)
{
	km_task *t;
	while ((t = km_task_next_woken(f->m))) {
		int i = 0;
		while (i < NTASKS && f->task[i] != t)
			i++;
		if (i == NTASKS)
			die("woken task unknown");
		switch_to(f, i);
		do_kmap(f, f->sleep_pfn[i], (uint8_t)i);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const profiles[] = { "x86-32", "x86-32-pae", "arm",
	                                        "arm-marvell" };
	struct fz *f = calloc(1, sizeof(*f));
	struct km_config cfg;
	f->p = data;
	f->end = data + size;
	unsigned c0 = next(f), c1 = next(f);
	km_config_init(&cfg);
	cfg.policy = km_policy_name(c0 % 3);
	cfg.last_pkmap = 2u << ((c0 >> 2) & 3);
	cfg.colors = 1u << ((c0 >> 4) & 3);
	if (cfg.colors > cfg.last_pkmap)
		cfg.colors = cfg.last_pkmap;
	cfg.profile = profiles[c1 & 3];
	/* KM_CHECK would turn the lock-free paths off: check by hand instead */
	cfg.flags = 0;
	/* one thread: one local-map area (and ARM's fixmap holds the colours'
	 * slots of few CPUs) */
	cfg.nr_cpus = 1;
	/* 16 MiB of lowmem (as with highmem=), then NPAGES of highmem */
	cfg.lowmem_bytes = 16u << 20;
	cfg.mem_bytes = cfg.lowmem_bytes + (uint64_t)NPAGES * 4096;
	if (km_machine_create(&cfg, &f->m))
		die("machine with highmem");
	km_machine_layout(f->m, &f->l);
	for (int t = 0; t < NTASKS; t++)
		if (km_task_create(f->m, &f->task[t]))
			die("task");
	switch_to(f, 0);

	while (f->p < f->end) {
		unsigned op = next(f) % 14, a = next(f);
		uint64_t pfn = pfn_of(f, a % (NPAGES + 3));
		km_page *pg = km_pfn_to_page(f->m, pfn);
		int t = f->cur;
		void *va;
		switch (op) {
		case 0: case 1: /* kmap */
			do_kmap(f, pfn, (uint8_t)a);
			break;
		case 2: case 3: /* kunmap: may wake tasks */
			if (pg && !km_kunmap(f->m, pg))
				run_woken(f);
			break;
		case 4: case 5: { /* kmap_local or kmap_atomic */
			if (!pg || f->nlocal[t] == MAXLOC)
				break;
			int r = op == 4 ? km_kmap_local_page(f->m, pg, &va) :
			                  km_kmap_atomic(f->m, pg, &va);
			if (r)
				break;
			verify(f, va, pfn);
			write_through(f, va, pfn, (uint8_t)(a + 1));
			if (km_page_highmem(f->m, pg)) {
				f->local_pk[t][f->nlocal[t]] =
					(uintptr_t)va >= f->l.pkmap_base &&
					(uintptr_t)va < f->l.pkmap_end;
				f->local[t][f->nlocal[t]] = va;
				f->local_pfn[t][f->nlocal[t]++] = pfn;
			} else if (op == 5) {
				km_kunmap_atomic(f->m, va); /* close its section */
			}
			break;
		}
		case 6: case 7: { /* unmap a local mapping: mostly the top */
			if (!f->nlocal[t])
				break;
			int i = (a & 3) ? f->nlocal[t] - 1 : (int)(a % f->nlocal[t]);
			int r = op == 6 ? km_kunmap_local(f->m, f->local[t][i]) :
			                  km_kunmap_atomic(f->m, f->local[t][i]);
			if (!r) {
				/* the newest of the task's stack: no fixmap mapping
				 * above it (pkmap ones are not on the stack) */
				for (int j = i + 1; j < f->nlocal[t] && !f->local_pk[t][i]; j++)
					if (!f->local_pk[t][j])
						die("unmapped a local mapping that is not the newest");
				for (int j = i; j + 1 < f->nlocal[t]; j++) {
					f->local[t][j] = f->local[t][j + 1];
					f->local_pfn[t][j] = f->local_pfn[t][j + 1];
					f->local_pk[t][j] = f->local_pk[t][j + 1];
				}
				f->nlocal[t]--;
			}
			break;
		}
		case 8: /* read/write through whatever maps the page */
			if (pg && (va = km_page_address(f->m, pg))) {
				struct km_slot s;
				km_pkmap_slot(f->m, (unsigned)(((uintptr_t)va -
				              f->l.pkmap_base) / f->l.page_size), &s);
				if (s.count >= 2 || !km_page_highmem(f->m, pg))
					verify(f, va, pfn);
			}
			break;
		case 9:
			km_kmap_flush_unused(f->m);
			break;
		case 10: /* another task */
			switch_to(f, (int)(a % NTASKS));
			break;
		case 11:
			if (pg && !km_kmap_high_get(f->m, pg, &va))
				verify(f, va, pfn);
			break;
		case 12: {
			km_page *np;
			if (!km_alloc_page(f->m, a & 3, &np))
				km_free_page(f->m, np);
			break;
		}
		case 13:
			km_kmap_flush_unused(f->m);
			run_woken(f);
			break;
		}
		/* after every call: the invariants, and no stale translation */
		char msg[256];
		struct km_stats st;
		if (km_check(f->m, msg, sizeof(msg))) {
			fprintf(stderr, "fuzz_api: after op %u: %s\n", op, msg);
			abort();
		}
		km_stats_get(f->m, &st);
		if (st.tlb_stale)
			die("a stale TLB translation was used");
	}
	km_machine_destroy(f->m);
	free(f);
	return 0;
}
