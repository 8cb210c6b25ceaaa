/*
 * core.h - the state of one machine, as the freestanding core sees it:
 * the memory model (profile, mem_map, zones, layout), the pkmap window
 * (pkmap_count, the page tables' shadow, the page_address hash, the wait
 * queues), the tasks with their local-map stacks, and the backend, driver
 * and policy that the core runs with. Invariants are written at the fields.
 *
 * Freestanding: everything under src/core/ compiles with -ffreestanding
 * (no allocation, no stdio, no locks, no errno variable). The driver
 * allocates the arrays and supplies lock, sleep and wake (driver.h); the
 * backend supplies the page tables (backend.h). Names follow the kernel's
 * mm/highmem.c and include/linux/mm.h; a name visible outside its file
 * carries the km__ prefix, so that libkmap defines no global symbol a
 * program's own could collide with.
 *
 * Which header says what:
 *   list.h     lists                   backend.h  the backend contract
 *   driver.h   the driver contract     policy.h   the slot policies
 *   machine.h  memory model, layout    pkmap.h    the window's slots
 *   highmem.h  kmap/kunmap, whole      local.h    kmap_local, kmap_atomic
 *   util.h     error texts, messages   vmalloc.h  vmap, vunmap, purge
 */
#ifndef KMAP_CORE_H
#define KMAP_CORE_H

#include "kerr.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmap.h"

#include "admit.h"
#include "backend.h"
#include "driver.h"
#include "list.h"
#include "policy.h"

/* 4 KiB pages on every profile (x86 and ARM: PAGE_SHIFT 12). */
#define PAGE_SHIFT 12
#define PAGE_SIZE (1u << PAGE_SHIFT)

/*
 * Local maps: kmap_local_idx_push() BUGs when the index reaches KM_MAX_IDX
 * (16, include/asm-generic/kmap_size.h), so a task holds at most
 * KM_LOCAL_MAX (kmap.h) = KM_MAX_IDX - 1.
 */
#define KM_MAX_IDX (KM_LOCAL_MAX + 1)

/* PA_HASH_ORDER 7 in mm/highmem.c: 128 buckets for page_address(). */
#define PA_HASH_ORDER 7
#define PA_HASH_SIZE (1u << PA_HASH_ORDER)

/*
 * Largest window accepted: on the simulated machine 65536 slots, 256 MiB of
 * its 4 GiB; on real memory 262144 slots, 1 GiB, which a 32-bit process
 * finds free in one piece under a 64-bit kernel and a 3G/1G 32-bit one
 * alike (its address space must also hold lowmem, the program, its
 * libraries and stacks).
 */
#define KM_MAX_LAST_PKMAP 65536u
/* Largest vmalloc area a backend with real addresses may reserve. */
#define KM_MAX_VMALLOC (1ull << 30)
#define KM_MAX_LAST_PKMAP_REAL 262144u
/* Most local-map areas (CPUs) a machine may have. */
#define KM_MAX_CPUS 1024u
/* Entries of the cache of known task handles. */
#define KM_TASK_SEEN_SHIFT 8
#define KM_TASK_SEEN (1u << KM_TASK_SEEN_SHIFT)
/*
 * Pages of a run a CPU maps for a sequential scan (backend.h, map_run):
 * 1 MiB of address space a thread that scans, one system call for 256
 * pages.
 */
#define KM_RUN_PAGES 256u

/* ---------------------------------------------------------------------- */
/* The memory model                                                        */
/* ---------------------------------------------------------------------- */

enum km_arch { KM_ARCH_X86, KM_ARCH_ARM };

