/*
 * highmem.c - persistent kernel maps as the kernel's mm/highmem.c does
 * them, step for step, and the policy "linux": the colour hooks,
 * flush_all_zero_pkmaps(), map_new_virtual(), kmap_high() with its sleep
 * on the colour's wait queue, kunmap_high() with its wake-up,
 * kmap_high_get(), kmap_flush_unused(). Other policies plug in at fixed
 * points (policy.h). Freestanding: lock, sleep and wake are the driver's.
 */
#include "highmem.h"
#include "util.h"

static void lock_kmap(struct km_core *k) { k->drv->lock(k->drv_ctx); }
static void unlock_kmap(struct km_core *k) { k->drv->unlock(k->drv_ctx); }

/* ---------------------------------------------------------------------- */
/* Colours: the hooks the kernel lets an architecture override (xtensa)    */
/* ---------------------------------------------------------------------- */

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
/* flush_all_zero_pkmaps, map_new_virtual                                  */
/* ---------------------------------------------------------------------- */

/*
 * flush_all_zero_pkmaps(): every slot whose count is 1 (mapped, no users)
 * is cleared and its page leaves the hash; one TLB flush of the whole
 * window follows when anything was cleared (km__pkmap_clear).
 */
int km__flush_all_zero_pkmaps(struct km_core *k)
{
	unsigned n = 0, cleared;
	for (unsigned i = 0; i < k->last_pkmap; i++)
		if (km__count(k, i) == 1 && km__count_clear(k, i))
			k->flush_scratch[n++] = i;
	return km__pkmap_clear(k, k->flush_scratch, n, &cleared);
}

/*
 * map_new_virtual(): advance the colour's cursor to a free slot, flushing
 * at each wrap; after probing every slot of the colour with none free,
 * KM__WINDOW_FULL (kmap_high sleeps then, and after the wake-up looks the
 * page up again and comes back here, as the kernel's "goto start" does).
 */
int km__map_new_virtual(struct km_core *k, struct km_page *page,
                        uintptr_t *vaddr)
{
	unsigned color = km__pkmap_color(k, page);
	unsigned saved = k->last_pkmap_nr_arr[color];
	unsigned nr;
	int count = get_pkmap_entries_count(k);
	int r;

	for (;;) {
		nr = get_next_pkmap_nr(k, color);
		if (no_more_pkmaps(k, nr)) {
			r = km__flush_all_zero_pkmaps(k);
			if (r)
				goto fail;
			count = get_pkmap_entries_count(k);
		}
		if (!km__count(k, nr))
			break; /* found a usable entry */
		if (--count)
			continue;
		return KM__WINDOW_FULL;
	}
	r = km__pkmap_map(k, nr, page);
	if (r)
		goto fail;
	*vaddr = PKMAP_ADDR(k, nr);
	return 0;
fail:
	k->last_pkmap_nr_arr[color] = saved;
	return r;
}

/*
 * The copy helpers' admission under linux and lockfree: the slot the
 * cursor comes to next, when it is free and the cursor does not wrap
 * there (a wrap flushes every slot without users: the window's whole
 * working set, for one page). The cursor moves as map_new_virtual would
 * move it; refused, it stays.
 */
int km__map_admit_next(struct km_core *k, struct km_page *page,
                       uintptr_t *vaddr)
{
	unsigned color = km__pkmap_color(k, page);
	unsigned saved = k->last_pkmap_nr_arr[color];
	unsigned nr = get_next_pkmap_nr(k, color);
	int r = KM__NOT_ADMITTED;
	bool room = !no_more_pkmaps(k, nr) && !km__count(k, nr);
	km__set_admit_bar(k, color, room ? KM__BAR_OPEN : KM__BAR_SHUT);
	if (room && k->adm->admit(k, page_to_pfn(k, page), KM__FREE_SLOT) &&
	    !(r = km__pkmap_map(k, nr, page))) {
		*vaddr = PKMAP_ADDR(k, nr);
		return 0;
	}
	k->last_pkmap_nr_arr[color] = saved;
	return r;
}

/* ---------------------------------------------------------------------- */
/* Wait queues: pkmap_map_wait[colour]                                     */
/* ---------------------------------------------------------------------- */

static void wait_enqueue(struct km_core *k, struct km_task *t, unsigned color)
{
	t->state = KM_TASK_SLEEPING;
	t->wait_color = color;
	list_add_tail(&t->wait, &k->pkmap_map_wait[color]);
	/* seq_cst: pairs with the lock-free kunmap's look at nr_waiting */
	__atomic_add_fetch(&k->nr_waiting[color], 1, __ATOMIC_SEQ_CST);
}

