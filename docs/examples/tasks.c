/* docs/examples/tasks.c: a full window, a task that sleeps, a kunmap that wakes it */
#include <kmap.h>
#include <stdio.h>

int main(void)
{
	struct km_config cfg;
	km_machine *m;
	km_task *a, *b;
	void *va;

	km_config_init(&cfg);
	cfg.mem_bytes = 1ull << 30;
	cfg.last_pkmap = 2;                /* two slots */
	if (km_machine_create(&cfg, &m) || km_task_create(m, &a) ||
	    km_task_create(m, &b))
		return 1;

	km_task_switch(m, a);              /* task a runs on this thread */
	km_kmap(m, km_pfn_to_page(m, 230000), &va);
	km_kmap(m, km_pfn_to_page(m, 230001), &va);
	printf("a holds both slots\n");

	km_task_switch(m, b);
	int r = km_kmap(m, km_pfn_to_page(m, 230002), &va);
	printf("b: kmap: %s (state %d: sleeping)\n", km_strerror(r),
	       km_task_state(m, b));

	km_task_switch(m, a);
	km_kunmap(m, km_pfn_to_page(m, 230000));   /* count 1: wakes b */
	km_task *w;
	while ((w = km_task_next_woken(m))) {
		km_task_switch(m, w);      /* the woken task retries its kmap */
		r = km_kmap(m, km_pfn_to_page(m, 230002), &va);
		printf("%s retried: %s, at %p\n", w == b ? "b" : "?",
		       km_strerror(r), va);
		km_kunmap(m, km_pfn_to_page(m, 230002));
	}
	km_task_switch(m, a);
	km_kunmap(m, km_pfn_to_page(m, 230001));

	struct km_stats s;
	km_stats_get(m, &s);
	printf("sleeps %llu, wake-ups %llu, flushes %llu\n",
	       (unsigned long long)s.sleeps, (unsigned long long)s.wakeups,
	       (unsigned long long)s.flushes);
	km_task_switch(m, NULL);
	km_task_destroy(m, a);
	km_task_destroy(m, b);
	km_machine_destroy(m);
	return 0;
}
