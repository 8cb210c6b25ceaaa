/*
 * test_machine.c - the machine model: profiles, the virtual layout, zones,
 * page->flags, pfn <-> page, the direct map, the page allocator, bad
 * configurations, and a sparse 64 GiB PAE machine.
 */
#include "ktest.h"

#include "user.h"
#include "backend/sim.h"

#include <string.h>

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

static const char *const profiles[] = { "x86-32", "x86-32-pae", "arm",
                                        "arm-virt", "arm-2g", "arm-marvell" };
#define NR_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

/* ------------------------------------------------------------------ */
/* Profiles                                                            */
/* ------------------------------------------------------------------ */

static void profile_names(void **state)
{
	(void)state;
	unsigned n = 0;
	while (km_profile_name(n))
		n++;
	KT_EQ(n, NR_PROFILES);
	for (unsigned i = 0; i < NR_PROFILES; i++) {
		int found = 0;
		for (unsigned j = 0; j < n; j++)
			found |= strcmp(km_profile_name(j), profiles[i]) == 0;
		if (!found)
			fail_msg("profile %s not listed", profiles[i]);
	}
	assert_string_equal(km_policy_name(0), "linux");
	assert_string_equal(km_policy_name(1), "lockfree");
	assert_string_equal(km_policy_name(2), "clock");
	assert_string_equal(km_policy_name(3), "tinylfu");
	assert_null(km_policy_name(4));

	uint64_t max, def;
	KT_OK(km_profile_limits("x86-32", &max, &def));
	KT_EQ(max, 4 * GiB);
	KT_EQ(def, 2 * GiB);
	KT_OK(km_profile_limits("x86-32-pae", &max, &def));
	KT_EQ(max, 64 * GiB);
	KT_EQ(def, 16 * GiB);
	KT_OK(km_profile_limits("arm", &max, &def));
	KT_EQ(max, 4 * GiB);
	KT_OK(km_profile_limits("arm-2g", &max, NULL));
	KT_EQ(max, 4 * GiB);
	/* qemu's virt board: RAM from 0x40000000 up to the 4 GiB line */
	KT_OK(km_profile_limits("arm-virt", &max, NULL));
	KT_EQ(max, 3 * GiB);
	KT_RC(km_profile_limits("sparc", &max, &def), -EINVAL);
	KT_RC(km_profile_limits(NULL, &max, &def), -EINVAL);
	assert_string_equal(km_version(), "0.1.0");
}

/* Invariants every layout must satisfy, whatever the profile and size. */
static void layout_consistent(km_machine *m, const char *profile, uint64_t mem)
{
	struct km_layout l = kt_layout(m);
	uint64_t max_mem, def;
	KT_OK(km_profile_limits(profile, &max_mem, &def));
	assert_string_equal(l.profile, profile);
	KT_EQ(l.page_size, 4096);
	KT_EQ(l.page_shift, 12);
	KT_EQ(l.mem_bytes, mem ? mem : def);
	KT_EQ(l.min_pfn, l.phys_offset / 4096);
	KT_EQ(l.max_pfn, l.min_pfn + l.mem_bytes / 4096);
	KT_EQ(l.mem_limit, max_mem);
	uint64_t pages = l.max_pfn - l.min_pfn, low_pages = l.lowmem_limit / 4096;
	KT_EQ(l.max_low_pfn, l.min_pfn + (pages < low_pages ? pages : low_pages));
	KT_EQ(l.lowmem_bytes, (l.max_low_pfn - l.min_pfn) * 4096);
	KT_EQ(l.highmem_bytes, (l.max_pfn - l.max_low_pfn) * 4096);
	assert_non_null(strstr(l.kernel, "Linux 6.1"));
	KT_EQ(l.high_memory, l.page_offset + l.lowmem_bytes);
	KT_EQ(l.pkmap_end, l.pkmap_base + (uint64_t)l.last_pkmap * 4096);
	KT_EQ(l.colors, 1);
	KT_EQ(l.km_max_idx, 16);
	KT_EQ(l.pa_hash_size, 128);
	KT_EQ(l.mem_map_bytes, pages * l.struct_page_size);
	KT_EQ(l.pkmap_pgtable_bytes, (uint64_t)l.last_pkmap * l.pte_size);
	KT_EQ(l.nodes_width, 0);
	KT_EQ(l.zones_width, 2);
	KT_EQ(l.zones_pgshift, 30);
	KT_EQ(km_totalhigh_pages(m), l.max_pfn - l.max_low_pfn);
	KT_EQ(km_nr_free_highpages(m), l.max_pfn - l.max_low_pfn);
	/* the local-map area sits in the fixmap, above the window */
	assert_true(l.kmap_local_start >= l.fixaddr_start);
	assert_true(l.kmap_local_end <= l.fixmap_end + 4096);
	KT_EQ(l.kmap_local_end - l.kmap_local_start,
	      (uint64_t)l.nr_cpus * 16 * 4096);
	assert_true(l.vmalloc_start < l.vmalloc_end);
	assert_true(l.vmalloc_end <= l.pkmap_base || l.pkmap_base < l.page_offset);
	/* zones: contiguous from RAM's first pfn (x86: after the BIOS's page)
	 * to max_pfn, the last one empty Movable */
	uint64_t pfn = l.min_pfn + (l.cpu_entry_area_start ? 1 : 0);
	for (unsigned i = 0; i < l.nr_zones; i++) {
		KT_EQ(l.zones[i].zone_idx, i);
		KT_EQ(l.zones[i].start_pfn, pfn);
		assert_true(l.zones[i].end_pfn >= l.zones[i].start_pfn);
		KT_EQ(l.zones[i].nr_free, l.zones[i].end_pfn - l.zones[i].start_pfn);
		pfn = l.zones[i].end_pfn;
	}
	KT_EQ(pfn, l.max_pfn);
	KT_EQ(l.zones[l.nr_zones - 1].type, KM_ZONE_MOVABLE);
	KT_EQ(l.zones[l.nr_zones - 1].start_pfn, l.zones[l.nr_zones - 1].end_pfn);
	KT_CHECK(m);
}

