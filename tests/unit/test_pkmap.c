/*
 * test_pkmap.c - the persistent kmap window, policy "linux": exact slot
 * choice, hits, the wrap and flush_all_zero_pkmaps, colours, errors that
 * change nothing, kmap_high_get, kmap_to_page, timeouts, strict mode, the
 * invariant check, the TLB model, and bytes through mappings. A reference
 * model of mm/highmem.c checks long random sequences slot by slot.
 */
#include "ktest.h"

#include "user.h"
#include "backend/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NONE UINT64_MAX

static km_machine *win(unsigned last_pkmap, unsigned colors)
{
	return kt_machine("x86-32", 0, last_pkmap, colors, KM_CHECK);
}

/* kmap through km_kmap_ex, asserting success; returns the slot. */
static unsigned map_slot(km_machine *m, km_page *p, enum km_how want_how)
{
	void *va = NULL;
	enum km_how how = (enum km_how)-1;
	KT_OK(km_kmap_ex(m, p, 0, 0, &va, &how));
	KT_EQ(how, want_how);
	return kt_slot_of(m, va);
}

/* the k-th highmem page of colour @c among @n colours */
static km_page *colour_page(km_machine *m, unsigned n, unsigned c, unsigned k)
{
	struct km_layout l = kt_layout(m);
	uint64_t pfn = l.max_low_pfn;
	while (pfn % n != c)
		pfn++;
	pfn += (uint64_t)k * n;
	km_page *p = km_pfn_to_page(m, pfn);
	assert_non_null(p);
	KT_EQ(km_page_highmem(m, p), 1);
	return p;
}

/* ------------------------------------------------------------------ */
/* Slot choice and hits                                                */
/* ------------------------------------------------------------------ */

static void first_slots(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 0, 0, 0, KM_CHECK);
	struct km_layout l = kt_layout(m);
	KT_EQ(l.last_pkmap, 1024);
	km_page *p[6];
	for (unsigned i = 0; i < 6; i++)
		p[i] = kt_high(m, i * 3);
	/* an unmapped highmem page has no address */
	assert_null(km_page_address(m, p[0]));

	void *va;
	enum km_how how;
	KT_OK(km_kmap_ex(m, p[0], 0, 0, &va, &how));
	KT_EQ(how, KM_HOW_NEW);
	KT_EQ((uintptr_t)va, l.pkmap_base + 4096); /* slot 1, not 0 */
	KT_SLOT(m, 1, 2, kt_pfn(m, p[0]));
	KT_SLOT(m, 0, 0, NONE);
	KT_EQ((uintptr_t)km_page_address(m, p[0]), l.pkmap_base + 4096);
	for (unsigned i = 1; i < 6; i++) {
		KT_EQ(map_slot(m, p[i], KM_HOW_NEW), i + 1);
		KT_SLOT(m, i + 1, 2, kt_pfn(m, p[i]));
		KT_EQ((uintptr_t)km_page_address(m, p[i]), kt_slot_addr(m, i + 1));
	}
	KT_SLOT(m, 7, 0, NONE);
	struct km_stats s = kt_stats(m);
	KT_EQ(s.kmaps, 6);
	KT_EQ(s.new_maps, 6);
	KT_EQ(s.hits, 0);
	KT_EQ(s.in_use, 6);
	KT_EQ(s.mapped, 6);
	KT_EQ(s.flushes, 0);

	/* kunmap: count 2 -> 1, still mapped, page_address unchanged */
	for (unsigned i = 0; i < 6; i++) {
		KT_OK(km_kunmap(m, p[i]));
		KT_SLOT(m, i + 1, 1, kt_pfn(m, p[i]));
		KT_EQ((uintptr_t)km_page_address(m, p[i]), kt_slot_addr(m, i + 1));
	}
	s = kt_stats(m);
	KT_EQ(s.in_use, 0);
	KT_EQ(s.mapped, 6);
	KT_EQ(s.kunmaps, 6);

	/* a count-1 page mapped again is a hit in the same slot */
	KT_EQ(map_slot(m, p[2], KM_HOW_HIT), 3);
	KT_SLOT(m, 3, 2, kt_pfn(m, p[2]));
	/* a page with users mapped again: a hit, count 3 */
	KT_EQ(map_slot(m, p[2], KM_HOW_HIT), 3);
	KT_SLOT(m, 3, 3, kt_pfn(m, p[2]));
	/* the next new page continues after the cursor: slot 7 */
	KT_EQ(map_slot(m, kt_high(m, 100), KM_HOW_NEW), 7);
	s = kt_stats(m);
	KT_EQ(s.new_maps, 7);
	KT_EQ(s.hits, 2);
	KT_EQ(s.kmaps, 9);
	KT_EQ(s.in_use, 2);
	KT_EQ(s.mapped, 7);
	KT_OK(km_kunmap(m, p[2]));
	KT_OK(km_kunmap(m, p[2]));
	KT_RC(km_kunmap(m, p[2]), -KM_ENOUSERS);
	KT_OK(km_kunmap(m, kt_high(m, 100)));
	KT_STATS_SANE(m);
	KT_CHECK(m);
	km_machine_destroy(m);
}

