/*
 * abuse.c - every function of kmap.h called with the bad arguments its
 * documentation does not declare undefined: NULL and foreign handles,
 * pointers into the middle of a struct page, freed and foreign tasks,
 * addresses that map nothing, lengths and offsets that overflow, refused
 * configurations, misuse in the wrong order. Each case runs in a forked
 * child under a time limit, on the simulated and the host backend, every
 * policy, two profiles, and debug mode. A call must give what the header
 * and man pages promise (an error code, NULL, UINT64_MAX ...), and a
 * refused call must change nothing the machine shows (its slots, its
 * statistics but the error count, the local and atomic depth, km_check);
 * a crash, a hang or a sanitizer report fails the case.
 *
 * It also reads the header: a KM_API function without cases here fails the
 * test, so the next function added to kmap.h gets the same treatment.
 *
 *   abuse KMAP_H [-v] [-k CASE-SUBSTRING]
 */
#define _GNU_SOURCE
#include <kmap.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096u
#define MiB (1024ull * 1024)
#define SLOTS 16u           /* a small window: unused slots are easy to find */
#define CHILD_SECONDS 30    /* a case that takes longer hangs */

/* ---------------------------------------------------------------------- */
/* Configurations                                                          */
/* ---------------------------------------------------------------------- */

struct conf {
	enum km_backend_kind backend;
	const char *policy, *profile;
	unsigned flags;
	enum km_memory_model model;
};

static const struct conf confs[] = {
	{ KM_BACKEND_SIM, "linux", "x86-32", 0, KM_FLATMEM },
	{ KM_BACKEND_SIM, "lockfree", "x86-32", 0, KM_FLATMEM },
	{ KM_BACKEND_SIM, "clock", "x86-32", 0, KM_FLATMEM },
	{ KM_BACKEND_SIM, "linux", "arm", 0, KM_FLATMEM },
	{ KM_BACKEND_SIM, "lockfree", "x86-32-pae", 0, KM_FLATMEM },
	{ KM_BACKEND_SIM, "clock", "arm-2g", 0, KM_FLATMEM },
	{ KM_BACKEND_SIM, "linux", "arm-virt", 0, KM_FLATMEM },    /* pfns from PHYS_OFFSET */
	{ KM_BACKEND_SIM, "linux", "arm-marvell", 0, KM_FLATMEM }, /* kmap_high_get */
	{ KM_BACKEND_SIM, "tinylfu", "x86-32", 0, KM_FLATMEM },
	{ KM_BACKEND_SIM, "lockfree", "arm-virt", 0, KM_SPARSEMEM },
	{ KM_BACKEND_SIM, "linux", "x86-32-pae", 0, KM_SPARSEMEM },
	{ KM_BACKEND_HOST, "linux", "x86-32", 0, KM_FLATMEM },
	{ KM_BACKEND_HOST, "lockfree", "x86-32", 0, KM_FLATMEM },
	{ KM_BACKEND_HOST, "clock", "x86-32", 0, KM_FLATMEM },
	{ KM_BACKEND_HOST, "linux", "arm", 0, KM_FLATMEM },
	{ KM_BACKEND_HOST, "lockfree", "arm", KM_SEQUENTIAL, KM_FLATMEM },
	{ KM_BACKEND_HOST, "clock", "arm-marvell", 0, KM_FLATMEM },
	{ KM_BACKEND_HOST, "lockfree", "arm-virt", 0, KM_FLATMEM },
	{ KM_BACKEND_HOST, "tinylfu", "x86-32", 0, KM_FLATMEM },
	{ KM_BACKEND_HOST, NULL, "x86-32", KM_SEQUENTIAL, KM_FLATMEM }, /* the default */
	{ KM_BACKEND_HOST, "linux", "x86-32", KM_DEBUG, KM_FLATMEM },
	{ KM_BACKEND_HOST, "linux", "arm-virt", 0, KM_SPARSEMEM },
};
#define NCONFS (sizeof(confs) / sizeof(confs[0]))

static const char *conf_name(const struct conf *c)
{
	static char b[96];
	snprintf(b, sizeof(b), "%s/%s/%s%s%s%s",
	         c->backend == KM_BACKEND_HOST ? "host" : "sim", c->profile,
	         c->policy ? c->policy : "default", c->flags & KM_DEBUG ? "/debug" : "",
	         c->flags & KM_SEQUENTIAL ? "/sequential" : "",
	         c->model == KM_SPARSEMEM ? "/sparsemem" : "");
	return b;
}

/* 32 MiB, 16 of them lowmem (4096 highmem pages), a window of 16 slots */
static void conf_fill(const struct conf *c, struct km_config *cfg)
{
	km_config_init(cfg);
	cfg->backend = c->backend;
	cfg->policy = c->policy;
	cfg->profile = c->profile;
	cfg->flags = c->flags;
	cfg->memory_model = c->model;
	cfg->mem_bytes = 32 * MiB;
	cfg->lowmem_bytes = 16 * MiB;
	cfg->last_pkmap = SLOTS;
}

/* ---------------------------------------------------------------------- */
/* What a case sees                                                        */
/* ---------------------------------------------------------------------- */

struct snap {
	struct km_stats st;
	struct km_slot slot[SLOTS];
	int in_atomic, leaks;
	uint64_t free_high;
};

struct env {
	const struct conf *c;
	km_machine *m, *other;      /* other: the same configuration again */
	struct km_layout l;
	km_page *high[8], *low;     /* highmem pages, a lowmem page */
	km_page *ohigh;             /* a highmem page of the other machine */
	ptrdiff_t stride;           /* bytes from one struct page to the next */
	bool snapped;
	struct snap before;
	unsigned char buf[2 * PG];
};

static const char *label;  /* the case and its configuration */
static const char *detail; /* which of a case's inputs, when it says */
static unsigned long *ncalls; /* shared with the children: calls checked */
static bool verbose;

#define FAIL(...) \
	do { \
		fprintf(stderr, "FAIL %s: ", label); \
		if (detail) \
			fprintf(stderr, "%s: ", detail); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		_exit(1); \
	} while (0)

