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

/*
 * km__kmap - kmap() for @t: 0, *vaddr and *how; -KM_EATOMIC inside
 * kmap_atomic; -EAGAIN with KM_MAP_NOWAIT when it would sleep; what the
 * driver's sleep() answered (-KM_ESLEEPING for a parked task,
 * -ETIMEDOUT); a backend's -errno. @wait goes to the driver's sleep().
 */
int km__kmap(struct km_core *k, struct km_task *t, struct km_page *page,
             unsigned flags, struct km_wait *wait, uintptr_t *vaddr,
             enum km_how *how);
/*
 * km__kunmap - kunmap() for @t: 0 (a lowmem page: nothing to do);
 * -KM_EATOMIC, -KM_ENOTMAPPED, -KM_ENOUSERS with nothing changed; a
 * backend's -errno (debug mode's protect) with the user kept.
 */
int km__kunmap(struct km_core *k, struct km_task *t, struct km_page *page);
/* kmap_high_get(): a user of @page if it is in the window (highmem). */
int km__kmap_high_get(struct km_core *k, struct km_page *page,
                      uintptr_t *vaddr);
/* kmap_flush_unused(). */
int km__kmap_flush_unused(struct km_core *k);

/* get_pkmap_color(): a page's colour is its pfn modulo the colour count. */
static inline unsigned km__pkmap_color(const struct km_core *k,
                                       const struct km_page *page)
{
	return (unsigned)page_to_pfn(k, page) & (k->colors - 1);
}

/* The policy linux's slot choice and flush, for the policies that keep
 * the kernel's slots (lockfree). */
int km__map_new_virtual(struct km_core *k, struct km_page *page,
                        uintptr_t *vaddr);
int km__flush_all_zero_pkmaps(struct km_core *k);

/* Wake every task on @color's queue (the lock not held). */
void km__wake_up(struct km_core *k, unsigned color);

#endif
