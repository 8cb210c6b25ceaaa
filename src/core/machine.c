/*
 * machine.c - the memory under a machine: mem_map with each page's zone in
 * its flags, the window's arrays, the page allocator. The profiles and
 * their layouts are layout.c's. Freestanding.
 */
#include "machine.h"
#include "util.h"
#include "vmalloc.h"

/* The window's arrays, carved from one arena in this order. */
#define ARENA_ALIGN 16u
#define ARENA_PIECES 19u /* the carve() calls of km__core_init */

/* The admission rule every machine runs (admit.h). */
static const struct km_admit *const admit_rule = &km__admit_tinylfu;

size_t km__core_arena_size(const struct km_core *k)
{
	return k->last_pkmap * (sizeof(int) + sizeof(uint64_t) +
	                        sizeof(struct page_address_map) +
	                        2 * sizeof(unsigned) + 1) +
	       k->colors * (4 * sizeof(unsigned) + sizeof(struct list_head)) +
	       k->nr_cpus * sizeof(uintptr_t) +
	       (size_t)k->vm_pages * 2 * sizeof(uint32_t) +
	       (size_t)k->vm_nr_blocks * sizeof(struct km_vblock) +
	       k->nr_cpus * sizeof(struct list_head) + k->vm_pages +
	       ((size_t)k->vm_pages / 2 + 1) * sizeof(struct km_vrange) +
	       admit_rule->size(k->last_pkmap) + ARENA_PIECES * ARENA_ALIGN;
}

size_t km__core_page_slot_size(const struct km_core *k,
                               const struct km_policy *pol)
{
	return pol->lockless ? (size_t)km__nr_pages(k) * sizeof(uint32_t) : 0;
}

