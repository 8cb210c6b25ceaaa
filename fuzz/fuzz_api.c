/*
 * fuzz_api.c - libFuzzer target: random sequences of API calls on the
 * simulated or the host backend, every policy, with the expensive
 * invariant check (KM_CHECK: counts against the hash, the page tables and
 * the TLB model) after every call, and every page's bytes checked against
 * a shadow copy. Bad input is mixed in: pages that are not the machine's
 * (misaligned, past either end, another machine's), addresses that map
 * nothing or run off the address space, destroyed and foreign tasks,
 * offsets and lengths that overflow; each must be refused as documented
 * and change no byte.
 *
 * The input drives a small machine: byte 0 picks the policy, the window
 * (2..16 slots), colours; byte 1 the profile, the backend, the memory
 * model and whether memory has holes (a lowmem run round pfn 300, two
 * highmem pages in play: the allocator must never give them out, the
 * other calls treat them as the kernel does); then each op
 * byte picks a call and the bytes after it its arguments. Three simulated
 * tasks take turns, so a full window puts a task to sleep instead of
 * blocking the fuzzer. vmap areas and vm_map_ram pieces (vmap blocks) of
 * up to 8 of the pages are made, read through (every page's bytes against
 * the shadow), released (an unmap of the wrong kind or count refused) and
 * purged; a freed range or dirty piece must never be used before its TLB
 * flush (no stale translation, ever). The copy helpers read and write the same pages,
 * every way they may go.
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
#define NLOCAL 32
#define NAREAS 8

struct fz {
	const uint8_t *p, *end;
	km_machine *m;
	km_machine *other;       /* for foreign pages and tasks */
	km_task *foreign, *dead; /* other's task; one of m's, destroyed */
	struct km_layout l;
	km_task *task[NTASKS];
	int cur;
	uint64_t sleep_pfn[NTASKS];
	/* each task's local addresses, bottom first: up to 15 on the stack,
	 * and (kmap_high_get) any number reusing a window slot; those past
	 * NLOCAL are not recorded, so never unmapped */
	void *local[NTASKS][NLOCAL];
	uint64_t local_pfn[NTASKS][NLOCAL];
	/* a pkmap address (kmap_high_get's reuse, Kirkwood): a user of the
	 * page's slot, given back by any kunmap_local, in any order */
	bool local_pk[NTASKS][NLOCAL];
	int nlocal[NTASKS];
	uint8_t shadow[NPAGES + 1][8]; /* first bytes of each page; [NPAGES]: lowmem */
	/* live vmap areas */
	void *area[NAREAS];
	uint64_t area_pfn[NAREAS][8];
	unsigned area_n[NAREAS];
	bool area_ram[NAREAS];   /* made by km_vm_map_ram */
	int nareas;
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

