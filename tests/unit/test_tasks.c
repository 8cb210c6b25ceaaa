/*
 * test_tasks.c - simulated tasks on one thread: sleeping on a full window,
 * FIFO wake-ups and retries, a sleeping task's calls, per-task atomic
 * sections, and local maps switched out and in with their task.
 */
#include "ktest.h"

#include "user.h"
#include "backend/sim.h"

#include <string.h>

#define NONE UINT64_MAX

static km_task *new_task(km_machine *m)
{
	km_task *t = NULL;
	KT_OK(km_task_create(m, &t));
	assert_non_null(t);
	return t;
}

static unsigned map_slot(km_machine *m, km_page *p)
{
	void *va;
	KT_OK(km_kmap(m, p, &va));
	return kt_slot_of(m, va);
}

static void sleep_wake_fifo(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 0, 4, 0, KM_CHECK);
	struct kt_events *ev = kt_events_new(m);
	km_task *A = new_task(m), *B = new_task(m), *C = new_task(m);
	km_page *p[8];
	for (unsigned i = 0; i < 8; i++)
		p[i] = kt_high(m, i);
	void *va = (void *)0x5;

	/* A fills the window: slots 1, 2, 3, then 0 after the wrap */
	KT_OK(km_task_switch(m, A));
	KT_EQ(map_slot(m, p[1]), 1);
	KT_EQ(map_slot(m, p[2]), 2);
	KT_EQ(map_slot(m, p[3]), 3);
	KT_EQ(kt_events_count(ev, KM_EV_FLUSH), 0);
	KT_EQ(map_slot(m, p[4]), 0);
	KT_FLUSH_IS(ev, 0, NULL, 0); /* the wrap found nothing to clear */
	for (unsigned i = 0; i < 4; i++)
		KT_SLOT(m, i, 2, kt_pfn(m, p[i ? i : 4]));

	/* B and C need new pages: they sleep */
	KT_OK(km_task_switch(m, B));
	KT_RC(km_kmap(m, p[5], &va), -KM_ESLEEPING);
	assert_ptr_equal(va, (void *)0x5);
	KT_EQ(km_task_state(m, B), KM_TASK_SLEEPING);
	KT_EQ(km_task_state(m, A), KM_TASK_RUNNING);
	struct kt_event se = kt_events_nth(ev, KM_EV_SLEEP, 0);
	assert_ptr_equal(se.task, B);
	KT_EQ(se.color, 0);
	/* whatever a sleeping current task tries, it is asleep */
	KT_RC(km_kmap(m, kt_low(m, 1), &va), -KM_ESLEEPING);
	KT_RC(km_kmap(m, p[1], &va), -KM_ESLEEPING);
	KT_RC(km_kunmap(m, p[1]), -KM_ESLEEPING);
	KT_RC(km_kmap_local_page(m, p[6], &va), -KM_ESLEEPING);
	KT_RC(km_kmap_atomic(m, kt_low(m, 1), &va), -KM_ESLEEPING);
	KT_EQ(kt_stats(m).sleeps, 1); /* none of that slept again */
	KT_SLOT(m, 1, 2, kt_pfn(m, p[1]));

	KT_OK(km_task_switch(m, C));
	KT_RC(km_kmap(m, p[6], &va), -KM_ESLEEPING);
	KT_EQ(km_task_state(m, C), KM_TASK_SLEEPING);
	assert_ptr_equal(kt_events_nth(ev, KM_EV_SLEEP, 1).task, C);
	assert_null(km_task_next_woken(m));
	KT_EQ(kt_events_count(ev, KM_EV_FLUSH), 3); /* each attempt wrapped once */
	KT_FLUSH_IS(ev, 1, NULL, 0);
	KT_FLUSH_IS(ev, 2, NULL, 0);

	/* a sleeping task cannot be destroyed */
	KT_RC(km_task_destroy(m, B), -EBUSY);

	/* A drops a user of p[2]: count 2 -> 1 wakes both sleepers */
	KT_OK(km_task_switch(m, A));
	KT_OK(km_kmap(m, p[2], &va)); /* count 3: no wake-up yet */
	KT_OK(km_kunmap(m, p[2]));
	KT_EQ(kt_events_count(ev, KM_EV_WAKE), 0);
	KT_EQ(km_task_state(m, B), KM_TASK_SLEEPING);
	KT_OK(km_kunmap(m, p[2]));
	KT_SLOT(m, 2, 1, kt_pfn(m, p[2]));
	KT_EQ(kt_events_count(ev, KM_EV_WAKE), 1);
	KT_EQ(kt_events_nth(ev, KM_EV_WAKE, 0).nr_woken, 2);
	KT_EQ(km_task_state(m, B), KM_TASK_WOKEN);
	KT_EQ(km_task_state(m, C), KM_TASK_WOKEN);
	struct km_stats s = kt_stats(m);
	KT_EQ(s.sleeps, 2);
	KT_EQ(s.wakeups, 1);

	/* handed back in the order they went to sleep */
	assert_ptr_equal(km_task_next_woken(m), B);
	KT_EQ(km_task_state(m, B), KM_TASK_RUNNING);
	KT_EQ(km_task_state(m, C), KM_TASK_WOKEN);
	assert_ptr_equal(km_task_next_woken(m), C);
	assert_null(km_task_next_woken(m));
	KT_EQ(km_task_state(m, C), KM_TASK_RUNNING);

	/* B retries: the wrap flushes slot 2 and B takes it */
	KT_OK(km_task_switch(m, B));
	KT_EQ(map_slot(m, p[5]), 2);
	KT_EQ(kt_events_count(ev, KM_EV_FLUSH), 4);
	static const unsigned two[] = { 2 };
	KT_FLUSH_IS(ev, 3, two, 1);
	assert_null(km_page_address(m, p[2]));
	/* C retries: full again, back to sleep */
	KT_OK(km_task_switch(m, C));
	KT_RC(km_kmap(m, p[6], &va), -KM_ESLEEPING);
	KT_EQ(km_task_state(m, C), KM_TASK_SLEEPING);
	KT_EQ(kt_stats(m).sleeps, 3);
	KT_FLUSH_IS(ev, 4, NULL, 0);

	/* B (running) releases p[5]: C wakes and gets slot 2 back */
	KT_OK(km_task_switch(m, B));
	KT_OK(km_kunmap(m, p[5]));
	assert_ptr_equal(km_task_next_woken(m), C);
	assert_null(km_task_next_woken(m));
	KT_OK(km_task_switch(m, C));
	KT_EQ(map_slot(m, p[6]), 2);

	/* a persistent mapping is global: anyone may kunmap it */
	KT_OK(km_kunmap(m, p[1]));
	KT_OK(km_kunmap(m, p[6]));
	KT_OK(km_task_switch(m, A));
	KT_OK(km_kunmap(m, p[3]));
	KT_OK(km_kunmap(m, p[4]));
	KT_EQ(km_leaks(m, NULL, 0), 0);
	KT_EQ(kt_stats(m).in_use, 0);
	KT_OK(km_task_switch(m, NULL));
	KT_OK(km_task_destroy(m, A));
	KT_OK(km_task_destroy(m, B));
	KT_OK(km_task_destroy(m, C));
	KT_STATS_SANE(m);
	KT_CHECK(m);
	kt_events_free(m, ev);
	km_machine_destroy(m);
}

