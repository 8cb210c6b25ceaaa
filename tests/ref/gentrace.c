/*
 * gentrace - write a random, valid kmap trace (replay/trace-format.md).
 *
 *   gentrace SEED N [--profile NAME] [--last-pkmap N] [--colors N]
 *                   [--tasks N] [--highmem-pages N] [--clean | --dirty]
 *                   [--vmap-heavy]
 *
 * N operation lines after the header, deterministic for a given SEED (own
 * PRNG, no libc rand). --highmem-pages N: memory ends N pages above the
 * highest place highmem may start (default 16..199; one trace in 25 has a
 * small memory and no highmem at all). The reference model (refmodel.c,
 * output off) runs alongside only to steer the choices: which tasks are
 * asleep, what each task holds, what is on its local stack. Roughly one
 * trace in five is "clean" (--clean forces it, --dirty forbids it): it makes
 * no deliberate errors and releases everything near the end, so that exit
 * status 0 is exercised too. vmap and vunmap lines come in every trace,
 * with vm_map_ram and vm_unmap_ram (half of the maps: mostly pieces of
 * vmap blocks) and now and then vm_unmap_aliases; in one in five
 * ("vmap-heavy", or --vmap-heavy) they are many and large (up to 5000
 * pages), so that lazy purges and a full vmalloc area happen.
 */
#include "refmodel.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- rng --- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rn(uint64_t n) /* 0 .. n-1 */
{
	return n ? rnd() % n : 0;
}

static int chance(unsigned pct)
{
	return rn(100) < pct;
}

/* ------------------------------------------------------------- config --- */

#define MAXTASKS 5

struct pfnlist {
	uint64_t *v;
	size_t n, cap;
};

static void pl_push(struct pfnlist *l, uint64_t pfn)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			exit(2);
	}
	l->v[l->n++] = pfn;
}

static int pl_remove(struct pfnlist *l, uint64_t pfn)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i] == pfn) {
			l->v[i] = l->v[--l->n];
			return 1;
		}
	}
	return 0;
}

static struct ref_model *M;
static int ntasks;
static char names[MAXTASKS][16];
static int mid[MAXTASKS];            /* model task id, -1 before first line */
static struct pfnlist held[MAXTASKS]; /* persistent kmaps this task made */
static int clean;                     /* no deliberate errors, release at end */
static int stack_heavy;
static int vmap_heavy;
static int vmap_fill; /* vmap-heavy, and few vunmaps: the area fills up */
/* vmap areas: the names given so far ("v0", "v1", ...); which are live
 * the model says */
static int nareas_named;
#define AREA_NAME_MAX 24
/*
 * Where highmem starts depends on the layout on x86 (Linux's MAXMEM moves
 * with PKMAP_BASE, which is PMD-aligned), so the generator only relies on
 * [lo_start, lo_end) being lowmem and [hs, maxp) highmem; the zone [lo_end, hs)
 * between them (x86 only: a 4 MiB PMD either side of the profile's default
 * boundary) is used now and then, for boundary cases, but not in clean
 * traces, and the steering model counts it as highmem (if it is lowmem
 * after all, the releases the generator then makes are harmless).
 */
#define X86_ZONE 1024
static uint64_t lo_start;            /* RAM's first pfn (PHYS_OFFSET) */
static uint64_t lo_end, hs, maxp, H; /* H: pages in [hs, maxp) */
static uint64_t fixed_hs;           /* the profile's default boundary */
static uint64_t *pool;
static size_t npool;
static long lineno;

static int t_asleep(int k) { return mid[k] >= 0 && ref_task_asleep(M, mid[k]); }
static int t_depth(int k) { return mid[k] >= 0 ? ref_task_atomic_depth(M, mid[k]) : 0; }
static int t_nlocal(int k) { return mid[k] >= 0 ? ref_task_nlocal(M, mid[k]) : 0; }
static uint64_t t_local_pfn(int k, int i) { return ref_task_local_pfn(M, mid[k], i); }
static int t_local_atomic(int k, int i) { return ref_task_local_atomic(M, mid[k], i); }

