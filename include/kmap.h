/*
 * kmap.h - Linux's highmem mapping system as a C11 library.
 *
 * A machine (a profile such as "x86-32" and the memory under it) holds a
 * mem_map of pages, zones, and the persistent kmap window of LAST_PKMAP slots.
 * kmap() of a highmem page enters it in the window; kunmap() releases it;
 * kmap_local_page()/kmap_atomic() give short-lived task-local mappings.
 *
 * Conventions: functions return 0 or a negative code (see Errors below: an
 * errno value with its system meaning, or one of kmap's own); pointers and
 * other results come back through out-parameters. Every function is safe to
 * call from several threads on one machine, except where a comment says
 * otherwise. Nothing here aborts unless the machine was created KM_STRICT.
 *
 * Addresses: on the simulated backend an address is a 32-bit virtual address
 * of the simulated machine carried in a void pointer. It must not be
 * dereferenced; read and write through it with km_read()/km_write() (which
 * go through the simulated page tables and TLB) or use the km_memcpy_*
 * helpers. On the host backend (real memory) addresses are real pointers.
 */
#ifndef KMAP_H
#define KMAP_H

/* A freestanding build (the project's own kernel) brings its own errno values. */
#if !defined(__STDC_HOSTED__) || __STDC_HOSTED__
#include <errno.h>
#endif
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(KMAP_BUILDING) && defined(__GNUC__)
#define KM_API __attribute__((visibility("default")))
#else
#define KM_API
#endif

#define KMAP_VERSION_MAJOR 0
#define KMAP_VERSION_MINOR 1
#define KMAP_VERSION_PATCH 0

/** Version string of the library ("0.1.0"). */
KM_API const char *km_version(void);

typedef struct km_machine km_machine;
typedef struct km_page km_page; /* a struct page of a machine's mem_map */
typedef struct km_task km_task; /* a simulated task (see km_task_create) */

/* ---------------------------------------------------------------------- */
/* Errors                                                                  */
/* ---------------------------------------------------------------------- */

/*
 * Every function returns 0 or a negative code, of two kinds told apart by
 * the value alone:
 *  - below KM_EBASE: an errno value with its system meaning: -EINVAL for
 *    an argument the function does not take (misuse, as below), -ENOMEM,
 *    -EAGAIN (km_kmap_try), -ETIMEDOUT (km_kmap_timeout), -EBUSY, -EFAULT,
 *    and whatever a system call of the host backend failed with (-ENOENT
 *    for a mem_path that does not exist);
 *  - KM_EBASE and above: kmap's own codes, below. All but KM_ESLEEPING
 *    and KM_ECORRUPT are misuse of the API (where the kernel would BUG):
 *    nothing is changed, km_stats.errors counts them, and a KM_STRICT
 *    machine aborts.
 * km_strerror() gives kmap's text for its own codes, the C library's for
 * errno values.
 */
#define KM_EBASE       4096 /* above every errno value (Linux's end at 133) */
#define KM_ENOTMAPPED  (KM_EBASE + 1) /* kunmap of a page that is not mapped */
#define KM_ENOUSERS    (KM_EBASE + 2) /* kunmap of a page whose count is 1 */
#define KM_EATOMIC     (KM_EBASE + 3) /* may sleep, called in atomic context */
#define KM_ENOTTOP     (KM_EBASE + 4) /* local unmap that is not the newest */
#define KM_EKIND       (KM_EBASE + 5) /* local/atomic unmap of the other kind */
#define KM_ENOATOMIC   (KM_EBASE + 6) /* kunmap_atomic with no section open */
#define KM_ESTACKFULL  (KM_EBASE + 7) /* 16th local mapping on a task */
#define KM_ESLEEPING   (KM_EBASE + 8) /* a simulated task went to sleep */
#define KM_ECORRUPT    (KM_EBASE + 9) /* km_check: an invariant is broken */
#define KM_ENOAREA     (KM_EBASE + 10) /* vunmap of an address no area starts at */

/** The text of an error code (negative or positive): kmap's for its own
 * codes, strerror()'s for errno values. */
KM_API const char *km_strerror(int err);

/* ---------------------------------------------------------------------- */
/* Machines                                                                */
/* ---------------------------------------------------------------------- */

enum km_backend_kind {
	KM_BACKEND_SIM = 0,  /* simulated 32-bit machine: page tables, TLB model */
	KM_BACKEND_HOST = 1, /* real memory (memfd or file), real pointers */
};

/* km_config.flags */
#define KM_STRICT 0x1u /* misuse aborts with a message, as the kernel's BUG */
#define KM_CHECK  0x2u /* expensive invariant check after every operation */
/*
 * Host backend, debug mode (also set by the environment variable
 * KMAP_DEBUG=1): a kunmap that leaves a slot without users makes it
 * inaccessible at once, a SIGSEGV in the window is reported as "use after
 * kunmap of pfn N (slot S)", and mappings still held at destroy are listed.
 */
