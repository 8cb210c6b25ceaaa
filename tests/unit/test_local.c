/*
 * test_local.c - kmap_local_page / kmap_atomic: fixmap addresses, the
 * 15-entry stack, LIFO order, the local/atomic kinds, atomic sections and
 * might_sleep, strict-mode aborts, and the memcpy_* helpers.
 */
#include "ktest.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static km_machine *mk(void)
{
	return kt_machine("x86-32", 0, 8, 0, KM_CHECK);
}

/* a simulated task made current on this thread, to read its depth */
static km_task *task_on(km_machine *m)
{
	km_task *t = NULL;
	KT_OK(km_task_create(m, &t));
	assert_non_null(t);
	KT_EQ(km_task_state(m, t), KM_TASK_RUNNING);
	KT_OK(km_task_switch(m, t));
	return t;
}

static void task_off(km_machine *m, km_task *t)
{
	KT_RC(km_task_destroy(m, t), -EBUSY); /* still current */
	KT_OK(km_task_switch(m, NULL));
	KT_OK(km_task_destroy(m, t));
}

static void local_addresses(void **state)
{
	(void)state;
	km_machine *m = mk();
	struct km_layout l = kt_layout(m);
	km_task *t = task_on(m);
	km_page *h[3] = { kt_high(m, 0), kt_high(m, 1), kt_high(m, 2) };
	km_page *lo = kt_low(m, 4242);
	void *va[4];
	struct kt_slots s0, s1;
	kt_slots_get(m, &s0);

	KT_OK(km_kmap_local_page(m, h[0], &va[0]));
	KT_OK(km_kmap_local_page(m, h[1], &va[1]));
	KT_EQ(km_task_local_depth(m, t), 2);
	/* lowmem: the direct address, no place on the stack */
	KT_OK(km_kmap_local_page(m, lo, &va[2]));
	KT_EQ((uintptr_t)va[2], l.page_offset + 4242ull * 4096);
	KT_EQ(km_task_local_depth(m, t), 2);
	KT_OK(km_kmap_local_page(m, h[2], &va[3]));
	KT_EQ(km_task_local_depth(m, t), 3);

	/* stack index i of the first area is FIX_KMAP_BEGIN + i: top down */
	KT_EQ((uintptr_t)va[0], l.kmap_local_end - 4096);
	KT_EQ((uintptr_t)va[1], l.kmap_local_end - 2 * 4096);
	KT_EQ((uintptr_t)va[3], l.kmap_local_end - 3 * 4096);
	for (unsigned i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		assert_true((uintptr_t)va[i] >= l.kmap_local_start);
		assert_true((uintptr_t)va[i] < l.kmap_local_end);
		assert_true((uintptr_t)va[i] >= l.fixaddr_start);
	}
	/* they never touch the pkmap window */
	kt_slots_get(m, &s1);
	KT_SLOTS_SAME(&s0, &s1);
	assert_null(km_page_address(m, h[0]));

	/* distinct pages, distinct bytes */
	for (unsigned i = 0; i < 4; i++) {
		char c = (char)('0' + i);
		KT_OK(km_write(m, (char *)va[i] + 7, &c, 1));
	}
	for (unsigned i = 0; i < 4; i++) {
		char c;
		KT_OK(km_read(m, (char *)va[i] + 7, &c, 1));
		KT_EQ(c, '0' + i);
	}
	struct km_stats s = kt_stats(m);
	KT_EQ(s.local_maps, 3);
	uint64_t one = s.tlb_flush_one;

	KT_OK(km_kunmap_local(m, va[3]));
	KT_OK(km_kunmap_local(m, va[2])); /* lowmem: a no-op */
	KT_EQ(km_task_local_depth(m, t), 2);
	KT_OK(km_kunmap_local(m, (char *)va[1] + 100)); /* any address in the page */
	KT_OK(km_kunmap_local(m, va[0]));
	KT_EQ(km_task_local_depth(m, t), 0);
	/* x86 flushes the one page at each highmem local unmap */
	KT_EQ(kt_stats(m).tlb_flush_one, one + 3);
	/* the unmapped addresses no longer translate */
	char c;
	KT_RC(km_read(m, va[0], &c, 1), -EFAULT);
	KT_RC(km_read(m, va[3], &c, 1), -EFAULT);
	/* but the bytes stay in the pages */
	KT_OK(km_memcpy_from_page(m, &c, h[2], 7, 1));
	KT_EQ(c, '3');
	/* and the next map takes index 0 again */
	KT_OK(km_kmap_local_page(m, h[1], &va[0]));
	KT_EQ((uintptr_t)va[0], l.kmap_local_end - 4096);
	KT_OK(km_kunmap_local(m, va[0]));
	KT_EQ(kt_stats(m).errors, 0);
	task_off(m, t);
	KT_CHECK(m);
	km_machine_destroy(m);
}

