/*
 * refmodel.c - independent reference model of `kmap replay` (policy linux).
 *
 * Written from the trace format (replay/trace-format.md) and Linux's
 * mm/highmem.c (kmap_high, map_new_virtual, flush_all_zero_pkmaps,
 * kunmap_high) with xtensa's colour hooks:
 *
 *   get_pkmap_color(page)      = pfn % N
 *   get_next_pkmap_nr(c)       : cursor[c] = (cursor[c] + N) & (LAST_PKMAP-1);
 *                                return cursor[c] + c
 *   no_more_pkmaps(nr, c)      = nr < N
 *   get_pkmap_entries_count(c) = LAST_PKMAP / N
 *   one wait queue per colour
 *
 * Decisions, all also in replay/trace-format.md:
 *  - error checks, in order: the task is asleep; pfn >= max_pfn; a pfn in
 *    a hole of the machine line's holes= (half-open pfn ranges: no RAM);
 *    then per op
 *    (see the op functions below);
 *  - a kunmap that leaves a count at 1 wakes every task asleep on the page's
 *    colour right after its own record; they retry in the order in which they
 *    went to sleep, each from the top of kmap_high (a page mapped meanwhile
 *    is a hit); one that sleeps again goes to the back of the queue;
 *  - summary counters and leak/deadlock order as documented at ref_finish().
 *
 * vmap/vunmap, from trace.md and Linux 6.1's mm/vmalloc.c (vmap(),
 * alloc_vmap_area(), free_vmap_area_noflush(), __purge_vmap_area_lazy()):
 *  - the vmalloc area: x86 [high_memory + 8 MiB, PKMAP_BASE - 2 pages),
 *    ARM [(high_memory + 8 MiB) rounded down to 8 MiB, 0xff800000), where
 *    high_memory is PAGE_OFFSET plus the lowmem;
 *  - an area takes its pages plus a guard page, at the lowest address
 *    where they fit between the areas there are, live or lazily freed;
 *  - vunmap makes an area lazy; once the lazy pages (guards counted) are
 *    more than 8192 (32 MiB, one CPU online), a purge event lists the lazy
 *    areas by address and they are gone, before the vunmap's record (the
 *    vunmap's own area among them);
 *  - a vmap that finds no room purges (an event even with nothing lazy,
 *    tlb_flush false), before its own record, and tries once more;
 *  - errors, in order: task asleep; vmap: name of a live area, a pfn
 *    outside memory, atomic section, more pages than memory, no room;
 *    vunmap: no live area of the name, atomic section; the pfns are
 *    checked in order, each outside memory or in a hole;
 *  - reads and writes reach a page through the oldest live area mapping it;
 *  - summary: vmaps, vunmaps, purges after sleeps when any vmap or vunmap
 *    line ran; live areas are leaks after the others, in vmap order.
 *
 * vm_map_ram/vm_unmap_ram/vm_unmap_aliases, from trace-format.md section 3
 * (Linux 6.1's vb_alloc, vb_free, purge_fragmented_blocks,
 * _vm_unmap_aliases):
 *  - up to 32 pages: a piece of n rounded up to a power of two, from the
 *    front of the free part of the first block (in the order made) with
 *    that much free; else a new block: B pages (64 on x86, 256 on ARM,
 *    1024 on arm-marvell), aligned to B pages in the address space, in
 *    the first gap of at least 2B - 1 pages; no guard page;
 *  - more: an area of its own, no guard page, lowest gap;
 *  - vm_unmap_ram: the piece's pages (rounded) are dirty; a block all
 *    dirty is lazily freed (B lazy pages); an area lazily freed;
 *  - a purge on no room, and vm_unmap_aliases, first make lazy each block
 *    with free pages and nothing mapped; every purge releases the lazy
 *    areas and blocks, naming the areas and the pieces of the released
 *    blocks by address; tlb_flush also when vm_unmap_aliases finds a block
 *    with free pages and dirt;
 *  - errors: vm_map_ram as vmap (no check of the page count against
 *    memory); vm_unmap_ram and vunmap: no live area of the name, atomic
 *    section, then the other call's area ("area made by vmap",
 *    "area made by vm_map_ram"); vm_unmap_aliases: atomic section.
 */
#include "refmodel.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const struct ref_profile_info ref_profiles[REF_NPROFILES] = {
	[REF_X86_32] = { "x86-32", 0xc0000000u, 224254, 2ull << 30, 4ull << 30, 1024, 0, 0 },
	[REF_X86_32_PAE] = { "x86-32-pae", 0xc0000000u, 225278, 16ull << 30, 64ull << 30, 512, 0, 0 },
	[REF_ARM] = { "arm", 0xc0000000u, 196608, 2ull << 30, 4ull << 30, 512, 0, 0 },
	[REF_ARM_2G] = { "arm-2g", 0x80000000u, 458752, 2ull << 30, 4ull << 30, 512, 0, 0 },
	/* qemu's virt board: RAM, and pfns, from 0x40000000 */
	[REF_ARM_VIRT] = { "arm-virt", 0xc0000000u, 0x70000, 2ull << 30, 3ull << 30, 512, 0x40000, 0 },
	/* Kirkwood: kmap_local of a page in the window uses its slot */
	[REF_ARM_MARVELL] = { "arm-marvell", 0xc0000000u, 196608, 2ull << 30, 4ull << 30, 512, 0, 1 },
};

const char *const ref_op_names[REF_NOPS] = {
	[REF_KMAP] = "kmap",
	[REF_KUNMAP] = "kunmap",
	[REF_KMAP_LOCAL] = "kmap_local",
	[REF_KUNMAP_LOCAL] = "kunmap_local",
	[REF_KMAP_ATOMIC] = "kmap_atomic",
	[REF_KUNMAP_ATOMIC] = "kunmap_atomic",
	[REF_WRITE] = "write",
	[REF_READ] = "read",
	[REF_FLUSH_UNUSED] = "flush_unused",
	[REF_VMAP] = "vmap",
	[REF_VUNMAP] = "vunmap",
	[REF_VM_MAP_RAM] = "vm_map_ram",
	[REF_VM_UNMAP_RAM] = "vm_unmap_ram",
	[REF_VM_UNMAP_ALIASES] = "vm_unmap_aliases",
};

int ref_profile_by_name(const char *name)
{
	for (int i = 0; i < REF_NPROFILES; i++)
		if (strcmp(ref_profiles[i].name, name) == 0)
			return i;
	return -1;
}