/* A machine profile: a named kernel and configuration (layout.c). */
struct km_profile {
	const char *name;
	const char *kernel;        /* the kernel modelled: version, package */
	const char *config;        /* the options that decide the layout */
	enum km_arch arch;
	uint32_t page_offset;      /* PAGE_OFFSET (CONFIG_PAGE_OFFSET) */
	uint64_t phys_offset;      /* PHYS_OFFSET: where RAM starts */
	uint64_t mem_limit;        /* most RAM above PHYS_OFFSET */
	uint64_t default_mem;
	unsigned last_pkmap;       /* LAST_PKMAP (= PTRS_PER_PTE) */
	unsigned pmd_shift;        /* PMD_SHIFT: PKMAP_BASE alignment */
	unsigned pte_size;         /* sizeof(pte_t) */
	unsigned struct_page_size; /* the kernel's sizeof(struct page) */
	uint64_t dma_limit;        /* ZONE_DMA below this physical offset from
	                            * PHYS_OFFSET; UINT64_MAX: all of lowmem;
	                            * 0: no ZONE_DMA */
	unsigned nr_cpus;          /* NR_CPUS: local-map areas in the fixmap */
	bool kmap_high_get;        /* ARCH_NEEDS_KMAP_HIGH_GET */
	bool reserve_pfn0;         /* the first page is the BIOS's (x86) */
};

/*
 * struct page: only the flags word. As in include/linux/mm.h with one
 * node: from the top, the section number (SPARSEMEM only: SECTIONS_WIDTH
 * bits), then the zone number (ZONES_PGSHIFT = 32 - SECTIONS_WIDTH -
 * NODES_WIDTH - ZONES_WIDTH, NODES_WIDTH = 0), the page-flag bits at the
 * bottom.
 */
struct km_page {
	uint32_t flags;
};

/* Most sections of any profile: 2^(MAX_PHYSMEM_BITS - SECTION_SIZE_BITS),
 * ARM's 2^(36 - 28). */
#define KM_MAX_SECTIONS 256

#define NODES_WIDTH 0   /* one node: CONFIG_NODES_SHIFT 0, as the seeds' rpi2 */
#define PG_allocated 1u /* bit: taken by km_alloc_page */
#define PG_reserved 12u /* bit: in no zone, never allocated (the kernel's
                         * PG_reserved, page-flags.h) */

