/*
 * lockfree.c - the policy "lockfree": the kernel's slot choice and flush
 * (highmem.c), with a hit path and a kunmap path that take no lock; clock
 * uses the same two paths. Freestanding.
 *
 * The kernel's rule holds: a count never goes from 1 to 0 except in a
 * flush, under the lock, by a compare-and-swap; the PTE is cleared and
 * the TLB flushed before the slot is used again. A lock-free hit moves a
 * count from c >= 1 to c + 1 by compare-and-swap, so it and the flush
 * cannot both win a count of 1.
 */
#include "lockfree.h"
#include "highmem.h"

/*
 * Compare-and-swap attempts of a lock-free hit before it takes the locked
 * path: each failure means another CPU moved the same count; a few
 * retries ride out a burst, and the lock bounds the rest.
 */
#define FAST_TRIES 4

int km__lockfree_kmap(struct km_core *k, struct km_page *page,
                      uintptr_t *vaddr)
{
	uint64_t i = km__page_idx(k, page); /* page_slot is by mem_map index */
	for (int tries = 0; tries < FAST_TRIES; tries++) {
		uint32_t s = __atomic_load_n(&k->page_slot[i], __ATOMIC_ACQUIRE);
		if (!s)
			return 0;
		unsigned nr = s - 1;
		int c = __atomic_load_n(&k->pkmap_count[nr], __ATOMIC_ACQUIRE);
		if (c < 1)
			return 0; /* flushed: the locked path maps it anew */
		if (!__atomic_compare_exchange_n(&k->pkmap_count[nr], &c, c + 1,
		                                 false, __ATOMIC_SEQ_CST,
		                                 __ATOMIC_SEQ_CST))
			continue;
		/*
		 * The slot had users or was mapped when we took one. It can
		 * only have been cleared and given to another page before our
		 * compare-and-swap; then page_slot no longer names it (the
		 * flush clears page_slot before the slot is reused).
		 */
		if (__atomic_load_n(&k->page_slot[i], __ATOMIC_ACQUIRE) == s) {
			/* read first: a store every hit would bounce the line
			 * between CPUs hitting neighbouring slots */
			if (k->slot_ref &&
			    !__atomic_load_n(&k->slot_ref[nr], __ATOMIC_RELAXED))
				__atomic_store_n(&k->slot_ref[nr], 1, __ATOMIC_RELAXED);
			*vaddr = PKMAP_ADDR(k, nr);
			return 1;
		}
		/* a user of another page's slot: give it back (may leave 1) */
		bool wake;
		if (__atomic_sub_fetch(&k->pkmap_count[nr], 1, __ATOMIC_SEQ_CST) == 1)
			wake = __atomic_load_n(&k->nr_waiting[nr & (k->colors - 1)],
			                       __ATOMIC_SEQ_CST) != 0;
		else
			wake = false;
		if (wake)
			return -1 - (int)(nr & (k->colors - 1));
	}
	return 0;
}

int km__lockfree_kunmap(struct km_core *k, struct km_page *page, bool *wake)
{
	uint64_t i = km__page_idx(k, page); /* page_slot is by mem_map index */
	*wake = false;
	uint32_t s = __atomic_load_n(&k->page_slot[i], __ATOMIC_ACQUIRE);
	if (!s)
		return 0;
	unsigned nr = s - 1;
	int c = __atomic_load_n(&k->pkmap_count[nr], __ATOMIC_ACQUIRE);
	do {
		if (c < 2)
			return 0; /* no user to drop: the locked path reports it */
	} while (!__atomic_compare_exchange_n(&k->pkmap_count[nr], &c, c - 1,
	                                      false, __ATOMIC_SEQ_CST,
	                                      __ATOMIC_SEQ_CST));
	/*
	 * seq_cst, paired with the waiter's seq_cst increment of nr_waiting
	 * and its look at the counts (km__lockfree_may_have_slot): either we see
	 * the waiter, or it sees this count of 1.
	 */
	if (c - 1 == 1 &&
	    __atomic_load_n(&k->nr_waiting[nr & (k->colors - 1)], __ATOMIC_SEQ_CST))
		*wake = true;
	return 1;
}

bool km__lockfree_may_have_slot(struct km_core *k, unsigned color)
{
	for (unsigned nr = color; nr < k->last_pkmap; nr += k->colors)
		if (__atomic_load_n(&k->pkmap_count[nr], __ATOMIC_SEQ_CST) <= 1)
			return true;
	return false;
}

const struct km_policy km__policy_lockfree = {
	.name = "lockfree",
	.lockless = true,
	.kmap_fast = km__lockfree_kmap,
	.kunmap_fast = km__lockfree_kunmap,
	.may_have_slot = km__lockfree_may_have_slot,
	.map_new = km__map_new_virtual,
	.map_admit = km__map_admit_next,
	.flush_unused = km__flush_all_zero_pkmaps,
};