/* ------------------------------------------------------------- choices -- */

/* Holes of the machine line (none in most traces): pfns [a, b), no RAM. */
static size_t nholes;
static uint64_t hole_a[REF_MAX_HOLES], hole_b[REF_MAX_HOLES];

/* A pfn out of the holes (beside the one it is in), in clean traces
 * always, else most of the time: a line with a pfn in a hole is an error */
static uint64_t dodged(uint64_t p)
{
	if (!clean && chance(15))
		return p;
	for (size_t i = 0; i < nholes; i++)
		if (p >= hole_a[i] && p < hole_b[i])
			return hole_b[i] < maxp ? hole_b[i] : hole_a[i] - 1;
	return p;
}

static uint64_t pick_low(void);

static uint64_t pick_high(void)
{
	if (H == 0)
		return pick_low();
	if (chance(5))
		return dodged(chance(50) ? hs : maxp - 1);
	if (chance(75))
		return dodged(pool[rn(npool)]);
	return dodged(hs + rn(H));
}

static uint64_t pick_low(void)
{
	if (lo_end == lo_start)
		return pick_high();
	if (chance(10))
		return dodged(lo_end - 1);
	if (chance(5))
		return dodged(lo_start);
	return dodged(lo_start + rn(lo_end - lo_start));
}

/* x86: a pfn near where the boundary may be (PMD steps of 512 pages). */
static uint64_t pick_zone(void)
{
	if (hs <= lo_end)
		return pick_low();
	uint64_t p;
	if (chance(60)) {
		static const int64_t d[] = { -1024, -512, 0, 512, 1024 };
		p = fixed_hs + (uint64_t)d[rn(5)] - rn(2);
	} else {
		p = lo_end + rn(hs - lo_end);
	}
	if (p < lo_end || p >= hs)
		return lo_end + rn(hs - lo_end);
	return p;
}

static uint64_t pick_beyond(void)
{
	return chance(20) ? maxp : maxp + rn(1000);
}

static uint64_t pick_any(void)
{
	unsigned r = (unsigned)rn(100);
	if (!clean && r < 5)
		return pick_beyond();
	if (r < 18)
		return pick_low();
	if (!clean && r < 22 && hs > lo_end)
		return pick_zone();
	return pick_high();
}

/* A page with a live mapping for task k, or 0 with *ok = 0. */
static uint64_t pick_live(int k, int *ok)
{
	uint64_t cand[64];
	int n = 0;
	for (size_t i = 0; i < held[k].n && n < 32; i++)
		cand[n++] = held[k].v[i];
	for (int i = 0; i < t_nlocal(k) && n < 48; i++)
		cand[n++] = t_local_pfn(k, i);
	for (int j = 0; j < ntasks && n < 60; j++)
		if (j != k && held[j].n)
			cand[n++] = held[j].v[rn(held[j].n)];
	if (n && chance(85)) {
		*ok = 1;
		return cand[rn((uint64_t)n)];
	}
	if (lo_end > lo_start) {
		*ok = 1;
		return pick_low();
	}
	*ok = 0;
	return 0;
}

static void pr_num(uint64_t v, unsigned hexpct)
{
	if (chance(hexpct))
		printf("0x%llx", (unsigned long long)v);
	else
		printf("%llu", (unsigned long long)v);
}

static const char *sep(void)
{
	if (chance(92))
		return " ";
	return chance(50) ? "\t" : "  ";
}

static void maybe_filler(void)
{
	while (chance(6)) {
		lineno++;
		switch (rn(3)) {
		case 0: printf("\n"); break;
		case 1: printf("# filler comment %llu\n", (unsigned long long)rn(1000)); break;
		default: printf("%s# indented comment\n", chance(50) ? "  " : "\t"); break;
		}
	}
}