int ref_op_by_name(const char *name)
{
	for (int i = 0; i < REF_NOPS; i++)
		if (strcmp(ref_op_names[i], name) == 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------ helpers --- */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "refmodel: out of memory\n");
		exit(2);
	}
	return p;
}

static void *xcalloc(size_t a, size_t b)
{
	void *p = calloc(a ? a : 1, b ? b : 1);
	if (!p) {
		fprintf(stderr, "refmodel: out of memory\n");
		exit(2);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "refmodel: out of memory\n");
		exit(2);
	}
	return p;
}

/* ------------------------------------------------------------- state ---- */

struct local_ent {
	uint64_t pfn;
	int atomic; /* pushed by kmap_atomic (1) or kmap_local (0) */
	int pk;     /* a window slot reused (kmap_high_get), not on the stack */
	unsigned slot; /* that slot */
};

struct task {
	char *name;
	int asleep;
	uint64_t sleep_pfn; /* the kmap it sleeps in */
	long sleep_line;
	int atomic_depth; /* open kmap_atomic sections, lowmem ones included */
	int nlocal, localcap; /* stack entries and reused slots, oldest first */
	struct local_ent *local;
};

struct slot {
	uint64_t pfn;   /* meaningful when count > 0 */
	unsigned count; /* pkmap_count[]: 0 free, 1 free but mapped, n>1 n-1 users */
};

struct waitq {
	int *tasks;
	int n, cap;
};

struct mempage {
	uint64_t pfn;
	uint8_t *bytes; /* NULL: empty bucket */
};

/* A vmap area (its pages and a guard page), a vm_map_ram area of its
 * own (its pages), or a vm_map_ram piece of a block (the block holds its
 * pages); lazy: unmapped, its range not yet released. */
enum vm_kind { VM_VMAP, VM_RAM, VM_PIECE };
struct vm_area {
	char *name;
	uint64_t *pfns;
	size_t n;
	uint64_t start;   /* page index in the vmalloc area */
	int lazy;
	enum vm_kind kind;
	size_t block;     /* VM_PIECE: index in blocks */
};

/* A vmap block: [start, start + B); pages [0, B - free) handed out, dirty
 * of them unmapped; on the (one CPU's) queue while live with free pages;
 * lazy once freed, gone once released. */
struct vm_block {
	uint64_t start;
	uint64_t free, dirty;
	int lazy, gone;
};

struct ref_model {
	enum ref_profile profile;
	uint64_t page_offset;
	uint64_t first_pfn, max_pfn;
	/* holes: pfns [hole_a[i], hole_b[i]) are no RAM */
	size_t nholes;
	uint64_t hole_a[REF_MAX_HOLES], hole_b[REF_MAX_HOLES];
	uint64_t highmem_start;
	unsigned last_pkmap; /* LAST_PKMAP */
	unsigned colors;     /* N */
	uint64_t pkmap_base, local_base;
	FILE *out;

	struct slot *slots;
	unsigned *cursor; /* per colour */
	struct waitq *wq; /* per colour */

	struct task *tasks;
	int ntasks, taskcap;

	/* Physical memory: only pages ever written, open addressing. */
	struct mempage *mem;
	size_t memcap, memused;

	/* Summary counters. */
	long ops, errors, n_new, n_hits, n_lowmem, flushes, tlb_flushes, sleeps;

	/* vmap: the area [vm_start, vm_start + vm_pages pages); areas live
	 * and lazily freed, in vmap order */
	uint64_t vm_start, vm_pages, lazy_pages;
	struct vm_area *areas;
	size_t nareas, areacap;
	int vm_used, ram_used;
	long vmaps, vunmaps, purges, vm_map_rams, vm_unmap_rams;
	/* vm_map_ram: blocks of block_pages pages, in the order made */
	uint64_t block_pages;
	struct vm_block *blocks;
	size_t nblocks, blockcap;
};

uint64_t ref_layout_highmem_start(enum ref_profile profile, uint64_t pkmap_base)
{
	const struct ref_profile_info *pi = &ref_profiles[profile];
	const uint64_t vmalloc_reserve = 128ull << 20;

	if (profile != REF_X86_32 && profile != REF_X86_32_PAE)
		return pi->highmem_start;
	uint64_t vmalloc_end = pkmap_base - 2 * REF_PAGE_SIZE;
	if (vmalloc_end < pi->page_offset + vmalloc_reserve)
		return 0;
	return (vmalloc_end - pi->page_offset - vmalloc_reserve) / REF_PAGE_SIZE;
}

struct ref_model *ref_new(enum ref_profile profile, uint64_t mem,
			  unsigned last_pkmap, unsigned colors, uint64_t highmem_start,
			  uint64_t pkmap_base, uint64_t local_base, FILE *out)
{
	struct ref_model *m = xcalloc(1, sizeof(*m));

	m->profile = profile;
	m->page_offset = ref_profiles[profile].page_offset;
	m->first_pfn = ref_profiles[profile].first_pfn;
	m->max_pfn = m->first_pfn + mem / REF_PAGE_SIZE;
	m->highmem_start = highmem_start < m->max_pfn ? highmem_start : m->max_pfn;
	m->last_pkmap = last_pkmap;
	m->colors = colors;
	m->pkmap_base = pkmap_base;
	m->local_base = local_base;
	m->out = out;
	m->slots = xcalloc(last_pkmap, sizeof(*m->slots));
	m->cursor = xcalloc(colors, sizeof(*m->cursor));
	m->wq = xcalloc(colors, sizeof(*m->wq));
	/* the vmalloc area, after lowmem and an 8 MiB hole */
	const uint64_t off8 = 8ull << 20;
	uint64_t high_memory = m->page_offset +
			       (m->highmem_start - m->first_pfn) * REF_PAGE_SIZE;
	uint64_t vm_end;
	if (profile == REF_X86_32 || profile == REF_X86_32_PAE) {
		m->vm_start = high_memory + off8;
		vm_end = pkmap_base - 2 * REF_PAGE_SIZE;
	} else {
		m->vm_start = (high_memory + off8) & ~(off8 - 1);
		vm_end = 0xff800000u;
	}
	m->vm_pages = vm_end > m->vm_start ? (vm_end - m->vm_start) / REF_PAGE_SIZE : 0;
	/* the block: 128 MiB of 4 KiB pages / NR_CPUS (rounded up to a power
	 * of two) / 16, kept within 64..1024; NR_CPUS is 32 on the x86
	 * profiles, 8 on ARM, 1 on arm-marvell */
	unsigned nr_cpus = profile == REF_X86_32 || profile == REF_X86_32_PAE ? 32 :
			   profile == REF_ARM_MARVELL ? 1 : 8;
	uint64_t b = (128ull << 20) / REF_PAGE_SIZE / nr_cpus / 16;
	m->block_pages = b < 64 ? 64 : b > 1024 ? 1024 : b;
	return m;
}