static void wait_dequeue(struct km_core *k, struct km_task *t)
{
	if (t->state == KM_TASK_SLEEPING) {
		list_del_init(&t->wait);
		__atomic_sub_fetch(&k->nr_waiting[t->wait_color], 1,
		                   __ATOMIC_SEQ_CST);
	}
	t->state = KM_TASK_RUNNING;
}

/*
 * The kernel's add_wait_queue(), set_current_state(TASK_UNINTERRUPTIBLE),
 * unlock, schedule(), lock, remove_wait_queue(): 0 when the task was woken
 * (the caller looks again), else what the driver said instead of blocking.
 */
static int sleep_on(struct km_core *k, struct km_task *t, unsigned color,
                    struct km_wait *wait)
{
	wait_enqueue(k, t, color);
	/* a lock-free kunmap may have freed a slot while we scanned */
	if (k->pol->may_have_slot && k->pol->may_have_slot(k, color)) {
		wait_dequeue(k, t);
		return 0;
	}
	k->stats.sleeps++;
	k->stats.color[color].sleeps++;
	if (k->event) {
		struct km_event ev = { .type = KM_EV_SLEEP, .color = color,
		                       .task = t->simulated ? t : NULL };
		k->event(k->event_arg, &ev);
	}
	int r = k->drv->sleep(k->drv_ctx, t, wait);
	if (r == KM__PARKED) {
		t->parked = true;
		return -KM_ESLEEPING;
	}
	wait_dequeue(k, t); /* woken: already off the queue; else take it off */
	return r;
}

/*
 * wake_up(&pkmap_map_wait[color]): every task on the queue is WOKEN, in
 * queue order. A parked one goes on the core's woken list for the driver
 * to resume; a blocked one is the driver's to wake.
 */
void km__wake_up(struct km_core *k, unsigned color)
{
	lock_kmap(k);
	struct list_head *q = &k->pkmap_map_wait[color];
	if (list_empty(q)) {
		unlock_kmap(k);
		return;
	}
	unsigned n = 0;
	while (!list_empty(q)) {
		struct km_task *t = km__container_of(q->next, struct km_task, wait);
		list_del_init(&t->wait);
		__atomic_sub_fetch(&k->nr_waiting[color], 1, __ATOMIC_SEQ_CST);
		t->state = KM_TASK_WOKEN;
		if (t->parked) {
			list_add_tail(&t->woken, &k->woken);
			__atomic_store_n(&k->nr_woken, k->nr_woken + 1,
			                 __ATOMIC_RELEASE);
		} else if (k->drv->woken) {
			k->drv->woken(k->drv_ctx, t);
		}
		n++;
	}
	k->stats.wakeups++;
	if (k->event) {
		struct km_event ev = { .type = KM_EV_WAKE, .color = color,
		                       .nr_woken = n };
		k->event(k->event_arg, &ev);
	}
	if (k->drv->wake_done)
		k->drv->wake_done(k->drv_ctx, color);
	unlock_kmap(k);
}

/* ---------------------------------------------------------------------- */
/* kmap_high, kunmap_high                                                  */
/* ---------------------------------------------------------------------- */

/* KM_CHECK: the expensive check after an operation, under the lock. */
__attribute__((noinline)) void km__check_with(struct km_core *k,
                                              const char *op,
                                              int (*check)(struct km_core *k,
                                                           char *msg, size_t n))
{
	char what[320], msg[256];
	if (!check(k, msg, sizeof(msg)))
		return;
	size_t o = km__strlcpy(what, "invariant broken after ", sizeof(what));
	o += km__strlcpy(what + o, op, sizeof(what) - o);
	o += km__strlcpy(what + o, ": ", sizeof(what) - o);
	km__strlcpy(what + o, msg, sizeof(what) - o);
	k->drv->bug(k->drv_ctx, what);
}

/* KM_CHECK after a window operation: the window's invariants. */
void km__check_now(struct km_core *k, const char *op)
{
	km__check_with(k, op, km__pkmap_check);
}

/* Debug mode: a slot's first user makes it accessible, its last one not. */
static int debug_protect(struct km_core *k, uintptr_t va, int count,
                         bool taking)
{
	if (!(k->flags & KM_DEBUG) || count != (taking ? 1 : 2))
		return 0;
	return k->be->protect(k->be_ctx, va, taking);
}

/*
 * kmap_high(): look the page up; map it when it is not in the window;
 * when every slot of its colour has users, sleep on the colour's queue
 * and, woken, start again; then take a user. The lock is held.
 */
