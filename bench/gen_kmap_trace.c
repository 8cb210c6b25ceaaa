/*
 * gen_kmap_trace.c - write a long random trace of kmap/kunmap for timing
 * `kmap replay`:
 *
 *   gen_kmap_trace OPS [TASKS [PAGES [SEED]]] > long.trace
 *
 * TASKS tasks (default 4) each hold at most 8 pages at once, drawn from
 * PAGES highmem pages (default 4096) of an x86-32 machine with the default
 * 1024-slot window, so nobody sleeps and the run measures the mapping path:
 * hits, new mappings, wraps and flushes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define HOLD 8
#define FIRST_HIGH_PFN 227326u /* x86-32, the default window */

static uint64_t state;

static uint32_t rnd(void)
{
	/* xorshift64*: small, fast, and the same on every host */
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return (uint32_t)((state * 2685821657736338717ull) >> 32);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: gen_kmap_trace OPS [TASKS [PAGES [SEED]]]\n");
		return 2;
	}
	unsigned long long ops = strtoull(argv[1], NULL, 0);
	unsigned tasks = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 4;
	unsigned pages = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 4096;
	state = argc > 4 ? strtoull(argv[4], NULL, 0) : 88172645463325252ull;
	if (!tasks || tasks * HOLD >= 1024 || !pages || pages > 60000) {
		fprintf(stderr, "gen_kmap_trace: 1..127 tasks, 1..60000 pages\n");
		return 2;
	}
	unsigned *held = calloc((size_t)tasks * HOLD, sizeof(unsigned));
	unsigned *n = calloc(tasks, sizeof(unsigned));
	if (!held || !n)
		return 1;
	printf("machine x86-32 mem=1G\n");
	for (unsigned long long i = 0; i < ops; i++) {
		unsigned t = rnd() % tasks;
		unsigned *h = held + (size_t)t * HOLD;
		if (n[t] < HOLD && (n[t] == 0 || rnd() & 1)) {
			unsigned pfn = FIRST_HIGH_PFN + rnd() % pages;
			h[n[t]++] = pfn;
			printf("T%u kmap %u\n", t, pfn);
		} else {
			unsigned k = rnd() % n[t];
			printf("T%u kunmap %u\n", t, h[k]);
			h[k] = h[--n[t]];
		}
	}
	/* release everything so the run ends clean (exit status 0) */
	for (unsigned t = 0; t < tasks; t++)
		while (n[t])
			printf("T%u kunmap %u\n", t, held[(size_t)t * HOLD + --n[t]]);
	free(held);
	free(n);
	return 0;
}