/* FIFO is the order of going to sleep, not of creation. */
static void fifo_is_sleep_order(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 0, 2, 0, KM_CHECK);
	km_task *t[5];
	for (unsigned i = 0; i < 5; i++)
		t[i] = new_task(m);
	void *va;
	KT_OK(km_task_switch(m, t[0]));
	KT_OK(km_kmap(m, kt_high(m, 0), &va));
	KT_OK(km_kmap(m, kt_high(m, 1), &va));
	static const unsigned order[] = { 3, 1, 4, 2 };
	for (unsigned i = 0; i < 4; i++) {
		KT_OK(km_task_switch(m, t[order[i]]));
		KT_RC(km_kmap(m, kt_high(m, 10 + i), &va), -KM_ESLEEPING);
	}
	KT_OK(km_task_switch(m, t[0]));
	KT_OK(km_kunmap(m, kt_high(m, 0)));
	for (unsigned i = 0; i < 4; i++) {
		km_task *w = km_task_next_woken(m);
		if (w != t[order[i]])
			fail_msg("woken #%u is not the task that slept #%u", i, i);
	}
	assert_null(km_task_next_woken(m));
	/* only one of them can have the freed slot */
	unsigned ok = 0, slept = 0;
	for (unsigned i = 0; i < 4; i++) {
		KT_OK(km_task_switch(m, t[order[i]]));
		int r = km_kmap(m, kt_high(m, 10 + i), &va);
		if (r == 0)
			ok++;
		else if (r == -KM_ESLEEPING)
			slept++;
		else
			fail_msg("retry returned %d (%s)", r, km_strerror(r));
	}
	KT_EQ(ok, 1);
	KT_EQ(slept, 3);
	KT_CHECK(m);
	km_machine_destroy(m); /* sleeping tasks are freed with the machine */
}

