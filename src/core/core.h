/*
 * core.h - the freestanding core: machine model, pkmap, local maps.
 *
 * Everything declared here compiles with -ffreestanding: no allocation, no
 * stdio, no locks, no errno. The driver (src/api.c for user space, the
 * project's kernel for bare metal) allocates the arrays, holds the kmap
 * lock around the pkmap calls and decides what waiting means. Names follow
 * the kernel's mm/highmem.c and include/linux/mm.h, with a km__ prefix
 * where they are visible outside one file.
 */
#ifndef KMAP_CORE_H
#define KMAP_CORE_H

#include "kerr.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmap.h"

/* ---------------------------------------------------------------------- */
/* Lists, as the kernel's include/linux/list.h (circular, doubly linked)   */
/* ---------------------------------------------------------------------- */

struct list_head {
	struct list_head *next, *prev;
};

static inline void INIT_LIST_HEAD(struct list_head *h) { h->next = h->prev = h; }
static inline bool list_empty(const struct list_head *h) { return h->next == h; }
static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}
static inline void list_del_init(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	INIT_LIST_HEAD(n);
}
#define km__container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

/* ---------------------------------------------------------------------- */
/* Constants                                                               */
/* ---------------------------------------------------------------------- */

/* 4 KiB pages on every profile (x86 and ARM: PAGE_SHIFT 12). */
#define PAGE_SHIFT 12
#define PAGE_SIZE (1u << PAGE_SHIFT)

/*
 * Local maps: kmap_local_idx_push() BUGs when the index reaches KM_MAX_IDX
 * (16, include/asm-generic/kmap_size.h), so a task holds at most 15.
 */
#define KM_MAX_IDX 16

/* PA_HASH_ORDER 7 in mm/highmem.c: 128 buckets for page_address(). */
#define PA_HASH_ORDER 7
#define PA_HASH_SIZE (1u << PA_HASH_ORDER)

/* ---------------------------------------------------------------------- */
/* Profiles and the memory model                                           */
/* ---------------------------------------------------------------------- */

enum km_arch { KM_ARCH_X86, KM_ARCH_ARM };

struct km_profile {
	const char *name;
	enum km_arch arch;
	uint32_t page_offset;      /* PAGE_OFFSET (CONFIG_PAGE_OFFSET) */
	uint64_t mem_limit;        /* most physical memory the MMU reaches */
	uint64_t default_mem;
	unsigned last_pkmap;       /* LAST_PKMAP */
	unsigned pmd_shift;        /* PMD_SHIFT: PKMAP_BASE alignment (x86) */
	unsigned pte_size;         /* sizeof(pte_t) */
	unsigned struct_page_size; /* the kernel's sizeof(struct page) */
	uint64_t dma_bytes;        /* ZONE_DMA size; 0 = no ZONE_DMA */
	unsigned nr_cpus;          /* NR_CPUS: local-map areas in the fixmap */
};

const struct km_profile *km__profile_find(const char *name);
const struct km_profile *km__profile_at(unsigned i);

/*
 * struct page: only the flags word. As in include/linux/mm.h with FLATMEM
 * and one node, the zone number sits in the top ZONES_WIDTH bits
 * (ZONES_PGSHIFT = 32 - NODES_WIDTH - ZONES_WIDTH, NODES_WIDTH = 0) and the
 * page-flag bits at the bottom.
 */
struct km_page {
	uint32_t flags;
};

#define NODES_WIDTH 0 /* one node: CONFIG_NODES_SHIFT 0, as the seeds' rpi2 */
#define PG_reserved 0u /* bit: not for the allocator (unused so far) */
#define PG_allocated 1u /* bit: taken by km_alloc_page */

struct zone {
	enum km_zone_type type;
	const char *name;
	uint64_t zone_start_pfn, end_pfn; /* spanned == present: no holes */
	uint64_t nr_free;
	uint64_t alloc_cursor;            /* next-fit allocator position */
};