static void profiles_build(void **state)
{
	(void)state;
	static const uint64_t sizes[] = { 0, 512 * MiB, 1 * GiB, 3 * GiB, 4 * GiB };
	for (unsigned i = 0; i < NR_PROFILES; i++)
		for (unsigned j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			uint64_t max;
			KT_OK(km_profile_limits(profiles[i], &max, NULL));
			if (sizes[j] > max)
				continue;
			km_machine *m = kt_machine(profiles[i], sizes[j], 0, 0, KM_CHECK);
			layout_consistent(m, profiles[i], sizes[j]);
			km_machine_destroy(m);
		}
	/* NULL config: the default machine, x86-32 with 2 GiB */
	km_machine *m = NULL;
	KT_OK(km_machine_create(NULL, &m));
	layout_consistent(m, "x86-32", 2 * GiB);
	km_machine_destroy(m);
	km_machine_destroy(NULL); /* accepted */
}

/*
 * The figures of Debian 12's Linux 6.1 (6.1.176), as its 686 and 686-pae
 * kernels booted under qemu print and place them (tests/linux/ boots them
 * again): PKMAP_BASE below the LDT remap and the CPU entry area, which
 * sit below the fixmap of a 32-CPU kernel; "875MB LOWMEM available" (686)
 * and "879MB" (686-pae).
 */
static void layout_x86_32(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 2 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.page_offset, 0xc0000000u);
	KT_EQ(l.phys_offset, 0);
	KT_EQ(l.nr_cpus, 32);
	/* the fixmap: FIX_KMAP_BEGIN 68, 583 permanent entries, 1537 in all */
	KT_EQ(l.fix_kmap_begin, 68);
	KT_EQ(l.fixaddr_top, 0xfffff000u);
	KT_EQ(l.fixaddr_start, 0xfffff000u - 583 * 4096);
	KT_EQ(l.fixaddr_start, 0xffdb8000u);
	KT_EQ(l.fixaddr_tot_start, 0xff9fe000u);
	/* CPU 0's first kmap_local slot, as the real kernel returned it */
	KT_EQ(l.kmap_local_end - 4096, 0xfffbb000u);
	KT_EQ(l.kmap_local_start, 0xffdbc000u); /* FIX_KMAP_END */
	/* 32 CPUs' entry areas of 43 pages and the read-only IDT page */
	KT_EQ(l.cpu_entry_area_start, 0xff400000u);
	KT_EQ(l.cpu_entry_area_end, 0xff961000u);
	KT_EQ(l.ldt_start, 0xff000000u);
	KT_EQ(l.ldt_end, 0xff400000u);
	KT_EQ(l.last_pkmap, 1024);
	KT_EQ(l.pkmap_base, 0xfec00000u);
	KT_EQ(l.pkmap_end, 0xff000000u);
	KT_EQ(l.vmalloc_end, 0xfebfe000u);
	KT_EQ(l.vmalloc_end, l.pkmap_base - 2 * 4096);
	/* MAXMEM = VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE (128 MiB) */
	KT_EQ(l.lowmem_limit, l.vmalloc_end - l.page_offset - 128 * MiB);
	KT_EQ(l.lowmem_limit, 0x36bfe000u);
	KT_EQ(l.max_low_pfn, 0x36bfe);
	KT_EQ(l.lowmem_bytes >> 20, 875); /* "875MB LOWMEM available." */
	KT_EQ(l.high_memory, 0xf6bfe000u);
	KT_EQ(l.vmalloc_start, 0xf73fe000u);
	KT_EQ(l.vmalloc_start, l.high_memory + 8 * MiB);
	KT_EQ(l.max_pfn, 524288);
	KT_EQ(l.pte_size, 4);
	KT_EQ(l.pkmap_pgtable_bytes, 4096);
	KT_EQ(l.struct_page_size, 40);
	KT_EQ(l.kmap_high_get, 0);
	KT_EQ(km_totalhigh_pages(m), 524288 - 0x36bfe);
	km_machine_destroy(m);
}

static void layout_x86_32_pae(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32-pae", 0, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.mem_bytes, 16 * GiB);
	KT_EQ(l.page_offset, 0xc0000000u);
	KT_EQ(l.fix_kmap_begin, 68);
	KT_EQ(l.fixaddr_start, 0xffdb8000u);
	KT_EQ(l.fixaddr_tot_start, 0xff9fe000u);
	KT_EQ(l.cpu_entry_area_start, 0xff400000u);
	/* 2 MiB PMDs: the LDT remap and the window move up */
	KT_EQ(l.ldt_start, 0xff200000u);
	KT_EQ(l.ldt_end, 0xff400000u);
	KT_EQ(l.pkmap_base, 0xff000000u);
	KT_EQ(l.last_pkmap, 512);
	KT_EQ(l.pkmap_end, 0xff200000u);
	KT_EQ(l.vmalloc_end, 0xfeffe000u);
	KT_EQ(l.lowmem_limit, 0x36ffe000u);
	KT_EQ(l.max_low_pfn, 225278);
	KT_EQ(l.lowmem_bytes >> 20, 879); /* "879MB LOWMEM available." */
	KT_EQ(l.high_memory, 0xf6ffe000u);
	KT_EQ(l.vmalloc_start, 0xf77fe000u);
	KT_EQ(l.pte_size, 8);
	KT_EQ(l.pkmap_pgtable_bytes, 4096);
	/* Debian's struct page: 36 bytes of fields, aligned to 8 on x86 */
	KT_EQ(l.struct_page_size, 40);
	KT_EQ(l.mem_map_bytes, 160 * MiB);
	KT_EQ(l.max_pfn, 4 * 1024 * 1024);
	/* "16528MB HIGHMEM available." at 16 GiB (the PCI hole below 4 GiB
	 * counted): 0x440000 pfns of address space */
	km_machine_destroy(m);
	m = kt_machine("x86-32-pae", 0x440000ull * 4096, 0, 0, 0);
	KT_EQ(kt_layout(m).highmem_bytes >> 20, 16528);
	km_machine_destroy(m);
}

/*
 * armmp: PKMAP_BASE = PAGE_OFFSET - PMD_SIZE, lowmem up to VMALLOC_END -
 * 240 MiB - 8 MiB, ZONE_DMA all of lowmem (no dma_zone_size), 36-byte
 * struct page; on qemu's virt board RAM starts at 0x40000000.
 */
