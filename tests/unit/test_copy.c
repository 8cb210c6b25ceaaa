/*
 * test_copy.c - the copy helpers' choice, page by page: from the window,
 * straight from the memory, or mapped when the admission rule takes the
 * page. On the simulated machine, for every policy: a page read once is
 * never mapped; a page read often is; a scan (in order or not) does not
 * push the hot pages out; under tinylfu a page counted often displaces
 * one counted little; room a flush makes is found again by a miss. The bytes are right whichever way they go, the
 * counters add up, and on real memory a scan is served from runs, writes
 * included, and threads copy at once while pages come and go. A scan's
 * read-ahead is never stale, and a thread that exits holding a local map
 * leaves it on once the map is cleared. The window's size limits.
 */
#define _GNU_SOURCE
#include "ktest.h"

#include "user.h"
#include "backend/sim.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PG 4096u
#define GiB (1024ull * 1024 * 1024)

/* x86-32-pae with a 512-slot window over 2 GiB: 1152 MiB of highmem */
static km_machine *sim(const char *policy, unsigned flags)
{
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.profile = "x86-32-pae";
	cfg.mem_bytes = 2 * GiB;
	cfg.policy = policy;
	cfg.flags = flags;
	return kt_machine_cfg(&cfg);
}

static enum km_copy_how read_how(km_machine *m, km_page *p)
{
	char buf[64];
	enum km_copy_how how = 0;
	KT_OK(km_page_read(m, p, 64, buf, sizeof(buf), &how));
	return how;
}

/* highmem page i, scattered so that no two are neighbours (not a scan) */
static km_page *spread(km_machine *m, uint64_t i)
{
	return kt_high(m, (i * 2654435761u) % 200000);
}

/* copies of highmem pages the counters saw, every way */
static uint64_t copies(const struct km_stats *s)
{
	return s->copy_window + s->copy_memory + s->copy_stream + s->admissions +
	       s->copy_ahead;
}

/* A page read once is never mapped: 20000 distinct pages, in no order. */
static void read_once_never_mapped(void **state)
{
	(void)state;
	for (unsigned pi = 0; km_policy_name(pi); pi++) {
		km_machine *m = sim(km_policy_name(pi), 0);
		for (uint64_t i = 0; i < 20000; i++)
			KT_EQ(read_how(m, spread(m, i)), KM_COPY_MEMORY);
		struct km_stats s = kt_stats(m);
		KT_EQ(s.admissions, 0);
		KT_EQ(s.mapped, 0);
		KT_EQ(s.copy_memory, 20000);
		KT_EQ(copies(&s), 20000);
		KT_EQ(s.kmaps, 0);
		KT_CHECK(m);
		km_machine_destroy(m);
	}
}

/* A page read again is mapped (a free slot), then copied from there. */
static void read_often_mapped(void **state)
{
	(void)state;
	for (unsigned pi = 0; km_policy_name(pi); pi++) {
		km_machine *m = sim(km_policy_name(pi), 0);
		km_page *p = spread(m, 7);
		assert_null(km_page_address(m, p));
		KT_EQ(read_how(m, p), KM_COPY_MEMORY);
		KT_EQ(read_how(m, p), KM_COPY_ADMITTED);
		assert_non_null(km_page_address(m, p));
		for (int i = 0; i < 10; i++)
			KT_EQ(read_how(m, p), KM_COPY_WINDOW);
		struct km_stats s = kt_stats(m);
		KT_EQ(s.admissions, 1);
		KT_EQ(s.copy_window, 10);
		KT_EQ(s.mapped, 1);
		KT_EQ(s.in_use, 0); /* admitted, held by no one */
		KT_EQ(s.new_maps, 0);
		KT_CHECK(m);
		km_machine_destroy(m);
	}
}

/*
 * @hot pages read 20 times each (in the window then), then 20000 others
 * read once each, in order (a scan) or spread (a one-pass sweep): every
 * hot page is still in the window and read from there.
 */
