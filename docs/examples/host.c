/* docs/examples/host.c: real memory through a small window, with plain pointers */
#include <kmap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	struct km_config cfg;
	km_machine *m;
	struct km_layout l;
	int r;

	km_config_init(&cfg);
	cfg.backend = KM_BACKEND_HOST;     /* a memfd, real pointers */
	cfg.profile = "x86-32-pae";
	cfg.mem_bytes = 64ull << 20;       /* 64 MiB of memory ... */
	cfg.lowmem_bytes = 4ull << 20;     /* ... 4 MiB of it mapped once */
	cfg.last_pkmap = 16;               /* ... the rest through 16 slots */
	if ((r = km_machine_create(&cfg, &m))) {
		fprintf(stderr, "host: %s\n", km_strerror(r));
		return 1;
	}
	km_machine_layout(m, &l);
	printf("%llu pages, highmem from pfn %llu, a window of %u slots\n",
	       (unsigned long long)l.max_pfn, (unsigned long long)l.max_low_pfn,
	       l.last_pkmap);

	/* write every highmem page through kmap ... */
	for (uint64_t pfn = l.max_low_pfn; pfn < l.max_pfn; pfn++) {
		km_page *page = km_pfn_to_page(m, pfn);
		uint64_t *p;
		if ((r = km_kmap(m, page, (void **)&p)))
			return 1;
		for (unsigned i = 0; i < l.page_size / 8; i++)
			p[i] = pfn * 1000 + i;     /* a plain store */
		km_kunmap(m, page);
	}
	/* ... and read it back with a copy helper: in order, a scan */
	uint64_t bad = 0, page[4096 / 8];
	for (uint64_t pfn = l.max_low_pfn; pfn < l.max_pfn; pfn++) {
		km_page_read(m, km_pfn_to_page(m, pfn), 0, page, l.page_size, NULL);
		for (unsigned i = 0; i < l.page_size / 8; i++)
			bad += page[i] != pfn * 1000 + i;
	}
	struct km_stats s;
	km_stats_get(m, &s);
	printf("%llu highmem pages written and checked, %llu wrong\n",
	       (unsigned long long)(l.max_pfn - l.max_low_pfn),
	       (unsigned long long)bad);
	printf("kmap: %llu new mappings, %llu flushes\n",
	       (unsigned long long)s.new_maps, (unsigned long long)s.flushes);
	/* a scan's pages come by runs mapped ahead or page by page, whichever
	 * this machine does faster: their sum is what does not change */
	printf("read back: %llu from the window, %llu from the memory\n",
	       (unsigned long long)s.copy_window,
	       (unsigned long long)(s.copy_stream + s.copy_memory + s.admissions));
	km_machine_destroy(m);
	return bad != 0;
}