static void layout_arm(void **state)
{
	(void)state;
	km_machine *m = kt_machine("arm", 2 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.page_offset, 0xc0000000u);
	KT_EQ(l.pkmap_base, 0xbfe00000u); /* PAGE_OFFSET - 2 MiB */
	KT_EQ(l.pkmap_end, 0xc0000000u);
	KT_EQ(l.last_pkmap, 512);
	KT_EQ(l.lowmem_limit, 768 * MiB);
	KT_EQ(l.max_low_pfn, 196608);
	KT_EQ(l.lowmem_bytes, 768 * MiB);
	KT_EQ(l.highmem_bytes, 2 * GiB - 768 * MiB);
	KT_EQ(l.high_memory, 0xf0000000u);
	KT_EQ(l.vmalloc_start, 0xf0800000u);
	KT_EQ(l.vmalloc_end, 0xff800000u);
	KT_EQ(l.fixaddr_start, 0xffc80000u);
	KT_EQ(l.fixaddr_top, 0xffeff000u);
	KT_EQ(l.fix_kmap_begin, 1);
	KT_EQ(l.kmap_local_end - 4096, 0xffefe000u); /* CPU 0, index 0 */
	KT_EQ(l.nr_cpus, 8);
	KT_EQ(l.struct_page_size, 36);
	KT_EQ(l.pte_size, 4);
	KT_EQ(l.kmap_high_get, 0); /* ARM_ERRATA_798181 */
	KT_EQ(l.cpu_entry_area_start, 0);
	km_machine_destroy(m);

	m = kt_machine("arm-virt", 2 * GiB, 0, 0, KM_CHECK);
	l = kt_layout(m);
	KT_EQ(l.phys_offset, 0x40000000u);
	KT_EQ(l.min_pfn, 0x40000);
	KT_EQ(l.max_low_pfn, 0x70000);
	KT_EQ(l.max_pfn, 0xc0000);
	KT_EQ(l.high_memory, 0xf0000000u);
	KT_EQ(l.vmalloc_start, 0xf0800000u);
	/* __va(PHYS_OFFSET) is PAGE_OFFSET: pfn 0x40000 at 0xc0000000 */
	KT_EQ((uintptr_t)km_lowmem_page_address(m, km_pfn_to_page(m, 0x40000)),
	      0xc0000000u);
	KT_EQ((uintptr_t)km_lowmem_page_address(m, km_pfn_to_page(m, 0x6ffff)),
	      0xeffff000u);
	assert_null(km_pfn_to_page(m, 0x3ffff));
	assert_null(km_pfn_to_page(m, 0));
	assert_null(km_pfn_to_page(m, 0xc0000));
	km_machine_destroy(m);

	m = kt_machine("arm-2g", 2 * GiB, 0, 0, KM_CHECK);
	l = kt_layout(m);
	KT_EQ(l.page_offset, 0x80000000u);
	KT_EQ(l.pkmap_base, 0x7fe00000u);
	KT_EQ(l.pkmap_end, 0x80000000u);
	KT_EQ(l.last_pkmap, 512);
	KT_EQ(l.lowmem_limit, 1792 * MiB);
	KT_EQ(l.max_low_pfn, 1792 * MiB / 4096);
	KT_EQ(l.highmem_bytes, 256 * MiB);
	km_machine_destroy(m);

	/* the Raspberry Pi 2 point: 1 GiB on a 2G/2G split has no highmem */
	m = kt_machine("arm-2g", 1 * GiB, 0, 0, KM_CHECK);
	l = kt_layout(m);
	KT_EQ(l.max_low_pfn, l.max_pfn);
	KT_EQ(l.highmem_bytes, 0);
	KT_EQ(km_totalhigh_pages(m), 0);
	km_machine_destroy(m);

	/* Kirkwood: one CPU, no MEMCG (a 32-byte struct page), no ZONE_DMA,
	 * and kmap_high_get (ARCH_NEEDS_KMAP_HIGH_GET) */
	m = kt_machine("arm-marvell", 2 * GiB, 0, 0, KM_CHECK);
	l = kt_layout(m);
	KT_EQ(l.nr_cpus, 1);
	KT_EQ(l.struct_page_size, 32);
	KT_EQ(l.kmap_high_get, 1);
	KT_EQ(l.kmap_local_end - l.kmap_local_start, 16 * 4096);
	KT_EQ(l.zones[0].type, KM_ZONE_NORMAL);
	km_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Zones and pages                                                     */
/* ------------------------------------------------------------------ */

static void check_zone_page(km_machine *m, const struct km_layout *l,
                            const struct km_zone_info *z, uint64_t pfn)
{
	km_page *p = km_pfn_to_page(m, pfn);
	assert_non_null(p);
	KT_EQ(km_page_to_pfn(m, p), pfn);
	KT_EQ(km_page_zone(m, p), z->type);
	KT_EQ(km_page_highmem(m, p), z->highmem);
	KT_EQ(km_page_highmem(m, p), pfn >= l->max_low_pfn);
	KT_EQ(km_page_flags(m, p) >> l->zones_pgshift, z->zone_idx);
	if (z->highmem)
		assert_null(km_lowmem_page_address(m, p));
	else
		KT_EQ((uintptr_t)km_lowmem_page_address(m, p),
		      l->page_offset + (pfn - l->min_pfn) * 4096);
}

static void zones_layout(void **state)
{
	(void)state;
	/* x86: DMA [1, 4096) (page 0 is the BIOS's: "DMA [mem
	 * 0x0000000000001000-0x0000000000ffffff]"), Normal, HighMem, Movable */
	km_machine *m = kt_machine("x86-32", 2 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.nr_zones, 4);
	KT_EQ(l.zones[0].type, KM_ZONE_DMA);
	assert_string_equal(l.zones[0].name, "DMA");
	KT_EQ(l.zones[0].start_pfn, 1);
	KT_EQ(l.zones[0].end_pfn, 4096);
	KT_EQ(l.zones[1].type, KM_ZONE_NORMAL);
	assert_string_equal(l.zones[1].name, "Normal");
	KT_EQ(l.zones[1].start_pfn, 4096);
	KT_EQ(l.zones[1].end_pfn, 0x36bfe);
	KT_EQ(l.zones[2].type, KM_ZONE_HIGHMEM);
	assert_string_equal(l.zones[2].name, "HighMem");
	KT_EQ(l.zones[2].start_pfn, 0x36bfe);
	KT_EQ(l.zones[2].end_pfn, 524288);
	KT_EQ(l.zones[2].highmem, 1);
	KT_EQ(l.zones[3].type, KM_ZONE_MOVABLE);
	assert_string_equal(l.zones[3].name, "Movable");
	KT_EQ(l.zones[3].start_pfn, 524288);
	KT_EQ(l.zones[3].end_pfn, 524288);
	KT_EQ(l.zones[0].highmem, 0);
	KT_EQ(l.zones[1].highmem, 0);
	km_machine_destroy(m);

	/* armmp: ZONE_DMA is all of lowmem, Normal empty */
	m = kt_machine("arm", 2 * GiB, 0, 0, KM_CHECK);
	l = kt_layout(m);
	KT_EQ(l.nr_zones, 4);
	KT_EQ(l.zones[0].type, KM_ZONE_DMA);
	KT_EQ(l.zones[0].start_pfn, 0);
	KT_EQ(l.zones[0].end_pfn, 196608);
	KT_EQ(l.zones[1].type, KM_ZONE_NORMAL);
	KT_EQ(l.zones[1].start_pfn, l.zones[1].end_pfn);
	KT_EQ(l.zones[2].type, KM_ZONE_HIGHMEM);
	KT_EQ(l.zones[2].start_pfn, 196608);
	KT_EQ(l.zones[2].end_pfn, 524288);
	KT_EQ(l.zones[3].type, KM_ZONE_MOVABLE);
	KT_EQ(km_page_flags(m, km_pfn_to_page(m, 0)) >> 30, 0);
	KT_EQ(km_page_flags(m, km_pfn_to_page(m, 196608)) >> 30, 2);
	km_machine_destroy(m);

	/* marvell: no ZONE_DMA; Normal is zone 0 */
	m = kt_machine("arm-marvell", 2 * GiB, 0, 0, KM_CHECK);
	l = kt_layout(m);
	KT_EQ(l.nr_zones, 3);
	KT_EQ(l.zones[0].type, KM_ZONE_NORMAL);
	KT_EQ(l.zones[0].start_pfn, 0);
	KT_EQ(l.zones[0].end_pfn, 196608);
	KT_EQ(l.zones[1].type, KM_ZONE_HIGHMEM);
	KT_EQ(l.zones[1].start_pfn, 196608);
	KT_EQ(l.zones[1].end_pfn, 524288);
	KT_EQ(l.zones[2].type, KM_ZONE_MOVABLE);
	KT_EQ(l.zones[2].start_pfn, l.zones[2].end_pfn);
	KT_EQ(km_page_flags(m, km_pfn_to_page(m, 0)) >> 30, 0);
	KT_EQ(km_page_flags(m, km_pfn_to_page(m, 196608)) >> 30, 1);
	km_machine_destroy(m);
}

static void zone_boundaries(void **state)
{
	(void)state;
	static const uint64_t sizes[] = { 0, 512 * MiB, 3 * GiB };
	for (unsigned i = 0; i < NR_PROFILES; i++)
		for (unsigned s = 0; s < 3; s++) {
			km_machine *m = kt_machine(profiles[i], sizes[s], 0, 0, 0);
			struct km_layout l = kt_layout(m);
			for (unsigned z = 0; z < l.nr_zones; z++) {
				const struct km_zone_info *zi = &l.zones[z];
				if (zi->start_pfn == zi->end_pfn)
					continue;
				check_zone_page(m, &l, zi, zi->start_pfn);
				check_zone_page(m, &l, zi, zi->end_pfn - 1);
				check_zone_page(m, &l, zi,
				                zi->start_pfn + (zi->end_pfn - zi->start_pfn) / 2);
			}
			/* last lowmem pfn and first highmem pfn */
			km_page *last_low = km_pfn_to_page(m, l.max_low_pfn - 1);
			KT_EQ(km_page_highmem(m, last_low), 0);
			/* Normal, or DMA where it is all of lowmem (armmp) */
			enum km_zone_type lz = km_page_zone(m, last_low);
			assert_true(lz == KM_ZONE_NORMAL || lz == KM_ZONE_DMA);
			if (l.max_low_pfn < l.max_pfn) {
				km_page *first_high = km_pfn_to_page(m, l.max_low_pfn);
				KT_EQ(km_page_highmem(m, first_high), 1);
				KT_EQ(km_page_zone(m, first_high), KM_ZONE_HIGHMEM);
				assert_null(km_lowmem_page_address(m, first_high));
				KT_EQ((uintptr_t)km_lowmem_page_address(m, last_low),
				      l.high_memory - 4096);
			} else {
				/* no highmem: Movable is not a highmem zone then */
				KT_EQ(l.zones[l.nr_zones - 1].highmem, 0);
				KT_EQ(km_totalhigh_pages(m), 0);
			}
			/* beyond memory */
			assert_null(km_pfn_to_page(m, l.max_pfn));
			assert_null(km_pfn_to_page(m, l.max_pfn + 12345));
			assert_null(km_pfn_to_page(m, UINT64_MAX));
			km_machine_destroy(m);
		}
}

static void pfn_round_trip(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 2 * GiB, 0, 0, 0);
	km_machine *other = kt_machine("x86-32", 1 * GiB, 0, 0, 0);
	struct km_layout l = kt_layout(m);
	for (uint64_t pfn = 0; pfn < l.max_pfn; pfn += 997) {
		km_page *p = km_pfn_to_page(m, pfn);
		assert_non_null(p);
		KT_EQ(km_page_to_pfn(m, p), pfn);
	}
	KT_EQ(km_page_to_pfn(m, km_pfn_to_page(m, l.max_pfn - 1)), l.max_pfn - 1);
	/* pages of another machine, or none, are not this machine's */
	km_page *foreign = km_pfn_to_page(other, 5000);
	KT_EQ(km_page_to_pfn(m, foreign), UINT64_MAX);
	KT_EQ(km_page_to_pfn(m, NULL), UINT64_MAX);
	KT_EQ(km_page_zone(m, foreign), KM_ZONE_NONE);
	KT_EQ(km_page_highmem(m, foreign), 0);
	assert_null(km_lowmem_page_address(m, foreign));
	km_machine_destroy(other);
	km_machine_destroy(m);
}

