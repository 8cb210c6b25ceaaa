/*
 * admit.c - the admission rule "tinylfu": TinyLFU's frequency sketch and
 * admission test (Einziger, Friedman and Manes, "TinyLFU: A Highly
 * Efficient Cache Admission Policy", 2017), with a ghost list of refused
 * pages as its doorkeeper (as 2Q's A1out: Johnson and Shasha, 1994).
 * Freestanding.
 *
 * Every access increments the page's counters in a count-min sketch of 4
 * rows (the estimate is the smallest of its 4 counters; only the smallest
 * are incremented, the "conservative update" that keeps pages sharing a
 * counter with a hot one from looking hot). After SAMPLE increments a
 * slot of the window every counter is halved, so the sketch counts recent
 * accesses and forgets old ones. The sketch is blocked, as Caffeine's
 * frequency sketch is: a page's 4 counters lie in one 64-byte block, a
 * row's in its quarter, so an access touches one cache line, not four.
 *
 * A page takes a free slot only when it was refused once before and is
 * still remembered: the ghost list holds a 32-bit fingerprint of each page
 * refused lately, one entry a slot, found by hashing the pfn (a newer
 * refusal may take an older one's place). So a page read once is never
 * mapped, whatever its counters share with others. A page takes an
 * occupied slot when the sketch counts it more than MARGIN accesses more
 * than the page there. A scan reads each page once: it never passes the ghost,
 * never outcounts the hot pages, and the hot set stays.
 *
 * Why these figures (bench/README.md has the measurements): a mapping
 * costs 10 to 25 copies straight from the memory, so a slot must change
 * hands only for a clear gain. A page at the edge of the hot set is
 * counted about SAMPLE / H times a sample (H: the log of the pages read,
 * about 9 for memory 8 times the window), and a counter also holds about
 * SAMPLE / WIDTH accesses of the pages that share it, so the sketch must
 * be several times wider than the window for the edge to stand out: with
 * 2 counters a row a slot the window hit 1.4 points less often than the
 * best any window of its size can (zipf 0.99: 74.4 % against 75.8 %),
 * with 4, 0.3 points less (75.6 %; 0.4 at zipf 0.8, 0.1 at 1.2). With
 * 200 accesses a slot a sample the edge's count is about 20, and a margin
 * of 6 keeps the admissions at about 4 in 10000 reads. The paper's 10 a
 * slot gives the edge 1 or 2 and noise decides. These depend little on
 * the window's size, so the same figures serve every window.
 *
 * Size: 4 rows of 4 x LAST_PKMAP one-byte counters (at least 256) and
 * LAST_PKMAP ghost entries of 4 bytes: 20 bytes a slot (and 64 to align
 * the blocks).
 */
#include "admit.h"
#include "core.h"

#define ROWS 4
#define COUNT_MAX 255u
#define WIDTH 4u       /* counters a row, a slot of the window */
#define SAMPLE 200u    /* increments a slot between two halvings */
#define MARGIN 6u      /* a page displaces one counted 7 or more less */
#define GHOST_WAYS 4u  /* fingerprints a set of the ghost list */
#define BLOCK 64u      /* counters a block: a cache line */
#define CELLS (BLOCK / ROWS) /* a row's counters in a block */

/* Counters a row: a power of two, WIDTH times the window, at least 256. */
static unsigned row_width(unsigned last_pkmap)
{
	unsigned w = 256;
	while (w < WIDTH * last_pkmap)
		w <<= 1;
	return w;
}

static size_t tinylfu_size(unsigned last_pkmap)
{
	unsigned ghosts = last_pkmap < GHOST_WAYS ? GHOST_WAYS : last_pkmap;
	return (size_t)ROWS * row_width(last_pkmap) + BLOCK - 1 +
	       ghosts * sizeof(uint32_t);
}

/* the ghost list's entries first (aligned), then the sketch's blocks from
 * the next multiple of BLOCK bytes */
static void tinylfu_init(struct km_core *k, void *state)
{
	k->ghost = state;
	k->ghost_mask = (k->last_pkmap < GHOST_WAYS ? GHOST_WAYS : k->last_pkmap) - 1;
	uintptr_t end = (uintptr_t)(k->ghost + k->ghost_mask + 1);
	k->sketch = (uint8_t *)((end + BLOCK - 1) & ~(uintptr_t)(BLOCK - 1));
	k->sketch_mask = ROWS * row_width(k->last_pkmap) / BLOCK - 1;
	k->sketch_period = SAMPLE * k->last_pkmap;
	k->sketch_adds = 0;
}

