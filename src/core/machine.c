/*
 * machine.c - profiles, the virtual layout, mem_map, zones, the allocator.
 * Freestanding.
 */
#include "machine.h"
#include "util.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

/*
 * x86-32 (arch/x86/include/asm/pgtable_32_areas.h, fixmap.h, page_32_types.h):
 *   __FIXADDR_TOP 0xfffff000; PKMAP_BASE = (FIXADDR_START - PAGE_SIZE *
 *   (LAST_PKMAP + 1)) & PMD_MASK; VMALLOC_END = PKMAP_BASE - 2 * PAGE_SIZE;
 *   MAXMEM = VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE (128 MiB);
 *   VMALLOC_START = high_memory + VMALLOC_OFFSET (8 MiB).
 * The fixmap: FIX_HOLE, then KM_MAX_IDX * NR_CPUS kmap entries
 * (FIX_KMAP_BEGIN = 1 here), then the other fixed entries, modelled as one
 * block of 104 pages so that an 8-CPU kernel's fixmap starts at 0xfff16000,
 * as in the classic boot log ("fixmap : 0xfff16000 - 0xfffff000").
 */
#define X86_FIXADDR_TOP 0xfffff000ull
#define X86_FIX_KMAP_BEGIN 1u
#define X86_FIX_OTHER 104u
#define X86_VMALLOC_RESERVE (128 * MiB)
#define X86_VMALLOC_OFFSET (8 * MiB)
#define X86_MAX_DMA (16 * MiB) /* MAX_DMA_ADDRESS: the ISA bus's 16 MiB */

/*
 * ARM (arch/arm/include/asm/fixmap.h, pgtable.h, highmem.h, mm/mmu.c):
 *   FIXADDR_START 0xffc00000, FIXADDR_END 0xfff00000, FIXADDR_TOP =
 *   FIXADDR_END - PAGE_SIZE; FIX_KMAP_BEGIN = 1 (after FIX_EARLYCON_MEM_BASE);
 *   PKMAP_BASE = PAGE_OFFSET - PMD_SIZE (2 MiB, one PTE page of 512 entries);
 *   VMALLOC_END 0xff800000; VMALLOC_OFFSET 8 MiB; the lowmem limit is
 *   vmalloc_min = VMALLOC_END - 240 MiB - VMALLOC_OFFSET (768 MiB at 3G/1G).
 */
#define ARM_FIXADDR_START 0xffc00000ull
#define ARM_FIXADDR_END 0xfff00000ull
#define ARM_FIX_KMAP_BEGIN 1u
#define ARM_VMALLOC_END 0xff800000ull
#define ARM_VMALLOC_OFFSET (8 * MiB)
#define ARM_VMALLOC_DEFAULT (240 * MiB)
#define ARM_PMD_SIZE (2 * MiB)

static const struct km_profile profiles[] = {
	{
		/* i386, CONFIG_VMSPLIT_3G, non-PAE: two-level tables, 4 GiB
		 * physical, LAST_PKMAP 1024 (one page of 4-byte PTEs). 44-byte
		 * struct page: the seeds' figure. */
		.name = "x86-32", .arch = KM_ARCH_X86, .page_offset = 0xc0000000u,
		.mem_limit = 4 * GiB, .default_mem = 2 * GiB, .last_pkmap = 1024,
		.pmd_shift = 22, .pte_size = 4, .struct_page_size = 44,
		.dma_bytes = X86_MAX_DMA, .nr_cpus = 8,
	},
	{
		/* i386 with PAE: 8-byte PTEs, 36-bit physical (64 GiB),
		 * LAST_PKMAP 512, PMD 2 MiB. Default 16 GiB, the seeds' case. */
		.name = "x86-32-pae", .arch = KM_ARCH_X86, .page_offset = 0xc0000000u,
		.mem_limit = 64 * GiB, .default_mem = 16 * GiB, .last_pkmap = 512,
		.pmd_shift = 21, .pte_size = 8, .struct_page_size = 44,
		.dma_bytes = X86_MAX_DMA, .nr_cpus = 8,
	},
	{
		/* 32-bit ARM, 3G/1G: no ZONE_DMA on most boards, LAST_PKMAP =
		 * PTRS_PER_PTE = 512, 32-byte struct page (mm_types.h, 32-bit). */
		.name = "arm", .arch = KM_ARCH_ARM, .page_offset = 0xc0000000u,
		.mem_limit = 4 * GiB, .default_mem = 2 * GiB, .last_pkmap = 512,
		.pmd_shift = 21, .pte_size = 4, .struct_page_size = 32,
		.dma_bytes = 0, .nr_cpus = 8,
	},
	{
		/* ARM 2G/2G (CONFIG_VMSPLIT_2G), as the Raspberry Pi 2 chose to
		 * avoid highmem: lowmem reaches 1792 MiB. */
		.name = "arm-2g", .arch = KM_ARCH_ARM, .page_offset = 0x80000000u,
		.mem_limit = 4 * GiB, .default_mem = 2 * GiB, .last_pkmap = 512,
		.pmd_shift = 21, .pte_size = 4, .struct_page_size = 32,
		.dma_bytes = 0, .nr_cpus = 8,
	},
};