/*
 * The memory models, per profile, from the architecture's sparsemem.h:
 * SECTION_SIZE_BITS, SECTIONS_WIDTH = MAX_PHYSMEM_BITS - SECTION_SIZE_BITS
 * and the shifts that follow (mm.h's *_PGOFF). Under SPARSEMEM every
 * page's flags hold its section number, page_to_pfn() reads it, and the
 * zone is found below it; the same pages and zones as under FLATMEM.
 */
static void memory_models(void **state)
{
	(void)state;
	static const struct {
		const char *profile;
		unsigned ssb, width, sshift, zshift;
		uint64_t mem, present, ms_bytes;
	} want[] = {
		/* x86: SPARSEMEM_STATIC, 8-byte mem_section entries */
		{ "x86-32", 26, 6, 26, 24, 1000 * MiB, 16, 64 * 8 },
		{ "x86-32-pae", 29, 7, 25, 23, 6 * GiB, 12, 128 * 8 },
		/* ARM: SPARSEMEM_EXTREME, one root pointer and one root page */
		{ "arm", 28, 8, 24, 22, 1 * GiB, 4, 4 + 4096 },
		{ "arm-virt", 28, 8, 24, 22, 1 * GiB + 4096, 5, 4 + 4096 },
	};
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct km_config cfg;
		km_config_init(&cfg);
		cfg.profile = want[i].profile;
		cfg.mem_bytes = want[i].mem;
		km_machine *flat = kt_machine_cfg(&cfg);
		cfg.memory_model = KM_SPARSEMEM;
		km_machine *sp = kt_machine_cfg(&cfg);
		struct km_layout fl = kt_layout(flat), sl = kt_layout(sp);
		assert_string_equal(fl.memory_model, "flatmem");
		assert_string_equal(sl.memory_model, "sparsemem");
		KT_EQ(fl.section_size_bits, want[i].ssb);
		KT_EQ(sl.section_size_bits, want[i].ssb);
		KT_EQ(fl.sections_width, 0);
		KT_EQ(fl.sections_pgshift, 0);
		KT_EQ(fl.zones_pgshift, 30);
		KT_EQ(fl.mem_section_bytes, 0);
		KT_EQ(sl.sections_width, want[i].width);
		KT_EQ(sl.sections_pgshift, want[i].sshift);
		KT_EQ(sl.zones_pgshift, want[i].zshift);
		KT_EQ(sl.nodes_pgshift, 0);
		KT_EQ(sl.present_sections, want[i].present);
		KT_EQ(sl.mem_section_bytes, want[i].ms_bytes);
		/* the memmap of whole sections */
		KT_EQ(sl.mem_map_bytes, (want[i].present << (want[i].ssb - 12)) *
		                        sl.struct_page_size);
		unsigned pss = want[i].ssb - 12;
		for (uint64_t pfn = sl.min_pfn; pfn < sl.max_pfn; pfn += 4093) {
			/* the last page of a section and the first of the next */
			uint64_t pfns[3] = { pfn, pfn | ((1ull << pss) - 1),
			                     (pfn | ((1ull << pss) - 1)) + 1 };
			for (unsigned j = 0; j < 3; j++) {
				uint64_t p = pfns[j];
				if (p >= sl.max_pfn)
					continue;
				km_page *pg = km_pfn_to_page(sp, p);
				assert_non_null(pg);
				KT_EQ(km_page_to_pfn(sp, pg), p);
				unsigned long fs = km_page_flags(sp, pg);
				KT_EQ(fs >> sl.sections_pgshift, p >> pss);
				KT_EQ(km_page_zone(sp, pg),
				      km_page_zone(flat, km_pfn_to_page(flat, p)));
				KT_EQ(km_page_highmem(sp, pg),
				      km_page_highmem(flat, km_pfn_to_page(flat, p)));
				KT_EQ((uintptr_t)km_lowmem_page_address(sp, pg),
				      (uintptr_t)km_lowmem_page_address(flat,
				                                 km_pfn_to_page(flat, p)));
			}
		}
		km_machine_destroy(sp);
		km_machine_destroy(flat);
	}
	/* an unknown model is refused with its reason */
	struct km_config cfg;
	char msg[128];
	km_config_init(&cfg);
	cfg.memory_model = (enum km_memory_model)7;
	KT_EQ(km_config_check(&cfg, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "memory model"));
}