static void wrap_flush(void **state)
{
	(void)state;
	km_machine *m = win(8, 0);
	struct kt_events *ev = kt_events_new(m);
	km_page *p[16];
	for (unsigned i = 0; i < 16; i++)
		p[i] = kt_high(m, i);

	/* slots 1..7; pages in slots 2 and 5 keep a user */
	for (unsigned i = 0; i < 7; i++) {
		KT_EQ(map_slot(m, p[i], KM_HOW_NEW), i + 1);
		if (i + 1 != 2 && i + 1 != 5)
			KT_OK(km_kunmap(m, p[i]));
	}
	KT_EQ(kt_events_count(ev, KM_EV_FLUSH), 0);
	for (unsigned i = 1; i < 8; i++)
		KT_SLOT(m, i, (i == 2 || i == 5) ? 2 : 1, kt_pfn(m, p[i - 1]));

	/* the next new page wraps to slot 0: one flush of the count-1 slots */
	struct km_stats before = kt_stats(m);
	KT_EQ(map_slot(m, p[7], KM_HOW_NEW), 0);
	KT_EQ(kt_events_count(ev, KM_EV_FLUSH), 1);
	static const unsigned cleared[] = { 1, 3, 4, 6, 7 };
	KT_FLUSH_IS(ev, 0, cleared, 5);
	struct kt_event fe = kt_events_nth(ev, KM_EV_FLUSH, 0);
	/* the counts the event shows are those after the flush */
	if (fe.has_counts) {
		KT_EQ(fe.last_pkmap, 8);
		static const int after[8] = { 0, 0, 2, 0, 0, 2, 0, 0 };
		for (unsigned i = 0; i < 8; i++)
			KT_EQ(fe.counts[i], after[i]);
	}
	struct km_stats s = kt_stats(m);
	KT_EQ(s.flushes, before.flushes + 1);
	KT_EQ(s.tlb_flushes, before.tlb_flushes + 1);
	KT_EQ(s.slots_cleared, before.slots_cleared + 5);
	KT_SLOT(m, 0, 2, kt_pfn(m, p[7]));
	KT_SLOT(m, 2, 2, kt_pfn(m, p[1])); /* with users: not cleared */
	KT_SLOT(m, 5, 2, kt_pfn(m, p[4]));
	for (unsigned i = 0; i < 5; i++) {
		KT_SLOT(m, cleared[i], 0, NONE);
		assert_null(km_page_address(m, p[cleared[i] - 1]));
	}
	KT_EQ(s.mapped, 3);
	KT_EQ(s.in_use, 3);

	/* the cursor goes on from 0: slot 1, then 3 (2 is busy) */
	KT_EQ(map_slot(m, p[8], KM_HOW_NEW), 1);
	KT_EQ(map_slot(m, p[9], KM_HOW_NEW), 3);
	/* a page that was flushed is new again, in the next free slot */
	KT_EQ(map_slot(m, p[0], KM_HOW_NEW), 4);
	KT_EQ(kt_events_count(ev, KM_EV_FLUSH), 1);
	KT_STATS_SANE(m);
	KT_CHECK(m);
	kt_events_free(m, ev);
	km_machine_destroy(m);
}

static void flush_unused(void **state)
{
	(void)state;
	km_machine *m = win(8, 0);
	struct kt_events *ev = kt_events_new(m);
	km_page *a = kt_high(m, 0), *b = kt_high(m, 1), *c = kt_high(m, 2);

	/* nothing at count 1: a flush that clears nothing, no TLB flush */
	KT_OK(km_kmap_flush_unused(m));
	KT_FLUSH_IS(ev, 0, NULL, 0);
	struct km_stats s = kt_stats(m);
	KT_EQ(s.flushes, 1);
	KT_EQ(s.tlb_flushes, 0);
	KT_EQ(s.slots_cleared, 0);

	void *va;
	KT_OK(km_kmap(m, a, &va)); /* slot 1 */
	char msg[] = "slot one";
	KT_OK(km_write(m, va, msg, sizeof(msg)));
	KT_EQ(map_slot(m, b, KM_HOW_NEW), 2);
	KT_OK(km_kunmap(m, a));
	/* a is at count 1, b has a user: only slot 1 goes */
	KT_OK(km_kmap_flush_unused(m));
	static const unsigned one[] = { 1 };
	KT_FLUSH_IS(ev, 1, one, 1);
	s = kt_stats(m);
	KT_EQ(s.flushes, 2);
	KT_EQ(s.tlb_flushes, 1);
	KT_EQ(s.slots_cleared, 1);
	KT_SLOT(m, 1, 0, NONE);
	KT_SLOT(m, 2, 2, kt_pfn(m, b));
	assert_null(km_page_address(m, a));
	/* the old address has no translation any more */
	char buf[16];
	KT_RC(km_read(m, va, buf, sizeof(buf)), -EFAULT);
	/* kmap_flush_unused does not move the cursor: next is slot 3 */
	KT_EQ(map_slot(m, c, KM_HOW_NEW), 3);
	/* a comes back new, in slot 4, with its bytes */
	KT_OK(km_kmap(m, a, &va));
	KT_EQ(kt_slot_of(m, va), 4);
	KT_OK(km_read(m, va, buf, sizeof(msg)));
	assert_string_equal(buf, msg);
	/* a second flush with all slots busy clears nothing again */
	KT_OK(km_kmap_flush_unused(m));
	KT_FLUSH_IS(ev, 2, NULL, 0);
	KT_EQ(kt_stats(m).tlb_flushes, 1);
	KT_OK(km_kunmap(m, a));
	KT_OK(km_kunmap(m, b));
	KT_OK(km_kunmap(m, c));
	KT_EQ(km_leaks(m, NULL, 0), 0);
	KT_CHECK(m);
	kt_events_free(m, ev);
	km_machine_destroy(m);
}