static void stack_full(void **state)
{
	(void)state;
	km_machine *m = mk();
	km_task *t = task_on(m);
	void *va[16];
	for (unsigned i = 0; i < 15; i++) {
		KT_OK(km_kmap_local_page(m, kt_high(m, i), &va[i]));
		KT_EQ(km_task_local_depth(m, t), i + 1);
		char c = (char)i;
		KT_OK(km_write(m, va[i], &c, 1));
	}
	uint64_t errors = kt_stats(m).errors;
	void *x = (void *)0x99;
	KT_RC(km_kmap_local_page(m, kt_high(m, 15), &x), -KM_ESTACKFULL);
	assert_ptr_equal(x, (void *)0x99);
	KT_RC(km_kmap_atomic(m, kt_high(m, 15), &x), -KM_ESTACKFULL);
	KT_EQ(km_in_atomic(m), 0); /* the failed atomic opened no section */
	KT_EQ(km_task_local_depth(m, t), 15);
	KT_EQ(kt_stats(m).errors, errors + 2);
	KT_EQ(kt_stats(m).local_maps, 15);
	/* lowmem takes no place: still fine */
	KT_OK(km_kmap_local_page(m, kt_low(m, 9), &x));
	KT_OK(km_kunmap_local(m, x));
	/* the leaks list shows the task's 15 local mappings */
	struct km_leak lk[20];
	KT_EQ(km_leaks(m, lk, 20), 15);
	for (unsigned i = 0; i < 15; i++) {
		KT_EQ(lk[i].local, 1);
		assert_ptr_equal(lk[i].task, t);
		KT_EQ(lk[i].pfn, kt_pfn(m, kt_high(m, i)));
	}
	KT_EQ(km_leaks(m, lk, 2), 15); /* the count even when max is smaller */
	for (int i = 14; i >= 0; i--) {
		char c;
		KT_OK(km_read(m, va[i], &c, 1));
		KT_EQ(c, i);
		KT_OK(km_kunmap_local(m, va[i]));
	}
	KT_EQ(km_task_local_depth(m, t), 0);
	KT_EQ(km_leaks(m, NULL, 0), 0);
	task_off(m, t);
	KT_CHECK(m);
	km_machine_destroy(m);
}