static void hot_set_stays(const char *policy, unsigned hot, bool in_order)
{
	km_machine *m = sim(policy, 0);
	km_page *h[512];
	for (unsigned i = 0; i < hot; i++)
		h[i] = spread(m, 300000 + i); /* away from the sweep's pages */
	for (int r = 0; r < 20; r++)
		for (unsigned i = 0; i < hot; i++)
			read_how(m, h[(i * 7 + (unsigned)r) % hot]);
	for (unsigned i = 0; i < hot; i++)
		assert_non_null(km_page_address(m, h[i]));
	uint64_t adm = kt_stats(m).admissions;
	for (uint64_t i = 0; i < 20000; i++) {
		km_page *p = in_order ? kt_high(m, 200000 + i) : spread(m, i);
		enum km_copy_how how = read_how(m, p);
		assert_true(how == KM_COPY_MEMORY || how == KM_COPY_STREAM);
	}
	KT_EQ(kt_stats(m).admissions, adm);
	for (unsigned i = 0; i < hot; i++)
		KT_EQ(read_how(m, h[i]), KM_COPY_WINDOW);
	KT_CHECK(m);
	km_machine_destroy(m);
}

static void scan_keeps_hot_set(void **state)
{
	(void)state;
	for (unsigned pi = 0; km_policy_name(pi); pi++) {
		/* half the window: linux fills it in cursor order, never wraps */
		hot_set_stays(km_policy_name(pi), 256, true);
		hot_set_stays(km_policy_name(pi), 256, false);
	}
	/* tinylfu: the whole window hot, every miss weighed against it */
	hot_set_stays("tinylfu", 512, true);
	hot_set_stays("tinylfu", 512, false);
}

/*
 * tinylfu with a full window of pages read a few times: a page read 30
 * times takes a slot from one of them, a page read twice takes none.
 */
static void frequent_displaces_cold(void **state)
{
	(void)state;
	km_machine *m = sim("tinylfu", 0);
	/* each page read until it is in: the ghost list, a slot's worth of
	 * entries, forgets some of 512 pages refused at once */
	for (int r = 0; r < 10 && kt_stats(m).mapped < 512; r++)
		for (uint64_t i = 0; i < 512; i++)
			read_how(m, spread(m, i));
	KT_EQ(kt_stats(m).mapped, 512);
	KT_EQ(kt_stats(m).admissions, 512);
	km_page *twice = spread(m, 1000), *often = spread(m, 1001);
	read_how(m, twice);
	KT_EQ(read_how(m, twice), KM_COPY_MEMORY);
	assert_null(km_page_address(m, twice));
	int admitted_at = -1;
	for (int i = 0; i < 30 && admitted_at < 0; i++)
		if (read_how(m, often) == KM_COPY_ADMITTED)
			admitted_at = i;
	assert_true(admitted_at > 4); /* counted MARGIN more often first */
	assert_non_null(km_page_address(m, often));
	KT_EQ(kt_stats(m).mapped, 512);
	KT_EQ(read_how(m, often), KM_COPY_WINDOW);
	KT_CHECK(m);
	km_machine_destroy(m);
}

/*
 * A miss whose page the policy refused for want of room copies from the
 * memory without asking it again (admit.h's bar), but room that comes
 * later is found: once a kmap's flush has emptied the full window, a page
 * read over and over is admitted within two rechecks (the ghost list's
 * two asks), under every lockless policy.
 */
static void room_found_again(void **state)
{
	(void)state;
	const char *pols[] = { "lockfree", "clock", "tinylfu" };
	for (unsigned pi = 0; pi < 3; pi++) {
		km_machine *m = sim(pols[pi], 0);
		/* lockfree's cursor comes to slot 0 only by a wrap */
		uint64_t full = pi ? 512 : 511;
		for (int r = 0; r < 10 && kt_stats(m).mapped < full; r++)
			for (uint64_t i = 0; i < 512; i++)
				read_how(m, spread(m, i));
		KT_EQ(kt_stats(m).mapped, full);
		km_page *x = spread(m, 2000), *y = spread(m, 2001);
		/* tinylfu may take a slot for x by its counts: not the point */
		for (int i = 0; i < 40 && pi < 2; i++)
			KT_EQ(read_how(m, x), KM_COPY_MEMORY);
		KT_OK(km_kmap_flush_unused(m));
		void *va;
		KT_OK(km_kmap(m, y, &va)); /* lockfree: the cursor wraps here */
		KT_OK(km_kunmap(m, y));
		int admitted_at = -1;
		for (int i = 0; i < 40 && admitted_at < 0; i++)
			if (read_how(m, x) == KM_COPY_ADMITTED)
				admitted_at = i;
		assert_true(admitted_at >= 0 && admitted_at <= 2 * 16);
		KT_EQ(read_how(m, x), KM_COPY_WINDOW);
		KT_CHECK(m);
		km_machine_destroy(m);
	}
}

