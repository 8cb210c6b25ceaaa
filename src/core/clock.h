/*
 * clock.h - the free slots as the policy clock keeps them (a stack of
 * count-0 slots per colour), shared with tinylfu. clock.c.
 */
#ifndef KMAP_CLOCK_H
#define KMAP_CLOCK_H

#include "pkmap.h"

/* The policy.h entries init, released and check of a policy keeping the
 * free stacks. */
void km__clock_init(struct km_core *k);
void km__clock_released(struct km_core *k, const unsigned *nr, unsigned n);
int km__clock_check(struct km_core *k, char *msg, size_t n);
/* Map @page into the top free slot of its colour: 0 and *vaddr,
 * KM__WINDOW_FULL when none is free, or a backend's -errno. */
int km__clock_take(struct km_core *k, struct km_page *page, uintptr_t *vaddr);

#endif