/*
 * struct page_address_map: one per pkmap slot, entered in the hash bucket
 * of its page while the slot maps that page (mm/highmem.c).
 */
struct page_address_map {
	struct km_page *page;
	uintptr_t virtual;
	struct list_head list;
};

/* ---------------------------------------------------------------------- */
/* The backend contract                                                    */
/* ---------------------------------------------------------------------- */

/*
 * Each entry returns 0 or -errno. A failed entry must leave the backend as
 * it was, so the core can report the error and change nothing.
 */
struct km_backend_ops {
	const char *name;
	/* set_pte_at(): map the page at @vaddr to @pfn. */
	int (*set_pte)(void *be, uintptr_t vaddr, uint64_t pfn);
	/* pte_clear() for @nr contiguous pages from @vaddr. */
	int (*clear_ptes)(void *be, uintptr_t vaddr, unsigned nr);
	/* flush_tlb_kernel_range(): drop translations in [start, end). */
	int (*flush_tlb_range)(void *be, uintptr_t start, uintptr_t end);
	/* a single-page flush (local unmaps, task switches) */
	int (*flush_tlb_one)(void *be, uintptr_t vaddr);
	/* copy within one page through the translation of @vaddr */
	int (*access)(void *be, uintptr_t vaddr, void *buf, size_t len,
	              int write);
	/* invariant check of one window page: does the hardware map @pfn
	 * (UINT64_MAX: nothing) at @vaddr, with no stale TLB entry? */
	int (*check_pte)(void *be, uintptr_t vaddr, uint64_t pfn);
	/* counters: single-page flushes and stale translations seen */
	void (*tlb_counts)(void *be, uint64_t *flush_one, uint64_t *stale);
	/* optional (NULL: the areas are fixed): make local-map area @cpu of
	 * KM_MAX_IDX pages, *top being the address of index 0; and give it up */
	int (*local_area)(void *be, unsigned cpu, uintptr_t *top);
	void (*local_area_release)(void *be, unsigned cpu);
};

/* ---------------------------------------------------------------------- */
/* Tasks                                                                   */
/* ---------------------------------------------------------------------- */

enum { KM_KIND_LOCAL = 1, KM_KIND_ATOMIC = 2 };

/*
 * struct kmap_ctrl: a task's stack of local mappings, as in the kernel's
 * task_struct. Entries [0, idx) are live; pteval[i] is pfn + 1.
 */
struct kmap_ctrl {
	int idx;
	uint64_t pteval[KM_MAX_IDX];
	uint8_t kind[KM_MAX_IDX];
};

struct km_task {
	struct kmap_ctrl kmap_ctrl;
	int atomic_depth;            /* open kmap_atomic sections */
	int state;                   /* enum km_task_state */
	bool simulated;              /* false: a thread's own task */
	unsigned wait_color;         /* the queue it sleeps on */
	struct list_head wait;       /* on pkmap_map_wait[color] when asleep */
	struct list_head woken;      /* on the driver's woken list */
	struct list_head all;        /* on the driver's list of tasks */
	unsigned cpu;                /* local-map area it runs in */
	bool on_cpu;                 /* its local PTEs are installed */
	bool backend_err;            /* the last local call's error came from
	                              * the backend, not from misuse */
};

/* ---------------------------------------------------------------------- */
/* The core                                                                */
/* ---------------------------------------------------------------------- */

/*
 * Slot policies. linux: mm/highmem.c exactly. lockfree: the same slot
 * choice, with a hit path and a kunmap path that take no lock. clock: the
 * lock-free hit path, and slots reused by a CLOCK sweep over the released
 * ones (as FreeBSD's sf_buf keeps an LRU of inactive buffers) instead of
 * flushing every released slot at each wrap of the cursor.
 */
enum km_policy { KM_POLICY_LINUX, KM_POLICY_LOCKFREE, KM_POLICY_CLOCK };

