/*
 * policy.h - slot policies: how a page not in the window gets a slot, and
 * whether hits and kunmaps may skip the kmap lock. Each policy is a table
 * of these functions in its own file; the core (highmem.c) calls them at
 * fixed points and never reaches into a policy's state.
 *
 *   linux     highmem.c: mm/highmem.c exactly (the simulated machine's default)
 *   lockfree  lockfree.c: the same slots, hits and kunmaps without the lock
 *   clock     clock.c: lock-free hits, slots reused by a CLOCK sweep
 *   tinylfu   tinylfu.c: lock-free hits, one slot at a time given to the
 *             page the admission rule (admit.h) counts more often than the
 *             page there (real memory's default)
 *
 * The rule every policy keeps: a count goes from 1 to 0 only with the lock
 * held, in km__pkmap_clear(), which clears the PTEs and flushes the TLB
 * before the slot is used again.
 */
#ifndef KMAP_POLICY_H
#define KMAP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct km_core;
struct km_page;

struct km_policy {
	const char *name;
	/*
	 * Counts change outside the lock (by atomics): every access to
	 * pkmap_count is atomic, running tallies are not kept, and the policy
	 * needs the page_slot array (pfn to slot, for the lock-free look-up).
	 */
	bool lockless;
	/* Keep a reference bit per slot (slot_ref), set by every hit. */
	bool ref_bits;
	/* Every kmap is an access the admission rule counts (its evictions
	 * are decided by those counts). */
	bool records;

	/* Set up the policy's state (the arrays are zeroed). NULL: none. */
	void (*init)(struct km_core *k);

	/*
	 * Without the lock: take a user of @page if it is in the window.
	 * 1 and *vaddr: done. 0: take the locked path. -1 - colour: take it
	 * after waking that colour's queue. NULL: always the locked path.
	 */
	int (*kmap_fast)(struct km_core *k, struct km_page *page,
	                 uintptr_t *vaddr);
	/*
	 * Without the lock: drop a user of @page. 1: done, and *wake when the
	 * count fell to 1 while tasks may wait on its colour. 0: take the
	 * locked path. NULL: always the locked path.
	 */
	int (*kunmap_fast)(struct km_core *k, struct km_page *page, bool *wake);
	/*
	 * With the lock, a task just queued on @color: may a slot have been
	 * freed without the lock since the scan? (Then the task looks again
	 * instead of sleeping.) NULL: never.
	 */
	bool (*may_have_slot)(struct km_core *k, unsigned color);

	/*
	 * With the lock: give @page (highmem, not in the window) a slot:
	 * 0 and *vaddr, KM__WINDOW_FULL when every slot of its colour has
	 * users, or a backend's -errno with nothing changed.
	 */
	int (*map_new)(struct km_core *k, struct km_page *page, uintptr_t *vaddr);
	/*
	 * With the lock, for the copy helpers: give @page (highmem, not in the
	 * window) a slot if the admission rule (k->adm) takes it over what the
	 * slot holds, evicting at most that one page: 0 and *vaddr;
	 * KM__NOT_ADMITTED; a backend's -errno with nothing changed. Never
	 * sleeps, and never clears more than the one slot.
	 */
	int (*map_admit)(struct km_core *k, struct km_page *page,
	                 uintptr_t *vaddr);
	/*
	 * With the lock: kmap_flush_unused(), clear every slot without users.
	 */
	int (*flush_unused)(struct km_core *k);
	/* Slots km__pkmap_clear() just cleared (count 0), ascending. NULL: none. */
	void (*released)(struct km_core *k, const unsigned *nr, unsigned n);
	/* The policy's own invariants; 0 or -KM_ECORRUPT and @msg. NULL: none. */
	int (*check)(struct km_core *k, char *msg, size_t n);
};

/* KM__WINDOW_FULL: positive, so that no backend's -errno (mmap may say
 * EAGAIN) can be taken for it. */
#define KM__WINDOW_FULL 1
/* map_admit: the page stays out of the window (positive, as above). */
#define KM__NOT_ADMITTED 2

extern const struct km_policy km__policy_linux, km__policy_lockfree,
	km__policy_clock, km__policy_tinylfu;

/* The policy of a name, or NULL; the i-th policy, or NULL past the last. */
const struct km_policy *km__policy_find(const char *name);
const struct km_policy *km__policy_at(unsigned i);

#endif