/* a setup step that must work (not counted) */
#define MUST(cond) \
	do { \
		if (!(cond)) \
			FAIL("setup: %s", #cond); \
	} while (0)

/* a checked call: an int result */
#define RC(call, want) \
	do { \
		long long g_ = (long long)(call), w_ = (long long)(want); \
		++*ncalls; \
		if (g_ != w_) \
			FAIL("%s returned %lld (%s), expected %lld (%s)", #call, g_, \
			     km_strerror((int)g_), w_, km_strerror((int)w_)); \
	} while (0)

/* a checked call: a pointer result */
#define PTR(call, want) \
	do { \
		const void *g_ = (const void *)(call), *w_ = (const void *)(want); \
		++*ncalls; \
		if (g_ != w_) \
			FAIL("%s returned %p, expected %p", #call, g_, w_); \
	} while (0)

/* a checked call: an unsigned 64-bit result */
#define U64(call, want) \
	do { \
		unsigned long long g_ = (call), w_ = (want); \
		++*ncalls; \
		if (g_ != w_) \
			FAIL("%s returned %llu, expected %llu", #call, g_, w_); \
	} while (0)

/* a checked call whose result does not matter: it must only survive */
#define SURVIVES(call) \
	do { \
		++*ncalls; \
		(void)(call); \
	} while (0)

static void snap(struct env *e, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	MUST(km_stats_get(e->m, &s->st) == 0);
	s->st.errors = 0; /* refused misuse is counted: that may change */
	for (unsigned i = 0; i < SLOTS; i++)
		MUST(km_pkmap_slot(e->m, i, &s->slot[i]) == 0);
	s->in_atomic = km_in_atomic(e->m);
	s->leaks = km_leaks(e->m, NULL, 0);
	s->free_high = km_nr_free_highpages(e->m);
}

/* From here on the case's calls must change nothing (checked after it). */
static void BEGIN(struct env *e)
{
	snap(e, &e->before);
	e->snapped = true;
}

/* Since BEGIN, nothing changed; what follows is not checked. */
static void unchanged(struct env *e)
{
	struct snap now;
	if (!e->snapped)
		return;
	snap(e, &now);
	if (memcmp(&now, &e->before, sizeof(now)))
		FAIL("a refused call changed the machine (slots, statistics, "
		     "depth or free pages)");
	e->snapped = false;
}

static void end_checks(struct env *e)
{
	char msg[256];
	detail = NULL;
	if (!e->m)
		return;
	unchanged(e);
	if (km_check(e->m, msg, sizeof(msg)))
		FAIL("invariant broken afterwards: %s", msg);
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */
/* ---------------------------------------------------------------------- */

static bool is_debug(const struct env *e) { return e->c->flags & KM_DEBUG; }

static void *kmapped(struct env *e, unsigned i)
{
	void *va;
	MUST(km_kmap(e->m, e->high[i], &va) == 0);
	return va;
}

static void *local_mapped(struct env *e, unsigned i)
{
	void *va;
	MUST(km_kmap_local_page(e->m, e->high[i], &va) == 0);
	return va;
}

/* Does @va (maybe another machine's) map nothing on e->m's window? */
static bool free_here(struct env *e, const void *va)
{
	uintptr_t a = (uintptr_t)va;
	struct km_slot s;
	if (a < e->l.pkmap_base || a >= e->l.pkmap_end)
		return true;
	MUST(km_pkmap_slot(e->m, (unsigned)((a - e->l.pkmap_base) / PG), &s) == 0);
	return s.pfn == UINT64_MAX && !s.count;
}

static struct km_slot slot_of(struct env *e, const void *va)
{
	struct km_slot s;
	unsigned nr = (unsigned)(((uintptr_t)va - e->l.pkmap_base) / PG);
	MUST(km_pkmap_slot(e->m, nr, &s) == 0);
	return s;
}

/* The address of a slot that maps nothing (count 0, no PTE). */
static void *unused_slot(struct env *e)
{
	for (unsigned nr = SLOTS; nr-- > 0;) {
		struct km_slot s;
		MUST(km_pkmap_slot(e->m, nr, &s) == 0);
		if (!s.count && s.pfn == UINT64_MAX)
			return (void *)(uintptr_t)(e->l.pkmap_base + (uint64_t)nr * PG);
	}
	FAIL("setup: no unused slot");
}

/* Map pages until every slot is in use; returns how many were mapped. */
static unsigned fill_window(struct env *e)
{
	unsigned n = 0;
	void *va;
	for (uint64_t pfn = e->l.max_low_pfn + 100; n < 2 * SLOTS; pfn++) {
		int r = km_kmap_try(e->m, km_pfn_to_page(e->m, pfn), &va);
		if (r == -EAGAIN)
			return n;
		MUST(r == 0);
		n++;
	}
	FAIL("setup: the window never filled");
}

/* A task that was created and destroyed: its handle, now dangling. */
static km_task *dead_task(km_machine *m)
{
	km_task *t;
	MUST(km_task_create(m, &t) == 0);
	MUST(km_task_destroy(m, t) == 0);
	return t;
}

/* Pointers that are not pages of e->m. */
#define NBAD 10
static void bad_pages(struct env *e, km_page *bad[NBAD], const char *why[NBAD])
{
	static int on_stack;
	km_page *last = km_pfn_to_page(e->m, e->l.max_pfn - 1);
	km_page *first = km_pfn_to_page(e->m, e->l.min_pfn);
	unsigned n = 0;
#define BAD(p, w) (bad[n] = (km_page *)(p), why[n++] = (w))
	BAD(NULL, "NULL");
	BAD((uintptr_t)e->high[0] + 1, "a highmem page + 1 byte");
	BAD((uintptr_t)e->low + 2, "a lowmem page + 2 bytes");
	BAD((uintptr_t)last + (uintptr_t)e->stride, "one past the last page");
	BAD((uintptr_t)first - (uintptr_t)e->stride, "one before the first page");
	BAD(e->ohigh, "a page of another machine");
	BAD(&on_stack, "a pointer to something else");
	BAD(1, "(km_page *)1");
	BAD(UINTPTR_MAX & ~(uintptr_t)7, "the top of the address space");
	BAD((uintptr_t)last + (uintptr_t)e->stride / 2, "inside the last page");
#undef BAD
}

/* @stmt for each pointer @p that is not a page of e->m (detail says which) */
#define EACH_BAD_PAGE(e, p, stmt) \
	do { \
		km_page *bad_[NBAD]; \
		const char *why_[NBAD]; \
		bad_pages((e), bad_, why_); \
		for (unsigned i_ = 0; i_ < NBAD; i_++) { \
			km_page *p = bad_[i_]; \
			detail = why_[i_]; \
			stmt; \
		} \
		detail = NULL; \
	} while (0)

/* Addresses that map nothing on e->m (beyond the window, a local area
 * and lowmem), whatever the backend. */
#define NBADVA 5
static void bad_addrs(struct env *e, void *bad[NBADVA])
{
	static char own[2 * PG];
	bad[0] = NULL;
	bad[1] = (void *)1;
	bad[2] = (void *)(UINTPTR_MAX - 15);
	bad[3] = unused_slot(e);
	bad[4] = own + PG; /* the caller's own memory */
}

/* ---------------------------------------------------------------------- */
/* The case table                                                          */
/* ---------------------------------------------------------------------- */

#define ONCE  0x1u /* the same on every configuration: run on the first */
#define HOST  0x2u /* host backend only */
#define NOENV 0x4u /* no machine made for it */

struct acase {
	const char *fn, *what;
	void (*run)(struct env *e);
	unsigned flags;
};

static struct acase cases[512];
static unsigned ncases;

static void add_case(const char *fn, const char *what, void (*run)(struct env *),
                     unsigned flags)
{
	if (ncases == sizeof(cases) / sizeof(cases[0])) {
		fprintf(stderr, "abuse: too many cases\n");
		exit(2);
	}
	cases[ncases++] = (struct acase){ fn, what, run, flags };
}

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
/* CASE(km_fn, "what", flags) { body using e } */
#define CASE(fn, what, flags) CASE_(fn, what, flags, CAT(case_, __LINE__))
#define CASE_(fn, what, flags, name) \
	static void name(struct env *e); \
	__attribute__((constructor)) static void CAT(reg_, name)(void) \
	{ \
		add_case(#fn, what, name, flags); \
	} \
	static void name(struct env *e)

/* ---------------------------------------------------------------------- */
/* Versions, errors, configurations                                        */
/* ---------------------------------------------------------------------- */

CASE(km_version, "no argument: the header's version", ONCE | NOENV)
{
	(void)e;
	char want[32];
	snprintf(want, sizeof(want), "%d.%d.%d", KMAP_VERSION_MAJOR,
	         KMAP_VERSION_MINOR, KMAP_VERSION_PATCH);
	++*ncalls;
	const char *v = km_version();
	if (!v || strcmp(v, want))
		FAIL("km_version() is %s, the header says %s", v ? v : "NULL", want);
}

CASE(km_strerror, "INT_MIN, INT_MAX, unknown codes: a text, never NULL",
     ONCE | NOENV)
{
	(void)e;
	static const int codes[] = { INT_MIN, INT_MIN + 1, INT_MAX, 0, -1,
	                             -4095, 4096, -123456, 123456 };
	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		++*ncalls;
		const char *s = km_strerror(codes[i]);
		if (!s || !*s)
			FAIL("km_strerror(%d) gave no text", codes[i]);
	}
	/* kmap's meanings come first, negative or positive */
	++*ncalls;
	if (strcmp(km_strerror(-KM_ENOUSERS), "page has no users") ||
	    strcmp(km_strerror(KM_ENOUSERS), "page has no users"))
		FAIL("km_strerror(+-KM_ENOUSERS) lost kmap's meaning");
}

CASE(km_config_init, "NULL: nothing to fill, no crash", ONCE | NOENV)
{
	(void)e;
	SURVIVES((km_config_init(NULL), 0));
}

CASE(km_config_init, "a configuration full of garbage: every field reset",
     ONCE | NOENV)
{
	(void)e;
	struct km_config cfg;
	memset(&cfg, 0xa5, sizeof(cfg));
	SURVIVES((km_config_init(&cfg), 0));
	/* policy NULL: the backend's own (linux simulated, tinylfu real) */
	if (!cfg.profile || strcmp(cfg.profile, "x86-32") || cfg.policy ||
	    cfg.backend != KM_BACKEND_SIM ||
	    cfg.mem_bytes || cfg.last_pkmap || cfg.colors || cfg.nr_cpus ||
	    cfg.flags || cfg.lowmem_bytes || cfg.mem_path)
		FAIL("km_config_init left a field that is not the default");
}

/* Configurations km_config_check and km_machine_create must refuse. */
struct badcfg {
	const char *what;
	void (*set)(struct km_config *c);
};
static void b_profile_null(struct km_config *c) { c->profile = NULL; }
static void b_profile_unknown(struct km_config *c) { c->profile = "pdp-11"; }
static void b_profile_empty(struct km_config *c) { c->profile = ""; }
static void b_policy_unknown(struct km_config *c) { c->policy = "fifo"; }
static void b_backend(struct km_config *c) { c->backend = (enum km_backend_kind)7; }
static void b_backend_neg(struct km_config *c) { c->backend = (enum km_backend_kind)-1; }
static void b_flags(struct km_config *c) { c->flags = 0x80000000u; }
static void b_mem_max(struct km_config *c) { c->mem_bytes = UINT64_MAX; }
static void b_mem_one(struct km_config *c) { c->mem_bytes = 1; }
static void b_mem_odd(struct km_config *c) { c->mem_bytes = 64 * MiB + 100; }
static void b_mem_big(struct km_config *c) { c->mem_bytes = 5ull << 30; }
static void b_slots_3(struct km_config *c) { c->last_pkmap = 3; }
static void b_slots_1(struct km_config *c) { c->last_pkmap = 1; }
static void b_slots_max(struct km_config *c) { c->last_pkmap = UINT_MAX; }
static void b_slots_big(struct km_config *c) { c->last_pkmap = 131072; }
static void b_colors_3(struct km_config *c) { c->colors = 3; }
static void b_colors_big(struct km_config *c) { c->colors = 128; }
static void b_colors_max(struct km_config *c) { c->colors = UINT_MAX; }
static void b_colors_slots(struct km_config *c) { c->last_pkmap = 4; c->colors = 8; }
static void b_cpus_max(struct km_config *c) { c->nr_cpus = UINT_MAX; }
static void b_cpus_big(struct km_config *c) { c->nr_cpus = 1025; }
static void b_arm_cpus(struct km_config *c) { c->profile = "arm"; c->nr_cpus = 64; }
static void b_low_odd(struct km_config *c) { c->lowmem_bytes = 16 * MiB + 1; }
static void b_low_big(struct km_config *c) { c->lowmem_bytes = 1ull << 30; }
static void b_low_tiny(struct km_config *c) { c->lowmem_bytes = 100; }
static void b_host_odd(struct km_config *c)
{
	c->backend = KM_BACKEND_HOST;
	c->mem_bytes = 8 * MiB + 1;
}

static void b_model(struct km_config *c) { c->memory_model = (enum km_memory_model)2; }
static void b_model_neg(struct km_config *c) { c->memory_model = (enum km_memory_model)-1; }

static const struct badcfg badcfgs[] = {
	{ "profile NULL", b_profile_null },
	{ "an unknown profile", b_profile_unknown },
	{ "profile \"\"", b_profile_empty },
	{ "an unknown policy", b_policy_unknown },
	{ "backend 7", b_backend },
	{ "backend -1", b_backend_neg },
	{ "an unknown flag", b_flags },
	{ "mem_bytes UINT64_MAX", b_mem_max },
	{ "mem_bytes 1", b_mem_one },
	{ "mem_bytes not a multiple of the page size", b_mem_odd },
	{ "mem_bytes past the profile's limit", b_mem_big },
	{ "last_pkmap 3", b_slots_3 },
	{ "last_pkmap 1", b_slots_1 },
	{ "last_pkmap UINT_MAX", b_slots_max },
	{ "last_pkmap 131072", b_slots_big },
	{ "colors 3", b_colors_3 },
	{ "colors 128", b_colors_big },
	{ "colors UINT_MAX", b_colors_max },
	{ "more colours than slots", b_colors_slots },
	{ "nr_cpus UINT_MAX", b_cpus_max },
	{ "nr_cpus 1025", b_cpus_big },
	{ "arm with 64 local-map areas in its fixmap", b_arm_cpus },
	{ "lowmem_bytes not a multiple of the page size", b_low_odd },
	{ "lowmem_bytes past the split", b_low_big },
	{ "lowmem_bytes below a page", b_low_tiny },
	{ "host memory not a multiple of the page size", b_host_odd },
	{ "memory_model 2", b_model },
	{ "memory_model -1", b_model_neg },
};
#define NBADCFG (sizeof(badcfgs) / sizeof(badcfgs[0]))

CASE(km_config_check, "every refused configuration: -EINVAL and a reason",
     ONCE | NOENV)
{
	(void)e;
	for (unsigned i = 0; i < NBADCFG; i++) {
		struct km_config cfg;
		char msg[128] = "unchanged";
		km_config_init(&cfg);
		badcfgs[i].set(&cfg);
		detail = badcfgs[i].what;
		RC(km_config_check(&cfg, msg, sizeof(msg)), -EINVAL);
		if (!msg[0] || !strcmp(msg, "unchanged"))
			FAIL("km_config_check gave no reason");
		/* no room for the reason, or none given */
		RC(km_config_check(&cfg, NULL, 100), -EINVAL);
		strcpy(msg, "unchanged");
		RC(km_config_check(&cfg, msg, 0), -EINVAL);
		if (strcmp(msg, "unchanged"))
			FAIL("km_config_check wrote to a 0-byte message");
		RC(km_config_check(&cfg, msg, 1), -EINVAL);
		if (msg[0])
			FAIL("km_config_check overran a 1-byte message");
	}
}

CASE(km_config_check, "NULL configuration: -EINVAL", ONCE | NOENV)
{
	(void)e;
	char msg[64];
	RC(km_config_check(NULL, msg, sizeof(msg)), -EINVAL);
	RC(km_config_check(NULL, NULL, 0), -EINVAL);
}

CASE(km_config_check, "what the user may write works: arm on the host with "
     "the default areas", ONCE | NOENV)
{
	(void)e;
	struct km_config cfg;
	char msg[128];
	km_config_init(&cfg);
	cfg.backend = KM_BACKEND_HOST;
	cfg.profile = "arm";
	cfg.mem_bytes = 64 * MiB;
	RC(km_config_check(&cfg, msg, sizeof(msg)), 0);
}

CASE(km_machine_create, "every refused configuration: -EINVAL, *out NULL",
     ONCE | NOENV)
{
	(void)e;
	for (unsigned i = 0; i < NBADCFG; i++) {
		struct km_config cfg;
		km_machine *m = (km_machine *)&cfg;
		km_config_init(&cfg);
		badcfgs[i].set(&cfg);
		detail = badcfgs[i].what;
		RC(km_machine_create(&cfg, &m), -EINVAL);
		PTR(m, NULL);
	}
}

CASE(km_machine_create, "out NULL: -EINVAL", ONCE | NOENV)
{
	(void)e;
	struct km_config cfg;
	km_config_init(&cfg);
	RC(km_machine_create(&cfg, NULL), -EINVAL);
	RC(km_machine_create(NULL, NULL), -EINVAL);
}

CASE(km_machine_create, "host-only settings on the simulated backend: -EINVAL",
     ONCE | NOENV)
{
	(void)e;
	static const unsigned flags[] = { KM_RDONLY, KM_DEBUG };
	struct km_config cfg;
	km_machine *m;
	km_config_init(&cfg);
	cfg.mem_path = "/tmp/kmap-abuse-never-made";
	RC(km_machine_create(&cfg, &m), -EINVAL);
	for (unsigned i = 0; i < 2; i++) {
		km_config_init(&cfg);
		cfg.flags = flags[i];
		RC(km_machine_create(&cfg, &m), -EINVAL);
		PTR(m, NULL);
	}
}

CASE(km_machine_create, "NULL configuration: the defaults", ONCE | NOENV)
{
	(void)e;
	km_machine *m;
	RC(km_machine_create(NULL, &m), 0);
	km_machine_destroy(m);
}

CASE(km_machine_create, "host, arm, the default local-map areas: it works",
     ONCE | NOENV)
{
	(void)e;
	struct km_config cfg;
	km_machine *m;
	km_config_init(&cfg);
	cfg.backend = KM_BACKEND_HOST;
	cfg.profile = "arm";
	cfg.mem_bytes = 64 * MiB;
	RC(km_machine_create(&cfg, &m), 0);
	void *va;
	struct km_layout l;
	MUST(km_machine_layout(m, &l) == 0);
	RC(km_kmap_local_page(m, km_pfn_to_page(m, l.max_pfn - 1), &va), 0);
	RC(km_kunmap_local(m, va), 0);
	km_machine_destroy(m);
}

CASE(km_machine_create, "every profile, both backends, default slots and "
     "areas: km_config_check and km_machine_create agree, and it works",
     ONCE | NOENV)
{
	(void)e;
	const char *name;
	for (unsigned i = 0; (name = km_profile_name(i)); i++)
		for (int be = 0; be < 2; be++) {
			struct km_config cfg;
			km_machine *m;
			char msg[128];
			km_config_init(&cfg);
			cfg.profile = name;
			cfg.backend = be ? KM_BACKEND_HOST : KM_BACKEND_SIM;
			cfg.mem_bytes = 64 * MiB;
			detail = name;
			RC(km_config_check(&cfg, msg, sizeof(msg)), 0);
			RC(km_machine_create(&cfg, &m), 0);
			km_machine_destroy(m);
		}
}

/* A host machine on @path; returns km_machine_create's answer. */
static int host_on(const char *path, uint64_t mem, unsigned flags)
{
	struct km_config cfg;
	km_machine *m = (km_machine *)&cfg;
	km_config_init(&cfg);
	cfg.backend = KM_BACKEND_HOST;
	cfg.mem_path = path;
	cfg.mem_bytes = mem;
	cfg.lowmem_bytes = 4 * MiB;
	cfg.flags = flags;
	int r = km_machine_create(&cfg, &m);
	if (r && m)
		FAIL("*out is not NULL after an error");
	km_machine_destroy(m);
	return r;
}

static char tmpdir[64] = "/tmp/kmap-abuse-XXXXXX"; /* made by main() */

static const char *tmp_path(const char *name)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

CASE(km_machine_create, "mem_path a FIFO: -ENODEV, never a hang", ONCE | NOENV)
{
	(void)e;
	const char *p = tmp_path("fifo");
	MUST(mkfifo(p, 0600) == 0);
	RC(host_on(p, 8 * MiB, KM_RDONLY), -ENODEV);
	RC(host_on(p, 8 * MiB, 0), -ENODEV);
	RC(host_on(p, 0, KM_RDONLY), -ENODEV);
	RC(host_on(p, 0, 0), -ENODEV);
}

CASE(km_machine_create, "mem_path a directory, a character device, missing, "
     "empty", ONCE | NOENV)
{
	(void)e;
	RC(host_on(tmpdir, 8 * MiB, 0), -EISDIR);
	RC(host_on(tmpdir, 8 * MiB, KM_RDONLY), -EISDIR);
	RC(host_on("/dev/null", 8 * MiB, 0), -ENODEV);
	RC(host_on("/dev/zero", 0, KM_RDONLY), -ENODEV);
	RC(host_on(tmp_path("missing"), 8 * MiB, KM_RDONLY), -ENOENT);
	RC(host_on(tmp_path("missing"), 0, 0), -ENOENT);
	RC(host_on("", 8 * MiB, 0), -ENOENT);
	/* an empty file needs a size; a read-only one cannot be grown */
	const char *p = tmp_path("empty");
	int fd = open(p, O_CREAT | O_WRONLY, 0600);
	MUST(fd >= 0);
	close(fd);
	RC(host_on(p, 0, 0), -EINVAL);
	RC(host_on(p, 8 * MiB, KM_RDONLY), -EINVAL);
	/* nothing left behind by the refusals */
	struct stat st;
	MUST(stat(p, &st) == 0 && st.st_size == 0);
	MUST(stat(tmp_path("missing"), &st) && errno == ENOENT);
}

CASE(km_machine_create, "a file whose size is not whole pages: its whole pages",
     ONCE | NOENV)
{
	(void)e;
	const char *p = tmp_path("odd");
	int fd = open(p, O_CREAT | O_RDWR, 0600);
	MUST(fd >= 0 && ftruncate(fd, (off_t)(8 * MiB + 100)) == 0);
	close(fd);
	struct km_config cfg;
	km_machine *m;
	struct km_layout l;
	km_config_init(&cfg);
	cfg.backend = KM_BACKEND_HOST;
	cfg.mem_path = p;
	cfg.lowmem_bytes = 4 * MiB;
	RC(km_machine_create(&cfg, &m), 0);
	MUST(km_machine_layout(m, &l) == 0);
	U64(l.mem_bytes, 8 * MiB);
	km_machine_destroy(m);
	/* an explicit size must be whole pages */
	RC(host_on(p, 8 * MiB + 100, 0), -EINVAL);
}

CASE(km_machine_destroy, "NULL: nothing", ONCE | NOENV)
{
	(void)e;
	SURVIVES((km_machine_destroy(NULL), 0));
}

CASE(km_machine_destroy, "with mappings, local maps, an atomic section and a "
     "sleeping task still held", 0)
{
	void *va;
	km_task *t;
	unsigned n = fill_window(e);
	MUST(n > 0);
	MUST(km_task_create(e->m, &t) == 0);
	MUST(km_task_switch(e->m, t) == 0);
	MUST(km_kmap(e->m, e->high[0], &va) == -KM_ESLEEPING);
	MUST(km_task_switch(e->m, NULL) == 0);
	local_mapped(e, 1);
	MUST(km_kmap_atomic(e->m, e->high[2], &va) == 0);
	SURVIVES((km_machine_destroy(e->m), 0));
	e->m = NULL;
}

CASE(km_profile_name, "past the last: NULL", ONCE | NOENV)
{
	(void)e;
	unsigned n = 0;
	while (km_profile_name(n))
		n++;
	MUST(n >= 4);
	PTR(km_profile_name(n), NULL);
	PTR(km_profile_name(UINT_MAX), NULL);
}

CASE(km_profile_limits, "NULL, unknown, empty profile: -EINVAL; NULL outs",
     ONCE | NOENV)
{
	(void)e;
	uint64_t a = 7, b = 7;
	RC(km_profile_limits(NULL, &a, &b), -EINVAL);
	RC(km_profile_limits("vax", &a, &b), -EINVAL);
	RC(km_profile_limits("", &a, &b), -EINVAL);
	RC(km_profile_limits("x86-32 ", &a, &b), -EINVAL);
	U64(a, 7);
	U64(b, 7);
	RC(km_profile_limits("x86-32", NULL, NULL), 0);
}

CASE(km_policy_name, "past the last: NULL", ONCE | NOENV)
{
	(void)e;
	unsigned n = 0;
	while (km_policy_name(n))
		n++;
	MUST(n >= 3);
	PTR(km_policy_name(n), NULL);
	PTR(km_policy_name(UINT_MAX), NULL);
}

/* ---------------------------------------------------------------------- */
/* Machine-wide calls with NULL arguments                                  */
/* ---------------------------------------------------------------------- */

CASE(km_sync, "NULL machine: -EINVAL", ONCE | NOENV)
{
	(void)e;
	RC(km_sync(NULL), -EINVAL);
}

CASE(km_sync, "a machine without a file: 0, nothing changed", 0)
{
	BEGIN(e);
	RC(km_sync(e->m), 0);
}

CASE(km_machine_layout, "NULL machine or out: -EINVAL", 0)
{
	struct km_layout l;
	BEGIN(e);
	RC(km_machine_layout(NULL, &l), -EINVAL);
	RC(km_machine_layout(e->m, NULL), -EINVAL);
	RC(km_machine_layout(NULL, NULL), -EINVAL);
}

CASE(km_totalhigh_pages, "NULL machine: 0", ONCE | NOENV)
{
	(void)e;
	U64(km_totalhigh_pages(NULL), 0);
}

CASE(km_nr_free_highpages, "NULL machine: 0", ONCE | NOENV)
{
	(void)e;
	U64(km_nr_free_highpages(NULL), 0);
}

CASE(km_stats_get, "NULL machine or out: -EINVAL", 0)
{
	struct km_stats st;
	BEGIN(e);
	RC(km_stats_get(NULL, &st), -EINVAL);
	RC(km_stats_get(e->m, NULL), -EINVAL);
}

CASE(km_check, "NULL machine: -EINVAL; no room for the message", 0)
{
	char msg[8] = "x";
	BEGIN(e);
	RC(km_check(NULL, msg, sizeof(msg)), -EINVAL);
	RC(km_check(e->m, NULL, 100), 0);
	RC(km_check(e->m, msg, 0), 0);
	RC(km_check(e->m, msg, 1), 0);
}

CASE(km_leaks, "NULL machine, out NULL with max, max smaller than the count", 0)
{
	struct km_leak l[4];
	kmapped(e, 0);
	kmapped(e, 1);
	kmapped(e, 2);
	BEGIN(e);
	RC(km_leaks(NULL, l, 4), -EINVAL);
	RC(km_leaks(e->m, NULL, 1), -EINVAL);
	RC(km_leaks(e->m, NULL, UINT_MAX), -EINVAL);
	RC(km_leaks(e->m, NULL, 0), 3);
	memset(l, 0x5a, sizeof(l));
	RC(km_leaks(e->m, l, 1), 3);
	for (size_t i = sizeof(l[0]); i < sizeof(l); i++)
		if (((unsigned char *)l)[i] != 0x5a)
			FAIL("km_leaks wrote past max");
}

CASE(km_pkmap_slot, "NULL machine or out, nr past the window: -EINVAL", 0)
{
	struct km_slot s = { 7, 7 };
	BEGIN(e);
	RC(km_pkmap_slot(NULL, 0, &s), -EINVAL);
	RC(km_pkmap_slot(e->m, 0, NULL), -EINVAL);
	RC(km_pkmap_slot(e->m, SLOTS, &s), -EINVAL);
	RC(km_pkmap_slot(e->m, UINT_MAX, &s), -EINVAL);
	RC(s.count, 7);
	U64(s.pfn, 7);
}

static unsigned hook_calls;
static void hook(void *arg, const struct km_event *ev)
{
	(void)arg;
	(void)ev;
	hook_calls++;
}

CASE(km_set_event_hook, "NULL machine: nothing; NULL function: no events", 0)
{
	SURVIVES((km_set_event_hook(NULL, hook, NULL), 0));
	SURVIVES((km_set_event_hook(e->m, hook, NULL), 0));
	SURVIVES((km_set_event_hook(e->m, NULL, NULL), 0));
	/* a wrap flushes: no hook to call */
	fill_window(e);
	MUST(km_kmap_flush_unused(e->m) == 0);
	if (hook_calls)
		FAIL("the hook was called after being taken away");
}

/* ---------------------------------------------------------------------- */
/* Pages                                                                   */
/* ---------------------------------------------------------------------- */

CASE(km_pfn_to_page, "NULL machine, pfn at or past the end: NULL", 0)
{
	BEGIN(e);
	PTR(km_pfn_to_page(NULL, 0), NULL);
	PTR(km_pfn_to_page(e->m, e->l.max_pfn), NULL);
	if (e->l.min_pfn)
		PTR(km_pfn_to_page(e->m, e->l.min_pfn - 1), NULL);
	PTR(km_pfn_to_page(e->m, UINT64_MAX), NULL);
	PTR(km_pfn_to_page(e->m, (uint64_t)1 << 52), NULL);
}

CASE(km_pfn_valid, "NULL machine, pfn outside the machine's: 0", 0)
{
	BEGIN(e);
	RC(km_pfn_valid(NULL, 0), 0);
	RC(km_pfn_valid(e->m, e->l.max_pfn), 0);
	if (e->l.min_pfn)
		RC(km_pfn_valid(e->m, e->l.min_pfn - 1), 0);
	RC(km_pfn_valid(e->m, UINT64_MAX), 0);
	RC(km_pfn_valid(e->m, (uint64_t)1 << 52), 0);
	RC(km_pfn_valid(e->m, e->l.max_pfn - 1), 1);
}

CASE(km_page_is_ram, "NULL machine, pfn outside the machine's: 0", 0)
{
	BEGIN(e);
	RC(km_page_is_ram(NULL, 0), 0);
	RC(km_page_is_ram(e->m, e->l.max_pfn), 0);
	if (e->l.min_pfn)
		RC(km_page_is_ram(e->m, e->l.min_pfn - 1), 0);
	RC(km_page_is_ram(e->m, UINT64_MAX), 0);
	RC(km_page_is_ram(e->m, (uint64_t)1 << 52), 0);
	RC(km_page_is_ram(e->m, e->l.max_pfn - 1), 1);
}

CASE(km_page_to_pfn, "pages that are not the machine's: UINT64_MAX", 0)
{
	BEGIN(e);
	U64(km_page_to_pfn(NULL, e->high[0]), UINT64_MAX);
	EACH_BAD_PAGE(e, p, U64(km_page_to_pfn(e->m, p), UINT64_MAX));
}

CASE(km_page_zone, "pages that are not the machine's: KM_ZONE_NONE", 0)
{
	BEGIN(e);
	RC(km_page_zone(NULL, e->high[0]), KM_ZONE_NONE);
	EACH_BAD_PAGE(e, p, RC(km_page_zone(e->m, p), KM_ZONE_NONE));
}

CASE(km_page_highmem, "pages that are not the machine's: 0", 0)
{
	BEGIN(e);
	RC(km_page_highmem(NULL, e->high[0]), 0);
	EACH_BAD_PAGE(e, p, RC(km_page_highmem(e->m, p), 0));
}

CASE(km_page_flags, "pages that are not the machine's: 0", 0)
{
	BEGIN(e);
	U64(km_page_flags(NULL, e->high[0]), 0);
	EACH_BAD_PAGE(e, p, U64(km_page_flags(e->m, p), 0));
}

CASE(km_lowmem_page_address, "bad pages and highmem pages: NULL", 0)
{
	BEGIN(e);
	PTR(km_lowmem_page_address(NULL, e->low), NULL);
	PTR(km_lowmem_page_address(e->m, e->high[0]), NULL);
	EACH_BAD_PAGE(e, p, PTR(km_lowmem_page_address(e->m, p), NULL));
}

CASE(km_page_address, "bad pages, a highmem page not in the window: NULL", 0)
{
	BEGIN(e);
	PTR(km_page_address(NULL, e->low), NULL);
	PTR(km_page_address(e->m, e->high[0]), NULL);
	EACH_BAD_PAGE(e, p, PTR(km_page_address(e->m, p), NULL));
}

CASE(km_alloc_page, "NULL machine or out, unknown gfp: -EINVAL", 0)
{
	km_page *p = (km_page *)e;
	BEGIN(e);
	RC(km_alloc_page(NULL, KM_GFP_KERNEL, &p), -EINVAL);
	RC(km_alloc_page(e->m, KM_GFP_KERNEL, NULL), -EINVAL);
	RC(km_alloc_page(e->m, 3, &p), -EINVAL);
	RC(km_alloc_page(e->m, UINT_MAX, &p), -EINVAL);
	PTR(p, e);
}

CASE(km_alloc_page, "every page taken: -ENOMEM", 0)
{
	km_page *p;
	uint64_t n = 0;
	while (km_alloc_page(e->m, KM_GFP_HIGHUSER, &p) == 0)
		n++;
	uint64_t free = 0;
	for (unsigned z = 0; z < e->l.nr_zones; z++)
		free += e->l.zones[z].end_pfn - e->l.zones[z].start_pfn;
	MUST(n == free);
	BEGIN(e);
	RC(km_alloc_page(e->m, KM_GFP_HIGHUSER, &p), -ENOMEM);
	RC(km_alloc_page(e->m, KM_GFP_DMA, &p), -ENOMEM);
}

CASE(km_free_page, "NULL machine, bad pages, a free page, twice: -EINVAL", 0)
{
	km_page *p;
	MUST(km_alloc_page(e->m, KM_GFP_HIGHUSER, &p) == 0);
	MUST(km_free_page(e->m, p) == 0);
	BEGIN(e);
	RC(km_free_page(NULL, p), -EINVAL);
	RC(km_free_page(e->m, p), -EINVAL);
	RC(km_free_page(e->m, e->high[5]), -EINVAL);
	EACH_BAD_PAGE(e, p, RC(km_free_page(e->m, p), -EINVAL));
}

/* ---------------------------------------------------------------------- */
/* kmap and kunmap                                                         */
/* ---------------------------------------------------------------------- */

/* Every kmap variant on @page: @want, *addr untouched. */
static void kmaps_refuse(struct env *e, km_machine *m, km_page *page,
                         void **addr, int want)
{
	enum km_how how = (enum km_how)77;
	RC(km_kmap(m, page, addr), want);
	RC(km_kmap_try(m, page, addr), want);
	RC(km_kmap_timeout(m, page, 1000, addr), want);
	RC(km_kmap_ex(m, page, 0, 0, addr, &how), want);
	RC(km_kmap_high_get(m, page, addr), want);
	if (how != 77)
		FAIL("a refused kmap set *how");
	(void)e;
}

CASE(km_kmap, "NULL machine, bad pages, NULL addr: -EINVAL", 0)
{
	void *va = e;
	BEGIN(e);
	kmaps_refuse(e, NULL, e->high[0], &va, -EINVAL);
	kmaps_refuse(e, e->m, e->high[0], NULL, -EINVAL);
	EACH_BAD_PAGE(e, p, kmaps_refuse(e, e->m, p, &va, -EINVAL));
	PTR(va, e);
}

CASE(km_kmap, "inside kmap_atomic: -KM_EATOMIC", 0)
{
	void *va, *a;
	MUST(km_kmap_atomic(e->m, e->high[1], &a) == 0);
	BEGIN(e);
	RC(km_kmap(e->m, e->high[0], &va), -KM_EATOMIC);
	RC(km_kmap(e->m, e->low, &va), -KM_EATOMIC);
	RC(km_kunmap(e->m, e->high[0]), -KM_EATOMIC);
}

CASE(km_kmap_try, "a full window: -EAGAIN", 0)
{
	void *va = e;
	fill_window(e);
	RC(km_kmap_try(e->m, e->high[0], &va), -EAGAIN);
	PTR(va, e);
	RC(km_kmap_ex(e->m, e->high[0], KM_MAP_NOWAIT, 0, &va, NULL), -EAGAIN);
}

CASE(km_kmap_timeout, "a full window: -ETIMEDOUT, 0 and 1 ns", 0)
{
	void *va = e;
	fill_window(e);
	RC(km_kmap_timeout(e->m, e->high[0], 0, &va), -ETIMEDOUT);
	RC(km_kmap_timeout(e->m, e->high[0], 1, &va), -ETIMEDOUT);
	PTR(va, e);
}

CASE(km_kmap_timeout, "UINT64_MAX ns with a slot free: it maps", 0)
{
	void *va;
	RC(km_kmap_timeout(e->m, e->high[0], UINT64_MAX, &va), 0);
	RC(km_kmap_ex(e->m, e->high[1], KM_MAP_TIMED | KM_MAP_NOWAIT,
	              UINT64_MAX, &va, NULL), 0);
}

CASE(km_kmap_ex, "unknown flags: -EINVAL", 0)
{
	void *va = e;
	BEGIN(e);
	RC(km_kmap_ex(e->m, e->high[0], 0x4, 0, &va, NULL), -EINVAL);
	RC(km_kmap_ex(e->m, e->high[0], UINT_MAX, 0, &va, NULL), -EINVAL);
	RC(km_kmap_ex(e->m, e->high[0], 0x80000000u | KM_MAP_NOWAIT, 0, &va,
	              NULL), -EINVAL);
	PTR(va, e);
}

CASE(km_kmap, "a sleeping simulated task: -KM_ESLEEPING, again and again", 0)
{
	km_task *t;
	void *va;
	fill_window(e);
	MUST(km_task_create(e->m, &t) == 0);
	MUST(km_task_switch(e->m, t) == 0);
	RC(km_kmap(e->m, e->high[0], &va), -KM_ESLEEPING);
	BEGIN(e);
	RC(km_kmap(e->m, e->high[0], &va), -KM_ESLEEPING);
	RC(km_kmap_local_page(e->m, e->high[1], &va), -KM_ESLEEPING);
	RC(km_kunmap(e->m, e->high[0]), -KM_ESLEEPING);
	RC(km_task_destroy(e->m, t), -EBUSY);
}

CASE(km_kunmap, "NULL machine, bad pages: -EINVAL", 0)
{
	kmapped(e, 0);
	BEGIN(e);
	RC(km_kunmap(NULL, e->high[0]), -EINVAL);
	EACH_BAD_PAGE(e, p, RC(km_kunmap(e->m, p), -EINVAL));
}

CASE(km_kunmap, "not mapped, no users, twice: misuse, nothing changed", 0)
{
	kmapped(e, 1);
	MUST(km_kunmap(e->m, e->high[1]) == 0);
	BEGIN(e);
	RC(km_kunmap(e->m, e->high[0]), -KM_ENOTMAPPED);
	RC(km_kunmap(e->m, e->high[1]), -KM_ENOUSERS);
	RC(km_kunmap(e->m, e->high[1]), -KM_ENOUSERS);
	RC(km_kunmap(e->m, e->low), 0); /* lowmem: a no-op */
}

CASE(km_kmap_high_get, "a page not in the window: -KM_ENOTMAPPED; no "
     "ARCH_NEEDS_KMAP_HIGH_GET: -EOPNOTSUPP", 0)
{
	void *va = e;
	kmapped(e, 1);
	BEGIN(e);
	if (!e->l.kmap_high_get) {
		RC(km_kmap_high_get(e->m, e->high[1], &va), -EOPNOTSUPP);
		RC(km_kmap_high_get(e->m, e->low, &va), -EOPNOTSUPP);
	}
	RC(km_kmap_high_get(e->m, e->high[0], &va), e->l.kmap_high_get ?
	   -KM_ENOTMAPPED : -EOPNOTSUPP);
	PTR(va, e);
}

CASE(km_kmap_flush_unused, "NULL machine: -EINVAL", 0)
{
	BEGIN(e);
	RC(km_kmap_flush_unused(NULL), -EINVAL);
}

/* ---------------------------------------------------------------------- */
/* vmap                                                                    */
/* ---------------------------------------------------------------------- */

static void *vmapped(struct env *e, unsigned first, unsigned n)
{
	void *va;
	MUST(km_vmap(e->m, e->high + first, n, &va) == 0);
	return va;
}

CASE(km_vmap, "NULL machine, pages or addr, no pages, more than memory, a bad "
     "page among good ones: -EINVAL, *addr untouched", 0)
{
	km_page *pg[3] = { e->high[0], e->low, e->high[1] };
	void *va = e;
	(void)vmapped(e, 2, 2); /* an area already there */
	BEGIN(e);
	RC(km_vmap(NULL, pg, 3, &va), -EINVAL);
	RC(km_vmap(e->m, NULL, 3, &va), -EINVAL);
	RC(km_vmap(e->m, pg, 3, NULL), -EINVAL);
	RC(km_vmap(e->m, pg, 0, &va), -EINVAL);
	RC(km_vmap(e->m, pg, UINT_MAX, &va), -EINVAL);
	EACH_BAD_PAGE(e, p, {
		pg[1] = p;
		RC(km_vmap(e->m, pg, 3, &va), -EINVAL);
	});
	PTR(va, e);
}

CASE(km_vmap, "inside kmap_atomic: -KM_EATOMIC, for vunmap too", 0)
{
	void *va = e, *live = vmapped(e, 2, 1), *a;
	MUST(km_kmap_atomic(e->m, e->high[1], &a) == 0);
	BEGIN(e);
	RC(km_vmap(e->m, e->high, 1, &va), -KM_EATOMIC);
	RC(km_vunmap(e->m, live), -KM_EATOMIC);
	PTR(va, e);
	PTR(km_vmalloc_to_page(e->m, live), e->high[2]);
}

CASE(km_vmap, "a full vmalloc area: -ENOSPC after the purge, *addr untouched",
     0)
{
	/* fill the area with the largest areas that fit, then single pages */
	unsigned mem = (unsigned)(e->l.max_pfn - e->l.min_pfn);
	km_page **pg = calloc(mem, sizeof(*pg));
	MUST(pg);
	for (unsigned i = 0; i < mem; i++)
		pg[i] = e->high[i % 8];
	void *va;
	unsigned n = mem;
	for (;;) {
		int r = km_vmap(e->m, pg, n, &va);
		if (r == -ENOSPC && n == 1)
			break;
		MUST(r == 0 || r == -ENOSPC);
		if (r)
			n = n / 2 ? n / 2 : 1;
	}
	struct km_stats before, after;
	MUST(km_stats_get(e->m, &before) == 0);
	va = e;
	RC(km_vmap(e->m, pg, 1, &va), -ENOSPC);
	PTR(va, e);
	MUST(km_stats_get(e->m, &after) == 0);
	U64(after.vmap_areas, before.vmap_areas);
	U64(after.vmap_pages, before.vmap_pages);
	U64(after.vmap_nospace, before.vmap_nospace + 1);
	free(pg);
}

CASE(km_vunmap, "NULL machine; NULL, addresses of nothing, inside an area, its "
     "guard page, another machine's area, twice: -KM_ENOAREA", 0)
{
	void *bad[NBADVA], *ova, *va = vmapped(e, 0, 3), *gone = vmapped(e, 3, 1);
	MUST(km_vmap(e->other, &e->ohigh, 1, &ova) == 0);
	MUST(km_vunmap(e->m, gone) == 0);
	bad_addrs(e, bad);
	BEGIN(e);
	RC(km_vunmap(NULL, va), -EINVAL);
	for (unsigned i = 0; i < NBADVA; i++)
		RC(km_vunmap(e->m, bad[i]), -KM_ENOAREA);
	RC(km_vunmap(e->m, (char *)va + PG), -KM_ENOAREA);
	RC(km_vunmap(e->m, (char *)va + 3 * PG), -KM_ENOAREA);
	RC(km_vunmap(e->m, (char *)va + 1), -KM_ENOAREA);
	RC(km_vunmap(e->m, gone), -KM_ENOAREA);
	if (ova != va && ova != gone)
		RC(km_vunmap(e->m, ova), -KM_ENOAREA);
	PTR(km_vmalloc_to_page(e->m, va), e->high[0]);
}

CASE(km_vm_unmap_aliases, "NULL machine: -EINVAL; nothing lazily freed: 0, "
     "nothing changed", 0)
{
	(void)vmapped(e, 0, 2);
	BEGIN(e);
	RC(km_vm_unmap_aliases(NULL), -EINVAL);
	RC(km_vm_unmap_aliases(e->m), 0);
}

static void *rammapped(struct env *e, unsigned first, unsigned n)
{
	void *va;
	MUST(km_vm_map_ram(e->m, e->high + first, n, &va) == 0);
	return va;
}

CASE(km_vm_map_ram, "NULL machine, pages or addr, no pages, a bad page among "
     "good ones: -EINVAL, *addr untouched", 0)
{
	km_page *pg[3] = { e->high[0], e->low, e->high[1] };
	void *va = e;
	(void)rammapped(e, 2, 2); /* a piece already there */
	BEGIN(e);
	RC(km_vm_map_ram(NULL, pg, 3, &va), -EINVAL);
	RC(km_vm_map_ram(e->m, NULL, 3, &va), -EINVAL);
	RC(km_vm_map_ram(e->m, pg, 3, NULL), -EINVAL);
	RC(km_vm_map_ram(e->m, pg, 0, &va), -EINVAL);
	EACH_BAD_PAGE(e, p, {
		pg[1] = p;
		RC(km_vm_map_ram(e->m, pg, 3, &va), -EINVAL);
	});
	PTR(va, e);
}

CASE(km_vm_map_ram, "inside kmap_atomic: -KM_EATOMIC, for vm_unmap_ram and "
     "vm_unmap_aliases too", 0)
{
	void *va = e, *live = rammapped(e, 2, 1), *a;
	MUST(km_kmap_atomic(e->m, e->high[1], &a) == 0);
	BEGIN(e);
	RC(km_vm_map_ram(e->m, e->high, 1, &va), -KM_EATOMIC);
	RC(km_vm_unmap_ram(e->m, live, 1), -KM_EATOMIC);
	RC(km_vm_unmap_aliases(e->m), -KM_EATOMIC);
	PTR(va, e);
	PTR(km_vmalloc_to_page(e->m, live), e->high[2]);
}

CASE(km_vm_unmap_ram, "NULL machine; addresses of nothing, inside a piece, a "
     "wrong count, a vmap area, another machine's, twice: -KM_ENOAREA", 0)
{
	void *bad[NBADVA], *ova, *va = rammapped(e, 0, 3), *gone = rammapped(e, 3, 1);
	void *vm = vmapped(e, 4, 1);
	MUST(km_vm_map_ram(e->other, &e->ohigh, 1, &ova) == 0);
	MUST(km_vm_unmap_ram(e->m, gone, 1) == 0);
	bad_addrs(e, bad);
	BEGIN(e);
	RC(km_vm_unmap_ram(NULL, va, 3), -EINVAL);
	for (unsigned i = 0; i < NBADVA; i++)
		RC(km_vm_unmap_ram(e->m, bad[i], 1), -KM_ENOAREA);
	RC(km_vm_unmap_ram(e->m, va, 0), -KM_ENOAREA);
	RC(km_vm_unmap_ram(e->m, va, 2), -KM_ENOAREA);
	RC(km_vm_unmap_ram(e->m, va, 4), -KM_ENOAREA);
	RC(km_vm_unmap_ram(e->m, va, 33), -KM_ENOAREA);
	RC(km_vm_unmap_ram(e->m, va, UINT_MAX), -KM_ENOAREA);
	RC(km_vm_unmap_ram(e->m, (char *)va + PG, 2), -KM_ENOAREA);
	RC(km_vm_unmap_ram(e->m, (char *)va + 1, 3), -KM_ENOAREA);
	RC(km_vm_unmap_ram(e->m, gone, 1), -KM_ENOAREA);
	RC(km_vm_unmap_ram(e->m, vm, 1), -KM_ENOAREA);
	RC(km_vunmap(e->m, va), -KM_ENOAREA);
	if (ova != va && ova != gone)
		RC(km_vm_unmap_ram(e->m, ova, 1), -KM_ENOAREA);
	PTR(km_vmalloc_to_page(e->m, va), e->high[0]);
}

CASE(km_vmalloc_to_page, "NULL machine, addresses of nothing, a guard page, a "
     "lazily freed area, another machine's area: NULL", 0)
{
	void *bad[NBADVA], *ova, *va = vmapped(e, 0, 2), *gone = vmapped(e, 2, 1);
	MUST(km_vmap(e->other, &e->ohigh, 1, &ova) == 0);
	MUST(km_vunmap(e->m, gone) == 0);
	bad_addrs(e, bad);
	BEGIN(e);
	PTR(km_vmalloc_to_page(NULL, va), NULL);
	for (unsigned i = 0; i < NBADVA; i++)
		PTR(km_vmalloc_to_page(e->m, bad[i]), NULL);
	PTR(km_vmalloc_to_page(e->m, (char *)va + 2 * PG), NULL);
	PTR(km_vmalloc_to_page(e->m, gone), NULL);
	if (ova != va && ova != (char *)va + PG && ova != gone)
		PTR(km_vmalloc_to_page(e->m, ova), NULL);
	PTR(km_vmalloc_to_page(e->m, (char *)va + PG + 17), e->high[1]);
}

/* ---------------------------------------------------------------------- */
/* Addresses                                                               */
/* ---------------------------------------------------------------------- */

CASE(km_kmap_to_page, "addresses that map nothing, of another machine: NULL", 0)
{
	void *bad[NBADVA], *ova, *lva;
	MUST(km_kmap(e->other, e->ohigh, &ova) == 0);
	lva = local_mapped(e, 0);
	bad_addrs(e, bad);
	BEGIN(e);
	PTR(km_kmap_to_page(NULL, lva), NULL);
	for (unsigned i = 0; i < NBADVA; i++)
		PTR(km_kmap_to_page(e->m, bad[i]), NULL);
	MUST(free_here(e, ova)); /* sim: the same numbers as e->m's slot */
	PTR(km_kmap_to_page(e->m, ova), NULL);
	/* the unused local index above the newest */
	PTR(km_kmap_to_page(e->m, (char *)lva - PG), NULL);
}

/* The ways to read and write through @va: @want for each, and for a write
 * the bytes seen through @check (a mapped address, or NULL) unchanged. */
static void rw_refuse(struct env *e, const void *va, size_t len, int want,
                      void *check)
{
	unsigned char before[16], after[16];
	if (check)
		MUST(km_read(e->m, check, before, sizeof(before)) == 0);
	memset(e->buf, 0x3c, sizeof(e->buf));
	RC(km_read(e->m, va, e->buf, len), want);
	RC(km_write(e->m, (void *)(uintptr_t)va, e->buf, len), want);
	if (check) {
		MUST(km_read(e->m, check, after, sizeof(after)) == 0);
		if (memcmp(before, after, sizeof(after)))
			FAIL("a refused km_write changed memory");
	}
	for (size_t i = 0; i < sizeof(e->buf); i++)
		if (e->buf[i] != 0x3c)
			FAIL("a refused km_read wrote into the buffer");
}

CASE(km_read, "NULL machine, NULL buffer: -EINVAL; length 0: 0", 0)
{
	void *va = kmapped(e, 0);
	BEGIN(e);
	RC(km_read(NULL, va, e->buf, 8), -EINVAL);
	RC(km_read(e->m, va, NULL, 8), -EINVAL);
	RC(km_read(e->m, NULL, NULL, 0), 0);
	RC(km_read(e->m, (void *)1, e->buf, 0), 0);
}

CASE(km_write, "NULL machine, NULL buffer: -EINVAL; length 0: 0", 0)
{
	void *va = kmapped(e, 0);
	BEGIN(e);
	RC(km_write(NULL, va, e->buf, 8), -EINVAL);
	RC(km_write(e->m, va, NULL, 8), -EINVAL);
	RC(km_write(e->m, NULL, NULL, 0), 0);
	RC(km_write(e->m, (void *)1, e->buf, 0), 0);
}

CASE(km_read, "NULL, 1, the top of the address space, an unused slot, past "
     "lowmem: -EFAULT", 0)
{
	void *bad[NBADVA];
	bad_addrs(e, bad);
	BEGIN(e);
	for (unsigned i = 0; i < NBADVA; i++) {
		rw_refuse(e, bad[i], 8, -EFAULT, NULL);
		rw_refuse(e, bad[i], 16, -EFAULT, NULL);
	}
	/* UINTPTR_MAX - 15 + 32 runs past the end of the address space */
	rw_refuse(e, (void *)(UINTPTR_MAX - 15), 32, -EFAULT, NULL);
}

CASE(km_write, "length SIZE_MAX and lengths past the address space: -EFAULT", 0)
{
	void *va = kmapped(e, 0);
	void *low = km_lowmem_page_address(e->m, e->low);
	BEGIN(e);
	rw_refuse(e, va, SIZE_MAX, -EFAULT, va);
	rw_refuse(e, low, SIZE_MAX, -EFAULT, low);
	rw_refuse(e, (char *)va + 8, SIZE_MAX - 4, -EFAULT, va);
	rw_refuse(e, va, UINTPTR_MAX - (uintptr_t)va + 2, -EFAULT, va);
}

CASE(km_write, "a range running off a mapped page into an unused slot: "
     "-EFAULT, nothing written", 0)
{
	void *va = kmapped(e, 0);
	struct km_slot s = slot_of(e, (char *)va + PG);
	MUST(s.count == 0 && s.pfn == UINT64_MAX);
	BEGIN(e);
	rw_refuse(e, (char *)va + PG - 8, 16, -EFAULT, (char *)va + PG - 16);
	rw_refuse(e, va, 2 * PG, -EFAULT, va);
}

CASE(km_write, "past the end of lowmem: -EFAULT, nothing written", 0)
{
	void *end = (void *)(uintptr_t)e->l.high_memory;
	BEGIN(e);
	rw_refuse(e, (char *)end - 8, 16, -EFAULT, (char *)end - 16);
	rw_refuse(e, (char *)end - PG, 2 * PG, -EFAULT, (char *)end - PG);
}

CASE(km_read, "a slot after kunmap and kmap_flush_unused: -EFAULT", 0)
{
	void *va = kmapped(e, 0);
	MUST(km_kunmap(e->m, e->high[0]) == 0);
	MUST(km_kmap_flush_unused(e->m) == 0);
	struct km_slot s = slot_of(e, va);
	BEGIN(e);
	/* a policy may keep a released slot mapped: then it reads */
	rw_refuse(e, va, 8, s.pfn == UINT64_MAX ? -EFAULT : 0, NULL);
}

CASE(km_read, "a slot with no users: readable, unless debug mode closed it", 0)
{
	void *va = kmapped(e, 0);
	MUST(km_kunmap(e->m, e->high[0]) == 0);
	BEGIN(e);
	RC(km_read(e->m, va, e->buf, 8), is_debug(e) ? -EFAULT : 0);
}

CASE(km_read, "local addresses: an unused index, after kunmap_local: -EFAULT", 0)
{
	void *a = local_mapped(e, 0);
	void *b = local_mapped(e, 1);
	MUST(km_kunmap_local(e->m, b) == 0);
	BEGIN(e);
	rw_refuse(e, b, 8, -EFAULT, NULL);
	rw_refuse(e, (char *)a - 5 * PG, 8, -EFAULT, NULL);
	/* running off the live local page into the unused one below it */
	rw_refuse(e, (char *)a - 8, 16, -EFAULT, NULL);
}

CASE(km_read, "an address of another machine: -EFAULT", 0)
{
	void *ova;
	MUST(km_kmap(e->other, e->ohigh, &ova) == 0);
	MUST(free_here(e, ova)); /* sim: the same numbers as e->m's slot */
	BEGIN(e);
	rw_refuse(e, ova, 8, -EFAULT, NULL);
}

CASE(km_write, "read-only memory: -EROFS, nothing written", HOST)
{
	struct km_config cfg;
	km_machine *m;
	const char *p = tmp_path("ro");
	int fd = open(p, O_CREAT | O_RDWR, 0600);
	MUST(fd >= 0 && ftruncate(fd, (off_t)(8 * MiB)) == 0);
	close(fd);
	conf_fill(e->c, &cfg);
	cfg.mem_path = p;
	cfg.mem_bytes = 0;
	cfg.lowmem_bytes = 4 * MiB;
	cfg.flags |= KM_RDONLY;
	MUST(km_machine_create(&cfg, &m) == 0);
	struct km_layout l;
	MUST(km_machine_layout(m, &l) == 0);
	km_page *high = km_pfn_to_page(m, l.max_low_pfn + 10);
	void *va, *low = km_lowmem_page_address(m, km_pfn_to_page(m, l.min_pfn + 3));
	MUST(km_kmap(m, high, &va) == 0);
	RC(km_write(m, va, "x", 1), -EROFS);
	RC(km_write(m, low, "x", 1), -EROFS);
	RC(km_memset_page(m, high, 0, 1, 8), -EROFS);
	RC(km_page_write(m, high, 0, "x", 1, NULL), -EROFS);
	RC(km_page_write(m, km_pfn_to_page(m, l.max_low_pfn + 11), 0, "x", 1,
	                 NULL), -EROFS); /* not in the window: no pwrite */
	km_machine_destroy(m);
}

/* ---------------------------------------------------------------------- */
/* Local maps                                                              */
/* ---------------------------------------------------------------------- */

CASE(km_kmap_local_page, "NULL machine, bad pages, NULL addr: -EINVAL", 0)
{
	void *va = e;
	BEGIN(e);
	RC(km_kmap_local_page(NULL, e->high[0], &va), -EINVAL);
	RC(km_kmap_local_page(e->m, e->high[0], NULL), -EINVAL);
	EACH_BAD_PAGE(e, p, RC(km_kmap_local_page(e->m, p, &va), -EINVAL));
	PTR(va, e);
}

CASE(km_kmap_atomic, "NULL machine, bad pages, NULL addr: -EINVAL, no section", 0)
{
	void *va = e;
	BEGIN(e);
	RC(km_kmap_atomic(NULL, e->high[0], &va), -EINVAL);
	RC(km_kmap_atomic(e->m, e->high[0], NULL), -EINVAL);
	EACH_BAD_PAGE(e, p, RC(km_kmap_atomic(e->m, p, &va), -EINVAL));
	PTR(va, e);
}

CASE(km_kmap_local_page, "a 16th local mapping: -KM_ESTACKFULL", 0)
{
	void *va = e;
	for (unsigned i = 0; i < KM_LOCAL_MAX; i++)
		MUST(km_kmap_local_page(e->m, km_pfn_to_page(e->m,
		                        e->l.max_low_pfn + 200 + i), &va) == 0);
	va = e;
	BEGIN(e);
	RC(km_kmap_local_page(e->m, e->high[0], &va), -KM_ESTACKFULL);
	RC(km_kmap_atomic(e->m, e->high[0], &va), -KM_ESTACKFULL);
	PTR(va, e);
	unchanged(e);
	/* the copy helpers take no local mapping: a full stack is no matter */
	RC(km_memcpy_from_page(e->m, e->buf, e->high[0], 0, 8), 0);
	RC(km_page_read(e->m, e->high[0], 0, e->buf, 8, NULL), 0);
}

/* Every local unmap of @va: @want. */
static void local_unmaps(struct env *e, const void *va, int want_local,
                         int want_atomic)
{
	RC(km_kunmap_local(e->m, va), want_local);
	RC(km_kunmap_atomic(e->m, va), want_atomic);
}

/* What a local unmap of @va, which maps nothing, answers: where the arch
 * needs kmap_high_get a window address is kunmap_high()'s (not mapped). */
static int unmap_nothing(struct env *e, const void *va)
{
	uintptr_t a = (uintptr_t)va;
	bool window = a >= e->l.pkmap_base && a < e->l.pkmap_end;
	return window && e->l.kmap_high_get ? -KM_ENOTMAPPED : -EINVAL;
}

CASE(km_kunmap_local, "NULL machine, addresses of nothing, another machine's: "
     "-EINVAL", 0)
{
	void *bad[NBADVA], *ova, *a;
	MUST(km_kmap(e->other, e->ohigh, &ova) == 0);
	MUST(km_kmap_atomic(e->m, e->high[0], &a) == 0); /* a section is open */
	bad_addrs(e, bad);
	BEGIN(e);
	RC(km_kunmap_local(NULL, a), -EINVAL);
	RC(km_kunmap_atomic(NULL, a), -EINVAL);
	for (unsigned i = 0; i < NBADVA; i++)
		local_unmaps(e, bad[i], unmap_nothing(e, bad[i]),
		             unmap_nothing(e, bad[i]));
	MUST(free_here(e, ova));
	local_unmaps(e, ova, unmap_nothing(e, ova), unmap_nothing(e, ova));
}

CASE(km_kunmap_local, "a pkmap slot without users: -EINVAL (kmap_high_get: "
     "kunmap_high's error); with users: no-op (kmap_high_get: kunmap_high)", 0)
{
	void *a, *held = kmapped(e, 1), *rel = kmapped(e, 2);
	void *unused = unused_slot(e);
	bool khg = e->l.kmap_high_get;
	MUST(km_kunmap(e->m, e->high[2]) == 0); /* count 1: mapped, no users */
	MUST(km_kmap_atomic(e->m, e->high[0], &a) == 0);
	BEGIN(e);
	local_unmaps(e, rel, khg ? -KM_ENOUSERS : -EINVAL,
	             khg ? -KM_ENOUSERS : -EINVAL);
	local_unmaps(e, unused, unmap_nothing(e, unused), unmap_nothing(e, unused));
	/* lowmem is the kernel's no-op */
	RC(km_kunmap_local(e->m, km_lowmem_page_address(e->m, e->low)), 0);
	unchanged(e);
	/* a held pkmap address: nothing, or (kmap_high_get) one user less */
	RC(km_kunmap_local(e->m, held), 0);
	RC(slot_of(e, held).count, khg ? 1 : 2);
}

CASE(km_kunmap_atomic, "no section open: -KM_ENOATOMIC", 0)
{
	void *a = local_mapped(e, 0);
	BEGIN(e);
	RC(km_kunmap_atomic(e->m, a), -KM_ENOATOMIC);
	RC(km_kunmap_atomic(e->m, km_lowmem_page_address(e->m, e->low)),
	   -KM_ENOATOMIC);
	RC(km_kunmap_atomic(e->m, NULL), -KM_ENOATOMIC);
}

CASE(km_kunmap_local, "not the newest, an unused index, after its unmap, the "
     "other kind", 0)
{
	void *a = local_mapped(e, 0), *b, *c;
	MUST(km_kmap_atomic(e->m, e->high[1], &b) == 0);
	c = local_mapped(e, 2);
	BEGIN(e);
	local_unmaps(e, a, -KM_ENOTTOP, -KM_ENOTTOP);
	local_unmaps(e, b, -KM_ENOTTOP, -KM_ENOTTOP);
	/* above the newest: none of the task's mappings */
	local_unmaps(e, (char *)c - PG, -EINVAL, -EINVAL);
	RC(km_kunmap_atomic(e->m, c), -KM_EKIND);
}

CASE(km_kunmap_atomic, "a local mapping's address: -KM_EKIND", 0)
{
	void *a, *b;
	MUST(km_kmap_atomic(e->m, e->high[0], &a) == 0);
	b = local_mapped(e, 1);
	BEGIN(e);
	RC(km_kunmap_atomic(e->m, b), -KM_EKIND);
	unchanged(e);
	MUST(km_kunmap_local(e->m, b) == 0);
	BEGIN(e);
	RC(km_kunmap_local(e->m, a), -KM_EKIND);
	RC(km_kunmap_local(e->m, b), -EINVAL); /* gone: none of the task's */
}

CASE(km_in_atomic, "NULL machine: 0", 0)
{
	void *a;
	MUST(km_kmap_atomic(e->m, e->high[0], &a) == 0);
	BEGIN(e);
	RC(km_in_atomic(NULL), 0);
	RC(km_in_atomic(e->m), 1);
}

/* ---------------------------------------------------------------------- */
/* Copy helpers                                                            */
/* ---------------------------------------------------------------------- */

/* offset and length pairs past the page, overflowing included */
static const size_t bad_off[] = { PG + 1, 0, 1, PG, SIZE_MAX, 8, SIZE_MAX - 7,
                                  PG / 2 };
static const size_t bad_len[] = { 0, PG + 1, PG, 1, 8, SIZE_MAX, 16,
                                  PG / 2 + 1 };
#define NBADRANGE (sizeof(bad_off) / sizeof(bad_off[0]))

CASE(km_memcpy_to_page, "ranges past the page, bad pages, NULL: -EINVAL", 0)
{
	BEGIN(e);
	for (unsigned i = 0; i < NBADRANGE; i++)
		RC(km_memcpy_to_page(e->m, e->high[0], bad_off[i], e->buf,
		                     bad_len[i]), -EINVAL);
	RC(km_memcpy_to_page(NULL, e->high[0], 0, e->buf, 8), -EINVAL);
	RC(km_memcpy_to_page(e->m, e->high[0], 0, NULL, 8), -EINVAL);
	EACH_BAD_PAGE(e, p, RC(km_memcpy_to_page(e->m, p, 0, e->buf, 8), -EINVAL));
}

CASE(km_memcpy_from_page, "ranges past the page, bad pages, NULL: -EINVAL", 0)
{
	BEGIN(e);
	for (unsigned i = 0; i < NBADRANGE; i++)
		RC(km_memcpy_from_page(e->m, e->buf, e->high[0], bad_off[i],
		                       bad_len[i]), -EINVAL);
	RC(km_memcpy_from_page(NULL, e->buf, e->high[0], 0, 8), -EINVAL);
	RC(km_memcpy_from_page(e->m, NULL, e->high[0], 0, 8), -EINVAL);
	EACH_BAD_PAGE(e, p, RC(km_memcpy_from_page(e->m, e->buf, p, 0, 8), -EINVAL));
}

CASE(km_page_read, "ranges past the page, bad pages, NULL: -EINVAL, *how kept",
     0)
{
	enum km_copy_how how = (enum km_copy_how)77;
	BEGIN(e);
	for (unsigned i = 0; i < NBADRANGE; i++)
		RC(km_page_read(e->m, e->high[0], bad_off[i], e->buf, bad_len[i],
		                &how), -EINVAL);
	RC(km_page_read(NULL, e->high[0], 0, e->buf, 8, &how), -EINVAL);
	RC(km_page_read(e->m, e->high[0], 0, NULL, 8, &how), -EINVAL);
	RC(km_page_read(e->m, e->low, PG + 1, e->buf, 0, &how), -EINVAL);
	EACH_BAD_PAGE(e, p, RC(km_page_read(e->m, p, 0, e->buf, 8, &how),
	                       -EINVAL));
	RC(how, 77);
}

CASE(km_page_read, "no bytes: 0, nothing read, nothing counted", 0)
{
	enum km_copy_how how = (enum km_copy_how)77;
	BEGIN(e);
	RC(km_page_read(e->m, e->high[0], PG, NULL, 0, &how), 0);
	RC(how, KM_COPY_MEMORY);
	RC(km_page_read(e->m, e->low, 0, NULL, 0, NULL), 0);
}

CASE(km_page_write, "ranges past the page, bad pages, NULL: -EINVAL, no byte",
     0)
{
	enum km_copy_how how = (enum km_copy_how)77;
	unsigned char got[8];
	MUST(km_page_read(e->m, e->high[0], 0, got, 8, NULL) == 0);
	memset(e->buf, 0xa5, 16);
	BEGIN(e);
	for (unsigned i = 0; i < NBADRANGE; i++)
		RC(km_page_write(e->m, e->high[0], bad_off[i], e->buf, bad_len[i],
		                 &how), -EINVAL);
	RC(km_page_write(NULL, e->high[0], 0, e->buf, 8, &how), -EINVAL);
	RC(km_page_write(e->m, e->high[0], 0, NULL, 8, &how), -EINVAL);
	EACH_BAD_PAGE(e, p, RC(km_page_write(e->m, p, 0, e->buf, 8, &how),
	                       -EINVAL));
	RC(how, 77);
	unchanged(e);
	unsigned char now[8];
	MUST(km_page_read(e->m, e->high[0], 0, now, 8, NULL) == 0);
	RC(memcmp(now, got, 8), 0);
}

CASE(km_memcpy_page, "ranges past either page, bad pages: -EINVAL", 0)
{
	BEGIN(e);
	for (unsigned i = 0; i < NBADRANGE; i++) {
		RC(km_memcpy_page(e->m, e->high[0], bad_off[i], e->high[1], 0,
		                  bad_len[i]), -EINVAL);
		RC(km_memcpy_page(e->m, e->high[0], 0, e->high[1], bad_off[i],
		                  bad_len[i]), -EINVAL);
	}
	RC(km_memcpy_page(NULL, e->high[0], 0, e->high[1], 0, 8), -EINVAL);
	EACH_BAD_PAGE(e, p, {
		RC(km_memcpy_page(e->m, p, 0, e->high[1], 0, 8), -EINVAL);
		RC(km_memcpy_page(e->m, e->high[0], 0, p, 0, 8), -EINVAL);
	});
}

CASE(km_memset_page, "ranges past the page, bad pages: -EINVAL", 0)
{
	BEGIN(e);
	for (unsigned i = 0; i < NBADRANGE; i++)
		RC(km_memset_page(e->m, e->high[0], bad_off[i], 0x11, bad_len[i]),
		   -EINVAL);
	RC(km_memset_page(NULL, e->high[0], 0, 0, 8), -EINVAL);
	EACH_BAD_PAGE(e, p, RC(km_memset_page(e->m, p, 0, INT_MIN, 8), -EINVAL));
}

CASE(km_memzero_page, "ranges past the page, bad pages: -EINVAL", 0)
{
	BEGIN(e);
	for (unsigned i = 0; i < NBADRANGE; i++)
		RC(km_memzero_page(e->m, e->high[0], bad_off[i], bad_len[i]),
		   -EINVAL);
	RC(km_memzero_page(NULL, e->high[0], 0, 8), -EINVAL);
	EACH_BAD_PAGE(e, p, RC(km_memzero_page(e->m, p, 0, 8), -EINVAL));
}

CASE(km_copy_highpage, "bad pages: -EINVAL", 0)
{
	BEGIN(e);
	RC(km_copy_highpage(NULL, e->high[0], e->high[1]), -EINVAL);
	EACH_BAD_PAGE(e, p, {
		RC(km_copy_highpage(e->m, p, e->high[1]), -EINVAL);
		RC(km_copy_highpage(e->m, e->high[0], p), -EINVAL);
	});
}

/* ---------------------------------------------------------------------- */
/* Tasks                                                                   */
/* ---------------------------------------------------------------------- */

CASE(km_task_create, "NULL machine or out: -EINVAL", 0)
{
	km_task *t = (km_task *)e;
	BEGIN(e);
	RC(km_task_create(NULL, &t), -EINVAL);
	RC(km_task_create(e->m, NULL), -EINVAL);
	PTR(t, e);
}

/* Handles that are not tasks of e->m: NULL aside. */
#define NBADTASK 4
static void bad_tasks(struct env *e, km_task *bad[NBADTASK], km_task **foreign)
{
	static long not_a_task[64];
	MUST(km_task_create(e->other, foreign) == 0);
	bad[0] = *foreign;
	bad[1] = (km_task *)not_a_task;
	bad[2] = (km_task *)1;
	bad[3] = dead_task(e->m); /* last: no task is made after it */
}

CASE(km_task_destroy, "NULL, destroyed, another machine's, not a task: -EINVAL",
     0)
{
	km_task *bad[NBADTASK], *foreign;
	bad_tasks(e, bad, &foreign);
	BEGIN(e);
	RC(km_task_destroy(NULL, foreign), -EINVAL);
	RC(km_task_destroy(e->m, NULL), -EINVAL);
	for (unsigned i = 0; i < NBADTASK; i++)
		RC(km_task_destroy(e->m, bad[i]), -EINVAL);
	/* the other machine's task is still there, and its own */
	RC(km_task_state(e->other, foreign), KM_TASK_RUNNING);
	RC(km_task_switch(e->other, foreign), 0);
	RC(km_task_switch(e->other, NULL), 0);
	RC(km_task_destroy(e->other, foreign), 0);
}

CASE(km_task_destroy, "current, sleeping, holding local maps: -EBUSY", 0)
{
	km_task *cur, *sleeper, *holder;
	void *va;
	MUST(km_task_create(e->m, &cur) == 0);
	MUST(km_task_create(e->m, &sleeper) == 0);
	MUST(km_task_create(e->m, &holder) == 0);
	MUST(km_task_switch(e->m, holder) == 0);
	local_mapped(e, 0);
	fill_window(e);
	MUST(km_task_switch(e->m, sleeper) == 0);
	MUST(km_kmap(e->m, e->high[1], &va) == -KM_ESLEEPING);
	MUST(km_task_switch(e->m, cur) == 0);
	BEGIN(e);
	RC(km_task_destroy(e->m, cur), -EBUSY);
	RC(km_task_destroy(e->m, sleeper), -EBUSY);
	RC(km_task_destroy(e->m, holder), -EBUSY);
}

CASE(km_task_switch, "destroyed, another machine's, not a task: -EINVAL", 0)
{
	km_task *bad[NBADTASK], *foreign;
	void *va;
	bad_tasks(e, bad, &foreign);
	BEGIN(e);
	RC(km_task_switch(NULL, foreign), -EINVAL);
	for (unsigned i = 0; i < NBADTASK; i++)
		RC(km_task_switch(e->m, bad[i]), -EINVAL);
	unchanged(e);
	/* still the thread's own task, even once the other machine is gone */
	km_machine_destroy(e->other);
	e->other = NULL;
	RC(km_kmap(e->m, e->low, &va), 0);
	RC(km_kunmap(e->m, e->low), 0);
}

static void *switch_thread(void *arg)
{
	struct env *e = arg;
	return (void *)(intptr_t)km_task_switch(e->m, *(km_task **)e->buf);
}

CASE(km_task_switch, "current on another thread, holding another area's local "
     "maps: -EBUSY", 0)
{
	km_task *t;
	pthread_t th;
	void *r;
	MUST(km_task_create(e->m, &t) == 0);
	MUST(km_task_switch(e->m, t) == 0);
	local_mapped(e, 0);
	memcpy(e->buf, &t, sizeof(t));
	BEGIN(e);
	MUST(pthread_create(&th, NULL, switch_thread, e) == 0);
	MUST(pthread_join(th, &r) == 0);
	RC((intptr_t)r, -EBUSY);
	unchanged(e);
	MUST(km_task_switch(e->m, NULL) == 0);
	BEGIN(e);
	MUST(pthread_create(&th, NULL, switch_thread, e) == 0);
	MUST(pthread_join(th, &r) == 0);
	RC((intptr_t)r, -EBUSY); /* its local maps live in this thread's area */
}

CASE(km_task_next_woken, "NULL machine, nothing woken: NULL", 0)
{
	BEGIN(e);
	PTR(km_task_next_woken(NULL), NULL);
	PTR(km_task_next_woken(e->m), NULL);
}

CASE(km_task_state, "destroyed, another machine's, not a task: KM_TASK_NONE", 0)
{
	km_task *bad[NBADTASK], *foreign;
	bad_tasks(e, bad, &foreign);
	BEGIN(e);
	RC(km_task_state(NULL, foreign), KM_TASK_NONE);
	RC(km_task_state(e->m, NULL), KM_TASK_RUNNING); /* the thread's own */
	for (unsigned i = 0; i < NBADTASK; i++)
		RC(km_task_state(e->m, bad[i]), KM_TASK_NONE);
}

CASE(km_task_local_depth, "NULL, destroyed, another machine's, not a task: "
     "-EINVAL", 0)
{
	km_task *bad[NBADTASK], *foreign;
	bad_tasks(e, bad, &foreign);
	BEGIN(e);
	RC(km_task_local_depth(NULL, foreign), -EINVAL);
	RC(km_task_local_depth(e->m, NULL), -EINVAL);
	for (unsigned i = 0; i < NBADTASK; i++)
		RC(km_task_local_depth(e->m, bad[i]), -EINVAL);
}

/* ---------------------------------------------------------------------- */
/* Running the cases                                                       */
/* ---------------------------------------------------------------------- */

static void env_make(struct env *e, const struct conf *c)
{
	struct km_config cfg;
	memset(e, 0, sizeof(*e));
	e->c = c;
	conf_fill(c, &cfg);
	MUST(km_machine_create(&cfg, &e->m) == 0);
	MUST(km_machine_create(&cfg, &e->other) == 0);
	MUST(km_machine_layout(e->m, &e->l) == 0);
	for (unsigned i = 0; i < 8; i++)
		MUST((e->high[i] = km_pfn_to_page(e->m, e->l.max_low_pfn + 10 + i)));
	MUST((e->low = km_pfn_to_page(e->m, e->l.min_pfn + 100)));
	MUST((e->ohigh = km_pfn_to_page(e->other, e->l.max_low_pfn + 10)));
	e->stride = (char *)km_pfn_to_page(e->m, e->l.min_pfn + 1) -
	            (char *)km_pfn_to_page(e->m, e->l.min_pfn);
	MUST(e->stride > 0);
}

static void run_child(const struct acase *ac, const struct conf *c)
{
	static struct env env;
	alarm(CHILD_SECONDS);
	if (!(ac->flags & NOENV))
		env_make(&env, c);
	else
		env.c = c;
	ac->run(&env);
	end_checks(&env);
	_exit(0);
}

/* One case on one configuration, in a child; 0 when it passed. */
static int run_one(const struct acase *ac, const struct conf *c)
{
	char text[256];
	snprintf(text, sizeof(text), "%s: %s [%s]", ac->fn, ac->what,
	         ac->flags & ONCE ? "any" : conf_name(c));
	FILE *err = tmpfile();
	if (!err) {
		perror("tmpfile");
		return 1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (!pid) {
		dup2(fileno(err), 2);
		label = text;
		run_child(ac, c);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (!ok || verbose) {
		printf("%s %s", ok ? "ok  " : "FAIL", text);
		if (WIFSIGNALED(st))
			printf(": %s%s", strsignal(WTERMSIG(st)),
			       WTERMSIG(st) == SIGALRM ? " (a hang)" : "");
		else if (!ok)
			printf(": exit %d", WEXITSTATUS(st));
		printf("\n");
		if (!ok) {
			char line[512];
			rewind(err);
			while (fgets(line, sizeof(line), err))
				printf("    %s", line);
		}
	}
	fclose(err);
	return !ok;
}

/* The KM_API functions of the header, each once, in @names. */
static unsigned header_functions(const char *path, char names[][48],
                                 unsigned max)
{
	FILE *f = fopen(path, "r");
	char line[512];
	unsigned n = 0;
	if (!f) {
		perror(path);
		exit(2);
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "KM_API");
		char *paren = p ? strchr(p, '(') : NULL;
		if (!p || !paren || strncmp(line, "KM_API", 6))
			continue;
		char *end = paren;
		while (end > p && end[-1] == ' ')
			end--;
		char *start = end;
		while (start > p && (start[-1] == '_' || (start[-1] >= 'a' &&
		       start[-1] <= 'z') || (start[-1] >= '0' && start[-1] <= '9')))
			start--;
		size_t len = (size_t)(end - start);
		if (!len || len >= 48 || strncmp(start, "km_", 3) || n == max)
			continue;
		memcpy(names[n], start, len);
		names[n++][len] = 0;
	}
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	if (argc < 2) {
		fprintf(stderr, "usage: abuse KMAP_H [-v] [-k CASE-SUBSTRING]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = true;
		else if (!strcmp(argv[i], "-k") && i + 1 < argc)
			only = argv[++i];
	}
	signal(SIGPIPE, SIG_IGN);
	ncalls = mmap(NULL, sizeof(*ncalls), PROT_READ | PROT_WRITE,
	              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ncalls == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}

	/* every function of the header has cases; every case names one */
	static char names[256][48];
	unsigned nfn = header_functions(argv[1], names, 256), bad = 0;
	if (nfn < 40) {
		printf("FAIL: only %u KM_API functions found in %s\n", nfn, argv[1]);
		return 1;
	}
	for (unsigned i = 0; i < nfn; i++) {
		unsigned n = 0;
		for (unsigned j = 0; j < ncases; j++)
			n += !strcmp(cases[j].fn, names[i]);
		if (!n) {
			printf("FAIL: %s (kmap.h) has no abuse cases\n", names[i]);
			bad++;
		}
	}
	for (unsigned j = 0; j < ncases; j++) {
		unsigned i = 0;
		while (i < nfn && strcmp(cases[j].fn, names[i]))
			i++;
		if (i == nfn) {
			printf("FAIL: a case for %s, which kmap.h does not declare\n",
			       cases[j].fn);
			bad++;
		}
	}

	unsigned children = 0;
	for (unsigned j = 0; j < ncases; j++) {
		const struct acase *ac = &cases[j];
		if (only && !strstr(ac->fn, only) && !strstr(ac->what, only))
			continue;
		for (unsigned c = 0; c < NCONFS; c++) {
			if ((ac->flags & HOST) && confs[c].backend != KM_BACKEND_HOST)
				continue;
			bad += (unsigned)run_one(ac, &confs[c]);
			children++;
			if (ac->flags & ONCE)
				break;
		}
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd)) {
		/* a leftover temporary directory is not a failure */
	}
	printf("%u functions, %u cases, %u children, %lu calls checked: %u "
	       "failed\n", nfn, ncases, children, *ncalls, bad);
	return bad ? 1 : 0;
}
