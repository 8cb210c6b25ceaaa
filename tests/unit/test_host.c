/*
 * test_host.c - the host backend: real memory (a memfd or a file) behind
 * real pointers. Every highmem page through the kmap window, the direct
 * map, local maps, the copy helpers, the runs a flush clears; persistence
 * in a file, also across a SIGKILL; debug mode (use after kunmap reported
 * from the SIGSEGV handler, leaks at destroy); and every failure path of
 * the backend, by pointing km__host_sys at a table whose calls fail.
 */
/* off_t in struct km__host_sys must be the library's (64-bit) on -m32 too */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include "ktest.h"

#include "user.h"
#include "core/pkmap.h"
#include "backend/host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024ull * 1024ull)
#define PG 4096u
#define WORDS (PG / sizeof(uint64_t))
#define NONE UINT64_MAX

/* ------------------------------------------------------------------ */
/* Machines and patterns                                               */
/* ------------------------------------------------------------------ */

static void host_config(struct km_config *cfg, uint64_t mem, uint64_t lowmem,
                        unsigned last_pkmap, unsigned flags, const char *path)
{
	km_config_init(cfg);
	cfg->profile = "x86-32-pae";
	cfg->backend = KM_BACKEND_HOST;
	cfg->policy = "linux"; /* the slots these tests name are linux's */
	cfg->mem_bytes = mem;
	cfg->lowmem_bytes = lowmem;
	cfg->last_pkmap = last_pkmap;
	cfg->flags = flags;
	cfg->mem_path = path;
}

static km_machine *host(uint64_t mem, uint64_t lowmem, unsigned last_pkmap,
                        unsigned flags)
{
	struct km_config cfg;
	host_config(&cfg, mem, lowmem, last_pkmap, flags, NULL);
	return kt_machine_cfg(&cfg);
}

static km_page *page_at(km_machine *m, uint64_t pfn)
{
	km_page *p = km_pfn_to_page(m, pfn);
	assert_non_null(p);
	return p;
}

/* A word of page @pfn's pattern for generation @gen: distinct per page,
 * per word and per generation, never 0. */
static uint64_t pat(uint64_t pfn, unsigned i, uint64_t gen)
{
	uint64_t v = (pfn + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)(i + 1) << 40 ^
	             gen * 0xC2B2AE3D27D4EB4Full;
	return v ? v : 1;
}

static void fill(void *va, uint64_t pfn, uint64_t gen)
{
	uint64_t *w = va;
	for (unsigned i = 0; i < WORDS; i++)
		w[i] = pat(pfn, i, gen);
}

/* words of the page at @va that are not page @pfn's pattern */
static unsigned bad_words(const void *va, uint64_t pfn, uint64_t gen)
{
	const uint64_t *w = va;
	unsigned bad = 0;
	for (unsigned i = 0; i < WORDS; i++)
		bad += w[i] != pat(pfn, i, gen);
	return bad;
}

static unsigned nonzero_words(const void *va)
{
	const uint64_t *w = va;
	unsigned n = 0;
	for (unsigned i = 0; i < WORDS; i++)
		n += w[i] != 0;
	return n;
}

#define KT_PAGE_IS(va, pfn, gen)                                             \
	do {                                                                 \
		unsigned bad_ = bad_words((va), (pfn), (gen));               \
		if (bad_)                                                    \
			fail_msg("pfn %llu: %u of %u words differ from the "   \
			         "pattern (generation %llu)",                  \
			         (unsigned long long)(pfn), bad_, (unsigned)WORDS, \
			         (unsigned long long)(gen));                   \
	} while (0)

/* The permissions ("rw-s", "---p", ...) of the mapping that holds @a in
 * /proc/self/maps; "" when no mapping does. */
static void perms_at(const void *a, char out[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uintptr_t x = (uintptr_t)a;
	out[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char p[5];
		if (sscanf(line, "%llx-%llx %4s", &lo, &hi, p) == 3 && x >= lo &&
		    x < hi) {
			memcpy(out, p, 5);
			break;
		}
	}
	fclose(f);
}

static void assert_perms_(const void *a, const char *want, const char *file,
                          int line)
{
	char got[5];
	perms_at(a, got);
	if (strcmp(got, want)) {
		print_error("%s:%d: mapping at %p is \"%s\", expected \"%s\"\n",
		            file, line, a, got, want);
		_fail(file, line);
	}
}
#define KT_PERMS(a, want) assert_perms_((a), (want), __FILE__, __LINE__)

static uint64_t host_maps(km_machine *m)
{
	uint64_t maps, unmaps;
	km__host_counts(km__machine_backend(m), &maps, &unmaps);
	return maps;
}

static uint64_t host_unmaps(km_machine *m)
{
	uint64_t maps, unmaps;
	km__host_counts(km__machine_backend(m), &maps, &unmaps);
	return unmaps;
}

/* ------------------------------------------------------------------ */
/* Temporary files                                                     */
/* ------------------------------------------------------------------ */

static char tmp_paths[8][64];
static unsigned nr_tmp;

/* mkstemp in /tmp: an empty file, removed by the teardown */
static const char *tmp_file(void)
{
	assert_true(nr_tmp < 8);
	char *p = tmp_paths[nr_tmp++];
	strcpy(p, "/tmp/kmap-host-test-XXXXXX");
	int fd = mkstemp(p);
	assert_true(fd >= 0);
	close(fd);
	return p;
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	KT_EQ(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* ------------------------------------------------------------------ */
/* Fault injection: a km__host_sys whose chosen call fails             */
/* ------------------------------------------------------------------ */

enum fi_call {
	FI_NONE,
	FI_MEMFD,
	FI_OPEN,
	FI_FTRUNCATE,
	FI_MMAP_LOWMEM,  /* a file mapping at a new address: the direct map */
	FI_MMAP_RESERVE, /* anonymous at a new address: window, local areas */
	FI_MMAP_SET,     /* a file page over a reservation: set_pte */
	FI_MMAP_CLEAR,   /* a reservation over a run: clear_ptes */
	FI_MUNMAP,
	FI_MPROTECT,
	FI_MSYNC,
	FI_FSYNC,
	FI_PREAD,
	FI_PWRITE,
	FI_N
};

#define FI_LIVE_MAX 256

static struct {
	unsigned calls[FI_N];
	enum fi_call which;
	unsigned at;   /* fail the at-th call of @which; 0: every one */
	int err;
	unsigned failed;
	int fd;        /* the last descriptor memfd_create or open returned */
	/* mappings made at new addresses through the table, not yet unmapped */
	unsigned nlive;
	struct { void *a; size_t len; } live[FI_LIVE_MAX];
} fi;

static int fi_hit(enum fi_call c)
{
	fi.calls[c]++;
	if (fi.which == c && (!fi.at || fi.calls[c] == fi.at)) {
		fi.failed++;
		errno = fi.err;
		return 1;
	}
	return 0;
}

static int fi_memfd_create(const char *name, unsigned flags)
{
	if (fi_hit(FI_MEMFD))
		return -1;
	return fi.fd = km__host_sys_default.memfd_create(name, flags);
}

static int fi_open(const char *path, int flags, mode_t mode)
{
	if (fi_hit(FI_OPEN))
		return -1;
	return fi.fd = km__host_sys_default.open(path, flags, mode);
}

static int fi_ftruncate(int fd, off_t len)
{
	if (fi_hit(FI_FTRUNCATE))
		return -1;
	return km__host_sys_default.ftruncate(fd, len);
}

static void *fi_mmap(void *addr, size_t len, int prot, int flags, int fd,
                     off_t off)
{
	enum fi_call c = fd >= 0 ? (flags & MAP_FIXED ? FI_MMAP_SET : FI_MMAP_LOWMEM)
	                         : (flags & MAP_FIXED ? FI_MMAP_CLEAR
	                                              : FI_MMAP_RESERVE);
	if (fi_hit(c))
		return MAP_FAILED;
	void *p = km__host_sys_default.mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && !(flags & MAP_FIXED) && fi.nlive < FI_LIVE_MAX) {
		fi.live[fi.nlive].a = p;
		fi.live[fi.nlive].len = len;
		fi.nlive++;
	}
	return p;
}

static int fi_munmap(void *addr, size_t len)
{
	if (fi_hit(FI_MUNMAP))
		return -1;
	int r = km__host_sys_default.munmap(addr, len);
	if (!r)
		for (unsigned i = 0; i < fi.nlive; i++)
			if (fi.live[i].a == addr && fi.live[i].len == len) {
				fi.live[i] = fi.live[--fi.nlive];
				break;
			}
	return r;
}

static int fi_mprotect(void *addr, size_t len, int prot)
{
	if (fi_hit(FI_MPROTECT))
		return -1;
	return km__host_sys_default.mprotect(addr, len, prot);
}

static int fi_msync(void *addr, size_t len, int flags)
{
	if (fi_hit(FI_MSYNC))
		return -1;
	return km__host_sys_default.msync(addr, len, flags);
}

static int fi_fsync(int fd)
{
	if (fi_hit(FI_FSYNC))
		return -1;
	return km__host_sys_default.fsync(fd);
}

static ssize_t fi_pread(int fd, void *buf, size_t len, off_t off)
{
	if (fi_hit(FI_PREAD))
		return -1;
	return km__host_sys_default.pread(fd, buf, len, off);
}

static ssize_t fi_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (fi_hit(FI_PWRITE))
		return -1;
	return km__host_sys_default.pwrite(fd, buf, len, off);
}

static const struct km__host_sys fi_sys = {
	.memfd_create = fi_memfd_create,
	.open = fi_open,
	.ftruncate = fi_ftruncate,
	.mmap = fi_mmap,
	.munmap = fi_munmap,
	.mprotect = fi_mprotect,
	.msync = fi_msync,
	.fsync = fi_fsync,
	.pread = fi_pread,
	.pwrite = fi_pwrite,
};

/* Route the backend's calls through fi_sys; the at-th call of @which (every
 * one when @at is 0) fails with @err. Counters start from zero. */
static void fi_install(enum fi_call which, unsigned at, int err)
{
	memset(&fi, 0, sizeof(fi));
	fi.fd = -1;
	fi.which = which;
	fi.at = at;
	fi.err = err;
	km__host_sys = &fi_sys;
}

static void fi_restore(void)
{
	km__host_sys = &km__host_sys_default;
}

/* teardown of every test: the default table, no temporary files */
static int teardown(void **state)
{
	(void)state;
	fi_restore();
	for (unsigned i = 0; i < nr_tmp; i++)
		unlink(tmp_paths[i]);
	nr_tmp = 0;
	return 0;
}

static int fd_is_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) != -1;
}

/* ------------------------------------------------------------------ */
/* Forked children                                                     */
/* ------------------------------------------------------------------ */

/*
 * Code in a child must not use cmocka's assertions (a failure would jump
 * back into the test runner in the child): CHILD_CHECK prints and exits.
 */
#define CHILD_CHECK(cond)                                                    \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "child: %s:%d: check failed: %s\n",     \
			        __FILE__, __LINE__, #cond);                    \
			_exit(10);                                           \
		}                                                            \
	} while (0)

struct child {
	int status;
	char err[16384];
};

static void child_signals_default(void)
{
	/* cmocka's handlers jump back into the runner: not in a child */
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	signal(SIGILL, SIG_DFL);
	signal(SIGFPE, SIG_DFL);
	signal(SIGABRT, SIG_DFL);
}

/* Run @fn in a child with stderr captured; 60 s at most. */
static void run_child(void (*fn)(void *), void *arg, struct child *out)
{
	int p[2];
	KT_EQ(pipe(p), 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit nocore = { 0, 0 };
		setrlimit(RLIMIT_CORE, &nocore);
		child_signals_default();
		close(p[0]);
		dup2(p[1], 2);
		close(p[1]);
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	size_t o = 0;
	uint64_t end = kt_now_ns() + 60ull * 1000000000ull;
	for (;;) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		if (poll(&pf, 1, 1000) == 0) {
			if (kt_now_ns() < end)
				continue;
			kill(pid, SIGKILL);
			break;
		}
		ssize_t r = read(p[0], out->err + o, sizeof(out->err) - 1 - o);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		o += (size_t)r;
		if (o == sizeof(out->err) - 1)
			break;
	}
	out->err[o] = 0;
	close(p[0]);
	while (waitpid(pid, &out->status, 0) < 0 && errno == EINTR)
		;
}