/* Bytes written one way read back every other way. */
static void bytes_every_way(km_machine *m)
{
	unsigned char a[PG], b[PG];
	for (unsigned i = 0; i < PG; i++)
		a[i] = (unsigned char)(i * 13 + 5);
	km_page *p = kt_high(m, 4242), *q = kt_high(m, 9000);
	enum km_copy_how how;
	/* written straight to the memory, read through a kmap */
	KT_OK(km_page_write(m, p, 0, a, PG, &how));
	KT_EQ(how, KM_COPY_MEMORY);
	void *va;
	KT_OK(km_kmap(m, p, &va));
	KT_OK(km_read(m, va, b, PG));
	assert_memory_equal(a, b, PG);
	/* written through the kmap, read from the window */
	KT_OK(km_write(m, (char *)va + 100, "window", 6));
	KT_OK(km_page_read(m, p, 100, b, 6, &how));
	KT_EQ(how, KM_COPY_WINDOW);
	assert_memory_equal(b, "window", 6);
	KT_OK(km_kunmap(m, p));
	/* written through the kmap, read straight from the memory */
	KT_OK(km_kmap(m, q, &va));
	KT_OK(km_write(m, va, a, PG));
	KT_OK(km_kunmap(m, q));
	KT_OK(km_kmap_flush_unused(m));
	assert_null(km_page_address(m, q));
	memset(b, 0, PG);
	KT_OK(km_page_read(m, q, 0, b, PG, &how));
	KT_EQ(how, KM_COPY_MEMORY);
	assert_memory_equal(a, b, PG);
	/* admitted on the next read: the bytes through the new slot */
	memset(b, 0, PG);
	KT_OK(km_page_read(m, q, 10, b, 100, &how));
	KT_EQ(how, KM_COPY_ADMITTED);
	assert_memory_equal(a + 10, b, 100);
	/* a write to an admitted page reaches the memory */
	KT_OK(km_page_write(m, q, 4000, "end", 4, &how));
	KT_EQ(how, KM_COPY_WINDOW);
	KT_OK(km_kmap_flush_unused(m));
	KT_OK(km_page_read(m, q, 4000, b, 4, &how));
	KT_EQ(how, KM_COPY_MEMORY);
	assert_string_equal((char *)b, "end");
	/* lowmem: the direct map */
	KT_OK(km_page_write(m, kt_low(m, 300), 8, "low", 4, &how));
	KT_EQ(how, KM_COPY_LOWMEM);
	KT_OK(km_page_read(m, kt_low(m, 300), 8, b, 4, &how));
	KT_EQ(how, KM_COPY_LOWMEM);
	assert_string_equal((char *)b, "low");
	/* no bytes, at the page's end: nothing to do */
	KT_OK(km_page_read(m, p, PG, b, 0, &how));
	/* past the page, no buffer, not a page: refused, counted */
	uint64_t err = kt_stats(m).errors;
	KT_RC(km_page_read(m, p, PG - 1, b, 2, &how), -EINVAL);
	KT_RC(km_page_read(m, p, 0, NULL, 1, &how), -EINVAL);
	KT_RC(km_page_write(m, (km_page *)b, 0, a, 1, &how), -EINVAL);
	KT_RC(km_page_read(NULL, p, 0, b, 1, &how), -EINVAL);
	KT_EQ(kt_stats(m).errors, err + 3);
	struct km_stats s = kt_stats(m);
	KT_EQ(copies(&s), 6);
	KT_CHECK(m);
}

static void bytes_sim(void **state)
{
	(void)state;
	for (unsigned pi = 0; km_policy_name(pi); pi++) {
		km_machine *m = sim(km_policy_name(pi), KM_CHECK);
		bytes_every_way(m);
		km_machine_destroy(m);
	}
}