struct km_core {
	const struct km_profile *profile;
	unsigned flags;                  /* KM_STRICT | KM_CHECK */
	enum km_policy policy;

	/* memory model */
	uint64_t mem_bytes;
	uint64_t max_pfn;                /* one past the last pfn */
	uint64_t max_low_pfn;            /* first highmem pfn */
	struct km_page *mem_map;         /* [max_pfn] */
	unsigned nr_zones;
	struct zone zones[KM_MAX_ZONES]; /* by zone number (page->flags) */
	unsigned zones_width, zones_pgshift;
	int highmem_zone, movable_zone;  /* zone numbers, -1 when absent */

	/* virtual layout, as the machine would see it */
	uintptr_t page_offset;           /* __va(0) */
	uint64_t high_memory, vmalloc_start, vmalloc_end;
	uint64_t fixaddr_start, fixaddr_top, lowmem_limit;

	/* the pkmap window */
	uintptr_t pkmap_base;            /* PKMAP_BASE */
	unsigned last_pkmap;             /* LAST_PKMAP, a power of two */
	unsigned last_pkmap_mask;
	unsigned colors;                 /* power of two dividing LAST_PKMAP */
	/*
	 * pkmap_count[nr]: 0 = free and unmapped (PTE none, TLB clean);
	 * 1 = mapped, no users, may be flushed; n > 1 = n - 1 users.
	 * A count never drops from 1 to 0 except in flush_all_zero_pkmaps,
	 * which clears the PTE and flushes the TLB before reuse.
	 */
	int *pkmap_count;
	uint64_t *pkmap_page_table;      /* pfn + 1 of each slot's PTE, 0 none */
	unsigned *last_pkmap_nr_arr;     /* per-colour cursor */
	struct list_head *pkmap_map_wait;/* per-colour wait queue of tasks */
	unsigned *nr_waiting;            /* tasks on each queue */
	struct page_address_map *page_address_maps; /* [LAST_PKMAP] */
	struct list_head page_address_htable[PA_HASH_SIZE];
	unsigned *flush_scratch;         /* slots cleared by one flush */
	bool tlb_flush_pending;          /* a cleared run awaits its flush */

	/* policies other than linux */
	uint32_t *page_slot;             /* [max_pfn]: slot + 1 of a page, 0 */
	uint8_t *slot_ref;               /* clock: referenced since the sweep */
	unsigned *clock_hand;            /* clock: per colour, in its slots */
	unsigned *free_slots;            /* clock: per colour stacks of count-0 */
	unsigned *free_top;              /* slots, colour c at c * per_color */

	/* local maps: area of cpu c holds idx i at kmap_area[c] - i pages */
	unsigned nr_cpus;
	uintptr_t *kmap_area;            /* [nr_cpus] */

	const struct km_backend_ops *be;
	void *be_ctx;

	km_event_fn event;
	void *event_arg;

	struct km_stats stats;           /* under the kmap lock */
};

/* Bytes the driver must give km__core_init for the pkmap arrays. */
size_t km__core_arena_size(unsigned last_pkmap, unsigned colors,
                           unsigned nr_cpus);
/* The policy of a name ("linux", "lockfree", "clock"), or -1. */
int km__policy_find(const char *name);
const char *km__policy_name(unsigned i);
/*
 * km__policy_init - after km__core_init: set the policy; @page_slot is
 * zeroed memory of max_pfn entries for policies other than linux (NULL
 * for linux).
 */
void km__policy_init(struct km_core *k, enum km_policy policy,
                     uint32_t *page_slot);

/*
 * km__layout_compute - check a configuration and fill in the memory model
 * figures of @k (no arrays yet). @lowmem_bytes, when not 0, replaces the
 * profile's lowmem limit (real memory decides its own direct map).
 * Returns 0 or -EINVAL.
 */
