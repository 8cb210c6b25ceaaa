/*
 * machine.h - the memory model: profiles, the virtual layout, mem_map,
 * zones, PageHighMem, lowmem_page_address, and the page allocator.
 * machine.c; freestanding.
 */
#ifndef KMAP_MACHINE_H
#define KMAP_MACHINE_H

#include "core.h"

const struct km_profile *km__profile_find(const char *name);
const struct km_profile *km__profile_at(unsigned i);

/*
 * km__layout_compute - check a configuration and fill in the memory model
 * figures of @k (no arrays yet). @lowmem_bytes, when not 0, replaces the
 * profile's lowmem limit: real memory decides its own direct map; on the
 * profile's layout it may only be smaller (the kernel's highmem=).
 * @vmalloc_bytes is the vmalloc area a backend with real addresses
 * reserves (0 otherwise).
 * @real: the addresses will be the host's (KM_BE_REAL), so the local-map
 * areas need not fit the profile's fixmap. Returns 0 or -EINVAL, and
 * k->why says what is wrong.
 */
/* layout.c */
/* The model's choices from @cfg (sparse, holes), before the compute. */
void km__model_config(struct km_core *k, const struct km_config *cfg);
int km__layout_compute(struct km_core *k, const struct km_profile *p,
                       uint64_t mem_bytes, unsigned last_pkmap,
                       unsigned colors, unsigned nr_cpus,
                       uint64_t lowmem_bytes, uint64_t vmalloc_bytes,
                       bool real);
/* Bytes the driver must give km__core_init: the window's arrays (@arena)
 * and, for a lockless policy, page_slot (0 otherwise). */
size_t km__core_arena_size(const struct km_core *k);
size_t km__core_page_slot_size(const struct km_core *k,
                               const struct km_policy *pol);
/*
 * km__core_init - after km__layout_compute: set up mem_map (zeroed memory
 * of max_pfn pages), the window's arrays in @arena and @page_slot (zeroed,
 * of the sizes above; @page_slot NULL when its size is 0), the lists, and
 * the policy. The backend and driver are the caller's to set.
 */
void km__core_init(struct km_core *k, struct km_page *mem_map, void *arena,
                   uint32_t *page_slot, const struct km_policy *pol);
void km__layout_fill(const struct km_core *k, struct km_layout *out);

/* Pages of the machine: mem_map's length. */
static inline uint64_t km__nr_pages(const struct km_core *k)
{
	return k->max_pfn - k->pfn_offset;
}
/*
 * FLATMEM: mem_map starts at ARCH_PFN_OFFSET's page. SPARSEMEM: the
 * section's memmap, the section number taken from page->flags
 * (page_to_section()) one way and from the pfn the other.
 */
static inline unsigned page_to_section(const struct km_core *k,
                                       const struct km_page *page)
{
	return (page->flags >> k->sections_pgshift) &
	       ((1u << k->sections_width) - 1);
}
static inline uint64_t page_to_pfn(const struct km_core *k,
                                   const struct km_page *page)
{
	if (k->sparse) {
		unsigned sec = page_to_section(k, page);
		return ((uint64_t)sec << k->pfn_section_shift) +
		       (uint64_t)((page - k->mem_map) - k->section_base[sec]);
	}
	return (uint64_t)(page - k->mem_map) + k->pfn_offset;
}
static inline struct km_page *pfn_to_page(const struct km_core *k,
                                          uint64_t pfn)
{
	if (k->sparse) {
		uint64_t sec = pfn >> k->pfn_section_shift;
		return &k->mem_map[k->section_base[sec] +
		                   (int64_t)(pfn - (sec << k->pfn_section_shift))];
	}
	return &k->mem_map[pfn - k->pfn_offset];
}
/* A page's index in mem_map (arrays kept per page use it). */
static inline uint64_t km__page_idx(const struct km_core *k,
                                    const struct km_page *page)
{
	return (uint64_t)(page - k->mem_map);
}
/* Is @pfn in the machine's span [pfn_offset, max_pfn)? */
static inline bool km__pfn_in_span(const struct km_core *k, uint64_t pfn)
{
	return pfn >= k->pfn_offset && pfn < k->max_pfn;
}
/*
 * pfn_valid(): has @pfn a struct page? FLATMEM: the whole span (a hole's
 * pages are reserved); SPARSEMEM: a present section's every pfn (classic
 * SPARSEMEM's early sections are valid whole).
 */
static inline bool km__pfn_valid(const struct km_core *k, uint64_t pfn)
{
	if (!km__pfn_in_span(k, pfn))
		return false;
	return !k->sparse ||
	       k->section_base[pfn >> k->pfn_section_shift] != INT64_MIN;
}
/* Is @pfn RAM: in the span and in no hole? */
static inline bool km__pfn_is_ram(const struct km_core *k, uint64_t pfn)
{
	if (!km__pfn_in_span(k, pfn))
		return false;
	for (unsigned i = 0; i < k->nr_holes && k->holes[i].start_pfn <= pfn; i++)
		if (pfn < k->holes[i].end_pfn)
			return false;
	return true;
}
/* Pages of holes in [a, b). */
uint64_t km__hole_pages(const struct km_core *k, uint64_t a, uint64_t b);
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
/* __va(PFN_PHYS(page_to_pfn(page))) */
static inline uintptr_t lowmem_page_address(const struct km_core *k,
                                            const struct km_page *page)
{
	return k->page_offset + ((uintptr_t)(page - k->mem_map) << PAGE_SHIFT);
}
/*
 * Is @page one of this machine's struct pages: inside mem_map and at the
 * start of an entry? A pointer into the middle of one (page + 1 byte) is
 * not a page. One unsigned compare covers below, above and NULL.
 */
static inline bool km__page_valid(const struct km_core *k,
                                  const struct km_page *page)
{
	uintptr_t off = (uintptr_t)page - (uintptr_t)k->mem_map;
	if (off >= (uintptr_t)km__nr_pages(k) * sizeof(struct km_page) ||
	    off % sizeof(struct km_page))
		return false;
	/* an absent section's entries are no pages (mem_map is dense) */
	return !k->sparse ||
	       k->section_base[(k->pfn_offset + off / sizeof(struct km_page)) >>
	                       k->pfn_section_shift] != INT64_MIN;
}
/*
 * The local-map slot of index @idx in @cpu's area of the fixmap for a page
 * of @pfn: the fixmap grows down, so index 0 is at the area's top; with
 * colours, each index has a slot per colour, the highest colour first
 * (xtensa's kmap_idx()).
 */
static inline uintptr_t km__local_addr(const struct km_core *k, unsigned cpu,
                                       int idx, uint64_t pfn)
{
	unsigned x = (unsigned)pfn & (k->colors - 1);
	return k->kmap_area[cpu] -
	       (((uintptr_t)idx * k->colors + k->colors - 1 - x) << PAGE_SHIFT);
}
/* The lowest page of @cpu's local-map area. */
static inline uintptr_t km__local_low(const struct km_core *k, unsigned cpu)
{
	return k->kmap_area[cpu] -
	       ((uintptr_t)(KM_MAX_IDX * k->colors - 1) << PAGE_SHIFT);
}
/* Is @va in the direct map? */
static inline bool km__in_lowmem(const struct km_core *k, uintptr_t va)
{
	return va >= k->page_offset && va < k->high_memory;
}

int km__alloc_page(struct km_core *k, unsigned gfp, struct km_page **out);
int km__free_page(struct km_core *k, struct km_page *page);

#endif