static km_machine *host(const char *policy, uint64_t mem, unsigned flags)
{
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.profile = "x86-32-pae";
	cfg.backend = KM_BACKEND_HOST;
	cfg.mem_bytes = mem;
	cfg.lowmem_bytes = 16u << 20;
	cfg.policy = policy;
	cfg.flags = flags;
	return kt_machine_cfg(&cfg);
}

static void bytes_host(void **state)
{
	(void)state;
	for (unsigned pi = 0; km_policy_name(pi); pi++) {
		km_machine *m = host(km_policy_name(pi), 64u << 20, 0);
		bytes_every_way(m);
		km_machine_destroy(m);
	}
	/* debug mode: a slot without users opened for the copy, shut after */
	km_machine *m = host("tinylfu", 64u << 20, KM_DEBUG);
	bytes_every_way(m);
	km_machine_destroy(m);
}

static uint64_t word(uint64_t pfn, unsigned i)
{
	return pfn * 0x9E3779B97F4A7C15ull + i;
}

/* A scan on real memory, written then read back in order: the first
 * stretch of it is served from runs mapped ahead (each thread measures
 * the two ways from there on), and every byte is right. */
static void scan_host(void **state)
{
	(void)state;
	for (int seq = 0; seq < 2; seq++) {
		km_machine *m = host(NULL, 64u << 20, seq ? KM_SEQUENTIAL : 0);
		struct km_layout l = kt_layout(m);
		uint64_t n = l.max_pfn - l.max_low_pfn, page[PG / 8];
		for (int pass = 0; pass < 2; pass++)
			for (uint64_t i = 0; i < n; i++) {
				uint64_t pfn = l.max_low_pfn + i;
				km_page *p = km_pfn_to_page(m, pfn);
				if (!pass) {
					for (unsigned w = 0; w < PG / 8; w++)
						page[w] = word(pfn, w);
					KT_OK(km_page_write(m, p, 0, page, PG, NULL));
					continue;
				}
				KT_OK(km_page_read(m, p, 0, page, PG, NULL));
				for (unsigned w = 0; w < PG / 8; w++)
					if (page[w] != word(pfn, w))
						fail_msg("pfn %llu word %u wrong",
						         (unsigned long long)pfn, w);
			}
		struct km_stats s = kt_stats(m);
		KT_EQ(copies(&s), 2 * n);
		assert_true(s.stream_runs >= 2); /* the first epoch of each pass */
		assert_true(s.copy_stream >= 2 * 256 - 8);
		/* a scan's pages are never admitted: without the hint, the
		 * scan is one only from its 4th page on */
		assert_true(s.admissions <= (seq ? 0u : 3u));
		KT_CHECK(m);
		km_machine_destroy(m);
	}
	/* read-only memory: a write is refused the way it would go */
	km_machine *m = host(NULL, 64u << 20, KM_RDONLY);
	struct km_layout l = kt_layout(m);
	char c = 1;
	for (uint64_t i = 0; i < 600; i++)
		KT_RC(km_page_write(m, km_pfn_to_page(m, l.max_low_pfn + i), 0, &c,
		                    1, NULL), -EROFS);
	KT_OK(km_page_read(m, km_pfn_to_page(m, l.max_low_pfn), 0, &c, 1, NULL));
	km_machine_destroy(m);
}

/* KM_READAHEAD: page @i's first word, as last written by set() */
static uint64_t get(km_machine *m, uint64_t pfn, enum km_copy_how *how)
{
	uint64_t w = 0;
	KT_OK(km_page_read(m, km_pfn_to_page(m, pfn), 8, &w, 8, how));
	return w;
}

static void set(km_machine *m, uint64_t pfn, uint64_t w)
{
	KT_OK(km_page_write(m, km_pfn_to_page(m, pfn), 8, &w, 8, NULL));
}

/*
 * A scan's read-ahead is never served stale by kmap's own doing: after a
 * copy helper's write, a kmap written through and gone from the window,
 * a page held in the window when the read-ahead was made, a local map, a
 * vmap area or a vm_map_ram piece live then. Each case reads a page the read-ahead holds, so
 * each would return the old bytes if its check were missing.
 */