void ref_free(struct ref_model *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->ntasks; i++) {
		free(m->tasks[i].name);
		free(m->tasks[i].local);
	}
	free(m->tasks);
	for (unsigned c = 0; c < m->colors; c++)
		free(m->wq[c].tasks);
	free(m->wq);
	free(m->cursor);
	free(m->slots);
	for (size_t i = 0; i < m->memcap; i++)
		free(m->mem[i].bytes);
	free(m->mem);
	for (size_t i = 0; i < m->nareas; i++) {
		free(m->areas[i].name);
		free(m->areas[i].pfns);
	}
	free(m->areas);
	free(m->blocks);
	free(m);
}

int ref_task(struct ref_model *m, const char *name)
{
	for (int i = 0; i < m->ntasks; i++)
		if (strcmp(m->tasks[i].name, name) == 0)
			return i;
	if (m->ntasks == m->taskcap) {
		m->taskcap = m->taskcap ? 2 * m->taskcap : 8;
		m->tasks = xrealloc(m->tasks, (size_t)m->taskcap * sizeof(*m->tasks));
	}
	struct task *t = &m->tasks[m->ntasks];
	memset(t, 0, sizeof(*t));
	size_t n = strlen(name);
	t->name = xmalloc(n + 1);
	memcpy(t->name, name, n + 1);
	return m->ntasks++;
}

int ref_ntasks(const struct ref_model *m) { return m->ntasks; }
const char *ref_task_name(const struct ref_model *m, int task) { return m->tasks[task].name; }
uint64_t ref_max_pfn(const struct ref_model *m) { return m->max_pfn; }

void ref_set_holes(struct ref_model *m, size_t n, const uint64_t *a,
		   const uint64_t *b)
{
	m->nholes = n < REF_MAX_HOLES ? n : REF_MAX_HOLES;
	for (size_t i = 0; i < m->nholes; i++) {
		m->hole_a[i] = a[i];
		m->hole_b[i] = b[i];
	}
}

int ref_in_hole(const struct ref_model *m, uint64_t pfn)
{
	for (size_t i = 0; i < m->nholes; i++)
		if (pfn >= m->hole_a[i] && pfn < m->hole_b[i])
			return 1;
	return 0;
}
uint64_t ref_highmem_start(const struct ref_model *m) { return m->highmem_start; }
int ref_task_asleep(const struct ref_model *m, int task) { return m->tasks[task].asleep; }
uint64_t ref_task_sleep_pfn(const struct ref_model *m, int task) { return m->tasks[task].sleep_pfn; }
int ref_task_atomic_depth(const struct ref_model *m, int task) { return m->tasks[task].atomic_depth; }
int ref_task_nlocal(const struct ref_model *m, int task) { return m->tasks[task].nlocal; }
uint64_t ref_task_local_pfn(const struct ref_model *m, int task, int i) { return m->tasks[task].local[i].pfn; }
int ref_task_local_atomic(const struct ref_model *m, int task, int i) { return m->tasks[task].local[i].atomic; }

/* ------------------------------------------------------------ memory ---- */

