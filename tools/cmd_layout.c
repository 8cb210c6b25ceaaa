/* cmd_layout.c - `kmap layout`: the virtual memory layout of a machine. */
#include "cli.h"
#include "svg.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"kmap layout [--machine PROFILE] [--mem SIZE] [--last-pkmap N] "
	"[--colors N] [--model flatmem|sparsemem] [--holes START-END[,...]] "
	"[--json] [--svg FILE]";

static void layout_help(FILE *f)
{
	fprintf(f,
	    "usage: %s\n\n"
	    "Print the machine's virtual kernel memory layout as the kernel's boot\n"
	    "log does (fixmap, pkmap, vmalloc, lowmem: start, end, size), its zones\n"
	    "with their pfn ranges, the lowmem and highmem sizes, and what the\n"
	    "model costs: mem_map (pages x sizeof(struct page)), mem_section[] under\n"
	    "SPARSEMEM, and the pkmap page table; and the page->flags word: which\n"
	    "bits hold the section, node and zone numbers and which the flags.\n\n"
	    "  --machine PROFILE  one of:", usage);
	for (unsigned i = 0; km_profile_name(i); i++)
		fprintf(f, " %s", km_profile_name(i));
	fprintf(f,
	    "\n                     (default x86-32)\n"
	    "  --mem SIZE         physical memory (K, M, G suffixes); default:\n"
	    "                     the profile's own\n"
	    "  --last-pkmap N     window slots, a power of two from 2 to 65536;\n"
	    "                     default: the profile's own\n"
	    "  --colors N         cache colours, a power of two up to 64 dividing\n"
	    "                     the slots; default 1\n"
	    "  --model MODEL      the memory model: flatmem (the default: one\n"
	    "                     mem_map) or sparsemem (sections, mem_section[],\n"
	    "                     the section number in page->flags)\n"
	    "  --holes START-END[,START-END...]\n"
	    "                     holes in physical memory: pfns START up to, not\n"
	    "                     including, END have no RAM (at most 8, sorted,\n"
	    "                     apart, within the machine's pfns); default none\n"
	    "  --json             one JSON object instead of text\n"
	    "  --svg FILE         also draw the machine into FILE (SVG): memory and\n"
	    "                     its zones, the virtual space, the mappings\n"
	    "\nExit status: 0 on success; 2 when the command line is wrong (an\n"
	    "unknown option, a value the machine cannot take) or FILE cannot be\n"
	    "created: nothing is printed then; 3 when writing FILE failed.\n");
}

static void range(const char *name, uint64_t a, uint64_t b)
{
	char sz[32];
	*fmt_size(sz, b - a) = 0;
	printf("    %-8s: 0x%08llx - 0x%08llx   (%s)\n", name,
	       (unsigned long long)a, (unsigned long long)b, sz);
}

/* page->flags from the top down: section, node, zone, then the flags */
static void print_flags(const struct km_layout *l)
{
	unsigned top = 32;
	bool sparse = !strcmp(l->memory_model, "sparsemem");
	printf("\nMemory model: %s (SECTION_SIZE_BITS %u, MAX_PHYSMEM_BITS %u: "
	       "%llu sections of %llu MiB%s)\n",
	       sparse ? "SPARSEMEM" : "FLATMEM",
	       l->section_size_bits, l->max_physmem_bits,
	       (unsigned long long)l->nr_mem_sections,
	       (unsigned long long)(1ull << (l->section_size_bits - 20)),
	       sparse ? "" : " under SPARSEMEM");
	printf("  page->flags (32 bits):\n");
	if (l->sections_width) {
		printf("    bits %2u-%2u  section  (SECTIONS_PGSHIFT %u, "
		       "SECTIONS_WIDTH %u)\n", l->sections_pgshift,
		       top - 1, l->sections_pgshift, l->sections_width);
		top = l->sections_pgshift;
	} else {
		printf("    no section   (SECTIONS_WIDTH 0: not SPARSEMEM)\n");
	}
	if (l->nodes_width) {
		printf("    bits %2u-%2u  node     (NODES_PGSHIFT %u, NODES_WIDTH "
		       "%u)\n", l->nodes_pgshift, top - 1, l->nodes_pgshift,
		       l->nodes_width);
		top = l->nodes_pgshift;
	} else {
		printf("    no node      (NODES_WIDTH 0: one node; NODES_PGSHIFT "
		       "%u)\n", l->nodes_pgshift);
	}
	printf("    bits %2u-%2u  zone     (ZONES_PGSHIFT %u, ZONES_WIDTH %u)\n",
	       l->zones_pgshift, top - 1, l->zones_pgshift, l->zones_width);
	printf("    bits  0-%2u  flags    (PG_locked, PG_referenced ...; the "
	       "rest unused here)\n", l->zones_pgshift - 1);
}