/*
 * Holes: pfn_valid() per model (FLATMEM: the whole span, a hole's pages
 * reserved; SPARSEMEM: not in a section wholly in holes), page_is_ram()
 * false in them, the allocator never giving one out, the free counts and
 * the layout's costs without them; bad lists refused with their rule.
 */
static void holes(void **state)
{
	(void)state;
	/* x86-32, 2 GiB: a hole inside section 18 (pfns 294912-311295) and
	 * sections 24-27 (pfns 393216-458751) whole; highmem from 224254 */
	static const struct km_hole h[2] = { { 300000, 300008 },
	                                     { 393216, 458752 } };
	km_machine *mm[2];
	for (int sparse = 0; sparse < 2; sparse++) {
		struct km_config cfg;
		km_config_init(&cfg);
		cfg.mem_bytes = 2 * GiB;
		cfg.memory_model = sparse ? KM_SPARSEMEM : KM_FLATMEM;
		cfg.nr_holes = 2;
		cfg.holes[0] = h[0];
		cfg.holes[1] = h[1];
		km_machine *m = mm[sparse] = kt_machine_cfg(&cfg);
		struct km_layout l = kt_layout(m);
		KT_EQ(l.nr_holes, 2);
		KT_EQ(l.holes[1].start_pfn, 393216);
		KT_EQ(l.ram_pages, 524288 - 8 - 65536);
		KT_EQ(l.mem_map_bytes, sparse ? 28ull * 16384 * 40 : 524288ull * 40);
		if (sparse)
			KT_EQ(l.present_sections, 28);
		/* the small hole: a struct page under both models, reserved */
		for (uint64_t p = 299999; p <= 300008; p++) {
			int hole = p >= 300000 && p < 300008;
			KT_EQ(km_pfn_valid(m, p), 1);
			KT_EQ(km_page_is_ram(m, p), !hole);
			km_page *pg = km_pfn_to_page(m, p);
			assert_non_null(pg);
			KT_EQ(km_page_to_pfn(m, pg), p);
			KT_EQ(km_page_zone(m, pg), KM_ZONE_HIGHMEM);
			KT_EQ(!!(km_page_flags(m, pg) & (1ul << 12)), hole);
		}
		/* the absent sections: no page under SPARSEMEM */
		static const uint64_t big[] = { 393215, 393216, 400000, 458751, 458752 };
		for (unsigned i = 0; i < 5; i++) {
			uint64_t p = big[i];
			int hole = p >= 393216 && p < 458752;
			KT_EQ(km_page_is_ram(m, p), !hole);
			KT_EQ(km_pfn_valid(m, p), !(hole && sparse));
			if (hole && sparse)
				assert_null(km_pfn_to_page(m, p));
			else
				KT_EQ(km_page_to_pfn(m, km_pfn_to_page(m, p)), p);
		}
		/* a pointer into an absent section's place is no page */
		km_page *before = km_pfn_to_page(m, 393215);
		if (sparse)
			KT_EQ(km_page_to_pfn(m, (km_page *)((char *)before +
			      (uintptr_t)km_pfn_to_page(m, 1) -
			      (uintptr_t)km_pfn_to_page(m, 0))), UINT64_MAX);
		KT_EQ(km_page_is_ram(m, 524288), 0);
		KT_EQ(km_pfn_valid(m, 524288), 0);
		/* highmem less the holes' pages, all free; the allocator takes
		 * every one of them and none in a hole */
		uint64_t high = 524288 - 224254 - 8 - 65536;
		KT_EQ(km_totalhigh_pages(m), high);
		KT_EQ(km_nr_free_highpages(m), high);
		km_page *pg;
		for (uint64_t n = 0; n < high; n++) {
			KT_EQ(km_alloc_page(m, KM_GFP_HIGHUSER, &pg), 0);
			assert_true(km_page_highmem(m, pg));
			assert_true(km_page_is_ram(m, km_page_to_pfn(m, pg)));
		}
		KT_EQ(km_nr_free_highpages(m), 0);
		/* highmem spent: the next comes from Normal */
		KT_EQ(km_alloc_page(m, KM_GFP_HIGHUSER, &pg), 0);
		assert_false(km_page_highmem(m, pg));
		KT_EQ(km_check(m, NULL, 0), 0);
	}
	km_machine_destroy(mm[0]);
	km_machine_destroy(mm[1]);
	km_machine_destroy(NULL);
	KT_EQ(km_pfn_valid(NULL, 0), 0);
	KT_EQ(km_page_is_ram(NULL, 0), 0);

	/* bad lists: refused, naming the rule */
	static const struct {
		unsigned n;
		struct km_hole h[2];
		const char *why;
	} bad[] = {
		{ 1, { { 20, 10 } }, "end after it starts" },
		{ 1, { { 10, 10 } }, "end after it starts" },
		{ 2, { { 30, 40 }, { 10, 20 } }, "sorted and apart" },
		{ 2, { { 10, 20 }, { 20, 30 } }, "sorted and apart" },
		{ 1, { { 10, 262145 } }, "within memory" },
		{ 1, { { 0, 262144 } }, "leave no memory" },
		{ 9, { { 1, 2 } }, "at most 8" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct km_config cfg;
		char msg[128];
		km_machine *m = NULL;
		km_config_init(&cfg);
		cfg.mem_bytes = 1 * GiB;
		cfg.nr_holes = bad[i].n;
		for (unsigned j = 0; j < 2; j++)
			cfg.holes[j] = bad[i].h[j];
		KT_EQ(km_config_check(&cfg, msg, sizeof(msg)), -EINVAL);
		assert_non_null(strstr(msg, bad[i].why));
		KT_EQ(km_machine_create(&cfg, &m), -EINVAL);
		assert_null(m);
	}
	/* arm-virt: pfns from 262144, so a hole below that is outside */
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.profile = "arm-virt";
	cfg.nr_holes = 1;
	cfg.holes[0] = (struct km_hole){ 1000, 2000 };
	KT_EQ(km_config_check(&cfg, NULL, 0), -EINVAL);
	cfg.holes[0] = (struct km_hole){ 262144 + 1000, 262144 + 2000 };
	KT_EQ(km_config_check(&cfg, NULL, 0), 0);
}

/* ------------------------------------------------------------------ */
/* The allocator                                                       */
/* ------------------------------------------------------------------ */

static void alloc_highuser(void **state)
{
	(void)state;
	/* lowmem plus exactly four highmem pages */
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.mem_bytes = 0x36bfe000ull + 4 * 4096;
	cfg.flags = KM_CHECK;
	km_machine *m = kt_machine_cfg(&cfg);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.max_low_pfn, 0x36bfe);
	KT_EQ(l.max_pfn, 0x36bfe + 4);
	KT_EQ(km_totalhigh_pages(m), 4);
	KT_EQ(km_nr_free_highpages(m), 4);

	km_page *hp[4], *p;
	for (unsigned i = 0; i < 4; i++) {
		KT_OK(km_alloc_page(m, KM_GFP_HIGHUSER, &hp[i]));
		KT_EQ(km_page_highmem(m, hp[i]), 1);
		KT_EQ(km_nr_free_highpages(m), 3 - i);
		/* PG_allocated does not disturb the zone bits */
		KT_EQ(km_page_flags(m, hp[i]) >> 30, 2);
		KT_EQ(km_page_zone(m, hp[i]), KM_ZONE_HIGHMEM);
		for (unsigned j = 0; j < i; j++)
			assert_ptr_not_equal(hp[i], hp[j]);
	}
	/* highmem exhausted: the zonelist falls back to Normal */
	KT_OK(km_alloc_page(m, KM_GFP_HIGHUSER, &p));
	KT_EQ(km_page_zone(m, p), KM_ZONE_NORMAL);
	KT_EQ(km_nr_free_highpages(m), 0);
	l = kt_layout(m);
	KT_EQ(l.zones[1].nr_free, 0x36bfe - 4096 - 1);
	KT_EQ(l.zones[2].nr_free, 0);

	/* freeing restores; a double free is refused */
	KT_OK(km_free_page(m, hp[2]));
	KT_EQ(km_nr_free_highpages(m), 1);
	KT_RC(km_free_page(m, hp[2]), -EINVAL);
	KT_EQ(km_nr_free_highpages(m), 1);
	KT_OK(km_free_page(m, p));
	KT_RC(km_free_page(m, p), -EINVAL);
	l = kt_layout(m);
	KT_EQ(l.zones[1].nr_free, 0x36bfe - 4096);
	/* the freed highmem page is handed out again */
	KT_OK(km_alloc_page(m, KM_GFP_HIGHUSER, &p));
	assert_ptr_equal(p, hp[2]);
	KT_EQ(km_nr_free_highpages(m), 0);
	/* a never-allocated page, a foreign pointer and NULL are refused */
	KT_RC(km_free_page(m, km_pfn_to_page(m, 5000)), -EINVAL);
	KT_RC(km_free_page(m, NULL), -EINVAL);
	KT_RC(km_alloc_page(m, 7, &p), -EINVAL);
	KT_RC(km_alloc_page(m, KM_GFP_KERNEL, NULL), -EINVAL);
	km_machine_destroy(m);
}

