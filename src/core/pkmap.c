/*
 * pkmap.c - the window's slots changing hands: mapped to a page, cleared
 * with one TLB flush for many; set_page_address(); the invariant check.
 * Freestanding; the caller holds the kmap lock.
 */
#include "pkmap.h"
#include "util.h"

/* set_page_address(): enter (@virtual != 0) or remove a page's mapping. */
static void set_page_address(struct km_core *k, struct km_page *page,
                             uintptr_t virtual)
{
	struct list_head *pas = km__page_slot(k, page);
	if (virtual) {
		struct page_address_map *pam =
			&k->page_address_maps[PKMAP_NR(k, virtual)];
		pam->page = page;
		pam->virtual = virtual;
		list_add_tail(&pam->list, pas);
		if (k->page_slot) /* for the lock-free hit path */
			__atomic_store_n(&k->page_slot[km__page_idx(k, page)],
			                 PKMAP_NR(k, virtual) + 1, __ATOMIC_RELEASE);
		return;
	}
	if (k->page_slot)
		__atomic_store_n(&k->page_slot[km__page_idx(k, page)], 0,
		                 __ATOMIC_RELEASE);
	for (struct list_head *p = pas->next; p != pas; p = p->next) {
		struct page_address_map *pam =
			km__container_of(p, struct page_address_map, list);
		if (pam->page == page) {
			list_del_init(&pam->list);
			return;
		}
	}
}

static int flush_pending_tlb(struct km_core *k)
{
	int r = k->be->flush_tlb_range(k->be_ctx, PKMAP_ADDR(k, 0),
	                               PKMAP_ADDR(k, k->last_pkmap));
	if (!r)
		k->tlb_flush_pending = false;
	return r;
}

int km__pkmap_map(struct km_core *k, unsigned nr, struct km_page *page)
{
	int r;
	if (k->tlb_flush_pending && (r = flush_pending_tlb(k)))
		return r;
	uintptr_t va = PKMAP_ADDR(k, nr);
	uint64_t pfn = page_to_pfn(k, page);
	km__ahead_stale(k);
	r = k->be->set_pte(k->be_ctx, va, pfn);
	if (r)
		return r;
	k->stats.pte_sets++;
	__atomic_store_n(&k->pkmap_page_table[nr], pfn + 1, __ATOMIC_RELAXED);
	km__count_set_mapped(k, nr);
	set_page_address(k, page, va);
	return 0;
}

int km__pkmap_clear(struct km_core *k, unsigned *nr, unsigned n,
                    unsigned *cleared)
{
	unsigned kept = 0;
	int err = 0;
	/* ascending, so neighbours clear in one run (an insertion sort: one
	 * pass over what flush_all_zero_pkmaps hands in sorted) */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j && nr[j - 1] > nr[j]; j--) {
			unsigned t = nr[j];
			nr[j] = nr[j - 1];
			nr[j - 1] = t;
		}
	for (unsigned i = 0; i < n;) {
		unsigned j = i + 1;
		while (j < n && nr[j] == nr[j - 1] + 1)
			j++;
		int r = k->be->clear_ptes(k->be_ctx, PKMAP_ADDR(k, nr[i]), j - i);
		if (r) {
			/* still mapped: give the slots their count of 1 back */
			for (; i < j; i++)
				km__count_set_mapped(k, nr[i]);
			if (!err)
				err = r;
			continue;
		}
		k->stats.clear_runs++;
		for (; i < j; i++) {
			uint64_t pte = k->pkmap_page_table[nr[i]];
			__atomic_store_n(&k->pkmap_page_table[nr[i]], 0,
			                 __ATOMIC_RELAXED);
			set_page_address(k, pfn_to_page(k, pte - 1), 0);
			nr[kept++] = nr[i];
		}
	}
	k->stats.flushes++;
	k->stats.slots_cleared += kept;
	if (kept) {
		k->stats.tlb_flushes++;
		k->tlb_flush_pending = true;
		int r = flush_pending_tlb(k);
		if (r && !err)
			err = r;
		if (k->pol->released)
			k->pol->released(k, nr, kept);
	}
	if (k->event) {
		const struct km_task *t = k->flusher;
		struct km_event ev = { .type = KM_EV_FLUSH, .cleared = nr,
		                       .nr_cleared = kept, .tlb_flush = kept > 0,
		                       .pkmap_count = k->pkmap_count,
		                       .last_pkmap = k->last_pkmap,
		                       .task = t && t->simulated ? t : NULL };
		k->event(k->event_arg, &ev);
	}
	*cleared = kept;
	return err;
}