static void print_text(const struct km_layout *l)
{
	char a[32], b[32];
	printf("Machine %s: %s\n  %s\n", l->profile, l->kernel, l->config);
	printf("  %llu MiB of %s from physical 0x%llx: pfns %llu-%llu, pages of "
	       "%u bytes\n", (unsigned long long)(l->mem_bytes >> 20),
	       l->nr_holes ? "memory, holes included," : "RAM",
	       (unsigned long long)l->phys_offset,
	       (unsigned long long)l->min_pfn, (unsigned long long)l->max_pfn - 1,
	       l->page_size);
	if (l->nr_holes) {
		printf("  holes (no RAM, pages reserved or absent):");
		for (unsigned i = 0; i < l->nr_holes; i++) {
			const struct km_hole *h = &l->holes[i];
			*fmt_size(a, (h->end_pfn - h->start_pfn) << l->page_shift) = 0;
			printf("%s pfns %llu-%llu (%s)", i ? "," : "",
			       (unsigned long long)h->start_pfn,
			       (unsigned long long)h->end_pfn - 1, a);
		}
		*fmt_size(a, l->ram_pages << l->page_shift) = 0;
		printf("\n  RAM: %llu pages (%s)\n",
		       (unsigned long long)l->ram_pages, a);
	}

	/* the boot log's own lines (x86's initmem_init; both: zone ranges) */
	printf("\nAs the kernel's boot log says it:\n");
	if (l->fix_kmap_begin > 1) { /* x86 */
		printf("  %lluMB HIGHMEM available.\n",
		       (unsigned long long)(l->highmem_bytes >> 20));
		printf("  %lluMB LOWMEM available.\n",
		       (unsigned long long)(l->lowmem_bytes >> 20));
		printf("    mapped low ram: 0 - %08llx\n",
		       (unsigned long long)l->lowmem_bytes);
	}
	printf("  Zone ranges:\n");
	for (unsigned i = 0; i < l->nr_zones; i++) {
		const struct km_zone_info *z = &l->zones[i];
		if (z->type == KM_ZONE_MOVABLE)
			continue; /* the boot log lists it apart, as the nodes' */
		if (z->start_pfn == z->end_pfn) {
			printf("    %-8s empty\n", z->name);
			continue;
		}
		printf("    %-8s [mem %#018llx-%#018llx]\n", z->name,
		       (unsigned long long)(z->start_pfn << l->page_shift),
		       (unsigned long long)((z->end_pfn << l->page_shift) - 1));
	}

	printf("\nVirtual kernel memory layout (6.1 prints none; from its "
	       "formulas):\n");
	range("fixmap", l->fixaddr_start, l->fixmap_end);
	range("  local", l->kmap_local_start, l->kmap_local_end);
	if (l->cpu_entry_area_start) {
		range("btmap", l->fixaddr_tot_start, l->fixaddr_start);
		range("cea", l->cpu_entry_area_start, l->cpu_entry_area_end);
		range("ldt", l->ldt_start, l->ldt_end);
	}
	if (l->pkmap_base > l->page_offset) {
		range("pkmap", l->pkmap_base, l->pkmap_end);
		range("vmalloc", l->vmalloc_start, l->vmalloc_end);
		range("lowmem", l->page_offset, l->high_memory);
	} else {
		range("vmalloc", l->vmalloc_start, l->vmalloc_end);
		range("lowmem", l->page_offset, l->high_memory);
		range("pkmap", l->pkmap_base, l->pkmap_end);
	}

	printf("\nZones and pfns:\n");
	for (unsigned i = 0; i < l->nr_zones; i++) {
		const struct km_zone_info *z = &l->zones[i];
		if (z->start_pfn == z->end_pfn)
			printf("  %-8s empty\n", z->name);
		else
			printf("  %-8s pfn %llu-%llu%s\n", z->name,
			       (unsigned long long)z->start_pfn,
			       (unsigned long long)z->end_pfn - 1,
			       z->highmem ? "  (highmem)" : "");
	}
	*fmt_size(a, l->lowmem_bytes) = 0;
	*fmt_size(b, l->highmem_bytes) = 0;
	printf("Memory: lowmem %s, highmem %s (highmem starts at pfn %llu)\n",
	       a, b, (unsigned long long)l->max_low_pfn);
	*fmt_size(a, l->lowmem_limit) = 0;
	printf("        the %s split allows at most %s of lowmem (MAXMEM)\n",
	       l->profile, a);
	printf("\nThe pkmap window: %u slots of %u bytes from 0x%08llx, %u colour%s,\n"
	       "  page_address() hash of %u buckets; %u local-map slots a CPU "
	       "(%u CPUs) from FIX_KMAP_BEGIN = %u;\n  kmap_high_get %s\n",
	       l->last_pkmap, l->page_size, (unsigned long long)l->pkmap_base,
	       l->colors, l->colors == 1 ? "" : "s", l->pa_hash_size,
	       l->km_max_idx - 1, l->nr_cpus, l->fix_kmap_begin,
	       l->kmap_high_get ? "(ARCH_NEEDS_KMAP_HIGH_GET): kmap_local reuses "
	                          "a page's pkmap address" :
	                          "absent: kmap_local always takes a fixmap slot");
	printf("\nOverhead:\n");
	if (l->present_sections)
		printf("  memmap:             %llu sections x %llu pages x %u B = "
		       "%llu KiB (%.1f MiB)\n",
		       (unsigned long long)l->present_sections,
		       (unsigned long long)(1ull << (l->section_size_bits -
		                                     l->page_shift)),
		       l->struct_page_size,
		       (unsigned long long)(l->mem_map_bytes >> 10),
		       (double)l->mem_map_bytes / (1 << 20));
	else
		printf("  mem_map:            %llu pages x %u B = %llu KiB (%.1f MiB)%s\n",
		       (unsigned long long)(l->max_pfn - l->min_pfn),
		       l->struct_page_size,
		       (unsigned long long)(l->mem_map_bytes >> 10),
		       (double)l->mem_map_bytes / (1 << 20),
		       l->nr_holes ? ", the holes' pages included" : "");
	printf("  pkmap page table:   %u PTEs x %u B = %llu bytes\n",
	       l->last_pkmap, l->pte_size,
	       (unsigned long long)l->pkmap_pgtable_bytes);
	if (l->mem_section_bytes)
		printf("  mem_section[]:      %llu of %llu sections present "
		       "(2^%u bytes each) = %llu bytes\n",
		       (unsigned long long)l->present_sections,
		       (unsigned long long)l->nr_mem_sections, l->section_size_bits,
		       (unsigned long long)l->mem_section_bytes);
	print_flags(l);
}