#define KM_DEBUG  0x4u
#define KM_RDONLY 0x8u /* host backend: the memory is mapped read-only */
/*
 * A hint, as madvise(MADV_SEQUENTIAL): pages are mostly used in order.
 * The host backend then maps the pages that follow a kmap into the slots
 * that follow with the same system call (slot choices do not change), and
 * the copy helpers take the first page read out of order as the start of
 * a scan (without the hint, the second in a row).
 */
#define KM_SEQUENTIAL 0x10u
/*
 * Copy helpers: a scan's reads may be served from a read-ahead, one read of
 * the next 32 pages of the memory (the host: one pread) kept by the thread,
 * where a read of each page costs a system call. A page read ahead is never
 * served stale by kmap's own doing: any kmap, kmap_local or vmap mapping
 * made since, any copy helper's write, a vmap area or a local map of
 * highmem live at the time, and a page in the window are each seen, and
 * the page is read again. What is not seen is a write around kmap: the
 * memory's file written by another process or through another descriptor
 * after the read-ahead. Ask for it only where nothing writes the memory
 * that way (kmap's own memfd never is).
 */
#define KM_READAHEAD 0x20u

/*
 * km_config.memory_model: how the kernel finds a pfn's struct page
 * (mm/Kconfig's "Memory model"). FLATMEM: one mem_map from ARCH_PFN_OFFSET.
 * SPARSEMEM (classic, not VMEMMAP, as 32-bit kernels have it): memory in
 * sections of 2^SECTION_SIZE_BITS bytes, each with its own memmap found
 * through mem_section[]; page->flags holds the page's section number,
 * which page_to_pfn() reads.
 */
enum km_memory_model {
	KM_FLATMEM = 0,
	KM_SPARSEMEM = 1,
};

/*
 * A hole in physical memory: pfns [start_pfn, end_pfn) with no RAM behind
 * them, inside the machine's pfns (km_layout's min_pfn to max_pfn: memory
 * still spans them). Their pages are never free; pfn_valid() depends on
 * the model (km_pfn_valid(3)), km_page_is_ram(3) is false.
 */
#define KM_MAX_HOLES 8
struct km_hole {
	uint64_t start_pfn, end_pfn;
};

struct km_config {
	const char *profile;    /* a machine profile: km_profile_name(3) */
	uint64_t mem_bytes;     /* physical memory, whole 4 KiB pages (else
	                         * -EINVAL); 0 = the profile's default */
	/*
	 * Window slots, a power of two from 2; 0 = the profile's (512 or
	 * 1024). At most 65536 on the simulated machine (whose layout must
	 * also leave room for lowmem), 262144 (1 GiB of address space) on
	 * real memory; km_config_check says so past it. A 32-bit process finds
	 * 1 GiB free in one piece; when it cannot, km_machine_create returns
	 * -ENOMEM.
	 */
	unsigned last_pkmap;
	unsigned colors;        /* cache colours (power of two); 0 = 1 */
	unsigned nr_cpus;       /* local-map areas: a thread takes one with its
	                         * first highmem local map, until it exits;
	                         * 0 = 64 on the host backend, the profile's
	                         * NR_CPUS simulated; at most 1024 */
	unsigned flags;         /* KM_STRICT | KM_CHECK */
	/* slot policy; NULL = the backend's: "linux" on the simulated
	 * machine, "tinylfu" on real memory */
	const char *policy;
	enum km_backend_kind backend;
	/*
	 * Lowmem, the part of memory mapped once (the direct map). Host
	 * backend: 0 means 64 MiB (or all memory when smaller). Simulated
	 * machine: 0 means the profile's split (MAXMEM); a smaller value
	 * moves the rest to highmem, as the kernel's highmem= boot option.
	 * Whole pages, as mem_bytes.
	 */
	uint64_t lowmem_bytes;
	/* host backend only */
	const char *mem_path;   /* file holding physical memory; NULL: memfd.
	                         * A regular file or a block device (anything
	                         * else is -ENODEV, a directory -EISDIR; opening
	                         * never blocks). An empty or new file is grown
	                         * to mem_bytes; mem_bytes 0 takes an existing
	                         * file's size in whole pages. */
	/*
	 * Host backend: address space reserved beside the window for
	 * km_vmap() (a multiple of the page size); 0 means 64 MiB. The
	 * simulated machine's vmalloc area is the profile's, so 0 there.
	 */
	uint64_t vmalloc_bytes;
	enum km_memory_model memory_model; /* 0: FLATMEM */
	/*
	 * Holes: nr_holes of them (at most KM_MAX_HOLES), sorted, apart (a
	 * hole ends before the next starts), each non-empty and inside
	 * [first pfn, max_pfn); they may not take every page. 0: none.
	 */
	unsigned nr_holes;
	struct km_hole holes[KM_MAX_HOLES];
};

/**
 * Fill @cfg with defaults: profile "x86-32", sim backend, the backend's
 * policy (policy NULL). NULL is ignored.
 */
KM_API void km_config_init(struct km_config *cfg);

/**
 * km_config_check - would km_machine_create accept the values of @cfg?
 * 0 when they make a machine (memory, files and other system resources
 * are km_machine_create's to find); else -EINVAL and, in @msg (may be
 * NULL), what is wrong, e.g. "colors must divide last_pkmap".
 */