static void ahead_fresh(km_machine *m)
{
	struct km_layout l = kt_layout(m);
	uint64_t b = l.max_low_pfn + 1000;
	enum km_copy_how how;
	for (uint64_t i = 200; i-- > 0;) /* backwards: not a scan */
		set(m, b + i, word(b + i, 0));
	struct km_stats s0 = kt_stats(m);
	/* a scan (KM_SEQUENTIAL: from its first page) is read ahead */
	for (uint64_t i = 0; i < 10; i++) {
		KT_EQ(get(m, b + i, &how), word(b + i, 0));
		KT_EQ(how, KM_COPY_AHEAD);
	}
	struct km_stats s1 = kt_stats(m);
	KT_EQ(s1.ahead_reads - s0.ahead_reads, 1);
	KT_EQ(s1.copy_ahead - s0.copy_ahead, 10);
	/* a copy helper's write to a page read ahead (read again) */
	set(m, b + 12, 12);
	KT_EQ(get(m, b + 12, &how), 12);
	/* a kmap written through, gone from the window again */
	KT_EQ(get(m, b + 20, &how), word(b + 20, 0));
	KT_EQ(how, KM_COPY_AHEAD);
	void *va;
	uint64_t w = 25;
	KT_OK(km_kmap(m, km_pfn_to_page(m, b + 25), &va));
	KT_OK(km_write(m, (char *)va + 8, &w, 8));
	KT_OK(km_kunmap(m, km_pfn_to_page(m, b + 25)));
	KT_OK(km_kmap_flush_unused(m));
	KT_EQ(get(m, b + 25, &how), 25);
	/* a page held in the window when the read-ahead is made */
	KT_OK(km_kmap(m, km_pfn_to_page(m, b + 60), &va));
	KT_EQ(get(m, b + 59, &how), word(b + 59, 0));
	KT_EQ(how, KM_COPY_AHEAD);
	w = 60;
	KT_OK(km_write(m, (char *)va + 8, &w, 8));
	KT_EQ(get(m, b + 60, &how), 60);
	assert_int_not_equal(how, KM_COPY_AHEAD);
	KT_EQ(get(m, b + 61, &how), word(b + 61, 0));
	KT_EQ(how, KM_COPY_AHEAD);
	KT_OK(km_kunmap(m, km_pfn_to_page(m, b + 60)));
	/* a local map live: no read-ahead while it is */
	KT_OK(km_kmap_local_page(m, km_pfn_to_page(m, b + 101), &va));
	KT_EQ(get(m, b + 99, &how), word(b + 99, 0));
	assert_int_not_equal(how, KM_COPY_AHEAD);
	w = 101;
	KT_OK(km_write(m, (char *)va + 8, &w, 8));
	KT_EQ(get(m, b + 101, &how), 101);
	KT_OK(km_kunmap_local(m, va));
	KT_EQ(get(m, b + 102, &how), word(b + 102, 0));
	KT_EQ(how, KM_COPY_AHEAD);
	/* a vmap area live: the same */
	km_page *pg[2] = { km_pfn_to_page(m, b + 151), km_pfn_to_page(m, b + 7) };
	KT_OK(km_vmap(m, pg, 2, &va));
	KT_EQ(get(m, b + 150, &how), word(b + 150, 0));
	assert_int_not_equal(how, KM_COPY_AHEAD);
	w = 151;
	KT_OK(km_write(m, (char *)va + 8, &w, 8));
	KT_EQ(get(m, b + 151, &how), 151);
	KT_OK(km_vunmap(m, va));
	KT_EQ(get(m, b + 152, &how), word(b + 152, 0));
	KT_EQ(how, KM_COPY_AHEAD);
	/* a vm_map_ram piece live: the same */
	pg[0] = km_pfn_to_page(m, b + 171);
	KT_OK(km_vm_map_ram(m, pg, 2, &va));
	KT_EQ(get(m, b + 170, &how), word(b + 170, 0));
	assert_int_not_equal(how, KM_COPY_AHEAD);
	w = 171;
	KT_OK(km_write(m, (char *)va + 8, &w, 8));
	KT_EQ(get(m, b + 171, &how), 171);
	KT_OK(km_vm_unmap_ram(m, va, 2));
	KT_EQ(get(m, b + 172, &how), word(b + 172, 0));
	KT_EQ(how, KM_COPY_AHEAD);
	/* the memory has what each read said */
	KT_OK(km_kmap_flush_unused(m));
	KT_EQ(get(m, b + 25, NULL), 25);
	KT_EQ(get(m, b + 60, NULL), 60);
	KT_EQ(get(m, b + 101, NULL), 101);
	KT_EQ(get(m, b + 151, NULL), 151);
	KT_EQ(get(m, b + 171, NULL), 171);
	struct km_stats s = kt_stats(m);
	KT_EQ(copies(&s), s.copy_window + s.copy_memory + s.copy_stream +
	                  s.admissions + s.copy_ahead);
	assert_true(s.copy_ahead >= 14);
	KT_CHECK(m);
}

