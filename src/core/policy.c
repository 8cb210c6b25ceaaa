/*
 * policy.c - the slot policies beside linux: a hit path and a kunmap path
 * that take no lock (policies lockfree and clock), and CLOCK reuse of
 * released slots (policy clock). Freestanding.
 *
 * The kernel's rule holds in both: a count never goes from 1 to 0 except
 * in a flush, under the lock, by a compare-and-swap; the PTE is cleared and
 * the TLB flushed before the slot is used again. A lock-free hit moves a
 * count from c >= 1 to c + 1 by compare-and-swap, so it and the flush
 * cannot both win a count of 1.
 */
#include "core.h"

static const char *const policy_names[] = { "linux", "lockfree", "clock" };
#define NR_POLICIES (sizeof(policy_names) / sizeof(policy_names[0]))

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

int km__policy_find(const char *name)
{
	for (unsigned i = 0; name && i < NR_POLICIES; i++)
		if (streq(policy_names[i], name))
			return (int)i;
	return -1;
}

const char *km__policy_name(unsigned i)
{
	return i < NR_POLICIES ? policy_names[i] : NULL;
}

static unsigned per_color(const struct km_core *k)
{
	return k->last_pkmap / k->colors;
}

void km__policy_init(struct km_core *k, enum km_policy policy,
                     uint32_t *page_slot)
{
	k->policy = policy;
	k->page_slot = policy == KM_POLICY_LINUX ? NULL : page_slot;
	if (policy != KM_POLICY_CLOCK) {
		k->slot_ref = NULL;
		return;
	}
	/* every slot starts free; each colour pops its lowest slot first */
	for (unsigned c = 0; c < k->colors; c++) {
		k->free_top[c] = 0;
		k->clock_hand[c] = 0;
		for (unsigned i = per_color(k); i-- > 0;)
			km__clock_free(k, i * k->colors + c);
	}
}

/* ---------------------------------------------------------------------- */
/* The lock-free paths                                                     */
/* ---------------------------------------------------------------------- */

int km__kmap_fast(struct km_core *k, struct km_page *page, uintptr_t *vaddr)
{
	uint64_t pfn = page_to_pfn(k, page);
	for (int tries = 0; tries < 4; tries++) {
		uint32_t s = __atomic_load_n(&k->page_slot[pfn], __ATOMIC_ACQUIRE);
		if (!s)
			return 0;
		unsigned nr = s - 1;
		int c = __atomic_load_n(&k->pkmap_count[nr], __ATOMIC_ACQUIRE);
		if (c < 1)
			return 0; /* flushed: the locked path maps it anew */
		if (!__atomic_compare_exchange_n(&k->pkmap_count[nr], &c, c + 1,
		                                 false, __ATOMIC_SEQ_CST,
		                                 __ATOMIC_SEQ_CST))
			continue;
		/*
		 * The slot had users or was mapped when we took one. It can
		 * only have been cleared and given to another page before our
		 * compare-and-swap; then page_slot no longer names it (the
		 * flush clears page_slot before the slot is reused).
		 */
		if (__atomic_load_n(&k->page_slot[pfn], __ATOMIC_ACQUIRE) == s) {
			/* read first: a store every hit would bounce the line
			 * between CPUs hitting neighbouring slots */
			if (k->slot_ref &&
			    !__atomic_load_n(&k->slot_ref[nr], __ATOMIC_RELAXED))
				__atomic_store_n(&k->slot_ref[nr], 1, __ATOMIC_RELAXED);
			*vaddr = PKMAP_ADDR(k, nr);
			return 1;
		}
		/* a user of another page's slot: give it back (may leave 1) */
		bool wake;
		if (__atomic_sub_fetch(&k->pkmap_count[nr], 1, __ATOMIC_SEQ_CST) == 1)
			wake = __atomic_load_n(&k->nr_waiting[nr & (k->colors - 1)],
			                       __ATOMIC_SEQ_CST) != 0;
		else
			wake = false;
		if (wake)
			return -1 - (int)(nr & (k->colors - 1));
	}
	return 0;
}

int km__kunmap_fast(struct km_core *k, struct km_page *page,
                    bool *wake_check)
{
	uint64_t pfn = page_to_pfn(k, page);
	*wake_check = false;
	uint32_t s = __atomic_load_n(&k->page_slot[pfn], __ATOMIC_ACQUIRE);
	if (!s)
		return 0;
	unsigned nr = s - 1;
	int c = __atomic_load_n(&k->pkmap_count[nr], __ATOMIC_ACQUIRE);
	do {
		if (c < 2)
			return 0; /* no user to drop: the locked path reports it */
	} while (!__atomic_compare_exchange_n(&k->pkmap_count[nr], &c, c - 1,
	                                      false, __ATOMIC_SEQ_CST,
	                                      __ATOMIC_SEQ_CST));
	/*
	 * seq_cst, paired with the waiter's seq_cst increment of nr_waiting
	 * and its look at the counts (km__color_may_have_slot): either we see
	 * the waiter, or it sees this count of 1.
	 */
	if (c - 1 == 1 &&
	    __atomic_load_n(&k->nr_waiting[nr & (k->colors - 1)], __ATOMIC_SEQ_CST))
		*wake_check = true;
	return 1;
}

bool km__color_may_have_slot(struct km_core *k, unsigned color)
{
	for (unsigned nr = color; nr < k->last_pkmap; nr += k->colors)
		if (__atomic_load_n(&k->pkmap_count[nr], __ATOMIC_SEQ_CST) <= 1)
			return true;
	return false;
}

