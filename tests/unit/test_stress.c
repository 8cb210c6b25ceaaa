/*
 * test_stress.c - 8 threads hammer one machine with random kmap, kunmap,
 * kmap_try, kmap_high_get, kmap_local_page, kmap_atomic,
 * kmap_flush_unused and the copy helpers (km_page_read, km_page_write)
 * over 64 highmem pages (and a few lowmem ones) through a window of 8
 * slots, with 1 and with 2 colours, under every policy.
 *
 * Every page carries its own checksum: bytes 0-7 a sequence number, 8-15
 * the pfn, the rest a pattern derived from both. Each access through any
 * mapping reads the whole page, checks it against the sequence number the
 * test keeps, and writes the next one, all under a per-page mutex owned by
 * the test (so page contents never race). A wrong or stale mapping shows up
 * as a wrong pfn, sequence or pattern.
 *
 * No deadlock by construction: a thread blocks in km_kmap only while it
 * holds no persistent map, no page mutex and no atomic section; while it
 * holds one persistent map it asks for more with km_kmap_try only. Holders
 * never wait for a slot, so they always come round to releasing. A watchdog
 * aborts the test with a report if it does not finish within 60 s.
 *
 * At the end: km_check() passes, nothing leaks, no stale translation was
 * seen, and the library's statistics equal the test's own tallies.
 *
 * KMAP_STRESS_MS sets the run time of each variant (default 1500 ms).
 */
#include "ktest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 8
#define NHIGH 64
#define NLOW 4
#define NPAGES (NHIGH + NLOW)
#define LAST_PKMAP 8

struct pstate {
	pthread_mutex_t mu;
	uint64_t seq; /* under mu */
	uint64_t pfn;
	km_page *page;
	int high;
};

struct shared {
	km_machine *m;
	unsigned colors;
	uintptr_t pkmap_lo, pkmap_hi; /* the window */
	struct pstate pg[NPAGES];
	uint64_t end_ns;
	int stop;   /* atomic */
	int failed; /* atomic; the first failure writes why */
	char why[512];
};

enum { OP_IDLE, OP_KMAP, OP_TRY, OP_RELEASE, OP_LOCAL, OP_ATOMIC, OP_HIGH_GET,
       OP_FLUSH, OP_DONE };

struct worker {
	struct shared *s;
	unsigned id;
	uint64_t rng;
	int held;     /* page index of the held persistent map, or -1 */
	void *held_va;
	/* tallies, read by main after join */
	uint64_t ops, new_maps, hits, lowmem, kunmaps, local_high, eatomic,
	         eagain, high_get_miss, verified, flushes;
	/* for the watchdog */
	uint64_t progress; /* atomic */
	int op;            /* atomic */
	pthread_t th;
};