static void out_of_order(void **state)
{
	(void)state;
	km_machine *m = mk();
	km_task *t = task_on(m);
	km_page *a = kt_high(m, 0), *b = kt_high(m, 1);
	void *va, *vb;
	KT_OK(km_memcpy_to_page(m, a, 0, "page a", 7));
	KT_OK(km_kmap_local_page(m, a, &va));
	KT_OK(km_kmap_local_page(m, b, &vb));
	uint64_t one = kt_stats(m).tlb_flush_one;
	KT_RC(km_kunmap_local(m, va), -KM_ENOTTOP);
	/* nothing was unmapped: a is still readable through its address */
	KT_EQ(km_task_local_depth(m, t), 2);
	char buf[8];
	KT_OK(km_read(m, va, buf, 7));
	assert_string_equal(buf, "page a");
	assert_ptr_equal(km_kmap_to_page(m, va), a);
	KT_EQ(kt_stats(m).tlb_flush_one, one);
	/* an index above the top is none of the task's mappings */
	KT_RC(km_kunmap_local(m, (char *)vb - 4096), -EINVAL);
	KT_EQ(km_task_local_depth(m, t), 2);
	KT_OK(km_kunmap_local(m, vb));
	KT_OK(km_kunmap_local(m, va));
	/* a second release of the same address is refused: it is none of
	 * the task's mappings any more (km_kmap_local_page(3): EINVAL) */
	KT_RC(km_kunmap_local(m, va), -EINVAL);
	KT_OK(km_kmap_local_page(m, a, &va));
	KT_OK(km_kmap_local_page(m, b, &vb));
	KT_OK(km_kunmap_local(m, vb));
	KT_RC(km_kunmap_local(m, vb), -EINVAL); /* twice the newest */
	KT_EQ(km_task_local_depth(m, t), 1);
	KT_OK(km_kunmap_local(m, va));
	/* an address that is no mapping at all */
	KT_RC(km_kunmap_local(m, (void *)(uintptr_t)0x1000), -EINVAL);
	KT_EQ(kt_stats(m).errors, 5);
	task_off(m, t);
	KT_CHECK(m);
	km_machine_destroy(m);
}

static void kinds(void **state)
{
	(void)state;
	km_machine *m = mk();
	km_task *t = task_on(m);
	km_page *x = kt_high(m, 0), *y = kt_high(m, 1), *z = kt_high(m, 2);
	void *vx, *vy, *vz;

	KT_OK(km_kmap_atomic(m, x, &vx));
	KT_EQ(km_in_atomic(m), 1);
	KT_RC(km_kunmap_local(m, vx), -KM_EKIND);
	KT_EQ(km_task_local_depth(m, t), 1);
	KT_EQ(km_in_atomic(m), 1);
	char c = 'x';
	KT_OK(km_write(m, vx, &c, 1)); /* still mapped */
	KT_OK(km_kunmap_atomic(m, vx));
	KT_EQ(km_in_atomic(m), 0);
	KT_EQ(km_task_local_depth(m, t), 0);

	/* kunmap_atomic of a local mapping with no section open */
	KT_OK(km_kmap_local_page(m, y, &vy));
	KT_RC(km_kunmap_atomic(m, vy), -KM_ENOATOMIC);
	KT_EQ(km_task_local_depth(m, t), 1);
	KT_OK(km_kunmap_local(m, vy));

	/* ... and with a section open below it: the wrong kind */
	KT_OK(km_kmap_atomic(m, z, &vz));
	KT_OK(km_kmap_local_page(m, y, &vy));
	KT_RC(km_kunmap_atomic(m, vy), -KM_EKIND);
	KT_EQ(km_in_atomic(m), 1);
	KT_EQ(km_task_local_depth(m, t), 2);
	KT_RC(km_kunmap_atomic(m, vz), -KM_ENOTTOP);
	KT_OK(km_kunmap_local(m, vy));
	KT_OK(km_kunmap_atomic(m, vz));
	KT_EQ(km_in_atomic(m), 0);
	KT_EQ(kt_stats(m).errors, 4);
	KT_EQ(kt_stats(m).local_maps, 4);
	task_off(m, t);
	KT_CHECK(m);
	km_machine_destroy(m);
}