struct zone {
	enum km_zone_type type;
	const char *name;
	uint64_t zone_start_pfn, end_pfn; /* spanned; holes are not free */
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

/*
 * struct vmap_block: a block of the vmalloc area that vm_map_ram() hands
 * out in power-of-two pieces from its front (pages [0, B - free) handed
 * out, of which dirty unmapped; a piece is never reused: the block goes
 * back whole once every page is dirty, or at a purge once nothing in it
 * is mapped). dirty_min/dirty_max: the range vm_unmap_aliases() flushes.
 */
struct km_vblock {
	unsigned free, dirty, dirty_min, dirty_max;
	unsigned cpu;                /* whose queue it was made on */
	struct list_head free_list;  /* on vm_queue[cpu] while free > 0 */
	bool live;
};

/* ---------------------------------------------------------------------- */
/* Tasks                                                                   */
/* ---------------------------------------------------------------------- */

enum { KM_KIND_LOCAL = 1, KM_KIND_ATOMIC = 2 };

/* A task's cpu before any local-map area was taken for it. */
#define KM_NO_CPU (~0u)

/*
 * struct kmap_ctrl: a task's stack of local mappings, as in the kernel's
 * task_struct. Entries [0, idx) are live; pteval[i] is pfn + 1.
 */
struct kmap_ctrl {
	int idx;
	uint64_t pteval[KM_MAX_IDX];
	uint8_t kind[KM_MAX_IDX];
};

/* A task's counts of the copy helpers' work done without the lock
 * (struct km_task.copies), summed by km_stats_get. */
enum {
	KM__COPY_WINDOW,  /* copies from the page's slot, lock-free */
	KM__COPY_MEMORY,  /* ... straight from the memory */
	KM__COPY_STREAM,  /* ... from a run mapped for a scan */
	KM__COPY_RUNS,    /* runs mapped */
	KM__COPY_AHEAD,   /* ... from a scan's read-ahead */
	KM__COPY_AHEADS,  /* read-aheads */
	KM__COPY_KINDS
};

/*
 * struct km_task: what the core knows of a task. A thread's own task and
 * a simulated one (km_task_create) are the same to the core; only how it
 * sleeps differs (the driver's sleep(): block, or park).
 */
struct km_task {
	struct kmap_ctrl kmap_ctrl;
	int atomic_depth;            /* open kmap_atomic sections */
	int state;                   /* enum km_task_state */
	/* the copy helpers' counts (KM__COPY_*), beside state, which a copy
	 * reads too; written only by the thread running the task, summed by
	 * km_stats_get */
	uint64_t copies[KM__COPY_KINDS];
	unsigned admit_skips;        /* misses kept from the lock by the bar
	                              * since one asked (window.c) */
	bool simulated;              /* made by km_task_create */
	bool parked;                 /* asleep without blocking (KM__PARKED) */
	unsigned wait_color;         /* the queue it sleeps on */
	struct list_head wait;       /* on pkmap_map_wait[color] when asleep */
	struct list_head woken;      /* on the core's woken list */
	struct list_head all;        /* on the core's list of simulated tasks */
	unsigned cpu;                /* local-map area it runs in, or KM_NO_CPU */
	bool on_cpu;                 /* its local PTEs are installed */
	bool sys_err;                /* the last local call's error came from
	                              * the backend or driver, not misuse */
	/* lock-free paths taken by this task: written only by the thread
	 * running it, summed by km_stats_get */
	uint64_t fast_hits[KM_MAX_COLORS], fast_unmaps;
};

/* ---------------------------------------------------------------------- */
/* The machine                                                             */
/* ---------------------------------------------------------------------- */

struct km_core {
	/*
	 * Read by every copy helper and lock-free kmap, kept together at the
	 * front: on a machine where each system call leaves the caches cold,
	 * every line a copy touches costs (bench/README.md).
	 */
	unsigned flags;                  /* KM_STRICT | KM_CHECK | KM_DEBUG ... */
	bool real;                       /* addresses are the host's (KM_BE_REAL) */
	const struct km_policy *pol;
	const struct km_admit *adm;      /* the admission rule (admit.h) */
	const struct km_backend_ops *be;
	void *be_ctx;
	const struct km_driver_ops *drv;
	void *drv_ctx;
	uintptr_t pkmap_base;            /* PKMAP_BASE */
	unsigned colors;                 /* power of two dividing LAST_PKMAP */
	/*
	 * pkmap_count[nr]: 0 = free and unmapped (PTE none, TLB clean);
	 * 1 = mapped, no users, may be flushed; n > 1 = n - 1 users.
	 * A count never drops from 1 to 0 except in km__pkmap_clear(), which
	 * clears the PTE and flushes the TLB before the slot is reused.
	 */
	int *pkmap_count;
	unsigned *nr_waiting;            /* tasks on each queue */
	uint32_t *page_slot;             /* [max_pfn]: slot + 1 of a page, 0;
	                                  * lockless policies only */
	uint8_t *slot_ref;               /* a hit since the policy last looked
	                                  * (policies with ref_bits; else NULL) */
	/* TinyLFU's sketch (admit.c) */
	uint8_t *sketch;                 /* [sketch_mask + 1] blocks of 64 */
	unsigned sketch_mask;            /* blocks - 1 (a power of 2) */

	/* memory model: pfns [pfn_offset, max_pfn), mem_map[pfn - pfn_offset] */
	uint64_t mem_bytes;
	uint64_t phys_offset;            /* PHYS_OFFSET */
	uint64_t pfn_offset;             /* ARCH_PFN_OFFSET: RAM's first pfn */
	uint64_t first_pfn;              /* the zones' first pfn */
	uint64_t max_pfn;                /* one past the last pfn */
	uint64_t max_low_pfn;            /* first highmem pfn */
	struct km_page *mem_map;         /* [max_pfn - pfn_offset] */
	unsigned zones_width, zones_pgshift;
	int highmem_zone, movable_zone;  /* zone numbers, -1 when absent */
	/* SPARSEMEM: section s's first page is mem_map[section_base[s]];
	 * a section of [pfn_offset, max_pfn) with a pfn of RAM is present,
	 * any other's base is INT64_MIN. mem_map keeps an entry for every
	 * pfn whichever the model (an absent section's are never reached):
	 * the model's own cost is km_layout's. */
	bool sparse;                     /* set before km__layout_compute */
	unsigned section_size_bits, max_physmem_bits;
	unsigned sections_width, sections_pgshift, pfn_section_shift;
	int64_t section_base[KM_MAX_SECTIONS];
	/* holes: no RAM; sorted, apart, inside [pfn_offset, max_pfn) (set
	 * with sparse, checked by km__layout_compute) */
	unsigned nr_holes;
	struct km_hole holes[KM_MAX_HOLES];
	unsigned nr_zones;
	struct zone zones[KM_MAX_ZONES]; /* by zone number (page->flags) */