int km__layout_compute(struct km_core *k, const struct km_profile *p,
                       uint64_t mem_bytes, unsigned last_pkmap,
                       unsigned colors, unsigned nr_cpus,
                       uint64_t lowmem_bytes);
/*
 * km__core_init - set up mem_map (zeroed memory of max_pfn pages) and the
 * pkmap arrays in @arena (zeroed, km__core_arena_size bytes).
 */
void km__core_init(struct km_core *k, struct km_page *mem_map, void *arena);
void km__layout_fill(const struct km_core *k, struct km_layout *out);

/* memory model (machine.c) */
static inline uint64_t page_to_pfn(const struct km_core *k,
                                   const struct km_page *page)
{
	return (uint64_t)(page - k->mem_map);
}
static inline struct km_page *pfn_to_page(const struct km_core *k,
                                          uint64_t pfn)
{
	return &k->mem_map[pfn];
}
static inline unsigned page_zonenum(const struct km_core *k,
                                    const struct km_page *page)
{
	return (page->flags >> k->zones_pgshift) &
	       ((1u << k->zones_width) - 1);
}
static inline struct zone *page_zone(struct km_core *k,
                                     const struct km_page *page)
{
	return &k->zones[page_zonenum(k, page)];
}
/*
 * is_highmem(): ZONE_HIGHMEM, or ZONE_MOVABLE when it is carved out of
 * highmem (zone_movable_is_highmem(): there is highmem to carve).
 */
static inline bool km__is_highmem_idx(const struct km_core *k,
                                      unsigned zone_idx)
{
	if ((int)zone_idx == k->highmem_zone)
		return true;
	if ((int)zone_idx == k->movable_zone)
		return k->max_pfn > k->max_low_pfn;
	return false;
}
static inline bool PageHighMem(const struct km_core *k,
                               const struct km_page *page)
{
	return km__is_highmem_idx(k, page_zonenum(k, page));
}
static inline uintptr_t lowmem_page_address(const struct km_core *k,
                                            const struct km_page *page)
{
	return k->page_offset + ((uintptr_t)page_to_pfn(k, page) << PAGE_SHIFT);
}
static inline bool km__page_valid(const struct km_core *k,
                                  const struct km_page *page)
{
	return page && page >= k->mem_map && page < k->mem_map + k->max_pfn;
}
int km__alloc_page(struct km_core *k, unsigned gfp, struct km_page **out);
int km__free_page(struct km_core *k, struct km_page *page);

/* pkmap (pkmap.c); the caller holds the kmap lock */
#define PKMAP_ADDR(k, nr) ((k)->pkmap_base + ((uintptr_t)(nr) << PAGE_SHIFT))
#define PKMAP_NR(k, va) ((unsigned)(((va) - (k)->pkmap_base) >> PAGE_SHIFT))

unsigned km__pkmap_color(const struct km_core *k, const struct km_page *page);
uintptr_t km__page_address(struct km_core *k, const struct km_page *page);
/*
 * kmap_high: 0 and *vaddr, or KM__WINDOW_FULL when every slot of the page's
 * colour is in use (the caller waits on the colour's queue and calls
 * again), or a backend's -errno with nothing changed. The "full" answer is
 * positive so that no backend error (mmap may say EAGAIN) can be taken
 * for it.
 */
#define KM__WINDOW_FULL 1
int km__kmap_high(struct km_core *k, struct km_page *page, uintptr_t *vaddr,
              enum km_how *how);
/*
 * kunmap_high: 0, and *wake when a count dropped to 1 while tasks wait on
 * the colour; -ENOENT when not mapped, -EALREADY when the count is 1.
 */