static const char *status_str(int st, char *buf, size_t n)
{
	if (WIFSIGNALED(st))
		snprintf(buf, n, "killed by signal %d", WTERMSIG(st));
	else if (WIFEXITED(st))
		snprintf(buf, n, "exit %d", WEXITSTATUS(st));
	else
		snprintf(buf, n, "status %#x", st);
	return buf;
}

/* the child died of @sig (0: exited 0) and its stderr holds @needle */
static void child_is_(const struct child *c, int sig, const char *needle,
                      const char *file, int line)
{
	int ok = sig ? WIFSIGNALED(c->status) && WTERMSIG(c->status) == sig
	             : WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
	if (ok && needle && !strstr(c->err, needle))
		ok = 0;
	if (!ok) {
		char b[64];
		print_error("%s:%d: child %s; expected %s%d%s%s%s; its stderr:\n%s\n",
		            file, line, status_str(c->status, b, sizeof(b)),
		            sig ? "signal " : "exit ", sig, needle ? " with \"" : "",
		            needle ? needle : "", needle ? "\" on stderr" : "", c->err);
		_fail(file, line);
	}
}
#define KT_CHILD(c, sig, needle) child_is_((c), (sig), (needle), __FILE__, __LINE__)

/* ================================================================== */
/* 1. Basics                                                           */
/* ================================================================== */

#define H256 (256 * MiB)
#define L16 (16 * MiB)

static void layout_is_real(void **state)
{
	(void)state;
	km_machine *m = host(H256, L16, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.mem_bytes, H256);
	KT_EQ(l.max_pfn, H256 / PG);
	KT_EQ(l.max_low_pfn, L16 / PG);
	KT_EQ(l.lowmem_bytes, L16);
	KT_EQ(l.highmem_bytes, H256 - L16);
	KT_EQ(l.last_pkmap, 512); /* x86-32-pae's LAST_PKMAP */
	KT_EQ(km_totalhigh_pages(m), (H256 - L16) / PG);
	/* real addresses: the direct map and the window are our mappings */
	assert_true(l.page_offset != 0);
	KT_EQ(l.high_memory, l.page_offset + L16);
	KT_EQ(l.pkmap_end - l.pkmap_base, 512ull * PG);
	KT_EQ(l.page_offset % PG, 0);
	KT_EQ(l.pkmap_base % PG, 0);
	KT_PERMS((void *)(uintptr_t)l.page_offset, "rw-s");
	KT_PERMS((void *)(uintptr_t)(l.high_memory - 1), "rw-s");
	KT_PERMS((void *)(uintptr_t)l.pkmap_base, "---p");
	KT_PERMS((void *)(uintptr_t)(l.pkmap_end - 1), "---p");
	/* the window does not overlap the direct map */
	assert_true(l.pkmap_end <= l.page_offset || l.pkmap_base >= l.high_memory);
	km_machine_destroy(m);
}

/* Every highmem page through km_kmap: a pattern written, read back later
 * through another slot; every lowmem page through its direct address. */
static void every_page(void **state)
{
	(void)state;
	km_machine *m = host(H256, L16, 0, 0);
	struct km_layout l = kt_layout(m);
	const uint64_t lo = l.max_low_pfn, n = l.max_pfn;
	const uint64_t nh = n - lo;
	unsigned short *slot1 = calloc((size_t)nh, sizeof(*slot1));
	assert_non_null(slot1);
	char *base = (char *)(uintptr_t)l.pkmap_base;

	/* lowmem: direct addresses, real and stable */
	for (uint64_t pfn = 0; pfn < lo; pfn++) {
		km_page *p = page_at(m, pfn);
		void *d = km_lowmem_page_address(m, p), *va = NULL;
		enum km_how how;
		KT_EQ((uintptr_t)d, l.page_offset + pfn * PG);
		KT_OK(km_kmap_ex(m, p, 0, 0, &va, &how));
		KT_EQ(how, KM_HOW_LOWMEM);
		KT_EQ((uintptr_t)va, (uintptr_t)d);
		KT_EQ((uintptr_t)km_page_address(m, p), (uintptr_t)d);
		assert_ptr_equal(km_kmap_to_page(m, d), p);
		fill(va, pfn, 1);
		KT_OK(km_kunmap(m, p)); /* a no-op */
	}
	void *low7 = km_lowmem_page_address(m, page_at(m, 7));

	/* highmem, pass 1: write */
	for (uint64_t i = 0; i < nh; i++) {
		km_page *p = page_at(m, lo + i);
		void *va = NULL;
		enum km_how how;
		assert_null(km_lowmem_page_address(m, p));
		assert_null(km_page_address(m, p));
		KT_OK(km_kmap_ex(m, p, 0, 0, &va, &how));
		KT_EQ(how, KM_HOW_NEW);
		unsigned slot = kt_slot_of(m, va);
		KT_EQ((uintptr_t)va, (uintptr_t)(base + (size_t)slot * PG));
		KT_EQ((uintptr_t)km_page_address(m, p), (uintptr_t)va);
		assert_ptr_equal(km_kmap_to_page(m, va), p);
		slot1[i] = (unsigned short)slot;
		fill(va, lo + i, 1);
		KT_OK(km_kunmap(m, p));
	}
	struct km_stats s = kt_stats(m);
	KT_EQ(s.new_maps, nh);
	KT_EQ(s.hits, 0);
	KT_EQ(s.lowmem, lo);
	KT_EQ(s.kmaps, nh + lo);
	KT_EQ(s.kunmaps, nh);
	KT_EQ(s.pte_sets, nh);
	KT_EQ(s.in_use, 0);
	/* slots 1..511, then a wrap at every 512th map (slot 0 is used from
	 * the first wrap on); each flush cleared one run: the whole window */
	KT_EQ(s.flushes, nh / 512);
	KT_EQ(s.clear_runs, s.flushes);
	KT_EQ(s.tlb_flushes, s.flushes);
	KT_EQ(host_maps(m), s.pte_sets);
	KT_EQ(host_unmaps(m), s.clear_runs);
	KT_CHECK(m);
	KT_STATS_SANE(m);

	/* highmem, pass 2: each page comes back intact, mostly in another
	 * slot (7919 is prime: a permutation of the pages) */
	uint64_t moved = 0;
	for (uint64_t k = 0; k < nh; k++) {
		uint64_t i = k * 7919 % nh;
		km_page *p = page_at(m, lo + i);
		void *va = NULL;
		KT_OK(km_kmap(m, p, &va));
		moved += kt_slot_of(m, va) != slot1[i];
		KT_PAGE_IS(va, lo + i, 1);
		fill(va, lo + i, 2);
		KT_OK(km_kunmap(m, p));
	}
	assert_true(moved > nh / 2);

	/* lowmem untouched by all that, at the same addresses */
	KT_EQ((uintptr_t)km_lowmem_page_address(m, page_at(m, 7)), (uintptr_t)low7);
	for (uint64_t pfn = 0; pfn < lo; pfn++)
		KT_PAGE_IS(km_lowmem_page_address(m, page_at(m, pfn)), pfn, 1);
	/* pass 3: the second generation, through local maps this time */
	for (uint64_t i = 0; i < nh; i += 7) {
		void *va = NULL;
		KT_OK(km_kmap_local_page(m, page_at(m, lo + i), &va));
		KT_PAGE_IS(va, lo + i, 2);
		KT_OK(km_kunmap_local(m, va));
	}
	KT_CHECK(m);
	free(slot1);
	km_machine_destroy(m);
}

/* Two mappings of one page at once (a kmap and a local map) are the same
 * memory; fifteen local maps at once are fifteen pages. */