static uint64_t rnd(struct worker *w)
{
	uint64_t x = w->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	w->rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static int failed(struct shared *s)
{
	return __atomic_load_n(&s->failed, __ATOMIC_ACQUIRE);
}

__attribute__((format(printf, 2, 3)))
static void fail_at(struct worker *w, const char *fmt, ...)
{
	struct shared *s = w->s;
	int zero = 0;
	if (__atomic_compare_exchange_n(&s->failed, &zero, 1, 0, __ATOMIC_ACQ_REL,
	                                __ATOMIC_ACQUIRE)) {
		int n = snprintf(s->why, sizeof(s->why), "thread %u, op %llu: ",
		                 w->id, (unsigned long long)w->ops);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(s->why + n, sizeof(s->why) - (size_t)n, fmt, ap);
		va_end(ap);
		fprintf(stderr, "stress failure: %s\n", s->why);
	}
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
}

static void expect_rc(struct worker *w, const char *what, int got, int want)
{
	if (got != want)
		fail_at(w, "%s returned %d (%s), expected %d (%s)", what, got,
		        km_strerror(got), want, km_strerror(want));
}

static uint8_t pat(uint64_t pfn, uint64_t seq, unsigned i)
{
	return (uint8_t)(seq * 131u + pfn * 7u + i * 31u + (i >> 8) * 3u);
}

static void make_page(unsigned char *buf, uint64_t pfn, uint64_t seq)
{
	memcpy(buf, &seq, 8);
	memcpy(buf + 8, &pfn, 8);
	for (unsigned i = 16; i < 4096; i++)
		buf[i] = pat(pfn, seq, i);
}

/*
 * Check page @i through @va and write its next version. Takes and drops the
 * page's mutex; never blocks on the machine.
 */
static void verify_and_bump(struct worker *w, unsigned i, void *va,
                            const char *via)
{
	struct shared *s = w->s;
	struct pstate *p = &s->pg[i];
	unsigned char buf[4096];
	pthread_mutex_lock(&p->mu);
	int r = km_read(s->m, va, buf, sizeof(buf));
	if (r) {
		fail_at(w, "km_read of pfn %llu via %s %p: %d (%s)",
		        (unsigned long long)p->pfn, via, va, r, km_strerror(r));
		goto out;
	}
	uint64_t seq, pfn;
	memcpy(&seq, buf, 8);
	memcpy(&pfn, buf + 8, 8);
	if (pfn != p->pfn || seq != p->seq) {
		fail_at(w, "page pfn %llu via %s %p shows pfn %llu seq %llu, "
		        "expected seq %llu: wrong or stale mapping",
		        (unsigned long long)p->pfn, via, va, (unsigned long long)pfn,
		        (unsigned long long)seq, (unsigned long long)p->seq);
		goto out;
	}
	for (unsigned k = 16; k < 4096; k++)
		if (buf[k] != pat(pfn, seq, k)) {
			fail_at(w, "page pfn %llu seq %llu via %s %p: byte %u is %#x, "
			        "expected %#x", (unsigned long long)pfn,
			        (unsigned long long)seq, via, va, k, buf[k],
			        pat(pfn, seq, k));
			goto out;
		}
	make_page(buf, p->pfn, p->seq + 1);
	r = km_write(s->m, va, buf, sizeof(buf));
	if (r) {
		fail_at(w, "km_write of pfn %llu via %s: %d (%s)",
		        (unsigned long long)p->pfn, via, r, km_strerror(r));
		goto out;
	}
	p->seq++;
	w->verified++;
out:
	pthread_mutex_unlock(&p->mu);
}

static unsigned pick(struct worker *w)
{
	/* mostly highmem; a few lowmem pages */
	unsigned r = (unsigned)(rnd(w) % 100);
	if (r < 4)
		return NHIGH + (unsigned)(rnd(w) % NLOW);
	return (unsigned)(rnd(w) % NHIGH);
}

static void tally_how(struct worker *w, unsigned i, enum km_how how)
{
	struct pstate *p = &w->s->pg[i];
	if (!p->high) {
		if (how != KM_HOW_LOWMEM)
			fail_at(w, "lowmem pfn %llu mapped as how %d",
			        (unsigned long long)p->pfn, how);
		w->lowmem++;
	} else if (how == KM_HOW_NEW) {
		w->new_maps++;
	} else if (how == KM_HOW_HIT) {
		w->hits++;
	} else {
		fail_at(w, "highmem pfn %llu mapped as how %d",
		        (unsigned long long)p->pfn, how);
	}
}

/* A persistent map just obtained: it must be where the library says. */
static void check_persistent(struct worker *w, unsigned i, void *va)
{
	struct shared *s = w->s;
	struct pstate *p = &s->pg[i];
	void *pa = km_page_address(s->m, p->page);
	if (pa != va)
		fail_at(w, "page_address(pfn %llu) = %p, kmap gave %p",
		        (unsigned long long)p->pfn, pa, va);
	if (km_kmap_to_page(s->m, va) != p->page)
		fail_at(w, "kmap_to_page(%p) is not pfn %llu", va,
		        (unsigned long long)p->pfn);
	if (p->high) {
		struct km_layout l;
		km_machine_layout(s->m, &l);
		unsigned slot = (unsigned)(((uintptr_t)va - l.pkmap_base) >> 12);
		if ((uintptr_t)va < l.pkmap_base || slot >= LAST_PKMAP ||
		    slot % s->colors != p->pfn % s->colors)
			fail_at(w, "pfn %llu (colour %llu) in slot %u",
			        (unsigned long long)p->pfn,
			        (unsigned long long)(p->pfn % s->colors), slot);
	}
}

static void do_kunmap(struct worker *w, unsigned i)
{
	struct pstate *p = &w->s->pg[i];
	int r = km_kunmap(w->s->m, p->page);
	expect_rc(w, "kunmap", r, 0);
	if (!r && p->high)
		w->kunmaps++;
}

static void op_kmap(struct worker *w)
{
	struct shared *s = w->s;
	unsigned i = pick(w);
	void *va = NULL;
	enum km_how how;
	if (w->held < 0) {
		/* holding nothing: may block */
		__atomic_store_n(&w->op, OP_KMAP, __ATOMIC_RELAXED);
		int r = km_kmap_ex(s->m, s->pg[i].page, 0, 0, &va, &how);
		expect_rc(w, "kmap", r, 0);
		if (r)
			return;
		tally_how(w, i, how);
		check_persistent(w, i, va);
		verify_and_bump(w, i, va, "kmap");
		if (rnd(w) % 2 && s->pg[i].high) {
			w->held = (int)i;
			w->held_va = va;
		} else {
			do_kunmap(w, i);
		}
		return;
	}
	/* holding one: only try for another */
	__atomic_store_n(&w->op, OP_TRY, __ATOMIC_RELAXED);
	int r = km_kmap_ex(s->m, s->pg[i].page, KM_MAP_NOWAIT, 0, &va, &how);
	if (r == -EAGAIN) {
		w->eagain++;
		if (!s->pg[i].high)
			fail_at(w, "kmap_try of a lowmem page: -EAGAIN");
		return;
	}
	expect_rc(w, "kmap_try", r, 0);
	if (r)
		return;
	tally_how(w, i, how);
	check_persistent(w, i, va);
	verify_and_bump(w, i, va, "kmap_try");
	do_kunmap(w, i);
}

static void op_release(struct worker *w)
{
	struct shared *s = w->s;
	if (w->held < 0)
		return;
	__atomic_store_n(&w->op, OP_RELEASE, __ATOMIC_RELAXED);
	unsigned i = (unsigned)w->held;
	if (rnd(w) % 3 == 0) {
		/* mapped again while held: always a hit, at the same address */
		void *va;
		enum km_how how;
		int r = km_kmap_ex(s->m, s->pg[i].page, KM_MAP_NOWAIT, 0, &va, &how);
		expect_rc(w, "kmap of a held page", r, 0);
		if (!r) {
			if (how != KM_HOW_HIT || va != w->held_va)
				fail_at(w, "held pfn %llu mapped again: how %d at %p, "
				        "expected a hit at %p",
				        (unsigned long long)s->pg[i].pfn, how, va,
				        w->held_va);
			tally_how(w, i, how);
			do_kunmap(w, i);
		}
	}
	verify_and_bump(w, i, w->held_va, "held kmap");
	do_kunmap(w, i);
	w->held = -1;
	w->held_va = NULL;
}

/*
 * A local map of page @i made at @va: a fixmap slot, or where the kernel
 * has kmap_high_get (Kirkwood) the page's pkmap address when it is in the
 * window: a user taken (a hit), which the kunmap_local gives back.
 */
static void count_local(struct worker *w, unsigned i, void *va)
{
	struct shared *s = w->s;
	if (!s->pg[i].high)
		return;
	if ((uintptr_t)va >= s->pkmap_lo && (uintptr_t)va < s->pkmap_hi) {
		w->hits++;
		w->kunmaps++;
	} else {
		w->local_high++;
	}
}

static void op_local(struct worker *w)
{
	struct shared *s = w->s;
	unsigned depth = 1 + (unsigned)(rnd(w) % 3), idx[3];
	void *va[3];
	unsigned n = 0;
	__atomic_store_n(&w->op, OP_LOCAL, __ATOMIC_RELAXED);
	for (; n < depth; n++) {
		idx[n] = pick(w);
		int r = km_kmap_local_page(s->m, s->pg[idx[n]].page, &va[n]);
		expect_rc(w, "kmap_local_page", r, 0);
		if (r)
			break;
		count_local(w, idx[n], va[n]);
		if (km_kmap_to_page(s->m, va[n]) != s->pg[idx[n]].page)
			fail_at(w, "kmap_to_page of a local address is wrong");
	}
	for (unsigned k = 0; k < n; k++)
		verify_and_bump(w, idx[k], va[k], "kmap_local");
	while (n--)
		expect_rc(w, "kunmap_local", km_kunmap_local(s->m, va[n]), 0);
}

static void op_atomic(struct worker *w)
{
	struct shared *s = w->s;
	unsigned i = pick(w);
	void *va;
	__atomic_store_n(&w->op, OP_ATOMIC, __ATOMIC_RELAXED);
	int r = km_kmap_atomic(s->m, s->pg[i].page, &va);
	expect_rc(w, "kmap_atomic", r, 0);
	if (r)
		return;
	count_local(w, i, va);
	if (km_in_atomic(s->m) != 1)
		fail_at(w, "in_atomic %d inside kmap_atomic", km_in_atomic(s->m));
	if (rnd(w) % 2) {
		/* might_sleep: refused, and it does not block */
		void *x;
		unsigned j = pick(w);
		expect_rc(w, "kmap in atomic", km_kmap(s->m, s->pg[j].page, &x),
		          -KM_EATOMIC);
		w->eatomic++;
	}
	verify_and_bump(w, i, va, "kmap_atomic");
	if (rnd(w) % 2) {
		unsigned j = pick(w);
		void *vl;
		r = km_kmap_local_page(s->m, s->pg[j].page, &vl);
		expect_rc(w, "kmap_local in atomic", r, 0);
		if (!r) {
			count_local(w, j, vl);
			verify_and_bump(w, j, vl, "kmap_local in atomic");
			expect_rc(w, "kunmap_local", km_kunmap_local(s->m, vl), 0);
		}
	}
	expect_rc(w, "kunmap_atomic", km_kunmap_atomic(s->m, va), 0);
	if (km_in_atomic(s->m) != 0)
		fail_at(w, "in_atomic %d after kunmap_atomic", km_in_atomic(s->m));
}

static void op_high_get(struct worker *w)
{
	struct shared *s = w->s;
	unsigned i = (unsigned)(rnd(w) % NHIGH);
	void *va;
	__atomic_store_n(&w->op, OP_HIGH_GET, __ATOMIC_RELAXED);
	int r = km_kmap_high_get(s->m, s->pg[i].page, &va);
	if (r == -KM_ENOTMAPPED) {
		w->high_get_miss++;
		return;
	}
	expect_rc(w, "kmap_high_get", r, 0);
	if (r)
		return;
	w->hits++;
	check_persistent(w, i, va);
	verify_and_bump(w, i, va, "kmap_high_get");
	do_kunmap(w, i);
}

/*
 * The copy helpers on the same pages: read a whole version, check it and
 * write the next, from the window, the memory or an admitted slot, racing
 * the other threads' kmaps, flushes and evictions.
 */
static void op_copy(struct worker *w)
{
	struct shared *s = w->s;
	unsigned i = pick(w);
	struct pstate *p = &s->pg[i];
	unsigned char buf[4096];
	uint64_t seq, pfn;
	pthread_mutex_lock(&p->mu);
	int r = km_page_read(s->m, p->page, 0, buf, sizeof(buf), NULL);
	if (r) {
		fail_at(w, "km_page_read of pfn %llu: %d (%s)",
		        (unsigned long long)p->pfn, r, km_strerror(r));
		goto out;
	}
	memcpy(&seq, buf, 8);
	memcpy(&pfn, buf + 8, 8);
	if (pfn != p->pfn || seq != p->seq || buf[4095] != pat(pfn, seq, 4095)) {
		fail_at(w, "km_page_read of pfn %llu shows pfn %llu seq %llu, "
		        "expected seq %llu", (unsigned long long)p->pfn,
		        (unsigned long long)pfn, (unsigned long long)seq,
		        (unsigned long long)p->seq);
		goto out;
	}
	make_page(buf, p->pfn, p->seq + 1);
	r = km_page_write(s->m, p->page, 0, buf, sizeof(buf), NULL);
	if (r) {
		fail_at(w, "km_page_write of pfn %llu: %d (%s)",
		        (unsigned long long)p->pfn, r, km_strerror(r));
		goto out;
	}
	p->seq++;
	w->verified++;
out:
	pthread_mutex_unlock(&p->mu);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *s = w->s;
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		unsigned op = (unsigned)(rnd(w) % 100);
		if (op < 32)
			op_kmap(w);
		else if (op < 45)
			op_release(w);
		else if (op < 68)
			op_local(w);
		else if (op < 86)
			op_atomic(w);
		else if (op < 91)
			op_high_get(w);
		else if (op < 97)
			op_copy(w);
		else {
			__atomic_store_n(&w->op, OP_FLUSH, __ATOMIC_RELAXED);
			expect_rc(w, "kmap_flush_unused", km_kmap_flush_unused(s->m), 0);
			w->flushes++;
		}
		w->ops++;
		__atomic_store_n(&w->progress, w->ops, __ATOMIC_RELAXED);
		__atomic_store_n(&w->op, OP_IDLE, __ATOMIC_RELAXED);
		if ((w->ops & 15) == 0 && kt_now_ns() > s->end_ns)
			__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	}
	op_release(w);
	__atomic_store_n(&w->op, OP_DONE, __ATOMIC_RELAXED);
	return NULL;
}