static void hex(const char *key, uint64_t v, int comma)
{
	printf("\"%s\":\"0x%llx\"%s", key, (unsigned long long)v, comma ? "," : "");
}

static void print_json(const struct km_layout *l)
{
	printf("{\"layout\":{\"profile\":\"%s\",\"kernel\":\"%s\",\"config\":\"%s\","
	       "\"page_size\":%u,\"mem_bytes\":%llu,",
	       l->profile, l->kernel, l->config, l->page_size,
	       (unsigned long long)l->mem_bytes);
	hex("phys_offset", l->phys_offset, 1);
	printf("\"min_pfn\":%llu,\"max_pfn\":%llu,\"highmem_start_pfn\":%llu,"
	       "\"lowmem_bytes\":%llu,\"highmem_bytes\":%llu,",
	       (unsigned long long)l->min_pfn, (unsigned long long)l->max_pfn,
	       (unsigned long long)l->max_low_pfn,
	       (unsigned long long)l->lowmem_bytes,
	       (unsigned long long)l->highmem_bytes);
	hex("page_offset", l->page_offset, 1);
	hex("high_memory", l->high_memory, 1);
	hex("vmalloc_start", l->vmalloc_start, 1);
	hex("vmalloc_end", l->vmalloc_end, 1);
	hex("pkmap_base", l->pkmap_base, 1);
	hex("pkmap_end", l->pkmap_end, 1);
	hex("fixmap_start", l->fixaddr_start, 1);
	hex("fixmap_end", l->fixmap_end, 1);
	hex("fixmap_tot_start", l->fixaddr_tot_start, 1);
	hex("cpu_entry_area_start", l->cpu_entry_area_start, 1);
	hex("cpu_entry_area_end", l->cpu_entry_area_end, 1);
	hex("ldt_start", l->ldt_start, 1);
	hex("ldt_end", l->ldt_end, 1);
	hex("kmap_local_start", l->kmap_local_start, 1);
	hex("kmap_local_end", l->kmap_local_end, 1);
	printf("\"fix_kmap_begin\":%u,\"kmap_high_get\":%s,"
	       "\"lowmem_limit\":%llu,\"mem_limit\":%llu,\"last_pkmap\":%u,"
	       "\"colors\":%u,\"nr_cpus\":%u,\"pa_hash_size\":%u,"
	       "\"struct_page_size\":%u,\"mem_map_bytes\":%llu,\"pte_size\":%u,"
	       "\"pkmap_pgtable_bytes\":%llu,\"zones_pgshift\":%u,"
	       "\"zones_width\":%u,",
	       l->fix_kmap_begin, l->kmap_high_get ? "true" : "false",
	       (unsigned long long)l->lowmem_limit,
	       (unsigned long long)l->mem_limit, l->last_pkmap, l->colors,
	       l->nr_cpus, l->pa_hash_size, l->struct_page_size,
	       (unsigned long long)l->mem_map_bytes, l->pte_size,
	       (unsigned long long)l->pkmap_pgtable_bytes, l->zones_pgshift,
	       l->zones_width);
	printf("\"memory_model\":\"%s\",\"section_size_bits\":%u,"
	       "\"max_physmem_bits\":%u,\"sections_width\":%u,"
	       "\"sections_pgshift\":%u,\"nodes_width\":%u,\"nodes_pgshift\":%u,"
	       "\"nr_mem_sections\":%llu,\"present_sections\":%llu,"
	       "\"mem_section_bytes\":%llu,\"zones\":[",
	       l->memory_model, l->section_size_bits, l->max_physmem_bits,
	       l->sections_width, l->sections_pgshift, l->nodes_width,
	       l->nodes_pgshift, (unsigned long long)l->nr_mem_sections,
	       (unsigned long long)l->present_sections,
	       (unsigned long long)l->mem_section_bytes);
	for (unsigned i = 0; i < l->nr_zones; i++) {
		const struct km_zone_info *z = &l->zones[i];
		printf("%s{\"name\":\"%s\",\"zone_idx\":%u,\"start_pfn\":%llu,"
		       "\"end_pfn\":%llu,\"highmem\":%s}",
		       i ? "," : "", z->name, z->zone_idx,
		       (unsigned long long)z->start_pfn,
		       (unsigned long long)z->end_pfn, z->highmem ? "true" : "false");
	}
	printf("]");
	/* only with holes, so a machine without reads as before */
	if (l->nr_holes) {
		printf(",\"holes\":[");
		for (unsigned i = 0; i < l->nr_holes; i++)
			printf("%s[%llu,%llu]", i ? "," : "",
			       (unsigned long long)l->holes[i].start_pfn,
			       (unsigned long long)l->holes[i].end_pfn);
		printf("],\"ram_pages\":%llu", (unsigned long long)l->ram_pages);
	}
	printf("}}\n");
}