static void alloc_zonelists(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 2 * GiB, 0, 0, 0);
	km_page *p;
	KT_OK(km_alloc_page(m, KM_GFP_KERNEL, &p));
	KT_EQ(km_page_zone(m, p), KM_ZONE_NORMAL);
	KT_OK(km_alloc_page(m, KM_GFP_DMA, &p));
	KT_EQ(km_page_zone(m, p), KM_ZONE_DMA);
	assert_true(kt_pfn(m, p) < 4096);
	KT_OK(km_alloc_page(m, KM_GFP_HIGHUSER, &p));
	KT_EQ(km_page_zone(m, p), KM_ZONE_HIGHMEM);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.zones[0].nr_free, 4094); /* DMA [1, 4096), one page taken */
	KT_EQ(l.zones[1].nr_free, 0x36bfe - 4096 - 1);
	KT_EQ(l.zones[2].nr_free, 524288 - 0x36bfe - 1);
	km_machine_destroy(m);

	/* marvell has no DMA zone: GFP_DMA falls to Normal */
	m = kt_machine("arm-marvell", 2 * GiB, 0, 0, 0);
	KT_OK(km_alloc_page(m, KM_GFP_DMA, &p));
	KT_EQ(km_page_zone(m, p), KM_ZONE_NORMAL);
	km_machine_destroy(m);
	/* armmp's Normal is empty: GFP_KERNEL falls to DMA */
	m = kt_machine("arm", 2 * GiB, 0, 0, 0);
	KT_OK(km_alloc_page(m, KM_GFP_KERNEL, &p));
	KT_EQ(km_page_zone(m, p), KM_ZONE_DMA);
	km_machine_destroy(m);

	/* a one-page machine: pfn 0 is all there is */
	m = kt_machine("arm", 4096, 0, 0, KM_CHECK);
	l = kt_layout(m);
	KT_EQ(l.max_pfn, 1);
	KT_EQ(l.max_low_pfn, 1);
	KT_EQ(km_totalhigh_pages(m), 0);
	KT_OK(km_alloc_page(m, KM_GFP_HIGHUSER, &p));
	KT_EQ(kt_pfn(m, p), 0);
	KT_RC(km_alloc_page(m, KM_GFP_KERNEL, &p), -ENOMEM);
	km_machine_destroy(m);
	/* on x86 that page is the BIOS's: in no zone, never handed out */
	m = kt_machine("x86-32", 4096, 0, 0, KM_CHECK);
	KT_RC(km_alloc_page(m, KM_GFP_HIGHUSER, &p), -ENOMEM);
	KT_EQ(km_page_highmem(m, km_pfn_to_page(m, 0)), 0);
	KT_EQ((uintptr_t)km_lowmem_page_address(m, km_pfn_to_page(m, 0)),
	      0xc0000000u);
	km_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Bad configurations                                                  */
