/*
 * api.h - what api.c and api_state.c, the public functions over the core,
 * share: the machine's core, page checks and the driver's lock.
 */
#ifndef KMAP_CORE_API_H
#define KMAP_CORE_API_H

#include "highmem.h"
#include "pkmap.h"
#include "util.h"

/* The machine's core (NULL for a NULL machine). */
static inline struct km_core *core(km_machine *m)
{
	return m ? km__core_of(m) : NULL;
}

/* @page is one of the machine's pages, by exact position. */
static inline bool valid(const struct km_core *k, const km_page *page)
{
	return k && km__page_valid(k, page);
}

static inline void lock(struct km_core *k) { k->drv->lock(k->drv_ctx); }
static inline void unlock(struct km_core *k) { k->drv->unlock(k->drv_ctx); }

#endif