static size_t mem_hash(uint64_t pfn, size_t cap)
{
	return (size_t)((pfn * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

static uint8_t *mem_find(const struct ref_model *m, uint64_t pfn)
{
	if (!m->memcap)
		return NULL;
	for (size_t i = mem_hash(pfn, m->memcap);; i = (i + 1) & (m->memcap - 1)) {
		if (!m->mem[i].bytes)
			return NULL;
		if (m->mem[i].pfn == pfn)
			return m->mem[i].bytes;
	}
}

static uint8_t *mem_get(struct ref_model *m, uint64_t pfn)
{
	uint8_t *p = mem_find(m, pfn);
	if (p)
		return p;
	if (2 * (m->memused + 1) > m->memcap) {
		size_t ncap = m->memcap ? 2 * m->memcap : 64;
		struct mempage *nm = xcalloc(ncap, sizeof(*nm));
		for (size_t i = 0; i < m->memcap; i++) {
			if (!m->mem[i].bytes)
				continue;
			size_t j = mem_hash(m->mem[i].pfn, ncap);
			while (nm[j].bytes)
				j = (j + 1) & (ncap - 1);
			nm[j] = m->mem[i];
		}
		free(m->mem);
		m->mem = nm;
		m->memcap = ncap;
	}
	size_t i = mem_hash(pfn, m->memcap);
	while (m->mem[i].bytes)
		i = (i + 1) & (m->memcap - 1);
	m->mem[i].pfn = pfn;
	m->mem[i].bytes = xcalloc(REF_PAGE_SIZE, 1);
	m->memused++;
	return m->mem[i].bytes;
}

/* ------------------------------------------------------------ output ---- */

static void emit(struct ref_model *m, const char *fmt, ...)
{
	if (!m->out)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(m->out, fmt, ap);
	va_end(ap);
}

static int is_lowmem(const struct ref_model *m, uint64_t pfn)
{
	return pfn < m->highmem_start;
}

static uint64_t lowmem_vaddr(const struct ref_model *m, uint64_t pfn)
{
	return m->page_offset + (pfn - m->first_pfn) * REF_PAGE_SIZE;
}

static uint64_t pkmap_vaddr(const struct ref_model *m, unsigned slot)
{
	return m->pkmap_base + (uint64_t)slot * REF_PAGE_SIZE;
}

/* A stack index's slot: with colours, one per colour, the highest first. */
static uint64_t local_vaddr(const struct ref_model *m, int idx, uint64_t pfn)
{
	unsigned c = (unsigned)(pfn % m->colors);
	return m->local_base -
	       ((uint64_t)idx * m->colors + m->colors - 1 - c) * REF_PAGE_SIZE;
}

/* The common head of an operation record: up to and including "pfn"
 * (and "offset","len" for read/write). */
static void rec_head(struct ref_model *m, long line, int task, enum ref_op op,
		     uint64_t pfn, uint64_t offset, size_t len)
{
	emit(m, "{\"line\":%ld,\"task\":\"%s\",\"op\":\"%s\"", line,
	     m->tasks[task].name, ref_op_names[op]);
	if (op != REF_FLUSH_UNUSED)
		emit(m, ",\"pfn\":%llu", (unsigned long long)pfn);
	if (op == REF_WRITE || op == REF_READ)
		emit(m, ",\"offset\":%llu,\"len\":%llu", (unsigned long long)offset,
		     (unsigned long long)len);
}

static void rec_tail(struct ref_model *m, int resumed)
{
	if (resumed)
		emit(m, ",\"resumed\":true");
	emit(m, "}\n");
}

static enum ref_result rec_error(struct ref_model *m, long line, int task,
				 enum ref_op op, uint64_t pfn, uint64_t offset,
				 size_t len, const char *msg)
{
	rec_head(m, line, task, op, pfn, offset, len);
	emit(m, ",\"result\":\"error\",\"error\":\"%s\"}\n", msg);
	m->errors++;
	return REF_ERROR;
}

/* -------------------------------------------------------------- pkmap --- */

static int pkmap_lookup(const struct ref_model *m, uint64_t pfn)
{
	for (unsigned s = 0; s < m->last_pkmap; s++)
		if (m->slots[s].count > 0 && m->slots[s].pfn == pfn)
			return (int)s;
	return -1;
}

unsigned ref_pkmap_count(const struct ref_model *m, uint64_t pfn)
{
	int s = pkmap_lookup(m, pfn);
	return s < 0 ? 0 : m->slots[s].count;
}

int ref_kmap_would_sleep(const struct ref_model *m, uint64_t pfn)
{
	if (pkmap_lookup(m, pfn) >= 0)
		return 0;
	/* map_new_virtual() probes a whole round of the colour's slots after
	 * the wrap's flush, so it only fails when none has a count below 2. */
	for (unsigned s = (unsigned)(pfn % m->colors); s < m->last_pkmap; s += m->colors)
		if (m->slots[s].count < 2)
			return 0;
	return 1;
}

/* flush_all_zero_pkmaps(): every slot with count 1 goes back to 0. */
static void flush_all_zero_pkmaps(struct ref_model *m)
{
	int any = 0;
	m->flushes++;
	emit(m, "{\"event\":\"flush\",\"cleared\":[");
	for (unsigned i = 0; i < m->last_pkmap; i++) {
		if (m->slots[i].count != 1)
			continue;
		m->slots[i].count = 0; /* pte_clear + set_page_address(page, NULL) */
		emit(m, "%s%u", any ? "," : "", i);
		any = 1;
	}
	if (any)
		m->tlb_flushes++;
	emit(m, "],\"tlb_flush\":%s}\n", any ? "true" : "false");
}

static void waitq_push(struct waitq *q, int task)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? 2 * q->cap : 8;
		q->tasks = xrealloc(q->tasks, (size_t)q->cap * sizeof(*q->tasks));
	}
	q->tasks[q->n++] = task;
}

/*
 * kmap_high() with map_new_virtual() inlined. Emits the record (ok or
 * sleep) for line/task, with "resumed" when this is a retry after a wake-up.
 */
static enum ref_result kmap_high(struct ref_model *m, long line, int task,
				 uint64_t pfn, int resumed)
{
	struct task *t = &m->tasks[task];
	int s = pkmap_lookup(m, pfn); /* page_address(page) */
	const char *how = "hit";

	if (s < 0) {
		/* map_new_virtual() */
		unsigned n = m->colors, mask = m->last_pkmap - 1;
		unsigned color = (unsigned)(pfn % n);
		unsigned count = m->last_pkmap / n; /* get_pkmap_entries_count */
		unsigned nr;

		for (;;) {
			m->cursor[color] = (m->cursor[color] + n) & mask;
			nr = m->cursor[color] + color;
			if (nr < n) { /* no_more_pkmaps */
				flush_all_zero_pkmaps(m);
				count = m->last_pkmap / n;
			}
			if (!m->slots[nr].count)
				break; /* found a usable entry */
			if (--count)
				continue;
			/* Sleep on this colour's queue. */
			t->asleep = 1;
			t->sleep_pfn = pfn;
			t->sleep_line = line;
			waitq_push(&m->wq[color], task);
			m->sleeps++;
			rec_head(m, line, task, REF_KMAP, pfn, 0, 0);
			emit(m, ",\"result\":\"sleep\"");
			rec_tail(m, resumed);
			return REF_SLEEP;
		}
		m->slots[nr].pfn = pfn;
		m->slots[nr].count = 1;
		s = (int)nr;
		how = "new";
		m->n_new++;
	} else {
		m->n_hits++;
	}
	m->slots[s].count++;
	rec_head(m, line, task, REF_KMAP, pfn, 0, 0);
	emit(m, ",\"result\":\"ok\",\"how\":\"%s\",\"slot\":%d,\"vaddr\":\"0x%llx\"",
	     how, s, (unsigned long long)pkmap_vaddr(m, (unsigned)s));
	rec_tail(m, resumed);
	return REF_OK;
}

/* Wake every task asleep on colour c; each retries, in queue order. */
static void wake_colour(struct ref_model *m, unsigned c)
{
	struct waitq *q = &m->wq[c];
	int n = q->n;
	if (!n)
		return;
	int *woken = xmalloc((size_t)n * sizeof(*woken));
	memcpy(woken, q->tasks, (size_t)n * sizeof(*woken));
	q->n = 0;
	for (int i = 0; i < n; i++) {
		struct task *t = &m->tasks[woken[i]];
		t->asleep = 0;
		kmap_high(m, t->sleep_line, woken[i], t->sleep_pfn, 1);
	}
	free(woken);
}

/* ---------------------------------------------------------------- ops --- */

static enum ref_result op_kmap(struct ref_model *m, long line, int task, uint64_t pfn)
{
	struct task *t = &m->tasks[task];
	if (t->atomic_depth > 0)
		return rec_error(m, line, task, REF_KMAP, pfn, 0, 0, "sleeping in atomic context");
	if (is_lowmem(m, pfn)) {
		m->n_lowmem++;
		rec_head(m, line, task, REF_KMAP, pfn, 0, 0);
		emit(m, ",\"result\":\"ok\",\"how\":\"lowmem\",\"vaddr\":\"0x%llx\"}\n",
		     (unsigned long long)lowmem_vaddr(m, pfn));
		return REF_OK;
	}
	return kmap_high(m, line, task, pfn, 0);
}

static enum ref_result op_kunmap(struct ref_model *m, long line, int task, uint64_t pfn)
{
	struct task *t = &m->tasks[task];
	if (t->atomic_depth > 0)
		return rec_error(m, line, task, REF_KUNMAP, pfn, 0, 0, "sleeping in atomic context");
	if (is_lowmem(m, pfn)) {
		rec_head(m, line, task, REF_KUNMAP, pfn, 0, 0);
		emit(m, ",\"result\":\"ok\",\"how\":\"lowmem\"}\n");
		return REF_OK;
	}
	int s = pkmap_lookup(m, pfn);
	if (s < 0)
		return rec_error(m, line, task, REF_KUNMAP, pfn, 0, 0, "page is not mapped");
	if (m->slots[s].count == 1)
		return rec_error(m, line, task, REF_KUNMAP, pfn, 0, 0, "page has no users");
	m->slots[s].count--;
	rec_head(m, line, task, REF_KUNMAP, pfn, 0, 0);
	emit(m, ",\"result\":\"ok\",\"slot\":%d}\n", s);
	if (m->slots[s].count == 1)
		wake_colour(m, (unsigned)(pfn % m->colors));
	return REF_OK;
}

/* Entries of @t's local stack (not the reused window slots). */
static int stack_depth(const struct task *t)
{
	int n = 0;
	for (int i = 0; i < t->nlocal; i++)
		n += !t->local[i].pk;
	return n;
}

static struct local_ent *local_push(struct task *t)
{
	if (t->nlocal == t->localcap) {
		t->localcap = t->localcap ? 2 * t->localcap : 16;
		t->local = xrealloc(t->local, (size_t)t->localcap * sizeof(*t->local));
	}
	return &t->local[t->nlocal++];
}

static enum ref_result op_kmap_local(struct ref_model *m, long line, int task,
				     enum ref_op op, uint64_t pfn)
{
	struct task *t = &m->tasks[task];
	int atomic = op == REF_KMAP_ATOMIC;
	if (is_lowmem(m, pfn)) {
		if (atomic)
			t->atomic_depth++;
		m->n_lowmem++;
		rec_head(m, line, task, op, pfn, 0, 0);
		emit(m, ",\"result\":\"ok\",\"how\":\"lowmem\",\"vaddr\":\"0x%llx\"}\n",
		     (unsigned long long)lowmem_vaddr(m, pfn));
		return REF_OK;
	}
	int s = pkmap_lookup(m, pfn);
	if (ref_profiles[m->profile].high_get && s >= 0) {
		/* the page is in the window: take a user of its slot there */
		m->slots[s].count++;
		m->n_hits++;
		struct local_ent *e = local_push(t);
		*e = (struct local_ent){ pfn, atomic, 1, (unsigned)s };
		if (atomic)
			t->atomic_depth++;
		rec_head(m, line, task, op, pfn, 0, 0);
		emit(m, ",\"result\":\"ok\",\"how\":\"hit\",\"slot\":%d,\"vaddr\":\"0x%llx\"}\n",
		     s, (unsigned long long)pkmap_vaddr(m, (unsigned)s));
		return REF_OK;
	}
	int idx = stack_depth(t);
	if (idx >= REF_LOCAL_MAX)
		return rec_error(m, line, task, op, pfn, 0, 0, "too many local mappings (15 at most)");
	struct local_ent *e = local_push(t);
	*e = (struct local_ent){ pfn, atomic, 0, 0 };
	if (atomic)
		t->atomic_depth++;
	rec_head(m, line, task, op, pfn, 0, 0);
	emit(m, ",\"result\":\"ok\",\"how\":\"local\",\"slot\":%d,\"vaddr\":\"0x%llx\"}\n",
	     idx, (unsigned long long)local_vaddr(m, idx, pfn));
	return REF_OK;
}

static void local_remove(struct task *t, int i)
{
	for (int j = i; j + 1 < t->nlocal; j++)
		t->local[j] = t->local[j + 1];
	t->nlocal--;
}

static enum ref_result op_kunmap_local(struct ref_model *m, long line, int task,
				       enum ref_op op, uint64_t pfn)
{
	struct task *t = &m->tasks[task];
	int atomic = op == REF_KUNMAP_ATOMIC;
	if (atomic && t->atomic_depth == 0)
		return rec_error(m, line, task, op, pfn, 0, 0, "no atomic section open");
	if (is_lowmem(m, pfn)) {
		if (atomic)
			t->atomic_depth--;
		rec_head(m, line, task, op, pfn, 0, 0);
		emit(m, ",\"result\":\"ok\",\"how\":\"lowmem\"}\n");
		return REF_OK;
	}
	/* the task's newest local mapping of the page */
	int i = t->nlocal - 1;
	while (i >= 0 && t->local[i].pfn != pfn)
		i--;
	if (i < 0)
		return rec_error(m, line, task, op, pfn, 0, 0, "no local mapping of the page");
	if (t->local[i].pk) {
		/* a window address: kunmap_high() of whatever its slot maps now */
		unsigned s = t->local[i].slot;
		if (!m->slots[s].count)
			return rec_error(m, line, task, op, pfn, 0, 0, "page is not mapped");
		if (m->slots[s].count < 2)
			return rec_error(m, line, task, op, pfn, 0, 0, "page has no users");
		m->slots[s].count--;
		local_remove(t, i);
		if (atomic)
			t->atomic_depth--;
		rec_head(m, line, task, op, pfn, 0, 0);
		emit(m, ",\"result\":\"ok\",\"slot\":%u}\n", s);
		if (m->slots[s].count == 1)
			wake_colour(m, (unsigned)(m->slots[s].pfn % m->colors));
		return REF_OK;
	}
	int top = t->nlocal - 1;
	while (t->local[top].pk)
		top--;
	if (top != i)
		return rec_error(m, line, task, op, pfn, 0, 0, "not the newest local mapping");
	if (t->local[i].atomic != atomic)
		return rec_error(m, line, task, op, pfn, 0, 0, "local mapping of the other kind");
	int idx = 0;
	for (int j = 0; j < i; j++)
		idx += !t->local[j].pk;
	local_remove(t, i);
	if (atomic)
		t->atomic_depth--;
	rec_head(m, line, task, op, pfn, 0, 0);
	emit(m, ",\"result\":\"ok\",\"slot\":%d}\n", idx);
	return REF_OK;
}

static int has_live_mapping(const struct ref_model *m, int task, uint64_t pfn)
{
	if (is_lowmem(m, pfn))
		return 1;
	if (ref_pkmap_count(m, pfn) >= 2)
		return 1;
	const struct task *t = &m->tasks[task];
	for (int i = 0; i < t->nlocal; i++)
		if (t->local[i].pfn == pfn && !t->local[i].pk)
			return 1;
	for (size_t i = 0; i < m->nareas; i++)
		for (size_t j = 0; !m->areas[i].lazy && j < m->areas[i].n; j++)
			if (m->areas[i].pfns[j] == pfn)
				return 1;
	return 0;
}

static enum ref_result op_rw(struct ref_model *m, long line, int task, enum ref_op op,
			     uint64_t pfn, uint64_t offset, const uint8_t *data, size_t len)
{
	if (offset >= REF_PAGE_SIZE || offset + len > REF_PAGE_SIZE)
		return rec_error(m, line, task, op, pfn, offset, len, "past the end of the page");
	if (!has_live_mapping(m, task, pfn))
		return rec_error(m, line, task, op, pfn, offset, len, "no live mapping of the page");
	rec_head(m, line, task, op, pfn, offset, len);
	if (op == REF_WRITE) {
		if (len)
			memcpy(mem_get(m, pfn) + offset, data, len);
		emit(m, ",\"result\":\"ok\"}\n");
	} else {
		const uint8_t *p = mem_find(m, pfn);
		emit(m, ",\"result\":\"ok\",\"data\":\"");
		for (size_t i = 0; i < len; i++)
			emit(m, "%02x", p ? p[offset + i] : 0);
		emit(m, "\"}\n");
	}
	return REF_OK;
}

/* -------------------------------------------------------------- vmap --- */

int ref_area_live(const struct ref_model *m, const char *area)
{
	for (size_t i = 0; i < m->nareas; i++)
		if (!m->areas[i].lazy && strcmp(m->areas[i].name, area) == 0)
			return 1;
	return 0;
}

int ref_area_ram(const struct ref_model *m, const char *area)
{
	for (size_t i = 0; i < m->nareas; i++)
		if (!m->areas[i].lazy && strcmp(m->areas[i].name, area) == 0)
			return m->areas[i].kind != VM_VMAP;
	return 0;
}

uint64_t ref_vmalloc_pages(const struct ref_model *m) { return m->vm_pages; }

/* A taken range of the vmalloc area: an area (not a piece), or a block
 * not yet released. */
struct range {
	uint64_t start, len;
};

static uint64_t area_len(const struct vm_area *a)
{
	return a->kind == VM_VMAP ? a->n + 1 : a->n;
}

/* The taken ranges by address: a new array, its length in *n. */
static struct range *taken(const struct ref_model *m, size_t *n)
{
	struct range *v = xcalloc(m->nareas + m->nblocks + 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < m->nareas; i++)
		if (m->areas[i].kind != VM_PIECE)
			v[k++] = (struct range){ m->areas[i].start, area_len(&m->areas[i]) };
	for (size_t i = 0; i < m->nblocks; i++)
		if (!m->blocks[i].gone)
			v[k++] = (struct range){ m->blocks[i].start, m->block_pages };
	for (size_t i = 1; i < k; i++) /* insertion sort: few ranges */
		for (size_t j = i; j && v[j - 1].start > v[j].start; j--) {
			struct range t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*n = k;
	return v;
}

uint64_t ref_vmalloc_used(const struct ref_model *m)
{
	size_t n;
	struct range *v = taken(m, &n);
	uint64_t used = 0;
	for (size_t i = 0; i < n; i++)
		used += v[i].len;
	free(v);
	return used;
}

/*
 * The lowest page index for @need pages aligned to @align pages (1: any):
 * the first gap between taken ranges of at least need + align - 1 pages,
 * at its first address aligned to align pages; -1 when none.
 */
static int64_t lowest_gap(struct ref_model *m, uint64_t need, uint64_t align)
{
	size_t n;
	struct range *v = taken(m, &n);
	uint64_t at = 0;
	int64_t found = -1;
	for (size_t i = 0; i <= n; i++) {
		uint64_t next = i < n ? v[i].start : m->vm_pages;
		if (next >= at && next - at >= need + align - 1) {
			uint64_t bytes = align * REF_PAGE_SIZE;
			uint64_t a = (m->vm_start + at * REF_PAGE_SIZE + bytes - 1) /
				     bytes * bytes;
			found = (int64_t)((a - m->vm_start) / REF_PAGE_SIZE);
			break;
		}
		if (i < n)
			at = v[i].start + v[i].len;
	}
	free(v);
	return found;
}

static int by_start(const void *a, const void *b)
{
	const struct vm_area *x = *(const struct vm_area *const *)a;
	const struct vm_area *y = *(const struct vm_area *const *)b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Released by this purge: lazy, and a piece only with its block. */
static int goes(const struct ref_model *m, const struct vm_area *a)
{
	return a->lazy && (a->kind != VM_PIECE || m->blocks[a->block].lazy);
}

/* On the queue: live, with free pages. */
static int queued(const struct vm_block *b)
{
	return !b->lazy && !b->gone && b->free > 0;
}

/*
 * A purge: with @blocks (on no room, vm_unmap_aliases), every queued
 * block with nothing mapped in it is made lazy first; then every lazy
 * area and block goes, in one event naming the areas by address (a piece
 * with its block). A TLB flush when anything went, or, for
 * vm_unmap_aliases (@dirt), when a queued block had dirt.
 */
static void purge(struct ref_model *m, const char *reason, int blocks, int dirt)
{
	int flush = 0;
	for (size_t i = 0; dirt && i < m->nblocks; i++)
		flush |= queued(&m->blocks[i]) && m->blocks[i].dirty > 0;
	for (size_t i = 0; blocks && i < m->nblocks; i++) {
		struct vm_block *b = &m->blocks[i];
		if (queued(b) && b->dirty == m->block_pages - b->free)
			b->lazy = 1;
	}
	for (size_t i = 0; i < m->nblocks; i++)
		flush |= m->blocks[i].lazy && !m->blocks[i].gone;
	struct vm_area **v = xcalloc(m->nareas + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < m->nareas; i++) {
		if (goes(m, &m->areas[i]))
			v[n++] = &m->areas[i];
		flush |= m->areas[i].lazy && m->areas[i].kind != VM_PIECE;
	}
	qsort(v, n, sizeof(*v), by_start);
	emit(m, "{\"event\":\"purge\",\"areas\":[");
	for (size_t i = 0; i < n; i++)
		emit(m, "%s\"%s\"", i ? "," : "", v[i]->name);
	emit(m, "],\"tlb_flush\":%s,\"reason\":\"%s\"}\n",
	     flush ? "true" : "false", reason);
	free(v);
	size_t kept = 0;
	for (size_t i = 0; i < m->nareas; i++) {
		if (goes(m, &m->areas[i])) {
			free(m->areas[i].name);
			free(m->areas[i].pfns);
		} else {
			m->areas[kept++] = m->areas[i];
		}
	}
	m->nareas = kept;
	for (size_t i = 0; i < m->nblocks; i++)
		if (m->blocks[i].lazy)
			m->blocks[i].gone = 1;
	m->lazy_pages = 0;
	m->purges++;
}

/* Pages lazily freed; past 8192, a purge. */
static void lazy_add(struct ref_model *m, uint64_t pages)
{
	m->lazy_pages += pages;
	if (m->lazy_pages > 8192)
		purge(m, "lazy_max_pages", 0, 0);
}

static void vm_head(struct ref_model *m, long line, int task, enum ref_op op,
		    const char *area, const uint64_t *pfns, size_t n)
{
	emit(m, "{\"line\":%ld,\"task\":\"%s\",\"op\":\"%s\"",
	     line, m->tasks[task].name, ref_op_names[op]);
	if (op == REF_VM_UNMAP_ALIASES)
		return;
	emit(m, ",\"area\":\"%s\"", area);
	if (op == REF_VMAP || op == REF_VM_MAP_RAM) {
		emit(m, ",\"pages\":[");
		for (size_t i = 0; i < n; i++)
			emit(m, "%s%llu", i ? "," : "", (unsigned long long)pfns[i]);
		emit(m, "]");
	}
}

static enum ref_result vm_error(struct ref_model *m, long line, int task,
				enum ref_op op, const char *area,
				const uint64_t *pfns, size_t n, const char *msg)
{
	vm_head(m, line, task, op, area, pfns, n);
	emit(m, ",\"result\":\"error\",\"error\":\"%s\"}\n", msg);
	m->errors++;
	return REF_ERROR;
}

static enum ref_result vm_ok(struct ref_model *m, long line, int task,
			     enum ref_op op, const char *area,
			     const uint64_t *pfns, size_t n, uint64_t start)
{
	vm_head(m, line, task, op, area, pfns, n);
	emit(m, ",\"result\":\"ok\",\"vaddr\":\"0x%llx\"}\n",
	     (unsigned long long)(m->vm_start + start * REF_PAGE_SIZE));
	return REF_OK;
}

/* Where a vm_map_ram of @n pages goes: a piece of the first queued block
 * with room for n rounded up to a power of two, or of a new block; or an
 * area of its own. -1 when there is no room. */
static int64_t ram_place(struct ref_model *m, size_t n, size_t *block)
{
	if (n > 32)
		return lowest_gap(m, n, 1);
	uint64_t p = 1;
	while (p < n)
		p *= 2;
	for (size_t i = 0; i < m->nblocks; i++) {
		struct vm_block *b = &m->blocks[i];
		if (!queued(b) || b->free < p)
			continue;
		uint64_t at = b->start + (m->block_pages - b->free);
		b->free -= p;
		*block = i;
		return (int64_t)at;
	}
	int64_t at = lowest_gap(m, m->block_pages, m->block_pages);
	if (at < 0)
		return -1;
	if (m->nblocks == m->blockcap) {
		m->blockcap = m->blockcap ? 2 * m->blockcap : 16;
		m->blocks = xrealloc(m->blocks, m->blockcap * sizeof(*m->blocks));
	}
	m->blocks[m->nblocks] = (struct vm_block){
		.start = (uint64_t)at, .free = m->block_pages - p };
	*block = m->nblocks++;
	return at;
}

enum ref_result ref_exec_vmap(struct ref_model *m, long line, int task,
			      enum ref_op op, const char *area,
			      const uint64_t *pfns, size_t n)
{
	struct task *t = &m->tasks[task];
	int ram = op == REF_VM_MAP_RAM || op == REF_VM_UNMAP_RAM;
	m->ops++;
	m->vm_used = 1;
	m->ram_used |= ram;
	if (t->asleep)
		return vm_error(m, line, task, op, area, pfns, n, "task is asleep");
	if (op == REF_VM_UNMAP_ALIASES) {
		if (t->atomic_depth > 0)
			return vm_error(m, line, task, op, area, pfns, n,
					"sleeping in atomic context");
		purge(m, "aliases", 1, 1);
		vm_head(m, line, task, op, area, pfns, n);
		emit(m, ",\"result\":\"ok\"}\n");
		return REF_OK;
	}
	if (op == REF_VUNMAP || op == REF_VM_UNMAP_RAM) {
		struct vm_area *a = NULL;
		for (size_t i = 0; i < m->nareas && !a; i++)
			if (!m->areas[i].lazy && strcmp(m->areas[i].name, area) == 0)
				a = &m->areas[i];
		if (!a)
			return vm_error(m, line, task, op, area, pfns, n, "no such area");
		if (t->atomic_depth > 0)
			return vm_error(m, line, task, op, area, pfns, n,
					"sleeping in atomic context");
		if (ram != (a->kind != VM_VMAP))
			return vm_error(m, line, task, op, area, pfns, n, ram ?
					"area made by vmap" : "area made by vm_map_ram");
		a->lazy = 1;
		uint64_t start = a->start;
		if (ram)
			m->vm_unmap_rams++;
		else
			m->vunmaps++;
		if (a->kind == VM_PIECE) {
			struct vm_block *b = &m->blocks[a->block];
			uint64_t p = 1;
			while (p < a->n)
				p *= 2;
			b->dirty += p;
			if (b->dirty == m->block_pages) {
				b->lazy = 1;
				lazy_add(m, m->block_pages);
			}
		} else {
			lazy_add(m, area_len(a));
		}
		return vm_ok(m, line, task, op, area, pfns, n, start);
	}
	if (ref_area_live(m, area))
		return vm_error(m, line, task, op, area, pfns, n, "area name in use");
	for (size_t i = 0; i < n; i++) {
		if (pfns[i] < m->first_pfn || pfns[i] >= m->max_pfn)
			return vm_error(m, line, task, op, area, pfns, n, "pfn beyond memory");
		if (ref_in_hole(m, pfns[i]))
			return vm_error(m, line, task, op, area, pfns, n, "pfn in a hole");
	}
	if (t->atomic_depth > 0)
		return vm_error(m, line, task, op, area, pfns, n, "sleeping in atomic context");
	if (!ram && n > m->max_pfn - m->first_pfn)
		return vm_error(m, line, task, op, area, pfns, n, "Invalid argument");
	size_t block = 0;
	int64_t at = ram ? ram_place(m, n, &block) : lowest_gap(m, n + 1, 1);
	if (at < 0) {
		purge(m, "no_room", 1, 0);
		at = ram ? ram_place(m, n, &block) : lowest_gap(m, n + 1, 1);
		if (at < 0)
			return vm_error(m, line, task, op, area, pfns, n,
					"no room in the vmalloc area");
	}
	if (m->nareas == m->areacap) {
		m->areacap = m->areacap ? 2 * m->areacap : 16;
		m->areas = xrealloc(m->areas, m->areacap * sizeof(*m->areas));
	}
	struct vm_area *a = &m->areas[m->nareas++];
	a->name = xmalloc(strlen(area) + 1);
	strcpy(a->name, area);
	a->pfns = xmalloc(n * sizeof(*pfns) + 1);
	memcpy(a->pfns, pfns, n * sizeof(*pfns));
	a->n = n;
	a->start = (uint64_t)at;
	a->lazy = 0;
	a->kind = !ram ? VM_VMAP : n > 32 ? VM_RAM : VM_PIECE;
	a->block = block;
	if (ram)
		m->vm_map_rams++;
	else
		m->vmaps++;
	return vm_ok(m, line, task, op, area, pfns, n, a->start);
}

enum ref_result ref_exec(struct ref_model *m, long line, int task,
			 enum ref_op op, uint64_t pfn, uint64_t offset,
			 const uint8_t *data, size_t len)
{
	m->ops++;
	if (m->tasks[task].asleep)
		return rec_error(m, line, task, op, pfn, offset, len, "task is asleep");
	if (op != REF_FLUSH_UNUSED && (pfn < m->first_pfn || pfn >= m->max_pfn))
		return rec_error(m, line, task, op, pfn, offset, len, "pfn beyond memory");
	if (op != REF_FLUSH_UNUSED && ref_in_hole(m, pfn))
		return rec_error(m, line, task, op, pfn, offset, len, "pfn in a hole");
	switch (op) {
	case REF_KMAP:
		return op_kmap(m, line, task, pfn);
	case REF_KUNMAP:
		return op_kunmap(m, line, task, pfn);
	case REF_KMAP_LOCAL:
	case REF_KMAP_ATOMIC:
		return op_kmap_local(m, line, task, op, pfn);
	case REF_KUNMAP_LOCAL:
	case REF_KUNMAP_ATOMIC:
		return op_kunmap_local(m, line, task, op, pfn);
	case REF_WRITE:
	case REF_READ:
		return op_rw(m, line, task, op, pfn, offset, data, len);
	case REF_FLUSH_UNUSED:
		flush_all_zero_pkmaps(m);
		rec_head(m, line, task, op, 0, 0, 0);
		emit(m, ",\"result\":\"ok\"}\n");
		return REF_OK;
	case REF_VMAP:
	case REF_VUNMAP:
	case REF_VM_MAP_RAM:
	case REF_VM_UNMAP_RAM:
	case REF_VM_UNMAP_ALIASES:
	case REF_NOPS:
		break;
	}
	fprintf(stderr, "refmodel: bad op %d\n", (int)op);
	exit(2);
}

/*
 * Summary. deadlocked: tasks still asleep, in order of first appearance.
 * leaks: persistent mappings with users (count >= 2) in slot order, then
 * each task's highmem local mappings, tasks in order of first appearance,
 * bottom of the stack first. Exit 0 only with no error, sleeper or leak.
 */
int ref_finish(struct ref_model *m)
{
	int bad = m->errors > 0;
	emit(m, "{\"summary\":{\"ops\":%ld,\"errors\":%ld,\"new\":%ld,\"hits\":%ld,"
		"\"lowmem\":%ld,\"flushes\":%ld,\"tlb_flushes\":%ld,\"sleeps\":%ld",
	     m->ops, m->errors, m->n_new, m->n_hits, m->n_lowmem, m->flushes,
	     m->tlb_flushes, m->sleeps);
	if (m->vm_used) {
		emit(m, ",\"vmaps\":%ld,\"vunmaps\":%ld", m->vmaps, m->vunmaps);
		if (m->ram_used)
			emit(m, ",\"vm_map_rams\":%ld,\"vm_unmap_rams\":%ld",
			     m->vm_map_rams, m->vm_unmap_rams);
		emit(m, ",\"purges\":%ld", m->purges);
	}
	emit(m, ",\"deadlocked\":[");
	int first = 1;
	for (int i = 0; i < m->ntasks; i++) {
		if (!m->tasks[i].asleep)
			continue;
		emit(m, "%s\"%s\"", first ? "" : ",", m->tasks[i].name);
		first = 0;
		bad = 1;
	}
	emit(m, "],\"leaks\":[");
	first = 1;
	for (unsigned s = 0; s < m->last_pkmap; s++) {
		if (m->slots[s].count < 2)
			continue;
		emit(m, "%s{\"pfn\":%llu,\"users\":%u}", first ? "" : ",",
		     (unsigned long long)m->slots[s].pfn, m->slots[s].count - 1);
		first = 0;
		bad = 1;
	}
	for (int i = 0; i < m->ntasks; i++) {
		for (int j = 0; j < m->tasks[i].nlocal; j++) {
			if (m->tasks[i].local[j].pk)
				continue; /* a user of a slot: among the persistent */
			emit(m, "%s{\"task\":\"%s\",\"pfn\":%llu,\"local\":true}",
			     first ? "" : ",", m->tasks[i].name,
			     (unsigned long long)m->tasks[i].local[j].pfn);
			first = 0;
			bad = 1;
		}
	}
	for (size_t i = 0; i < m->nareas; i++) {
		if (m->areas[i].lazy)
			continue;
		emit(m, "%s{\"area\":\"%s\",\"pages\":%zu}", first ? "" : ",",
		     m->areas[i].name, m->areas[i].n);
		first = 0;
		bad = 1;
	}
	emit(m, "]}}\n");
	return bad ? 1 : 0;
}
