/*
 * pkmap.h - the window's slots: pkmap_count, the PTE shadow, the
 * page_address() hash, and the two ways a slot changes hands: mapped to a
 * page (km__pkmap_map) and cleared with one TLB flush for many
 * (km__pkmap_clear). Every policy goes through these; pkmap.c.
 *
 * Counts: under a policy that is not lockless every access is under the
 * kmap lock and plain, and the in-use tallies of km_stats follow each
 * change. Lockless policies move counts >= 1 without the lock, so every
 * access is atomic: 0 -> 1 happens only under the lock (km__pkmap_map),
 * 1 -> 0 only by a compare-and-swap under the lock (count_clear) that a
 * concurrent lock-free hit (1 -> 2) can win.
 */
#ifndef KMAP_PKMAP_H
#define KMAP_PKMAP_H

#include "machine.h"

/* hash_32()'s multiplier (GOLDEN_RATIO_32, include/linux/hash.h) */
#define GOLDEN_RATIO_32 0x61C88647u

static inline bool km__in_pkmap(const struct km_core *k, uintptr_t va)
{
	return va >= PKMAP_ADDR(k, 0) && va < PKMAP_ADDR(k, k->last_pkmap);
}

/* ---------------------------------------------------------------------- */
/* Counts                                                                  */
/* ---------------------------------------------------------------------- */

/* Keep the in-use and mapped tallies in step with a count change. */
static inline void km__count_changed(struct km_core *k, unsigned nr, int from,
                                     int to)
{
	struct km_color_stats *cs = &k->stats.color[nr & (k->colors - 1)];
	if (from == 0 && to == 1)
		k->stats.mapped++;
	else if (from == 1 && to == 0)
		k->stats.mapped--;
	if (from < 2 && to >= 2) {
		k->stats.in_use++;
		if (k->stats.in_use > k->stats.in_use_peak)
			k->stats.in_use_peak = k->stats.in_use;
		if (++cs->in_use > cs->in_use_peak)
			cs->in_use_peak = cs->in_use;
	} else if (from >= 2 && to < 2) {
		k->stats.in_use--;
		cs->in_use--;
	}
}

/* pkmap_count[nr], read as the policy requires. */
static inline int km__count(const struct km_core *k, unsigned nr)
{
	return k->pol->lockless ?
	       __atomic_load_n(&k->pkmap_count[nr], __ATOMIC_ACQUIRE) :
	       k->pkmap_count[nr];
}

/* Add @d to a count of at least 1 (lock held); returns the new count. */
static inline int km__count_add(struct km_core *k, unsigned nr, int d)
{
	if (k->pol->lockless)
		return __atomic_add_fetch(&k->pkmap_count[nr], d, __ATOMIC_SEQ_CST);
	int to = k->pkmap_count[nr] + d;
	km__count_changed(k, nr, to - d, to);
	k->pkmap_count[nr] = to;
	return to;
}

/* 0 -> 1 (lock held): a slot newly mapped, or one that stays mapped after
 * a failed clear. */
static inline void km__count_set_mapped(struct km_core *k, unsigned nr)
{
	if (k->pol->lockless) {
		__atomic_store_n(&k->pkmap_count[nr], 1, __ATOMIC_RELEASE);
		return;
	}
	km__count_changed(k, nr, 0, 1);
	k->pkmap_count[nr] = 1;
}

/* 1 -> 0 (lock held), to clear the slot; false when the count was not 1
 * (a lock-free hit took the slot first). */
static inline bool km__count_clear(struct km_core *k, unsigned nr)
{
	if (k->pol->lockless) {
		int one = 1;
		return __atomic_compare_exchange_n(&k->pkmap_count[nr], &one, 0,
		                                   false, __ATOMIC_SEQ_CST,
		                                   __ATOMIC_SEQ_CST);
	}
	if (k->pkmap_count[nr] != 1)
		return false;
	km__count_changed(k, nr, 1, 0);
	k->pkmap_count[nr] = 0;
	return true;
}

/* ---------------------------------------------------------------------- */
/* page_address() over the 128-bucket hash                                 */
/* ---------------------------------------------------------------------- */

/*
 * page_slot(): the kernel hashes the struct page pointer with hash_ptr();
 * we hash the pfn with the same hash_32, so the buckets are the same on
 * every run and every host.
 */
static inline struct list_head *km__page_slot(struct km_core *k,
                                              const struct km_page *page)
{
	uint32_t v = (uint32_t)page_to_pfn(k, page);
	return &k->page_address_htable[(uint32_t)(v * GOLDEN_RATIO_32) >>
	                               (32 - PA_HASH_ORDER)];
}

/* The hash half of page_address(), for callers that know it is highmem:
 * the slot address, or 0 when the page is not in the window. */
static inline uintptr_t km__page_address_high(struct km_core *k,
                                              const struct km_page *page)
{
	struct list_head *pas = km__page_slot(k, page);
	for (struct list_head *p = pas->next; p != pas; p = p->next) {
		struct page_address_map *pam =
			km__container_of(p, struct page_address_map, list);
		if (pam->page == page)
			return pam->virtual;
	}
	return 0;
}

/* page_address(): the direct map of lowmem, the slot of a mapped highmem
 * page, else 0. */
static inline uintptr_t km__page_address(struct km_core *k,
                                         const struct km_page *page)
{
	if (!PageHighMem(k, page))
		return lowmem_page_address(k, page);
	return km__page_address_high(k, page);
}

/* ---------------------------------------------------------------------- */
/* Slots changing hands (lock held)                                        */
/* ---------------------------------------------------------------------- */

/*
 * km__pkmap_map - map free slot @nr (count 0) to @page: the TLB flush a
 * clear left pending, set_pte_at(), count 1, entered in the hash. 0, or a
 * backend's -errno with nothing changed.
 */
int km__pkmap_map(struct km_core *k, unsigned nr, struct km_page *page);

/*
 * km__pkmap_clear - the slots @nr[0..n), in any order (sorted here), whose
 * counts the caller took from 1 to 0 (km__count_clear): clear their PTEs
 * in contiguous runs, one backend call a run, take their pages out of the
 * hash, and flush the window's TLB once when anything was cleared; then
 * the policy's
 * released() and the KM_EV_FLUSH event. A run the backend fails to clear
 * stays mapped with count 1; a failed TLB flush is retried before any slot
 * is mapped again. @nr is left holding the slots cleared; their number is
 * in *cleared. Returns 0 or the first backend error.
 */
int km__pkmap_clear(struct km_core *k, unsigned *nr, unsigned n,
                    unsigned *cleared);

/*
 * Lockless policies keep no running tallies of slots in use (a shared
 * counter would bounce between CPUs on every hit): count them now, and
 * raise the peaks. O(LAST_PKMAP): km_stats_get's.
 */
void km__pkmap_tally(struct km_core *k);
/*
 * The same from a locked kmap or admission: every LAST_PKMAP / 8th call,
 * so that its cost a miss stays O(8) slots however large the window (a
 * whole count a miss was 85 % of a locked kmap's instructions at 512
 * slots, and would be nearly all of a miss at 262144). The peaks are those
 * seen at these counts.
 */
void km__pkmap_tally_some(struct km_core *k);

/* The expensive invariant check: counts against the hash, the page
 * tables, the TLB and the wait queues; 0 or -KM_ECORRUPT and @msg. */
int km__pkmap_check(struct km_core *k, char *msg, size_t n);

#endif