	const struct km_profile *profile;
	const char *why;                 /* why km__layout_compute refused */
	char why_buf[96];                /* ... when the reason has numbers */

	/* virtual layout, as the machine would see it */
	uintptr_t page_offset;           /* __va(PHYS_OFFSET) */
	uint64_t high_memory, vmalloc_start, vmalloc_end;
	uint64_t fixaddr_start, fixaddr_top, lowmem_limit;
	uint64_t fixaddr_tot_start;      /* the fixmap's lowest entry */
	uint64_t cpu_entry_area, cpu_entry_area_end, ldt_base; /* x86; else 0 */
	unsigned fix_kmap_begin;         /* FIX_KMAP_BEGIN's fixmap index */

	/* the pkmap window */
	unsigned last_pkmap;             /* LAST_PKMAP, a power of two */
	unsigned last_pkmap_mask;
	unsigned tally_calls;            /* km__pkmap_tally_some's, under the lock */
	uint64_t *pkmap_page_table;      /* pfn + 1 of each slot's PTE, 0 none */
	unsigned *last_pkmap_nr_arr;     /* per-colour cursor */
	struct list_head *pkmap_map_wait;/* per-colour wait queue of tasks */
	struct page_address_map *page_address_maps; /* [LAST_PKMAP] */
	struct list_head page_address_htable[PA_HASH_SIZE];
	unsigned *flush_scratch;         /* slots cleared by one flush */
	bool tlb_flush_pending;          /* a cleared run awaits its flush */

	/* state of policies other than linux (page_slot, slot_ref: above) */
	unsigned *clock_hand;            /* clock: per colour, in its slots */
	unsigned *free_slots;            /* clock: per colour stacks of count-0 */
	unsigned *free_top;              /* slots, colour c at c * per_color */

	/*
	 * The vmalloc area (vmalloc.c): vm_pages pages from vmalloc_start,
	 * tiled by extents in address order: free, an area (its pages and
	 * the guard page after them), or an area lazily freed, whose PTEs
	 * are clear but whose range waits for a purge's TLB flush. Each
	 * extent has a boundary tag at its first and its last page (one
	 * tag when both are the same page); every other tag is 0.
	 */
	unsigned vm_pages;
	uint32_t *vm_tag;
	uint32_t *vm_pte;                /* pfn + 1 mapped at each page, 0 */
	uint64_t vm_lazy_max;            /* lazy_max_pages() */
	/*
	 * vm_map_ram's vmap blocks: block n covers vm_block_pages pages from
	 * n blocks above vmalloc_start rounded down to a block (blocks are
	 * aligned to their size: n is the kernel's addr_to_vb_idx(), and
	 * vm_nr_blocks covers any start); vm_queue[c] lists CPU c's
	 * blocks with free pages, oldest first (vmap_block_queue). vm_ram[i]
	 * is the page count of the live allocation that starts at page i of
	 * a block, else 0. vm_ranges: a purge's released extents (scratch).
	 */
	unsigned vm_block_pages;         /* VMAP_BBMAP_BITS */
	unsigned vm_nr_blocks;
	struct km_vblock *vm_blocks;     /* [vm_nr_blocks] */
	struct list_head *vm_queue;      /* [nr_cpus] */
	uint8_t *vm_ram;                 /* [vm_pages] */
	struct km_vrange *vm_ranges;     /* [vm_pages / 2 + 1] */
	/* the admission rule's other state: the ghost list of pages refused
	 * lately (under the lock), the sketch's aging */
	uint32_t *ghost;                 /* [ghost_mask + 1] fingerprints */
	unsigned ghost_mask;
	uint64_t ghost_rnd;              /* picks an entry of a full set */
	uint32_t sketch_period;          /* increments between two halvings */
	uint32_t sketch_adds;            /* ... since the last one (atomic) */
	/* per colour, the count a page needs before a copy's miss asks
	 * map_admit (admit.h's KM__BAR_*): set under the lock, read without */
	uint32_t admit_bar[KM_MAX_COLORS];