/* ---------------------------------------------------------------------- */
/* CLOCK reuse                                                             */
/* ---------------------------------------------------------------------- */

void km__clock_free(struct km_core *k, unsigned nr)
{
	unsigned c = nr & (k->colors - 1);
	k->free_slots[c * per_color(k) + k->free_top[c]++] = nr;
}

/*
 * Evict a batch of released slots of colour @c (count 1, not referenced
 * since the hand last passed): an eighth of the colour's slots, cleared in
 * runs with one TLB flush, as flush_all_zero_pkmaps would, but keeping the
 * recently used ones mapped. Returns 0 or a backend's error.
 */
static int clock_evict(struct km_core *k, unsigned c)
{
	unsigned per = per_color(k), batch = per / 8 ? per / 8 : 1, n = 0;
	unsigned *victim = k->flush_scratch;
	int err = 0;
	for (unsigned scanned = 0; scanned < 2 * per && n < batch; scanned++) {
		unsigned nr = k->clock_hand[c] * k->colors + c;
		k->clock_hand[c] = (k->clock_hand[c] + 1) % per;
		if (km__count(k, nr) != 1)
			continue;
		if (__atomic_load_n(&k->slot_ref[nr], __ATOMIC_RELAXED)) {
			__atomic_store_n(&k->slot_ref[nr], 0, __ATOMIC_RELAXED);
			continue; /* a second chance */
		}
		if (km__count_clear(k, nr))
			victim[n++] = nr;
	}
	/* ascending, so neighbours clear in one run */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j && victim[j - 1] > victim[j]; j--) {
			unsigned t = victim[j];
			victim[j] = victim[j - 1];
			victim[j - 1] = t;
		}
	unsigned kept = 0;
	for (unsigned i = 0; i < n;) {
		unsigned j = i + 1;
		while (j < n && victim[j] == victim[j - 1] + 1)
			j++;
		int r = k->be->clear_ptes(k->be_ctx, PKMAP_ADDR(k, victim[i]), j - i);
		if (r) {
			err = r;
			for (; i < j; i++) /* still mapped: count 1 again */
				__atomic_store_n(&k->pkmap_count[victim[i]], 1,
				                 __ATOMIC_RELEASE);
			continue;
		}
		k->stats.clear_runs++;
		for (; i < j; i++) {
			km__slot_release(k, victim[i]);
			victim[kept++] = victim[i];
		}
	}
	n = kept;
	k->stats.flushes++;
	k->stats.slots_cleared += n;
	if (n) {
		k->stats.tlb_flushes++;
		k->tlb_flush_pending = true;
		int r = k->be->flush_tlb_range(k->be_ctx, PKMAP_ADDR(k, 0),
		                               PKMAP_ADDR(k, k->last_pkmap));
		if (!r)
			k->tlb_flush_pending = false;
		else if (!err)
			err = r;
		for (unsigned i = 0; i < n; i++)
			km__clock_free(k, victim[i]);
	}
	if (k->event) {
		struct km_event ev = { .type = KM_EV_FLUSH, .cleared = victim,
		                       .nr_cleared = n, .tlb_flush = n > 0,
		                       .pkmap_count = k->pkmap_count,
		                       .last_pkmap = k->last_pkmap };
		k->event(k->event_arg, &ev);
	}
	return err;
}

int km__clock_map_new(struct km_core *k, struct km_page *page,
                      uintptr_t *vaddr)
{
	unsigned c = km__pkmap_color(k, page), base = c * per_color(k);
	int r;
	if (!k->free_top[c] && (r = clock_evict(k, c)))
		return r;
	if (!k->free_top[c])
		return KM__WINDOW_FULL; /* every slot of the colour has users */
	if (k->tlb_flush_pending) {
		r = k->be->flush_tlb_range(k->be_ctx, PKMAP_ADDR(k, 0),
		                           PKMAP_ADDR(k, k->last_pkmap));
		if (r)
			return r;
		k->tlb_flush_pending = false;
	}
	unsigned nr = k->free_slots[base + k->free_top[c] - 1];
	r = k->be->set_pte(k->be_ctx, PKMAP_ADDR(k, nr), page_to_pfn(k, page));
	if (r)
		return r;
	k->free_top[c]--;
	k->stats.pte_sets++;
	km__slot_install(k, nr, page);
	*vaddr = PKMAP_ADDR(k, nr);
	return 0;
}

int km__clock_check(struct km_core *k, char *msg, size_t n)
{
	unsigned free_total = 0;
	for (unsigned c = 0; c < k->colors; c++) {
		for (unsigned i = 0; i < k->free_top[c]; i++) {
			unsigned nr = k->free_slots[c * per_color(k) + i];
			if ((nr & (k->colors - 1)) != c || km__count(k, nr) != 0) {
				if (msg)
					km__fmt_msg(msg, n, "clock: free slot ", nr,
					            " is in use or of another colour");
				return -EUCLEAN;
			}
		}
		free_total += k->free_top[c];
	}
	unsigned zero = 0;
	for (unsigned nr = 0; nr < k->last_pkmap; nr++)
		zero += km__count(k, nr) == 0;
	if (zero != free_total) {
		if (msg)
			km__fmt_msg(msg, n, "clock: ", zero,
			            " slots are free but not all on the free stacks");
		return -EUCLEAN;
	}
	return 0;
}