/* NOWAIT does not sleep; TIMED sleeps as an untimed kmap does, since a
 * simulated task never blocks the thread; sleeping with no slot in sight
 * counts once per attempt. */
static void nowait_and_timed_tasks(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 0, 2, 0, KM_CHECK);
	km_task *A = new_task(m), *D = new_task(m);
	void *va;
	KT_OK(km_task_switch(m, A));
	KT_OK(km_kmap(m, kt_high(m, 0), &va));
	KT_OK(km_kmap(m, kt_high(m, 1), &va));
	KT_OK(km_task_switch(m, D));
	KT_RC(km_kmap_try(m, kt_high(m, 2), &va), -EAGAIN);
	KT_EQ(km_task_state(m, D), KM_TASK_RUNNING);
	KT_EQ(kt_stats(m).sleeps, 0);
	KT_RC(km_kmap_timeout(m, kt_high(m, 2), 1000, &va), -KM_ESLEEPING);
	KT_EQ(km_task_state(m, D), KM_TASK_SLEEPING);
	KT_EQ(kt_stats(m).sleeps, 1);
	/* the time passes; a simulated task is woken by a kunmap only */
	kt_sleep_us(2000);
	KT_EQ(km_task_state(m, D), KM_TASK_SLEEPING);
	assert_null(km_task_next_woken(m));
	KT_OK(km_task_switch(m, A));
	KT_OK(km_kunmap(m, kt_high(m, 1)));
	assert_ptr_equal(km_task_next_woken(m), D);
	KT_OK(km_task_switch(m, D));
	KT_OK(km_kmap_timeout(m, kt_high(m, 2), 1000, &va));
	KT_OK(km_kunmap(m, kt_high(m, 2)));
	KT_OK(km_kunmap(m, kt_high(m, 0)));
	KT_OK(km_task_switch(m, NULL));
	KT_OK(km_task_destroy(m, A));
	KT_OK(km_task_destroy(m, D));
	KT_EQ(km_leaks(m, NULL, 0), 0);
	KT_CHECK(m);
	km_machine_destroy(m);
}

/* A flush event names the task whose kmap (first or retried) or
 * kmap_flush_unused ran it; a thread's own task is NULL. */