static struct worker *dump_workers;

static void stress_dump(void *arg)
{
	(void)arg;
	static const char *const names[] = { "idle", "kmap", "kmap_try",
		"release", "local", "atomic", "high_get", "flush", "done" };
	for (unsigned t = 0; t < NTHREADS && dump_workers; t++) {
		int op = __atomic_load_n(&dump_workers[t].op, __ATOMIC_RELAXED);
		fprintf(stderr, "  thread %u: %llu ops, now in %s\n", t,
		        (unsigned long long)__atomic_load_n(&dump_workers[t].progress,
		                                             __ATOMIC_RELAXED),
		        op >= 0 && op <= OP_DONE ? names[op] : "?");
	}
}

static int stop_watchdog(void **state)
{
	(void)state;
	kt_watchdog_stop();
	return 0;
}

/*
 * @policy: "linux" runs with KM_CHECK (the invariant check after every
 * call, which also keeps every call under the lock); the other policies run
 * without it, so that their lock-free paths race for real.
 */
static void run_stress(unsigned colors, const char *name, const char *policy)
{
	static struct shared s;
	static struct worker w[NTHREADS];
	memset(&s, 0, sizeof(s));
	memset(w, 0, sizeof(w));
	uint64_t ms = 1500;
	const char *env = getenv("KMAP_STRESS_MS");
	if (env && atoi(env) > 0)
		ms = (uint64_t)atoi(env);

	struct km_config cfg;
	km_config_init(&cfg);
	/* Kirkwood's kernel has kmap_high_get; with a CPU (a local-map area)
	 * for every thread */
	cfg.profile = "arm-marvell";
	cfg.nr_cpus = NTHREADS;
	cfg.last_pkmap = LAST_PKMAP;
	cfg.colors = colors;
	cfg.policy = policy;
	cfg.flags = strcmp(policy, "linux") ? 0 : KM_CHECK;
	s.m = kt_machine_cfg(&cfg);
	s.colors = colors;
	struct km_layout l = kt_layout(s.m);
	s.pkmap_lo = (uintptr_t)l.pkmap_base;
	s.pkmap_hi = (uintptr_t)l.pkmap_end;
	KT_EQ(l.last_pkmap, LAST_PKMAP);
	KT_EQ(l.colors, colors);
	for (unsigned i = 0; i < NPAGES; i++) {
		struct pstate *p = &s.pg[i];
		pthread_mutex_init(&p->mu, NULL);
		p->high = i < NHIGH;
		p->pfn = p->high ? l.max_low_pfn + i : l.max_low_pfn - 1 - (i - NHIGH);
		p->page = km_pfn_to_page(s.m, p->pfn);
		assert_non_null(p->page);
		KT_EQ(km_page_highmem(s.m, p->page), p->high);
		unsigned char buf[4096];
		make_page(buf, p->pfn, 0);
		/* through a persistent map, so main takes no local-map area */
		void *va;
		KT_OK(km_kmap(s.m, p->page, &va));
		KT_OK(km_write(s.m, va, buf, sizeof(buf)));
		KT_OK(km_kunmap(s.m, p->page));
	}
	struct km_stats s0 = kt_stats(s.m);

	dump_workers = w;
	kt_watchdog_start(name, 60, stress_dump, NULL);
	s.end_ns = kt_now_ns() + ms * 1000000ull;
	for (unsigned t = 0; t < NTHREADS; t++) {
		w[t].s = &s;
		w[t].id = t;
		w[t].rng = 0x9E3779B97F4A7C15ull * (t + 1) + colors;
		w[t].held = -1;
		KT_EQ(pthread_create(&w[t].th, NULL, worker_main, &w[t]), 0);
	}
	for (unsigned t = 0; t < NTHREADS; t++)
		KT_EQ(pthread_join(w[t].th, NULL), 0);
	kt_watchdog_stop();
	dump_workers = NULL;
	if (failed(&s))
		fail_msg("%s: %s", name, s.why);

	struct worker sum = { 0 };
	for (unsigned t = 0; t < NTHREADS; t++) {
		sum.ops += w[t].ops;
		sum.new_maps += w[t].new_maps;
		sum.hits += w[t].hits;
		sum.lowmem += w[t].lowmem;
		sum.kunmaps += w[t].kunmaps;
		sum.local_high += w[t].local_high;
		sum.eatomic += w[t].eatomic;
		sum.eagain += w[t].eagain;
		sum.high_get_miss += w[t].high_get_miss;
		sum.verified += w[t].verified;
		sum.flushes += w[t].flushes;
	}
	struct km_stats st = kt_stats(s.m);
	print_message("%s: %llu ops, %llu verified page versions, %llu new maps, "
	              "%llu hits, %llu local, %llu try -EAGAIN, %llu sleeps, "
	              "%llu wake-ups, %llu flushes (%llu with a TLB flush), "
	              "in-use peak %u\n",
	              name, (unsigned long long)sum.ops,
	              (unsigned long long)sum.verified,
	              (unsigned long long)sum.new_maps,
	              (unsigned long long)sum.hits,
	              (unsigned long long)sum.local_high,
	              (unsigned long long)sum.eagain,
	              (unsigned long long)st.sleeps,
	              (unsigned long long)st.wakeups,
	              (unsigned long long)st.flushes,
	              (unsigned long long)st.tlb_flushes, st.in_use_peak);

	/* it did real work */
	assert_true(sum.ops >= 1000);
	assert_true(sum.new_maps >= 100);
	assert_true(st.tlb_flushes >= 10);

	/* the library's statistics against the test's own tallies */
	KT_EQ(st.new_maps - s0.new_maps, sum.new_maps);
	KT_EQ(st.hits - s0.hits, sum.hits);
	KT_EQ(st.lowmem - s0.lowmem, sum.lowmem);
	KT_EQ(st.kmaps - s0.kmaps, sum.new_maps + sum.hits + sum.lowmem);
	KT_EQ(st.kunmaps - s0.kunmaps, sum.kunmaps);
	KT_EQ(sum.kunmaps, sum.new_maps + sum.hits); /* every map released */
	KT_EQ(st.local_maps - s0.local_maps, sum.local_high);
	KT_EQ(st.errors - s0.errors, sum.eatomic);
	KT_EQ(st.flushes >= s0.flushes + sum.flushes, 1);
	KT_EQ(st.wakeups <= st.kunmaps, 1);
	KT_EQ(st.tlb_stale, 0);
	KT_EQ(st.in_use, 0);
	assert_true(st.in_use_peak <= LAST_PKMAP);
	for (unsigned c = 0; c < colors; c++) {
		KT_EQ(st.color[c].in_use, 0);
		assert_true(st.color[c].in_use_peak <= LAST_PKMAP / colors);
	}
	KT_STATS_SANE(s.m);
	KT_EQ(km_leaks(s.m, NULL, 0), 0);
	KT_CHECK(s.m);

	/* every page holds its last version */
	for (unsigned i = 0; i < NPAGES; i++) {
		struct pstate *p = &s.pg[i];
		unsigned char buf[4096], want[4096];
		KT_OK(km_memcpy_from_page(s.m, buf, p->page, 0, sizeof(buf)));
		make_page(want, p->pfn, p->seq);
		if (memcmp(buf, want, sizeof(buf)))
			fail_msg("%s: pfn %llu does not hold version %llu at the end",
			         name, (unsigned long long)p->pfn,
			         (unsigned long long)p->seq);
		pthread_mutex_destroy(&p->mu);
	}
	km_machine_destroy(s.m);
}

