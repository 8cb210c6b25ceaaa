/*
 * tinylfu.c - the policy "tinylfu": lock-free hits and kunmaps
 * (lockfree.c), free slots kept on clock's stacks (clock.c), and when a
 * colour has none free, slots taken from the pages the admission rule
 * (admit.c) counts least often among a few slots without users that the
 * colour's hand passes: a sampled least-frequently-used eviction over
 * TinyLFU's counts. Every kmap is counted. The copy helpers map a page
 * only when the rule takes it over the least counted of those pages (or
 * into a free slot), so a page read once never enters and a scan leaves
 * the hot set alone; a kmap, which must map its page, clears every
 * sampled page counted no more often than its own, in one flush.
 * Freestanding.
 */
#include "clock.h"
#include "highmem.h"
#include "lockfree.h"

/*
 * Slots without users the hand weighs for one eviction: enough that the
 * least used page of the window is among them often (the victim's count
 * is the smallest of 8), few enough to keep a miss O(1).
 */
#define SAMPLE 8
#define NO_SLOT (~0u)

static unsigned per_color(const struct km_core *k)
{
	return k->last_pkmap / k->colors;
}

/*
 * The hand of colour @c passes slots until it has seen SAMPLE without
 * users (count 1), once round at most. Returns the one whose page the
 * admission rule counts least (NO_SLOT when every slot of the colour has
 * users). With @v, every seen slot whose page is counted at most @limit
 * is also taken from 1 to 0 and put in @v (*n of them).
 */
static unsigned sample(struct km_core *k, unsigned c, unsigned limit,
                       unsigned *v, unsigned *n)
{
	unsigned per = per_color(k), best = NO_SLOT, best_e = ~0u, seen = 0;
	for (unsigned i = 0; i < per && seen < SAMPLE; i++) {
		unsigned nr = k->clock_hand[c] * k->colors + c;
		k->clock_hand[c] = (k->clock_hand[c] + 1) % per;
		if (km__count(k, nr) != 1)
			continue;
		seen++;
		unsigned e = k->adm->estimate(k, k->pkmap_page_table[nr] - 1);
		if (v && e <= limit && km__count_clear(k, nr))
			v[(*n)++] = nr;
		else if (e < best_e) {
			best_e = e;
			best = nr;
		}
	}
	return best;
}

/*
 * kmap's way, where @page must have a slot: of the sampled slots, every
 * one whose page is counted no more often than @page goes, cleared
 * together (in runs, one TLB flush); when none is, the least counted one.
 * A stream of pages kmapped once each so clears its own pages, SAMPLE at a
 * time, and leaves the others alone. 0; KM__WINDOW_FULL when every slot of
 * the colour has users, or lock-free hits took the ones chosen; a
 * backend's -errno.
 */
static int make_room(struct km_core *k, struct km_page *page, unsigned c)
{
	unsigned n = 0, cleared, *v = k->flush_scratch;
	unsigned best = sample(k, c, k->adm->estimate(k, page_to_pfn(k, page)),
	                       v, &n);
	if (!n && best != NO_SLOT && km__count_clear(k, best))
		v[n++] = best;
	if (!n)
		return KM__WINDOW_FULL;
	return km__pkmap_clear(k, v, n, &cleared);
}

/*
 * Clear slot @nr (count 1) onto the free stack, with its TLB flush: 0;
 * KM__WINDOW_FULL when a lock-free hit took it first; a backend's -errno
 * (it stays mapped).
 */
static int evict(struct km_core *k, unsigned nr)
{
	unsigned cleared;
	if (!km__count_clear(k, nr))
		return KM__WINDOW_FULL;
	return km__pkmap_clear(k, &nr, 1, &cleared);
}

static int tinylfu_map_new(struct km_core *k, struct km_page *page,
                           uintptr_t *vaddr)
{
	unsigned c = km__pkmap_color(k, page);
	/* lost races for the victims mean another turn of the hand */
	for (int tries = 0; !k->free_top[c] && tries < SAMPLE; tries++) {
		int r = make_room(k, page, c);
		if (r < 0)
			return r;
	}
	return km__clock_take(k, page, vaddr);
}

static int tinylfu_map_admit(struct km_core *k, struct km_page *page,
                             uintptr_t *vaddr)
{
	unsigned c = km__pkmap_color(k, page);
	uint64_t pfn = page_to_pfn(k, page);
	if (k->free_top[c]) {
		km__set_admit_bar(k, c, KM__BAR_OPEN);
		return k->adm->admit(k, pfn, KM__FREE_SLOT) ?
		       km__clock_take(k, page, vaddr) : KM__NOT_ADMITTED;
	}
	unsigned nr = sample(k, c, 0, NULL, NULL);
	if (nr == NO_SLOT) {
		km__set_admit_bar(k, c, KM__BAR_SHUT);
		return KM__NOT_ADMITTED;
	}
	uint64_t victim = k->pkmap_page_table[nr] - 1;
	if (!k->adm->admit(k, pfn, victim)) {
		/* the next miss of this colour weighs against the same page:
		 * the hand's next sample may find a lower one, the recheck
		 * looks */
		km__set_admit_bar(k, c, k->adm->bar(k, victim));
		return KM__NOT_ADMITTED;
	}
	km__set_admit_bar(k, c, KM__BAR_OPEN); /* the next victim is not known */
	int r = evict(k, nr);
	if (r)
		return r == KM__WINDOW_FULL ? KM__NOT_ADMITTED : r;
	return km__clock_take(k, page, vaddr);
}

const struct km_policy km__policy_tinylfu = {
	.name = "tinylfu",
	.lockless = true,
	.records = true,
	.init = km__clock_init,
	.kmap_fast = km__lockfree_kmap,
	.kunmap_fast = km__lockfree_kunmap,
	.may_have_slot = km__lockfree_may_have_slot,
	.map_new = tinylfu_map_new,
	.map_admit = tinylfu_map_admit,
	.flush_unused = km__flush_all_zero_pkmaps,
	.released = km__clock_released,
	.check = km__clock_check,
};