static int kmap_high(struct km_core *k, struct km_task *t,
                     struct km_page *page, unsigned flags, struct km_wait *wait,
                     uintptr_t *vaddr, enum km_how *how)
{
	for (;;) {
		uintptr_t va = km__page_address_high(k, page);
		enum km_how h = KM_HOW_HIT;
		if (!va) {
			k->flusher = t;
			int r = k->pol->map_new(k, page, &va);
			k->flusher = NULL;
			if (r == KM__WINDOW_FULL) {
				if (flags & KM_MAP_NOWAIT)
					return -EAGAIN;
				r = sleep_on(k, t, km__pkmap_color(k, page), wait);
				if (r)
					return r;
				continue;
			}
			if (r)
				return r;
			h = KM_HOW_NEW;
		}
		unsigned nr = PKMAP_NR(k, va);
		int r = debug_protect(k, va, km__count(k, nr), true);
		if (r)
			return r; /* a new slot stays mapped without users */
		km__count_add(k, nr, 1);
		if (k->slot_ref &&
		    !__atomic_load_n(&k->slot_ref[nr], __ATOMIC_RELAXED))
			__atomic_store_n(&k->slot_ref[nr], 1, __ATOMIC_RELAXED);
		/* BUG_ON(pkmap_count[nr] < 2) cannot fire: counts are >= 1 */
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
		*how = h;
		return 0;
	}
}

int km__kmap_locked(struct km_core *k, struct km_task *t,
                    struct km_page *page, unsigned flags,
                    struct km_wait *wait, uintptr_t *vaddr, enum km_how *how)
{
	lock_kmap(k);
	int r = kmap_high(k, t, page, flags, wait, vaddr, how);
	if (!r) {
		if (k->pol->lockless)
			km__pkmap_tally_some(k);
		km__check_after(k, "kmap");
	}
	unlock_kmap(k);
	return r;
}

/*
 * kunmap_high(): drop a user; when the count falls to 1 with tasks waiting
 * on the colour, wake them (after the lock is dropped, as the kernel does).
 */
static int kunmap_high(struct km_core *k, struct km_page *page, bool *wake)
{
	uintptr_t va = km__page_address_high(k, page);
	*wake = false;
	if (!va)
		return -KM_ENOTMAPPED; /* the kernel's BUG_ON(!vaddr) */
	unsigned nr = PKMAP_NR(k, va);
	/* A count must never go down to zero without a TLB flush. */
	int c = km__count(k, nr);
	if (c < 2)
		return -KM_ENOUSERS; /* the kernel's BUG() at case 0 */
	int r = debug_protect(k, va, c, false);
	if (r)
		return r; /* the user stays */
	if (!k->pol->lockless)
		km__count_add(k, nr, -1);
	else /* lock-free hits and kunmaps may move the count meanwhile */
		while (!__atomic_compare_exchange_n(&k->pkmap_count[nr], &c, c - 1,
		                                    false, __ATOMIC_SEQ_CST,
		                                    __ATOMIC_SEQ_CST))
			if (c < 2)
				return -KM_ENOUSERS;
	k->stats.kunmaps++;
	/* wake only when the slot became reusable and someone waits */
	if (c - 1 == 1)
		*wake = !list_empty(&k->pkmap_map_wait[km__pkmap_color(k, page)]);
	return 0;
}

int km__kunmap_locked(struct km_core *k, struct km_page *page)
{
	bool wake;
	lock_kmap(k);
	int r = kunmap_high(k, page, &wake);
	if (!r)
		km__check_after(k, "kunmap");
	unlock_kmap(k);
	if (wake)
		km__wake_up(k, km__pkmap_color(k, page));
	return r;
}

int km__kmap_high_get(struct km_core *k, struct km_page *page,
                      uintptr_t *vaddr)
{
	lock_kmap(k);
	uintptr_t va = km__page_address_high(k, page);
	int r = va ? 0 : -KM_ENOTMAPPED;
	if (!r) {
		unsigned nr = PKMAP_NR(k, va);
		r = debug_protect(k, va, km__count(k, nr), true);
		if (!r) {
			km__count_add(k, nr, 1);
			k->stats.kmaps++;
			k->stats.hits++;
			k->stats.color[nr & (k->colors - 1)].hits++;
			*vaddr = va;
		}
	}
	unlock_kmap(k);
	return r;
}

int km__kmap_flush_unused(struct km_core *k)
{
	struct km_task *t;
	bool known = !k->drv->current(k->drv_ctx, &t);
	lock_kmap(k);
	k->flusher = known ? t : NULL;
	int r = k->pol->flush_unused(k);
	k->flusher = NULL;
	km__check_after(k, "kmap_flush_unused");
	unlock_kmap(k);
	return r;
}

const struct km_policy km__policy_linux = {
	.name = "linux",
	.map_new = km__map_new_virtual,
	.map_admit = km__map_admit_next,
	.flush_unused = km__flush_all_zero_pkmaps,
};