#define NR_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

const struct km_profile *km__profile_find(const char *name)
{
	for (unsigned i = 0; name && i < NR_PROFILES; i++)
		if (km__streq(profiles[i].name, name))
			return &profiles[i];
	return NULL;
}

const struct km_profile *km__profile_at(unsigned i)
{
	return i < NR_PROFILES ? &profiles[i] : NULL;
}

static bool is_pow2(unsigned v) { return v && !(v & (v - 1)); }

/* A configuration refused: say why (k->why) and return -EINVAL. */
static int refused(struct km_core *k, const char *why)
{
	k->why = why;
	return -EINVAL;
}

int km__layout_compute(struct km_core *k, const struct km_profile *p,
                       uint64_t mem_bytes, unsigned last_pkmap,
                       unsigned colors, unsigned nr_cpus,
                       uint64_t lowmem_bytes, bool real)
{
	if (!p)
		return refused(k, "unknown profile");
	if (!mem_bytes)
		mem_bytes = p->default_mem;
	if (!last_pkmap)
		last_pkmap = p->last_pkmap;
	if (!colors)
		colors = 1;
	if (!nr_cpus)
		nr_cpus = p->nr_cpus;
	mem_bytes &= ~(uint64_t)(PAGE_SIZE - 1);
	if (mem_bytes < PAGE_SIZE || mem_bytes > p->mem_limit) {
		/* "mem must be between 4K and 4G for x86-32" */
		size_t o = km__fmt_msg(k->why_buf, sizeof(k->why_buf),
		                       "mem must be between 4K and ",
		                       p->mem_limit >> 30, "G for ");
		km__strlcpy(k->why_buf + o, p->name, sizeof(k->why_buf) - o);
		return refused(k, k->why_buf);
	}
	if (!is_pow2(last_pkmap) || last_pkmap < 2 ||
	    last_pkmap > KM_MAX_LAST_PKMAP)
		return refused(k, "last_pkmap must be a power of two from 2 to 65536");
	if (!is_pow2(colors) || colors > KM_MAX_COLORS)
		return refused(k, "colors must be a power of two up to 64");
	if (colors > last_pkmap)
		return refused(k, "colors must divide last_pkmap");
	if (nr_cpus < 1 || nr_cpus > KM_MAX_CPUS)
		return refused(k, "nr_cpus must be from 1 to 1024");

	k->profile = p;
	k->mem_bytes = mem_bytes;
	k->max_pfn = mem_bytes >> PAGE_SHIFT;
	k->last_pkmap = last_pkmap;
	k->last_pkmap_mask = last_pkmap - 1;
	k->colors = colors;
	k->nr_cpus = nr_cpus;
	k->page_offset = p->page_offset;

	uint64_t page_offset = p->page_offset, lowmem_limit;
	if (p->arch == KM_ARCH_X86) {
		uint64_t fix_pages = 1 + (uint64_t)KM_MAX_IDX * nr_cpus +
		                     X86_FIX_OTHER;
		uint64_t pmd_mask = ~((1ull << p->pmd_shift) - 1);
		k->fixaddr_top = X86_FIXADDR_TOP;
		k->fixaddr_start = X86_FIXADDR_TOP - (fix_pages << PAGE_SHIFT);
		k->pkmap_base = (uintptr_t)((k->fixaddr_start -
		                 (uint64_t)PAGE_SIZE * (last_pkmap + 1)) & pmd_mask);
		k->vmalloc_end = k->pkmap_base - 2 * PAGE_SIZE;
		if (k->vmalloc_end < page_offset + X86_VMALLOC_RESERVE + 32 * MiB)
			return refused(k, "the window is so large it leaves no lowmem");
		lowmem_limit = k->vmalloc_end - page_offset - X86_VMALLOC_RESERVE;
	} else {
		uint64_t span = (uint64_t)last_pkmap << PAGE_SHIFT;
		span = (span + ARM_PMD_SIZE - 1) & ~(ARM_PMD_SIZE - 1);
		k->fixaddr_start = ARM_FIXADDR_START;
		k->fixaddr_top = ARM_FIXADDR_END - PAGE_SIZE;
		if (!real && 1 + (uint64_t)KM_MAX_IDX * nr_cpus >
		    ((ARM_FIXADDR_END - ARM_FIXADDR_START) >> PAGE_SHIFT))
			return refused(k, "nr_cpus local-map areas do not fit the fixmap");
		k->pkmap_base = (uintptr_t)(page_offset - span);
		k->vmalloc_end = ARM_VMALLOC_END;
		lowmem_limit = ARM_VMALLOC_END - ARM_VMALLOC_DEFAULT -
		               ARM_VMALLOC_OFFSET - page_offset;
	}
	if (lowmem_bytes)
		lowmem_limit = lowmem_bytes;
	lowmem_limit &= ~(uint64_t)(PAGE_SIZE - 1);
	k->lowmem_limit = lowmem_limit;
	k->max_low_pfn = k->max_pfn;
	if (k->max_low_pfn > (lowmem_limit >> PAGE_SHIFT))
		k->max_low_pfn = lowmem_limit >> PAGE_SHIFT;
	k->high_memory = page_offset + (k->max_low_pfn << PAGE_SHIFT);
	if (p->arch == KM_ARCH_X86)
		k->vmalloc_start = k->high_memory + X86_VMALLOC_OFFSET;
	else
		k->vmalloc_start = (k->high_memory + ARM_VMALLOC_OFFSET) &
		                   ~(ARM_VMALLOC_OFFSET - 1);

	/*
	 * Zones, numbered as the kernel's enum zone_type with the configured
	 * ones only: x86-32 DMA, NORMAL, HIGHMEM, MOVABLE; ARM (no ZONE_DMA)
	 * NORMAL, HIGHMEM, MOVABLE. ZONE_MOVABLE exists but is empty: no
	 * kernelcore= or movablecore= is modelled.
	 */
	unsigned n = 0;
	uint64_t dma_end = 0;
	if (p->dma_bytes) {
		dma_end = p->dma_bytes >> PAGE_SHIFT;
		if (dma_end > k->max_low_pfn)
			dma_end = k->max_low_pfn;
		k->zones[n++] = (struct zone){ .type = KM_ZONE_DMA, .name = "DMA",
		                               .zone_start_pfn = 0,
		                               .end_pfn = dma_end };
	}
	k->zones[n++] = (struct zone){ .type = KM_ZONE_NORMAL, .name = "Normal",
	                               .zone_start_pfn = dma_end,
	                               .end_pfn = k->max_low_pfn };
	k->highmem_zone = (int)n;
	k->zones[n++] = (struct zone){ .type = KM_ZONE_HIGHMEM,
	                               .name = "HighMem",
	                               .zone_start_pfn = k->max_low_pfn,
	                               .end_pfn = k->max_pfn };
	k->movable_zone = (int)n;
	k->zones[n++] = (struct zone){ .type = KM_ZONE_MOVABLE,
	                               .name = "Movable",
	                               .zone_start_pfn = k->max_pfn,
	                               .end_pfn = k->max_pfn };
	k->nr_zones = n;
	for (unsigned i = 0; i < n; i++) {
		k->zones[i].nr_free = k->zones[i].end_pfn - k->zones[i].zone_start_pfn;
		k->zones[i].alloc_cursor = k->zones[i].zone_start_pfn;
	}
	/* ZONES_SHIFT (include/linux/page-flags-layout.h): 1 bit for 2 zones,
	 * 2 bits for 3 or 4. */
	k->zones_width = n <= 1 ? 0 : n <= 2 ? 1 : n <= 4 ? 2 : 3;
	k->zones_pgshift = 32 - NODES_WIDTH - k->zones_width;
	return 0;
}