KM_API int km_config_check(const struct km_config *cfg, char *msg,
                           size_t msglen);

/**
 * km_machine_create - build a machine: mem_map, zones, the pkmap window.
 * Returns 0, or -EINVAL for a bad profile, size, slot or colour count,
 * -ENOMEM when memory for the model cannot be had; host backend: -ENODEV
 * or -EISDIR for a mem_path that cannot hold memory, the file's -errno.
 */
KM_API int km_machine_create(const struct km_config *cfg, km_machine **out);

/**
 * km_machine_destroy - free a machine; NULL is accepted. Mappings still held
 * are dropped (see km_leaks() to list them first). No thread may be using
 * the machine.
 */
KM_API void km_machine_destroy(km_machine *m);

/** Name of the i-th machine profile, or NULL past the last one. */
KM_API const char *km_profile_name(unsigned i);

/**
 * km_profile_limits - the memory limit and default size of a profile.
 * Returns 0 or -EINVAL for an unknown profile.
 */
KM_API int km_profile_limits(const char *profile, uint64_t *max_mem,
                             uint64_t *default_mem);

/** Name of the i-th slot policy, or NULL past the last one. */
KM_API const char *km_policy_name(unsigned i);

/* ---------------------------------------------------------------------- */
/* The memory model                                                        */
/* ---------------------------------------------------------------------- */

enum km_zone_type {
	KM_ZONE_DMA,
	KM_ZONE_DMA32,
	KM_ZONE_NORMAL,
	KM_ZONE_HIGHMEM,
	KM_ZONE_MOVABLE,
	KM_ZONE_NONE = -1,
};

#define KM_MAX_ZONES 5

struct km_zone_info {
	enum km_zone_type type;
	const char *name;       /* "DMA", "Normal", "HighMem", "Movable" */
	uint64_t start_pfn;     /* zone_start_pfn */
	uint64_t end_pfn;       /* one past the last pfn; == start when empty */
	uint64_t nr_free;       /* free pages in the zone's allocator */
	int highmem;            /* is_highmem() */
	unsigned zone_idx;      /* the number stored in page->flags */
};

struct km_layout {
	const char *profile;
	const char *kernel;              /* the kernel modelled, by name */
	const char *config;              /* its options that shape the layout */
	unsigned page_size, page_shift;
	uint64_t mem_bytes;
	uint64_t phys_offset;            /* PHYS_OFFSET: where RAM starts */
	uint64_t min_pfn, max_pfn;       /* pfns [min_pfn, max_pfn): RAM */
	uint64_t max_low_pfn;            /* highmem_start_pfn */
	uint64_t lowmem_bytes, highmem_bytes;
	uint64_t page_offset;            /* PAGE_OFFSET, __va(PHYS_OFFSET) */
	uint64_t high_memory;            /* end of the direct map (lowmem) */
	uint64_t vmalloc_start, vmalloc_end;
	uint64_t pkmap_base, pkmap_end;  /* PKMAP_BASE, PKMAP_ADDR(LAST_PKMAP) */
	uint64_t fixaddr_start, fixaddr_top;
	uint64_t fixaddr_tot_start;      /* the fixmap with its boot-time slots */
	uint64_t fixmap_end;             /* end of the fixmap's range */
	uint64_t kmap_local_start, kmap_local_end; /* the FIX_KMAP area */
	unsigned fix_kmap_begin;         /* FIX_KMAP_BEGIN's fixmap index */
	uint64_t cpu_entry_area_start, cpu_entry_area_end; /* x86; else 0 */
	uint64_t ldt_start, ldt_end;     /* x86: the LDT remap; else 0 */
	uint64_t lowmem_limit;           /* MAXMEM: most lowmem the split allows */
	uint64_t mem_limit;              /* most RAM of the profile */
	unsigned last_pkmap, colors, nr_cpus, km_max_idx;
	int kmap_high_get;               /* ARCH_NEEDS_KMAP_HIGH_GET: 1 or 0 */
	unsigned pa_hash_size;           /* buckets of the page_address hash */
	unsigned struct_page_size;       /* the kernel's sizeof(struct page) */
	uint64_t mem_map_bytes;          /* pages * struct_page_size */
	uint64_t vmap_lazy_max;          /* lazy_max_pages(): lazily freed
	                                  * vmap pages that start a purge */
	unsigned vmap_block_pages;       /* VMAP_BBMAP_BITS: vm_map_ram's
	                                  * blocks, from NR_CPUS */
	unsigned vmap_max_alloc;         /* VMAP_MAX_ALLOC: the most pages
	                                  * vm_map_ram takes from a block */
	unsigned pte_size;               /* bytes of one page-table entry */
	uint64_t pkmap_pgtable_bytes;    /* LAST_PKMAP * pte_size */
	unsigned zones_pgshift, zones_width, nodes_width;
	/*
	 * The memory model (include/linux/page-flags-layout.h, mm.h):
	 * "flatmem" or "sparsemem"; SECTION_SIZE_BITS and MAX_PHYSMEM_BITS
	 * are the architecture's (asm/sparsemem.h) whichever the model;
	 * SECTIONS_WIDTH, SECTIONS_PGSHIFT and NODES_PGSHIFT are 0 where the
	 * field is absent from page->flags. Costs: mem_map_bytes is the
	 * memmap (whole sections under SPARSEMEM), mem_section_bytes the
	 * mem_section[] table (0 under FLATMEM).
	 */
	const char *memory_model;
	unsigned section_size_bits, max_physmem_bits;
	unsigned sections_width, sections_pgshift, nodes_pgshift;
	uint64_t nr_mem_sections, present_sections, mem_section_bytes;
	unsigned nr_zones;
	struct km_zone_info zones[KM_MAX_ZONES];
	/*
	 * The configuration's holes, and the pages of RAM: max_pfn - min_pfn
	 * less the holes. FLATMEM's mem_map spans the holes; under SPARSEMEM
	 * a section with no RAM is not present and costs no memmap.
	 */
	unsigned nr_holes;
	struct km_hole holes[KM_MAX_HOLES];
	uint64_t ram_pages;
};

