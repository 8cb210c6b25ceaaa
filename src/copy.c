/*
 * copy.c - the copy helpers: km_page_read and km_page_write, and the
 * kernel's memcpy_to_page, memcpy_from_page, memcpy_page, memset_page,
 * memzero_page and copy_highpage over them. Each copy of a highmem page
 * goes the cheapest way, decided per page:
 *
 *   1. in the window: from its slot (window.c), no system call;
 *   2. in the run this thread mapped for a scan: from there;
 *   3. the next page of a scan, when runs are the cheaper way here: map
 *      the next KM_RUN_PAGES pages as one run (one call) and copy;
 *   4. admitted by the admission rule (TinyLFU, admit.c): mapped into the
 *      window by the policy, and copied through the slot (window.c);
 *   5. else straight from the memory (the backend's copy: pread, pwrite).
 *
 * With KM_READAHEAD a scan's reads take none of 2, 3 or 5: they are served
 * from a read-ahead of the next KM_AHEAD_PAGES pages (one pread), which
 * is trusted only while nothing kmap could write through was mapped and
 * nothing was written by a copy helper since (core.h's ahead_gen).
 *
 * Under a policy whose evictions follow the counts (tinylfu), every
 * access but a scan's is counted by the admission rule; the others admit
 * only into free slots, by the ghost list alone, and count nothing.
 *
 * Which of 3 and 5 serves a scan is measured, not assumed: a mapped page costs far more
 * than a copy on some machines (where page tables are the hypervisor's to
 * check) and less on others, so each thread times KM_RUN_PAGES scan pages
 * at a time each way and keeps the cheaper, trying the other every
 * PROBE-th time.
 */
#include "user.h"
#include "core/util.h"
#include "core/vmalloc.h"
#include "core/window.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* a scan tries the way it does not use after PROBE_MIN to PROBE_MAX
 * epochs, to see if it got cheaper */
#define PROBE_MIN 4
#define PROBE_MAX 256