static void stress_one_colour(void **state)
{
	(void)state;
	run_stress(1, "stress, 8 slots, 1 colour", "linux");
}

static void stress_two_colours(void **state)
{
	(void)state;
	run_stress(2, "stress, 8 slots, 2 colours", "linux");
}

static void stress_lockfree(void **state)
{
	(void)state;
	run_stress(1, "stress, policy lockfree, 8 slots, 1 colour", "lockfree");
	run_stress(2, "stress, policy lockfree, 8 slots, 2 colours", "lockfree");
}

static void stress_clock(void **state)
{
	(void)state;
	run_stress(1, "stress, policy clock, 8 slots, 1 colour", "clock");
	run_stress(2, "stress, policy clock, 8 slots, 2 colours", "clock");
}

static void stress_tinylfu(void **state)
{
	(void)state;
	run_stress(1, "stress, policy tinylfu, 8 slots, 1 colour", "tinylfu");
	run_stress(2, "stress, policy tinylfu, 8 slots, 2 colours", "tinylfu");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(stress_one_colour, stop_watchdog),
		cmocka_unit_test_teardown(stress_two_colours, stop_watchdog),
		cmocka_unit_test_teardown(stress_lockfree, stop_watchdog),
		cmocka_unit_test_teardown(stress_clock, stop_watchdog),
		cmocka_unit_test_teardown(stress_tinylfu, stop_watchdog),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
