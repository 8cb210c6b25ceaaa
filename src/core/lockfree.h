/*
 * lockfree.h - hits and kunmaps that take no lock, for the lockless
 * policies (lockfree, clock). lockfree.c.
 */
#ifndef KMAP_LOCKFREE_H
#define KMAP_LOCKFREE_H

#include "pkmap.h"

/* The policy.h entries kmap_fast, kunmap_fast and may_have_slot. */
int km__lockfree_kmap(struct km_core *k, struct km_page *page,
                      uintptr_t *vaddr);
int km__lockfree_kunmap(struct km_core *k, struct km_page *page, bool *wake);
bool km__lockfree_may_have_slot(struct km_core *k, unsigned color);

#endif
