/*
 * test_host_6g.c - the point of kmap, shown on the host: a 32-bit process
 * (4 GiB of address space) reaches 6 GiB of real memory, one window slot
 * at a time. Every page gets a distinct pattern written through kmap and
 * is read back through kmap afterwards.
 *
 * Only meaningful in the 32-bit build (build32/, make test-m32); a 64-bit
 * build (the normal, ASan and TSan stages) skips it.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include "ktest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if UINTPTR_MAX == 0xffffffff

#define MiB (1024ull * 1024ull)
#define GiB (1024ull * MiB)
#define MEM (6 * GiB)
#define WORDS (4096u / sizeof(uint64_t))

/* a field of a /proc file in kB ("MemAvailable:", "VmPeak:"), 0 if none */
static uint64_t proc_kb(const char *file, const char *key)
{
	FILE *f = fopen(file, "r");
	char line[256];
	uint64_t v = 0;
	size_t n = strlen(key);
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n)) {
			v = strtoull(line + n, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* bytes the machine's memfd really holds (st_blocks), 0 if not found */
static uint64_t memfd_bytes(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	uint64_t bytes = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char link[300], target[256];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		struct stat st;
		if (strstr(target, "memfd:kmap-physical-memory") && !stat(link, &st))
			bytes = (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return bytes;
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static void host_6g(void **state)
{
	(void)state;
	uint64_t avail = proc_kb("/proc/meminfo", "MemAvailable:") * 1024;
	if (avail < 7 * GiB) {
		print_message("skipped: 6 GiB of host memory needs MemAvailable "
		              ">= 7 GiB, have %llu MiB\n",
		              (unsigned long long)(avail / MiB));
		skip();
		return;
	}
	kt_watchdog_start("6 GiB through the kmap window", 280, NULL, NULL);
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.profile = "x86-32-pae";
	cfg.backend = KM_BACKEND_HOST;
	cfg.policy = "linux"; /* its slots, flushes and runs are linux's */
	cfg.mem_bytes = MEM; /* memfd; lowmem: the default 64 MiB */
	km_machine *m = kt_machine_cfg(&cfg);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.mem_bytes, MEM);
	KT_EQ(l.lowmem_bytes, 64 * MiB);
	const uint64_t lo = l.max_low_pfn, n = l.max_pfn, nh = n - lo;
	/* more memory than this process has addresses: it cannot all be
	 * mapped at once (a size_t cannot even say how much it is) */
	KT_EQ(sizeof(void *), 4);
	assert_true(MEM > (uint64_t)UINTPTR_MAX);
	assert_true(MEM > (uint64_t)SIZE_MAX);

	/* every word of memory: its own index, pfn * 512 + i */
	uint64_t t0 = kt_now_ns();
	for (uint64_t pfn = 0; pfn < n; pfn++) {
		km_page *p = km_pfn_to_page(m, pfn);
		uint64_t *w;
		void *va;
		if (km_kmap(m, p, &va))
			fail_msg("kmap of pfn %llu failed", (unsigned long long)pfn);
		w = va;
		for (unsigned i = 0; i < WORDS; i++)
			w[i] = pfn * WORDS + i;
		if (km_kunmap(m, p))
			fail_msg("kunmap of pfn %llu failed", (unsigned long long)pfn);
	}
	uint64_t t1 = kt_now_ns();
	uint64_t held = memfd_bytes();

	uint64_t bad = 0, bad_pages = 0, first_bad = UINT64_MAX;
	for (uint64_t pfn = 0; pfn < n; pfn++) {
		km_page *p = km_pfn_to_page(m, pfn);
		const uint64_t *w;
		void *va;
		if (km_kmap(m, p, &va))
			fail_msg("kmap of pfn %llu failed", (unsigned long long)pfn);
		w = va;
		unsigned b = 0;
		for (unsigned i = 0; i < WORDS; i++)
			b += w[i] != pfn * WORDS + i;
		if (b) {
			bad += b;
			bad_pages++;
			if (first_bad == UINT64_MAX)
				first_bad = pfn;
		}
		if (km_kunmap(m, p))
			fail_msg("kunmap of pfn %llu failed", (unsigned long long)pfn);
	}
	uint64_t t2 = kt_now_ns();
	kt_watchdog_stop();

	struct km_stats s = kt_stats(m);
	uint64_t peak = proc_kb("/proc/self/status", "VmPeak:") * 1024;
	print_message("6 GiB host: %llu pages (%llu highmem) written in %.1f s, "
	              "read back in %.1f s; %llu words wrong in %llu pages; "
	              "%llu window maps, %llu flushes; memfd holds %llu MiB; "
	              "VmPeak %llu MiB\n",
	              (unsigned long long)n, (unsigned long long)nh,
	              secs(t1 - t0), secs(t2 - t1), (unsigned long long)bad,
	              (unsigned long long)bad_pages,
	              (unsigned long long)s.new_maps, (unsigned long long)s.flushes,
	              (unsigned long long)(held / MiB),
	              (unsigned long long)(peak / MiB));
	if (bad)
		fail_msg("%llu words in %llu pages differ, the first at pfn %llu",
		         (unsigned long long)bad, (unsigned long long)bad_pages,
		         (unsigned long long)first_bad);
	/* every highmem page went through the window, twice */
	KT_EQ(s.new_maps, 2 * nh);
	KT_EQ(s.pte_sets, 2 * nh);
	KT_EQ(s.lowmem, 2 * lo);
	KT_EQ(s.in_use, 0);
	/* the data is really held: all 6 GiB (when the count is readable) */
	if (held)
		assert_true(held >= MEM);
	/* while the process never had 4 GiB of addresses */
	if (peak)
		assert_true(peak < 4 * GiB);
	KT_CHECK(m);
	km_machine_destroy(m);
}

#else

static void host_6g(void **state)
{
	(void)state;
	print_message("skipped: needs a 32-bit build (make test-m32)\n");
	skip();
}

#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_6g),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
