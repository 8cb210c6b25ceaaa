/*
 * cmd_demo.c - `kmap demo`: the mechanism at work on a simulated machine.
 * Every highmem page of the machine gets a pattern written through kmap,
 * then is read back through kmap and checked.
 */
#include "cli.h"

#include <string.h>
#include <time.h>

static void demo_help(FILE *f)
{
	fprintf(f,
	    "usage: kmap demo [--machine PROFILE] [--mem SIZE] [--json]\n\n"
	    "Write a distinct pattern into every highmem page of a simulated\n"
	    "machine through kmap, read each back through kmap and check it, then\n"
	    "print what the window did: hits, new mappings, flushes, TLB flushes.\n"
	    "Default: x86-32 with 1 GiB of memory, 137 MiB of it highmem.\n");
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cmd_demo(int argc, char **argv)
{
	struct km_config cfg;
	int json = 0;
	km_config_init(&cfg);
	cfg.mem_bytes = 1ull << 30;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			demo_help(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--machine") && i + 1 < argc) {
			cfg.profile = argv[++i];
		} else if (!strcmp(argv[i], "--mem") && i + 1 < argc) {
			if (cli_parse_size(argv[++i], &cfg.mem_bytes) || !cfg.mem_bytes) {
				fprintf(stderr, "kmap demo: bad size '%s'\n", argv[i]);
				return 2;
			}
		} else {
			fprintf(stderr, "kmap demo: unknown argument '%s'\n", argv[i]);
			demo_help(stderr);
			return 2;
		}
	}
	km_machine *m;
	int r = km_machine_create(&cfg, &m);
	if (r) {
		fprintf(stderr, "kmap demo: cannot build the machine: %s\n",
		        km_strerror(r));
		return 2;
	}
	struct km_layout l;
	km_machine_layout(m, &l);
	if (!json) {
		printf("kmap demo: a simulated %s machine with %llu MiB of memory;\n"
		       "%llu MiB of it is highmem, reached only through a window of %u "
		       "slots at 0x%08llx.\n\n",
		       l.profile, (unsigned long long)(l.mem_bytes >> 20),
		       (unsigned long long)(l.highmem_bytes >> 20), l.last_pkmap,
		       (unsigned long long)l.pkmap_base);
	}
	double t0 = now();
	uint64_t pages = 0, verified = 0, mismatches = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t pfn = l.max_low_pfn; pfn < l.max_pfn; pfn++) {
			km_page *page = km_pfn_to_page(m, pfn);
			void *va;
			uint64_t word = pfn * 0x9E3779B97F4A7C15ull, got = 0;
			if ((r = km_kmap(m, page, &va)))
				break;
			if (pass == 0) {
				r = km_write(m, va, &word, sizeof(word));
				pages++;
			} else {
				r = km_read(m, va, &got, sizeof(got));
				verified++;
				mismatches += got != word;
			}
			int u = km_kunmap(m, page);
			if (r || (r = u))
				break;
		}
		if (r)
			break;
	}
	double secs = now() - t0;
	struct km_stats st;
	km_stats_get(m, &st);
	if (r) {
		fprintf(stderr, "kmap demo: %s\n", km_strerror(r));
		km_machine_destroy(m);
		return 1;
	}
	if (json) {
		printf("{\"demo\":{\"address_bits\":32,\"backend\":\"sim\","
		       "\"memory_bytes\":%llu,\"highmem_pages\":%llu,"
		       "\"pages_verified\":%llu,\"mismatches\":%llu,\"seconds\":%.3f,"
		       "\"hits\":%llu,\"new\":%llu,\"flushes\":%llu,"
		       "\"tlb_flushes\":%llu,\"sleeps\":%llu}}\n",
		       (unsigned long long)l.mem_bytes, (unsigned long long)pages,
		       (unsigned long long)verified, (unsigned long long)mismatches,
		       secs, (unsigned long long)st.hits,
		       (unsigned long long)st.new_maps,
		       (unsigned long long)st.flushes,
		       (unsigned long long)st.tlb_flushes,
		       (unsigned long long)st.sleeps);
	} else {
		printf("wrote a pattern into %llu highmem pages through kmap, read "
		       "%llu back: %llu mismatches\n",
		       (unsigned long long)pages, (unsigned long long)verified,
		       (unsigned long long)mismatches);
		printf("kmaps %llu: hits %llu, new mappings %llu; flushes %llu "
		       "(TLB flushes %llu, slots cleared %llu); sleeps %llu\n",
		       (unsigned long long)st.kmaps, (unsigned long long)st.hits,
		       (unsigned long long)st.new_maps, (unsigned long long)st.flushes,
		       (unsigned long long)st.tlb_flushes,
		       (unsigned long long)st.slots_cleared,
		       (unsigned long long)st.sleeps);
		printf("%.3f s, %.1f M kmap+kunmap a second\n", secs,
		       secs > 0 ? (double)(pages + verified) / secs / 1e6 : 0.0);
	}
	km_machine_destroy(m);
	return mismatches ? 1 : 0;
}