/* ------------------------------------------------------------- emitting - */

static int wasasleep[MAXTASKS];

/* Print the op line and run it in the model; returns the model's result. */
static enum ref_result emit(int k, enum ref_op op, uint64_t pfn, uint64_t off,
			    const uint8_t *data, size_t len)
{
	lineno++;
	if (chance(3))
		printf("%s", chance(50) ? " " : "\t");
	printf("%s%s%s", names[k], sep(), ref_op_names[op]);
	if (op != REF_FLUSH_UNUSED) {
		printf("%s", sep());
		pr_num(pfn, 15);
	}
	if (op == REF_WRITE || op == REF_READ) {
		printf("%s", sep());
		pr_num(off, 10);
		printf("%s", sep());
		if (op == REF_WRITE) {
			for (size_t i = 0; i < len; i++)
				printf("%02x", data[i]);
		} else {
			pr_num(len, 10);
		}
	}
	if (chance(3))
		printf("%s# trailing comment", sep());
	printf("\n");

	if (mid[k] < 0)
		mid[k] = ref_task(M, names[k]);
	for (int j = 0; j < ntasks; j++)
		wasasleep[j] = t_asleep(j);
	enum ref_result r = ref_exec(M, lineno, mid[k], op, pfn, off, data, len);

	if (r == REF_OK && op == REF_KMAP && pfn >= lo_end)
		pl_push(&held[k], pfn);
	if (r == REF_OK && op == REF_KUNMAP && pfn >= lo_end) {
		if (!pl_remove(&held[k], pfn))
			for (int j = 0; j < ntasks; j++)
				if (pl_remove(&held[j], pfn))
					break;
	}
	/* Tasks woken by a kunmap that got their page. */
	for (int j = 0; j < ntasks; j++)
		if (wasasleep[j] && !t_asleep(j))
			pl_push(&held[j], ref_task_sleep_pfn(M, mid[j]));
	return r;
}

static void area_name(int i, char *buf)
{
	snprintf(buf, AREA_NAME_MAX, "v%d", i);
}

/* Print a line of the vmalloc area (vmap, vunmap, vm_map_ram,
 * vm_unmap_ram, vm_unmap_aliases) and run it in the model. */
static enum ref_result emit_vm(int k, enum ref_op op, const char *area,
			       const uint64_t *pfns, size_t n)
{
	lineno++;
	printf("%s%s%s", names[k], sep(), ref_op_names[op]);
	if (op != REF_VM_UNMAP_ALIASES)
		printf("%s%s", sep(), area);
	if (op == REF_VMAP || op == REF_VM_MAP_RAM) {
		printf("%s", sep());
		for (size_t i = 0; i < n; i++) {
			if (i)
				printf(",");
			pr_num(pfns[i], 15);
		}
	}
	if (chance(3))
		printf("%s# trailing comment", sep());
	printf("\n");
	if (mid[k] < 0)
		mid[k] = ref_task(M, names[k]);
	return ref_exec_vmap(M, lineno, mid[k], op, area, pfns, n);
}

static int live_areas(void)
{
	int n = 0;
	char nm[AREA_NAME_MAX];
	for (int i = 0; i < nareas_named; i++) {
		area_name(i, nm);
		n += ref_area_live(M, nm);
	}
	return n;
}

/* vunmap of a live area (0 when there is none) */
static int vunmap_one(int k)
{
	int n = nareas_named;
	char nm[AREA_NAME_MAX];
	int start = (int)rn((uint64_t)(n ? n : 1));
	for (int i = 0; i < n; i++) {
		area_name((start + i) % n, nm);
		if (ref_area_live(M, nm)) {
			/* now and then the other call's unmap: an error */
			int ram = ref_area_ram(M, nm) != (!clean && chance(4));
			emit_vm(k, ram ? REF_VM_UNMAP_RAM : REF_VUNMAP, nm, NULL, 0);
			return 1;
		}
	}
	return 0;
}

