/*
 * cmd_demo.c - `kmap demo`: a process works on more memory than it can
 * address. Real memory (a memfd) larger than the address space is reached
 * the way a program should scan it: every highmem page gets a distinct
 * pattern written with km_page_write, then is read back with km_page_read
 * and checked (runs of pages mapped ahead, or page by page, whichever the
 * machine does faster). Then the same again with pwrite and pread on the
 * same memory, in the same run, for the figure to beat.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include "cli.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"kmap demo [--mem SIZE] [--sim] [--machine PROFILE] [--json]";

static void demo_help(FILE *f)
{
	fprintf(f,
	    "usage: %s\n\n"
	    "Open real memory larger than this process can address (a memfd), write\n"
	    "a distinct pattern into every highmem page with km_page_write, then\n"
	    "read every page back with km_page_read and check it: a scan, read\n"
	    "ahead 32 pages a system call (KM_READAHEAD); the writes go by runs of\n"
	    "pages mapped with one system call or page by page, whichever is\n"
	    "faster here. Then the same with pwrite and pread on the same memory.\n"
	    "Prints the figures at the end: memory, pages, GB/s each way and\n"
	    "each direction, how the copies went.\n\n"
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

static void progress(bool tty, const char *what, uint64_t done,
                     uint64_t total)
{
	if (!tty)
		return;
	int pct = total ? (int)(done * 100 / total) : 100;
	char bar[41];
	int n = pct * 40 / 100;
	memset(bar, '#', (size_t)n);
	memset(bar + n, '.', (size_t)(40 - n));
	bar[40] = 0;
	fprintf(stderr, "\r%-22s [%s] %3d%%", what, bar, pct);
	fflush(stderr);
}

static inline uint64_t pattern(uint64_t pfn, unsigned i, unsigned gen)
{
	return pfn * 0x9E3779B97F4A7C15ull + i + ((uint64_t)gen << 56);
}

static void fill(uint64_t *w, unsigned words, uint64_t pfn, unsigned gen)
{
	for (unsigned k = 0; k < words; k++)
		w[k] = pattern(pfn, k, gen);
}

static uint64_t wrong(const uint64_t *w, unsigned words, uint64_t pfn,
                      unsigned gen)
{
	uint64_t n = 0;
	for (unsigned k = 0; k < words; k++)
		n += w[k] != pattern(pfn, k, gen);
	return n;
}

/* One pass over the highmem pages: written with @gen's pattern, or read
 * back and checked. With @fd, by pwrite/pread of it; else through kmap's
 * copy helpers. Returns 0 or -errno; *bad counts the wrong words. */
static int pass(km_machine *m, const struct km_layout *l, int fd, bool rd,
                unsigned gen, uint64_t *buf, uint64_t *bad, bool tty,
                const char *what)
{
	uint64_t pages = l->max_pfn - l->max_low_pfn, step = pages / 200 + 1;
	unsigned words = l->page_size / 8;
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t pfn = l->max_low_pfn + i;
		/* the memory's file starts at RAM's first page */
		off_t off = (off_t)((pfn - l->min_pfn) * l->page_size);
		int r = 0;
		if (!rd)
			fill(buf, words, pfn, gen);
		if (fd < 0 && rd)
			r = km_page_read(m, km_pfn_to_page(m, pfn), 0, buf,
			                 l->page_size, NULL);
		else if (fd < 0)
			r = km_page_write(m, km_pfn_to_page(m, pfn), 0, buf,
			                  l->page_size, NULL);
		else if ((rd ? pread(fd, buf, l->page_size, off) :
		               pwrite(fd, buf, l->page_size, off)) !=
		         (ssize_t)l->page_size)
			r = -EIO;
		if (r)
			return r;
		if (rd)
			*bad += wrong(buf, words, pfn, gen);
		if (i % step == 0)
			progress(tty, what, i, pages);
	}
	progress(tty, what, pages, pages);
	if (tty)
		fputc('\n', stderr);
	return 0;
}