static void window_full_try(void **state)
{
	(void)state;
	km_machine *m = win(8, 0);
	struct kt_events *ev = kt_events_new(m);
	km_page *p[9];
	for (unsigned i = 0; i < 9; i++)
		p[i] = kt_high(m, i);
	for (unsigned i = 0; i < 8; i++)
		KT_EQ(map_slot(m, p[i], KM_HOW_NEW), (i + 1) % 8);
	struct kt_slots before, after;
	kt_slots_get(m, &before);
	struct km_stats s0 = kt_stats(m);
	void *va = (void *)0x1234;
	KT_RC(km_kmap_try(m, p[8], &va), -EAGAIN);
	assert_ptr_equal(va, (void *)0x1234); /* untouched on error */
	kt_slots_get(m, &after);
	KT_SLOTS_SAME(&before, &after);
	struct km_stats s1 = kt_stats(m);
	KT_EQ(s1.kmaps, s0.kmaps);
	KT_EQ(s1.new_maps, s0.new_maps);
	KT_EQ(s1.sleeps, s0.sleeps);   /* try never sleeps */
	KT_EQ(s1.errors, s0.errors);   /* and is no misuse */
	KT_EQ(s1.flushes, s0.flushes + 1); /* it probed through the wrap */
	KT_EQ(s1.tlb_flushes, s0.tlb_flushes);
	assert_null(km_page_address(m, p[8]));
	/* a page in the window is still a hit */
	enum km_how how;
	KT_OK(km_kmap_ex(m, p[3], KM_MAP_NOWAIT, 0, &va, &how));
	KT_EQ(how, KM_HOW_HIT);
	KT_EQ(kt_slot_of(m, va), 4);
	KT_SLOT(m, 4, 3, kt_pfn(m, p[3]));
	/* after one kunmap to count 1, try takes that slot via the wrap */
	KT_OK(km_kunmap(m, p[3]));
	KT_OK(km_kunmap(m, p[3]));
	KT_OK(km_kmap_try(m, p[8], &va));
	KT_EQ(kt_slot_of(m, va), 4);
	KT_SLOT(m, 4, 2, kt_pfn(m, p[8]));
	assert_null(km_page_address(m, p[3]));
	KT_STATS_SANE(m);
	KT_CHECK(m);
	kt_events_free(m, ev);
	km_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

static void errors_change_nothing(void **state)
{
	(void)state;
	km_machine *m = win(8, 0);
	km_machine *other = win(8, 0);
	km_page *a = kt_high(m, 0), *b = kt_high(m, 1), *never = kt_high(m, 5);
	void *va;
	KT_OK(km_kmap(m, a, &va));
	KT_OK(km_kmap(m, b, &va));
	KT_OK(km_kunmap(m, b)); /* b at count 1 */

	struct kt_slots s0, s1;
	kt_slots_get(m, &s0);
	struct km_stats t0 = kt_stats(m);

	KT_RC(km_kunmap(m, never), -KM_ENOTMAPPED);
	KT_RC(km_kunmap(m, b), -KM_ENOUSERS);
	KT_RC(km_kunmap(m, NULL), -EINVAL);
	KT_RC(km_kunmap(m, km_pfn_to_page(other, 300000)), -EINVAL);
	KT_RC(km_kmap(m, km_pfn_to_page(other, 300000), &va), -EINVAL);
	KT_RC(km_kmap(m, a, NULL), -EINVAL);
	KT_RC(km_kmap_ex(m, a, 0x80, 0, &va, NULL), -EINVAL);
	/* 686 has no kmap_high_get: an answer, not a misuse */
	KT_RC(km_kmap_high_get(m, never, &va), -EOPNOTSUPP);

	kt_slots_get(m, &s1);
	KT_SLOTS_SAME(&s0, &s1);
	struct km_stats t1 = kt_stats(m);
	KT_EQ(t1.kmaps, t0.kmaps);
	KT_EQ(t1.hits, t0.hits);
	KT_EQ(t1.new_maps, t0.new_maps);
	KT_EQ(t1.kunmaps, t0.kunmaps);
	KT_EQ(t1.flushes, t0.flushes);
	KT_EQ(t1.in_use, t0.in_use);
	KT_EQ(t1.mapped, t0.mapped);
	/* seven misuses counted (kmap_high_get's refusal is not one) */
	KT_EQ(t1.errors, t0.errors + 7);
	KT_EQ((uintptr_t)km_page_address(m, a), kt_slot_addr(m, 1));
	KT_EQ((uintptr_t)km_page_address(m, b), kt_slot_addr(m, 2));
	assert_null(km_page_address(m, never));
	KT_EQ(km_leaks(m, NULL, 0), 1);
	KT_OK(km_kunmap(m, a));
	KT_CHECK(m);
	km_machine_destroy(other);
	km_machine_destroy(m);
}

/* kmap_high_get(): only where ARCH_NEEDS_KMAP_HIGH_GET (Kirkwood's VIVT
 * ARMv5, not Debian's x86 or armmp kernels). */
static void high_get(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 0, 8, 0, KM_CHECK);
	void *va = (void *)0x77, *va2;
	KT_RC(km_kmap_high_get(m, kt_high(m, 0), &va), -EOPNOTSUPP);
	KT_RC(km_kmap_high_get(m, kt_low(m, 1234), &va), -EOPNOTSUPP);
	assert_ptr_equal(va, (void *)0x77);
	KT_EQ(kt_stats(m).errors, 0);
	km_machine_destroy(m);

	m = kt_machine("arm-marvell", 0, 8, 0, KM_CHECK);
	km_page *a = kt_high(m, 0), *lo = kt_low(m, 1234);
	KT_RC(km_kmap_high_get(m, a, &va), -KM_ENOTMAPPED);
	assert_ptr_equal(va, (void *)0x77);
	KT_SLOT(m, 1, 0, NONE);

	KT_OK(km_kmap(m, a, &va));
	KT_OK(km_kunmap(m, a)); /* count 1 */
	struct km_stats s0 = kt_stats(m);
	KT_OK(km_kmap_high_get(m, a, &va2));
	assert_ptr_equal(va2, va);
	KT_SLOT(m, 1, 2, kt_pfn(m, a));
	KT_OK(km_kmap_high_get(m, a, &va2));
	KT_SLOT(m, 1, 3, kt_pfn(m, a));
	struct km_stats s1 = kt_stats(m);
	KT_EQ(s1.kmaps, s0.kmaps + 2);
	KT_EQ(s1.hits, s0.hits + 2);
	KT_EQ(s1.new_maps, s0.new_maps);
	KT_OK(km_kunmap(m, a));
	KT_OK(km_kunmap(m, a));
	KT_SLOT(m, 1, 1, kt_pfn(m, a));
	/* lowmem: its direct address, no slot */
	KT_OK(km_kmap_high_get(m, lo, &va2));
	KT_EQ((uintptr_t)va2, 0xc0000000u + 1234u * 4096u);
	KT_RC(km_kmap_high_get(m, NULL, &va2), -EINVAL);
	KT_STATS_SANE(m);
	KT_CHECK(m);
	km_machine_destroy(m);
}