static void *carve(char **p, size_t bytes)
{
	uintptr_t a = ((uintptr_t)*p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
	*p = (char *)a + bytes;
	return (void *)a;
}

/* set_page_section(): SPARSEMEM keeps the section number in the flags */
static uint32_t section_bits(const struct km_core *k, uint64_t pfn)
{
	if (!k->sparse)
		return 0;
	return (uint32_t)(pfn >> k->pfn_section_shift) << k->sections_pgshift;
}

void km__core_init(struct km_core *k, struct km_page *mem_map, void *arena,
                   uint32_t *page_slot, const struct km_policy *pol)
{
	char *p = arena;
	k->mem_map = mem_map;
	/* memmap_init_zone(): each page's flags carry its zone number; a
	 * page of no zone (x86's first, kept for the BIOS) is reserved */
	for (uint64_t pfn = k->pfn_offset; pfn < k->first_pfn; pfn++)
		if (km__pfn_valid(k, pfn))
			pfn_to_page(k, pfn)->flags = 1u << PG_reserved |
		                             section_bits(k, pfn);
	for (unsigned z = 0; z < k->nr_zones; z++) {
		uint32_t bits = k->zones_width ? (uint32_t)z << k->zones_pgshift : 0;
		for (uint64_t pfn = k->zones[z].zone_start_pfn;
		     pfn < k->zones[z].end_pfn; pfn++)
			if (km__pfn_valid(k, pfn))
				pfn_to_page(k, pfn)->flags = bits | section_bits(k, pfn);
	}
	/* init_unavailable_range(): a hole's pages that have a struct page
	 * keep their zone and are reserved, so never free */
	for (unsigned i = 0; i < k->nr_holes; i++)
		for (uint64_t pfn = k->holes[i].start_pfn;
		     pfn < k->holes[i].end_pfn; pfn++)
			if (km__pfn_valid(k, pfn))
				pfn_to_page(k, pfn)->flags |= 1u << PG_reserved;
	k->pkmap_count = carve(&p, k->last_pkmap * sizeof(int));
	k->pkmap_page_table = carve(&p, k->last_pkmap * sizeof(uint64_t));
	k->page_address_maps = carve(&p, k->last_pkmap *
	                                 sizeof(struct page_address_map));
	k->flush_scratch = carve(&p, k->last_pkmap * sizeof(unsigned));
	k->last_pkmap_nr_arr = carve(&p, k->colors * sizeof(unsigned));
	k->nr_waiting = carve(&p, k->colors * sizeof(unsigned));
	k->pkmap_map_wait = carve(&p, k->colors * sizeof(struct list_head));
	k->kmap_area = carve(&p, k->nr_cpus * sizeof(uintptr_t));
	k->slot_ref = carve(&p, k->last_pkmap);
	k->free_slots = carve(&p, k->last_pkmap * sizeof(unsigned));
	k->free_top = carve(&p, k->colors * sizeof(unsigned));
	k->clock_hand = carve(&p, k->colors * sizeof(unsigned));
	k->vm_tag = carve(&p, (size_t)k->vm_pages * sizeof(uint32_t));
	k->vm_pte = carve(&p, (size_t)k->vm_pages * sizeof(uint32_t));
	k->vm_blocks = carve(&p, (size_t)k->vm_nr_blocks *
	                         sizeof(struct km_vblock));
	k->vm_queue = carve(&p, k->nr_cpus * sizeof(struct list_head));
	k->vm_ram = carve(&p, k->vm_pages);
	k->vm_ranges = carve(&p, ((size_t)k->vm_pages / 2 + 1) *
	                         sizeof(struct km_vrange));
	km__vm_init(k);
	k->adm = admit_rule;
	k->adm->init(k, carve(&p, k->adm->size(k->last_pkmap)));
	for (unsigned c = 0; c < k->colors; c++)
		INIT_LIST_HEAD(&k->pkmap_map_wait[c]);
	for (unsigned i = 0; i < PA_HASH_SIZE; i++)
		INIT_LIST_HEAD(&k->page_address_htable[i]);
	for (unsigned i = 0; i < k->last_pkmap; i++)
		INIT_LIST_HEAD(&k->page_address_maps[i].list);
	INIT_LIST_HEAD(&k->tasks);
	INIT_LIST_HEAD(&k->woken);
	/* __fix_to_virt(FIX_KMAP_BEGIN + KM_MAX_IDX * cpu * colours): the
	 * fixmap grows down, so index 0 is each area's top page */
	for (unsigned c = 0; c < k->nr_cpus; c++)
		k->kmap_area[c] = (uintptr_t)(k->fixaddr_top -
		        ((uint64_t)(k->fix_kmap_begin +
		                    KM_MAX_IDX * c * k->colors) << PAGE_SHIFT));
	k->stats.colors = k->colors;
	k->pol = pol;
	k->page_slot = pol->lockless ? page_slot : NULL;
	if (!pol->ref_bits)
		k->slot_ref = NULL;
	if (pol->init)
		pol->init(k);
}

static int zone_by_type(const struct km_core *k, enum km_zone_type t)
{
	for (unsigned i = 0; i < k->nr_zones; i++)
		if (k->zones[i].type == t)
			return (int)i;
	return -1;
}

/* A next-fit scan of one zone for a page without PG_allocated. */
static struct km_page *zone_alloc(struct km_core *k, struct zone *z)
{
	uint64_t span = z->end_pfn - z->zone_start_pfn;
	if (!z->nr_free)
		return NULL;
	uint64_t pfn = z->alloc_cursor;
	for (uint64_t n = 0; n < span; n++) {
		if (pfn >= z->end_pfn)
			pfn = z->zone_start_pfn;
		/* a hole: reserved in a present section, no page in an
		 * absent one */
		struct km_page *page = km__pfn_valid(k, pfn) ?
		                       pfn_to_page(k, pfn) : NULL;
		if (page && !(page->flags & (1u << PG_allocated | 1u << PG_reserved))) {
			page->flags |= 1u << PG_allocated;
			z->nr_free--;
			z->alloc_cursor = pfn + 1;
			return page;
		}
		pfn++;
	}
	return NULL;
}

uint64_t km__hole_pages(const struct km_core *k, uint64_t a, uint64_t b)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < k->nr_holes; i++) {
		uint64_t s = k->holes[i].start_pfn > a ? k->holes[i].start_pfn : a;
		uint64_t e = k->holes[i].end_pfn < b ? k->holes[i].end_pfn : b;
		n += s < e ? e - s : 0;
	}
	return n;
}

int km__alloc_page(struct km_core *k, unsigned gfp, struct km_page **out)
{
	/* the zonelist: highest allowed zone first, then down */
	enum km_zone_type order[3];
	unsigned n = 0;
	if (gfp == KM_GFP_HIGHUSER)
		order[n++] = KM_ZONE_HIGHMEM;
	if (gfp != KM_GFP_DMA || zone_by_type(k, KM_ZONE_DMA) < 0)
		order[n++] = KM_ZONE_NORMAL;
	order[n++] = KM_ZONE_DMA;
	for (unsigned i = 0; i < n; i++) {
		int z = zone_by_type(k, order[i]);
		if (z < 0)
			continue;
		struct km_page *page = zone_alloc(k, &k->zones[z]);
		if (page) {
			*out = page;
			return 0;
		}
	}
	return -ENOMEM;
}

int km__free_page(struct km_core *k, struct km_page *page)
{
	if (!km__page_valid(k, page) || !(page->flags & (1u << PG_allocated)))
		return -EINVAL;
	page->flags &= ~(1u << PG_allocated);
	page_zone(k, page)->nr_free++;
	return 0;
}