/**
 * km_sync - host backend with a file: write what was written through any
 * mapping to the file (msync + fsync). 0 on the simulated backend.
 */
KM_API int km_sync(km_machine *m);

/** km_machine_layout - the virtual layout, zones and overhead figures. */
KM_API int km_machine_layout(km_machine *m, struct km_layout *out);

/*
 * A km_page pointer is one of the machine's when km_pfn_to_page (or another
 * function here) gave it: any other pointer, one into the middle of a page
 * or another machine's page, is answered as the functions below say (NULL,
 * 0, UINT64_MAX, KM_ZONE_NONE, -EINVAL), never used.
 */
/** pfn_to_page: the page of @pfn, or NULL when !km_pfn_valid(@pfn). */
KM_API km_page *km_pfn_to_page(km_machine *m, uint64_t pfn);
/**
 * pfn_valid: 1 when @pfn has a struct page, else 0. FLATMEM: every pfn
 * from min_pfn to max_pfn, holes included (their pages are reserved);
 * SPARSEMEM: the pfns of present sections (a section wholly in holes has
 * no memmap). km_pfn_to_page gives a page exactly for these.
 */
KM_API int km_pfn_valid(km_machine *m, uint64_t pfn);
/** page_is_ram: 1 when @pfn is RAM (a pfn of the machine in no hole). */
KM_API int km_page_is_ram(km_machine *m, uint64_t pfn);
/** page_to_pfn: the pfn of @page (a page of this machine). */
KM_API uint64_t km_page_to_pfn(km_machine *m, const km_page *page);
/** page_zone: the zone type of @page, read from its flags. */
KM_API enum km_zone_type km_page_zone(km_machine *m, const km_page *page);
/** PageHighMem: 1 when @page is in a highmem zone, else 0. */
KM_API int km_page_highmem(km_machine *m, const km_page *page);
/** The raw page->flags word (zone bits at zones_pgshift). */
KM_API unsigned long km_page_flags(km_machine *m, const km_page *page);
/**
 * lowmem_page_address (__va): the direct-mapped address of a lowmem page;
 * NULL for a highmem page, which has none.
 */
KM_API void *km_lowmem_page_address(km_machine *m, const km_page *page);
/** totalhigh_pages: the number of highmem pages. */
KM_API uint64_t km_totalhigh_pages(km_machine *m);
/** nr_free_highpages: highmem pages not allocated. */
KM_API uint64_t km_nr_free_highpages(km_machine *m);

/* km_alloc_page gfp flags, as the kernel's zonelists fall back */
#define KM_GFP_KERNEL   0x0u /* Normal, then DMA */
#define KM_GFP_DMA      0x1u /* DMA only */
#define KM_GFP_HIGHUSER 0x2u /* HighMem, then Normal, then DMA */

/** alloc_page: take a free page. Returns 0 or -ENOMEM. */
KM_API int km_alloc_page(km_machine *m, unsigned gfp, km_page **out);
/** __free_page: give a page back. -EINVAL when it was not allocated. */
KM_API int km_free_page(km_machine *m, km_page *page);

/* ---------------------------------------------------------------------- */
/* Persistent maps (kmap/kunmap), for the calling thread's current task     */
/* ---------------------------------------------------------------------- */

enum km_how {
	KM_HOW_LOWMEM = 0, /* direct map, no slot */
	KM_HOW_HIT = 1,    /* the page was in the window already */
	KM_HOW_NEW = 2,    /* a slot was taken for it */
};

/**
 * km_kmap - kmap(): map @page and return its address in *addr. Sleeps while
 * every slot of the page's colour is in use and wakes on kunmap. A lowmem
 * page gets its direct address. Errors: -KM_EATOMIC in atomic context,
 * -EINVAL for a page not of this machine, a backend's -errno. For a
 * simulated task (km_task_switch), sleeping returns -KM_ESLEEPING instead.
 */
