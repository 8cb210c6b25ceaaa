/*
 * cmd_demo.c - `kmap demo`: a process works on more memory than it can
 * address. Real memory (a memfd) larger than the address space is reached
 * through the kmap window: every highmem page gets a distinct pattern
 * written through kmap, then is read back through kmap and checked.
 */
#include "cli.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"kmap demo [--mem SIZE] [--sim] [--machine PROFILE] [--json]";

static void demo_help(FILE *f)
{
	fprintf(f,
	    "usage: %s\n\n"
	    "Open real memory larger than this process can address (a memfd), write\n"
	    "a distinct pattern into every highmem page through kmap, kunmap it,\n"
	    "then read every page back through kmap and check it. Prints the\n"
	    "figures at the end: memory, pages, GB/s, hits, new mappings, flushes,\n"
	    "sleeps.\n\n"
	    "  --mem SIZE       memory to use (K, M, G suffixes), within the\n"
	    "                   profile's limit and more than its lowmem (64 MiB\n"
	    "                   on real memory); default: sized to what the\n"
	    "                   machine can spare, 5G when it can\n"
	    "  --sim            the simulated machine instead of real memory\n"
	    "  --machine NAME   profile (default x86-32-pae: up to 64 GiB)\n"
	    "  --json           the figures as one JSON object, the last line\n\n"
	    "Exit status: 0 when every highmem page was written and read back\n"
	    "intact; 1 when a page came back wrong or an operation failed; 2 when\n"
	    "the command line is wrong (nothing runs); 3 when the memory cannot\n"
	    "be had.\n", usage);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* MemAvailable from /proc/meminfo, in bytes; 0 when unknown. */
static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	unsigned long long kb = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

/* 5 GiB where the machine can spare it, else half of what is free. */
static uint64_t default_mem(void)
{
	uint64_t avail = mem_available();
	const uint64_t G = 1ull << 30;
	if (!avail || avail >= 8 * G)
		return 5 * G;
	uint64_t m = (avail / 2) & ~(G / 4 - 1);
	return m > G / 4 ? m : G / 4;
}

static void progress(bool tty, int pass, uint64_t done, uint64_t total)
{
	if (!tty)
		return;
	int pct = total ? (int)(done * 100 / total) : 100;
	char bar[41];
	int n = pct * 40 / 100;
	memset(bar, '#', (size_t)n);
	memset(bar + n, '.', (size_t)(40 - n));
	bar[40] = 0;
	fprintf(stderr, "\r%s [%s] %3d%%", pass ? "read + check" : "write       ",
	        bar, pct);
	fflush(stderr);
}

static inline uint64_t pattern(uint64_t pfn, unsigned i)
{
	return pfn * 0x9E3779B97F4A7C15ull + i;
}

int cmd_demo(int argc, char **argv)
{
	struct km_config cfg;
	bool json = false;
	km_config_init(&cfg);
	cfg.profile = "x86-32-pae";
	cfg.backend = KM_BACKEND_HOST;
	cfg.flags = KM_SEQUENTIAL; /* every page in order */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			demo_help(stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--sim")) {
			cfg.backend = KM_BACKEND_SIM;
		} else if (!strcmp(a, "--machine") || !strcmp(a, "--mem")) {
			if (!(val = cli_value(argc, argv, &i)))
				return cli_usage_error("demo", usage, "%s needs a value",
				                       a);
			if (a[3] == 'a')
				cfg.profile = val;
			else if (fmt_parse_size(val, &cfg.mem_bytes) || !cfg.mem_bytes)
				return cli_usage_error("demo", usage,
				                       "--mem %s: not a size (a number "
				                       "above 0, maybe with K, M or G)",
				                       val);
		} else {
			return cli_usage_error("demo", usage, "%s '%s'", a[0] == '-' ?
			                       "unknown option" : "unexpected argument",
			                       a);
		}
	}
	char msg[160];
	uint64_t max_mem;
	if (km_profile_limits(cfg.profile, &max_mem, NULL)) {
		cli_list(msg, sizeof(msg), km_profile_name);
		return cli_usage_error("demo", usage,
		                       "unknown profile '%s' (one of: %s)",
		                       cfg.profile, msg);
	}
	if (!cfg.mem_bytes) {
		cfg.mem_bytes = cfg.backend == KM_BACKEND_HOST ? default_mem() :
		                1ull << 30;
		if (cfg.mem_bytes > max_mem)
			cfg.mem_bytes = max_mem;
	}
	/* the library's rules, one place for them */
	if (km_config_check(&cfg, msg, sizeof(msg)))
		return cli_usage_error("demo", usage, "%s", msg);
	km_machine *m;
	int r = km_machine_create(&cfg, &m);
	if (r) {
		fprintf(stderr, "kmap demo: cannot open %llu MiB of %s memory: %s\n",
		        (unsigned long long)(cfg.mem_bytes >> 20),
		        cfg.backend == KM_BACKEND_HOST ? "real" : "simulated",
		        km_strerror(r));
		return CLI_EXIT_SYSTEM;
	}
	struct km_layout l;
	km_machine_layout(m, &l);
	if (l.max_pfn == l.max_low_pfn) {
		/* lowmem: kmap.h's default of the host backend, or the split */
		uint64_t low = cfg.backend == KM_BACKEND_HOST ? 64ull << 20 :
		               l.lowmem_limit;
		km_machine_destroy(m);
		return cli_usage_error("demo", usage,
		                       "all %llu MiB would be lowmem, mapped once, "
		                       "and nothing would go through kmap: give "
		                       "--mem more than %llu MiB",
		                       (unsigned long long)(l.mem_bytes >> 20),
		                       (unsigned long long)(low >> 20));
	}
	unsigned bits = (unsigned)sizeof(void *) * 8;
	bool host = cfg.backend == KM_BACKEND_HOST;
	bool tty = !json && isatty(2);
	if (!json) {
		printf("kmap demo: %s%llu MiB of memory in a %u-bit process",
		       host ? "" : "simulated: ",
		       (unsigned long long)(l.mem_bytes >> 20), bits);
		if (host && bits == 32 && l.mem_bytes >= (4ull << 30))
			printf(", more than its whole 4 GiB address space");
		printf(".\n%llu MiB of it is mapped once (lowmem); the other %llu "
		       "MiB (highmem)\nis reached only through a window of %u slots "
		       "(%u KiB).\n",
		       (unsigned long long)(l.lowmem_bytes >> 20),
		       (unsigned long long)(l.highmem_bytes >> 20), l.last_pkmap,
		       l.last_pkmap * l.page_size / 1024);
	}
	uint64_t pages = l.max_pfn - l.max_low_pfn, verified = 0, mismatches = 0;
	uint64_t words = l.page_size / 8, step = pages / 200 + 1;
	uint64_t *buf = host ? NULL : malloc(l.page_size);
	double t0 = now();
	for (int pass = 0; pass < 2 && !r; pass++) {
		for (uint64_t i = 0; i < pages; i++) {
			uint64_t pfn = l.max_low_pfn + i;
			km_page *page = km_pfn_to_page(m, pfn);
			void *va;
			if ((r = km_kmap(m, page, &va)))
				break;
			uint64_t *w = host ? va : buf;
			if (!host && pass)
				r = km_read(m, va, buf, l.page_size);
			for (unsigned k = 0; k < words; k++) {
				if (pass == 0)
					w[k] = pattern(pfn, k);
				else
					mismatches += w[k] != pattern(pfn, k);
			}
			if (!host && !pass)
				r = km_write(m, va, buf, l.page_size);
			verified += pass;
			int u = km_kunmap(m, page);
			if (r || (r = u))
				break;
			if (i % step == 0)
				progress(tty, pass, i, pages);
		}
		progress(tty, pass, pages, pages);
		if (tty)
			fputc('\n', stderr);
	}
	double secs = now() - t0;
	free(buf);
	struct km_stats st;
	km_stats_get(m, &st);
	km_machine_destroy(m);
	if (r) {
		fprintf(stderr, "kmap demo: %s\n", km_strerror(r));
		return 1;
	}
	double gbs = secs > 0 ? 2.0 * (double)(pages * l.page_size) / secs / 1e9 : 0;
	if (json) {
		printf("{\"demo\":{\"address_bits\":%u,\"backend\":\"%s\","
		       "\"memory_bytes\":%llu,\"lowmem_bytes\":%llu,"
		       "\"highmem_pages\":%llu,\"pages_verified\":%llu,"
		       "\"mismatches\":%llu,\"seconds\":%.3f,\"gb_per_s\":%.3f,"
		       "\"window_slots\":%u,\"kmaps\":%llu,\"hits\":%llu,"
		       "\"new\":%llu,\"flushes\":%llu,\"slots_cleared\":%llu,"
		       "\"tlb_flushes\":%llu,"
		       "\"sleeps\":%llu}}\n",
		       bits, host ? "host" : "sim", (unsigned long long)l.mem_bytes,
		       (unsigned long long)l.lowmem_bytes, (unsigned long long)pages,
		       (unsigned long long)verified, (unsigned long long)mismatches,
		       secs, gbs, l.last_pkmap, (unsigned long long)st.kmaps,
		       (unsigned long long)st.hits, (unsigned long long)st.new_maps,
		       (unsigned long long)st.flushes,
		       (unsigned long long)st.slots_cleared,
		       (unsigned long long)st.tlb_flushes,
		       (unsigned long long)st.sleeps);
	} else {
		printf("\nmemory      %llu MiB (%llu highmem pages)\n"
		       "verified    %llu pages, %llu mismatches\n"
		       "time        %.2f s, %.2f GB/s written and read back\n"
		       "kmaps       %llu: %llu hits, %llu new mappings\n"
		       "flushes     %llu: %llu slots cleared, %llu TLB flushes\n"
		       "sleeps      %llu\n",
		       (unsigned long long)(l.mem_bytes >> 20),
		       (unsigned long long)pages, (unsigned long long)verified,
		       (unsigned long long)mismatches, secs, gbs,
		       (unsigned long long)st.kmaps, (unsigned long long)st.hits,
		       (unsigned long long)st.new_maps,
		       (unsigned long long)st.flushes,
		       (unsigned long long)st.slots_cleared,
		       (unsigned long long)st.tlb_flushes,
		       (unsigned long long)st.sleeps);
	}
	/* every highmem page, or it did not show what it says */
	return mismatches || verified != pages ? CLI_EXIT_FOUND : 0;
}
