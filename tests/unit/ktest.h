/*
 * ktest.h - helpers shared by the kmap unit tests (support_*.c).
 *
 * Assertions print both sides in decimal and hex together with the
 * expressions, and error codes with km_strerror(), so that a failure says
 * what happened without a debugger.
 */
#ifndef KTEST_H
#define KTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <kmap.h>

/* ------------------------------------------------------------------ */
/* Assertions                                                          */
/* ------------------------------------------------------------------ */

void kt_eq_(const char *ea, const char *eb, long long a, long long b,
            const char *file, int line);
void kt_rc_(const char *expr, int got, int want, const char *file, int line);

/* a == b, printing both (decimal and hex) */
#define KT_EQ(a, b) \
	kt_eq_(#a, #b, (long long)(a), (long long)(b), __FILE__, __LINE__)
/* an int-returning call gives exactly @want (0 or -errno) */
#define KT_RC(expr, want) kt_rc_(#expr, (int)(expr), (int)(want), __FILE__, __LINE__)
#define KT_OK(expr) KT_RC(expr, 0)

/*
 * kt_known_bug - a check failed that once caught a library bug, now fixed:
 * the test fails with the message, which names the bug. Clean up before
 * calling (it does not return).
 */
void kt_known_bug_(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
#define KT_KNOWN_BUG(...) kt_known_bug_(__FILE__, __LINE__, __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* Machines and pages                                                  */
/* ------------------------------------------------------------------ */

/* Create a machine or fail the test. mem/last_pkmap/colors 0 = default. */
km_machine *kt_machine(const char *profile, uint64_t mem, unsigned last_pkmap,
                       unsigned colors, unsigned flags);
/* ... the same from a full config */
km_machine *kt_machine_cfg(const struct km_config *cfg);
struct km_layout kt_layout(km_machine *m);
/* The i-th highmem page (pfn max_low_pfn + i); fails the test if none. */
km_page *kt_high(km_machine *m, uint64_t i);
/* The page of @pfn, which must be lowmem. */
km_page *kt_low(km_machine *m, uint64_t pfn);
uint64_t kt_pfn(km_machine *m, km_page *p);
/* The pages of pfns [@pfn, @pfn + @n): a new array (free() it), for a
 * vmap's or vm_map_ram's pages; fails the test if one is missing. */
km_page **kt_pages(km_machine *m, uint64_t pfn, unsigned n);
/* The pages of the @n pfns in @pfns, into @out; fails the test if one is
 * missing. */
void kt_pages_at(km_machine *m, const uint64_t *pfns, unsigned n,
                 km_page **out);
/* A machine on the host backend (real memory): @mem bytes, @lowmem of
 * them lowmem, a vmalloc area of @vmalloc (0: the default); @profile
 * NULL: the default. Fails the test if it cannot be made. */
km_machine *kt_host_machine(const char *profile, uint64_t mem,
                            uint64_t lowmem, uint64_t vmalloc);
/* @len bytes of @rec as a record that starts @head bytes before the end
 * of page @a and goes on at the start of page @b (by the copy helpers,
 * as a file's pages hold it); fails the test on an error. */
void kt_record_across(km_machine *m, km_page *a, km_page *b,
                      const char *rec, size_t len, size_t head);
/* PKMAP slot number of a window address */
unsigned kt_slot_of(km_machine *m, const void *va);
/* PKMAP_ADDR(nr) */
uintptr_t kt_slot_addr(km_machine *m, unsigned nr);
/* km_check() must pass; prints its message otherwise */
void kt_check_(km_machine *m, const char *file, int line);
#define KT_CHECK(m) kt_check_((m), __FILE__, __LINE__)

/* count and pfn of a slot */
struct km_slot kt_slot(km_machine *m, unsigned nr);
/* Assert slot @nr has @count and maps @pfn (UINT64_MAX: none). */
void kt_slot_is_(km_machine *m, unsigned nr, int count, uint64_t pfn,
                 const char *file, int line);
#define KT_SLOT(m, nr, count, pfn) \
	kt_slot_is_((m), (nr), (count), (pfn), __FILE__, __LINE__)

/* Snapshot every slot (n = last_pkmap entries, at most 65536). */
struct kt_slots {
	unsigned n;
	struct km_slot s[1024];
};
void kt_slots_get(km_machine *m, struct kt_slots *out);
void kt_slots_same_(const struct kt_slots *a, const struct kt_slots *b,
                    const char *file, int line);
#define KT_SLOTS_SAME(a, b) kt_slots_same_((a), (b), __FILE__, __LINE__)

struct km_stats kt_stats(km_machine *m);
/* kmaps == hits + new_maps + lowmem, and the tallies are in range */
void kt_stats_sane_(km_machine *m, const char *file, int line);
#define KT_STATS_SANE(m) kt_stats_sane_((m), __FILE__, __LINE__)

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

#define KT_MAX_EVENTS 256
#define KT_MAX_CLEARED 64

struct kt_event {
	enum km_event_type type;
	unsigned color;
	unsigned nr_cleared;
	int tlb_flush;
	const km_task *task;
	unsigned nr_woken;
	unsigned cleared[KT_MAX_CLEARED];
	/* KM_EV_FLUSH: pkmap_count after the flush (first KT_MAX_CLEARED) */
	unsigned last_pkmap;
	int has_counts;
	int counts[KT_MAX_CLEARED];
};

/* Records events (the hook runs under the machine lock; the recorder has
 * its own mutex so a test thread may read it while others run). */
struct kt_events {
	pthread_mutex_t mu;
	unsigned n, lost;
	struct kt_event ev[KT_MAX_EVENTS];
};

/* A recorder on the heap, attached to @m as its event hook. */
struct kt_events *kt_events_new(km_machine *m);
/* Detach from @m (NULL: already destroyed) and free. */
void kt_events_free(km_machine *m, struct kt_events *e);
void kt_events_reset(struct kt_events *e);
unsigned kt_events_count(struct kt_events *e, enum km_event_type type);
/* copy of the i-th event of @type, or fail the test */
struct kt_event kt_events_nth(struct kt_events *e, enum km_event_type type,
                              unsigned i);
/* Assert the i-th flush cleared exactly @want[0..n) and tlb_flush = n > 0 */
void kt_flush_is_(struct kt_events *e, unsigned i, const unsigned *want,
                  unsigned n, const char *file, int line);
#define KT_FLUSH_IS(e, i, want, n) kt_flush_is_((e), (i), (want), (n), __FILE__, __LINE__)

/* ------------------------------------------------------------------ */
/* Time, waiting, processes                                            */
/* ------------------------------------------------------------------ */

uint64_t kt_now_ns(void);
void kt_sleep_us(unsigned us);
/* Poll until stats.sleeps >= n; 0 on success, -1 after @timeout_ms. */
int kt_wait_sleeps(km_machine *m, uint64_t n, unsigned timeout_ms);

/*
 * Run @fn in a forked child with stderr captured. Asserts that the child
 * died of SIGABRT and that its stderr contains @needle. @fn should abort;
 * if it returns, the child exits 0 (and the assertion fails).
 */
void kt_expect_abort_(void (*fn)(void *), void *arg, const char *needle,
                      const char *file, int line);
#define KT_EXPECT_ABORT(fn, arg, needle) \
	kt_expect_abort_((fn), (arg), (needle), __FILE__, __LINE__)
/* Run @fn in a forked child; assert it exits with status 0. */
void kt_expect_exit0_(void (*fn)(void *), void *arg, const char *file, int line);
#define KT_EXPECT_EXIT0(fn, arg) kt_expect_exit0_((fn), (arg), __FILE__, __LINE__)

/* ------------------------------------------------------------------ */
/* Watchdog (support_watchdog.c)                                       */
/* ------------------------------------------------------------------ */

/*
 * kt_watchdog_start - abort the process with a clear message when
 * kt_watchdog_stop() is not called within @seconds (scaled by the
 * environment variable KMAP_TEST_WATCHDOG_SCALE, default 1). @dump, when
 * not NULL, is called first to print what the test was doing; it must not
 * take locks that a deadlocked thread may hold. One watchdog at a time.
 */
void kt_watchdog_start(const char *what, unsigned seconds,
                       void (*dump)(void *), void *arg);
void kt_watchdog_stop(void);

/* cmocka setup/teardown: a 60 s watchdog around one test */
int kt_wd_setup(void **state);
int kt_wd_teardown(void **state);
/* a unit test under its own watchdog, so that a hang fails it */
#define KT_TEST(f) cmocka_unit_test_setup_teardown(f, kt_wd_setup, kt_wd_teardown)

#endif