KM_API int km_kmap(km_machine *m, km_page *page, void **addr);
/** km_kmap_try - as km_kmap, but -EAGAIN instead of sleeping. */
KM_API int km_kmap_try(km_machine *m, km_page *page, void **addr);
/** km_kmap_timeout - as km_kmap, but -ETIMEDOUT after @timeout_ns. */
KM_API int km_kmap_timeout(km_machine *m, km_page *page, uint64_t timeout_ns,
                           void **addr);

/* km_kmap_ex flags */
#define KM_MAP_NOWAIT 0x1u /* -EAGAIN instead of sleeping */
#define KM_MAP_TIMED  0x2u /* -ETIMEDOUT after timeout_ns */

/**
 * km_kmap_ex - the general kmap: @flags as above; *how (may be NULL) tells
 * whether the page was lowmem, a hit, or newly entered.
 */
KM_API int km_kmap_ex(km_machine *m, km_page *page, unsigned flags,
                      uint64_t timeout_ns, void **addr, enum km_how *how);

/**
 * km_kunmap - kunmap(): drop one user of @page's persistent mapping. A
 * lowmem page is a no-op. Errors (nothing changed): -KM_ENOTMAPPED,
 * -KM_ENOUSERS, -KM_EATOMIC, -EINVAL.
 */
KM_API int km_kunmap(km_machine *m, km_page *page);

/**
 * km_kmap_high_get - kmap_high_get(): take a user of @page's mapping if it
 * is in the window, without ever mapping it. -KM_ENOTMAPPED when it is not;
 * a lowmem page gets its direct address. The kernel has it only where the
 * architecture defines ARCH_NEEDS_KMAP_HIGH_GET (km_layout.kmap_high_get):
 * -EOPNOTSUPP on the other profiles.
 */
KM_API int km_kmap_high_get(km_machine *m, km_page *page, void **addr);

/** kmap_flush_unused(): clear every slot whose count is 1. */
KM_API int km_kmap_flush_unused(km_machine *m);

/**
 * page_address(): the address of @page, NULL for a highmem page that is
 * not in the window.
 */
KM_API void *km_page_address(km_machine *m, const km_page *page);

/**
 * kmap_to_page(): the page behind a kmap, local or direct-map address, or
 * NULL when @addr is none of those.
 */
KM_API km_page *km_kmap_to_page(km_machine *m, const void *addr);

/* ---------------------------------------------------------------------- */
/* Local maps                                                              */
/* ---------------------------------------------------------------------- */

/** Most highmem local mappings a task may hold (KM_MAX_IDX - 1). */
#define KM_LOCAL_MAX 15

/**
 * km_kmap_local_page - kmap_local_page(): a mapping only the current task
 * may use, released last-in first-out. Lowmem gets its direct address and
 * takes no place. Errors: -KM_ESTACKFULL, -EBUSY when no local-map area is
 * free for this thread, -EINVAL, a backend's -errno.
 */
KM_API int km_kmap_local_page(km_machine *m, km_page *page, void **addr);
/**
 * km_kunmap_local - kunmap_local(): release the newest local mapping,
 * @addr. -KM_ENOTTOP when it is an older one, -KM_EKIND when it was made
 * by kmap_atomic, -EINVAL when it is none of the task's (released already,
 * or never mapped); nothing is unmapped then. A lowmem address is a no-op.
 * A window address is a persistent mapping's: where the architecture needs
 * kmap_high_get (km_layout.kmap_high_get) it is that page's kunmap, with
 * its errors; elsewhere a slot with users is a no-op and one without is
 * -EINVAL.
 */
KM_API int km_kunmap_local(km_machine *m, const void *addr);
/** kmap_atomic(): as kmap_local_page, and opens an atomic section. */
KM_API int km_kmap_atomic(km_machine *m, km_page *page, void **addr);
/**
 * kunmap_atomic(): release the newest mapping and close the section.
 * -KM_ENOATOMIC with no section open, -KM_ENOTTOP, -KM_EKIND.
 */
KM_API int km_kunmap_atomic(km_machine *m, const void *addr);
/** Depth of the current task's atomic sections (0 outside any). */
KM_API int km_in_atomic(km_machine *m);

/* ---------------------------------------------------------------------- */
/* vmap: many pages at one contiguous range of the vmalloc area            */
/* ---------------------------------------------------------------------- */

/**
 * km_vmap - vmap(): map @pages[0..@count) at one contiguous range of the
 * vmalloc area, the lowest with room for them and a guard page after
 * them (first fit); highmem and lowmem pages alike, a page may appear
 * more than once. *addr is the first page's address. When no range has
 * room, the lazily freed areas are purged (one TLB flush) and the search
 * retried, as alloc_vmap_area() does. Errors, with nothing changed:
 * -EINVAL (no pages, more pages than memory, a page not of this
 * machine), -KM_EATOMIC inside kmap_atomic (vmap may sleep), -ENOSPC (no
 * room even after the purge), a backend's -errno.
 */
KM_API int km_vmap(km_machine *m, km_page *const *pages, unsigned count,
                   void **addr);