/* splitmix64's finaliser: the pfn's bits spread over all 64 */
static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 27;
	x *= 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* The page's counter in each row: the block by the hash's low 32 bits,
 * each row's counter in it by 4 of the high ones. */
static inline void cells(const struct km_core *k, uint64_t pfn, uint8_t **c)
{
	uint64_t h = mix(pfn + 1);
	uint8_t *b = &k->sketch[((uint32_t)h & k->sketch_mask) * BLOCK];
	for (unsigned r = 0; r < ROWS; r++)
		c[r] = &b[r * CELLS + ((h >> (32 + 4 * r)) & (CELLS - 1))];
}

static inline unsigned load(const uint8_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* Halve every counter: the sample is over. Racing increments may be lost;
 * the sketch is an estimate. */
static void halve(struct km_core *k)
{
	size_t n = (size_t)(k->sketch_mask + 1) * BLOCK;
	for (size_t i = 0; i < n; i++)
		__atomic_store_n(&k->sketch[i], (uint8_t)(load(&k->sketch[i]) >> 1),
		                 __ATOMIC_RELAXED);
	__atomic_sub_fetch(&k->sketch_adds, k->sketch_period / 2,
	                   __ATOMIC_RELAXED);
}

/*
 * Counters at COUNT_MAX are left alone, so the pages read most write
 * nothing once they are counted: the shared counter of increments moves
 * only for the others. The thread whose increment ends the sample halves.
 */
static unsigned tinylfu_record(struct km_core *k, uint64_t pfn)
{
	uint8_t *c[ROWS];
	unsigned v[ROWS], min = COUNT_MAX;
	cells(k, pfn, c);
	for (int r = 0; r < ROWS; r++) {
		v[r] = load(c[r]);
		if (v[r] < min)
			min = v[r];
	}
	if (min == COUNT_MAX)
		return min;
	for (int r = 0; r < ROWS; r++)
		if (v[r] == min)
			__atomic_store_n(c[r], (uint8_t)(min + 1), __ATOMIC_RELAXED);
	if (__atomic_add_fetch(&k->sketch_adds, 1, __ATOMIC_RELAXED) ==
	    k->sketch_period)
		halve(k);
	return min + 1;
}

static unsigned tinylfu_estimate(const struct km_core *k, uint64_t pfn)
{
	uint8_t *c[ROWS];
	unsigned min = COUNT_MAX;
	cells(k, pfn, c);
	for (int r = 0; r < ROWS; r++) {
		unsigned v = load(c[r]);
		if (v < min)
			min = v;
	}
	return min;
}

/*
 * A free slot: to a page refused before and remembered, which then leaves
 * the list; a page refused now is remembered. The list is a hash table of
 * fingerprints in sets of GHOST_WAYS; a full set loses an entry chosen at
 * random (a round robin would let five pages read in turn push each other
 * out for ever). Lock held, so the list needs no atomics.
 */
static bool ghost_admit(struct km_core *k, uint64_t pfn)
{
	uint64_t h = mix(pfn ^ 0xC2B2AE3D27D4EB4Full);
	uint32_t *set = &k->ghost[(uint32_t)h & k->ghost_mask & ~(GHOST_WAYS - 1u)];
	uint32_t fp = (uint32_t)(h >> 32) | 1; /* never 0, an empty entry */
	unsigned empty = GHOST_WAYS;
	for (unsigned i = 0; i < GHOST_WAYS; i++) {
		if (set[i] == fp) {
			set[i] = 0;
			return true;
		}
		if (!set[i])
			empty = i;
	}
	if (empty == GHOST_WAYS) {
		k->ghost_rnd = k->ghost_rnd * 6364136223846793005ull +
		               1442695040888963407ull; /* an LCG: its high bits */
		empty = (unsigned)(k->ghost_rnd >> 32) % GHOST_WAYS;
	}
	set[empty] = fp;
	return false;
}

static unsigned tinylfu_bar(const struct km_core *k, uint64_t victim)
{
	return tinylfu_estimate(k, victim) + MARGIN + 1;
}

static bool tinylfu_admit(struct km_core *k, uint64_t pfn, uint64_t victim)
{
	if (victim == KM__FREE_SLOT)
		return ghost_admit(k, pfn);
	return tinylfu_estimate(k, pfn) >= tinylfu_bar(k, victim);
}

const struct km_admit km__admit_tinylfu = {
	.name = "tinylfu",
	.size = tinylfu_size,
	.init = tinylfu_init,
	.record = tinylfu_record,
	.estimate = tinylfu_estimate,
	.admit = tinylfu_admit,
	.bar = tinylfu_bar,
};
