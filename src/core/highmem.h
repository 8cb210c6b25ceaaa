/*
 * highmem.h - kmap and kunmap of a task, whole: the lowmem shortcut, a
 * policy's lock-free path, kmap_high() with its sleep on the colour's
 * queue and its retry, kunmap_high() with its wake-up, kmap_high_get(),
 * kmap_flush_unused(). highmem.c; freestanding. The caller holds no lock:
 * these take the driver's.
 */
#ifndef KMAP_HIGHMEM_H
#define KMAP_HIGHMEM_H

#include "pkmap.h"

/* The locked halves of km__kmap and km__kunmap (highmem.c). */
int km__kmap_locked(struct km_core *k, struct km_task *t,
                    struct km_page *page, unsigned flags,
                    struct km_wait *wait, uintptr_t *vaddr, enum km_how *how);
int km__kunmap_locked(struct km_core *k, struct km_page *page);

/* get_pkmap_color(): a page's colour is its pfn modulo the colour count. */
static inline unsigned km__pkmap_color(const struct km_core *k,
                                       const struct km_page *page)
{
	return (unsigned)page_to_pfn(k, page) & (k->colors - 1);
}

/* map_admit's answer for what may come next (admit.h), lock held. */
static inline void km__set_admit_bar(struct km_core *k, unsigned color,
                                     uint32_t bar)
{
	/* stored only when it changes: a store every miss would move the
	 * line between the CPUs that read it */
	if (k->admit_bar[color] != bar)
		__atomic_store_n(&k->admit_bar[color], bar, __ATOMIC_RELAXED);
}

/* Wake every task on @color's queue (the lock not held). */
void km__wake_up(struct km_core *k, unsigned color);

/* May a policy's lock-free path run? Not while every call is checked
 * (KM_CHECK) or each slot's first and last user matter (KM_DEBUG). */
static inline bool km__fast_ok(const struct km_core *k)
{
	return !(k->flags & (KM_CHECK | KM_DEBUG));
}

/*
 * km__kmap - kmap() for @t: 0, *vaddr and *how; -KM_EATOMIC inside
 * kmap_atomic; -EAGAIN with KM_MAP_NOWAIT when it would sleep; what the
 * driver's sleep() answered (-KM_ESLEEPING for a parked task,
 * -ETIMEDOUT); a backend's -errno. @wait goes to the driver's sleep().
 * Inline: the lowmem answer and a policy's lock-free hit are the fast
 * path; the rest is km__kmap_locked().
 */
static inline int km__kmap(struct km_core *k, struct km_task *t,
                           struct km_page *page, unsigned flags,
                           struct km_wait *wait, uintptr_t *vaddr,
                           enum km_how *how)
{
	/* might_sleep(): kmap may sleep, so never inside kmap_atomic */
	if (t->atomic_depth)
		return -KM_EATOMIC;
	if (!PageHighMem(k, page)) {
		*vaddr = lowmem_page_address(k, page);
		*how = KM_HOW_LOWMEM;
		__atomic_fetch_add(&k->lowmem_maps, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (k->pol->records)
		k->adm->record(k, page_to_pfn(k, page));
	if (k->pol->kmap_fast && km__fast_ok(k)) {
		int f = k->pol->kmap_fast(k, page, vaddr);
		if (f == 1) {
			unsigned c = km__pkmap_color(k, page);
			__atomic_store_n(&t->fast_hits[c], t->fast_hits[c] + 1,
			                 __ATOMIC_RELAXED);
			*how = KM_HOW_HIT;
			return 0;
		}
		if (f < 0)
			km__wake_up(k, (unsigned)(-1 - f));
	}
	return km__kmap_locked(k, t, page, flags, wait, vaddr, how);
}

/*
 * km__kunmap - kunmap() for @t: 0 (a lowmem page: nothing to do);
 * -KM_EATOMIC, -KM_ENOTMAPPED, -KM_ENOUSERS with nothing changed; a
 * backend's -errno (debug mode's protect) with the user kept. Inline as
 * km__kmap is.
 */
static inline int km__kunmap(struct km_core *k, struct km_task *t,
                             struct km_page *page)
{
	bool wake;
	if (t->atomic_depth)
		return -KM_EATOMIC;
	if (!PageHighMem(k, page))
		return 0;
	if (k->pol->kunmap_fast && km__fast_ok(k) &&
	    k->pol->kunmap_fast(k, page, &wake)) {
		__atomic_store_n(&t->fast_unmaps, t->fast_unmaps + 1,
		                 __ATOMIC_RELAXED);
		if (wake)
			km__wake_up(k, km__pkmap_color(k, page));
		return 0;
	}
	return km__kunmap_locked(k, page);
}
/* kmap_high_get(): a user of @page if it is in the window (highmem). */
int km__kmap_high_get(struct km_core *k, struct km_page *page,
                      uintptr_t *vaddr);
/* kmap_flush_unused(). */
int km__kmap_flush_unused(struct km_core *k);

/* The policy linux's slot choice and flush, for the policies that keep
 * the kernel's slots (lockfree); and its admission for the copy helpers. */
int km__map_new_virtual(struct km_core *k, struct km_page *page,
                        uintptr_t *vaddr);
int km__flush_all_zero_pkmaps(struct km_core *k);
int km__map_admit_next(struct km_core *k, struct km_page *page,
                       uintptr_t *vaddr);

/* KM_CHECK: the expensive check after operation @op, the lock held; a
 * broken invariant goes to the driver's bug(). */
void km__check_now(struct km_core *k, const char *op);
static inline void km__check_after(struct km_core *k, const char *op)
{
	if (__builtin_expect(k->flags & KM_CHECK, 0))
		km__check_now(k, op);
}

#endif