void km__pkmap_tally(struct km_core *k)
{
	struct km_stats *s = &k->stats;
	s->in_use = s->mapped = 0;
	for (unsigned c = 0; c < k->colors; c++)
		s->color[c].in_use = 0;
	for (unsigned nr = 0; nr < k->last_pkmap; nr++) {
		int n = km__count(k, nr);
		s->mapped += n >= 1;
		s->in_use += n >= 2;
		s->color[nr & (k->colors - 1)].in_use += n >= 2;
	}
	if (s->in_use > s->in_use_peak)
		s->in_use_peak = s->in_use;
	for (unsigned c = 0; c < k->colors; c++)
		if (s->color[c].in_use > s->color[c].in_use_peak)
			s->color[c].in_use_peak = s->color[c].in_use;
}

void km__pkmap_tally_some(struct km_core *k)
{
	if (++k->tally_calls >= (k->last_pkmap >> 3)) {
		k->tally_calls = 0;
		km__pkmap_tally(k);
	}
}

/* ---------------------------------------------------------------------- */
/* The expensive invariant check                                           */
/* ---------------------------------------------------------------------- */

static int bad(char *msg, size_t n, const char *a, uint64_t v, const char *b)
{
	if (msg)
		km__fmt_msg(msg, n, a, v, b);
	return -KM_ECORRUPT;
}

int km__pkmap_check(struct km_core *k, char *msg, size_t n)
{
	unsigned mapped = 0, in_use = 0, hashed = 0;
	for (unsigned nr = 0; nr < k->last_pkmap; nr++) {
		int c = km__count(k, nr);
		uint64_t pte = k->pkmap_page_table[nr];
		uintptr_t va = PKMAP_ADDR(k, nr);
		if (c < 0)
			return bad(msg, n, "slot ", nr, ": negative count");
		if (c == 0) {
			if (pte)
				return bad(msg, n, "slot ", nr, ": count 0 but PTE set");
			if (!list_empty(&k->page_address_maps[nr].list))
				return bad(msg, n, "slot ", nr, ": count 0 but hashed");
			if (!k->tlb_flush_pending &&
			    k->be->check_pte(k->be_ctx, va, UINT64_MAX))
				return bad(msg, n, "slot ", nr,
				           ": free but the MMU still maps it");
			continue;
		}
		mapped++;
		if (c >= 2)
			in_use++;
		if (!pte)
			return bad(msg, n, "slot ", nr, ": mapped with no PTE");
		if (!km__pfn_valid(k, pte - 1))
			return bad(msg, n, "slot ", nr, ": PTE beyond memory");
		struct km_page *page = pfn_to_page(k, pte - 1);
		if (!PageHighMem(k, page))
			return bad(msg, n, "slot ", nr, ": maps a lowmem page");
		if (km__page_address(k, page) != va)
			return bad(msg, n, "slot ", nr, ": hash disagrees with PTE");
		if ((page_to_pfn(k, page) & (k->colors - 1)) != (nr & (k->colors - 1)))
			return bad(msg, n, "slot ", nr, ": page of another colour");
		if (k->be->check_pte(k->be_ctx, va, pte - 1))
			return bad(msg, n, "slot ", nr,
			           ": MMU disagrees with pkmap_page_table");
	}
	for (unsigned b = 0; b < PA_HASH_SIZE; b++) {
		struct list_head *h = &k->page_address_htable[b];
		for (struct list_head *p = h->next; p != h; p = p->next) {
			struct page_address_map *pam =
				km__container_of(p, struct page_address_map, list);
			unsigned nr = (unsigned)(pam - k->page_address_maps);
			if (nr >= k->last_pkmap || pam->virtual != PKMAP_ADDR(k, nr))
				return bad(msg, n, "bucket ", b, ": stray entry");
			if (km__page_slot(k, pam->page) != h)
				return bad(msg, n, "bucket ", b, ": page in wrong bucket");
			hashed++;
		}
	}
	if (hashed != mapped)
		return bad(msg, n, "hash holds ", hashed, " pages, not the mapped count");
	if (!k->pol->lockless &&
	    (mapped != k->stats.mapped || in_use != k->stats.in_use))
		return bad(msg, n, "tallies disagree with counts (mapped ", mapped, ")");
	if (k->pol->check) {
		int r = k->pol->check(k, msg, n);
		if (r)
			return r;
	}
	for (unsigned c = 0; c < k->colors; c++) {
		unsigned len = 0;
		struct list_head *h = &k->pkmap_map_wait[c];
		for (struct list_head *p = h->next; p != h; p = p->next)
			len++;
		if (len != __atomic_load_n(&k->nr_waiting[c], __ATOMIC_RELAXED))
			return bad(msg, n, "wait queue of colour ", c, " miscounted");
	}
	return 0;
}