int cmd_layout(int argc, char **argv)
{
	struct km_config cfg;
	int json = 0;
	const char *svg = NULL;
	uint64_t v;
	km_config_init(&cfg);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			layout_help(stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			json = 1;
			continue;
		}
		bool known = !strcmp(a, "--svg") || !strcmp(a, "--machine") ||
		             !strcmp(a, "--mem") || !strcmp(a, "--last-pkmap") ||
		             !strcmp(a, "--colors") || !strcmp(a, "--model") ||
		             !strcmp(a, "--holes");
		if (!known)
			return cli_usage_error("layout", usage, "%s '%s'", a[0] == '-' ?
			                       "unknown option" : "unexpected argument",
			                       a);
		const char *val = cli_value(argc, argv, &i);
		if (!val)
			return cli_usage_error("layout", usage, "%s needs a value", a);
		if (!strcmp(a, "--svg")) {
			svg = val;
		} else if (!strcmp(a, "--holes")) {
			uint64_t hs[KM_MAX_HOLES], he[KM_MAX_HOLES];
			if (fmt_parse_ranges(val, strlen(val), hs, he, KM_MAX_HOLES,
			                     &cfg.nr_holes))
				return cli_usage_error("layout", usage,
				                       "--holes %s: not pfn ranges "
				                       "(START-END[,START-END...], at "
				                       "most %u)", val, KM_MAX_HOLES);
			for (unsigned h = 0; h < cfg.nr_holes; h++)
				cfg.holes[h] = (struct km_hole){ hs[h], he[h] };
		} else if (!strcmp(a, "--model")) {
			if (!strcmp(val, "flatmem"))
				cfg.memory_model = KM_FLATMEM;
			else if (!strcmp(val, "sparsemem"))
				cfg.memory_model = KM_SPARSEMEM;
			else
				return cli_usage_error("layout", usage,
				                       "--model %s: not a memory model "
				                       "(flatmem or sparsemem)", val);
		} else if (!strcmp(a, "--machine")) {
			cfg.profile = val;
		} else if (!strcmp(a, "--mem")) {
			if (fmt_parse_size(val, &v))
				return cli_usage_error("layout", usage,
				                       "--mem %s: not a size (a number, "
				                       "maybe with K, M or G)", val);
			cfg.mem_bytes = v;
			if (!v)
				return cli_usage_error("layout", usage,
				                       "--mem must not be 0");
		} else {
			if (fmt_parse_u64(val, &v) || v > UINT_MAX || !v)
				return cli_usage_error("layout", usage,
				                       "%s %s: not a number from 1 to %u",
				                       a, val, UINT_MAX);
			if (a[2] == 'l')
				cfg.last_pkmap = (unsigned)v;
			else
				cfg.colors = (unsigned)v;
		}
	}
	char msg[160];
	if (km_profile_limits(cfg.profile, NULL, NULL)) {
		cli_list(msg, sizeof(msg), km_profile_name);
		return cli_usage_error("layout", usage,
		                       "unknown profile '%s' (one of: %s)",
		                       cfg.profile, msg);
	}
	/* the library's rules, one place for them */
	if (km_config_check(&cfg, msg, sizeof(msg)))
		return cli_usage_error("layout", usage, "%s", msg);
	km_machine *m;
	int r = km_machine_create(&cfg, &m);
	if (r) {
		fprintf(stderr, "kmap layout: cannot build the machine: %s\n",
		        km_strerror(r));
		return CLI_EXIT_SYSTEM;
	}
	/* the picture's file first: a bad path changes nothing */
	FILE *f = svg ? pic_create("kmap layout", svg) : NULL;
	if (svg && !f) {
		km_machine_destroy(m);
		return CLI_EXIT_USAGE;
	}
	struct km_layout l;
	km_machine_layout(m, &l);
	if (json)
		print_json(&l);
	else
		print_text(&l);
	int rc = f && layout_svg_write(f, svg, &l) ? CLI_EXIT_SYSTEM : 0;
	km_machine_destroy(m);
	return rc;
}
