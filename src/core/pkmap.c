/*
 * pkmap.c - persistent kernel maps, policy "linux": the algorithm of the
 * kernel's mm/highmem.c, step for step. Freestanding; the caller holds the
 * kmap lock around every function here.
 */
#include "core.h"

/* ---------------------------------------------------------------------- */
/* Colours: the hooks the kernel lets an architecture override (xtensa)    */
/* ---------------------------------------------------------------------- */

/* get_pkmap_color(): a page's colour is its pfn modulo the colour count. */
static inline unsigned get_pkmap_color(const struct km_core *k,
                                       const struct km_page *page)
{
	return (unsigned)page_to_pfn(k, page) & (k->colors - 1);
}

unsigned km__pkmap_color(const struct km_core *k, const struct km_page *page)
{
	return get_pkmap_color(k, page);
}

/*
 * get_next_pkmap_nr(): each colour's cursor steps by the colour count, so
 * colour c probes the slots c, c + N, c + 2N, ... and starts at N + c.
 */
static inline unsigned get_next_pkmap_nr(struct km_core *k, unsigned color)
{
	k->last_pkmap_nr_arr[color] =
		(k->last_pkmap_nr_arr[color] + k->colors) & k->last_pkmap_mask;
	return k->last_pkmap_nr_arr[color] + color;
}

/* no_more_pkmaps(): the cursor wrapped to the colour's first slot. */
static inline bool no_more_pkmaps(const struct km_core *k, unsigned nr)
{
	return nr < k->colors;
}

/* get_pkmap_entries_count(): the slots of one colour. */
static inline int get_pkmap_entries_count(const struct km_core *k)
{
	return (int)(k->last_pkmap / k->colors);
}

/* ---------------------------------------------------------------------- */
/* page_address() over the 128-bucket hash                                 */
/* ---------------------------------------------------------------------- */

/*
 * page_slot(): the kernel hashes the struct page pointer with hash_ptr();
 * we hash the pfn with the same hash_32 (GOLDEN_RATIO_32), so the buckets
 * are the same on every run and every host.
 */
static inline struct list_head *page_slot(struct km_core *k,
                                          const struct km_page *page)
{
	uint32_t v = (uint32_t)page_to_pfn(k, page);
	return &k->page_address_htable[(uint32_t)(v * 0x61C88647u) >>
	                               (32 - PA_HASH_ORDER)];
}

/* The hash half of page_address(), for callers that know it is highmem. */
static inline uintptr_t page_address_high(struct km_core *k,
                                          const struct km_page *page)
{
	struct list_head *pas = page_slot(k, page);
	for (struct list_head *p = pas->next; p != pas; p = p->next) {
		struct page_address_map *pam =
			km__container_of(p, struct page_address_map, list);
		if (pam->page == page)
			return pam->virtual;
	}
	return 0;
}

uintptr_t km__page_address(struct km_core *k, const struct km_page *page)
{
	if (!PageHighMem(k, page))
		return lowmem_page_address(k, page);
	return page_address_high(k, page);
}