/*
 * A thread that exits holding a highmem local map (km_leaks lists it, as
 * it did) leaves no read-ahead off for good once its PTE is cleared: a
 * scan afterwards is read ahead, and sees what the thread wrote through
 * the map. So for a thread that switched to a simulated task first (its
 * own maps cleared then) and exits with that task current.
 */
struct exiter {
	km_machine *m;
	uint64_t pfn, w;
	bool switch_away;      /* to a simulated task, before exiting */
	km_task *t;
	void *va;
	int rc;
	/* with hold: wait between the map and the exit until go */
	bool hold, mapped, go;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void *exiter_main(void *arg)
{
	struct exiter *e = arg;
	e->rc = km_kmap_local_page(e->m, km_pfn_to_page(e->m, e->pfn), &e->va);
	if (!e->rc)
		e->rc = km_write(e->m, (char *)e->va + 8, &e->w, 8);
	if (!e->rc && e->switch_away)
		e->rc = km_task_switch(e->m, e->t);
	pthread_mutex_lock(&e->mu);
	e->mapped = true;
	pthread_cond_broadcast(&e->cv);
	while (e->hold && !e->go)
		pthread_cond_wait(&e->cv, &e->mu);
	pthread_mutex_unlock(&e->mu);
	return NULL; /* exits holding the local map */
}

static void exiter_start(struct exiter *e, pthread_t *th)
{
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	KT_EQ(pthread_create(th, NULL, exiter_main, e), 0);
	pthread_mutex_lock(&e->mu);
	while (!e->mapped)
		pthread_cond_wait(&e->cv, &e->mu);
	pthread_mutex_unlock(&e->mu);
}

static void exiter_join(struct exiter *e, pthread_t th)
{
	pthread_mutex_lock(&e->mu);
	e->go = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	KT_EQ(pthread_join(th, NULL), 0);
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->cv);
	KT_OK(e->rc);
}

/* km_leaks lists the local map of pfn @pfn a thread lost (task NULL) */
static bool lost_listed(km_machine *m, uint64_t pfn)
{
	struct km_leak l[16];
	int n = km_leaks(m, l, 16);
	for (int i = 0; i < n && i < 16; i++)
		if (l[i].local && !l[i].task && l[i].pfn == pfn)
			return true;
	return false;
}

static void ahead_after_exit(km_machine *m)
{
	struct km_layout l = kt_layout(m);
	enum km_copy_how how;
	for (int sw = 0; sw < 2; sw++) {
		uint64_t b = l.max_low_pfn + 3000 + (uint64_t)sw * 100;
		for (uint64_t i = 40; i-- > 0;) /* backwards: not a scan */
			set(m, b + i, word(b + i, 2));
		struct exiter e = { .m = m, .pfn = b + 5, .w = 5, .switch_away = sw };
		if (sw)
			KT_OK(km_task_create(m, &e.t));
		pthread_t th;
		exiter_start(&e, &th);
		exiter_join(&e, th);
		assert_true(lost_listed(m, b + 5));
		uint64_t ahead = kt_stats(m).copy_ahead;
		for (uint64_t i = 0; i < 10; i++) {
			KT_EQ(get(m, b + i, &how), i == 5 ? 5 : word(b + i, 2));
			KT_EQ(how, KM_COPY_AHEAD);
		}
		assert_true(kt_stats(m).copy_ahead - ahead >= 10);
		if (sw)
			KT_OK(km_task_destroy(m, e.t));
	}
}