static void local_maps(void **state)
{
	(void)state;
	km_machine *m = host(64 * MiB, L16, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	const uint64_t lo = l.max_low_pfn;
	km_page *p = page_at(m, lo + 3);
	void *a = NULL, *b = NULL;
	uint64_t maps0 = host_maps(m), unmaps0 = host_unmaps(m);

	KT_OK(km_kmap(m, p, &a));
	KT_OK(km_kmap_local_page(m, p, &b));
	assert_true(b != a);
	assert_false(km__in_pkmap(km__machine_core(m), (uintptr_t)b));
	assert_true((uintptr_t)b < l.page_offset || (uintptr_t)b >= l.high_memory);
	KT_PERMS(b, "rw-s");
	assert_ptr_equal(km_kmap_to_page(m, b), p);
	fill(b, 1234, 9);
	KT_PAGE_IS(a, 1234, 9); /* MAP_SHARED: one page behind both */
	fill(a, 4321, 9);
	KT_PAGE_IS(b, 4321, 9);
	KT_OK(km_kunmap_local(m, b));
	KT_PERMS(b, "---p"); /* the local slot holds nothing now */
	KT_OK(km_kunmap(m, p));
	KT_EQ(host_maps(m), maps0 + 2);
	KT_EQ(host_unmaps(m), unmaps0 + 1);

	/* fifteen at once, all different, all real */
	void *va[KM_LOCAL_MAX + 1];
	for (unsigned i = 0; i < KM_LOCAL_MAX; i++) {
		KT_OK(km_kmap_local_page(m, page_at(m, lo + 10 + i), &va[i]));
		for (unsigned j = 0; j < i; j++)
			assert_true(va[j] != va[i]);
		fill(va[i], lo + 10 + i, 3);
	}
	KT_RC(km_kmap_local_page(m, page_at(m, lo + 100), &va[KM_LOCAL_MAX]),
	      -KM_ESTACKFULL);
	for (unsigned i = 0; i < KM_LOCAL_MAX; i++) {
		KT_PAGE_IS(va[i], lo + 10 + i, 3);
		assert_ptr_equal(km_kmap_to_page(m, va[i]), page_at(m, lo + 10 + i));
	}
	KT_RC(km_kunmap_local(m, va[3]), -KM_ENOTTOP);
	for (unsigned i = KM_LOCAL_MAX; i-- > 0;)
		KT_OK(km_kunmap_local(m, va[i]));
	/* the data stayed in memory: read it through the window */
	for (unsigned i = 0; i < KM_LOCAL_MAX; i++) {
		KT_OK(km_kmap(m, page_at(m, lo + 10 + i), &a));
		KT_PAGE_IS(a, lo + 10 + i, 3);
		KT_OK(km_kunmap(m, page_at(m, lo + 10 + i)));
	}

	/* lowmem: the direct address, no local slot */
	KT_OK(km_kmap_local_page(m, page_at(m, 5), &b));
	KT_EQ((uintptr_t)b, l.page_offset + 5 * PG);
	KT_OK(km_kunmap_local(m, b));

	/* kmap_atomic: a real pointer inside an atomic section */
	KT_OK(km_kmap_atomic(m, p, &b));
	KT_EQ(km_in_atomic(m), 1);
	KT_PAGE_IS(b, 4321, 9);
	KT_RC(km_kmap(m, p, &a), -KM_EATOMIC);
	KT_OK(km_kunmap_atomic(m, b));
	KT_EQ(km_in_atomic(m), 0);
	KT_CHECK(m);
	struct km_stats s = kt_stats(m);
	KT_EQ(s.local_maps, 1 + KM_LOCAL_MAX + 1);
	km_machine_destroy(m);
}

struct thread_local_arg {
	km_machine *m;
	uint64_t pfn;
	void *va;
	int ok;
};

static void *thread_local_map(void *argp)
{
	struct thread_local_arg *a = argp;
	void *va;
	if (km_kmap_local_page(a->m, page_at(a->m, a->pfn), &va))
		return NULL;
	a->va = va;
	a->ok = bad_words(va, a->pfn, 5) == 0;
	fill(va, a->pfn, 6);
	a->ok &= km_kunmap_local(a->m, va) == 0;
	return NULL;
}

/* Each thread has its own local-map area, given back when it exits. */
static void local_maps_threads(void **state)
{
	(void)state;
	km_machine *m = host(64 * MiB, L16, 0, KM_CHECK);
	uint64_t lo = kt_layout(m).max_low_pfn;
	void *mine;
	KT_OK(km_kmap_local_page(m, page_at(m, lo), &mine));
	fill(mine, lo + 1, 5);
	KT_OK(km_memcpy_to_page(m, page_at(m, lo + 1), 0, mine, PG));
	struct thread_local_arg a = { .m = m, .pfn = lo + 1 };
	pthread_t t;
	KT_EQ(pthread_create(&t, NULL, thread_local_map, &a), 0);
	KT_EQ(pthread_join(t, NULL), 0);
	assert_true(a.ok);
	assert_true(a.va != NULL);
	/* the other thread's slot 0 was elsewhere, and its area is gone */
	assert_true((uintptr_t)a.va / PG != (uintptr_t)mine / PG);
	KT_PERMS(a.va, "");
	KT_OK(km_kunmap_local(m, mine));
	void *w;
	KT_OK(km_kmap(m, page_at(m, lo + 1), &w));
	KT_PAGE_IS(w, lo + 1, 6);
	KT_OK(km_kunmap(m, page_at(m, lo + 1)));
	KT_CHECK(m);
	km_machine_destroy(m);
}

static void memcpy_helpers(void **state)
{
	(void)state;
	km_machine *m = host(64 * MiB, L16, 0, KM_CHECK);
	uint64_t lo = kt_layout(m).max_low_pfn;
	km_page *h0 = page_at(m, lo + 1), *h1 = page_at(m, lo + 2),
	        *l0 = page_at(m, 9);
	unsigned char src[PG], dst[PG], want[PG];
	for (unsigned i = 0; i < PG; i++)
		src[i] = (unsigned char)(i * 7 + 3);

	KT_OK(km_memset_page(m, h0, 0, 0x5a, PG));
	KT_OK(km_memcpy_to_page(m, h0, 100, src, 200));
	memset(want, 0x5a, PG);
	memcpy(want + 100, src, 200);
	void *va;
	KT_OK(km_kmap(m, h0, &va));
	assert_memory_equal(va, want, PG);

	memset(dst, 0, PG);
	KT_OK(km_memcpy_from_page(m, dst, h0, 100, 200));
	assert_memory_equal(dst, src, 200);

	KT_OK(km_memzero_page(m, h0, 10, 20));
	memset(want + 10, 0, 20);
	assert_memory_equal(va, want, PG); /* seen through the held kmap */

	KT_OK(km_copy_highpage(m, h1, h0));
	KT_OK(km_memcpy_from_page(m, dst, h1, 0, PG));
	assert_memory_equal(dst, want, PG);

	/* highmem to lowmem and back, at offsets */
	KT_OK(km_memcpy_page(m, l0, 5, h0, 100, 150));
	assert_memory_equal((char *)km_lowmem_page_address(m, l0) + 5, src, 150);
	KT_OK(km_memcpy_page(m, h1, 4000, l0, 5, 96));
	KT_OK(km_memcpy_from_page(m, dst, h1, 4000, 96));
	assert_memory_equal(dst, src, 96);

	/* km_read / km_write through a kmap pointer */
	KT_OK(km_write(m, (char *)va + 8, "host!", 5));
	char got[6] = "";
	KT_OK(km_read(m, (char *)va + 8, got, 5));
	assert_string_equal(got, "host!");
	assert_memory_equal((char *)va + 8, "host!", 5);

	/* past the page: refused */
	KT_RC(km_memcpy_to_page(m, h0, 4000, src, 200), -EINVAL);
	KT_RC(km_memcpy_from_page(m, dst, h0, PG + 1, 0), -EINVAL);
	KT_RC(km_memcpy_page(m, h0, 0, h1, 4095, 2), -EINVAL);
	KT_OK(km_kunmap(m, h0));
	/* no local map: each copy went through h0's slot while the kmap held
	 * it, else straight to the memory, or h1 was admitted */
	struct km_stats s = kt_stats(m);
	KT_EQ(s.local_maps, 0);
	assert_true(s.copy_window >= 3);
	KT_EQ(s.copy_window + s.copy_memory + s.admissions + s.copy_stream, 10);
	KT_CHECK(m);
	km_machine_destroy(m);
}

/* The flush at a wrap clears the slots without users in contiguous runs,
 * one mmap call a run: a held slot splits the run. */
static void clear_runs(void **state)
{
	(void)state;
	km_machine *m = host(64 * MiB, L16, 8, KM_CHECK);
	uint64_t lo = kt_layout(m).max_low_pfn;
	void *va[8];
	km_page *q[8];

	/* slots 1..7; slot 4 keeps a user */
	for (unsigned i = 0; i < 7; i++) {
		q[i] = page_at(m, lo + i);
		KT_OK(km_kmap(m, q[i], &va[i]));
		KT_EQ(kt_slot_of(m, va[i]), i + 1);
		fill(va[i], lo + i, 1);
		KT_PERMS(va[i], "rw-s");
	}
	for (unsigned i = 0; i < 7; i++)
		if (i != 3)
			KT_OK(km_kunmap(m, q[i]));
	/* count 1: still mapped until the flush */
	KT_PERMS(va[0], "rw-s");
	struct km_stats s0 = kt_stats(m);
	uint64_t un0 = host_unmaps(m);
	void *v;
	KT_OK(km_kmap(m, page_at(m, lo + 20), &v));
	KT_EQ(kt_slot_of(m, v), 0);
	struct km_stats s1 = kt_stats(m);
	KT_EQ(s1.clear_runs, s0.clear_runs + 2); /* [1,3] and [5,7] */
	KT_EQ(s1.slots_cleared, s0.slots_cleared + 6);
	KT_EQ(s1.flushes, s0.flushes + 1);
	KT_EQ(s1.tlb_flushes, s0.tlb_flushes + 1);
	KT_EQ(s1.pte_sets, s0.pte_sets + 1);
	KT_EQ(host_unmaps(m), un0 + 2);
	for (unsigned i = 0; i < 7; i++) {
		if (i == 3) {
			KT_SLOT(m, 4, 2, lo + 3);
			KT_PERMS(va[i], "rw-s");
			KT_PAGE_IS(va[i], lo + 3, 1);
		} else {
			KT_SLOT(m, i + 1, 0, NONE);
			KT_PERMS(va[i], "---p"); /* really unmapped */
		}
	}

	/* slots 1..7 again (0 and 4 held); 6 held too: three runs */
	km_page *r[8];
	void *rv[8];
	unsigned nr = 0;
	for (unsigned i = 0; nr < 5; i++) {
		r[nr] = page_at(m, lo + 40 + i);
		KT_OK(km_kmap(m, r[nr], &rv[nr]));
		nr++;
	}
	/* they took slots 1, 2, 3, 5, 6 and 7 is free */
	KT_EQ(kt_slot_of(m, rv[0]), 1);
	KT_EQ(kt_slot_of(m, rv[3]), 5);
	KT_EQ(kt_slot_of(m, rv[4]), 6);
	KT_OK(km_kmap(m, page_at(m, lo + 50), &v));
	KT_EQ(kt_slot_of(m, v), 7);
	for (unsigned i = 0; i < 5; i++)
		if (i != 4)
			KT_OK(km_kunmap(m, r[i])); /* slot 6 keeps its user */
	KT_OK(km_kunmap(m, page_at(m, lo + 50)));
	KT_OK(km_kunmap(m, page_at(m, lo + 20))); /* slot 0 */
	s0 = kt_stats(m);
	un0 = host_unmaps(m);
	/* kmap_flush_unused: [0,3], [5], [7]; slots 4 and 6 stay */
	KT_OK(km_kmap_flush_unused(m));
	s1 = kt_stats(m);
	KT_EQ(s1.clear_runs, s0.clear_runs + 3);
	KT_EQ(s1.slots_cleared, s0.slots_cleared + 6);
	KT_EQ(host_unmaps(m), un0 + 3);
	KT_SLOT(m, 4, 2, lo + 3);
	KT_SLOT(m, 6, 2, lo + 44);
	KT_PERMS(rv[4], "rw-s");
	KT_PERMS(rv[0], "---p");
	/* nothing to clear: no run, no call */
	KT_OK(km_kmap_flush_unused(m));
	KT_EQ(kt_stats(m).clear_runs, s1.clear_runs);
	KT_EQ(host_unmaps(m), un0 + 3);
	KT_OK(km_kunmap(m, q[3]));
	KT_OK(km_kunmap(m, r[4]));
	KT_CHECK(m);
	KT_STATS_SANE(m);
	km_machine_destroy(m);
}

/* Threads kmap, check and rewrite their own pages through an 8-slot
 * window, holding two at a time: six threads may want twelve slots, so
 * they sleep for slots (never all of them: 6 x 1 < 8), nothing is lost. */
#define TH_N 6
#define TH_PAGES 64
#define TH_ITERS 3000

struct th_arg {
	km_machine *m;
	uint64_t first_pfn; /* TH_PAGES pages of its own */
	uint64_t gen[TH_PAGES];
	unsigned seed;
	unsigned bad, errors;
};

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void *th_main(void *argp)
{
	struct th_arg *a = argp;
	for (unsigned it = 0; it < TH_ITERS; it++) {
		unsigned i = rnd(&a->seed) % TH_PAGES;
		unsigned j = (i + 1 + rnd(&a->seed) % (TH_PAGES - 1)) % TH_PAGES;
		km_page *p = km_pfn_to_page(a->m, a->first_pfn + i);
		km_page *q = km_pfn_to_page(a->m, a->first_pfn + j);
		void *vp, *vq;
		if (km_kmap(a->m, p, &vp)) {
			a->errors++;
			continue;
		}
		if (it % 4 == 0)
			kt_sleep_us(20); /* hold it a while: others want slots */
		if (km_kmap(a->m, q, &vq)) {
			a->errors++;
			km_kunmap(a->m, p);
			continue;
		}
		a->bad += bad_words(vp, a->first_pfn + i, a->gen[i]) != 0;
		a->bad += bad_words(vq, a->first_pfn + j, a->gen[j]) != 0;
		fill(vp, a->first_pfn + i, ++a->gen[i]);
		fill(vq, a->first_pfn + j, ++a->gen[j]);
		a->errors += km_kunmap(a->m, q) != 0;
		a->errors += km_kunmap(a->m, p) != 0;
	}
	return NULL;
}

static void threads_policy(const char *policy)
{
	struct km_config cfg;
	host_config(&cfg, 64 * MiB, L16, 8, 0, NULL);
	cfg.policy = policy;
	km_machine *m = kt_machine_cfg(&cfg);
	uint64_t lo = kt_layout(m).max_low_pfn;
	static struct th_arg a[TH_N];
	pthread_t t[TH_N];
	for (unsigned k = 0; k < TH_N; k++) {
		memset(&a[k], 0, sizeof(a[k]));
		a[k].m = m;
		a[k].first_pfn = lo + 1000 + k * TH_PAGES;
		a[k].seed = 77 + k;
		for (unsigned i = 0; i < TH_PAGES; i++)
			KT_OK(km_memset_page(m, page_at(m, a[k].first_pfn + i), 0, 0, PG));
		/* generation 0 means zero-filled: make it the pattern */
		for (unsigned i = 0; i < TH_PAGES; i++) {
			void *va;
			KT_OK(km_kmap(m, page_at(m, a[k].first_pfn + i), &va));
			fill(va, a[k].first_pfn + i, 0);
			KT_OK(km_kunmap(m, page_at(m, a[k].first_pfn + i)));
		}
	}
	kt_watchdog_start("host threads", 120, NULL, NULL);
	for (unsigned k = 0; k < TH_N; k++)
		KT_EQ(pthread_create(&t[k], NULL, th_main, &a[k]), 0);
	for (unsigned k = 0; k < TH_N; k++)
		KT_EQ(pthread_join(t[k], NULL), 0);
	kt_watchdog_stop();
	for (unsigned k = 0; k < TH_N; k++) {
		KT_EQ(a[k].bad, 0);
		KT_EQ(a[k].errors, 0);
		for (unsigned i = 0; i < TH_PAGES; i++) {
			void *va;
			KT_OK(km_kmap(m, page_at(m, a[k].first_pfn + i), &va));
			KT_PAGE_IS(va, a[k].first_pfn + i, a[k].gen[i]);
			KT_OK(km_kunmap(m, page_at(m, a[k].first_pfn + i)));
		}
	}
	struct km_stats s = kt_stats(m);
	KT_EQ(s.in_use, 0);
	print_message("host threads, policy %s: %llu kmaps, %llu new, %llu "
	              "sleeps, %llu flushes, %llu runs cleared\n", policy,
	              (unsigned long long)s.kmaps, (unsigned long long)s.new_maps,
	              (unsigned long long)s.sleeps, (unsigned long long)s.flushes,
	              (unsigned long long)s.clear_runs);
	KT_CHECK(m);
	KT_EQ(s.kmaps, s.hits + s.new_maps + s.lowmem);
	KT_EQ(s.kunmaps, s.kmaps - s.lowmem);
	/* the setup's memset_page may admit a page whose counters it shares */
	KT_EQ(s.pte_sets, s.new_maps + s.admissions);
	KT_STATS_SANE(m);
	km_machine_destroy(m);
}

static void threads(void **state)
{
	(void)state;
	for (unsigned i = 0; km_policy_name(i); i++)
		threads_policy(km_policy_name(i));
}

/* Every policy hands out real pointers to the right pages: a pattern in
 * every highmem page of a 64 MiB machine through a 16-slot window, read
 * back in another order, hits included. */
static void policies_round_trip(void **state)
{
	(void)state;
	for (unsigned k = 0; km_policy_name(k); k++) {
		struct km_config cfg;
		host_config(&cfg, 64 * MiB, L16, 16, 0, NULL);
		cfg.policy = km_policy_name(k);
		km_machine *m = kt_machine_cfg(&cfg);
		struct km_layout l = kt_layout(m);
		const uint64_t lo = l.max_low_pfn, nh = l.max_pfn - lo;
		void *va;
		for (uint64_t i = 0; i < nh; i++) {
			KT_OK(km_kmap(m, page_at(m, lo + i), &va));
			kt_slot_of(m, va);
			fill(va, lo + i, k + 1);
			KT_OK(km_kunmap(m, page_at(m, lo + i)));
		}
		for (uint64_t j = 0; j < nh; j++) {
			uint64_t i = j * 7919 % nh;
			km_page *p = page_at(m, lo + i);
			KT_OK(km_kmap(m, p, &va));
			KT_PAGE_IS(va, lo + i, k + 1);
			/* a hit on a page in the window: the same pointer */
			void *again;
			KT_OK(km_kmap(m, p, &again));
			assert_ptr_equal(again, va);
			assert_ptr_equal(km_kmap_to_page(m, va), p);
			KT_OK(km_kunmap(m, p));
			KT_OK(km_kunmap(m, p));
		}
		struct km_stats s = kt_stats(m);
		KT_EQ(s.pte_sets, s.new_maps);
		KT_EQ(host_maps(m), s.pte_sets);
		KT_EQ(host_unmaps(m), s.clear_runs);
		assert_true(s.hits >= nh);
		KT_EQ(s.in_use, 0);
		KT_CHECK(m);
		km_machine_destroy(m);
	}
}

/* ================================================================== */
/* 2. Persistence                                                      */
/* ================================================================== */

#define F64 (64 * MiB)

static km_machine *file_machine(const char *path, uint64_t mem, unsigned flags)
{
	struct km_config cfg;
	host_config(&cfg, mem, L16, 0, flags, path);
	return kt_machine_cfg(&cfg);
}

/* the pfns the persistence test writes: both zones, spread out */
static int sampled(uint64_t pfn)
{
	return pfn % 97 == 0 || pfn % 4096 == 4095;
}

static void persist_file(void **state)
{
	(void)state;
	const char *path = tmp_file();
	KT_EQ(file_size(path), 0);
	km_machine *m = file_machine(path, F64, KM_CHECK);
	KT_EQ(file_size(path), F64); /* an empty file is grown */
	struct km_layout l = kt_layout(m);
	KT_EQ(l.mem_bytes, F64);
	for (uint64_t pfn = 0; pfn < l.max_pfn; pfn++) {
		if (!sampled(pfn))
			continue;
		void *va;
		KT_OK(km_kmap(m, page_at(m, pfn), &va));
		fill(va, pfn, 11);
		KT_OK(km_kunmap(m, page_at(m, pfn)));
	}
	/* and one through a local map, one through the copy helper */
	void *va;
	KT_OK(km_kmap_local_page(m, page_at(m, l.max_low_pfn + 1), &va));
	fill(va, l.max_low_pfn + 1, 11);
	KT_OK(km_kunmap_local(m, va));
	unsigned char buf[PG];
	fill(buf, l.max_low_pfn + 2, 11);
	KT_OK(km_memcpy_to_page(m, page_at(m, l.max_low_pfn + 2), 0, buf, PG));
	KT_OK(km_sync(m));
	km_machine_destroy(m);

	/* the file holds page pfn at offset pfn * 4096 */
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	for (uint64_t pfn = 0; pfn < F64 / PG; pfn++) {
		int want = sampled(pfn) || pfn == l.max_low_pfn + 1 ||
		           pfn == l.max_low_pfn + 2;
		KT_EQ(pread(fd, buf, PG, (off_t)(pfn * PG)), PG);
		if (want)
			KT_PAGE_IS(buf, pfn, 11);
		else
			KT_EQ(nonzero_words(buf), 0);
	}
	close(fd);

	/* reopen: mem_bytes 0 takes the file's size */
	m = file_machine(path, 0, KM_CHECK);
	l = kt_layout(m);
	KT_EQ(l.mem_bytes, F64);
	for (uint64_t pfn = 0; pfn < l.max_pfn; pfn++) {
		if (!sampled(pfn) && pfn != l.max_low_pfn + 1 &&
		    pfn != l.max_low_pfn + 2)
			continue;
		KT_OK(km_kmap(m, page_at(m, pfn), &va));
		KT_PAGE_IS(va, pfn, 11);
		fill(va, pfn, 12);
		KT_OK(km_kunmap(m, page_at(m, pfn)));
	}
	KT_OK(km_sync(m));
	km_machine_destroy(m);

	/* read-only: the data is there, writing is refused */
	m = file_machine(path, 0, KM_RDONLY);
	l = kt_layout(m);
	const uint64_t hp = 97 * 43; /* a sampled highmem page */
	assert_true(hp >= l.max_low_pfn);
	KT_OK(km_kmap(m, page_at(m, hp), &va));
	KT_PAGE_IS(va, hp, 12);
	KT_PERMS(va, "r--s");
	KT_RC(km_write(m, va, "x", 1), -EROFS);
	KT_OK(km_kunmap(m, page_at(m, hp)));
	KT_PERMS((void *)(uintptr_t)l.page_offset, "r--s");
	KT_PAGE_IS((void *)(uintptr_t)l.page_offset, 0, 12);
	KT_RC(km_memcpy_to_page(m, page_at(m, hp), 0, "x", 1), -EROFS);
	KT_OK(km_memcpy_from_page(m, buf, page_at(m, l.max_low_pfn + 2), 0, PG));
	KT_PAGE_IS(buf, l.max_low_pfn + 2, 12);
	KT_OK(km_sync(m));
	km_machine_destroy(m);

	/* a smaller machine on the same file: the first 32 MiB */
	m = file_machine(path, 32 * MiB, 0);
	KT_EQ(kt_layout(m).mem_bytes, 32 * MiB);
	KT_OK(km_kmap(m, page_at(m, 97 * 50), &va));
	KT_PAGE_IS(va, 97 * 50, 12);
	KT_OK(km_kunmap(m, page_at(m, 97 * 50)));
	km_machine_destroy(m);
	KT_EQ(file_size(path), F64);

	/* a file whose size is not a whole number of pages: whole pages only */
	KT_EQ(truncate(path, (off_t)(F64 + 100)), 0);
	m = file_machine(path, 0, 0);
	KT_EQ(kt_layout(m).mem_bytes, F64);
	km_machine_destroy(m);
	KT_EQ(file_size(path), F64 + 100);
}

/*
 * A child writes pages through kmap and reports each one after its kunmap;
 * it is killed with SIGKILL. Every page reported must be in the file: a
 * MAP_SHARED page belongs to the file without km_sync.
 */
struct killer {
	const char *path;
	int report_fd;
	uint64_t seed;
};

static void killed_child(void *argp)
{
	struct killer *k = argp;
	struct km_config cfg;
	host_config(&cfg, F64, L16, 0, 0, k->path);
	km_machine *m = NULL;
	CHILD_CHECK(km_machine_create(&cfg, &m) == 0);
	uint64_t n = F64 / PG;
	for (uint32_t i = 0; i < n; i++) {
		/* 7919 is prime, so i -> pfn visits every page once */
		uint64_t pfn = (uint64_t)i * 7919 % n;
		km_page *p = km_pfn_to_page(m, pfn);
		void *va;
		CHILD_CHECK(km_kmap(m, p, &va) == 0);
		fill(va, pfn, k->seed);
		CHILD_CHECK(km_kunmap(m, p) == 0);
		CHILD_CHECK(write(k->report_fd, &i, sizeof(i)) == sizeof(i));
	}
	for (;;)
		pause(); /* all written: wait for the kill */
}

/* @after_reports: kill after that many reports; else after @delay_us */
static void kill_and_check(uint32_t after_reports, unsigned delay_us,
                           uint64_t seed)
{
	const char *path = tmp_file();
	int p[2];
	KT_EQ(pipe(p), 0);
	struct killer k = { .path = path, .report_fd = p[1], .seed = seed };
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_signals_default();
		close(p[0]);
		killed_child(&k);
		_exit(0);
	}
	close(p[1]);
	int64_t last = -1;
	int killed = 0;
	uint64_t kill_at = 0, end = kt_now_ns() + 120ull * 1000000000ull;
	for (;;) {
		if (!killed && kill_at && kt_now_ns() >= kill_at) {
			kill(pid, SIGKILL);
			killed = 1;
		}
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		int pr = poll(&pf, 1, killed ? 1000 : 1);
		if (pr == 0) {
			if (kt_now_ns() > end) {
				kill(pid, SIGKILL);
				fail_msg("the writing child made no progress");
			}
			continue;
		}
		uint32_t i;
		ssize_t r = read(p[0], &i, sizeof(i));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* EOF: the child is dead */
		KT_EQ(r, sizeof(i));
		KT_EQ(i, (uint64_t)(last + 1)); /* in order, none lost */
		last = i;
		if (!killed && !kill_at && !after_reports) /* the first report */
			kill_at = kt_now_ns() + (uint64_t)delay_us * 1000;
		if (!killed && after_reports && i + 1 == after_reports) {
			kill(pid, SIGKILL);
			killed = 1;
		}
	}
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	char b[64];
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		fail_msg("writing child: %s, expected SIGKILL",
		         status_str(st, b, sizeof(b)));
	const uint64_t n = F64 / PG;
	print_message("killed after %lld of %llu pages reported\n",
	              (long long)(last + 1), (unsigned long long)n);
	if (after_reports)
		assert_true(last + 1 >= (int64_t)after_reports);

	/* reopen: every reported page is there; beyond the one being
	 * written at the kill, nothing was touched */
	km_machine *m = file_machine(path, 0, KM_CHECK);
	KT_EQ(kt_layout(m).mem_bytes, F64);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pfn = i * 7919 % n;
		void *va;
		KT_OK(km_kmap(m, page_at(m, pfn), &va));
		if ((int64_t)i <= last)
			KT_PAGE_IS(va, pfn, seed);
		else if ((int64_t)i > last + 1)
			KT_EQ(nonzero_words(va), 0);
		KT_OK(km_kunmap(m, page_at(m, pfn)));
	}
	km_machine_destroy(m);
}