static void lowmem_never_in_window(void **state)
{
	(void)state;
	km_machine *m = win(8, 0);
	struct kt_slots s0, s1;
	kt_slots_get(m, &s0);
	static const uint64_t pfns[] = { 0, 4095, 4096, 100000, 224253 };
	for (unsigned i = 0; i < 5; i++) {
		km_page *p = kt_low(m, pfns[i]);
		void *va;
		enum km_how how;
		KT_OK(km_kmap_ex(m, p, 0, 0, &va, &how));
		KT_EQ(how, KM_HOW_LOWMEM);
		KT_EQ((uintptr_t)va, 0xc0000000ull + pfns[i] * 4096);
		KT_EQ((uintptr_t)km_page_address(m, p), (uintptr_t)va);
		KT_OK(km_kunmap(m, p));
		KT_OK(km_kunmap(m, p)); /* a no-op, however often */
		KT_OK(km_kmap_try(m, p, &va));
		KT_OK(km_kmap_timeout(m, p, 1, &va));
	}
	kt_slots_get(m, &s1);
	KT_SLOTS_SAME(&s0, &s1);
	struct km_stats s = kt_stats(m);
	KT_EQ(s.lowmem, 15);
	KT_EQ(s.kmaps, 15);
	KT_EQ(s.new_maps, 0);
	KT_EQ(s.kunmaps, 0);
	KT_EQ(s.mapped, 0);
	KT_EQ(s.errors, 0);
	KT_EQ(km_leaks(m, NULL, 0), 0);
	KT_STATS_SANE(m);
	km_machine_destroy(m);
}