static uint64_t pick_any(void);

static void op_vmap(int k)
{
	char nm[AREA_NAME_MAX];
	unsigned r = (unsigned)rn(100);
	if (!clean && r < 8 && nareas_named)
		area_name((int)rn((uint64_t)nareas_named), nm); /* maybe in use */
	else
		area_name(nareas_named++, nm);
	size_t n;
	/* vm_map_ram half the time: mostly pieces of blocks (up to 32
	 * pages), sometimes an area of its own */
	int ram = chance(50);
	r = (unsigned)rn(100);
	if (ram)
		n = r < 55 ? 1 + rn(4) : r < 85 ? 5 + rn(28) :
		    vmap_heavy ? 33 + rn(1500) : 33 + rn(40);
	else if (vmap_heavy)
		n = r < 40 ? 1 + rn(8) : r < 70 ? 100 + rn(1400) : 1500 + rn(3500);
	else
		n = r < 80 ? 1 + rn(8) : 9 + rn(56);
	/* a clean trace stays far from a full area */
	if (clean && ref_vmalloc_used(M) + n + 1 > 20000)
		n = 1 + rn(4);
	if (clean && ref_vmalloc_used(M) + n + 1 > 20000) {
		if (!vunmap_one(k))
			emit(k, REF_FLUSH_UNUSED, 0, 0, NULL, 0);
		return;
	}
	uint64_t *p = malloc(n * sizeof(*p));
	if (!p)
		exit(2);
	size_t i = 0;
	int bad = !clean && chance(4); /* one pfn past memory */
	while (i < n) {
		/* a run of consecutive pages, or single ones */
		uint64_t base = pick_any(), run = chance(50) ? 1 + rn(n - i) : 1;
		for (uint64_t j = 0; j < run && i < n; j++) {
			uint64_t v = base + j;
			if (v >= maxp)
				v = lo_start + rn(maxp - lo_start);
			p[i++] = dodged(v);
		}
	}
	if (bad)
		p[rn(n)] = pick_beyond();
	emit_vm(k, ram ? REF_VM_MAP_RAM : REF_VMAP, nm, p, n);
	free(p);
}

/* Release one thing task k holds; 0 if it holds nothing. */
static int release_one(int k)
{
	int nl = t_nlocal(k);
	if (nl > 0) {
		uint64_t p = t_local_pfn(k, nl - 1);
		emit(k, t_local_atomic(k, nl - 1) ? REF_KUNMAP_ATOMIC : REF_KUNMAP_LOCAL,
		     p, 0, NULL, 0);
		return 1;
	}
	if (t_depth(k) > 0) {
		emit(k, REF_KUNMAP_ATOMIC, pick_low(), 0, NULL, 0);
		return 1;
	}
	if (held[k].n) {
		emit(k, REF_KUNMAP, held[k].v[rn(held[k].n)], 0, NULL, 0);
		return 1;
	}
	return vunmap_one(k);
}

static size_t outstanding(void)
{
	size_t n = 0;
	for (int k = 0; k < ntasks; k++)
		if (!t_asleep(k))
			n += held[k].n + (size_t)t_nlocal(k) + (size_t)t_depth(k);
	return n + (size_t)live_areas();
}

static void op_unmap_local(int k)
{
	int nl = t_nlocal(k);
	if (!clean && chance(15)) {
		/* Probably wrong: not the top, the other kind, or not mapped. */
		enum ref_op op = chance(50) ? REF_KUNMAP_LOCAL : REF_KUNMAP_ATOMIC;
		uint64_t p = nl && chance(70) ? t_local_pfn(k, (int)rn((uint64_t)nl)) : pick_any();
		emit(k, op, p, 0, NULL, 0);
		return;
	}
	if (nl > 0) {
		emit(k, t_local_atomic(k, nl - 1) ? REF_KUNMAP_ATOMIC : REF_KUNMAP_LOCAL,
		     t_local_pfn(k, nl - 1), 0, NULL, 0);
	} else if (t_depth(k) > 0) {
		emit(k, REF_KUNMAP_ATOMIC, pick_low(), 0, NULL, 0);
	} else if (lo_end > lo_start) {
		emit(k, REF_KUNMAP_LOCAL, pick_low(), 0, NULL, 0);
	} else {
		emit(k, REF_FLUSH_UNUSED, 0, 0, NULL, 0);
	}
}

