/*
 * clock.c - the policy "clock": lock-free hits and kunmaps (lockfree.c),
 * and slots reused by a CLOCK sweep over the released ones (as FreeBSD's
 * sf_buf keeps an LRU of inactive buffers) instead of flushing every
 * released slot at each wrap of the cursor. Freestanding.
 *
 * State (core.h): per colour, a stack of free slots (count 0) and a hand;
 * a reference bit per slot, set by every hit and cleared as the hand
 * passes, so a slot used since the last sweep gets a second chance.
 */
#include "clock.h"
#include "highmem.h"
#include "lockfree.h"
#include "util.h"

/*
 * One eviction clears an eighth of a colour's slots: enough that the TLB
 * flush it costs is shared by many later misses, few enough that recently
 * used pages mostly stay.
 */
#define EVICT_FRACTION 8
/* The hand passes each slot at most twice an eviction: once to clear its
 * reference bit, once to take it. */
#define SWEEPS 2

static unsigned per_color(const struct km_core *k)
{
	return k->last_pkmap / k->colors;
}

static void clock_free(struct km_core *k, unsigned nr)
{
	unsigned c = nr & (k->colors - 1);
	k->free_slots[c * per_color(k) + k->free_top[c]++] = nr;
}

/* every slot starts free; each colour pops its lowest slot first */
void km__clock_init(struct km_core *k)
{
	for (unsigned c = 0; c < k->colors; c++) {
		k->free_top[c] = 0;
		k->clock_hand[c] = 0;
		for (unsigned i = per_color(k); i-- > 0;)
			clock_free(k, i * k->colors + c);
	}
}

void km__clock_released(struct km_core *k, const unsigned *nr, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		clock_free(k, nr[i]);
}

/*
 * Evict a batch of released slots of colour @c (count 1, not referenced
 * since the hand last passed), cleared with one TLB flush as
 * flush_all_zero_pkmaps would, but keeping the recently used ones mapped.
 */
static int clock_evict(struct km_core *k, unsigned c)
{
	unsigned per = per_color(k), n = 0, cleared;
	unsigned batch = per / EVICT_FRACTION ? per / EVICT_FRACTION : 1;
	unsigned *victim = k->flush_scratch;
	for (unsigned scanned = 0; scanned < SWEEPS * per && n < batch;
	     scanned++) {
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
	return km__pkmap_clear(k, victim, n, &cleared);
}

int km__clock_take(struct km_core *k, struct km_page *page, uintptr_t *vaddr)
{
	unsigned c = km__pkmap_color(k, page);
	if (!k->free_top[c])
		return KM__WINDOW_FULL;
	unsigned nr = k->free_slots[c * per_color(k) + k->free_top[c] - 1];
	int r = km__pkmap_map(k, nr, page);
	if (r)
		return r;
	k->free_top[c]--;
	*vaddr = PKMAP_ADDR(k, nr);
	return 0;
}

static int clock_map_new(struct km_core *k, struct km_page *page,
                         uintptr_t *vaddr)
{
	unsigned c = km__pkmap_color(k, page);
	int r;
	if (!k->free_top[c] && (r = clock_evict(k, c)))
		return r;
	/* KM__WINDOW_FULL when every slot of the colour has users */
	return km__clock_take(k, page, vaddr);
}

/* The copy helpers' admission: a free slot only (an eviction clears an
 * eighth of the colour's slots, too many for one page). */
static int clock_map_admit(struct km_core *k, struct km_page *page,
                           uintptr_t *vaddr)
{
	unsigned c = km__pkmap_color(k, page);
	km__set_admit_bar(k, c, k->free_top[c] ? KM__BAR_OPEN : KM__BAR_SHUT);
	if (!k->free_top[c] ||
	    !k->adm->admit(k, page_to_pfn(k, page), KM__FREE_SLOT))
		return KM__NOT_ADMITTED;
	return km__clock_take(k, page, vaddr);
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
				return -KM_ECORRUPT;
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
		return -KM_ECORRUPT;
	}
	return 0;
}

const struct km_policy km__policy_clock = {
	.name = "clock",
	.lockless = true,
	.ref_bits = true,
	.init = km__clock_init,
	.kmap_fast = km__lockfree_kmap,
	.kunmap_fast = km__lockfree_kunmap,
	.may_have_slot = km__lockfree_may_have_slot,
	.map_new = clock_map_new,
	.map_admit = clock_map_admit,
	.flush_unused = km__flush_all_zero_pkmaps,
	.released = km__clock_released,
	.check = km__clock_check,
};