static void flush_names_its_task(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 0, 2, 0, 0);
	struct kt_events *ev = kt_events_new(m);
	km_task *A = new_task(m), *B = new_task(m);
	km_page *p0 = kt_high(m, 0), *p1 = kt_high(m, 1), *p2 = kt_high(m, 2);
	void *va;

	KT_OK(km_kmap(m, p0, &va));             /* the thread's own: slot 1 */
	KT_OK(km_kunmap(m, p0));
	KT_OK(km_kmap(m, p1, &va));             /* wraps: a flush by no task */
	KT_EQ(kt_events_count(ev, KM_EV_FLUSH), 1);
	assert_null(kt_events_nth(ev, KM_EV_FLUSH, 0).task);

	KT_OK(km_task_switch(m, A));
	KT_OK(km_kmap(m, p0, &va));             /* slot 1, no wrap */
	KT_OK(km_task_switch(m, B));
	KT_RC(km_kmap(m, p2, &va), -KM_ESLEEPING); /* wraps, full: B's flush */
	KT_EQ(kt_events_count(ev, KM_EV_FLUSH), 2);
	assert_ptr_equal(kt_events_nth(ev, KM_EV_FLUSH, 1).task, B);

	KT_OK(km_task_switch(m, A));
	KT_OK(km_kunmap(m, p0));                /* wakes B */
	assert_ptr_equal(km_task_next_woken(m), B);
	KT_OK(km_task_switch(m, B));
	KT_OK(km_kmap(m, p2, &va));             /* the retry flushes slot 1 */
	KT_EQ(kt_events_count(ev, KM_EV_FLUSH), 3);
	assert_ptr_equal(kt_events_nth(ev, KM_EV_FLUSH, 2).task, B);
	KT_OK(km_kunmap(m, p2));

	KT_OK(km_task_switch(m, A));
	KT_OK(km_kmap_flush_unused(m));
	KT_EQ(kt_events_count(ev, KM_EV_FLUSH), 4);
	assert_ptr_equal(kt_events_nth(ev, KM_EV_FLUSH, 3).task, A);

	KT_OK(km_task_switch(m, NULL));
	KT_OK(km_kunmap(m, p1));
	KT_OK(km_kmap_flush_unused(m));
	KT_EQ(kt_events_count(ev, KM_EV_FLUSH), 5);
	assert_null(kt_events_nth(ev, KM_EV_FLUSH, 4).task);
	KT_OK(km_task_destroy(m, A));
	KT_OK(km_task_destroy(m, B));
	kt_events_free(m, ev);
	km_machine_destroy(m);
}

static void task_basics(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 0, 8, 0, KM_CHECK);
	km_task *a = new_task(m), *b = new_task(m);
	KT_EQ(km_task_state(m, a), KM_TASK_RUNNING);
	KT_EQ(km_task_local_depth(m, a), 0);
	KT_RC(km_task_local_depth(m, NULL), -EINVAL);
	KT_RC(km_task_create(m, NULL), -EINVAL);
	KT_RC(km_task_destroy(m, NULL), -EINVAL);
	KT_RC(km_task_switch(NULL, a), -EINVAL);
	KT_OK(km_task_switch(m, a));
	KT_OK(km_task_switch(m, a)); /* already current */
	KT_RC(km_task_destroy(m, a), -EBUSY);
	KT_OK(km_task_switch(m, b));
	KT_OK(km_task_destroy(m, a)); /* no longer current */

	/* atomic sections belong to the task */
	void *va, *vl;
	km_page *lo = kt_low(m, 77);
	KT_OK(km_kmap_atomic(m, lo, &vl));
	KT_EQ(km_in_atomic(m), 1);
	KT_RC(km_task_destroy(m, b), -EBUSY);
	KT_OK(km_task_switch(m, NULL));
	KT_EQ(km_in_atomic(m), 0);
	KT_OK(km_kmap(m, kt_high(m, 0), &va));
	KT_OK(km_kunmap(m, kt_high(m, 0)));
	KT_OK(km_task_switch(m, b));
	KT_EQ(km_in_atomic(m), 1);
	KT_RC(km_kmap(m, kt_high(m, 0), &va), -KM_EATOMIC);
	KT_OK(km_kunmap_atomic(m, vl));
	KT_EQ(km_in_atomic(m), 0);
	KT_OK(km_task_switch(m, NULL));
	KT_OK(km_task_destroy(m, b));
	KT_CHECK(m);
	km_machine_destroy(m);
}