static void op_rw(int k, enum ref_op op)
{
	int ok;
	uint64_t p = pick_live(k, &ok);
	if (!ok) {
		if (clean) {
			emit(k, REF_FLUSH_UNUSED, 0, 0, NULL, 0);
			return;
		}
		p = pick_any();
	} else if (!clean && chance(10)) {
		p = pick_any();
	}
	size_t len = op == REF_WRITE ? 1 + rn(8) : 1 + rn(16);
	if (chance(5))
		len = 1 + rn(64);
	uint64_t off;
	unsigned r = (unsigned)rn(100);
	if (r < 60)
		off = rn(32);
	else if (r < 85)
		off = rn(4096 - len + 1);
	else
		off = 4096 - len - rn(3);
	if (!clean && chance(6))
		off = chance(70) ? 4096 - len + 1 + rn(len) : 4096 + rn(100);
	uint8_t data[64];
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)rnd();
	emit(k, op, p, off, data, len);
}

static int nawake(void)
{
	int n = 0;
	for (int k = 0; k < ntasks; k++)
		n += !t_asleep(k);
	return n;
}

/* Any persistent page some task holds, preferring task k's own. */
static int pick_held(int k, uint64_t *pfn)
{
	if (held[k].n && (clean || chance(80))) {
		*pfn = held[k].v[rn(held[k].n)];
		return 1;
	}
	if (clean)
		return 0;
	int start = (int)rn((uint64_t)ntasks);
	for (int i = 0; i < ntasks; i++) {
		int j = (start + i) % ntasks;
		if (held[j].n) {
			*pfn = held[j].v[rn(held[j].n)];
			return 1;
		}
	}
	return 0;
}

