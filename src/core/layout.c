/*
 * layout.c - the machines kmap models, each a named kernel and
 * configuration, and their memory layouts, from that kernel's own
 * formulas. Freestanding.
 *
 * Every profile is Linux 6.1 as Debian 12 builds it (6.1.176-1), checked
 * against that kernel booted under qemu (tests/linux/): the boot log's
 * LOWMEM and HIGHMEM lines and zone ranges, /proc/zoneinfo, VmallocTotal,
 * and the addresses kmap_high returned. Constants and formulas are the
 * kernel's (the file names are those of its 6.1 tree); the code is ours.
 */
#include "machine.h"
#include "vmalloc.h"
#include "util.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

/* ---------------------------------------------------------------------- */
/* x86-32 (arch/x86/include/asm/fixmap.h, pgtable_32_areas.h,              */
/* cpu_entry_area.h; arch/x86/mm/init_32.c)                                */
/* ---------------------------------------------------------------------- */

/* __FIXADDR_TOP: the top page, unless reservetop= moves it. */
#define X86_FIXADDR_TOP 0xfffff000ull
/*
 * enum fixed_addresses below the kmap slots, in Debian's configs:
 * FIX_HOLE, FIX_DBGP_BASE, FIX_EARLYCON_MEM_BASE, FIX_APIC_BASE, then
 * MAX_IO_APICS (64) FIX_IO_APIC_BASE_* entries: FIX_KMAP_BEGIN is 68.
 */
#define X86_MAX_IO_APICS 64u
#define X86_FIX_KMAP_BEGIN (4u + X86_MAX_IO_APICS)
/* After the kmap slots: FIX_PCIE_MCFG, FIX_APEI_GHES_IRQ, _NMI. */
#define X86_FIX_AFTER_KMAP 3u
/* The boot-time slots: NR_FIX_BTMAPS (64) x FIX_BTMAPS_SLOTS (8), kept in
 * one page table; then FIX_WP_TEST. */
#define X86_TOTAL_FIX_BTMAPS 512u
/* sizeof(struct cpu_entry_area) on i386, in pages: GDT, entry stack and
 * its guard, doublefault stack and its guard, the 5-page TSS with its I/O
 * bitmap, the debug store and its 32 pages of buffers. */
#define X86_CEA_PAGES_PER_CPU 43u
#define X86_VMALLOC_RESERVE (128 * MiB) /* __VMALLOC_RESERVE */
#define X86_VMALLOC_OFFSET (8 * MiB)
#define X86_MAX_DMA (16 * MiB)          /* MAX_DMA_ADDRESS: the ISA bus */

/* ---------------------------------------------------------------------- */
/* ARM (arch/arm/include/asm/fixmap.h, highmem.h, pgtable.h, memory.h;     */
/* arch/arm/mm/mmu.c, init.c)                                              */
/* ---------------------------------------------------------------------- */

#define ARM_FIXADDR_START 0xffc80000ull
#define ARM_FIXADDR_END 0xfff00000ull
/* FIX_EARLYCON_MEM_BASE, then the kmap slots; FIX_TEXT_POKE0/1 after */
#define ARM_FIX_KMAP_BEGIN 1u
#define ARM_FIX_AFTER_KMAP 2u
#define ARM_VMALLOC_END 0xff800000ull
#define ARM_VMALLOC_OFFSET (8 * MiB)
#define ARM_VMALLOC_DEFAULT (240 * MiB) /* vmalloc_size */
#define ARM_PMD_SIZE (2 * MiB)           /* Linux pairs two 1 MiB sections */

/*
 * The profiles. default_mem is a machine with highmem; mem_limit is what
 * the MMU reaches above PHYS_OFFSET (4 GiB of 32-bit physical addresses,
 * 64 GiB with PAE).
 */