static void local_maps_switch(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 0, 8, 0, KM_CHECK);
	km_task *A = new_task(m), *B = new_task(m);
	km_page *pa = kt_high(m, 0), *pb = kt_high(m, 1), *pt = kt_high(m, 2);
	void *xa, *xb, *xt;
	char buf[16];

	KT_OK(km_task_switch(m, A));
	KT_OK(km_kmap_local_page(m, pa, &xa));
	KT_OK(km_write(m, xa, "task A", 7));
	KT_EQ(km_task_local_depth(m, A), 1);

	KT_OK(km_task_switch(m, B));
	/* A's mapping is switched out: nothing at that address for B */
	KT_RC(km_read(m, xa, buf, 1), -EFAULT);
	KT_EQ(km_task_local_depth(m, B), 0);
	KT_OK(km_kmap_local_page(m, pb, &xb));
	assert_ptr_equal(xb, xa); /* the same stack index, the same address */
	KT_OK(km_write(m, xb, "task B", 7));
	assert_ptr_equal(km_kmap_to_page(m, xb), pb);

	for (unsigned round = 0; round < 3; round++) {
		KT_OK(km_task_switch(m, A));
		KT_OK(km_read(m, xa, buf, 7));
		assert_string_equal(buf, "task A");
		assert_ptr_equal(km_kmap_to_page(m, xa), pa);
		KT_CHECK(m);
		KT_OK(km_task_switch(m, B));
		KT_OK(km_read(m, xa, buf, 7));
		assert_string_equal(buf, "task B");
		KT_CHECK(m);
	}
	KT_EQ(kt_stats(m).tlb_stale, 0);

	/* the thread's own task: its own stack, index 0 at the same address */
	KT_OK(km_task_switch(m, NULL));
	KT_RC(km_read(m, xa, buf, 1), -EFAULT);
	KT_OK(km_kmap_local_page(m, pt, &xt));
	assert_ptr_equal(xt, xa);
	KT_OK(km_write(m, xt, "thread", 7));

	/* leaks: both tasks' local maps, listed by task */
	struct km_leak lk[4];
	KT_EQ(km_leaks(m, lk, 4), 2);
	assert_ptr_equal(lk[0].task, A);
	KT_EQ(lk[0].pfn, kt_pfn(m, pa));
	KT_EQ(lk[0].local, 1);
	assert_ptr_equal(lk[1].task, B);
	KT_EQ(lk[1].pfn, kt_pfn(m, pb));
	/* a task that holds local maps cannot be destroyed */
	KT_RC(km_task_destroy(m, A), -EBUSY);

	/* each releases its own */
	KT_OK(km_kunmap_local(m, xt));
	KT_OK(km_task_switch(m, A));
	KT_OK(km_read(m, xa, buf, 7));
	assert_string_equal(buf, "task A");
	KT_OK(km_kunmap_local(m, xa));
	KT_OK(km_task_switch(m, B));
	KT_OK(km_kunmap_local(m, xb));
	KT_OK(km_task_switch(m, NULL));
	KT_EQ(km_leaks(m, NULL, 0), 0);
	KT_OK(km_task_destroy(m, A));
	KT_OK(km_task_destroy(m, B));
	/* the bytes stayed in the pages */
	KT_OK(km_memcpy_from_page(m, buf, pa, 0, 7));
	assert_string_equal(buf, "task A");
	KT_OK(km_memcpy_from_page(m, buf, pb, 0, 7));
	assert_string_equal(buf, "task B");
	KT_OK(km_memcpy_from_page(m, buf, pt, 0, 7));
	assert_string_equal(buf, "thread");
	KT_EQ(kt_stats(m).tlb_stale, 0);
	KT_CHECK(m);
	km_machine_destroy(m);
}