static void no_atomic_section(void **state)
{
	(void)state;
	km_machine *m = mk();
	struct km_layout l = kt_layout(m);
	void *low = (void *)(uintptr_t)(l.page_offset + 4096);
	/* before this thread ever had a local-map area */
	KT_RC(km_kunmap_atomic(m, low), -KM_ENOATOMIC);
	KT_RC(km_kunmap_atomic(m, NULL), -KM_ENOATOMIC);
	/* after */
	void *va;
	KT_OK(km_kmap_local_page(m, kt_high(m, 0), &va));
	KT_OK(km_kunmap_local(m, va));
	KT_RC(km_kunmap_atomic(m, low), -KM_ENOATOMIC);
	KT_RC(km_kunmap_atomic(m, va), -KM_ENOATOMIC);
	KT_EQ(km_in_atomic(m), 0);
	KT_EQ(kt_stats(m).errors, 4);
	km_machine_destroy(m);
}

static void might_sleep_in_atomic(void **state)
{
	(void)state;
	km_machine *m = mk();
	km_page *h = kt_high(m, 0), *h2 = kt_high(m, 1), *lo = kt_low(m, 10);
	void *va, *vh, *vl, *x = (void *)0x42;
	KT_OK(km_kmap(m, h, &vh)); /* a persistent map, held */
	KT_SLOT(m, 1, 2, kt_pfn(m, h));

	KT_OK(km_kmap_atomic(m, h2, &va));
	KT_EQ(km_in_atomic(m), 1);
	KT_RC(km_kmap(m, h2, &x), -KM_EATOMIC);
	KT_RC(km_kmap(m, lo, &x), -KM_EATOMIC); /* lowmem too */
	KT_RC(km_kmap_try(m, h2, &x), -KM_EATOMIC);
	KT_RC(km_kmap_timeout(m, h2, 1000, &x), -KM_EATOMIC);
	KT_RC(km_kunmap(m, h), -KM_EATOMIC);
	KT_RC(km_kunmap(m, lo), -KM_EATOMIC);
	assert_ptr_equal(x, (void *)0x42);
	KT_SLOT(m, 1, 2, kt_pfn(m, h)); /* the kunmap changed nothing */
	KT_EQ(kt_stats(m).errors, 6);
	/* local maps are fine in atomic context, and sections nest */
	KT_OK(km_kmap_local_page(m, h, &vl));
	KT_OK(km_kmap_atomic(m, lo, &x));
	KT_EQ(km_in_atomic(m), 2);
	KT_OK(km_kunmap_atomic(m, x));
	KT_EQ(km_in_atomic(m), 1);
	KT_OK(km_kunmap_local(m, vl));
	KT_OK(km_kunmap_atomic(m, va));
	KT_EQ(km_in_atomic(m), 0);
	/* out of the section, kmap and kunmap work again */
	KT_OK(km_kunmap(m, h));
	KT_OK(km_kmap(m, h2, &x));
	KT_OK(km_kunmap(m, h2));
	KT_CHECK(m);
	km_machine_destroy(m);
}

static void atomic_lowmem(void **state)
{
	(void)state;
	for (int with_area = 0; with_area < 2; with_area++) {
		km_machine *m = mk();
		struct km_layout l = kt_layout(m);
		void *va;
		if (with_area) {
			KT_OK(km_kmap_local_page(m, kt_high(m, 0), &va));
			KT_OK(km_kunmap_local(m, va));
		}
		km_page *lo = kt_low(m, 100);
		KT_OK(km_kmap_atomic(m, lo, &va));
		KT_EQ((uintptr_t)va, l.page_offset + 100 * 4096);
		KT_EQ(km_in_atomic(m), 1);
		KT_RC(km_kmap(m, lo, &va), -KM_EATOMIC);
		KT_OK(km_kunmap_atomic(m, va));
		KT_EQ(km_in_atomic(m), 0);
		KT_OK(km_kmap(m, lo, &va));
		/* a lowmem local unmap is a no-op, atomic or not */
		KT_OK(km_kunmap_local(m, va));
		KT_EQ(kt_stats(m).local_maps, (uint64_t)with_area);
		KT_CHECK(m);
		km_machine_destroy(m);
	}
}