/**
 * km_vunmap - vunmap(): release the area that km_vmap() returned at
 * @addr. Its PTEs are cleared at once; the TLB flush and the release of
 * its range are lazy: one purge flushes every lazily freed area when
 * their pages (guard pages counted) pass km_layout.vmap_lazy_max, or
 * when a km_vmap() finds no room. -KM_ENOAREA when @addr is not the
 * start of a live area, -KM_EATOMIC inside kmap_atomic.
 */
KM_API int km_vunmap(km_machine *m, const void *addr);
/**
 * km_vm_unmap_aliases - vm_unmap_aliases(): purge the lazily freed areas
 * now (one TLB flush, over km_vm_map_ram()'s dirty pieces too), so their
 * ranges are free again. -KM_EATOMIC inside kmap_atomic.
 */
KM_API int km_vm_unmap_aliases(km_machine *m);
/** vmalloc_to_page(): the page mapped at @addr in a live area, or NULL. */
KM_API km_page *km_vmalloc_to_page(km_machine *m, const void *addr);
/**
 * km_vm_map_ram - vm_map_ram(): map @pages[0..@count) at one contiguous
 * range of the vmalloc area with no guard page. Up to
 * km_layout.vmap_max_alloc pages come from the calling CPU's vmap
 * blocks (km_layout.vmap_block_pages each, the piece rounded up to a
 * power of two); more take an area of their own as km_vmap() does.
 * Errors, with nothing changed: -EINVAL (no pages, a page not of this
 * machine), -KM_EATOMIC inside kmap_atomic, -ENOSPC (no room even after
 * the purge), -EBUSY (the calling thread has no CPU: more threads than
 * km_config.nr_cpus), a backend's -errno.
 */
KM_API int km_vm_map_ram(km_machine *m, km_page *const *pages, unsigned count,
                         void **addr);
/**
 * km_vm_unmap_ram - vm_unmap_ram(): unmap the @count pages km_vm_map_ram()
 * mapped at @addr. The PTEs are cleared at once and the TLB flush is
 * deferred: a block's piece stays dirty until the whole block is released
 * (every page dirty, or at a purge when nothing in it is mapped), or until
 * km_vm_unmap_aliases() flushes its dirty range; an area of its own is
 * lazily freed as km_vunmap() does. -KM_ENOAREA when no live
 * km_vm_map_ram() mapping of @count pages starts at @addr, -KM_EATOMIC
 * inside kmap_atomic.
 */
KM_API int km_vm_unmap_ram(km_machine *m, const void *addr, unsigned count);

/* ---------------------------------------------------------------------- */
/* Bytes through mappings                                                  */
/* ---------------------------------------------------------------------- */

/**
 * km_read / km_write - copy bytes through a mapped address: on the
 * simulated backend, through its page tables and TLB, so a wrong mapping
 * gives wrong bytes. -EFAULT when a page of the range has no translation
 * (host backend: it is not lowmem, a window slot that maps a page, a
 * live local mapping or a page of a live vmap area) or the range runs
 * past the end of the address space; nothing is copied then. The mapping must stay while the copy
 * runs: one the caller holds.
 */
KM_API int km_read(km_machine *m, const void *addr, void *buf, size_t len);
KM_API int km_write(km_machine *m, void *addr, const void *buf, size_t len);

/* How a copy helper reached a page's bytes (km_page_read's *how). */
enum km_copy_how {
	KM_COPY_LOWMEM = 1,   /* the direct map */
	KM_COPY_WINDOW = 2,   /* the page's slot in the window */
	KM_COPY_MEMORY = 3,   /* straight from the memory (host: pread, pwrite) */
	KM_COPY_ADMITTED = 4, /* mapped into the window first: the admission
	                       * rule expects it to be used again */
	KM_COPY_STREAM = 5,   /* a run of pages mapped for a sequential scan */
	KM_COPY_AHEAD = 6,    /* a scan's read-ahead (KM_READAHEAD) */
};

/**
 * km_page_read / km_page_write - copy @len bytes at @off of @page (within
 * the page) to or from @buf, the cheapest way there is. A page in the
 * window is copied from its slot: no system call, and with a lockless
 * policy no lock. A page outside is copied straight from the memory (the
 * host backend's pread or pwrite), or mapped into the window first when
 * the admission rule (TinyLFU: a frequency count of recent accesses)
 * says it will be used again more than the page it displaces; a page
 * read once is never mapped, and a scan does not push the hot pages out.
 * A sequential scan is served from runs of pages mapped ahead with one
 * system call, when that is measured to be cheaper here than copying
 * page by page. Never sleeps, so it may be called in atomic context.
 * *how (may be NULL) says which way it went. -EINVAL past the page or for
 * a page not of this machine, -EROFS writing read-only memory, a
 * backend's -errno.
 */
KM_API int km_page_read(km_machine *m, km_page *page, size_t off, void *buf,
                        size_t len, enum km_copy_how *how);
KM_API int km_page_write(km_machine *m, km_page *page, size_t off,
                         const void *buf, size_t len, enum km_copy_how *how);