/* Deeper stacks switch whole: 15 entries each. */
static void full_stacks_switch(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 0, 8, 0, KM_CHECK);
	km_task *t[2] = { new_task(m), new_task(m) };
	void *va[2][15];
	for (unsigned k = 0; k < 2; k++) {
		KT_OK(km_task_switch(m, t[k]));
		for (unsigned i = 0; i < 15; i++) {
			KT_OK(km_kmap_local_page(m, kt_high(m, 100 * k + i), &va[k][i]));
			unsigned char c = (unsigned char)(16 * k + i);
			KT_OK(km_write(m, va[k][i], &c, 1));
		}
	}
	for (unsigned round = 0; round < 4; round++) {
		unsigned k = round & 1;
		KT_OK(km_task_switch(m, t[k]));
		KT_EQ(km_task_local_depth(m, t[k]), 15);
		for (unsigned i = 0; i < 15; i++) {
			unsigned char c;
			KT_OK(km_read(m, va[k][i], &c, 1));
			KT_EQ(c, 16 * k + i);
			assert_ptr_equal(km_kmap_to_page(m, va[k][i]),
			                 kt_high(m, 100 * k + i));
		}
		KT_CHECK(m);
	}
	KT_EQ(km_leaks(m, NULL, 0), 30);
	for (unsigned k = 0; k < 2; k++) {
		KT_OK(km_task_switch(m, t[k]));
		for (int i = 14; i >= 0; i--)
			KT_OK(km_kunmap_local(m, va[k][i]));
	}
	KT_OK(km_task_switch(m, NULL));
	KT_EQ(km_leaks(m, NULL, 0), 0);
	KT_EQ(kt_stats(m).tlb_stale, 0);
	KT_CHECK(m);
	km_machine_destroy(m);
}

/*
 * A switch the backend fails part-way changes nothing: the old task stays
 * current with every local map live (the PTEs sched_out cleared put back),
 * and none of the new task's PTEs is left in the area (the ones sched_in
 * set taken away). One failure at each mutating call of the switch, on
 * x86 (clear, flush per map out; set per map in) and on ARM (a flush
 * after each set too).
 */
#define SW_A 2
#define SW_B 4
struct sw {
	km_machine *m;
	km_task *A, *B;
	void *xa[SW_A], *xb[SW_B];
};

static void sw_maps(struct sw *s, km_task *t, void **x, unsigned n,
                    unsigned base)
{
	KT_OK(km_task_switch(s->m, t));
	for (unsigned i = 0; i < n; i++) {
		unsigned char c = (unsigned char)(base + i);
		KT_OK(km_kmap_local_page(s->m, kt_high(s->m, base + i), &x[i]));
		KT_OK(km_write(s->m, x[i], &c, 1));
	}
}

/* A is current: its maps read its bytes, B's deeper slots nothing. */
static void sw_a_intact(struct sw *s)
{
	unsigned char c;
	for (unsigned i = 0; i < SW_A; i++) {
		KT_OK(km_read(s->m, s->xa[i], &c, 1));
		KT_EQ(c, 10 + i);
		assert_ptr_equal(km_kmap_to_page(s->m, s->xa[i]), kt_high(s->m, 10 + i));
	}
	for (unsigned i = SW_A; i < SW_B; i++)
		KT_RC(km_read(s->m, s->xb[i], &c, 1), -EFAULT);
	KT_EQ(km_task_local_depth(s->m, s->A), SW_A);
}

static void sw_b_intact(struct sw *s)
{
	unsigned char c;
	for (unsigned i = 0; i < SW_B; i++) {
		KT_OK(km_read(s->m, s->xb[i], &c, 1));
		KT_EQ(c, 20 + i);
	}
}

static void sw_setup(struct sw *s, const char *profile)
{
	s->m = kt_machine(profile, 0, 8, 0, KM_CHECK);
	s->A = new_task(s->m);
	s->B = new_task(s->m);
	sw_maps(s, s->B, s->xb, SW_B, 20);
	sw_maps(s, s->A, s->xa, SW_A, 10);
	for (unsigned i = 0; i < SW_A; i++)
		assert_ptr_equal(s->xa[i], s->xb[i]); /* the same slots */
}