static void persist_sigkill(void **state)
{
	(void)state;
	uint64_t seed = kt_now_ns() ^ ((uint64_t)getpid() << 32);
	unsigned r = (unsigned)(seed % 100000u);
	print_message("persist_sigkill: seed %llu\n", (unsigned long long)seed);
	/* after a given number of completed writes */
	kill_and_check(1 + r % 8000, 0, seed);
	/* at a random moment */
	kill_and_check(0, 1 + r % 200000, seed + 1);
	/* almost at once */
	kill_and_check(0, 1, seed + 2);
}

/* ================================================================== */
/* 3. Debug mode                                                       */
/* ================================================================== */

/*
 * The reports come from the library's SIGSEGV handler, in forked children.
 * ASan and TSan let a program install its own SIGSEGV handler (ASan's
 * allow_user_segv_handler is on by default; TSan calls the program's
 * handler for a synchronous signal at once), so these run under both.
 */

enum dbg_how { DBG_FLAG, DBG_ENV };

struct uak {
	enum dbg_how how;
	unsigned pre;    /* pages kmapped and kunmapped first */
	uint64_t idx;    /* the highmem page touched */
	int write;       /* touch by writing, not reading */
	unsigned users;  /* kmaps of the page before the kunmaps */
};

static km_machine *child_machine(unsigned flags, unsigned last_pkmap)
{
	struct km_config cfg;
	host_config(&cfg, 64 * MiB, L16, last_pkmap, flags, NULL);
	km_machine *m = NULL;
	CHILD_CHECK(km_machine_create(&cfg, &m) == 0);
	return m;
}