static void unmap_other_addresses(void **state)
{
	(void)state;
	km_machine *m = mk();
	km_page *h = kt_high(m, 0);
	void *va, *vk;
	KT_OK(km_kmap(m, h, &vk));
	/* kunmap_local of a pkmap address (kmap_high_get on ARM) unmaps
	 * nothing and is no error; the persistent count is untouched */
	KT_OK(km_kunmap_local(m, vk));
	KT_SLOT(m, 1, 2, kt_pfn(m, h));
	KT_OK(km_kmap_local_page(m, h, &va));
	KT_OK(km_kunmap_local(m, vk));
	KT_SLOT(m, 1, 2, kt_pfn(m, h));
	KT_OK(km_kunmap_local(m, va));
	KT_OK(km_kunmap(m, h));
	KT_RC(km_kunmap_local(NULL, va), -EINVAL);
	KT_RC(km_kmap_local_page(m, NULL, &va), -EINVAL);
	KT_RC(km_kmap_local_page(m, h, NULL), -EINVAL);
	KT_RC(km_kmap_atomic(m, NULL, &va), -EINVAL);
	KT_EQ(km_in_atomic(m), 0);
	KT_CHECK(m);
	km_machine_destroy(m);
}

/* ------------------------------------------------------------------ */
/* Strict mode                                                         */
/* ------------------------------------------------------------------ */

static km_machine *strict_child(void)
{
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.last_pkmap = 8;
	cfg.flags = KM_STRICT;
	km_machine *m = NULL;
	if (km_machine_create(&cfg, &m))
		_exit(90);
	return m;
}

static km_page *child_high(km_machine *m, unsigned i)
{
	struct km_layout l;
	km_machine_layout(m, &l);
	return km_pfn_to_page(m, l.max_low_pfn + i);
}

static void child_kmap_in_atomic(void *arg)
{
	(void)arg;
	km_machine *m = strict_child();
	void *va;
	if (km_kmap_atomic(m, child_high(m, 0), &va))
		_exit(91);
	km_kmap(m, child_high(m, 1), &va);
}

static void child_stack_full(void *arg)
{
	(void)arg;
	km_machine *m = strict_child();
	void *va;
	for (unsigned i = 0; i < 15; i++)
		if (km_kmap_local_page(m, child_high(m, i), &va))
			_exit(92);
	km_kmap_local_page(m, child_high(m, 15), &va);
}

static void child_not_top(void *arg)
{
	(void)arg;
	km_machine *m = strict_child();
	void *a, *b;
	if (km_kmap_local_page(m, child_high(m, 0), &a) ||
	    km_kmap_local_page(m, child_high(m, 1), &b))
		_exit(93);
	km_kunmap_local(m, a);
}

static void child_no_atomic(void *arg)
{
	(void)arg;
	km_machine *m = strict_child();
	void *a;
	if (km_kmap_local_page(m, child_high(m, 0), &a))
		_exit(94);
	km_kunmap_atomic(m, a);
}

static void child_wrong_kind(void *arg)
{
	(void)arg;
	km_machine *m = strict_child();
	void *a;
	if (km_kmap_atomic(m, child_high(m, 0), &a))
		_exit(95);
	km_kunmap_local(m, a);
}

static void child_strict_clean(void *arg)
{
	(void)arg;
	km_machine *m = strict_child();
	void *a, *b;
	/* correct use in strict mode never aborts */
	if (km_kmap_atomic(m, child_high(m, 0), &a) ||
	    km_kmap_local_page(m, child_high(m, 1), &b) ||
	    km_kunmap_local(m, b) || km_kunmap_atomic(m, a))
		_exit(96);
	km_machine_destroy(m);
}