static uint64_t next64(struct fz *f, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v = v << 8 | next(f);
	return v;
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

/* A pointer that is not one of m's pages, picked by @a. */
static km_page *bad_page(struct fz *f, unsigned a)
{
	km_page *first = km_pfn_to_page(f->m, 0);
	km_page *last = km_pfn_to_page(f->m, f->l.max_pfn - 1);
	uintptr_t stride = (uintptr_t)km_pfn_to_page(f->m, 1) - (uintptr_t)first;
	switch (a % 6) {
	case 0: return NULL;
	case 1: return (km_page *)((uintptr_t)km_pfn_to_page(f->m, pfn_of(f, a / 6 % NPAGES)) + 1 + a / 64 % (stride - 1));
	case 2: return (km_page *)((uintptr_t)last + stride * (1 + a / 6));
	case 3: return (km_page *)((uintptr_t)first - stride * (1 + a / 6));
	case 4: return km_pfn_to_page(f->other, f->l.max_low_pfn + a / 6 % NPAGES);
	default: return (km_page *)(uintptr_t)f;
	}
}

/* Every call that takes a page, on one that is not m's: refused. */
static void abuse_page(struct fz *f, unsigned a, unsigned b)
{
	km_page *pg = bad_page(f, a), *np;
	void *va = NULL;
	int r = 0;
	switch (b % 10) {
	case 0: r = km_kmap_ex(f->m, pg, b / 10 & 3, 1000, &va, NULL); break;
	case 1: r = km_kunmap(f->m, pg); break;
	case 2: r = km_kmap_local_page(f->m, pg, &va); break;
	case 3: r = km_kmap_atomic(f->m, pg, &va); break;
	case 4: r = km_kmap_high_get(f->m, pg, &va); break;
	case 5: r = km_free_page(f->m, pg); break;
	case 6: r = km_memcpy_to_page(f->m, pg, 0, f->shadow[0], 8); break;
	case 7: np = km_pfn_to_page(f->m, pfn_of(f, b / 10 % NPAGES));
	        r = np ? km_memcpy_page(f->m, np, 0, pg, 0, 8) : -EINVAL; break;
	case 8:
		if (km_page_to_pfn(f->m, pg) != UINT64_MAX ||
		    km_page_zone(f->m, pg) != KM_ZONE_NONE ||
		    km_page_highmem(f->m, pg) || km_page_flags(f->m, pg) ||
		    km_lowmem_page_address(f->m, pg) || km_page_address(f->m, pg))
			die("a page that is not the machine's was answered for");
		return;
	default: r = km_memset_page(f->m, pg, 0, (int)b, 8); break;
	}
	if (r != -EINVAL || va)
		die("a page that is not the machine's was not refused");
}

/* An address that is seldom one of m's, picked by @a. */
static void *bad_addr(struct fz *f, unsigned a)
{
	switch (a % 5) {
	case 0: return (void *)(uintptr_t)(a / 5);
	case 1: return (void *)(UINTPTR_MAX - a / 5);
	case 2: /* a slot of the window, used or not */
		return (void *)(uintptr_t)(f->l.pkmap_base +
		        (uint64_t)(a / 5 % f->l.last_pkmap) * 4096 + a % 4096);
	case 3: return (char *)f->shadow + a % sizeof(f->shadow);
	default: /* about the end of lowmem */
		return (void *)(uintptr_t)(f->l.high_memory - 4096 + a / 5 % 8192);
	}
}

/* Is every page of [va, va + len) one that kmap_to_page knows (a slot
 * with a page, the current task's local maps, lowmem)? In this one
 * thread, exactly what may be read. */
static bool all_mapped(struct fz *f, const void *va, size_t len)
{
	uintptr_t a = (uintptr_t)va;
	if (len - 1 > UINTPTR_MAX - a)
		return false;
	for (uintptr_t p = a & ~(uintptr_t)4095;; p += 4096) {
		if (!km_kmap_to_page(f->m, (void *)p))
			return false;
		if (p >= ((a + len - 1) & ~(uintptr_t)4095))
			return true;
	}
}

/* Reads and writes through addresses that map nothing, lengths that run
 * off the address space, local unmaps of them: refused. */
static void abuse_addr(struct fz *f, unsigned a, unsigned b)
{
	static uint8_t buf[128];
	void *va = bad_addr(f, a);
	/* asleep, the task's local maps are unknown to kmap_to_page */
	if (km_task_state(f->m, f->task[f->cur]) != KM_TASK_RUNNING)
		return;
	size_t len = b & 0x80 ? SIZE_MAX - (b & 0x3f) : 1 + (b & 0x7f);
	bool ok = all_mapped(f, va, len);
	/* a read gets the bytes or -EFAULT; a write only where nothing is
	 * mapped (bytes the shadow copy knows must not change) */
	int r = km_read(f->m, va, buf, len);
	if (ok ? r != 0 : r != -EFAULT)
		die("km_read misjudged an address");
	if (!ok && km_write(f->m, va, buf, len) != -EFAULT)
		die("km_write through an address that maps nothing");
	if (km_kmap_to_page(f->m, va))
		return; /* a mapping: its unmap is the fuzzer's own business */
	/* where the arch needs kmap_high_get, a window address is
	 * kunmap_high()'s: not mapped */
	r = b & 1 ? km_kunmap_local(f->m, va) : km_kunmap_atomic(f->m, va);
	if (r != -EINVAL && r != -KM_ENOATOMIC && r != -KM_ENOTTOP &&
	    r != -KM_ESLEEPING && !(r == -KM_ENOTMAPPED && f->l.kmap_high_get))
		die("a local unmap of an address that maps nothing");
}

/* Task handles that are not m's: a destroyed one, another machine's. */
static void abuse_task(struct fz *f, unsigned a)
{
	km_task *t = a & 1 ? f->dead : f->foreign;
	if (km_task_switch(f->m, t) != -EINVAL ||
	    km_task_destroy(f->m, t) != -EINVAL ||
	    km_task_state(f->m, t) != KM_TASK_NONE ||
	    km_task_local_depth(f->m, t) != -EINVAL)
		die("a task that is not the machine's was not refused");
}

/* Offsets and lengths of the copy helpers, overflowing ones included. */
static void copy_range(struct fz *f, uint64_t pfn, unsigned a)
{
	static uint8_t buf[4096];
	km_page *pg = km_pfn_to_page(f->m, pfn);
	size_t off = a & 1 ? SIZE_MAX - next64(f, 2) : next64(f, 2) % 8200;
	size_t len = a & 2 ? SIZE_MAX - next64(f, 2) : next64(f, 2) % 8200;
	if (!pg)
		return;
	bool fits = off <= 4096 && len <= 4096 - off;
	int r = a & 4 ? km_memcpy_from_page(f->m, buf, pg, off, len) :
	        km_memzero_page(f->m, pg, off, len);
	/* a range that fits may still find the task asleep or its stack full */
	if (fits ? r && r != -KM_ESTACKFULL && r != -EBUSY && r != -KM_ESLEEPING :
	           r != -EINVAL)
		die("a copy helper's range was misjudged");
	int i = index_of(f, pfn);
	if (!r && !(a & 4) && i >= 0 && off < 8)
		memset(f->shadow[i] + off, 0, len < 8 - off ? len : 8 - off);
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

/* Every page of every live area reads as the shadow says. */
static void verify_areas(struct fz *f)
{
	for (int i = 0; i < f->nareas; i++)
		for (unsigned j = 0; j < f->area_n[i]; j++)
			verify(f, (char *)f->area[i] + j * f->l.page_size,
			       f->area_pfn[i][j]);
}

static void do_vmap(struct fz *f, unsigned a)
{
	km_page *pg[8];
	uint64_t pfn[8];
	unsigned n = 1 + (a & 7);
	void *va;
	if (f->nareas == NAREAS)
		return;
	for (unsigned i = 0; i < n; i++) {
		pfn[i] = pfn_of(f, next(f) % (NPAGES + 1));
		pg[i] = km_pfn_to_page(f->m, pfn[i]);
	}
	bool ram = a & 0x40;
	if (ram ? km_vm_map_ram(f->m, pg, n, &va) : km_vmap(f->m, pg, n, &va))
		return;
	for (unsigned i = 0; i < n; i++) {
		if (km_vmalloc_to_page(f->m, (char *)va + i * f->l.page_size) != pg[i])
			die("vmalloc_to_page disagrees");
		f->area_pfn[f->nareas][i] = pfn[i];
	}
	f->area[f->nareas] = va;
	f->area_ram[f->nareas] = ram;
	f->area_n[f->nareas++] = n;
	verify_areas(f);
	/* a write through the area, seen through the others */
	write_through(f, (char *)va + (a >> 3) % n * f->l.page_size,
	              pfn[(a >> 3) % n], (uint8_t)(a ^ 0x5a));
	verify_areas(f);
}

static void do_vunmap(struct fz *f, unsigned a)
{
	if (!f->nareas)
		return;
	int i = (int)(a % (unsigned)f->nareas);
	void *va = f->area[i];
	unsigned n = f->area_n[i];
	bool ram = f->area_ram[i];
	if (km_in_atomic(f->m)) {
		if ((ram ? km_vm_unmap_ram(f->m, va, n) : km_vunmap(f->m, va)) !=
		    -KM_EATOMIC)
			die("vunmap in an atomic section was not refused");
		return;
	}
	/* the other call, or another count: refused, nothing changed */
	int w = ram ? km_vunmap(f->m, va) : km_vm_unmap_ram(f->m, va, n);
	if (w != -KM_ENOAREA && w != -KM_ESLEEPING)
		die("an unmap of the wrong kind was not refused");
	w = ram ? km_vm_unmap_ram(f->m, va, n + 1 + (a >> 5) % 40) : 0;
	if (w && w != -KM_ENOAREA && w != -KM_ESLEEPING)
		die("vm_unmap_ram of the wrong count was not refused");
	verify_areas(f);
	int r = ram ? km_vm_unmap_ram(f->m, va, n) : km_vunmap(f->m, va);
	if (r == -KM_ESLEEPING)
		return; /* the current task is asleep: it runs nothing */
	if (r)
		die("vunmap of a live area failed");
	if (!(ram ? km_vm_unmap_ram(f->m, va, n) : km_vunmap(f->m, va)))
		die("vunmap of a freed area succeeded");
	f->nareas--;
	f->area[i] = f->area[f->nareas];
	f->area_ram[i] = f->area_ram[f->nareas];
	f->area_n[i] = f->area_n[f->nareas];
	memcpy(f->area_pfn[i], f->area_pfn[f->nareas], sizeof(f->area_pfn[i]));
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
	cfg.backend = c1 & 4 ? KM_BACKEND_HOST : KM_BACKEND_SIM;
	unsigned npol = 0;
	while (km_policy_name(npol))
		npol++;
	cfg.policy = km_policy_name(c0 % npol);
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
	cfg.memory_model = c1 & 8 ? KM_SPARSEMEM : KM_FLATMEM;
	if (c1 & 16) { /* every profile here has its RAM from pfn 0 */
		uint64_t hi = cfg.lowmem_bytes / 4096;
		cfg.nr_holes = 2;
		cfg.holes[0] = (struct km_hole){ 256, 512 };
		cfg.holes[1] = (struct km_hole){ hi + 20, hi + 22 };
	}
	/* another machine, made once: only its pages and a task are used,
	 * as handles m must refuse */
	static km_machine *other;
	static km_task *foreign;
	if (!other && (km_machine_create(&cfg, &other) ||
	               km_task_create(other, &foreign)))
		die("another machine");
	f->other = other;
	f->foreign = foreign;
	if (km_machine_create(&cfg, &f->m))
		die("machine with highmem");
	km_machine_layout(f->m, &f->l);
	for (int t = 0; t < NTASKS; t++)
		if (km_task_create(f->m, &f->task[t]))
			die("task");
	/* the last task made: its address is not given out again */
	if (km_task_create(f->m, &f->dead) || km_task_destroy(f->m, f->dead))
		die("task");
	switch_to(f, 0);

	while (f->p < f->end) {
		unsigned op = next(f) % 23, a = next(f);
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
			if (!pg)
				break;
			int r = op == 4 ? km_kmap_local_page(f->m, pg, &va) :
			                  km_kmap_atomic(f->m, pg, &va);
			if (r)
				break;
			verify(f, va, pfn);
			write_through(f, va, pfn, (uint8_t)(a + 1));
			if (km_page_highmem(f->m, pg) && f->nlocal[t] < NLOCAL) {
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
			if (!km_alloc_page(f->m, a & 3, &np)) {
				if (!km_page_is_ram(f->m, km_page_to_pfn(f->m, np)))
					die("a page in a hole allocated");
				km_free_page(f->m, np);
			}
			break;
		}
		case 13:
			km_kmap_flush_unused(f->m);
			run_woken(f);
			break;
		case 14:
			abuse_page(f, a, next(f));
			break;
		case 15:
			abuse_addr(f, a | next(f) << 8, next(f));
			break;
		case 16:
			abuse_task(f, a);
			break;
		case 17:
			copy_range(f, pfn, a);
			break;
		case 18:
			do_vmap(f, a);
			break;
		case 19:
			do_vunmap(f, a);
			break;
		case 20:
			km_vm_unmap_aliases(f->m);
			verify_areas(f);
			break;
		case 21: { /* the copy helpers: from the window, the memory, or
		            * through a slot the admission rule gives the page */
			uint8_t got[8];
			int i = index_of(f, pfn);
			if (pg && i >= 0 && !km_page_read(f->m, pg, 0, got, 8, NULL) &&
			    memcmp(got, f->shadow[i], 8))
				die("wrong bytes from km_page_read");
			break;
		}
		case 22: {
			int i = index_of(f, pfn);
			uint8_t v[8];
			memset(v, a ^ 0x5a, 8);
			if (pg && i >= 0 && !km_page_write(f->m, pg, 0, v, 8, NULL))
				memcpy(f->shadow[i], v, 8);
			break;
		}
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