static bool in_page(size_t off, size_t len)
{
	return off <= PAGE_SIZE && len <= PAGE_SIZE - off;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void count(struct km_task *t, int kind)
{
	__atomic_store_n(&t->copies[kind], t->copies[kind] + 1, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------------- */
/* Scans                                                                   */
/* ---------------------------------------------------------------------- */

/*
 * A scan's pages that were found in the window are not seen here: a
 * stream takes the page it expects next or the one after.
 */
#define GAP 2
/*
 * Pages read in order before a stream is a scan: 4 (for random reads of
 * 4096 pages, one chance in 10^8), or with KM_SEQUENTIAL the first.
 */
#define SCAN_AFTER 4

/*
 * @pfn missed the window: if a stream expects it (GAP), that stream moves
 * on and its length is returned. Else, with @start, @pfn starts a stream
 * in place of the one used least recently (1); without, 0.
 */
static unsigned stream_note(struct km_stream *s, uint64_t pfn, bool start)
{
	unsigned old = 0;
	s->tick++;
	for (unsigned i = 0; i < KM_STREAMS; i++) {
		if (s->next[i] && pfn + 1 - s->next[i] < GAP) {
			s->next[i] = pfn + 2;
			s->used[i] = s->tick;
			return ++s->len[i];
		}
		if (s->tick - s->used[i] > s->tick - s->used[old])
			old = i;
	}
	if (!start)
		return 0;
	s->next[old] = pfn + 2;
	s->len[old] = 1;
	s->used[old] = s->tick;
	return 1;
}

/*
 * Epochs: KM_RUN_PAGES scan pages served one way, timed from before the
 * first (so a run's mapping is inside its epoch) to after the last.
 */
static void epoch_begin(struct km_stream *s)
{
	if (!s->epoch_pages)
		s->epoch_start = now_ns();
}

/*
 * At an epoch's end its time a page updates that way's cost, and the next
 * epoch's way is chosen: one not measured yet; the other one when a probe
 * is due (the interval doubles each time a probe confirms the choice,
 * from PROBE_MIN epochs to PROBE_MAX); else the cheaper. A busy machine
 * only ever adds time, so the cost follows the floor: down at once, up by
 * an eighth an epoch at most (one epoch that lost the processor must not
 * decide the next hundred).
 */
static void epoch_end(struct km_stream *s)
{
	if (++s->epoch_pages < KM_RUN_PAGES)
		return;
	uint64_t ns = (now_ns() - s->epoch_start) / KM_RUN_PAGES + 1;
	s->epoch_pages = 0;
	int way = s->way, other = way == KM_WAY_RUNS ? KM_WAY_PAGES : KM_WAY_RUNS;
	bool probe = s->probing;
	unsigned every = s->probe_every ? s->probe_every : PROBE_MIN;
	uint64_t *c = &s->cost[way], up = *c + *c / 8;
	*c = !*c || probe || ns < *c ? ns : ns < up ? ns : up;
	s->probing = false;
	if (probe) /* back to the cheaper; wait longer when the probe lost */
		s->probe_every = s->cost[way] < s->cost[other] ? PROBE_MIN :
		                 every < PROBE_MAX ? 2 * every : PROBE_MAX;
	if (!s->cost[other] || (!probe && ++s->epochs >= every)) {
		s->probing = s->cost[other] != 0;
		s->way = other;
		s->epochs = 0;
	} else {
		s->way = s->cost[other] < s->cost[way] ? other : way;
	}
	if (s->way == KM_WAY_PAGES)
		s->run_n = 0; /* its pages would count for the other way */
}

/* Copy through the run, which holds @pfn. */
static int run_copy(struct km_core *k, struct km_stream *s, uint64_t pfn,
                    size_t off, void *buf, size_t len, int write)
{
	uintptr_t va = s->run_va + (uintptr_t)((pfn - s->run_pfn) << PAGE_SHIFT);
	return k->be->access(k->be_ctx, va + off, buf, len, write);
}

/* Map the run that starts at @pfn in @area's run area: 0 or -errno. */
static int run_map(struct km_core *k, struct km_task *t, struct km_stream *s,
                   unsigned area, uint64_t pfn)
{
	uint64_t n = k->max_pfn - pfn;
	if (n > KM_RUN_PAGES)
		n = KM_RUN_PAGES;
	s->run_n = 0; /* a failed call may have taken the old run away */
	int r = k->be->map_run(k->be_ctx, area, pfn, (unsigned)n, &s->run_va);
	if (r)
		return r;
	s->run_pfn = pfn;
	s->run_n = (unsigned)n;
	count(t, KM__COPY_RUNS);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Read-ahead (KM_READAHEAD)                                               */
/* ---------------------------------------------------------------------- */

/* Copy @pfn's bytes from the read-ahead when it holds them and they are
 * still the memory's: true. */
static bool ahead_copy(struct km_core *k, struct km_stream *s, uint64_t pfn,
                       size_t off, void *buf, size_t len)
{
	uint64_t i = pfn - s->ahead_pfn;
	if (i >= s->ahead_n || (s->ahead_skip >> i & 1))
		return false;
	/* acquire: a mapping or write that happened before this call (by
	 * any thread) moved ahead_gen before it */
	if (__atomic_load_n(&k->ahead_gen, __ATOMIC_ACQUIRE) != s->ahead_at) {
		s->ahead_n = 0;
		return false;
	}
	memcpy(buf, s->ahead + (i << PAGE_SHIFT) + off, len);
	return true;
}

/*
 * Read ahead the pages from @pfn: true when done. Refused while a vmap
 * area, a vm_map_ram mapping or a highmem local map is live (a page of either may be written
 * after the read with no PTE set); the window's pages are read but marked
 * (ahead_skip): a hit copies them from their slot.
 */
static bool ahead_fill(struct km_core *k, struct km_task *t,
                       struct km_stream *s, uint64_t pfn)
{
	uint64_t n = k->max_pfn - pfn;
	if (n > KM_AHEAD_PAGES)
		n = KM_AHEAD_PAGES;
	s->ahead_n = 0;
	if (!s->ahead && !(s->ahead = malloc((size_t)KM_AHEAD_PAGES << PAGE_SHIFT)))
		return false;
	/* taken first: a page mapped after this moves it */
	uint64_t at = __atomic_load_n(&k->ahead_gen, __ATOMIC_ACQUIRE);
	uint32_t skip = 0;
	k->drv->lock(k->drv_ctx);
	bool live = km__vm_live(k);
	for (unsigned i = 0; i < n && !live; i++)
		if (km__page_address_high(k, pfn_to_page(k, pfn + i)))
			skip |= 1u << i;
	k->drv->unlock(k->drv_ctx);
	if (live || __atomic_load_n(&k->ahead_local, __ATOMIC_ACQUIRE) ||
	    k->be->read_pages(k->be_ctx, pfn, (unsigned)n, s->ahead))
		return false;
	s->ahead_pfn = pfn;
	s->ahead_n = (unsigned)n;
	s->ahead_skip = skip;
	s->ahead_at = at;
	count(t, KM__COPY_AHEADS);
	return true;
}

/* ---------------------------------------------------------------------- */
/* One copy                                                                */
/* ---------------------------------------------------------------------- */

static int copy_page(km_machine *m, km_page *page, size_t off, void *buf,
                     size_t len, int write, enum km_copy_how *how,
                     const char *fn)
{
	struct km_core *k = m ? &m->k : NULL;
	struct km_task *t;
	if (!k || !km__page_valid(k, page) || (!buf && len) || !in_page(off, len))
		return km__refuse(k, -EINVAL, fn);
	if (!len) { /* no bytes: not an access (@off may be the page's end) */
		if (how)
			*how = PageHighMem(k, page) ? KM_COPY_MEMORY : KM_COPY_LOWMEM;
		return 0;
	}
	if (!PageHighMem(k, page)) {
		int r = k->be->access(k->be_ctx, lowmem_page_address(k, page) + off,
		                      buf, len, write);
		if (!r && how)
			*how = KM_COPY_LOWMEM;
		return r;
	}
	int r = k->drv->current(k->drv_ctx, &t);
	if (r)
		return r;
	uint64_t pfn = page_to_pfn(k, page);
	unsigned area;
	r = km__window_copy_fast(k, t, page, off, buf, len, write);
	if (r) {
		if (k->pol->records)
			k->adm->record(k, pfn);
		goto out;
	}
	struct km_stream *s = k->be->map_run || k->be->read_pages ?
	                      km__cpu_stream(m, &area) : NULL;
	bool ahead = s && !write && (k->flags & KM_READAHEAD) &&
	             k->be->read_pages;
	if (ahead && ahead_copy(k, s, pfn, off, buf, len)) {
		stream_note(s, pfn, false);
		count(t, KM__COPY_AHEAD);
		r = KM_COPY_AHEAD;
		goto out;
	}
	if (s && !ahead && s->run_n && pfn - s->run_pfn < s->run_n) {
		stream_note(s, pfn, false);
		epoch_begin(s);
		if (!(r = run_copy(k, s, pfn, off, buf, len, write))) {
			count(t, KM__COPY_STREAM);
			epoch_end(s);
			r = KM_COPY_STREAM;
		}
		goto out;
	}
	unsigned seq = s ? stream_note(s, pfn, true) : 0;
	bool scan = seq >= ((k->flags & KM_SEQUENTIAL) ? 1u : SCAN_AFTER);
	/* (a page the read-ahead holds but may not serve is not read again) */
	if (scan && ahead && pfn - s->ahead_pfn >= s->ahead_n &&
	    ahead_fill(k, t, s, pfn) &&
	    ahead_copy(k, s, pfn, off, buf, len)) {
		count(t, KM__COPY_AHEAD);
		r = KM_COPY_AHEAD;
		goto out;
	}
	unsigned est = 0;
	if (scan)
		epoch_begin(s);
	else if (k->pol->records) /* a scan's pages are not counted: read
	                           * once, they would only blur the counts of
	                           * the pages read again */
		est = k->adm->record(k, pfn);
	if (scan && s->way == KM_WAY_RUNS && k->be->map_run &&
	    !run_map(k, t, s, area, pfn)) {
		if (!(r = run_copy(k, s, pfn, off, buf, len, write))) {
			count(t, KM__COPY_STREAM);
			epoch_end(s);
			r = KM_COPY_STREAM;
		}
		goto out;
	}
	/* the lock where the policy looks for a hit under it, or to admit
	 * the page (never a scan's) when it may be admitted */
	if (!k->pol->lockless ||
	    (!scan && km__window_lock_miss(k, t, page, est)))
		r = km__window_copy_locked(k, page, off, buf, len, write, !scan);
	if (!r && !(r = k->be->copy(k->be_ctx, pfn, off, buf, len, write))) {
		count(t, KM__COPY_MEMORY);
		r = KM_COPY_MEMORY;
	}
	if (r > 0 && scan)
		epoch_end(s);
out:
	if (write && r > 0)
		km__ahead_stale(k); /* after the bytes: a reader told of them
		                     * after this call sees it move */
	if (r < 0)
		return r;
	if (how)
		*how = (enum km_copy_how)r;
	return 0;
}

int km_page_read(km_machine *m, km_page *page, size_t off, void *buf,
                 size_t len, enum km_copy_how *how)
{
	return copy_page(m, page, off, buf, len, 0, how, "page_read");
}

int km_page_write(km_machine *m, km_page *page, size_t off, const void *buf,
                  size_t len, enum km_copy_how *how)
{
	return copy_page(m, page, off, (void *)(uintptr_t)buf, len, 1, how,
	                 "page_write");
}

/* ---------------------------------------------------------------------- */
/* The kernel's helpers (include/linux/highmem.h)                         */
/* ---------------------------------------------------------------------- */

int km_memcpy_to_page(km_machine *m, km_page *page, size_t off,
                      const void *from, size_t len)
{
	return copy_page(m, page, off, (void *)(uintptr_t)from, len, 1, NULL,
	                 "memcpy_to_page");
}

int km_memcpy_from_page(km_machine *m, void *to, km_page *page, size_t off,
                        size_t len)
{
	return copy_page(m, page, off, to, len, 0, NULL, "memcpy_from_page");
}

int km_memcpy_page(km_machine *m, km_page *dst, size_t dst_off, km_page *src,
                   size_t src_off, size_t len)
{
	char buf[PAGE_SIZE];
	struct km_core *k = m ? &m->k : NULL;
	if (!k || !km__page_valid(k, dst) || !in_page(dst_off, len) ||
	    !in_page(src_off, len))
		return km__refuse(k, -EINVAL, "memcpy_page");
	int r = copy_page(m, src, src_off, buf, len, 0, NULL, "memcpy_page");
	return r ? r : copy_page(m, dst, dst_off, buf, len, 1, NULL,
	                         "memcpy_page");
}

int km_memset_page(km_machine *m, km_page *page, size_t off, int val,
                   size_t len)
{
	char buf[PAGE_SIZE];
	if (!in_page(off, len))
		return km__refuse(m ? &m->k : NULL, -EINVAL, "memset_page");
	memset(buf, val, len);
	return copy_page(m, page, off, buf, len, 1, NULL, "memset_page");
}

int km_memzero_page(km_machine *m, km_page *page, size_t off, size_t len)
{
	return km_memset_page(m, page, off, 0, len);
}

int km_copy_highpage(km_machine *m, km_page *to, km_page *from)
{
	return km_memcpy_page(m, to, 0, from, 0, PAGE_SIZE);
}