static void strict_local(void **state)
{
	(void)state;
	KT_EXPECT_ABORT(child_kmap_in_atomic, NULL,
	                "kmap: BUG: kmap: sleeping in atomic context");
	KT_EXPECT_ABORT(child_stack_full, NULL,
	                "kmap: BUG: kmap_local_page: too many local mappings");
	KT_EXPECT_ABORT(child_not_top, NULL,
	                "kmap: BUG: kunmap_local: not the newest local mapping");
	KT_EXPECT_ABORT(child_no_atomic, NULL,
	                "kmap: BUG: kunmap_atomic: no atomic section open");
	KT_EXPECT_ABORT(child_wrong_kind, NULL,
	                "kmap: BUG: kunmap_local: local mapping of the other kind");
	KT_EXPECT_EXIT0(child_strict_clean, NULL);
}

/* ------------------------------------------------------------------ */
/* The memcpy helpers                                                  */
/* ------------------------------------------------------------------ */

static void page_bytes(km_machine *m, km_page *p, unsigned char *out)
{
	KT_OK(km_memcpy_from_page(m, out, p, 0, 4096));
}

static void helpers(void **state)
{
	(void)state;
	km_machine *m = mk();
	km_task *t = task_on(m);
	km_page *h1 = kt_high(m, 0), *h2 = kt_high(m, 1), *h3 = kt_high(m, 2);
	km_page *l1 = kt_low(m, 5000), *l2 = kt_low(m, 5001);
	unsigned char a[4096], b[4096], pat[4096];
	for (unsigned i = 0; i < 4096; i++)
		pat[i] = (unsigned char)(i * 7 + (i >> 8));

	/* memset_page / memzero_page */
	KT_OK(km_memset_page(m, h1, 0, 0xab, 4096));
	page_bytes(m, h1, a);
	for (unsigned i = 0; i < 4096; i++)
		KT_EQ(a[i], 0xab);
	KT_OK(km_memzero_page(m, h1, 4000, 96)); /* up to the last byte */
	page_bytes(m, h1, a);
	KT_EQ(a[3999], 0xab);
	KT_EQ(a[4000], 0);
	KT_EQ(a[4095], 0);
	KT_OK(km_memset_page(m, h1, 0, 0x11, 1));
	KT_OK(km_memset_page(m, h1, 4096, 0x22, 0)); /* empty, at the end */
	page_bytes(m, h1, a);
	KT_EQ(a[0], 0x11);
	KT_EQ(a[1], 0xab);

	/* memcpy_to_page / memcpy_from_page at the edges */
	KT_OK(km_memcpy_to_page(m, h2, 0, pat, 4096));
	KT_OK(km_memcpy_from_page(m, b, h2, 0, 4096));
	KT_EQ(memcmp(b, pat, 4096), 0);
	KT_OK(km_memcpy_to_page(m, h2, 4095, "Q", 1));
	KT_OK(km_memcpy_from_page(m, b, h2, 4095, 1));
	KT_EQ(b[0], 'Q');
	KT_OK(km_memcpy_from_page(m, b, h2, 4094, 2));
	KT_EQ(b[0], pat[4094]);
	KT_EQ(b[1], 'Q');
	KT_OK(km_memcpy_to_page(m, h2, 4096, "", 0));

	/* past the end: -EINVAL, and nothing written */
	uint64_t errors = kt_stats(m).errors;
	page_bytes(m, h2, a);
	KT_RC(km_memcpy_to_page(m, h2, 4096, "x", 1), -EINVAL);
	KT_RC(km_memcpy_to_page(m, h2, 4090, "1234567", 7), -EINVAL);
	KT_RC(km_memcpy_to_page(m, h2, 5000, "", 0), -EINVAL);
	KT_RC(km_memcpy_to_page(m, h2, 0, pat, 4097), -EINVAL);
	KT_RC(km_memcpy_from_page(m, b, h2, 4095, 2), -EINVAL);
	KT_RC(km_memset_page(m, h2, 4095, 0, 2), -EINVAL);
	KT_RC(km_memzero_page(m, h2, 1, 4096), -EINVAL);
	KT_RC(km_memcpy_page(m, h3, 4000, h2, 0, 97), -EINVAL);
	KT_RC(km_memcpy_page(m, h3, 0, h2, 4000, 97), -EINVAL);
	KT_RC(km_memcpy_page(m, h3, (size_t)-1, h2, 0, 2), -EINVAL);
	KT_EQ(kt_stats(m).errors, errors + 10);
	page_bytes(m, h2, b);
	KT_EQ(memcmp(a, b, 4096), 0);
	page_bytes(m, h3, b);
	for (unsigned i = 0; i < 4096; i++)
		KT_EQ(b[i], 0);

	/* memcpy_page: high -> low, low -> high, high -> high, at edges */
	KT_OK(km_memcpy_page(m, l1, 10, h2, 0, 100));
	KT_OK(km_memcpy_from_page(m, b, l1, 0, 120));
	for (unsigned i = 0; i < 10; i++)
		KT_EQ(b[i], 0);
	KT_EQ(memcmp(b + 10, pat, 100), 0);
	KT_EQ(b[110], 0);
	KT_OK(km_memcpy_page(m, h3, 4046, l1, 10, 50));
	KT_OK(km_memcpy_from_page(m, b, h3, 4046, 50));
	KT_EQ(memcmp(b, pat, 50), 0);
	KT_OK(km_memcpy_page(m, h3, 0, h2, 3000, 1096)); /* to the last byte */
	KT_OK(km_memcpy_from_page(m, b, h3, 0, 1096));
	KT_EQ(memcmp(b, pat + 3000, 1095), 0);
	KT_EQ(b[1095], 'Q');
	/* the same page as source and destination */
	KT_OK(km_memcpy_page(m, h2, 0, h2, 2048, 16));
	KT_OK(km_memcpy_from_page(m, b, h2, 0, 16));
	KT_EQ(memcmp(b, pat + 2048, 16), 0);

	/* copy_highpage, all four ways */
	KT_OK(km_copy_highpage(m, l2, h1));
	page_bytes(m, h1, a);
	page_bytes(m, l2, b);
	KT_EQ(memcmp(a, b, 4096), 0);
	KT_OK(km_memcpy_to_page(m, l1, 0, pat, 4096));
	KT_OK(km_copy_highpage(m, h3, l1));
	page_bytes(m, h3, b);
	KT_EQ(memcmp(b, pat, 4096), 0);
	KT_OK(km_copy_highpage(m, h1, h3));
	page_bytes(m, h1, b);
	KT_EQ(memcmp(b, pat, 4096), 0);
	KT_OK(km_copy_highpage(m, l2, l1));
	page_bytes(m, l2, b);
	KT_EQ(memcmp(b, pat, 4096), 0);

	/* the helpers released every local mapping they took */
	KT_EQ(km_task_local_depth(m, t), 0);
	KT_EQ(km_in_atomic(m), 0);
	KT_EQ(km_leaks(m, NULL, 0), 0);
	/* they never kmap: the pages read again and again entered the
	 * window by admission, and no user holds a slot */
	struct km_stats st = kt_stats(m);
	KT_EQ(st.new_maps, 0);
	KT_EQ(st.in_use, 0);
	KT_EQ(st.mapped, 3);
	KT_EQ(st.admissions, 3);
	/* inside a section they work too (local maps never sleep) */
	void *va;
	KT_OK(km_kmap_atomic(m, h1, &va));
	KT_OK(km_memcpy_page(m, h2, 0, h3, 0, 4096));
	KT_OK(km_kunmap_atomic(m, va));
	page_bytes(m, h2, b);
	KT_EQ(memcmp(b, pat, 4096), 0);
	task_off(m, t);
	KT_CHECK(m);
	km_machine_destroy(m);
}

