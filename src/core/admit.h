/*
 * admit.h - the admission rule: is a page that is not in the window worth
 * a slot? The copy helpers ask it before they map a page instead of
 * copying it straight from the memory, and the policy "tinylfu" also asks
 * it which page to evict. A rule is a table, as the slot policies are;
 * admit.c has the one in use, TinyLFU's.
 *
 * record() runs on every access without the lock, from any thread; the
 * other entries run with the lock held. O(1) each; the state is a few
 * bytes a slot of the window, never a byte a page of memory.
 */
#ifndef KMAP_ADMIT_H
#define KMAP_ADMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct km_core;

/* admit()'s victim when the slot on offer is free: nothing is evicted */
#define KM__FREE_SLOT UINT64_MAX

/*
 * A colour's admission bar (km_core.admit_bar): the count a page needs
 * (record()'s answer; 0 under policies that count nothing) before a
 * copy's miss takes the lock to ask the policy's map_admit. The policy
 * sets it there, from what it saw: OPEN when any page may be taken (a
 * free slot to offer), SHUT when none can (no room), or one more than
 * the least a page must be counted to displace the victim it found.
 * A hint: every KM__ADMIT_RECHECK-th miss of a task asks anyway, as room
 * may come without map_admit seeing it (a flush, a kmap).
 */
#define KM__BAR_OPEN 0u
#define KM__BAR_SHUT UINT32_MAX
#define KM__ADMIT_RECHECK 16u

struct km_admit {
	const char *name;
	/* Bytes of state for a window of @last_pkmap slots. */
	size_t (*size)(unsigned last_pkmap);
	/* Set up @state (zeroed, size() bytes) for @k's window. */
	void (*init)(struct km_core *k, void *state);
	/* An access to page @pfn (highmem): how often it was accessed
	 * lately, this one counted (estimate()'s answer). */
	unsigned (*record)(struct km_core *k, uint64_t pfn);
	/* How often @pfn was accessed lately, as the rule counts. */
	unsigned (*estimate)(const struct km_core *k, uint64_t pfn);
	/*
	 * Should @pfn take a slot that now holds page @victim (or is free)?
	 * With the lock held; the rule may remember the question (a refused
	 * page may be admitted when it asks again).
	 */
	bool (*admit)(struct km_core *k, uint64_t pfn, uint64_t victim);
	/* The least count (estimate()) with which admit() takes the slot of
	 * page @victim. */
	unsigned (*bar)(const struct km_core *k, uint64_t victim);
};

extern const struct km_admit km__admit_tinylfu;

#endif