static void ahead_sim(void **state)
{
	(void)state;
	for (unsigned pi = 0; km_policy_name(pi); pi++) {
		km_machine *m = sim(km_policy_name(pi),
		                    KM_CHECK | KM_SEQUENTIAL | KM_READAHEAD);
		ahead_fresh(m);
		ahead_after_exit(m);
		km_machine_destroy(m);
	}
	/* a dead thread's local PTE its exit could not clear (an injected
	 * fault) can still be written through: read-ahead stays off */
	km_machine *f = sim(NULL, KM_SEQUENTIAL | KM_READAHEAD);
	struct km_layout fl = kt_layout(f);
	uint64_t fb = fl.max_low_pfn + 3000;
	struct exiter e = { .m = f, .pfn = fb + 5, .w = 5, .hold = true };
	pthread_t th;
	exiter_start(&e, &th);
	struct km__sim_faults fail = { .always = KM_SIM_FAULT_CLEAR }, none = { 0 };
	km__sim_set_faults(km__machine_backend(f), &fail);
	exiter_join(&e, th);
	km__sim_set_faults(km__machine_backend(f), &none);
	assert_true(lost_listed(f, fb + 5));
	enum km_copy_how fhow;
	KT_EQ(get(f, fb + 3, &fhow), 0);
	assert_int_not_equal(fhow, KM_COPY_AHEAD);
	uint64_t w = 55;
	KT_OK(km_write(f, (char *)e.va + 8, &w, 8));
	KT_EQ(get(f, fb + 5, &fhow), 55);
	KT_EQ(kt_stats(f).ahead_reads, 0);
	km_machine_destroy(f);
	/* without the flag, never */
	km_machine *m = sim(NULL, KM_SEQUENTIAL);
	struct km_layout l = kt_layout(m);
	enum km_copy_how how;
	for (uint64_t i = 0; i < 100; i++) {
		get(m, l.max_low_pfn + i, &how);
		assert_int_not_equal(how, KM_COPY_AHEAD);
	}
	KT_EQ(kt_stats(m).ahead_reads, 0);
	km_machine_destroy(m);
}

static void ahead_host(void **state)
{
	(void)state;
	for (unsigned pi = 0; km_policy_name(pi); pi++) {
		km_machine *m = host(km_policy_name(pi), 64u << 20,
		                     KM_SEQUENTIAL | KM_READAHEAD);
		ahead_fresh(m);
		ahead_after_exit(m);
		km_machine_destroy(m);
	}
	/* a whole scan read ahead, every byte right, to the last page */
	km_machine *m = host(NULL, 64u << 20, KM_READAHEAD);
	struct km_layout l = kt_layout(m);
	uint64_t n = l.max_pfn - l.max_low_pfn;
	for (uint64_t i = 0; i < n; i++)
		set(m, l.max_low_pfn + i, word(l.max_low_pfn + i, 1));
	for (uint64_t i = 0; i < n; i++)
		KT_EQ(get(m, l.max_low_pfn + i, NULL), word(l.max_low_pfn + i, 1));
	struct km_stats s = kt_stats(m);
	/* without KM_SEQUENTIAL a scan is one from its 4th page */
	assert_true(s.copy_ahead >= n - 4);
	KT_EQ(s.ahead_reads, (n - 4 + KM_AHEAD_PAGES - 1) / KM_AHEAD_PAGES);
	km_machine_destroy(m);
}

/*
 * Threads copying skewed random pages of real memory at once, every
 * policy: hits pinned lock-free while other threads' admissions evict
 * (an eviction under a copy would fault: the window is PROT_NONE there),
 * every byte checked.
 */
#define TH 4
#define TH_PAGES 2048

struct reader {
	km_machine *m;
	uint64_t first, seed, reads, bad, errors;
	uint64_t how[KM_COPY_AHEAD + 1];
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	uint64_t x = r->seed, page[PG / 8];
	for (unsigned n = 0; n < 20000; n++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		uint64_t v = x * 2685821657736338717ull;
		/* skewed: a page of the first 64 half of the time */
		uint64_t i = (v >> 40) & 1 ? (v >> 8) % 64 : (v >> 8) % TH_PAGES;
		uint64_t pfn = r->first + i;
		enum km_copy_how how = 0;
		size_t off = (size_t)((v >> 20) % 8) * 512;
		if (km_page_read(r->m, km_pfn_to_page(r->m, pfn), off, page, 512,
		                 &how)) {
			r->errors++;
			continue;
		}
		r->how[how < 6 ? how : 0]++;
		for (unsigned w = 0; w < 512 / 8; w++)
			r->bad += page[w] != word(pfn, (unsigned)(off / 8) + w);
		r->reads++;
	}
	return NULL;
}