/* The helpers take no local mapping: they work with the stack full and
 * leave it as it was. */
static void helpers_stack_full(void **state)
{
	(void)state;
	km_machine *m = mk();
	km_task *t = task_on(m);
	void *va[15];
	char b[8];
	for (unsigned i = 0; i < 15; i++)
		KT_OK(km_kmap_local_page(m, kt_high(m, i), &va[i]));
	uint64_t locals = kt_stats(m).local_maps;
	KT_OK(km_memcpy_to_page(m, kt_high(m, 21), 0, "ok", 3));
	KT_OK(km_memcpy_page(m, kt_high(m, 20), 0, kt_high(m, 21), 0, 3));
	KT_OK(km_memcpy_from_page(m, b, kt_high(m, 20), 0, 3));
	assert_string_equal(b, "ok");
	KT_EQ(km_task_local_depth(m, t), 15);
	KT_EQ(kt_stats(m).local_maps, locals);
	void *extra; /* and the stack is still full */
	KT_RC(km_kmap_local_page(m, kt_high(m, 15), &extra), -KM_ESTACKFULL);
	KT_OK(km_kunmap_local(m, va[14]));
	for (int i = 13; i >= 0; i--)
		KT_OK(km_kunmap_local(m, va[i]));
	task_off(m, t);
	KT_CHECK(m);
	km_machine_destroy(m);
}

