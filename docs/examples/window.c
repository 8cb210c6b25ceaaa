/* docs/examples/window.c: the pkmap window of a simulated machine, slot by slot */
#include <kmap.h>
#include <stdio.h>

static void on_event(void *arg, const struct km_event *ev)
{
	(void)arg;
	if (ev->type == KM_EV_FLUSH)
		printf("  (flush_all_zero_pkmaps cleared %u slots)\n",
		       ev->nr_cleared);
}

static void show(km_machine *m)
{
	printf("  pkmap_count:");
	for (unsigned nr = 0; nr < 4; nr++) {
		struct km_slot s;
		km_pkmap_slot(m, nr, &s);
		printf(" %d", s.count);
	}
	printf("\n");
}

static void map(km_machine *m, const char *name, km_page *page)
{
	void *va;
	enum km_how how;
	km_kmap_ex(m, page, 0, 0, &va, &how);
	printf("kmap %s: %s at %p\n", name, how == KM_HOW_NEW ? "new" : "hit", va);
}

int main(void)
{
	struct km_config cfg;
	km_machine *m;
	char buf[5];

	km_config_init(&cfg);              /* x86-32, policy linux, simulated */
	cfg.mem_bytes = 1ull << 30;        /* 1 GiB: highmem from pfn 228350 */
	cfg.last_pkmap = 4;                /* a window of 4 slots */
	if (km_machine_create(&cfg, &m))
		return 1;
	km_set_event_hook(m, on_event, NULL);
	km_page *a = km_pfn_to_page(m, 230000), *b = km_pfn_to_page(m, 230001),
	        *c = km_pfn_to_page(m, 230002), *d = km_pfn_to_page(m, 230003);

	map(m, "a", a);                    /* the cursor moves to slot 1 first */
	km_write(m, km_page_address(m, a), "kmap", 5);
	km_kunmap(m, a);                   /* count 2 -> 1: free, still mapped */
	show(m);
	map(m, "a", a);                    /* still in the hash: a hit */
	km_kunmap(m, a);
	map(m, "b", b);                    /* slot 2 */
	map(m, "c", c);                    /* slot 3 */
	km_kunmap(m, b);
	km_kunmap(m, c);
	show(m);
	map(m, "d", d);                    /* the cursor wraps to 0: flush */
	show(m);
	printf("page_address(a) is %s\n", km_page_address(m, a) ? "set" : "NULL");
	map(m, "a", a);                    /* a new mapping; the bytes stayed */
	km_read(m, km_page_address(m, a), buf, 5);
	printf("a holds \"%s\"\n", buf);
	km_kunmap(m, a);
	km_kunmap(m, d);
	km_machine_destroy(m);
	return 0;
}