	/* local maps: area of cpu c holds idx i of colour x at kmap_area[c] -
	 * (i * colors + colors - 1 - x) pages (km__local_addr) */
	unsigned nr_cpus;
	uintptr_t *kmap_area;            /* [nr_cpus] */

	/* tasks: simulated ones in creation order; parked tasks a wake-up
	 * took off a queue, in the order they went to sleep (FIFO) */
	struct list_head tasks, woken;
	unsigned nr_woken;               /* on woken; read without the lock */
	/* tasks found on the list lately, by a hash of their address, so a
	 * handle is checked in O(1) (km__task_known); an entry is on the
	 * list: km__task_forget clears it before its task leaves. Lock held. */
	const struct km_task *task_seen[KM_TASK_SEEN];

	km_event_fn event;
	void *event_arg;
	/* local maps of threads that exited holding them: their pfns, for
	 * km_leaks; the driver records them (and owns the array) under the
	 * kmap lock */
	uint64_t *lost_local;
	unsigned nr_lost_local;
	/* the task whose kmap or kmap_flush_unused is flushing now, for the
	 * KM_EV_FLUSH event (NULL: none known); under the kmap lock */
	struct km_task *flusher;

	struct km_stats stats;           /* under the kmap lock */
	/* counted outside the lock, atomically */
	uint64_t lowmem_maps, local_maps, errors;
	/* lock-free hits by colour, kunmaps and copies of tasks that are gone */
	uint64_t gone_hits[KM_MAX_COLORS], gone_unmaps;
	uint64_t gone_copies[KM__COPY_KINDS];

	/*
	 * KM_READAHEAD (the copy helpers' read-ahead, src/copy.c): a page read
	 * ahead is served only while ahead_gen is what it was before the read;
	 * it moves on every PTE set for a highmem page (window, local map,
	 * vmap) and every write by a copy helper, so nothing kmap maps or
	 * writes after a read-ahead is missed. Mappings live before it are
	 * checked by the read-ahead itself: the window's pages under the lock,
	 * vmap areas and vm_map_ram mappings by their count (km__vm_live),
	 * local maps by ahead_local, the highmem
	 * local maps live now (atomic; 0 without KM_READAHEAD): a thread's
	 * that exited holding them count until their PTEs are cleared
	 * (km__local_gone), not while their pfns wait for km_leaks.
	 */
	uint64_t ahead_gen;
	uint32_t ahead_local;
};

/* A PTE was set or a page written: what was read ahead may be stale. */
static inline void km__ahead_stale(struct km_core *k)
{
	if (k->flags & KM_READAHEAD)
		__atomic_add_fetch(&k->ahead_gen, 1, __ATOMIC_SEQ_CST);
}

/* The window's slot addresses. */
#define PKMAP_ADDR(k, nr) ((k)->pkmap_base + ((uintptr_t)(nr) << PAGE_SHIFT))
#define PKMAP_NR(k, va) ((unsigned)(((va) - (k)->pkmap_base) >> PAGE_SHIFT))

/*
 * Both drivers define struct km_machine (kmap.h's handle) with its core
 * first, so the functions that need only the core (api.c) take the handle
 * as it is.
 */
static inline struct km_core *km__core_of(km_machine *m)
{
	return (struct km_core *)(void *)m;
}

#endif