/* ------------------------------------------------------------------ */

static int create_rc(const char *profile, uint64_t mem, unsigned last_pkmap,
                     unsigned colors)
{
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.profile = profile;
	cfg.mem_bytes = mem;
	cfg.last_pkmap = last_pkmap;
	cfg.colors = colors;
	km_machine *m = (km_machine *)&cfg; /* must be reset to NULL on error */
	int r = km_machine_create(&cfg, &m);
	if (r)
		assert_null(m);
	km_machine_destroy(r ? NULL : m);
	return r;
}

static void bad_configs(void **state)
{
	(void)state;
	KT_RC(create_rc("sparc", 0, 0, 0), -EINVAL);
	KT_RC(create_rc(NULL, 0, 0, 0), -EINVAL);
	KT_RC(create_rc("X86-32", 0, 0, 0), -EINVAL);
	KT_RC(create_rc("x86-32", 4 * GiB + 4096, 0, 0), -EINVAL);
	KT_RC(create_rc("x86-32", 4 * GiB, 0, 0), 0);
	KT_RC(create_rc("arm", 8 * GiB, 0, 0), -EINVAL);
	KT_RC(create_rc("arm-2g", 5 * GiB, 0, 0), -EINVAL);
	KT_RC(create_rc("x86-32-pae", 64 * GiB + 4096, 0, 0), -EINVAL);
	KT_RC(create_rc("x86-32", 100, 0, 0), -EINVAL); /* less than a page */
	KT_RC(create_rc("x86-32", 0, 1, 0), -EINVAL);
	KT_RC(create_rc("x86-32", 0, 6, 0), -EINVAL);
	KT_RC(create_rc("x86-32", 0, 1000, 0), -EINVAL);
	KT_RC(create_rc("x86-32", 0, 2, 0), 0);
	KT_RC(create_rc("x86-32", 0, 8, 3), -EINVAL);
	KT_RC(create_rc("x86-32", 0, 8, 16), -EINVAL);
	KT_RC(create_rc("x86-32", 0, 8, 8), 0);
	KT_RC(create_rc("arm", 0, 16, 6), -EINVAL);
	KT_RC(create_rc("x86-32", 0, 128, 64), 0);
	KT_RC(create_rc("x86-32", 0, 128, 128), -EINVAL); /* > KM_MAX_COLORS */

	/* mem 0 means the profile's default */
	km_machine *m = kt_machine("x86-32-pae", 0, 0, 0, 0);
	KT_EQ(kt_layout(m).mem_bytes, 16 * GiB);
	km_machine_destroy(m);

	struct km_config cfg;
	km_config_init(&cfg);
	assert_string_equal(cfg.profile, "x86-32");
	assert_null(cfg.policy); /* the backend's: linux here */
	KT_EQ(cfg.backend, KM_BACKEND_SIM);
	KT_EQ(cfg.flags, 0);
	cfg.policy = "lru-nonexistent";
	KT_RC(km_machine_create(&cfg, &m), -EINVAL);
	cfg.policy = NULL; /* NULL = linux on the simulated machine */
	KT_OK(km_machine_create(&cfg, &m));
	assert_ptr_equal(km__machine_core(m)->pol, &km__policy_linux);
	km_machine_destroy(m);
	/* local-map areas: as many as the fixmap holds */
	cfg.nr_cpus = 100000;
	KT_RC(km_machine_create(&cfg, &m), -EINVAL);
	cfg.profile = "arm"; /* a 2.5 MiB fixmap: 640 pages, 16 a cpu */
	cfg.nr_cpus = 64;
	KT_RC(km_machine_create(&cfg, &m), -EINVAL);
	cfg.profile = "x86-32";
	cfg.nr_cpus = 32;
	KT_OK(km_machine_create(&cfg, &m));
	KT_EQ(kt_layout(m).nr_cpus, 32);
	km_machine_destroy(m);
	cfg.nr_cpus = 1;
	KT_OK(km_machine_create(&cfg, &m));
	KT_EQ(kt_layout(m).nr_cpus, 1);
	KT_EQ(kt_layout(m).kmap_local_end - kt_layout(m).kmap_local_start,
	      16 * 4096);
	km_machine_destroy(m);
	cfg.nr_cpus = 0;
	cfg.flags = 0x80;
	KT_RC(km_machine_create(&cfg, &m), -EINVAL);
	cfg.flags = 0;
	cfg.backend = (enum km_backend_kind)7;
	KT_RC(km_machine_create(&cfg, &m), -EINVAL);
	cfg.backend = KM_BACKEND_SIM;
	KT_RC(km_machine_create(&cfg, NULL), -EINVAL);
}