/* the window slot of @va, without cmocka */
static unsigned child_slot(km_machine *m, const void *va)
{
	struct km_layout l;
	CHILD_CHECK(km_machine_layout(m, &l) == 0);
	CHILD_CHECK((uintptr_t)va >= l.pkmap_base && (uintptr_t)va < l.pkmap_end);
	return (unsigned)(((uintptr_t)va - l.pkmap_base) / PG);
}

static void use_after_kunmap_child(void *argp)
{
	struct uak *a = argp;
	if (a->how == DBG_ENV)
		CHILD_CHECK(setenv("KMAP_DEBUG", "1", 1) == 0);
	else
		unsetenv("KMAP_DEBUG");
	km_machine *m = child_machine(a->how == DBG_FLAG ? KM_DEBUG : 0, 0);
	uint64_t lo = L16 / PG;
	void *va;
	for (unsigned i = 0; i < a->pre; i++) {
		km_page *p = km_pfn_to_page(m, lo + 1000 + i);
		CHILD_CHECK(km_kmap(m, p, &va) == 0);
		CHILD_CHECK(km_kunmap(m, p) == 0);
	}
	km_page *p = km_pfn_to_page(m, lo + a->idx);
	for (unsigned u = 0; u < a->users; u++)
		CHILD_CHECK(km_kmap(m, p, &va) == 0);
	fill(va, lo + a->idx, 1);
	for (unsigned u = 0; u + 1 < a->users; u++) {
		CHILD_CHECK(km_kunmap(m, p) == 0);
		/* users left: still usable */
		CHILD_CHECK(bad_words(va, lo + a->idx, 1) == 0);
	}
	CHILD_CHECK(km_kunmap(m, p) == 0);
	fprintf(stderr, "child: touching pfn %llu in slot %u\n",
	        (unsigned long long)(lo + a->idx), child_slot(m, va));
	if (a->write)
		*(volatile uint64_t *)va = 1;
	else
		(void)*(volatile const uint64_t *)va;
	fprintf(stderr, "child: survived the touch\n");
	_exit(3);
}

static void expect_use_after_kunmap(struct uak a)
{
	struct child c;
	uint64_t pfn = L16 / PG + a.idx;
	unsigned slot = a.pre + 1; /* a fresh window fills from slot 1 */
	char want[128], touched[128];
	run_child(use_after_kunmap_child, &a, &c);
	snprintf(touched, sizeof(touched), "child: touching pfn %llu in slot %u\n",
	         (unsigned long long)pfn, slot);
	KT_CHILD(&c, SIGSEGV, touched);
	snprintf(want, sizeof(want), "kmap: use after kunmap of pfn %llu (slot %u)\n",
	         (unsigned long long)pfn, slot);
	KT_CHILD(&c, SIGSEGV, want);
	assert_null(strstr(c.err, "survived"));
}

static void debug_use_after_kunmap(void **state)
{
	(void)state;
	expect_use_after_kunmap((struct uak){ .how = DBG_FLAG, .pre = 0,
	                                      .idx = 5, .users = 1 });
	expect_use_after_kunmap((struct uak){ .how = DBG_FLAG, .pre = 6,
	                                      .idx = 123, .write = 1, .users = 1 });
	/* three users: only the last kunmap takes the page away */
	expect_use_after_kunmap((struct uak){ .how = DBG_FLAG, .pre = 300,
	                                      .idx = 12000, .users = 3 });
}

static void debug_from_env(void **state)
{
	(void)state;
	expect_use_after_kunmap((struct uak){ .how = DBG_ENV, .pre = 2,
	                                      .idx = 77, .users = 1 });
	expect_use_after_kunmap((struct uak){ .how = DBG_ENV, .pre = 510,
	                                      .idx = 4000, .write = 1, .users = 2 });
}

/* Without debug mode (no flag; KMAP_DEBUG unset, "0" or empty) a slot
 * without users keeps its page until the flush: a stale pointer reads it. */
static void no_debug_child(void *arg)
{
	const char *env = arg;
	if (env)
		CHILD_CHECK(setenv("KMAP_DEBUG", env, 1) == 0);
	else
		unsetenv("KMAP_DEBUG");
	km_machine *m = child_machine(0, 0);
	uint64_t pfn = L16 / PG + 9;
	km_page *p = km_pfn_to_page(m, pfn);
	void *va;
	CHILD_CHECK(km_kmap(m, p, &va) == 0);
	fill(va, pfn, 4);
	CHILD_CHECK(km_kunmap(m, p) == 0);
	char perms[5];
	perms_at(va, perms);
	CHILD_CHECK(strcmp(perms, "rw-s") == 0);
	CHILD_CHECK(bad_words(va, pfn, 4) == 0);
	km_machine_destroy(m);
	_exit(0);
}

static void debug_off(void **state)
{
	(void)state;
	struct child c;
	run_child(no_debug_child, NULL, &c);
	KT_CHILD(&c, 0, NULL);
	run_child(no_debug_child, "0", &c);
	KT_CHILD(&c, 0, NULL);
	run_child(no_debug_child, "", &c);
	KT_CHILD(&c, 0, NULL);
}

#define PERMS_ARE(va, want)                                                  \
	do {                                                                 \
		char p_[5];                                                  \
		perms_at((va), p_);                                          \
		if (strcmp(p_, (want))) {                                    \
			fprintf(stderr, "child: line %d: perms \"%s\", "        \
			        "expected \"%s\"\n", __LINE__, p_, (want));    \
			_exit(11);                                           \
		}                                                            \
	} while (0)