static void threads_host(void **state)
{
	(void)state;
	for (unsigned pi = 0; km_policy_name(pi); pi++) {
		km_machine *m = host(km_policy_name(pi), 64u << 20, 0);
		struct km_layout l = kt_layout(m);
		uint64_t page[PG / 8];
		for (uint64_t i = 0; i < TH_PAGES; i++) {
			uint64_t pfn = l.max_low_pfn + i;
			for (unsigned w = 0; w < PG / 8; w++)
				page[w] = word(pfn, w);
			KT_OK(km_page_write(m, km_pfn_to_page(m, pfn), 0, page, PG,
			                    NULL));
		}
		struct reader r[TH];
		pthread_t t[TH];
		for (int k = 0; k < TH; k++) {
			r[k] = (struct reader){ .m = m, .first = l.max_low_pfn,
			                        .seed = 99 + (uint64_t)k };
			KT_EQ(pthread_create(&t[k], NULL, reader_main, &r[k]), 0);
		}
		uint64_t reads = 0, window = 0;
		for (int k = 0; k < TH; k++) {
			KT_EQ(pthread_join(t[k], NULL), 0);
			KT_EQ(r[k].bad, 0);
			KT_EQ(r[k].errors, 0);
			reads += r[k].reads;
			window += r[k].how[KM_COPY_WINDOW];
		}
		struct km_stats s = kt_stats(m);
		KT_EQ(copies(&s), TH_PAGES + reads);
		assert_true(window > reads / 4); /* the hot pages came in */
		KT_EQ(s.in_use, 0);
		KT_CHECK(m);
		km_machine_destroy(m);
	}
}

/* Windows as large as the address space allows, and the limits. */
static void window_limits(void **state)
{
	(void)state;
	struct km_config cfg;
	char msg[160];
	km_machine *m;
	km_config_init(&cfg);
	cfg.profile = "x86-32-pae";
	cfg.last_pkmap = 131072;
	KT_RC(km_config_check(&cfg, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "last_pkmap must be a power of two from 2 to "
	                         "65536");
	cfg.backend = KM_BACKEND_HOST;
	cfg.mem_bytes = 64u << 20;
	cfg.last_pkmap = 524288;
	KT_RC(km_config_check(&cfg, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "last_pkmap must be a power of two from 2 to "
	                         "262144 (a 1 GiB window) on real memory");
	KT_RC(km_machine_create(&cfg, &m), -EINVAL);
	/* 1 GiB of window: reserved, and its far end works */
	cfg.last_pkmap = 262144;
	KT_OK(km_config_check(&cfg, msg, sizeof(msg)));
	KT_OK(km_machine_create(&cfg, &m));
	struct km_layout l = kt_layout(m);
	KT_EQ(l.last_pkmap, 262144);
	KT_EQ(l.pkmap_end - l.pkmap_base, 1ull << 30);
	km_page *p = km_pfn_to_page(m, l.max_pfn - 1);
	void *va;
	KT_OK(km_kmap(m, p, &va));
	KT_OK(km_write(m, va, "far", 4));
	KT_OK(km_kunmap(m, p));
	char b[4];
	KT_OK(km_page_read(m, p, 0, b, 4, NULL));
	assert_string_equal(b, "far");
	KT_CHECK(m);
	km_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KT_TEST(read_once_never_mapped),
		KT_TEST(read_often_mapped),
		KT_TEST(scan_keeps_hot_set),
		KT_TEST(frequent_displaces_cold),
		KT_TEST(room_found_again),
		KT_TEST(bytes_sim),
		KT_TEST(bytes_host),
		KT_TEST(scan_host),
		KT_TEST(ahead_sim),
		KT_TEST(ahead_host),
		KT_TEST(threads_host),
		KT_TEST(window_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