/* The kernel's helpers, over km_page_read/km_page_write. -EINVAL past the
 * page. */
KM_API int km_memcpy_page(km_machine *m, km_page *dst, size_t dst_off,
                          km_page *src, size_t src_off, size_t len);
KM_API int km_memcpy_to_page(km_machine *m, km_page *page, size_t off,
                             const void *from, size_t len);
KM_API int km_memcpy_from_page(km_machine *m, void *to, km_page *page,
                               size_t off, size_t len);
KM_API int km_memset_page(km_machine *m, km_page *page, size_t off, int val,
                          size_t len);
KM_API int km_memzero_page(km_machine *m, km_page *page, size_t off,
                           size_t len);
KM_API int km_copy_highpage(km_machine *m, km_page *to, km_page *from);

/* ---------------------------------------------------------------------- */
/* Simulated tasks                                                         */
/* ---------------------------------------------------------------------- */

/*
 * Each thread acts as one CPU of the machine and runs its own task. A
 * simulated task lets one thread play several tasks deterministically, as
 * the kernel's scheduler would on one CPU: km_task_switch() makes a task
 * current (its local mappings are switched in, the previous task's out),
 * and a kmap that must sleep puts a simulated task on its colour's wait
 * queue and returns -KM_ESLEEPING instead of blocking the thread. A kunmap
 * that frees a slot wakes the queue; km_task_next_woken() hands the woken
 * tasks back in the order they went to sleep, for the caller to retry.
 */
enum km_task_state {
	KM_TASK_RUNNING = 0,
	KM_TASK_SLEEPING = 1, /* on a wait queue */
	KM_TASK_WOKEN = 2,    /* woken, waiting to be picked up and retried */
	KM_TASK_NONE = -1,    /* km_task_state: not a task of this machine */
};

/*
 * A task handle is checked against the machine's own tasks: a destroyed
 * task or another machine's is -EINVAL (km_task_state: KM_TASK_NONE),
 * never used.
 */
KM_API int km_task_create(km_machine *m, km_task **out);
/** Free a task; it must hold no local mapping, must not sleep or be current. */
KM_API int km_task_destroy(km_machine *m, km_task *t);
/**
 * Make @t current on the calling thread; NULL returns to the thread's own.
 * A backend's error changes nothing; -KM_ECORRUPT: undoing it failed too,
 * the previous task still current with some local maps not live.
 */
KM_API int km_task_switch(km_machine *m, km_task *t);
/** The next woken simulated task, FIFO; NULL when none. It is RUNNING now. */
KM_API km_task *km_task_next_woken(km_machine *m);
/** The state of @t; NULL: the calling thread's own task (running). */
KM_API enum km_task_state km_task_state(km_machine *m, const km_task *t);
/** Number of highmem local mappings on @t's stack. */
KM_API int km_task_local_depth(km_machine *m, const km_task *t);

/* ---------------------------------------------------------------------- */
/* Inspection, events, statistics                                          */
/* ---------------------------------------------------------------------- */

/** pkmap_count[nr] and the pfn its PTE maps (UINT64_MAX when none). */
struct km_slot {
	int count;
	uint64_t pfn;
};
KM_API int km_pkmap_slot(km_machine *m, unsigned nr, struct km_slot *out);

/* A range of addresses, [start, end). */
struct km_vrange {
	const void *start, *end;
};

enum km_event_type {
	KM_EV_FLUSH = 1, /* flush_all_zero_pkmaps ran */
	KM_EV_SLEEP = 2, /* a task went to sleep on a colour's queue */
	KM_EV_WAKE = 3,  /* a kunmap woke a colour's queue */
	KM_EV_PURGE = 4, /* the lazily freed vmap areas were released */
};

/* Why a purge ran (km_event.reason). */
enum km_purge_reason {
	KM_PURGE_LAZY = 1,    /* their pages passed lazy_max_pages */
	KM_PURGE_NOROOM = 2,  /* a vmap found no room */
	KM_PURGE_ALIASES = 3, /* km_vm_unmap_aliases() */
};

struct km_event {
	enum km_event_type type;
	unsigned color;
	/* KM_EV_FLUSH: the slots cleared, ascending; tlb_flush when any were. */
	const unsigned *cleared;
	unsigned nr_cleared;
	int tlb_flush;
	/* KM_EV_FLUSH: pkmap_count[0..last_pkmap) after the flush, readable
	 * during the call only */
	const int *pkmap_count;
	unsigned last_pkmap;
	/* KM_EV_SLEEP: the task that sleeps; KM_EV_FLUSH: the task whose
	 * kmap or kmap_flush_unused flushed. NULL for a thread's own task. */
	const km_task *task;
	unsigned nr_woken;   /* KM_EV_WAKE */
	/*
	 * KM_EV_PURGE: every lazily freed area went, nr_areas of them with
	 * nr_pages pages (guard pages counted); one TLB flush of [start, end)
	 * when there were any (tlb_flush); why it ran.
	 */
	unsigned nr_areas;
	uint64_t nr_pages;
	const void *start, *end;
	enum km_purge_reason reason;
	/* KM_EV_PURGE: the nr_areas ranges released, by address (a vmap
	 * area with its guard page, a vm_map_ram area, a whole vmap block);
	 * readable during the call only */
	const struct km_vrange *areas;
};