/* A hit on a slot without users makes it usable again. */
static void reenable_child(void *unused)
{
	(void)unused;
	unsetenv("KMAP_DEBUG");
	/* Kirkwood's kernel, for kmap_high_get below */
	struct km_config cfg;
	host_config(&cfg, 64 * MiB, L16, 0, KM_DEBUG, NULL);
	cfg.profile = "arm-marvell";
	km_machine *m = NULL;
	CHILD_CHECK(km_machine_create(&cfg, &m) == 0);
	uint64_t pfn = L16 / PG + 7;
	km_page *p = km_pfn_to_page(m, pfn);
	void *va, *vb;
	enum km_how how;
	CHILD_CHECK(km_kmap_ex(m, p, 0, 0, &va, &how) == 0 && how == KM_HOW_NEW);
	PERMS_ARE(va, "rw-s");
	fill(va, pfn, 1);
	CHILD_CHECK(km_kmap(m, p, &vb) == 0 && vb == va);
	CHILD_CHECK(km_kunmap(m, p) == 0);
	PERMS_ARE(va, "rw-s"); /* one user left */
	CHILD_CHECK(km_kunmap(m, p) == 0);
	PERMS_ARE(va, "---s"); /* count 1: taken away */

	/* kmap again: a hit, the same address, accessible, the data kept */
	CHILD_CHECK(km_kmap_ex(m, p, 0, 0, &vb, &how) == 0 && how == KM_HOW_HIT);
	CHILD_CHECK(vb == va);
	PERMS_ARE(va, "rw-s");
	CHILD_CHECK(bad_words(va, pfn, 1) == 0);
	fill(va, pfn, 2);
	CHILD_CHECK(km_kunmap(m, p) == 0);
	PERMS_ARE(va, "---s");

	/* kmap_high_get does the same */
	CHILD_CHECK(km_kmap_high_get(m, p, &vb) == 0 && vb == va);
	PERMS_ARE(va, "rw-s");
	CHILD_CHECK(bad_words(va, pfn, 2) == 0);
	CHILD_CHECK(km_kunmap(m, p) == 0);
	PERMS_ARE(va, "---s");

	/* after the flush the slot is free; a new map of it is accessible */
	CHILD_CHECK(km_kmap_flush_unused(m) == 0);
	PERMS_ARE(va, "---p");
	CHILD_CHECK(km_kmap_ex(m, p, 0, 0, &vb, &how) == 0 && how == KM_HOW_NEW);
	PERMS_ARE(vb, "rw-s");
	CHILD_CHECK(bad_words(vb, pfn, 2) == 0);
	CHILD_CHECK(km_kunmap(m, p) == 0);
	CHILD_CHECK(km_check(m, NULL, 0) == 0);

	/* destroy gives SIGSEGV back to its previous owner */
	km_machine_destroy(m);
	struct sigaction sa;
	CHILD_CHECK(sigaction(SIGSEGV, NULL, &sa) == 0);
	CHILD_CHECK(!(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL);
	_exit(0);
}

static void debug_hit_reenables(void **state)
{
	(void)state;
	struct child c;
	run_child(reenable_child, NULL, &c);
	KT_CHILD(&c, 0, NULL);
	assert_null(strstr(c.err, "kmap:"));
}

/* Mappings held at destroy are listed. */
static void leak_child(void *arg)
{
	unsigned flags = (unsigned)(uintptr_t)arg;
	unsetenv("KMAP_DEBUG");
	km_machine *m = child_machine(flags, 0);
	uint64_t lo = L16 / PG;
	void *va;
	CHILD_CHECK(km_kmap(m, km_pfn_to_page(m, lo + 1), &va) == 0);
	CHILD_CHECK(km_kmap(m, km_pfn_to_page(m, lo + 1), &va) == 0);
	CHILD_CHECK(km_kmap(m, km_pfn_to_page(m, lo + 2), &va) == 0);
	CHILD_CHECK(km_kmap(m, km_pfn_to_page(m, lo + 4), &va) == 0);
	CHILD_CHECK(km_kunmap(m, km_pfn_to_page(m, lo + 4)) == 0);
	CHILD_CHECK(km_kmap_local_page(m, km_pfn_to_page(m, lo + 3), &va) == 0);
	struct km_leak l[4];
	CHILD_CHECK(km_leaks(m, l, 4) == 2);
	CHILD_CHECK(l[0].pfn == lo + 1 && l[0].users == 2);
	CHILD_CHECK(l[1].pfn == lo + 2 && l[1].users == 1);
	km_machine_destroy(m);
	fprintf(stderr, "child: destroyed\n");
	_exit(0);
}

static void debug_leaks(void **state)
{
	(void)state;
	struct child c;
	run_child(leak_child, (void *)(uintptr_t)KM_DEBUG, &c);
	KT_CHILD(&c, 0, "kmap: leak: pfn 4097 still mapped in slot 1 (2 users)\n");
	KT_CHILD(&c, 0, "kmap: leak: pfn 4098 still mapped in slot 2 (1 users)\n");
	KT_CHILD(&c, 0, "kmap: leak: pfn 4099 still mapped locally");
	KT_CHILD(&c, 0, "child: destroyed");
	assert_null(strstr(c.err, "pfn 4100")); /* kunmapped: no leak */
	/* the report comes before the machine is gone */
	assert_true(strstr(c.err, "kmap: leak") < strstr(c.err, "child: destroyed"));
	/* without debug mode, destroy is silent */
	run_child(leak_child, (void *)(uintptr_t)0, &c);
	KT_CHILD(&c, 0, "child: destroyed");
	assert_null(strstr(c.err, "kmap:"));
}

/* a use after kunmap_local: local slot @arg is touched after its unmap */
static void local_uak_child(void *arg)
{
	unsigned which = (unsigned)(uintptr_t)arg;
	unsetenv("KMAP_DEBUG");
	km_machine *m = child_machine(KM_DEBUG, 0);
	uint64_t lo = L16 / PG;
	void *va[3];
	for (unsigned i = 0; i < 3; i++) {
		CHILD_CHECK(km_kmap_local_page(m, km_pfn_to_page(m, lo + 50 + i),
		                               &va[i]) == 0);
		fill(va[i], lo + 50 + i, 1);
	}
	for (unsigned i = 3; i-- > which;)
		CHILD_CHECK(km_kunmap_local(m, va[i]) == 0);
	for (unsigned i = 0; i < which; i++)
		CHILD_CHECK(bad_words(va[i], lo + 50 + i, 1) == 0);
	fprintf(stderr, "child: touching local slot %u\n", which);
	(void)*(volatile const uint64_t *)va[which];
	fprintf(stderr, "child: survived the touch\n");
	_exit(3);
}

static void debug_use_after_kunmap_local(void **state)
{
	(void)state;
	struct child c;
	for (unsigned which = 0; which < 3; which++) {
		char want[96];
		run_child(local_uak_child, (void *)(uintptr_t)which, &c);
		snprintf(want, sizeof(want),
		         "kmap: use after kunmap_local (local slot %u)\n", which);
		KT_CHILD(&c, SIGSEGV, want);
	}
}

/* A fault elsewhere is not ours: no report, the default action. */
static void not_ours_child(void *unused)
{
	(void)unused;
	km_machine *m = child_machine(KM_DEBUG, 0);
	void *va;
	CHILD_CHECK(km_kmap(m, km_pfn_to_page(m, L16 / PG + 1), &va) == 0);
	CHILD_CHECK(km_kunmap(m, km_pfn_to_page(m, L16 / PG + 1)) == 0);
	char *own = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(own != MAP_FAILED);
	fprintf(stderr, "child: touching a page of its own\n");
	(void)*(volatile const char *)own;
	_exit(3);
}

static void debug_other_faults(void **state)
{
	(void)state;
	struct child c;
	run_child(not_ours_child, NULL, &c);
	KT_CHILD(&c, SIGSEGV, "child: touching a page of its own");
	assert_null(strstr(c.err, "kmap:"));
}

/* Two debug machines: each fault is reported for the machine it hit,
 * and destroying one leaves the other's reports working. */
static void two_machines_child(void *unused)
{
	(void)unused;
	km_machine *a = child_machine(KM_DEBUG, 8);
	km_machine *b = child_machine(KM_DEBUG, 16);
	uint64_t lo = L16 / PG;
	void *va;
	for (unsigned i = 0; i < 3; i++) {
		CHILD_CHECK(km_kmap(b, km_pfn_to_page(b, lo + 100 + i), &va) == 0);
		CHILD_CHECK(km_kunmap(b, km_pfn_to_page(b, lo + 100 + i)) == 0);
	}
	CHILD_CHECK(km_kmap(a, km_pfn_to_page(a, lo + 200), &va) == 0);
	km_machine_destroy(a);
	fprintf(stderr, "child: touching a's old window\n");
	(void)*(volatile const uint64_t *)va; /* gone with a */
	_exit(3);
}

static void two_machines_b_child(void *unused)
{
	(void)unused;
	km_machine *a = child_machine(KM_DEBUG, 8);
	km_machine *b = child_machine(KM_DEBUG, 16);
	uint64_t lo = L16 / PG;
	void *va;
	for (unsigned i = 0; i < 3; i++) {
		CHILD_CHECK(km_kmap(b, km_pfn_to_page(b, lo + 100 + i), &va) == 0);
		CHILD_CHECK(km_kunmap(b, km_pfn_to_page(b, lo + 100 + i)) == 0);
	}
	CHILD_CHECK(km_kmap(a, km_pfn_to_page(a, lo + 200), &va) == 0);
	km_machine_destroy(a);
	CHILD_CHECK(km_kmap(b, km_pfn_to_page(b, lo + 100), &va) == 0);
	CHILD_CHECK(km_kunmap(b, km_pfn_to_page(b, lo + 100)) == 0);
	fprintf(stderr, "child: touching b's page\n");
	(void)*(volatile const uint64_t *)va;
	_exit(3);
}

static void debug_two_machines(void **state)
{
	(void)state;
	struct child c;
	/* a's window was unmapped by its destroy: an ordinary fault there */
	run_child(two_machines_child, NULL, &c);
	KT_CHILD(&c, SIGSEGV, "child: touching");
	assert_null(strstr(c.err, "kmap: use after"));
	run_child(two_machines_b_child, NULL, &c);
	KT_CHILD(&c, SIGSEGV, "kmap: use after kunmap of pfn 4196 (slot 1)\n");
}

/* ================================================================== */
/* 4. Errors                                                           */
/* ================================================================== */

static void sigsegv_now(struct sigaction *sa)
{
	KT_EQ(sigaction(SIGSEGV, NULL, sa), 0);
}

/* km_machine_create fails with @want, leaving nothing behind */
static void create_fails_(const struct km_config *cfg, enum fi_call which,
                          unsigned at, int err, int want, const char *file,
                          int line)
{
	struct sigaction before, after;
	sigsegv_now(&before);
	fi_install(which, at, err);
	km_machine *m = (km_machine *)&fi; /* must come back NULL */
	int r = km_machine_create(cfg, &m);
	fi_restore();
	if (r != want || m || (which != FI_NONE && fi.failed != 1) || fi.nlive ||
	    fd_is_open(fi.fd)) {
		print_error("%s:%d: km_machine_create with call %d failing (%s): "
		            "returned %d (%s), expected %d (%s); machine %p; "
		            "%u injected failures; %u mappings left; fd %d %s\n",
		            file, line, which, strerror(err), r, km_strerror(r),
		            want, km_strerror(want), (void *)m, fi.failed, fi.nlive,
		            fi.fd, fd_is_open(fi.fd) ? "left open" : "closed");
		if (!r)
			km_machine_destroy(m);
		_fail(file, line);
	}
	sigsegv_now(&after);
	assert_true(before.sa_handler == after.sa_handler);
	KT_EQ(before.sa_flags, after.sa_flags);
}
#define CREATE_FAILS(cfg, which, at, err, want) \
	create_fails_((cfg), (which), (at), (err), (want), __FILE__, __LINE__)

/* and once nothing fails, a machine builds, works and leaves nothing */
static void create_works(const struct km_config *cfg)
{
	fi_install(FI_NONE, 0, 0);
	km_machine *m = kt_machine_cfg(cfg);
	km_page *p = page_at(m, kt_layout(m).max_low_pfn);
	void *va;
	KT_OK(km_kmap(m, p, &va));
	fill(va, 1, 1);
	KT_OK(km_kunmap(m, p));
	KT_OK(km_kmap_local_page(m, p, &va));
	KT_PAGE_IS(va, 1, 1);
	KT_OK(km_kunmap_local(m, va));
	int fd = fi.fd;
	assert_true(fd_is_open(fd));
	km_machine_destroy(m);
	fi_restore();
	KT_EQ(fi.nlive, 0);
	assert_false(fd_is_open(fd));
}

static void create_errors_memfd(void **state)
{
	(void)state;
	struct km_config cfg;
	host_config(&cfg, 64 * MiB, L16, 0, 0, NULL);
	CREATE_FAILS(&cfg, FI_MEMFD, 1, EMFILE, -EMFILE);
	CREATE_FAILS(&cfg, FI_MEMFD, 1, ENFILE, -ENFILE);
	CREATE_FAILS(&cfg, FI_FTRUNCATE, 1, ENOSPC, -ENOSPC);
	CREATE_FAILS(&cfg, FI_FTRUNCATE, 1, EFBIG, -EFBIG);
	CREATE_FAILS(&cfg, FI_MMAP_LOWMEM, 1, ENOMEM, -ENOMEM);
	CREATE_FAILS(&cfg, FI_MMAP_LOWMEM, 1, ENODEV, -ENODEV);
	CREATE_FAILS(&cfg, FI_MMAP_RESERVE, 1, ENOMEM, -ENOMEM);
	CREATE_FAILS(&cfg, FI_MMAP_RESERVE, 1, EAGAIN, -EAGAIN);
	/* debug mode: the SIGSEGV handler is not left installed either */
	cfg.flags = KM_DEBUG;
	CREATE_FAILS(&cfg, FI_MMAP_RESERVE, 1, ENOMEM, -ENOMEM);
	CREATE_FAILS(&cfg, FI_MMAP_LOWMEM, 1, ENOMEM, -ENOMEM);
	cfg.flags = 0;
	create_works(&cfg);
	/* lowmem_bytes 0: the default 64 MiB, here all of memory, mapped */
	host_config(&cfg, 8 * MiB, 0, 0, 0, NULL);
	CREATE_FAILS(&cfg, FI_MMAP_LOWMEM, 1, ENOMEM, -ENOMEM);
}

/* open, ftruncate and mmap as the backend does them, for the errno a
 * path genuinely fails with (0 when it does not) */
static int probe_path(const char *path, uint64_t mem, uint64_t lowmem)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644), r = 0;
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st))
		r = -errno;
	else if ((uint64_t)st.st_size < mem && st.st_size)
		r = -EINVAL;
	else if ((uint64_t)st.st_size < mem && ftruncate(fd, (off_t)mem))
		r = -errno;
	if (!r) {
		void *p = mmap(NULL, (size_t)lowmem, PROT_READ | PROT_WRITE,
		               MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			r = -errno;
		else
			munmap(p, (size_t)lowmem);
	}
	close(fd);
	return r;
}

static void create_errors_file(void **state)
{
	(void)state;
	struct km_config cfg;
	const char *path = tmp_file();
	host_config(&cfg, 64 * MiB, L16, 0, 0, path);
	CREATE_FAILS(&cfg, FI_OPEN, 1, EACCES, -EACCES);
	CREATE_FAILS(&cfg, FI_OPEN, 1, EROFS, -EROFS);
	CREATE_FAILS(&cfg, FI_FTRUNCATE, 1, ENOSPC, -ENOSPC);
	KT_EQ(file_size(path), 0); /* not grown */
	CREATE_FAILS(&cfg, FI_MMAP_RESERVE, 1, ENOMEM, -ENOMEM);
	CREATE_FAILS(&cfg, FI_MMAP_LOWMEM, 1, ENOMEM, -ENOMEM);
	create_works(&cfg);
	KT_EQ(file_size(path), 64 * MiB);
	/* an existing file is never grown or shrunk */
	cfg.mem_bytes = 128 * MiB;
	CREATE_FAILS(&cfg, FI_NONE, 0, 0, -EINVAL);
	KT_EQ(file_size(path), 64 * MiB);
	KT_EQ(fi.calls[FI_FTRUNCATE], 0);
	cfg.mem_bytes = 0;
	create_works(&cfg);
	KT_EQ(file_size(path), 64 * MiB);

	/* a file smaller than mem_bytes, with data: -EINVAL, data kept */
	const char *small = tmp_file();
	int fd = open(small, O_WRONLY);
	assert_true(fd >= 0);
	char buf[8192];
	memset(buf, 0x3c, sizeof(buf));
	KT_EQ(write(fd, buf, sizeof(buf)), sizeof(buf));
	close(fd);
	host_config(&cfg, 64 * MiB, L16, 0, 0, small);
	CREATE_FAILS(&cfg, FI_NONE, 0, 0, -EINVAL);
	KT_EQ(file_size(small), 8192);
	fd = open(small, O_RDONLY);
	char back[8192];
	KT_EQ(read(fd, back, sizeof(back)), sizeof(back));
	close(fd);
	assert_memory_equal(buf, back, sizeof(buf));
	/* ... but mem_bytes 0 takes it as it is: two pages */
	cfg.mem_bytes = 0;
	km_machine *m = kt_machine_cfg(&cfg);
	KT_EQ(kt_layout(m).mem_bytes, 8192);
	KT_EQ(((unsigned char *)km_lowmem_page_address(m, page_at(m, 1)))[5], 0x3c);
	km_machine_destroy(m);

	/* an empty file needs mem_bytes; read-only, it cannot be grown */
	const char *empty = tmp_file();
	host_config(&cfg, 0, L16, 0, 0, empty);
	CREATE_FAILS(&cfg, FI_NONE, 0, 0, -EINVAL);
	host_config(&cfg, 64 * MiB, L16, 0, KM_RDONLY, empty);
	CREATE_FAILS(&cfg, FI_NONE, 0, 0, -EINVAL);
	KT_EQ(file_size(empty), 0);
	/* less than a page */
	fd = open(empty, O_WRONLY);
	KT_EQ(write(fd, buf, 100), 100);
	close(fd);
	host_config(&cfg, 0, L16, 0, 0, empty);
	CREATE_FAILS(&cfg, FI_NONE, 0, 0, -EINVAL);

	/* places that genuinely fail */
	host_config(&cfg, 64 * MiB, L16, 0, 0, "/nonexistent-kmap-dir/mem");
	CREATE_FAILS(&cfg, FI_NONE, 0, 0, -ENOENT);
	cfg.mem_bytes = 0; /* the size is asked first */
	CREATE_FAILS(&cfg, FI_NONE, 0, 0, -ENOENT);
	char none[64];
	snprintf(none, sizeof(none), "/tmp/kmap-host-test-none-%d", (int)getpid());
	unlink(none);
	host_config(&cfg, 64 * MiB, L16, 0, KM_RDONLY, none);
	CREATE_FAILS(&cfg, FI_NONE, 0, 0, -ENOENT);
	assert_true(access(cfg.mem_path, F_OK) != 0); /* not created */
	host_config(&cfg, 64 * MiB, L16, 0, 0, "/tmp");
	CREATE_FAILS(&cfg, FI_NONE, 0, 0, -EISDIR);
	host_config(&cfg, 64 * MiB, L16, 0, 0, "/proc/kmap-host-test");
	CREATE_FAILS(&cfg, FI_NONE, 0, 0, -ENOENT);
	/* /proc/version: even root cannot use it as memory */
	int want = probe_path("/proc/version", 64 * MiB, L16);
	assert_true(want < 0);
	print_message("/proc/version fails with %d (%s)\n", want, strerror(-want));
	host_config(&cfg, 64 * MiB, L16, 0, 0, "/proc/version");
	CREATE_FAILS(&cfg, FI_NONE, 0, 0, want);
	cfg.mem_bytes = 0; /* size 0: an empty file */
	CREATE_FAILS(&cfg, FI_NONE, 0, 0, -EINVAL);
}