/* The window's arrays, carved from one arena in this order. */
#define ARENA_ALIGN 16u
#define ARENA_PIECES 12u /* the carve() calls of km__core_init */

size_t km__core_arena_size(const struct km_core *k)
{
	return k->last_pkmap * (sizeof(int) + sizeof(uint64_t) +
	                        sizeof(struct page_address_map) +
	                        2 * sizeof(unsigned) + 1) +
	       k->colors * (4 * sizeof(unsigned) + sizeof(struct list_head)) +
	       k->nr_cpus * sizeof(uintptr_t) + ARENA_PIECES * ARENA_ALIGN;
}

size_t km__core_page_slot_size(const struct km_core *k,
                               const struct km_policy *pol)
{
	return pol->lockless ? (size_t)k->max_pfn * sizeof(uint32_t) : 0;
}

static void *carve(char **p, size_t bytes)
{
	uintptr_t a = ((uintptr_t)*p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
	*p = (char *)a + bytes;
	return (void *)a;
}

void km__core_init(struct km_core *k, struct km_page *mem_map, void *arena,
                   uint32_t *page_slot, const struct km_policy *pol)
{
	char *p = arena;
	k->mem_map = mem_map;
	/* memmap_init_zone(): each page's flags carry its zone number */
	for (unsigned z = 0; z < k->nr_zones; z++) {
		uint32_t bits = k->zones_width ? (uint32_t)z << k->zones_pgshift : 0;
		for (uint64_t pfn = k->zones[z].zone_start_pfn;
		     pfn < k->zones[z].end_pfn; pfn++)
			mem_map[pfn].flags = bits;
	}
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
	for (unsigned c = 0; c < k->colors; c++)
		INIT_LIST_HEAD(&k->pkmap_map_wait[c]);
	for (unsigned i = 0; i < PA_HASH_SIZE; i++)
		INIT_LIST_HEAD(&k->page_address_htable[i]);
	for (unsigned i = 0; i < k->last_pkmap; i++)
		INIT_LIST_HEAD(&k->page_address_maps[i].list);
	INIT_LIST_HEAD(&k->tasks);
	INIT_LIST_HEAD(&k->woken);
	unsigned fix_kmap_begin = k->profile->arch == KM_ARCH_X86 ?
	                          X86_FIX_KMAP_BEGIN : ARM_FIX_KMAP_BEGIN;
	/* __fix_to_virt(FIX_KMAP_BEGIN + KM_MAX_IDX * cpu): idx grows down */
	for (unsigned c = 0; c < k->nr_cpus; c++)
		k->kmap_area[c] = (uintptr_t)(k->fixaddr_top -
		        ((uint64_t)(fix_kmap_begin + KM_MAX_IDX * c) << PAGE_SHIFT));
	k->stats.colors = k->colors;
	k->pol = pol;
	k->page_slot = pol->lockless ? page_slot : NULL;
	if (!pol->ref_bits)
		k->slot_ref = NULL;
	if (pol->init)
		pol->init(k);
}

void km__layout_fill(const struct km_core *k, struct km_layout *o)
{
	const struct km_profile *p = k->profile;
	*o = (struct km_layout){ 0 };
	o->profile = p->name;
	o->page_size = PAGE_SIZE;
	o->page_shift = PAGE_SHIFT;
	o->mem_bytes = k->mem_bytes;
	o->max_pfn = k->max_pfn;
	o->max_low_pfn = k->max_low_pfn;
	o->lowmem_bytes = k->max_low_pfn << PAGE_SHIFT;
	o->highmem_bytes = (k->max_pfn - k->max_low_pfn) << PAGE_SHIFT;
	o->page_offset = k->page_offset;
	o->high_memory = k->high_memory;
	o->vmalloc_start = k->vmalloc_start;
	o->vmalloc_end = k->vmalloc_end;
	o->pkmap_base = k->pkmap_base;
	o->pkmap_end = PKMAP_ADDR(k, k->last_pkmap);
	o->fixaddr_start = k->fixaddr_start;
	o->fixaddr_top = k->fixaddr_top;
	/* x86 prints FIXADDR_START - FIXADDR_TOP, ARM up to FIXADDR_END */
	o->fixmap_end = p->arch == KM_ARCH_X86 ? k->fixaddr_top :
	                k->fixaddr_top + PAGE_SIZE;
	o->kmap_local_end = k->kmap_area[0] + PAGE_SIZE;
	o->kmap_local_start = km__local_addr(k, k->nr_cpus - 1, KM_MAX_IDX - 1);
	o->lowmem_limit = k->lowmem_limit;
	o->mem_limit = p->mem_limit;
	o->last_pkmap = k->last_pkmap;
	o->colors = k->colors;
	o->nr_cpus = k->nr_cpus;
	o->km_max_idx = KM_MAX_IDX;
	o->pa_hash_size = PA_HASH_SIZE;
	o->struct_page_size = p->struct_page_size;
	o->mem_map_bytes = k->max_pfn * p->struct_page_size;
	o->pte_size = p->pte_size;
	o->pkmap_pgtable_bytes = (uint64_t)k->last_pkmap * p->pte_size;
	o->zones_pgshift = k->zones_pgshift;
	o->zones_width = k->zones_width;
	o->nodes_width = NODES_WIDTH;
	o->nr_zones = k->nr_zones;
	for (unsigned i = 0; i < k->nr_zones; i++) {
		const struct zone *z = &k->zones[i];
		o->zones[i] = (struct km_zone_info){
			.type = z->type, .name = z->name,
			.start_pfn = z->zone_start_pfn, .end_pfn = z->end_pfn,
			.nr_free = z->nr_free, .highmem = km__is_highmem_idx(k, i),
			.zone_idx = i,
		};
	}
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
		struct km_page *page = &k->mem_map[pfn];
		if (!(page->flags & (1u << PG_allocated))) {
			page->flags |= 1u << PG_allocated;
			z->nr_free--;
			z->alloc_cursor = pfn + 1;
			return page;
		}
		pfn++;
	}
	return NULL;
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