static void kmap_to_page_addresses(void **state)
{
	(void)state;
	km_machine *m = win(8, 0);
	struct km_layout l = kt_layout(m);
	km_page *a = kt_high(m, 0), *b = kt_high(m, 1), *lo = kt_low(m, 777);
	void *va, *la, *lb;
	KT_OK(km_kmap(m, a, &va));
	assert_ptr_equal(km_kmap_to_page(m, va), a);
	assert_ptr_equal(km_kmap_to_page(m, (char *)va + 4095), a);
	/* a window slot that maps nothing */
	assert_null(km_kmap_to_page(m, (void *)(uintptr_t)(l.pkmap_base + 5 * 4096)));
	/* lowmem, anywhere in the page */
	assert_ptr_equal(km_kmap_to_page(m, (void *)(uintptr_t)(l.page_offset + 777 * 4096 + 12)), lo);
	/* local mappings of this thread */
	KT_OK(km_kmap_local_page(m, b, &lb));
	KT_OK(km_kmap_local_page(m, a, &la));
	assert_ptr_equal(km_kmap_to_page(m, lb), b);
	assert_ptr_equal(km_kmap_to_page(m, (char *)la + 100), a);
	/* the next local index is not mapped */
	assert_null(km_kmap_to_page(m, (char *)la - 4096));
	KT_OK(km_kunmap_local(m, la));
	assert_null(km_kmap_to_page(m, la));
	KT_OK(km_kunmap_local(m, lb));
	/* addresses that are none of those */
	assert_null(km_kmap_to_page(m, (void *)(uintptr_t)0x1000));
	assert_null(km_kmap_to_page(m, (void *)(uintptr_t)l.vmalloc_start));
	assert_null(km_kmap_to_page(m, (void *)(uintptr_t)l.high_memory));
	/* a count-1 slot still translates; a flushed one does not */
	KT_OK(km_kunmap(m, a));
	assert_ptr_equal(km_kmap_to_page(m, va), a);
	KT_OK(km_kmap_flush_unused(m));
	assert_null(km_kmap_to_page(m, va));
	KT_CHECK(m);
	km_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Colours                                                             */
/* ------------------------------------------------------------------ */

static void colours_slots(void **state)
{
	(void)state;
	/* colour by colour on fresh machines; the cross-colour flush is
	 * colours_wrap_clears_all */
	static const unsigned combos[][2] = { { 8, 2 }, { 16, 2 }, { 8, 4 },
	                                      { 16, 4 }, { 8, 8 } };
	for (unsigned i = 0; i < sizeof(combos) / sizeof(combos[0]); i++) {
		unsigned last = combos[i][0], n = combos[i][1], per = last / n;
		for (unsigned c = 0; c < n; c++) {
			km_machine *m = win(last, n);
			struct kt_events *ev = kt_events_new(m);
			for (unsigned k = 0; k < per; k++) {
				unsigned slot = map_slot(m, colour_page(m, n, c, k), KM_HOW_NEW);
				unsigned want = k + 1 < per ? (k + 1) * n + c : c;
				if (slot != want)
					fail_msg("last %u colours %u: colour %u page %u took "
					         "slot %u, expected %u", last, n, c, k, slot, want);
				KT_EQ(kt_events_count(ev, KM_EV_FLUSH), k + 1 == per);
			}
			void *va;
			KT_RC(km_kmap_try(m, colour_page(m, n, c, per), &va), -EAGAIN);
			struct km_stats s = kt_stats(m);
			KT_EQ(s.color[c].in_use, per);
			KT_EQ(s.color[c].new_maps, per);
			KT_EQ(s.in_use, per);
			/* every other colour still maps, at its own first slot */
			for (unsigned d = 0; d < n; d++) {
				if (d == c)
					continue;
				KT_OK(km_kmap_try(m, colour_page(m, n, d, 0), &va));
				KT_EQ(kt_slot_of(m, va), per > 1 ? n + d : d);
			}
			KT_STATS_SANE(m);
			KT_CHECK(m);
			kt_events_free(m, ev);
			km_machine_destroy(m);
		}
	}
}

static void colours_wrap_clears_all(void **state)
{
	(void)state;
	for (unsigned n = 2; n <= 4; n *= 2) {
		km_machine *m = win(8, n);
		struct kt_events *ev = kt_events_new(m);
		unsigned per = 8 / n;
		/* one count-1 slot of every other colour */
		for (unsigned d = 1; d < n; d++) {
			km_page *p = colour_page(m, n, d, 0);
			KT_EQ(map_slot(m, p, KM_HOW_NEW), n + d);
			KT_OK(km_kunmap(m, p));
		}
		/* colour 0 fills up; its wrap at slot 0 flushes them all */
		for (unsigned k = 0; k < per; k++)
			map_slot(m, colour_page(m, n, 0, k), KM_HOW_NEW);
		KT_EQ(kt_events_count(ev, KM_EV_FLUSH), 1);
		unsigned want[4];
		for (unsigned d = 1; d < n; d++)
			want[d - 1] = n + d;
		KT_FLUSH_IS(ev, 0, want, n - 1);
		for (unsigned d = 1; d < n; d++) {
			KT_SLOT(m, n + d, 0, NONE);
			assert_null(km_page_address(m, colour_page(m, n, d, 0)));
		}
		KT_SLOT(m, 0, 2, kt_pfn(m, colour_page(m, n, 0, per - 1)));
		/* a colour's wait queue and cursor are its own: colour 1 goes on
		 * from its slot n+1 to 2n+1 (or wraps to 1 with 2 slots) */
		unsigned s1 = map_slot(m, colour_page(m, n, 1, 5), KM_HOW_NEW);
		KT_EQ(s1, per > 2 ? 2 * n + 1 : 1);
		KT_CHECK(m);
		kt_events_free(m, ev);
		km_machine_destroy(m);
	}
}

/* ------------------------------------------------------------------ */
/* Timeouts                                                            */
/* ------------------------------------------------------------------ */

static void timeout_when_full(void **state)
{
	(void)state;
	km_machine *m = win(4, 0);
	struct kt_events *ev = kt_events_new(m);
	km_page *p[5];
	for (unsigned i = 0; i < 5; i++)
		p[i] = kt_high(m, i);
	void *va;
	for (unsigned i = 0; i < 4; i++)
		KT_OK(km_kmap(m, p[i], &va));
	struct kt_slots s0, s1;
	kt_slots_get(m, &s0);

	uint64_t t0 = kt_now_ns();
	KT_RC(km_kmap_timeout(m, p[4], 100 * 1000 * 1000ull, &va), -ETIMEDOUT);
	uint64_t dt = kt_now_ns() - t0;
	if (dt < 95 * 1000 * 1000ull || dt > 20ull * 1000 * 1000 * 1000)
		fail_msg("km_kmap_timeout(100 ms) returned after %llu ns",
		         (unsigned long long)dt);
	kt_slots_get(m, &s1);
	KT_SLOTS_SAME(&s0, &s1);
	struct km_stats s = kt_stats(m);
	KT_EQ(s.sleeps, 1);
	KT_EQ(s.color[0].sleeps, 1);
	KT_EQ(kt_events_count(ev, KM_EV_SLEEP), 1);
	KT_EQ(s.errors, 0);
	/* it left the wait queue: a kunmap to count 1 wakes nobody */
	KT_CHECK(m);
	KT_OK(km_kunmap(m, p[0]));
	KT_EQ(kt_stats(m).wakeups, 0);
	KT_EQ(kt_events_count(ev, KM_EV_WAKE), 0);
	KT_OK(km_kmap(m, p[0], &va)); /* hit again */

	/* a zero timeout fails at once; NOWAIT wins over TIMED */
	t0 = kt_now_ns();
	KT_RC(km_kmap_timeout(m, p[4], 0, &va), -ETIMEDOUT);
	KT_RC(km_kmap_ex(m, p[4], KM_MAP_NOWAIT | KM_MAP_TIMED,
	                 1000ull * 1000 * 1000, &va, NULL), -EAGAIN);
	dt = kt_now_ns() - t0;
	assert_true(dt < 900ull * 1000 * 1000);
	/* with a slot free, a timed kmap just maps */
	KT_OK(km_kunmap(m, p[1]));
	KT_OK(km_kmap_timeout(m, p[4], 1000, &va));
	KT_EQ(kt_slot_of(m, va), 2);
	KT_CHECK(m);
	kt_events_free(m, ev);
	km_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Strict mode and the invariant check (forked children)               */
/* ------------------------------------------------------------------ */

static km_machine *child_machine(unsigned last, unsigned flags)
{
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.last_pkmap = last;
	cfg.flags = flags;
	km_machine *m = NULL;
	if (km_machine_create(&cfg, &m))
		_exit(90);
	return m;
}

static void child_kunmap_unmapped(void *arg)
{
	(void)arg;
	km_machine *m = child_machine(8, KM_STRICT);
	struct km_layout l;
	km_machine_layout(m, &l);
	km_kunmap(m, km_pfn_to_page(m, l.max_low_pfn));
}

static void child_kunmap_no_users(void *arg)
{
	(void)arg;
	km_machine *m = child_machine(8, KM_STRICT);
	struct km_layout l;
	km_machine_layout(m, &l);
	km_page *p = km_pfn_to_page(m, l.max_low_pfn);
	void *va;
	if (km_kmap(m, p, &va) || km_kunmap(m, p))
		_exit(91);
	km_kunmap(m, p);
}

static void child_strict_fine(void *arg)
{
	(void)arg;
	km_machine *m = child_machine(2, KM_STRICT | KM_CHECK);
	struct km_layout l;
	km_machine_layout(m, &l);
	void *va;
	/* no misuse: a full window is an answer, not a bug */
	if (km_kmap(m, km_pfn_to_page(m, l.max_low_pfn), &va) ||
	    km_kmap(m, km_pfn_to_page(m, l.max_low_pfn + 1), &va))
		_exit(92);
	if (km_kmap_try(m, km_pfn_to_page(m, l.max_low_pfn + 2), &va) != -EAGAIN)
		_exit(93);
	if (km_kmap_timeout(m, km_pfn_to_page(m, l.max_low_pfn + 2), 1000, &va) !=
	    -ETIMEDOUT)
		_exit(94);
	if (km_kmap_high_get(m, km_pfn_to_page(m, l.max_low_pfn + 3), &va) !=
	    -EOPNOTSUPP)
		_exit(95);
	km_machine_destroy(m);
}

static void strict_mode(void **state)
{
	(void)state;
	KT_EXPECT_ABORT(child_kunmap_unmapped, NULL, "kmap: BUG: kunmap: page is not mapped");
	KT_EXPECT_ABORT(child_kunmap_no_users, NULL, "kmap: BUG: kunmap: page has no users");
	KT_EXPECT_EXIT0(child_strict_fine, NULL);
	/* without KM_STRICT the same misuse is only an error */
	km_machine *m = win(8, 0);
	KT_RC(km_kunmap(m, kt_high(m, 0)), -KM_ENOTMAPPED);
	KT_EQ(kt_stats(m).errors, 1);
	km_machine_destroy(m);
}

/* Map a page behind the core's back: slot 5's PTE with count 0. */
static void corrupt_slot5(km_machine *m, uint64_t pfn)
{
	struct km_core *k = km__machine_core(m);
	if (k->be->set_pte(k->be_ctx, PKMAP_ADDR(k, 5), pfn))
		_exit(96);
}

static void child_check_catches(void *arg)
{
	(void)arg;
	km_machine *m = child_machine(8, KM_CHECK);
	struct km_layout l;
	km_machine_layout(m, &l);
	corrupt_slot5(m, l.max_low_pfn + 9);
	void *va;
	km_kmap(m, km_pfn_to_page(m, l.max_low_pfn), &va); /* checks, aborts */
}

static void check_flag(void **state)
{
	(void)state;
	KT_EXPECT_ABORT(child_check_catches, NULL, "invariant broken after kmap");

	/* without KM_CHECK the operation goes on; km_check() reports it */
	km_machine *m = kt_machine("x86-32", 0, 8, 0, 0);
	KT_CHECK(m);
	corrupt_slot5(m, kt_pfn(m, kt_high(m, 9)));
	void *va;
	KT_OK(km_kmap(m, kt_high(m, 0), &va));
	char msg[256] = "";
	KT_RC(km_check(m, msg, sizeof(msg)), -KM_ECORRUPT);
	if (!strstr(msg, "slot 5"))
		fail_msg("km_check message does not name slot 5: \"%s\"", msg);
	KT_RC(km_check(m, NULL, 0), -KM_ECORRUPT);
	/* repair it: clear and flush, and the check passes again */
	struct km_core *k = km__machine_core(m);
	KT_OK(k->be->clear_ptes(k->be_ctx, PKMAP_ADDR(k, 5), 1));
	KT_OK(k->be->flush_tlb_range(k->be_ctx, PKMAP_ADDR(k, 5), PKMAP_ADDR(k, 6)));
	KT_CHECK(m);
	KT_RC(km_check(NULL, msg, sizeof(msg)), -EINVAL);
	km_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* The TLB model                                                       */
/* ------------------------------------------------------------------ */

static void fill(km_machine *m, km_page *p, char c)
{
	char buf[4096];
	memset(buf, c, sizeof(buf));
	KT_OK(km_memcpy_to_page(m, p, 0, buf, sizeof(buf)));
}

static void stale_tlb(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 0, 8, 0, 0);
	struct km_core *k = km__machine_core(m);
	km_page *a = kt_high(m, 20), *b = kt_high(m, 21);
	fill(m, a, 'A');
	fill(m, b, 'B');
	uintptr_t va = PKMAP_ADDR(k, 5);
	char buf[8];
	KT_EQ(kt_stats(m).tlb_stale, 0);

	KT_OK(k->be->set_pte(k->be_ctx, va, kt_pfn(m, a)));
	KT_OK(k->be->access(k->be_ctx, va, buf, sizeof(buf), 0));
	KT_EQ(buf[0], 'A');
	KT_EQ(kt_stats(m).tlb_stale, 0);

	/* repoint the PTE without a flush: the TLB still has a's translation */
	KT_OK(k->be->set_pte(k->be_ctx, va, kt_pfn(m, b)));
	uint64_t stale = kt_stats(m).tlb_stale;
	assert_true(stale >= 1);
	KT_OK(km_read(m, (void *)va, buf, sizeof(buf)));
	KT_EQ(buf[0], 'A'); /* wrong bytes: the old page */
	KT_EQ(buf[7], 'A');
	assert_true(kt_stats(m).tlb_stale > stale);
	/* the invariant check sees it */
	KT_RC(km_check(m, NULL, 0), -KM_ECORRUPT);

	/* after a flush the right page shows */
	KT_OK(k->be->flush_tlb_range(k->be_ctx, va, va + 4096));
	stale = kt_stats(m).tlb_stale;
	KT_OK(km_read(m, (void *)va, buf, sizeof(buf)));
	KT_EQ(buf[0], 'B');
	KT_EQ(kt_stats(m).tlb_stale, stale);

	/* clearing a PTE does not drop a cached translation either */
	KT_OK(k->be->clear_ptes(k->be_ctx, va, 1));
	KT_OK(km_read(m, (void *)va, buf, 1));
	KT_EQ(buf[0], 'B');
	KT_OK(k->be->flush_tlb_one(k->be_ctx, va));
	KT_RC(km_read(m, (void *)va, buf, 1), -EFAULT);
	KT_CHECK(m);
	km_machine_destroy(m);
}

/* Through the algorithm, a reused slot never shows the old page. */
static void reuse_is_not_stale(void **state)
{
	(void)state;
	km_machine *m = win(4, 0);
	km_page *p[12];
	for (unsigned i = 0; i < 12; i++) {
		p[i] = kt_high(m, i);
		fill(m, p[i], (char)('a' + i));
	}
	for (unsigned round = 0; round < 3; round++)
		for (unsigned i = 0; i < 12; i++) {
			void *va;
			char c;
			KT_OK(km_kmap(m, p[i], &va));
			KT_OK(km_read(m, (char *)va + 4095, &c, 1));
			KT_EQ(c, 'a' + i);
			KT_OK(km_kunmap(m, p[i]));
		}
	struct km_stats s = kt_stats(m);
	KT_EQ(s.tlb_stale, 0);
	KT_EQ(s.new_maps, 36);
	assert_true(s.tlb_flushes >= 8);
	KT_CHECK(m);
	km_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Bytes through mappings                                              */
/* ------------------------------------------------------------------ */

static void bytes_through_mappings(void **state)
{
	(void)state;
	km_machine *m = win(8, 0);
	km_page *a = kt_high(m, 3), *b = kt_high(m, 4);
	void *va, *la;
	char zero[4096], buf[4096];
	memset(zero, 0, sizeof(zero));

	/* memory starts zeroed */
	KT_OK(km_kmap(m, a, &va));
	KT_EQ(kt_slot_of(m, va), 1);
	KT_OK(km_read(m, va, buf, sizeof(buf)));
	KT_EQ(memcmp(buf, zero, sizeof(buf)), 0);

	/* write at both edges of the page through the kmap address */
	KT_OK(km_write(m, va, "first", 5));
	KT_OK(km_write(m, (char *)va + 4091, "edge!", 5));
	/* read back through a local mapping of the same page */
	KT_OK(km_kmap_local_page(m, a, &la));
	assert_ptr_not_equal(la, va);
	KT_OK(km_read(m, la, buf, 5));
	KT_EQ(memcmp(buf, "first", 5), 0);
	KT_OK(km_read(m, (char *)la + 4091, buf, 5));
	KT_EQ(memcmp(buf, "edge!", 5), 0);
	/* and write through the local one, read through the kmap one */
	KT_OK(km_write(m, (char *)la + 2048, "local", 5));
	KT_OK(km_kunmap_local(m, la));
	KT_OK(km_read(m, (char *)va + 2048, buf, 5));
	KT_EQ(memcmp(buf, "local", 5), 0);

	/* unmap, flush it out, map b first, then a again: another slot */
	KT_OK(km_kunmap(m, a));
	KT_OK(km_kmap_flush_unused(m));
	KT_OK(km_kmap(m, b, &la));
	KT_EQ(kt_slot_of(m, la), 2);
	void *va2;
	KT_OK(km_kmap(m, a, &va2));
	KT_EQ(kt_slot_of(m, va2), 3);
	KT_OK(km_read(m, va2, buf, 5));
	KT_EQ(memcmp(buf, "first", 5), 0);
	KT_OK(km_read(m, (char *)va2 + 4091, buf, 5));
	KT_EQ(memcmp(buf, "edge!", 5), 0);
	/* b is still all zero: nothing leaked between pages */
	KT_OK(km_read(m, la, buf, sizeof(buf)));
	KT_EQ(memcmp(buf, zero, sizeof(buf)), 0);

	/* no translation: the flushed slot 1, a never-used slot, past the end */
	KT_RC(km_read(m, va, buf, 1), -EFAULT);
	KT_RC(km_write(m, va, "x", 1), -EFAULT);
	KT_RC(km_read(m, (void *)kt_slot_addr(m, 6), buf, 1), -EFAULT);
	KT_RC(km_read(m, (char *)va2 + 4090, buf, 12), -EFAULT); /* into slot 4 */
	KT_RC(km_read(m, (void *)(uintptr_t)0x1000, buf, 1), -EFAULT);
	KT_RC(km_read(m, va2, NULL, 1), -EINVAL);
	KT_OK(km_read(m, va2, NULL, 0));

	/* lowmem: the direct address and a local map show the same bytes */
	km_page *lo = kt_low(m, 5000);
	void *d;
	KT_OK(km_kmap(m, lo, &d));
	KT_OK(km_write(m, (char *)d + 4095, "Z", 1));
	KT_OK(km_memcpy_from_page(m, buf, lo, 4095, 1));
	KT_EQ(buf[0], 'Z');
	KT_OK(km_kunmap(m, a));
	KT_OK(km_kunmap(m, b));
	KT_CHECK(m);
	km_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* A reference model of mm/highmem.c                                   */
/* ------------------------------------------------------------------ */

#define RMAX 64

struct ref {
	unsigned last, colors;
	int count[RMAX];
	uint64_t pfn[RMAX];
	unsigned cursor[RMAX];
	uint64_t flushes, tlb_flushes, cleared, new_maps, hits, kunmaps;
};

static int ref_find(const struct ref *r, uint64_t pfn)
{
	for (unsigned i = 0; i < r->last; i++)
		if (r->count[i] && r->pfn[i] == pfn)
			return (int)i;
	return -1;
}

static void ref_flush(struct ref *r)
{
	unsigned n = 0;
	for (unsigned i = 0; i < r->last; i++)
		if (r->count[i] == 1) {
			r->count[i] = 0;
			r->pfn[i] = NONE;
			n++;
		}
	r->flushes++;
	r->cleared += n;
	if (n)
		r->tlb_flushes++;
}

/* kmap_high with NOWAIT: slot, or -EAGAIN */
static int ref_map(struct ref *r, uint64_t pfn, enum km_how *how)
{
	int s = ref_find(r, pfn);
	if (s >= 0) {
		r->count[s]++;
		r->hits++;
		*how = KM_HOW_HIT;
		return s;
	}
	unsigned color = (unsigned)pfn & (r->colors - 1);
	int count = (int)(r->last / r->colors);
	unsigned nr;
	for (;;) {
		r->cursor[color] = (r->cursor[color] + r->colors) & (r->last - 1);
		nr = r->cursor[color] + color;
		if (nr < r->colors) {
			ref_flush(r);
			count = (int)(r->last / r->colors);
		}
		if (!r->count[nr])
			break;
		if (--count)
			continue;
		return -EAGAIN;
	}
	r->count[nr] = 2;
	r->pfn[nr] = pfn;
	r->new_maps++;
	*how = KM_HOW_NEW;
	return (int)nr;
}

static int ref_unmap(struct ref *r, uint64_t pfn)
{
	int s = ref_find(r, pfn);
	if (s < 0)
		return -KM_ENOTMAPPED;
	if (r->count[s] < 2)
		return -KM_ENOUSERS;
	r->count[s]--;
	r->kunmaps++;
	return 0;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static void model_run(unsigned last, unsigned colors, uint64_t seed,
                      unsigned steps)
{
	/* Kirkwood's kernel, for kmap_high_get among the operations */
	km_machine *m = kt_machine("arm-marvell", 0, last, colors, KM_CHECK);
	struct km_layout l = kt_layout(m);
	struct ref r = { .last = last, .colors = colors };
	for (unsigned i = 0; i < RMAX; i++)
		r.pfn[i] = NONE;
	unsigned npages = 3 * last;
	uint64_t rs = seed;

	for (unsigned step = 0; step < steps; step++) {
		unsigned op = (unsigned)(rng_next(&rs) % 100);
		uint64_t pfn = l.max_low_pfn + rng_next(&rs) % npages;
		km_page *p = km_pfn_to_page(m, pfn);
		const char *what;
		int got, want;
		if (op < 55) {
			what = "kmap_try";
			void *va;
			enum km_how how = KM_HOW_LOWMEM, whow = KM_HOW_LOWMEM;
			got = km_kmap_ex(m, p, KM_MAP_NOWAIT, 0, &va, &how);
			want = ref_map(&r, pfn, &whow);
			if (got == 0 && want >= 0) {
				if (kt_slot_of(m, va) != (unsigned)want || how != whow)
					fail_msg("seed %llu step %u: kmap pfn %llu got slot %u "
					         "how %d, model slot %d how %d",
					         (unsigned long long)seed, step,
					         (unsigned long long)pfn, kt_slot_of(m, va), how,
					         want, whow);
				if (want % (int)colors != (int)(pfn % colors))
					fail_msg("slot %d is not of colour %llu", want,
					         (unsigned long long)(pfn % colors));
				want = 0;
			}
		} else if (op < 88) {
			what = "kunmap";
			/* mostly a page with users */
			if (op < 80) {
				unsigned s0 = (unsigned)(rng_next(&rs) % last);
				for (unsigned j = 0; j < last; j++)
					if (r.count[(s0 + j) % last] >= 2) {
						pfn = r.pfn[(s0 + j) % last];
						break;
					}
				p = km_pfn_to_page(m, pfn);
			}
			got = km_kunmap(m, p);
			want = ref_unmap(&r, pfn);
		} else if (op < 92) {
			what = "flush_unused";
			got = km_kmap_flush_unused(m);
			ref_flush(&r);
			want = 0;
		} else if (op < 97) {
			what = "kmap_high_get";
			void *va;
			got = km_kmap_high_get(m, p, &va);
			int s = ref_find(&r, pfn);
			if (s < 0) {
				want = -KM_ENOTMAPPED;
			} else {
				r.count[s]++;
				r.hits++;
				want = 0;
				if (got == 0 && kt_slot_of(m, va) != (unsigned)s)
					fail_msg("kmap_high_get slot %u, model %d",
					         kt_slot_of(m, va), s);
			}
		} else {
			what = "lowmem kmap";
			void *va;
			enum km_how how;
			km_page *lo = km_pfn_to_page(m, rng_next(&rs) % l.max_low_pfn);
			got = km_kmap_ex(m, lo, 0, 0, &va, &how);
			want = 0;
			if (!got && how != KM_HOW_LOWMEM)
				fail_msg("lowmem page mapped as %d", how);
		}
		if (got != want)
			fail_msg("seed %llu step %u: %s pfn %llu returned %d (%s), "
			         "model %d (%s)",
			         (unsigned long long)seed, step, what,
			         (unsigned long long)pfn, got, km_strerror(got), want,
			         km_strerror(want));
		for (unsigned i = 0; i < last; i++) {
			struct km_slot sl = kt_slot(m, i);
			if (sl.count != r.count[i] || sl.pfn != r.pfn[i])
				fail_msg("seed %llu step %u after %s: slot %u count %d pfn "
				         "%lld, model count %d pfn %lld",
				         (unsigned long long)seed, step, what, i, sl.count,
				         (long long)sl.pfn, r.count[i], (long long)r.pfn[i]);
		}
		struct km_stats s = kt_stats(m);
		if (s.flushes != r.flushes || s.tlb_flushes != r.tlb_flushes ||
		    s.slots_cleared != r.cleared || s.new_maps != r.new_maps ||
		    s.hits != r.hits || s.kunmaps != r.kunmaps)
			fail_msg("seed %llu step %u after %s: stats flushes %llu/%llu "
			         "tlb %llu/%llu cleared %llu/%llu new %llu/%llu hits "
			         "%llu/%llu kunmaps %llu/%llu (library/model)",
			         (unsigned long long)seed, step, what,
			         (unsigned long long)s.flushes,
			         (unsigned long long)r.flushes,
			         (unsigned long long)s.tlb_flushes,
			         (unsigned long long)r.tlb_flushes,
			         (unsigned long long)s.slots_cleared,
			         (unsigned long long)r.cleared,
			         (unsigned long long)s.new_maps,
			         (unsigned long long)r.new_maps,
			         (unsigned long long)s.hits, (unsigned long long)r.hits,
			         (unsigned long long)s.kunmaps,
			         (unsigned long long)r.kunmaps);
		if (step % 64 == 0) {
			for (unsigned i = 0; i < npages; i++) {
				uint64_t q = l.max_low_pfn + i;
				int sl = ref_find(&r, q);
				uintptr_t a = (uintptr_t)km_page_address(m, km_pfn_to_page(m, q));
				KT_EQ(a, sl < 0 ? 0 : kt_slot_addr(m, (unsigned)sl));
			}
			KT_STATS_SANE(m);
			KT_CHECK(m);
		}
	}
	/* release everything: no leaks */
	for (unsigned i = 0; i < last; i++)
		while (r.count[i] >= 2) {
			KT_OK(km_kunmap(m, km_pfn_to_page(m, r.pfn[i])));
			r.count[i]--;
		}
	KT_EQ(km_leaks(m, NULL, 0), 0);
	KT_EQ(kt_stats(m).in_use, 0);
	KT_CHECK(m);
	km_machine_destroy(m);
}

static void model_random(void **state)
{
	(void)state;
	static const unsigned cfgs[][2] = { { 2, 1 }, { 4, 1 }, { 8, 1 }, { 8, 2 },
	                                    { 16, 4 }, { 8, 8 }, { 64, 4 } };
	for (unsigned i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++)
		for (uint64_t seed = 1; seed <= 3; seed++)
			model_run(cfgs[i][0], cfgs[i][1], seed * 0x9E3779B97F4A7C15ull + i,
			          1500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KT_TEST(first_slots),
		KT_TEST(wrap_flush),
		KT_TEST(flush_unused),
		KT_TEST(window_full_try),
		KT_TEST(errors_change_nothing),
		KT_TEST(high_get),
		KT_TEST(lowmem_never_in_window),
		KT_TEST(kmap_to_page_addresses),
		KT_TEST(colours_slots),
		KT_TEST(colours_wrap_clears_all),
		KT_TEST(timeout_when_full),
		KT_TEST(strict_mode),
		KT_TEST(check_flag),
		KT_TEST(stale_tlb),
		KT_TEST(reuse_is_not_stale),
		KT_TEST(bytes_through_mappings),
		KT_TEST(model_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