static void sw_teardown(struct sw *s)
{
	for (int i = SW_B - 1; i >= 0; i--)
		KT_OK(km_kunmap_local(s->m, s->xb[i]));
	KT_OK(km_task_switch(s->m, s->A));
	sw_a_intact(s);
	for (int i = SW_A - 1; i >= 0; i--)
		KT_OK(km_kunmap_local(s->m, s->xa[i]));
	KT_OK(km_task_switch(s->m, NULL));
	KT_OK(km_task_destroy(s->m, s->A));
	KT_OK(km_task_destroy(s->m, s->B));
	KT_EQ(kt_stats(s->m).tlb_stale, 0);
	KT_CHECK(s->m);
	km_machine_destroy(s->m);
}

static void switch_fails_part_way(void **state)
{
	(void)state;
	static const struct { const char *profile; unsigned calls; } cases[] = {
		{ "x86-32", 2 * SW_A + SW_B }, { "arm", 2 * SW_A + 2 * SW_B },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct sw s;
		sw_setup(&s, cases[c].profile);
		void *be = km__machine_backend(s.m);
		struct km__sim_faults none = { 0 };
		unsigned failed = 0;
		for (uint64_t at = 1;; at++) {
			struct km__sim_faults f = {
				.fail_at = at,
				.kinds = KM_SIM_FAULT_MAP | KM_SIM_FAULT_CLEAR |
				         KM_SIM_FAULT_FLUSH,
			};
			km__sim_set_faults(be, &f);
			int r = km_task_switch(s.m, s.B);
			km__sim_set_faults(be, &none);
			if (!r)
				break;
			KT_RC(r, -EIO);
			failed++;
			sw_a_intact(&s);
			KT_CHECK(s.m);
		}
		KT_EQ(failed, cases[c].calls);
		sw_b_intact(&s);
		sw_teardown(&s);
	}
}

/*
 * Even putting A's PTEs back fails: the switch says so (-KM_ECORRUPT), as
 * km_check does, and the next switch that works mends it.
 */
static void switch_undo_fails(void **state)
{
	(void)state;
	struct sw s;
	sw_setup(&s, "x86-32");
	void *be = km__machine_backend(s.m);
	struct km__sim_faults f = { .fail_at = 3, .kinds = KM_SIM_FAULT_CLEAR,
	                            .always = KM_SIM_FAULT_MAP };
	struct km__sim_faults none = { 0 };
	km__sim_set_faults(be, &f);
	KT_RC(km_task_switch(s.m, s.B), -KM_ECORRUPT);
	km__sim_set_faults(be, &none);
	unsigned char c;
	KT_RC(km_read(s.m, s.xa[0], &c, 1), -EFAULT); /* cleared, not back */
	KT_RC(km_check(s.m, NULL, 0), -KM_ECORRUPT);
	KT_EQ(km_task_local_depth(s.m, s.A), SW_A);
	KT_OK(km_task_switch(s.m, s.B));
	sw_b_intact(&s);
	KT_OK(km_task_switch(s.m, s.A));
	sw_a_intact(&s);
	KT_CHECK(s.m);
	KT_OK(km_task_switch(s.m, s.B));
	sw_teardown(&s);

	/* B's first PTE cannot be set, nor then A's again: A is still
	 * current, on its cpu for km_check, which finds its slots empty */
	sw_setup(&s, "x86-32");
	be = km__machine_backend(s.m);
	f = (struct km__sim_faults){ .always = KM_SIM_FAULT_MAP };
	km__sim_set_faults(be, &f);
	KT_RC(km_task_switch(s.m, s.B), -KM_ECORRUPT);
	km__sim_set_faults(be, &none);
	KT_RC(km_read(s.m, s.xa[0], &c, 1), -EFAULT);
	KT_RC(km_check(s.m, NULL, 0), -KM_ECORRUPT);
	KT_OK(km_task_switch(s.m, s.B));
	sw_b_intact(&s);
	sw_teardown(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KT_TEST(sleep_wake_fifo),
		KT_TEST(fifo_is_sleep_order),
		KT_TEST(nowait_and_timed_tasks),
		KT_TEST(task_basics),
		KT_TEST(flush_names_its_task),
		KT_TEST(local_maps_switch),
		KT_TEST(full_stacks_switch),
		KT_TEST(switch_fails_part_way),
		KT_TEST(switch_undo_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