/* set_page_address(): enter (@virtual != 0) or remove a page's mapping. */
static void set_page_address(struct km_core *k, struct km_page *page,
                             uintptr_t virtual)
{
	struct list_head *pas = page_slot(k, page);
	if (virtual) {
		struct page_address_map *pam =
			&k->page_address_maps[PKMAP_NR(k, virtual)];
		pam->page = page;
		pam->virtual = virtual;
		list_add_tail(&pam->list, pas);
		if (k->page_slot) /* for the lock-free hit path */
			__atomic_store_n(&k->page_slot[page_to_pfn(k, page)],
			                 PKMAP_NR(k, virtual) + 1, __ATOMIC_RELEASE);
		return;
	}
	if (k->page_slot)
		__atomic_store_n(&k->page_slot[page_to_pfn(k, page)], 0,
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

bool km__in_pkmap(const struct km_core *k, uintptr_t va)
{
	return va >= PKMAP_ADDR(k, 0) && va < PKMAP_ADDR(k, k->last_pkmap);
}

/* ---------------------------------------------------------------------- */
/* Counts and statistics                                                   */
/* ---------------------------------------------------------------------- */

/* Keep the in-use and mapped tallies in step with a count change. */
static void count_changed(struct km_core *k, unsigned nr, int from, int to)
{
	struct km_color_stats *cs = &k->stats.color[nr & (k->colors - 1)];
	if (from == 0 && to == 1)
		k->stats.mapped++;
	else if (from == 1 && to == 0)
		k->stats.mapped--;
	if (from < 2 && to >= 2) {
		k->stats.in_use++;
		if (k->stats.in_use > k->stats.in_use_peak)
			k->stats.in_use_peak = k->stats.in_use;
		if (++cs->in_use > cs->in_use_peak)
			cs->in_use_peak = cs->in_use;
	} else if (from >= 2 && to < 2) {
		k->stats.in_use--;
		cs->in_use--;
	}
}

/*
 * Counts. Under policy linux every access is under the kmap lock and
 * plain. The other policies have a hit path that takes no lock and moves
 * counts >= 1 with atomics (policy.c), so here every access is atomic too:
 * 0 -> 1 happens only under the lock, 1 -> 0 only by a compare-and-swap
 * that a concurrent lock-free hit (1 -> 2) can win.
 */
static inline bool lockless(const struct km_core *k)
{
	return k->policy != KM_POLICY_LINUX;
}

static inline int count_read(const struct km_core *k, unsigned nr)
{
	return lockless(k) ? __atomic_load_n(&k->pkmap_count[nr], __ATOMIC_ACQUIRE) :
	                     k->pkmap_count[nr];
}

/* Add @d to a count of at least 1; returns the new count. */
static inline int count_add(struct km_core *k, unsigned nr, int d)
{
	if (lockless(k))
		return __atomic_add_fetch(&k->pkmap_count[nr], d, __ATOMIC_SEQ_CST);
	int to = k->pkmap_count[nr] + d;
	count_changed(k, nr, to - d, to);
	k->pkmap_count[nr] = to;
	return to;
}

/* 0 -> 1: a slot newly mapped (nothing else moves a count of 0). */
static inline void count_set_mapped(struct km_core *k, unsigned nr)
{
	if (lockless(k)) {
		__atomic_store_n(&k->pkmap_count[nr], 1, __ATOMIC_RELEASE);
		return;
	}
	count_changed(k, nr, 0, 1);
	k->pkmap_count[nr] = 1;
}

/* 1 -> 0 in a flush; false when a lock-free hit took the slot first. */
static inline bool count_clear(struct km_core *k, unsigned nr)
{
	if (lockless(k)) {
		int one = 1;
		return __atomic_compare_exchange_n(&k->pkmap_count[nr], &one, 0,
		                                   false, __ATOMIC_SEQ_CST,
		                                   __ATOMIC_SEQ_CST);
	}
	if (k->pkmap_count[nr] != 1)
		return false;
	count_changed(k, nr, 1, 0);
	k->pkmap_count[nr] = 0;
	return true;
}

int km__count(const struct km_core *k, unsigned nr)
{
	return count_read(k, nr);
}

bool km__count_clear(struct km_core *k, unsigned nr)
{
	return count_clear(k, nr);
}

/* A slot newly mapped to @page (its PTE is set): count 1, hashed. */
void km__slot_install(struct km_core *k, unsigned nr, struct km_page *page)
{
	__atomic_store_n(&k->pkmap_page_table[nr], page_to_pfn(k, page) + 1,
	                 __ATOMIC_RELAXED);
	count_set_mapped(k, nr);
	set_page_address(k, page, PKMAP_ADDR(k, nr));
}

/* A slot whose count went 1 -> 0 and whose PTE is cleared: unhash it. */
void km__slot_release(struct km_core *k, unsigned nr)
{
	struct km_page *page = pfn_to_page(k, k->pkmap_page_table[nr] - 1);
	__atomic_store_n(&k->pkmap_page_table[nr], 0, __ATOMIC_RELAXED);
	set_page_address(k, page, 0);
}

/* ---------------------------------------------------------------------- */
/* flush_all_zero_pkmaps, map_new_virtual, kmap_high, kunmap_high          */
/* ---------------------------------------------------------------------- */

static int flush_pending_tlb(struct km_core *k)
{
	int r = k->be->flush_tlb_range(k->be_ctx, PKMAP_ADDR(k, 0),
	                               PKMAP_ADDR(k, k->last_pkmap));
	if (!r)
		k->tlb_flush_pending = false;
	return r;
}

/*
 * flush_all_zero_pkmaps(): every slot whose count is 1 (mapped, no users)
 * is cleared and its page leaves the hash; one TLB flush of the whole
 * window follows when anything was cleared. The PTEs are cleared in
 * contiguous runs, one backend call a run. A run the backend fails to
 * clear stays mapped with count 1; a failed TLB flush is retried before
 * any slot is mapped again.
 */
static int flush_all_zero_pkmaps(struct km_core *k)
{
	unsigned n = 0;
	int err = 0;

	for (unsigned i = 0; i < k->last_pkmap;) {
		if (count_read(k, i) != 1) {
			i++;
			continue;
		}
		/* take the run of count-1 slots from i; a lock-free hit may
		 * win a slot meanwhile, which then ends the run */
		unsigned j = i;
		while (j < k->last_pkmap && count_read(k, j) == 1 && count_clear(k, j))
			j++;
		if (j == i) {
			i++;
			continue;
		}
		int r = k->be->clear_ptes(k->be_ctx, PKMAP_ADDR(k, i), j - i);
		k->stats.clear_runs += !r;
		if (r) {
			/* still mapped: give the slots their count of 1 back */
			for (unsigned x = i; x < j; x++)
				if (lockless(k))
					__atomic_store_n(&k->pkmap_count[x], 1,
					                 __ATOMIC_RELEASE);
				else
					count_set_mapped(k, x);
			err = r;
			i = j;
			continue;
		}
		for (; i < j; i++) {
			struct km_page *page =
				pfn_to_page(k, k->pkmap_page_table[i] - 1);
			__atomic_store_n(&k->pkmap_page_table[i], 0, __ATOMIC_RELAXED);
			set_page_address(k, page, 0);
			k->flush_scratch[n++] = i;
		}
	}
	k->stats.flushes++;
	k->stats.slots_cleared += n;
	if (n) {
		k->stats.tlb_flushes++;
		k->tlb_flush_pending = true;
		int r = flush_pending_tlb(k);
		if (r && !err)
			err = r;
		if (k->policy == KM_POLICY_CLOCK)
			for (unsigned x = 0; x < n; x++)
				km__clock_free(k, k->flush_scratch[x]);
	}
	if (k->event) {
		struct km_event ev = { .type = KM_EV_FLUSH,
		                       .cleared = k->flush_scratch,
		                       .nr_cleared = n, .tlb_flush = n > 0,
		                       .pkmap_count = k->pkmap_count,
		                       .last_pkmap = k->last_pkmap };
		k->event(k->event_arg, &ev);
	}
	return err;
}

int km__flush_all_zero_pkmaps(struct km_core *k)
{
	return flush_all_zero_pkmaps(k);
}

/*
 * map_new_virtual(): advance the colour's cursor to a free slot, flushing
 * at each wrap; after probing every slot of the colour with none free,
 * KM__WINDOW_FULL (the kernel sleeps there; after the wake-up it re-checks
 * page_address() and restarts, which is what a retried kmap_high does).
 */
static int map_new_virtual(struct km_core *k, struct km_page *page,
                           uintptr_t *vaddr)
{
	unsigned color = get_pkmap_color(k, page);
	unsigned saved = k->last_pkmap_nr_arr[color];
	unsigned nr;
	int count = get_pkmap_entries_count(k);
	int r;

	for (;;) {
		nr = get_next_pkmap_nr(k, color);
		if (no_more_pkmaps(k, nr)) {
			r = flush_all_zero_pkmaps(k);
			if (r)
				goto fail;
			count = get_pkmap_entries_count(k);
		}
		if (!count_read(k, nr))
			break; /* found a usable entry */
		if (--count)
			continue;
		return KM__WINDOW_FULL;
	}
	if (k->tlb_flush_pending && (r = flush_pending_tlb(k)))
		goto fail;
	uintptr_t va = PKMAP_ADDR(k, nr);
	uint64_t pfn = page_to_pfn(k, page);
	r = k->be->set_pte(k->be_ctx, va, pfn);
	if (r)
		goto fail;
	k->stats.pte_sets++;
	__atomic_store_n(&k->pkmap_page_table[nr], pfn + 1, __ATOMIC_RELAXED);
	count_set_mapped(k, nr);
	set_page_address(k, page, va);
	*vaddr = va;
	return 0;
fail:
	k->last_pkmap_nr_arr[color] = saved;
	return r;
}

int km__kmap_high(struct km_core *k, struct km_page *page, uintptr_t *vaddr,
              enum km_how *how)
{
	uintptr_t va = page_address_high(k, page); /* callers pass highmem */
	enum km_how h = KM_HOW_HIT;
	if (!va) {
		int r = k->policy == KM_POLICY_CLOCK ?
		        km__clock_map_new(k, page, &va) :
		        map_new_virtual(k, page, &va);
		if (r)
			return r;
		h = KM_HOW_NEW;
	}
	unsigned nr = PKMAP_NR(k, va);
	count_add(k, nr, 1);
	if (k->slot_ref && !__atomic_load_n(&k->slot_ref[nr], __ATOMIC_RELAXED))
		__atomic_store_n(&k->slot_ref[nr], 1, __ATOMIC_RELAXED);
	/* BUG_ON(pkmap_count[nr] < 2) cannot fire: counts are >= 1 here */
	struct km_color_stats *cs = &k->stats.color[nr & (k->colors - 1)];
	k->stats.kmaps++;
	if (h == KM_HOW_HIT) {
		k->stats.hits++;
		cs->hits++;
	} else {
		k->stats.new_maps++;
		cs->new_maps++;
	}
	*vaddr = va;
	if (how)
		*how = h;
	return 0;
}

int km__kunmap_high(struct km_core *k, struct km_page *page, bool *wake)
{
	uintptr_t va = page_address_high(k, page); /* callers pass highmem */
	*wake = false;
	if (!va)
		return -ENOENT; /* the kernel's BUG_ON(!vaddr) */
	unsigned nr = PKMAP_NR(k, va);
	/* A count must never go down to zero without a TLB flush. */
	int c;
	do {
		c = count_read(k, nr);
		if (c < 2)
			return -EALREADY; /* the kernel's BUG() at case 0 */
	} while (lockless(k) &&
	         !__atomic_compare_exchange_n(&k->pkmap_count[nr], &c, c - 1,
	                                      false, __ATOMIC_SEQ_CST,
	                                      __ATOMIC_SEQ_CST));
	if (!lockless(k))
		count_add(k, nr, -1);
	k->stats.kunmaps++;
	/* wake only when the slot became reusable and someone waits */
	if (c - 1 == 1)
		*wake = !list_empty(&k->pkmap_map_wait[get_pkmap_color(k, page)]);
	return 0;
}

int km__kmap_high_get(struct km_core *k, struct km_page *page, uintptr_t *vaddr)
{
	uintptr_t va = page_address_high(k, page); /* callers pass highmem */
	if (!va)
		return -ENOENT;
	unsigned nr = PKMAP_NR(k, va);
	count_add(k, nr, 1);
	k->stats.kmaps++;
	k->stats.hits++;
	k->stats.color[nr & (k->colors - 1)].hits++;
	*vaddr = va;
	return 0;
}

int km__kmap_flush_unused(struct km_core *k)
{
	return flush_all_zero_pkmaps(k);
}

void km__wait_enqueue(struct km_core *k, struct km_task *t, unsigned color)
{
	t->state = KM_TASK_SLEEPING;
	t->wait_color = color;
	list_add_tail(&t->wait, &k->pkmap_map_wait[color]);
	/* seq_cst: pairs with the lock-free kunmap's check (policy.c) */
	__atomic_add_fetch(&k->nr_waiting[color], 1, __ATOMIC_SEQ_CST);
	k->stats.sleeps++;
	k->stats.color[color].sleeps++;
	if (k->event) {
		struct km_event ev = { .type = KM_EV_SLEEP, .color = color,
		                       .task = t->simulated ? t : NULL };
		k->event(k->event_arg, &ev);
	}
}

void km__wait_dequeue(struct km_core *k, struct km_task *t)
{
	if (t->state == KM_TASK_SLEEPING) {
		list_del_init(&t->wait);
		__atomic_sub_fetch(&k->nr_waiting[t->wait_color], 1, __ATOMIC_SEQ_CST);
	}
}

unsigned km__wake_up(struct km_core *k, unsigned color,
                     struct list_head *woken)
{
	unsigned n = 0;
	struct list_head *q = &k->pkmap_map_wait[color];
	while (!list_empty(q)) {
		struct km_task *t = km__container_of(q->next, struct km_task, wait);
		list_del_init(&t->wait);
		__atomic_sub_fetch(&k->nr_waiting[color], 1, __ATOMIC_SEQ_CST);
		t->state = KM_TASK_WOKEN;
		if (t->simulated)
			list_add_tail(&t->woken, woken);
		n++;
	}
	k->stats.wakeups++;
	if (k->event) {
		struct km_event ev = { .type = KM_EV_WAKE, .color = color,
		                       .nr_woken = n };
		k->event(k->event_arg, &ev);
	}
	return n;
}

/* ---------------------------------------------------------------------- */
/* The expensive invariant check                                           */
/* ---------------------------------------------------------------------- */

static int bad(char *msg, size_t n, const char *a, uint64_t v, const char *b)
{
	if (msg)
		km__fmt_msg(msg, n, a, v, b);
	return -EUCLEAN;
}

int km__core_check(struct km_core *k, char *msg, size_t n)
{
	unsigned mapped = 0, in_use = 0, hashed = 0;
	for (unsigned nr = 0; nr < k->last_pkmap; nr++) {
		int c = count_read(k, nr);
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
		if (pte - 1 >= k->max_pfn)
			return bad(msg, n, "slot ", nr, ": PTE beyond memory");
		struct km_page *page = pfn_to_page(k, pte - 1);
		if (!PageHighMem(k, page))
			return bad(msg, n, "slot ", nr, ": maps a lowmem page");
		if (km__page_address(k, page) != va)
			return bad(msg, n, "slot ", nr, ": hash disagrees with PTE");
		if (get_pkmap_color(k, page) != (nr & (k->colors - 1)))
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
			if (page_slot(k, pam->page) != h)
				return bad(msg, n, "bucket ", b, ": page in wrong bucket");
			hashed++;
		}
	}
	if (hashed != mapped)
		return bad(msg, n, "hash holds ", hashed, " pages, not the mapped count");
	if (!lockless(k) &&
	    (mapped != k->stats.mapped || in_use != k->stats.in_use))
		return bad(msg, n, "tallies disagree with counts (mapped ", mapped, ")");
	if (k->policy == KM_POLICY_CLOCK) {
		int r = km__clock_check(k, msg, n);
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