/**
 * km_set_event_hook - call @fn for each event, under the machine's lock and
 * in the order things happen. @fn must not call back into the machine.
 */
typedef void (*km_event_fn)(void *arg, const struct km_event *ev);
KM_API void km_set_event_hook(km_machine *m, km_event_fn fn, void *arg);

#define KM_MAX_COLORS 64

struct km_color_stats {
	uint64_t hits, new_maps, sleeps;
	unsigned in_use, in_use_peak; /* slots of this colour with users */
};

struct km_stats {
	uint64_t kmaps;        /* kmap calls that returned an address */
	uint64_t hits;         /* ... of a page already in the window */
	uint64_t new_maps;     /* ... that took a slot (map_new_virtual) */
	uint64_t lowmem;       /* ... of a lowmem page */
	uint64_t kunmaps;      /* successful kunmaps of highmem pages */
	uint64_t flushes;      /* runs of flush_all_zero_pkmaps */
	uint64_t tlb_flushes;  /* whole-window TLB flushes (runs that cleared) */
	uint64_t tlb_flush_one;/* single-page TLB flushes (local unmaps; ARM: maps too) */
	uint64_t slots_cleared;/* slots flush_all_zero_pkmaps cleared */
	uint64_t sleeps;       /* times a task went to sleep */
	uint64_t wakeups;      /* wake-ups of a queue */
	uint64_t local_maps;   /* highmem local/atomic mappings made */
	uint64_t errors;       /* calls refused as misuse */
	uint64_t tlb_stale;    /* stale translations seen (simulated TLB) */
	uint64_t pte_sets;     /* window PTEs set (host: mmap calls) */
	uint64_t clear_runs;   /* runs of window PTEs cleared (host: one call) */
	/* the copy helpers on highmem pages (enum km_copy_how) */
	uint64_t copy_window;  /* copies from the page's slot in the window */
	uint64_t copy_memory;  /* ... straight from the memory */
	uint64_t copy_stream;  /* ... from a run mapped for a scan */
	uint64_t admissions;   /* ... that mapped their page (admitted) */
	uint64_t stream_runs;  /* runs mapped for scans, one call each */
	uint64_t copy_ahead;   /* ... from a scan's read-ahead (KM_READAHEAD) */
	uint64_t ahead_reads;  /* read-aheads, one call each */
	unsigned in_use;       /* slots with users (count >= 2) now */
	unsigned in_use_peak;  /* ... at most, since creation */
	unsigned mapped;       /* slots mapped (count >= 1) now */
	unsigned colors;
	struct km_color_stats color[KM_MAX_COLORS];
	/* vmap: calls, and the vmalloc area now */
	uint64_t vmaps;             /* areas mapped */
	uint64_t vunmaps;           /* areas released (lazily) */
	uint64_t vmap_purges;       /* purges that released areas */
	uint64_t vmap_nospace;      /* vmaps refused: no room after a purge */
	unsigned vmap_areas;        /* live areas */
	uint64_t vmap_pages;        /* pages mapped in them */
	uint64_t vmap_lazy_pages;   /* lazily freed pages, guards counted */
	uint64_t vmap_free_pages;   /* pages of the area free for a vmap */
	uint64_t vmap_largest_free; /* the longest free run: a vmap of more
	                             * pages than this less one (the guard)
	                             * needs a purge or fails */
	uint64_t vm_map_rams;       /* vm_map_ram calls that mapped */
	uint64_t vm_unmap_rams;     /* ... and vm_unmap_ram calls that unmapped */
	unsigned vmap_blocks;       /* vmap blocks held (not lazily freed) */
};

KM_API int km_stats_get(km_machine *m, struct km_stats *out);

/**
 * km_check - the expensive invariant check: counts against the hash,
 * the page tables and the TLB model. 0 when all hold (@msg, unless NULL,
 * is then ""), else -KM_ECORRUPT with a description in @msg.
 */
KM_API int km_check(km_machine *m, char *msg, size_t msglen);

/** A mapping still held: a persistent one, a task's local one, a vmap area. */
struct km_leak {
	uint64_t pfn;         /* a vmap area: its first page's */
	int users;            /* persistent: pkmap_count - 1 */
	const km_task *task;  /* local: the simulated task; NULL: a thread's,
	                       * lost when it exited */
	int local;
	int vmap;             /* a live vmap area: */
	const void *addr;     /* ... its address */
	unsigned pages;       /* ... and its pages */
};
/**
 * km_leaks - list mappings still held, persistent ones in slot order, then
 * each simulated task's local ones bottom-up, then the local ones of
 * threads that exited holding them (task NULL), then live vmap areas by
 * address. Returns how many there are (which may exceed @max; only @max
 * are stored) or -errno.
 */
KM_API int km_leaks(km_machine *m, struct km_leak *out, unsigned max);

#ifdef __cplusplus
}
#endif
#endif /* KMAP_H */