static const struct km_profile profiles[] = {
	{
		.name = "x86-32",
		.kernel = "Linux 6.1 i386, Debian 12 linux-image-686",
		.config = "HIGHMEM4G, 2-level page tables, VMSPLIT_3G, NR_CPUS=32, "
		          "FLATMEM, ZONE_DMA",
		.arch = KM_ARCH_X86, .page_offset = 0xc0000000u,
		.mem_limit = 4 * GiB, .default_mem = 2 * GiB, .last_pkmap = 1024,
		.pmd_shift = 22, .pte_size = 4, .struct_page_size = 40,
		.dma_limit = X86_MAX_DMA, .nr_cpus = 32, .reserve_pfn0 = true,
	},
	{
		.name = "x86-32-pae",
		.kernel = "Linux 6.1 i386, Debian 12 linux-image-686-pae",
		.config = "HIGHMEM64G, X86_PAE (3-level page tables), VMSPLIT_3G, "
		          "NR_CPUS=32, FLATMEM, ZONE_DMA",
		.arch = KM_ARCH_X86, .page_offset = 0xc0000000u,
		.mem_limit = 64 * GiB, .default_mem = 16 * GiB, .last_pkmap = 512,
		.pmd_shift = 21, .pte_size = 8, .struct_page_size = 40,
		.dma_limit = X86_MAX_DMA, .nr_cpus = 32, .reserve_pfn0 = true,
	},
	{
		.name = "arm",
		.kernel = "Linux 6.1 armhf, Debian 12 linux-image-armmp",
		.config = "ARMv7 SMP, no LPAE, VMSPLIT_3G, NR_CPUS=8, FLATMEM, "
		          "ZONE_DMA, ARM_ERRATA_798181 (no kmap_high_get); "
		          "RAM at physical 0",
		.arch = KM_ARCH_ARM, .page_offset = 0xc0000000u,
		.mem_limit = 4 * GiB, .default_mem = 2 * GiB, .last_pkmap = 512,
		.pmd_shift = 21, .pte_size = 4, .struct_page_size = 36,
		.dma_limit = UINT64_MAX, .nr_cpus = 8,
	},
	{
		.name = "arm-virt",
		.kernel = "Linux 6.1 armhf, Debian 12 linux-image-armmp, on qemu's "
		          "virt board",
		.config = "ARMv7 SMP, no LPAE, VMSPLIT_3G, NR_CPUS=8, FLATMEM, "
		          "ZONE_DMA, ARM_ERRATA_798181 (no kmap_high_get); "
		          "RAM at physical 0x40000000 (PHYS_OFFSET)",
		.arch = KM_ARCH_ARM, .page_offset = 0xc0000000u,
		.phys_offset = 0x40000000u, .mem_limit = 3 * GiB,
		.default_mem = 2 * GiB, .last_pkmap = 512, .pmd_shift = 21,
		.pte_size = 4, .struct_page_size = 36, .dma_limit = UINT64_MAX,
		.nr_cpus = 8,
	},
	{
		.name = "arm-2g",
		.kernel = "Linux 6.1 armhf, Debian 12's armmp configuration with "
		          "VMSPLIT_2G",
		.config = "as arm, but PAGE_OFFSET 0x80000000 (the 2G/2G split the "
		          "Raspberry Pi 2's kernel chose)",
		.arch = KM_ARCH_ARM, .page_offset = 0x80000000u,
		.mem_limit = 4 * GiB, .default_mem = 2 * GiB, .last_pkmap = 512,
		.pmd_shift = 21, .pte_size = 4, .struct_page_size = 36,
		.dma_limit = UINT64_MAX, .nr_cpus = 8,
	},
	{
		.name = "arm-marvell",
		.kernel = "Linux 6.1 armel, Debian 12 linux-image-marvell "
		          "(Kirkwood, Orion)",
		.config = "ARMv5 Feroceon, VIVT cache, no SMP (NR_CPUS=1), "
		          "VMSPLIT_3G, FLATMEM, no ZONE_DMA, no MEMCG; "
		          "ARCH_NEEDS_KMAP_HIGH_GET (kmap_high_get, and kmap_local "
		          "reuses a page's pkmap address)",
		.arch = KM_ARCH_ARM, .page_offset = 0xc0000000u,
		.mem_limit = 4 * GiB, .default_mem = 2 * GiB, .last_pkmap = 512,
		.pmd_shift = 21, .pte_size = 4, .struct_page_size = 32,
		.dma_limit = 0, .nr_cpus = 1, .kmap_high_get = true,
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

/*
 * x86's layout, top down: the fixmap (its permanent part, with the kmap
 * slots at FIX_KMAP_BEGIN, then the boot-time slots), the CPU entry area,
 * the LDT remap, the pkmap window, two guard pages, vmalloc, and below it
 * the direct map of lowmem, at most MAXMEM. A window larger than one page
 * table (a what-if: the kernel's is PTRS_PER_PTE) grows down from the LDT
 * area, so the kernel's PKMAP_BASE is this formula at LAST_PKMAP <=
 * PTRS_PER_PTE.
 */
static int x86_layout(struct km_core *k, const struct km_profile *p,
                      uint64_t *lowmem_limit)
{
	uint64_t pmd_mask = ~((1ull << p->pmd_shift) - 1);
	uint64_t ptrs_per_pte = 1ull << (p->pmd_shift - PAGE_SHIFT);
	uint64_t kmap_slots = (uint64_t)KM_MAX_IDX * k->nr_cpus * k->colors;
	uint64_t perm = X86_FIX_KMAP_BEGIN + kmap_slots + X86_FIX_AFTER_KMAP;
	/* FIX_BTMAP_END: when the 512 slots would straddle two page tables,
	 * moved up to the next multiple of 512 */
	uint64_t btmap_end = perm;
	if ((perm ^ (perm + X86_TOTAL_FIX_BTMAPS - 1)) & ~(ptrs_per_pte - 1))
		btmap_end = perm + X86_TOTAL_FIX_BTMAPS -
		            (perm & (X86_TOTAL_FIX_BTMAPS - 1));
	uint64_t total = btmap_end + X86_TOTAL_FIX_BTMAPS + 1; /* + FIX_WP_TEST */

	k->fix_kmap_begin = X86_FIX_KMAP_BEGIN;
	k->fixaddr_top = X86_FIXADDR_TOP;
	k->fixaddr_start = X86_FIXADDR_TOP - (perm << PAGE_SHIFT);
	k->fixaddr_tot_start = X86_FIXADDR_TOP - (total << PAGE_SHIFT);
	/* the read-only IDT page, then each CPU's entry area */
	uint64_t cea_pages = (uint64_t)k->nr_cpus * X86_CEA_PAGES_PER_CPU;
	k->cpu_entry_area = (k->fixaddr_tot_start -
	                     ((cea_pages + 1) << PAGE_SHIFT)) & pmd_mask;
	k->cpu_entry_area_end = k->cpu_entry_area + ((cea_pages + 1) << PAGE_SHIFT);
	k->ldt_base = (k->cpu_entry_area - PAGE_SIZE) & pmd_mask;
	uint64_t base = (k->ldt_base - ((uint64_t)k->last_pkmap << PAGE_SHIFT)) &
	                pmd_mask;
	k->vmalloc_end = base - 2 * PAGE_SIZE;
	/* real memory puts the window elsewhere (the host's addresses) */
	if (!k->real &&
	    k->vmalloc_end < k->page_offset + X86_VMALLOC_RESERVE + 32 * MiB)
		return refused(k, "the window is so large it leaves no lowmem");
	k->pkmap_base = (uintptr_t)base;
	*lowmem_limit = k->vmalloc_end - k->page_offset - X86_VMALLOC_RESERVE;
	return 0;
}

/*
 * ARM's: the fixmap between FIXADDR_START and FIXADDR_END, vmalloc up to
 * VMALLOC_END, lowmem up to VMALLOC_END - vmalloc_size - VMALLOC_OFFSET,
 * and the pkmap window in the PMD just below PAGE_OFFSET (a larger window,
 * a what-if, takes as many PMDs as it needs).
 */
static int arm_layout(struct km_core *k, uint64_t *lowmem_limit)
{
	uint64_t span = (uint64_t)k->last_pkmap << PAGE_SHIFT;
	span = (span + ARM_PMD_SIZE - 1) & ~(ARM_PMD_SIZE - 1);
	uint64_t entries = ARM_FIX_KMAP_BEGIN +
	                   (uint64_t)KM_MAX_IDX * k->nr_cpus * k->colors +
	                   ARM_FIX_AFTER_KMAP;
	k->fix_kmap_begin = ARM_FIX_KMAP_BEGIN;
	k->fixaddr_start = ARM_FIXADDR_START;
	k->fixaddr_top = ARM_FIXADDR_END - PAGE_SIZE;
	k->fixaddr_tot_start = k->fixaddr_top + PAGE_SIZE - (entries << PAGE_SHIFT);
	if (k->fixaddr_tot_start < ARM_FIXADDR_START && !k->real)
		return refused(k, "nr_cpus local-map areas do not fit the fixmap");
	k->pkmap_base = (uintptr_t)(k->page_offset - span);
	k->vmalloc_end = ARM_VMALLOC_END;
	*lowmem_limit = ARM_VMALLOC_END - ARM_VMALLOC_DEFAULT -
	                ARM_VMALLOC_OFFSET - k->page_offset;
	return 0;
}

/*
 * The zones, numbered as the kernel's enum zone_type with the configured
 * ones only (ZONE_DMA where the config has it, ZONE_NORMAL, ZONE_HIGHMEM,
 * ZONE_MOVABLE; MOVABLE empty: no kernelcore= is modelled). x86's DMA zone
 * is the ISA bus's 16 MiB; ARM's is everything below arm_dma_limit, which
 * is all of lowmem on a board with no dma_zone_size (qemu's virt), so
 * Normal is empty there.
 */
static void zones_init(struct km_core *k, const struct km_profile *p)
{
	unsigned n = 0;
	uint64_t low_end = k->first_pfn;
	if (p->dma_limit) {
		uint64_t dma_pfns = p->dma_limit == UINT64_MAX ? UINT64_MAX :
		                    p->dma_limit >> PAGE_SHIFT;
		low_end = dma_pfns > k->max_low_pfn - k->pfn_offset ?
		          k->max_low_pfn : k->pfn_offset + dma_pfns;
		k->zones[n++] = (struct zone){ .type = KM_ZONE_DMA, .name = "DMA",
		                               .zone_start_pfn = k->first_pfn,
		                               .end_pfn = low_end };
	}
	k->zones[n++] = (struct zone){ .type = KM_ZONE_NORMAL, .name = "Normal",
	                               .zone_start_pfn = low_end,
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
		k->zones[i].nr_free = k->zones[i].end_pfn - k->zones[i].zone_start_pfn -
		        km__hole_pages(k, k->zones[i].zone_start_pfn,
		                       k->zones[i].end_pfn);
		k->zones[i].alloc_cursor = k->zones[i].zone_start_pfn;
	}
	/* ZONES_SHIFT (include/linux/page-flags-layout.h): 1 bit for 2 zones,
	 * 2 bits for 3 or 4; the zone sits in the top bits of page->flags */
	k->zones_width = n <= 1 ? 0 : n <= 2 ? 1 : n <= 4 ? 2 : 3;
	k->zones_pgshift = 32 - k->sections_width - NODES_WIDTH - k->zones_width;
}

/*
 * The memory model. SECTION_SIZE_BITS and MAX_PHYSMEM_BITS are the
 * architecture's (asm/sparsemem.h): x86-32 26 and 32, with PAE 29 and 36;
 * ARM 28 and 36. Only classic SPARSEMEM puts the section in page->flags
 * (SECTIONS_WIDTH = MAX_PHYSMEM_BITS - SECTION_SIZE_BITS); its memmap is
 * allocated a whole section at a time.
 */
static void model_init(struct km_core *k, const struct km_profile *p)
{
	bool pae = p->arch == KM_ARCH_X86 && p->pte_size == 8;
	k->section_size_bits = p->arch == KM_ARCH_ARM ? 28 : pae ? 29 : 26;
	k->max_physmem_bits = p->arch == KM_ARCH_X86 && !pae ? 32 : 36;
	k->pfn_section_shift = k->section_size_bits - PAGE_SHIFT;
	k->sections_width = k->sparse ? k->max_physmem_bits - k->section_size_bits : 0;
	/* SECTIONS_PGSHIFT: SECTIONS_PGOFF when the field is there */
	k->sections_pgshift = k->sections_width ? 32 - k->sections_width : 0;
	if (!k->sparse)
		return;
	/* sparse_init(): a memmap for each section with memory (memblock's
	 * ranges: a section wholly in holes has none), one array here */
	for (uint64_t s = 0; s < KM_MAX_SECTIONS; s++) {
		uint64_t a = s << k->pfn_section_shift;
		uint64_t b = a + (1ull << k->pfn_section_shift);
		a = a > k->pfn_offset ? a : k->pfn_offset;
		b = b < k->max_pfn ? b : k->max_pfn;
		k->section_base[s] = a < b && km__hole_pages(k, a, b) < b - a ?
		        (int64_t)(s << k->pfn_section_shift) - (int64_t)k->pfn_offset :
		        INT64_MIN;
	}
}

void km__model_config(struct km_core *k, const struct km_config *cfg)
{
	k->sparse = cfg->memory_model == KM_SPARSEMEM;
	k->nr_holes = cfg->nr_holes;
	for (unsigned i = 0; i < KM_MAX_HOLES && i < cfg->nr_holes; i++)
		k->holes[i] = cfg->holes[i];
}

/* The holes of km__model_config: sorted, apart, inside the pfns, not
 * every page. */
static int holes_check(struct km_core *k)
{
	if (k->nr_holes > KM_MAX_HOLES)
		return refused(k, "at most 8 holes");
	uint64_t from = k->pfn_offset;
	for (unsigned i = 0; i < k->nr_holes; i++) {
		const struct km_hole *h = &k->holes[i];
		if (h->start_pfn >= h->end_pfn)
			return refused(k, "a hole must end after it starts");
		if (h->start_pfn < from && i)
			return refused(k, "holes must be sorted and apart");
		if (h->start_pfn < k->pfn_offset || h->end_pfn > k->max_pfn)
			return refused(k, "a hole must lie within memory's pfns");
		from = h->end_pfn + 1;
	}
	if (km__hole_pages(k, k->pfn_offset, k->max_pfn) ==
	    k->max_pfn - k->pfn_offset)
		return refused(k, "the holes leave no memory");
	return 0;
}

int km__layout_compute(struct km_core *k, const struct km_profile *p,
                       uint64_t mem_bytes, unsigned last_pkmap,
                       unsigned colors, unsigned nr_cpus,
                       uint64_t lowmem_bytes, uint64_t vmalloc_bytes,
                       bool real)
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
	/* memory comes in whole pages: a size that is not is refused, not
	 * rounded, so the machine is the one the caller described */
	if (mem_bytes & (PAGE_SIZE - 1))
		return refused(k, "mem must be a multiple of the page size (4K)");
	if (lowmem_bytes & (PAGE_SIZE - 1))
		return refused(k, "lowmem must be a multiple of the page size (4K)");
	if (mem_bytes < PAGE_SIZE || mem_bytes > p->mem_limit) {
		/* "mem must be between 4K and 4G for x86-32" */
		size_t o = km__fmt_msg(k->why_buf, sizeof(k->why_buf),
		                       "mem must be between 4K and ",
		                       p->mem_limit >> 30, "G for ");
		km__strlcpy(k->why_buf + o, p->name, sizeof(k->why_buf) - o);
		return refused(k, k->why_buf);
	}
	if (!is_pow2(last_pkmap) || last_pkmap < 2 ||
	    last_pkmap > (real ? KM_MAX_LAST_PKMAP_REAL : KM_MAX_LAST_PKMAP))
		return refused(k, real ? "last_pkmap must be a power of two from 2 "
		                         "to 262144 (a 1 GiB window) on real memory" :
		                         "last_pkmap must be a power of two from 2 "
		                         "to 65536");
	if (!is_pow2(colors) || colors > KM_MAX_COLORS)
		return refused(k, "colors must be a power of two up to 64");
	if (colors > last_pkmap)
		return refused(k, "colors must divide last_pkmap");
	if (nr_cpus < 1 || nr_cpus > KM_MAX_CPUS)
		return refused(k, "nr_cpus must be from 1 to 1024");
	if (vmalloc_bytes && !real)
		return refused(k, "vmalloc_bytes is for the host backend: the "
		               "simulated machine's vmalloc area is the profile's");
	if ((vmalloc_bytes & (PAGE_SIZE - 1)) || vmalloc_bytes > KM_MAX_VMALLOC)
		return refused(k, "vmalloc_bytes must be a multiple of the page "
		               "size, at most 1G");

	k->profile = p;
	k->real = real;
	k->mem_bytes = mem_bytes;
	k->phys_offset = p->phys_offset;
	k->pfn_offset = p->phys_offset >> PAGE_SHIFT;
	/* x86 reserves the first page for the BIOS: the zones start after it */
	k->first_pfn = k->pfn_offset + (p->reserve_pfn0 ? 1 : 0);
	k->max_pfn = k->pfn_offset + (mem_bytes >> PAGE_SHIFT);
	k->last_pkmap = last_pkmap;
	k->last_pkmap_mask = last_pkmap - 1;
	k->colors = colors;
	k->nr_cpus = nr_cpus;
	k->page_offset = p->page_offset;

	uint64_t lowmem_limit;
	int r = p->arch == KM_ARCH_X86 ? x86_layout(k, p, &lowmem_limit) :
	                                 arm_layout(k, &lowmem_limit);
	if (r)
		return r;
	/* on the profile's layout, lowmem can only shrink (highmem=); real
	 * memory decides its own direct map */
	if (lowmem_bytes && !real && lowmem_bytes > lowmem_limit)
		return refused(k, "lowmem must not exceed the profile's lowmem limit");
	if (lowmem_bytes)
		lowmem_limit = lowmem_bytes;
	lowmem_limit &= ~(uint64_t)(PAGE_SIZE - 1);
	k->lowmem_limit = lowmem_limit;
	/* find_low_pfn_range() (x86), adjust_lowmem_bounds() (ARM) */
	k->max_low_pfn = k->max_pfn;
	if (k->max_low_pfn - k->pfn_offset > (lowmem_limit >> PAGE_SHIFT))
		k->max_low_pfn = k->pfn_offset + (lowmem_limit >> PAGE_SHIFT);
	k->high_memory = k->page_offset +
	                 ((k->max_low_pfn - k->pfn_offset) << PAGE_SHIFT);
	/* VMALLOC_START: x86 adds VMALLOC_OFFSET, ARM also rounds it up */
	if (p->arch == KM_ARCH_X86)
		k->vmalloc_start = k->high_memory + X86_VMALLOC_OFFSET;
	else
		k->vmalloc_start = (k->high_memory + ARM_VMALLOC_OFFSET) &
		                   ~(ARM_VMALLOC_OFFSET - 1);
	/* real addresses: the backend reserves the area (its own size) */
	k->vm_pages = (unsigned)((real ? vmalloc_bytes :
	                          k->vmalloc_end - k->vmalloc_start) >> PAGE_SHIFT);
	km__vm_geometry(k);
	r = holes_check(k);
	if (r)
		return r;
	model_init(k, p);
	zones_init(k, p);
	return 0;
}

void km__layout_fill(const struct km_core *k, struct km_layout *o)
{
	const struct km_profile *p = k->profile;
	*o = (struct km_layout){ 0 };
	o->profile = p->name;
	o->kernel = p->kernel;
	o->config = p->config;
	o->page_size = PAGE_SIZE;
	o->page_shift = PAGE_SHIFT;
	o->mem_bytes = k->mem_bytes;
	o->phys_offset = k->phys_offset;
	o->min_pfn = k->pfn_offset;
	o->max_pfn = k->max_pfn;
	o->max_low_pfn = k->max_low_pfn;
	o->lowmem_bytes = (k->max_low_pfn - k->pfn_offset) << PAGE_SHIFT;
	o->highmem_bytes = (k->max_pfn - k->max_low_pfn) << PAGE_SHIFT;
	o->page_offset = k->page_offset;
	o->high_memory = k->high_memory;
	o->vmalloc_start = k->vmalloc_start;
	o->vmalloc_end = k->vmalloc_end;
	o->pkmap_base = k->pkmap_base;
	o->pkmap_end = PKMAP_ADDR(k, k->last_pkmap);
	o->fixaddr_start = k->fixaddr_start;
	o->fixaddr_tot_start = k->fixaddr_tot_start;
	o->fixaddr_top = k->fixaddr_top;
	/* x86's fixmap ends at its top page (FIXADDR_TOP), ARM's at
	 * FIXADDR_END, one page further */
	o->fixmap_end = p->arch == KM_ARCH_X86 ? k->fixaddr_top :
	                k->fixaddr_top + PAGE_SIZE;
	o->cpu_entry_area_start = k->cpu_entry_area;
	o->cpu_entry_area_end = k->cpu_entry_area_end;
	o->ldt_start = k->ldt_base;
	o->ldt_end = k->ldt_base ? k->ldt_base + (1ull << p->pmd_shift) : 0;
	o->fix_kmap_begin = k->fix_kmap_begin;
	o->kmap_local_end = k->kmap_area[0] + PAGE_SIZE;
	o->kmap_local_start = km__local_low(k, k->nr_cpus - 1);
	o->lowmem_limit = k->lowmem_limit;
	o->mem_limit = p->mem_limit;
	o->last_pkmap = k->last_pkmap;
	o->colors = k->colors;
	o->nr_cpus = k->nr_cpus;
	o->km_max_idx = KM_MAX_IDX;
	o->kmap_high_get = p->kmap_high_get;
	o->pa_hash_size = PA_HASH_SIZE;
	o->struct_page_size = p->struct_page_size;
	o->mem_map_bytes = (k->max_pfn - k->pfn_offset) * p->struct_page_size;
	o->memory_model = k->sparse ? "sparsemem" : "flatmem";
	o->section_size_bits = k->section_size_bits;
	o->max_physmem_bits = k->max_physmem_bits;
	o->sections_width = k->sections_width;
	o->sections_pgshift = k->sections_pgshift;
	o->nodes_pgshift = 0; /* NODES_WIDTH 0: NODES_PGSHIFT is 0 */
	o->nr_mem_sections = 1ull << (k->max_physmem_bits - k->section_size_bits);
	o->nr_holes = k->nr_holes;
	for (unsigned i = 0; i < k->nr_holes; i++)
		o->holes[i] = k->holes[i];
	o->ram_pages = k->max_pfn - k->pfn_offset -
	               km__hole_pages(k, k->pfn_offset, k->max_pfn);
	if (k->sparse) {
		/* SPARSEMEM_EXTREME's roots with a present section */
		uint64_t used = 0, last_root = UINT64_MAX;
		uint64_t per_root = PAGE_SIZE / (2 * sizeof(uint32_t));
		for (uint64_t s = 0; s < KM_MAX_SECTIONS; s++) {
			if (k->section_base[s] == INT64_MIN)
				continue;
			o->present_sections++;
			if (s / per_root != last_root)
				used++;
			last_root = s / per_root;
		}
		/* a present section's memmap is whole */
		o->mem_map_bytes = (o->present_sections << k->pfn_section_shift) *
		                   p->struct_page_size;
		/*
		 * struct mem_section: two words (section_mem_map, usage; no
		 * PAGE_EXTENSION). x86-32 selects SPARSEMEM_STATIC: one static
		 * array of every section. ARM: SPARSEMEM_EXTREME, an array of
		 * root pointers and a page of sections for each root in use.
		 */
		uint64_t ms = 2 * sizeof(uint32_t);
		if (p->arch == KM_ARCH_X86) {
			o->mem_section_bytes = o->nr_mem_sections * ms;
		} else {
			uint64_t roots = (o->nr_mem_sections + per_root - 1) / per_root;
			o->mem_section_bytes = roots * sizeof(uint32_t) + used * PAGE_SIZE;
		}
	}
	o->vmap_lazy_max = k->vm_lazy_max;
	o->vmap_block_pages = k->vm_block_pages;
	o->vmap_max_alloc = KM_VMAP_MAX_ALLOC;
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