static void custom_window(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 0, 8, 2, KM_CHECK);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.last_pkmap, 8);
	KT_EQ(l.colors, 2);
	KT_EQ(l.pkmap_end, l.pkmap_base + 8 * 4096);
	KT_EQ(l.pkmap_pgtable_bytes, 32);
	struct km_stats s = kt_stats(m);
	KT_EQ(s.colors, 2);
	struct km_slot sl;
	KT_RC(km_pkmap_slot(m, 8, &sl), -EINVAL);
	KT_OK(km_pkmap_slot(m, 7, &sl));
	KT_EQ(sl.count, 0);
	KT_EQ(sl.pfn, UINT64_MAX);
	km_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* A sparse 64 GiB PAE machine                                         */
/* ------------------------------------------------------------------ */

static void pae_64g_sparse(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32-pae", 64 * GiB, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.max_pfn, 16ull * 1024 * 1024);
	KT_EQ(l.mem_map_bytes, 16ull * 1024 * 1024 * 40);
	void *be = km__machine_backend(m);
	KT_EQ(km__sim_resident_bytes(be), 0);

	/* reading untouched memory gives zeros and allocates nothing */
	char buf[64];
	memset(buf, 0x55, sizeof(buf));
	KT_OK(km_memcpy_from_page(m, buf, km_pfn_to_page(m, l.max_pfn - 1), 100,
	                          sizeof(buf)));
	for (unsigned i = 0; i < sizeof(buf); i++)
		KT_EQ(buf[i], 0);
	KT_EQ(km__sim_resident_bytes(be), 0);

	static const uint64_t where[] = { 0, 227000, 1u << 20, 8u << 20 };
	uint64_t pfns[5];
	for (unsigned i = 0; i < 4; i++)
		pfns[i] = where[i];
	pfns[4] = l.max_pfn - 1;
	for (unsigned i = 0; i < 5; i++) {
		char msg[32];
		memset(msg, 0, sizeof(msg));
		memcpy(msg, "page", 4);
		msg[4] = (char)('0' + i);
		KT_OK(km_memcpy_to_page(m, km_pfn_to_page(m, pfns[i]), 4096 - 32,
		                        msg, 32));
	}
	/* five pages in five different 64 KiB chunks: five chunks */
	KT_EQ(km__sim_resident_bytes(be), 5 * 64 * KiB);
	for (unsigned i = 0; i < 5; i++) {
		char got[32];
		KT_OK(km_memcpy_from_page(m, got, km_pfn_to_page(m, pfns[i]),
		                          4096 - 32, 32));
		KT_EQ(memcmp(got, "page", 4), 0);
		KT_EQ(got[4], '0' + i);
	}
	/* through a persistent mapping too */
	void *va;
	km_page *top = km_pfn_to_page(m, l.max_pfn - 1);
	KT_OK(km_kmap(m, top, &va));
	char got[8];
	KT_OK(km_read(m, (char *)va + 4096 - 32, got, 5));
	KT_EQ(memcmp(got, "page4", 5), 0);
	KT_OK(km_kunmap(m, top));
	KT_EQ(km__sim_resident_bytes(be), 5 * 64 * KiB);
	KT_CHECK(m);
	km_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KT_TEST(profile_names),
		KT_TEST(profiles_build),
		KT_TEST(layout_x86_32),
		KT_TEST(layout_x86_32_pae),
		KT_TEST(layout_arm),
		KT_TEST(zones_layout),
		KT_TEST(zone_boundaries),
		KT_TEST(pfn_round_trip),
		KT_TEST(memory_models),
		KT_TEST(holes),
		KT_TEST(alloc_highuser),
		KT_TEST(alloc_zonelists),
		KT_TEST(bad_configs),
		KT_TEST(custom_window),
		KT_TEST(pae_64g_sparse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