static void one_op(int k)
{
	int depth = t_depth(k), nl = t_nlocal(k);
	uint64_t p;

	/* Inside an atomic section, often close it first. */
	if (depth > 0 && chance(stack_heavy ? 10 : clean ? 60 : 40)) {
		op_unmap_local(k);
		return;
	}
	/* A full local stack: mostly pop (pushing again is the overflow error). */
	if (nl >= REF_LOCAL_MAX && chance(clean ? 100 : 75)) {
		op_unmap_local(k);
		return;
	}
	/* Tasks asleep: the awake ones often release pages (any task may
	 * kunmap a persistent mapping), so that they wake up. */
	if (depth == 0 && nawake() < ntasks && chance(nawake() == 1 ? 60 : 35) &&
	    pick_held(k, &p)) {
		emit(k, REF_KUNMAP, p, 0, NULL, 0);
		return;
	}
	for (;;) {
		unsigned wl = stack_heavy ? 40 : 7, wa = stack_heavy ? 14 : 5;
		unsigned wu = stack_heavy ? 6 : 12;
		unsigned wk = depth > 0 ? 4 : 30, wun = depth > 0 ? 3 : 22;
		/* The more a task holds, the likelier it lets go. */
		if (held[k].n > 2)
			wun += 6 * (unsigned)held[k].n;
		unsigned wv = vmap_heavy ? 25 : 4;
		unsigned wvu = vmap_fill ? 3 : vmap_heavy ? 18 : 3;
		unsigned w[] = { wk, wun, wl, wa, wu, 8, 8, 3, wv, wvu, 2 };
		unsigned tot = 0, r;
		for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
			tot += w[i];
		r = (unsigned)rn(tot);
		int which = 0;
		while (r >= w[which])
			r -= w[which++];

		switch (which) {
		case 0: /* kmap */
			if (clean && depth > 0)
				continue;
			p = pick_any();
			/* Sometimes the page another task sleeps on: it may be
			 * mapped by the time that task retries (a hit). */
			for (int j = 0; j < ntasks; j++)
				if (j != k && t_asleep(j) && chance(30))
					p = ref_task_sleep_pfn(M, mid[j]);
			/* Going to sleep is welcome, unless it is the last
			 * awake task (a deadlock ends the interesting part). */
			if (depth == 0 && p >= lo_end && p < maxp && ref_kmap_would_sleep(M, p) &&
			    !chance(nawake() == 1 ? 3 : 60))
				continue;
			emit(k, REF_KMAP, p, 0, NULL, 0);
			return;
		case 1: /* kunmap */
			if (clean && (depth > 0 || !held[k].n))
				continue;
			if (chance(88) && pick_held(k, &p))
				emit(k, REF_KUNMAP, p, 0, NULL, 0);
			else
				emit(k, REF_KUNMAP, clean ? pick_low() : pick_any(), 0, NULL, 0);
			return;
		case 2: /* kmap_local */
		case 3: /* kmap_atomic */
			if (clean && nl >= REF_LOCAL_MAX)
				continue;
			emit(k, which == 2 ? REF_KMAP_LOCAL : REF_KMAP_ATOMIC, pick_any(), 0, NULL, 0);
			return;
		case 4:
			op_unmap_local(k);
			return;
		case 5:
			op_rw(k, REF_WRITE);
			return;
		case 6:
			op_rw(k, REF_READ);
			return;
		case 7:
			emit(k, REF_FLUSH_UNUSED, 0, 0, NULL, 0);
			return;
		case 8: /* vmap (may sleep: an error in an atomic section) */
			if (clean && depth > 0)
				continue;
			op_vmap(k);
			return;
		case 9: /* vunmap, vm_unmap_ram */
			if (clean && depth > 0)
				continue;
			if (!clean && chance(10)) {
				char nm[AREA_NAME_MAX];
				area_name(nareas_named + (int)rn(3), nm);
				emit_vm(k, chance(50) ? REF_VM_UNMAP_RAM : REF_VUNMAP,
					nm, NULL, 0);
				return;
			}
			if (!vunmap_one(k))
				continue;
			return;
		default: /* vm_unmap_aliases: the blocks' dirt, a purge */
			if (clean && depth > 0)
				continue;
			emit_vm(k, REF_VM_UNMAP_ALIASES, "", NULL, 0);
			return;
		}
	}
}

static int pick_task(void)
{
	int awake[MAXTASKS], na = 0, sleeping[MAXTASKS], ns = 0;
	for (int k = 0; k < ntasks; k++) {
		if (t_asleep(k))
			sleeping[ns++] = k;
		else
			awake[na++] = k;
	}
	if (ns && (!na || (!clean && chance(5))))
		return sleeping[rn((uint64_t)ns)];
	return awake[rn((uint64_t)na)];
}

static void usage(void)
{
	fprintf(stderr,
		"usage: gentrace SEED N [--profile NAME] [--last-pkmap N] [--colors N]\n"
		"                [--tasks N] [--highmem-pages N] [--clean | --dirty]\n"
		"                [--vmap-heavy]\n");
	exit(2);
}