/* Write zeros over the first @bytes of @fd, 1 MiB a call; a failure
 * leaves the rest to the first timed pass, as before. */
static void touch_all(int fd, uint64_t bytes)
{
	static char zero[1 << 20];
	for (uint64_t off = 0; off < bytes;) {
		size_t n = bytes - off < sizeof(zero) ? (size_t)(bytes - off) :
		           sizeof(zero);
		ssize_t w = pwrite(fd, zero, n, (off_t)off);
		if (w <= 0)
			return;
		off += (uint64_t)w;
	}
}

int cmd_demo(int argc, char **argv)
{
	struct km_config cfg;
	bool json = false;
	km_config_init(&cfg);
	cfg.profile = "x86-32-pae";
	cfg.backend = KM_BACKEND_HOST;
	/* every page in order; the memory is written only through kmap while
	 * kmap reads it (the pwrite pass comes after), as KM_READAHEAD asks */
	cfg.flags = KM_SEQUENTIAL | KM_READAHEAD;
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
	bool host = cfg.backend == KM_BACKEND_HOST;
	/*
	 * Real memory: our own memfd, given to kmap by its /proc name, so
	 * that pread and pwrite reach the very same memory afterwards.
	 */
	int fd = -1;
	char path[64];
	if (host) {
		fd = memfd_create("kmap-demo", MFD_CLOEXEC);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (fd >= 0 && access(path, R_OK) == 0) {
			cfg.mem_path = path;
			/* the memory allocated and written once before either
			 * is timed: the first pass (kmap's) would pay for it
			 * otherwise, fallocate or not (a first write to a
			 * fallocated page costs as much again as a pwrite) */
			if (ftruncate(fd, (off_t)cfg.mem_bytes) == 0)
				touch_all(fd, cfg.mem_bytes);
		} else if (fd >= 0) {
			close(fd); /* no /proc: kmap's own memfd, no pread figure */
			fd = -1;
		}
	}
	km_machine *m;
	int r = km_machine_create(&cfg, &m);
	if (r) {
		fprintf(stderr, "kmap demo: cannot open %llu MiB of %s memory: %s\n",
		        (unsigned long long)(cfg.mem_bytes >> 20),
		        host ? "real" : "simulated", km_strerror(r));
		if (fd >= 0)
			close(fd);
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
	uint64_t pages = l.max_pfn - l.max_low_pfn, mismatches = 0,
	         pmismatches = 0;
	uint64_t *buf = malloc(l.page_size);
	/* seconds of each pass: [0] kmap, [1] pwrite and pread; [.][0]
	 * writing, [.][1] reading back and checking */
	double t[2][2] = { { 0, 0 }, { 0, 0 } }, t0;
	if (!buf)
		r = -ENOMEM;
	t0 = now();
	if (!r)
		r = pass(m, &l, -1, false, 1, buf, &mismatches, tty, "kmap: write");
	t[0][0] = now() - t0;
	t0 = now();
	if (!r)
		r = pass(m, &l, -1, true, 1, buf, &mismatches, tty,
		         "kmap: read + check");
	t[0][1] = now() - t0;
	struct km_stats st;
	km_stats_get(m, &st);
	if (!r && fd >= 0) {
		/* the same memory, the same work, with pwrite and pread */
		t0 = now();
		r = pass(m, &l, fd, false, 2, buf, &pmismatches, tty, "pwrite");
		t[1][0] = now() - t0;
		t0 = now();
		if (!r)
			r = pass(m, &l, fd, true, 2, buf, &pmismatches, tty,
			         "pread + check");
		t[1][1] = now() - t0;
	}
	double secs = t[0][0] + t[0][1], psecs = t[1][0] + t[1][1];
	free(buf);
	km_machine_destroy(m);
	if (fd >= 0)
		close(fd);
	if (r) {
		fprintf(stderr, "kmap demo: %s\n", km_strerror(r));
		return 1;
	}
	double bytes = 2.0 * (double)(pages * l.page_size);
	double gbs = secs > 0 ? bytes / secs / 1e9 : 0;
	double pgbs = psecs > 0 ? bytes / psecs / 1e9 : 0;
	double dir[2][2]; /* GB/s of each pass, as t */
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			dir[i][j] = t[i][j] > 0 ? bytes / 2 / t[i][j] / 1e9 : 0;
	if (json) {
		printf("{\"demo\":{\"address_bits\":%u,\"backend\":\"%s\","
		       "\"memory_bytes\":%llu,\"lowmem_bytes\":%llu,"
		       "\"highmem_pages\":%llu,\"pages_verified\":%llu,"
		       "\"mismatches\":%llu,\"seconds\":%.3f,\"gb_per_s\":%.3f,"
		       "\"pread_seconds\":%.3f,\"pread_gb_per_s\":%.3f,"
		       "\"pread_mismatches\":%llu,"
		       "\"write_gb_per_s\":%.3f,\"read_gb_per_s\":%.3f,"
		       "\"pwrite_gb_per_s\":%.3f,\"pread_read_gb_per_s\":%.3f,"
		       "\"window_slots\":%u,\"copy_window\":%llu,"
		       "\"copy_memory\":%llu,\"copy_stream\":%llu,"
		       "\"stream_runs\":%llu,\"copy_ahead\":%llu,"
		       "\"ahead_reads\":%llu,\"admissions\":%llu,"
		       "\"kmaps\":%llu,\"flushes\":%llu,\"sleeps\":%llu}}\n",
		       bits, host ? "host" : "sim", (unsigned long long)l.mem_bytes,
		       (unsigned long long)l.lowmem_bytes, (unsigned long long)pages,
		       (unsigned long long)pages, (unsigned long long)mismatches,
		       secs, gbs, psecs, pgbs, (unsigned long long)pmismatches,
		       dir[0][0], dir[0][1], dir[1][0], dir[1][1],
		       l.last_pkmap, (unsigned long long)st.copy_window,
		       (unsigned long long)st.copy_memory,
		       (unsigned long long)st.copy_stream,
		       (unsigned long long)st.stream_runs,
		       (unsigned long long)st.copy_ahead,
		       (unsigned long long)st.ahead_reads,
		       (unsigned long long)st.admissions,
		       (unsigned long long)st.kmaps, (unsigned long long)st.flushes,
		       (unsigned long long)st.sleeps);
	} else {
		printf("\nmemory      %llu MiB (%llu highmem pages)\n"
		       "verified    %llu pages, %llu mismatches\n"
		       "kmap        %.2f s, %.2f GB/s written and read back "
		       "(write %.2f, read %.2f)\n",
		       (unsigned long long)(l.mem_bytes >> 20),
		       (unsigned long long)pages, (unsigned long long)pages,
		       (unsigned long long)mismatches, secs, gbs, dir[0][0],
		       dir[0][1]);
		if (fd >= 0)
			printf("pread       %.2f s, %.2f GB/s the same way on the same "
			       "memory (write %.2f, read %.2f)\n"
			       "            kmap/pread: %.2fx (write %.2fx, read "
			       "%.2fx)\n", psecs, pgbs, dir[1][0], dir[1][1],
			       pgbs > 0 ? gbs / pgbs : 0,
			       dir[1][0] > 0 ? dir[0][0] / dir[1][0] : 0,
			       dir[1][1] > 0 ? dir[0][1] / dir[1][1] : 0);
		printf("copies      %llu read ahead by %llu calls, %llu by %llu "
		       "runs mapped\n            ahead, %llu page by page, %llu "
		       "from the window, %llu admitted\n",
		       (unsigned long long)st.copy_ahead,
		       (unsigned long long)st.ahead_reads,
		       (unsigned long long)st.copy_stream,
		       (unsigned long long)st.stream_runs,
		       (unsigned long long)st.copy_memory,
		       (unsigned long long)st.copy_window,
		       (unsigned long long)st.admissions);
	}
	/* every highmem page was read back (a failed copy stops the pass and
	 * returns above): a mismatch is a finding */
	return mismatches || pmismatches ? CLI_EXIT_FOUND : 0;
}