/*
 * The single-page flushes of a local map by architecture: x86 flushes at
 * kunmap_local only, ARM at kmap_local too (arch_kmap_local_post_map), and
 * both again when the task goes off the CPU and comes back (sched in and
 * out are a map and an unmap).
 */
static void flushes_by_arch(void **state)
{
	(void)state;
	static const struct { const char *profile; unsigned on_map; } cases[] = {
		{ "x86-32", 0 }, { "x86-32-pae", 0 }, { "arm", 1 }, { "arm-virt", 1 },
		{ "arm-2g", 1 }, { "arm-marvell", 1 },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		km_machine *m = kt_machine(cases[c].profile, 0, 8, 0, KM_CHECK);
		km_task *t = task_on(m);
		void *va;
		uint64_t one = kt_stats(m).tlb_flush_one;
		KT_OK(km_kmap_local_page(m, kt_high(m, 0), &va));
		KT_EQ(kt_stats(m).tlb_flush_one, one + cases[c].on_map);
		void *va2; /* a second slot, mapped and unmapped */
		KT_OK(km_kmap_local_page(m, kt_high(m, 0), &va2));
		KT_OK(km_write(m, va2, "x", 1));
		KT_OK(km_kunmap_local(m, va2));
		one = kt_stats(m).tlb_flush_one;
		KT_EQ(kt_stats(m).local_maps, 2);
		KT_OK(km_task_switch(m, NULL));   /* sched out: an unmap */
		KT_EQ(kt_stats(m).tlb_flush_one, one + 1);
		KT_OK(km_task_switch(m, t));      /* sched in: a map */
		KT_EQ(kt_stats(m).tlb_flush_one, one + 1 + cases[c].on_map);
		char ch;
		KT_OK(km_read(m, va, &ch, 1));
		KT_EQ(ch, 'x');
		KT_OK(km_kunmap_local(m, va));
		KT_EQ(kt_stats(m).tlb_flush_one, one + 2 + cases[c].on_map);
		task_off(m, t);
		KT_CHECK(m);
		km_machine_destroy(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KT_TEST(local_addresses),
		KT_TEST(stack_full),
		KT_TEST(out_of_order),
		KT_TEST(kinds),
		KT_TEST(no_atomic_section),
		KT_TEST(might_sleep_in_atomic),
		KT_TEST(atomic_lowmem),
		KT_TEST(unmap_other_addresses),
		KT_TEST(strict_local),
		KT_TEST(helpers),
		KT_TEST(helpers_stack_full),
		KT_TEST(flushes_by_arch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
