/*
 * backend.h - the backend contract: what the core needs from an MMU and
 * the memory behind it. Three implement it: the simulated machine
 * (src/backend/sim.c), real memory (src/backend/host.c) and the project's
 * kernel (kernel/mm.c, real page tables).
 *
 * The rules, once for every entry:
 * - Each entry returns 0 or a negative errno, and a failed entry leaves the
 *   backend as it was, so the core can report the error and change nothing.
 * - PTE and TLB entries are called with the kmap lock held, except those
 *   for a task's local-map area and run area, which only its own CPU
 *   touches.
 * - Bytes reach the memory two ways, which agree at every moment: through
 *   a mapping (access, a run) and straight (copy). A backend keeps no copy
 *   of the memory of its own that either way could miss.
 * - Addresses are the machine's virtual addresses: a window slot
 *   (PKMAP_ADDR), a local-map slot (the fixmap), a page of the vmalloc
 *   area (vmap) or the direct map.
 * - Optional entries may be NULL; the comment says what NULL means.
 */
#ifndef KMAP_BACKEND_H
#define KMAP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct km_core;

/* What km_machine_create asks of a backend beyond the machine's layout. */
struct km_backend_params {
	const char *mem_path;   /* a file holding the memory; NULL: none */
	bool rdonly;            /* map the memory read-only */
	bool sequential;        /* KM_SEQUENTIAL: pages are mostly mapped in order */
};

/* Capabilities (km_backend_ops.caps): which configurations it takes. */
#define KM_BE_FILE    0x1u /* memory in a file (mem_path) */
#define KM_BE_RDONLY  0x2u /* read-only memory (KM_RDONLY) */
#define KM_BE_DEBUG   0x4u /* protect() for KM_DEBUG */
/*
 * The addresses are the host's own: the direct map, the window and each
 * thread's local-map area are wherever the backend put them, so the
 * profile's virtual layout does not bind the size of lowmem or the number
 * of CPUs.
 */
#define KM_BE_REAL    0x8u

struct km_backend_ops {
	const char *name;
	unsigned caps;
	uint64_t default_lowmem;  /* lowmem when the config says 0; 0: the profile's split */
	unsigned default_nr_cpus; /* local-map areas when 0; 0: the profile's NR_CPUS */
	uint64_t default_vmalloc; /* KM_BE_REAL: the vmalloc area it reserves
	                           * when the config says 0 */
	const char *default_policy; /* slot policy when the config names none; NULL: linux */

	/* ---- lifecycle (the driver calls these, without the lock) ---- */

	/*
	 * The memory size to use when the config gives none (a file's size).
	 * NULL: the profile's default.
	 */
	int (*mem_size)(const struct km_backend_params *p, uint64_t *bytes);
	/*
	 * Make the backend for the machine @k (its layout and arrays are set
	 * up, km__core_init has run). A backend with KM_BE_REAL replaces the
	 * layout's addresses in @k with its own (page_offset, high_memory,
	 * pkmap_base, vmalloc_start and _end for vm_pages pages; kmap_area 0
	 * until a thread asks for its area).
	 */
	int (*create)(struct km_core *k, const struct km_backend_params *p,
	              void **be);
	void (*destroy)(void *be);
	/* Make what was written reach the memory's file. NULL: nothing to do. */
	int (*sync)(void *be);

	/* ---- page tables and TLB ---- */

	/* set_pte_at(): map the page at @vaddr to @pfn. */
	int (*set_pte)(void *be, uintptr_t vaddr, uint64_t pfn);
	/*
	 * set_pte_at() for @nr pages from @vaddr to the @nr pfns from @pfn
	 * (a vmap's run of consecutive pages), at once. NULL: set_pte each.
	 */
	int (*map_range)(void *be, uintptr_t vaddr, uint64_t pfn, unsigned nr);
	/* pte_clear() for @nr contiguous pages from @vaddr. */
	int (*clear_ptes)(void *be, uintptr_t vaddr, unsigned nr);
	/* flush_tlb_kernel_range(): drop translations in [start, end). */
	int (*flush_tlb_range)(void *be, uintptr_t start, uintptr_t end);
	/* A single-page flush (local unmaps, task switches). */
	int (*flush_tlb_one)(void *be, uintptr_t vaddr);

	/* ---- bytes ---- */

	/* Copy within one page through the translation of @vaddr;
	 * -EFAULT when it has none. */
	int (*access)(void *be, uintptr_t vaddr, void *buf, size_t len,
	              int write);
	/*
	 * Would access() find a translation for @vaddr's page? Changes
	 * nothing (no TLB fill), so a range of pages is checked whole before
	 * a byte is copied. NULL: access() alone says, page by page.
	 */
	bool (*mapped)(void *be, uintptr_t vaddr);
	/*
	 * Copy @len bytes at @off of page @pfn (within the page) straight from
	 * or to the memory, through no mapping (the host: one pread or pwrite
	 * of its file). Without the lock, from any thread. -EROFS for a write
	 * to read-only memory. NULL only where the driver has no copy helpers
	 * (the project's kernel).
	 */
	int (*copy)(void *be, uint64_t pfn, size_t off, void *buf, size_t len,
	            int write);
	/*
	 * Read the @n whole pages from @pfn straight from the memory into
	 * @buf, with one call where the backend has calls (the host: one
	 * pread): a scan's read-ahead (KM_READAHEAD). Without the lock, from
	 * any thread. NULL: no read-ahead.
	 */
	int (*read_pages)(void *be, uint64_t pfn, unsigned n, void *buf);
	/*
	 * Streaming: map the @n pages from @pfn, in order, at the run area of
	 * local-map area @cpu, in place of the run mapped there before, with
	 * one call; *vaddr is @pfn's address, writable unless the memory is
	 * read-only. @n is at most KM_RUN_PAGES. NULL: no runs (the copy
	 * helpers copy a scan page by page).
	 */
	int (*map_run)(void *be, unsigned cpu, uint64_t pfn, unsigned n,
	               uintptr_t *vaddr);

	/* ---- local-map areas ---- */

	/*
	 * Make local-map area @cpu (KM_MAX_IDX pages), *top being the address
	 * of index 0; and give it up, with its run (map_run). NULL: the areas
	 * are fixed (the fixmap).
	 */
	int (*local_area)(void *be, unsigned cpu, uintptr_t *top);
	void (*local_area_release)(void *be, unsigned cpu);

	/* ---- checking and debugging ---- */

	/* Does the hardware map @pfn (UINT64_MAX: nothing) at the window,
	 * local or vmalloc page @vaddr, with no stale TLB entry? 0 or
	 * -KM_ECORRUPT. */
	int (*check_pte)(void *be, uintptr_t vaddr, uint64_t pfn);
	/* Counters: single-page flushes and stale translations seen. */
	void (*tlb_counts)(void *be, uint64_t *flush_one, uint64_t *stale);
	/*
	 * KM_DEBUG: make a window page accessible (a slot got its first user)
	 * or not (its last user left), so a use after kunmap faults. NULL: no
	 * debug mode.
	 */
	int (*protect)(void *be, uintptr_t vaddr, bool accessible);
};

#endif