static void stats_same_(const struct km_stats *a, const struct km_stats *b,
                        const char *file, int line)
{
	if (a->kmaps != b->kmaps || a->hits != b->hits ||
	    a->new_maps != b->new_maps || a->kunmaps != b->kunmaps ||
	    a->pte_sets != b->pte_sets || a->clear_runs != b->clear_runs ||
	    a->slots_cleared != b->slots_cleared || a->in_use != b->in_use ||
	    a->mapped != b->mapped || a->local_maps != b->local_maps ||
	    a->errors != b->errors || a->sleeps != b->sleeps) {
		print_error("%s:%d: stats changed: kmaps %llu->%llu new %llu->%llu "
		            "pte_sets %llu->%llu clear_runs %llu->%llu slots_cleared "
		            "%llu->%llu in_use %u->%u mapped %u->%u local %llu->%llu "
		            "errors %llu->%llu sleeps %llu->%llu\n",
		            file, line, (unsigned long long)a->kmaps,
		            (unsigned long long)b->kmaps, (unsigned long long)a->new_maps,
		            (unsigned long long)b->new_maps,
		            (unsigned long long)a->pte_sets,
		            (unsigned long long)b->pte_sets,
		            (unsigned long long)a->clear_runs,
		            (unsigned long long)b->clear_runs,
		            (unsigned long long)a->slots_cleared,
		            (unsigned long long)b->slots_cleared, a->in_use, b->in_use,
		            a->mapped, b->mapped, (unsigned long long)a->local_maps,
		            (unsigned long long)b->local_maps,
		            (unsigned long long)a->errors, (unsigned long long)b->errors,
		            (unsigned long long)a->sleeps, (unsigned long long)b->sleeps);
		_fail(file, line);
	}
}
#define KT_STATS_SAME(a, b) stats_same_((a), (b), __FILE__, __LINE__)

/* set_pte failing at kmap time: the error, nothing changed, the next kmap
 * takes the slot the failed one would have. */
static void kmap_set_pte_fails(void **state)
{
	(void)state;
	km_machine *m = host(64 * MiB, L16, 8, KM_STRICT | KM_CHECK);
	uint64_t lo = kt_layout(m).max_low_pfn;
	km_page *held = page_at(m, lo + 5), *p = page_at(m, lo + 1);
	void *va;
	KT_OK(km_kmap(m, held, &va));
	KT_EQ(kt_slot_of(m, va), 1);
	static struct kt_slots s0, s1;
	kt_slots_get(m, &s0);
	struct km_stats st0 = kt_stats(m), st1;
	uint64_t maps0 = host_maps(m);

	for (unsigned how = 0; how < 4; how++) {
		void *out = (void *)&s0;
		int r;
		fi_install(FI_MMAP_SET, 1, ENOMEM);
		switch (how) {
		case 0: r = km_kmap(m, p, &out); break;
		case 1: r = km_kmap_try(m, p, &out); break;
		case 2: r = km_kmap_timeout(m, p, 1000000, &out); break;
		default: r = km_kmap_ex(m, p, 0, 0, &out, NULL); break;
		}
		fi_restore();
		KT_RC(r, -ENOMEM);
		KT_EQ(fi.failed, 1);
		assert_ptr_equal(out, (void *)&s0); /* not written */
		kt_slots_get(m, &s1);
		KT_SLOTS_SAME(&s0, &s1);
		st1 = kt_stats(m);
		KT_STATS_SAME(&st0, &st1);
		assert_null(km_page_address(m, p));
		KT_EQ(host_maps(m), maps0);
		KT_CHECK(m);
	}
	/* another errno comes back as it is */
	fi_install(FI_MMAP_SET, 1, ENFILE);
	KT_RC(km_kmap(m, p, &va), -ENFILE);
	fi_restore();
	KT_CHECK(m);

	/* the next kmap works, in slot 2 as if nothing had happened */
	KT_OK(km_kmap(m, p, &va));
	KT_EQ(kt_slot_of(m, va), 2);
	fill(va, lo + 1, 1);
	KT_OK(km_kunmap(m, p));

	/* after a wrap: the flush runs, then set_pte fails */
	for (unsigned i = 0; i < 5; i++) {
		KT_OK(km_kmap(m, page_at(m, lo + 10 + i), &va));
		KT_EQ(kt_slot_of(m, va), 3 + i);
		KT_OK(km_kunmap(m, page_at(m, lo + 10 + i)));
	}
	fi_install(FI_MMAP_SET, 1, ENOMEM);
	KT_RC(km_kmap(m, page_at(m, lo + 20), &va), -ENOMEM);
	fi_restore();
	assert_null(km_page_address(m, page_at(m, lo + 20)));
	KT_SLOT(m, 1, 2, lo + 5);
	KT_CHECK(m);
	KT_OK(km_kmap(m, page_at(m, lo + 20), &va));
	KT_EQ(kt_slot_of(m, va), 0);
	KT_OK(km_kunmap(m, page_at(m, lo + 20)));
	/* lowmem needs no mapping: unaffected */
	fi_install(FI_MMAP_SET, 0, ENOMEM);
	KT_OK(km_kmap(m, page_at(m, 3), &va));
	KT_OK(km_kunmap(m, page_at(m, 3)));
	fi_restore();
	KT_OK(km_kunmap(m, held));
	KT_EQ(kt_stats(m).errors, 0); /* a backend error is no misuse */
	KT_CHECK(m);
	KT_STATS_SANE(m);
	km_machine_destroy(m);
}

/* clear_ptes failing in the flush: the kmap reports it; a run that could
 * not be cleared stays mapped with count 1; the next calls work. */
static void flush_clear_fails(void **state)
{
	(void)state;
	km_machine *m = host(64 * MiB, L16, 8, KM_STRICT | KM_CHECK);
	uint64_t lo = kt_layout(m).max_low_pfn;
	void *va[7], *v;
	for (unsigned i = 0; i < 7; i++) {
		KT_OK(km_kmap(m, page_at(m, lo + i), &va[i]));
		KT_EQ(kt_slot_of(m, va[i]), i + 1);
		fill(va[i], lo + i, 1);
		if (i != 3)
			KT_OK(km_kunmap(m, page_at(m, lo + i)));
	}
	static struct kt_slots s0, s1;
	kt_slots_get(m, &s0);
	struct km_stats st0 = kt_stats(m), st1;
	km_page *np = page_at(m, lo + 30);

	/* both runs fail */
	fi_install(FI_MMAP_CLEAR, 0, ENOMEM);
	KT_RC(km_kmap(m, np, &v), -ENOMEM);
	KT_EQ(fi.failed, 2);
	KT_EQ(fi.calls[FI_MMAP_SET], 0);
	/* a hit needs no call: it works meanwhile */
	KT_OK(km_kmap(m, page_at(m, lo + 1), &v));
	assert_ptr_equal(v, va[1]);
	KT_OK(km_kunmap(m, page_at(m, lo + 1)));
	KT_RC(km_kmap_flush_unused(m), -ENOMEM);
	fi_restore();
	kt_slots_get(m, &s1);
	KT_SLOTS_SAME(&s0, &s1);
	st1 = kt_stats(m);
	KT_EQ(st1.clear_runs, st0.clear_runs);
	KT_EQ(st1.slots_cleared, st0.slots_cleared);
	KT_EQ(st1.pte_sets, st0.pte_sets);
	KT_EQ(st1.new_maps, st0.new_maps);
	KT_EQ(st1.errors, 0);
	assert_null(km_page_address(m, np));
	KT_CHECK(m);
	for (unsigned i = 0; i < 7; i++) {
		KT_PERMS(va[i], "rw-s"); /* still mapped */
		KT_PAGE_IS(va[i], lo + i, 1);
	}

	/* the first run fails, the second is cleared */
	fi_install(FI_MMAP_CLEAR, 1, ENOMEM);
	KT_RC(km_kmap(m, np, &v), -ENOMEM);
	KT_EQ(fi.calls[FI_MMAP_CLEAR], 2);
	fi_restore();
	for (unsigned i = 0; i < 3; i++)
		KT_SLOT(m, i + 1, 1, lo + i);
	KT_SLOT(m, 4, 2, lo + 3);
	for (unsigned i = 4; i < 7; i++) {
		KT_SLOT(m, i + 1, 0, NONE);
		KT_PERMS(va[i], "---p");
	}
	KT_EQ(kt_stats(m).clear_runs, st0.clear_runs + 1);
	KT_CHECK(m);

	/* everything works again */
	KT_OK(km_kmap(m, np, &v));
	KT_EQ(kt_slot_of(m, v), 0);
	KT_OK(km_kunmap(m, np));
	for (unsigned i = 0; i < 7; i++) {
		KT_OK(km_kmap(m, page_at(m, lo + i), &v));
		KT_PAGE_IS(v, lo + i, 1);
		KT_OK(km_kunmap(m, page_at(m, lo + i)));
	}
	KT_OK(km_kunmap(m, page_at(m, lo + 3)));
	KT_OK(km_kmap_flush_unused(m));
	KT_EQ(kt_stats(m).mapped, 0);
	KT_EQ(kt_stats(m).errors, 0);
	KT_CHECK(m);
	KT_STATS_SANE(m);
	km_machine_destroy(m);
}