static unsigned long long arg_num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (!*s || *end)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	unsigned long long seed = arg_num(argv[1]);
	long nops = (long)arg_num(argv[2]);
	int o_profile = -1, o_clean = -1, o_vheavy = 0;
	long o_lp = -1, o_colors = -1, o_tasks = -1, o_hp = -1;
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--clean") == 0)
			o_clean = 1;
		else if (strcmp(a, "--dirty") == 0)
			o_clean = 0;
		else if (strcmp(a, "--vmap-heavy") == 0)
			o_vheavy = 1;
		else if (i + 1 >= argc)
			usage();
		else if (strcmp(a, "--profile") == 0) {
			if ((o_profile = ref_profile_by_name(argv[++i])) < 0)
				usage();
		} else if (strcmp(a, "--last-pkmap") == 0)
			o_lp = (long)arg_num(argv[++i]);
		else if (strcmp(a, "--colors") == 0)
			o_colors = (long)arg_num(argv[++i]);
		else if (strcmp(a, "--tasks") == 0)
			o_tasks = (long)arg_num(argv[++i]);
		else if (strcmp(a, "--highmem-pages") == 0)
			o_hp = (long)arg_num(argv[++i]);
		else
			usage();
	}
	rng_state = seed * 0x2545f4914f6cdd1dull + 0x1234567;
	(void)rnd();

	/* ---- machine ---- */
	int profile = o_profile >= 0 ? o_profile : (int)rn(REF_NPROFILES);
	const struct ref_profile_info *pi = &ref_profiles[profile];
	unsigned lp = 1u << (1 + rn(5)); /* 2 .. 32 */
	int lp_default = 0;
	if (o_lp > 0)
		lp = (unsigned)o_lp;
	else if (chance(4)) {
		lp = pi->default_last_pkmap;
		lp_default = 1;
	}
	if (lp < 2 || (lp & (lp - 1)))
		usage();
	unsigned colors = 1;
	if (o_colors > 0)
		colors = (unsigned)o_colors;
	else if (chance(50))
		colors = 1u << rn(3); /* 1, 2, 4 */
	while (colors > lp)
		colors >>= 1;
	if (colors < 1 || (colors & (colors - 1)) || lp % colors)
		usage();

	int x86 = profile == REF_X86_32 || profile == REF_X86_32_PAE;
	fixed_hs = pi->highmem_start;
	uint64_t zone = x86 ? X86_ZONE : 0;
	uint64_t pages;
	if (o_hp >= 0)
		pages = fixed_hs - pi->first_pfn + zone + (uint64_t)o_hp;
	else if (chance(4))
		pages = (1 + rn(64)) * 256; /* 1..64 MiB: no highmem at all */
	else
		pages = fixed_hs - pi->first_pfn + zone + 16 + rn(185);
	uint64_t mem = pages * REF_PAGE_SIZE;

	lineno = 0;
	if (chance(10)) {
		lineno++;
		printf("# gentrace seed %llu\n", seed);
	}
	lineno++;
	printf("machine%s%s%smem=", sep(), pi->name, sep());
	switch (rn(4)) {
	case 0: printf("%llu", (unsigned long long)mem); break;
	case 1: printf("0x%llx", (unsigned long long)mem); break;
	default:
		if (pages % 256 == 0)
			printf("%lluM", (unsigned long long)(pages / 256));
		else
			printf("%lluK", (unsigned long long)(pages * 4));
		break;
	}
	if (!lp_default || chance(30))
		printf("%slast_pkmap=%u", sep(), lp);
	if (colors > 1 || chance(30))
		printf("%scolors=%u", sep(), colors);
	if (chance(25))
		printf("%smodel=%s", sep(), chance(80) ? "sparsemem" : "flatmem");
	/* holes: one to three, each in its own share of the pfns, apart,
	 * small or (now and then) whole sections' worth */
	nholes = chance(25) ? 1 + rn(3) : 0;
	for (size_t h = 0; h < nholes; h++) {
		uint64_t share = pages / nholes, a = pi->first_pfn + share * h;
		uint64_t len = chance(20) ? 1 + rn(share / 2) : 1 + rn(64);
		if (len > share / 2)
			len = share / 2 ? share / 2 : 1;
		hole_a[h] = a + 1 + rn(share - len - 1);
		hole_b[h] = hole_a[h] + len;
		printf("%s", h ? "," : " holes=");
		pr_num(hole_a[h], 20);
		printf("-");
		pr_num(hole_b[h], 20);
	}
	printf("\n");
	maybe_filler();
	if (chance(30)) {
		lineno++;
		printf("policy linux\n");
	}

	M = ref_new((enum ref_profile)profile, mem, lp, colors, fixed_hs - zone, 0, 0, NULL);
	ref_set_holes(M, nholes, hole_a, hole_b);
	maxp = ref_max_pfn(M);
	lo_start = pi->first_pfn;
	lo_end = ref_highmem_start(M);
	hs = fixed_hs + zone < maxp ? fixed_hs + zone : maxp;
	H = maxp - hs;

	/* A pool of highmem pages, so that hits and contention happen. */
	npool = 2 + rn((H < 3 * (uint64_t)lp ? H : 3 * (uint64_t)lp) + 1);
	if (H && npool > H)
		npool = H;
	pool = malloc(npool * sizeof(*pool));
	if (!pool)
		return 2;
	for (size_t i = 0; i < npool; i++)
		pool[i] = H ? hs + rn(H) : 0;
	for (size_t i = 0; i < npool && H; i++)
		for (size_t h = 0; h < nholes; h++)
			if (pool[i] >= hole_a[h] && pool[i] < hole_b[h])
				pool[i] = hole_b[h] < maxp ? hole_b[h] : hole_a[h] - 1;

	/* ---- tasks ---- */
	ntasks = o_tasks > 0 ? (int)(o_tasks > MAXTASKS ? MAXTASKS : o_tasks) : 1 + (int)rn(MAXTASKS);
	unsigned style = (unsigned)rn(3);
	static const char *const fancy[] = { "worker_1", "Z", "io2", "_bg", "kswapd0", "T" };
	for (int k = 0; k < ntasks; k++) {
		if (style == 0)
			snprintf(names[k], sizeof(names[k]), "%c", 'A' + k);
		else if (style == 1)
			snprintf(names[k], sizeof(names[k]), "t%d", k);
		else
			snprintf(names[k], sizeof(names[k]), "%s", fancy[k]);
		mid[k] = -1;
	}

	clean = o_clean >= 0 ? o_clean : chance(20);
	stack_heavy = chance(15);
	vmap_heavy = o_vheavy || chance(20);
	vmap_fill = vmap_heavy && !clean && chance(40);

	for (long i = 0; i < nops; i++) {
		maybe_filler();
		long left = nops - i;
		if (clean && (size_t)left <= outstanding() + 1) {
			/* Release mode: give everything back. */
			int k = pick_task(), done = 0;
			if (!t_asleep(k))
				done = release_one(k);
			for (int j = 0; j < ntasks && !done; j++)
				if (!t_asleep(j))
					done = release_one(j);
			if (!done) {
				/* Nothing held: a harmless op. */
				if (!t_asleep(k) && lo_end > lo_start && chance(50))
					emit(k, REF_READ, pick_low(), rn(64), NULL, 1 + rn(8));
				else
					emit(k, REF_FLUSH_UNUSED, 0, 0, NULL, 0);
			}
			continue;
		}
		int k = pick_task();
		if (t_asleep(k)) {
			/* A line for a sleeping task (an error). */
			switch (rn(4)) {
			case 0: emit(k, REF_KMAP, pick_any(), 0, NULL, 0); break;
			case 1: emit(k, REF_KUNMAP, pick_any(), 0, NULL, 0); break;
			case 2: op_vmap(k); break;
			default: emit(k, REF_FLUSH_UNUSED, 0, 0, NULL, 0); break;
			}
			continue;
		}
		one_op(k);
	}
	maybe_filler();

	ref_free(M);
	for (int k = 0; k < ntasks; k++)
		free(held[k].v);
	free(pool);
	if (fflush(stdout) != 0)
		return 2;
	return 0;
}