int km__kunmap_high(struct km_core *k, struct km_page *page, bool *wake);
int km__kmap_high_get(struct km_core *k, struct km_page *page, uintptr_t *vaddr);
int km__kmap_flush_unused(struct km_core *k);
int km__flush_all_zero_pkmaps(struct km_core *k);
/* pkmap_count[nr], read as the policy requires */
int km__count(const struct km_core *k, unsigned nr);
/* 1 -> 0 for a flush; false when a lock-free hit took the slot first */
bool km__count_clear(struct km_core *k, unsigned nr);
/* a slot newly mapped to @page (PTE set): count 1, in the hash */
void km__slot_install(struct km_core *k, unsigned nr, struct km_page *page);
/* a slot cleared (count 0, PTE cleared): out of the hash */
void km__slot_release(struct km_core *k, unsigned nr);

/*
 * The lock-free paths (policy.c), called WITHOUT the kmap lock, for
 * policies other than linux. km__kmap_fast: 1 and *vaddr when the page was
 * in the window and took a user, 0 to take the locked path, -1 - colour to
 * take it after waking that colour's queue (a user taken from another
 * page's slot by mistake was given back and left its count at 1).
 * km__kunmap_fast: 1 when a user was dropped, 0 for the locked path; when
 * *wake_check is set the count fell to 1 while tasks may wait on the
 * page's colour: the caller takes the lock and wakes them.
 */
int km__kmap_fast(struct km_core *k, struct km_page *page, uintptr_t *vaddr);
int km__kunmap_fast(struct km_core *k, struct km_page *page,
                    bool *wake_check);
/*
 * After a task is on its colour's queue (the lock held): may it still find
 * a slot? A lock-free kunmap that ran while the task scanned does not take
 * the lock, so the task looks once more before it sleeps.
 */
bool km__color_may_have_slot(struct km_core *k, unsigned color);
/* clock: map a new page; give a cleared slot back; check the free stacks */
int km__clock_map_new(struct km_core *k, struct km_page *page,
                      uintptr_t *vaddr);
void km__clock_free(struct km_core *k, unsigned nr);
int km__clock_check(struct km_core *k, char *msg, size_t msglen);
bool km__in_pkmap(const struct km_core *k, uintptr_t va);
/* put @t on the queue of @color (state SLEEPING) */
void km__wait_enqueue(struct km_core *k, struct km_task *t, unsigned color);
/* take @t off its queue if it is still there */
void km__wait_dequeue(struct km_core *k, struct km_task *t);
/*
 * wake_up(): every task on @color's queue becomes WOKEN, in queue order;
 * simulated ones are appended to @woken. Returns how many woke.
 */
unsigned km__wake_up(struct km_core *k, unsigned color,
                     struct list_head *woken);
int km__core_check(struct km_core *k, char *msg, size_t msglen);

/* local maps (local.c); @t is the current task of its cpu */
void km__task_init(struct km_task *t, bool simulated);
int km__kmap_local_page(struct km_core *k, struct km_task *t,
                    struct km_page *page, int kind, uintptr_t *vaddr);
int km__kunmap_local_indexed(struct km_core *k, struct km_task *t, uintptr_t va,
                         int kind);
uintptr_t km__local_addr(const struct km_core *k, unsigned cpu, int idx);
/* the index of @va in @t's area, or -1 */
int km__local_index(const struct km_core *k, const struct km_task *t,
                    uintptr_t va);
/* __kmap_local_sched_out / _in: switch a task's PTEs off or onto its cpu */
int km__local_sched_out(struct km_core *k, struct km_task *t);
int km__local_sched_in(struct km_core *k, struct km_task *t);
/* kmap_to_page() for pkmap, local and direct-map addresses */
struct km_page *km__kmap_to_page(struct km_core *k, const struct km_task *t,
                             uintptr_t va);

/* kmap's meaning of an error code (negative or not), or NULL: the text of
 * km_strerror() that does not come from the C library */
const char *km__errtext(int err);

/* small freestanding helpers */
size_t km__strlcpy(char *dst, const char *src, size_t n);
size_t km__fmt_msg(char *dst, size_t n, const char *a, uint64_t v,
                   const char *b);

#endif