static void local_errors(void **state)
{
	(void)state;
	km_machine *m = host(64 * MiB, L16, 0, KM_STRICT | KM_CHECK);
	uint64_t lo = kt_layout(m).max_low_pfn;
	km_page *p = page_at(m, lo + 2);
	void *va = NULL;
	struct km_stats st0 = kt_stats(m), st1;

	/* the thread's local-map area cannot be reserved */
	fi_install(FI_MMAP_RESERVE, 1, ENOMEM);
	KT_RC(km_kmap_local_page(m, p, &va), -ENOMEM);
	fi_restore();
	assert_null(va);
	/* set_pte of the local slot fails */
	fi_install(FI_MMAP_SET, 1, ENOMEM);
	KT_RC(km_kmap_local_page(m, p, &va), -ENOMEM);
	KT_EQ(fi.calls[FI_MMAP_RESERVE], 1); /* the area, this time */
	fi_restore();
	assert_null(va);
	fi_install(FI_MMAP_SET, 1, ENOMEM);
	KT_RC(km_kmap_atomic(m, p, &va), -ENOMEM);
	fi_restore();
	KT_EQ(km_in_atomic(m), 0);
	/* a copy helper's pwrite fails: its error, nothing counted */
	fi_install(FI_PWRITE, 1, ENOSPC);
	unsigned char buf[64];
	memset(buf, 0x77, sizeof(buf));
	KT_RC(km_memcpy_to_page(m, p, 0, buf, sizeof(buf)), -ENOSPC);
	KT_EQ(fi.calls[FI_PWRITE], 1);
	fi_restore();
	/* a page read for the first time, not next to the last one, is read
	 * (not mapped, not a scan): its pread fails */
	fi_install(FI_PREAD, 1, EIO);
	KT_RC(km_memcpy_from_page(m, buf, page_at(m, lo + 100), 0, sizeof(buf)),
	      -EIO);
	fi_restore();
	st1 = kt_stats(m);
	KT_STATS_SAME(&st0, &st1);
	KT_CHECK(m);

	/* it works now; the page was not written by the failed copy */
	KT_OK(km_kmap_local_page(m, p, &va));
	KT_EQ(nonzero_words(va), 0);
	fill(va, lo + 2, 1);
	/* kunmap_local whose clear fails: the mapping stays, usable */
	fi_install(FI_MMAP_CLEAR, 1, ENOMEM);
	KT_RC(km_kunmap_local(m, va), -ENOMEM);
	fi_restore();
	KT_PERMS(va, "rw-s");
	KT_PAGE_IS(va, lo + 2, 1);
	assert_ptr_equal(km_kmap_to_page(m, va), p);
	KT_CHECK(m);
	KT_OK(km_kunmap_local(m, va));
	KT_PERMS(va, "---p");
	KT_EQ(kt_stats(m).errors, 0);
	KT_CHECK(m);
	km_machine_destroy(m);
}

/*
 * A task switch whose clear fails part-way through the old task's local
 * maps (or whose set of the new task's fails): the old task stays current
 * and every map of it stays live, on the right page.
 */
static void switch_clear_fails(void **state)
{
	(void)state;
	km_machine *m = host(64 * MiB, L16, 8, KM_STRICT | KM_CHECK);
	uint64_t lo = kt_layout(m).max_low_pfn;
	km_task *A = NULL, *B = NULL;
	void *xa[3], *xb;
	KT_OK(km_task_create(m, &A));
	KT_OK(km_task_create(m, &B));
	KT_OK(km_task_switch(m, B));
	KT_OK(km_kmap_local_page(m, page_at(m, lo + 20), &xb));
	fill(xb, lo + 20, 1);
	KT_OK(km_task_switch(m, A));
	for (unsigned i = 0; i < 3; i++) {
		KT_OK(km_kmap_local_page(m, page_at(m, lo + 10 + i), &xa[i]));
		fill(xa[i], lo + 10 + i, 1);
	}
	for (unsigned at = 1; at <= 4; at++) {
		/* the at-th clear of A's maps fails; the 4th: B's set */
		fi_install(at <= 3 ? FI_MMAP_CLEAR : FI_MMAP_SET,
		           at <= 3 ? at : 1, ENOMEM);
		KT_RC(km_task_switch(m, B), -ENOMEM);
		fi_restore();
		KT_EQ(fi.failed, 1);
		for (unsigned i = 0; i < 3; i++) {
			KT_PERMS(xa[i], "rw-s");
			KT_PAGE_IS(xa[i], lo + 10 + i, 1);
		}
		KT_EQ(km_task_local_depth(m, A), 3);
		KT_CHECK(m);
	}
	KT_OK(km_task_switch(m, B));
	KT_PAGE_IS(xb, lo + 20, 1);
	KT_PERMS(xa[1], "---p");
	KT_OK(km_kunmap_local(m, xb));
	KT_OK(km_task_switch(m, A));
	for (int i = 2; i >= 0; i--) {
		KT_PAGE_IS(xa[i], lo + 10 + (unsigned)i, 1);
		KT_OK(km_kunmap_local(m, xa[i]));
	}
	KT_OK(km_task_switch(m, NULL));
	KT_OK(km_task_destroy(m, A));
	KT_OK(km_task_destroy(m, B));
	KT_EQ(kt_stats(m).errors, 0);
	KT_CHECK(m);
	km_machine_destroy(m);
}

static void sync_errors(void **state)
{
	(void)state;
	const char *path = tmp_file();
	km_machine *m = file_machine(path, F64, 0);
	fi_install(FI_MSYNC, 1, EIO);
	KT_RC(km_sync(m), -EIO);
	fi_install(FI_FSYNC, 1, EIO);
	KT_RC(km_sync(m), -EIO);
	KT_EQ(fi.calls[FI_MSYNC], 1);
	fi_install(FI_FSYNC, 1, ENOSPC);
	KT_RC(km_sync(m), -ENOSPC);
	fi_restore();
	KT_OK(km_sync(m));
	km_machine_destroy(m);
	/* a memfd syncs too (nothing to write back) */
	m = host(8 * MiB, 0, 0, 0);
	KT_OK(km_sync(m));
	km_machine_destroy(m);
	/* the simulated backend has nothing to sync */
	m = kt_machine("x86-32", 0, 0, 0, 0);
	KT_OK(km_sync(m));
	km_machine_destroy(m);
	KT_RC(km_sync(NULL), -EINVAL);
}

/* munmap failing at destroy: no abort (the mappings are leaked) */
static void destroy_munmap_fails(void **state)
{
	(void)state;
	km_machine *m = host(8 * MiB, 4 * MiB, 0, 0);
	struct km_layout l = kt_layout(m);
	void *va, *lv;
	KT_OK(km_kmap(m, page_at(m, l.max_low_pfn), &va));
	KT_OK(km_kmap_local_page(m, page_at(m, l.max_low_pfn + 1), &lv));
	fi_install(FI_MUNMAP, 0, EINVAL);
	km_machine_destroy(m);
	fi_restore();
	KT_EQ(fi.failed, 3); /* the local area, the window, lowmem */
	/* give the address space back ourselves */
	KT_EQ(munmap((void *)(uintptr_t)l.page_offset, (size_t)l.lowmem_bytes), 0);
	KT_EQ(munmap((void *)(uintptr_t)l.pkmap_base,
	             (size_t)(l.pkmap_end - l.pkmap_base)), 0);
	KT_EQ(munmap((char *)lv - (KM_MAX_IDX - 1) * PG, KM_MAX_IDX * PG), 0);
}

/*
 * km_read and km_write go by the slot's state, not by whether something
 * happens to be mapped there: a slot mapped ahead (KM_SEQUENTIAL), one left
 * mapped for a remap in place (KMAP_HOST_REMAP=1) and one debug mode closed
 * are -EFAULT, nothing copied, though the memory is there.
 */
static void copies_by_slot_state(void **state)
{
	(void)state;
	unsigned char b[16];
	void *va[2];
	km_machine *m = host(64 * MiB, L16, 16, KM_SEQUENTIAL);
	uint64_t lo = kt_layout(m).max_low_pfn;
	/* pfn lo, lo + 1 into slots 1, 2: pfn lo + 2.. mapped ahead into 3.. */
	KT_OK(km_kmap(m, page_at(m, lo), &va[0]));
	KT_OK(km_kmap(m, page_at(m, lo + 1), &va[1]));
	KT_EQ((uintptr_t)va[1] - (uintptr_t)va[0], PG);
	char *ahead = (char *)va[1] + PG;
	KT_PERMS(ahead, "rw-s");
	KT_SLOT(m, kt_slot_of(m, ahead), 0, NONE);
	KT_RC(km_read(m, ahead, b, 8), -EFAULT);
	KT_RC(km_write(m, ahead, b, 8), -EFAULT);
	/* a range from a live slot into it: refused whole */
	memset(b, 0x77, sizeof(b));
	KT_RC(km_write(m, (char *)va[1] + PG - 8, b, 16), -EFAULT);
	KT_EQ(((uint64_t *)va[1])[WORDS - 1], 0);
	/* once the core maps that page there, it reads */
	void *third;
	KT_OK(km_kmap(m, page_at(m, lo + 2), &third));
	assert_ptr_equal(third, ahead);
	KT_OK(km_read(m, ahead, b, 8));
	km_machine_destroy(m);

	/* a remap in place leaves cleared slots mapped */
	setenv("KMAP_HOST_REMAP", "1", 1);
	m = host(64 * MiB, L16, 16, 0);
	unsetenv("KMAP_HOST_REMAP");
	KT_OK(km_kmap(m, page_at(m, lo), &va[0]));
	KT_OK(km_kunmap(m, page_at(m, lo)));
	KT_OK(km_kmap_flush_unused(m));
	KT_PERMS(va[0], "rw-s");
	KT_RC(km_read(m, va[0], b, 8), -EFAULT);
	km_machine_destroy(m);

	/* debug mode: a slot without users is closed */
	m = host(64 * MiB, L16, 16, KM_DEBUG);
	KT_OK(km_kmap(m, page_at(m, lo), &va[0]));
	KT_OK(km_read(m, va[0], b, 8));
	KT_OK(km_kunmap(m, page_at(m, lo)));
	KT_PERMS(va[0], "---s");
	KT_RC(km_read(m, va[0], b, 8), -EFAULT);
	KT_OK(km_kmap(m, page_at(m, lo), &va[0])); /* a hit opens it again */
	KT_OK(km_read(m, va[0], b, 8));
	KT_OK(km_kunmap(m, page_at(m, lo)));
	km_machine_destroy(m);
}

/* Small machines: all memory lowmem when it fits in lowmem_bytes */
static void all_lowmem(void **state)
{
	(void)state;
	km_machine *m = host(8 * MiB, 0, 0, KM_CHECK); /* lowmem 64 MiB default */
	struct km_layout l = kt_layout(m);
	KT_EQ(l.max_low_pfn, l.max_pfn);
	KT_EQ(km_totalhigh_pages(m), 0);
	for (uint64_t pfn = 0; pfn < l.max_pfn; pfn++) {
		void *va;
		KT_OK(km_kmap(m, page_at(m, pfn), &va));
		KT_EQ((uintptr_t)va, l.page_offset + pfn * PG);
		fill(va, pfn, 3);
	}
	for (uint64_t pfn = 0; pfn < l.max_pfn; pfn++)
		KT_PAGE_IS(km_lowmem_page_address(m, page_at(m, pfn)), pfn, 3);
	KT_EQ(kt_stats(m).pte_sets, 0);
	km_machine_destroy(m);
	/* the default lowmem is 64 MiB */
	m = host(256 * MiB, 0, 0, 0);
	KT_EQ(kt_layout(m).lowmem_bytes, 64 * MiB);
	km_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(layout_is_real, teardown),
		cmocka_unit_test_teardown(every_page, teardown),
		cmocka_unit_test_teardown(local_maps, teardown),
		cmocka_unit_test_teardown(local_maps_threads, teardown),
		cmocka_unit_test_teardown(memcpy_helpers, teardown),
		cmocka_unit_test_teardown(clear_runs, teardown),
		cmocka_unit_test_teardown(threads, teardown),
		cmocka_unit_test_teardown(policies_round_trip, teardown),
		cmocka_unit_test_teardown(all_lowmem, teardown),
		cmocka_unit_test_teardown(copies_by_slot_state, teardown),
		cmocka_unit_test_teardown(persist_file, teardown),
		cmocka_unit_test_teardown(persist_sigkill, teardown),
		cmocka_unit_test_teardown(debug_use_after_kunmap, teardown),
		cmocka_unit_test_teardown(debug_from_env, teardown),
		cmocka_unit_test_teardown(debug_off, teardown),
		cmocka_unit_test_teardown(debug_hit_reenables, teardown),
		cmocka_unit_test_teardown(debug_leaks, teardown),
		cmocka_unit_test_teardown(debug_use_after_kunmap_local, teardown),
		cmocka_unit_test_teardown(debug_other_faults, teardown),
		cmocka_unit_test_teardown(debug_two_machines, teardown),
		cmocka_unit_test_teardown(create_errors_memfd, teardown),
		cmocka_unit_test_teardown(create_errors_file, teardown),
		cmocka_unit_test_teardown(kmap_set_pte_fails, teardown),
		cmocka_unit_test_teardown(flush_clear_fails, teardown),
		cmocka_unit_test_teardown(local_errors, teardown),
		cmocka_unit_test_teardown(switch_clear_fails, teardown),
		cmocka_unit_test_teardown(sync_errors, teardown),
		cmocka_unit_test_teardown(destroy_munmap_fails, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
