/* hello.c - the README's example: map a highmem page, write, read back. */
#include <kmap.h>
#include <stdio.h>

int main(void)
{
	struct km_config cfg;
	km_machine *m;
	km_page *page;
	void *va;
	char buf[16];

	km_config_init(&cfg);              /* x86-32: 3G/1G, 1024-slot window */
	cfg.mem_bytes = 2ull << 30;        /* 2 GiB: 1160 MiB of it highmem */
	if (km_machine_create(&cfg, &m))
		return 1;
	km_alloc_page(m, KM_GFP_HIGHUSER, &page);   /* a highmem page */
	km_kmap(m, page, &va);                      /* enters the window */
	km_write(m, va, "hello, highmem", 15);      /* through the page table */
	km_kunmap(m, page);                         /* count 2 -> 1: still mapped */
	km_memcpy_from_page(m, buf, page, 0, 15);   /* via a kmap_local slot */
	printf("pfn %llu at %p: %s\n",
	       (unsigned long long)km_page_to_pfn(m, page), va, buf);
	km_machine_destroy(m);
	return 0;
}
