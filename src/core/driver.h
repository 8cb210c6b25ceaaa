/*
 * driver.h - the driver contract: what "lock", "current task", "sleep"
 * and "wake" mean where the core runs. The core's operations (highmem.c,
 * local.c, api.c) are whole: kmap_high's look-up, mapping, sleeping on the
 * colour's queue and retrying, and kunmap_high's wake-up are written once
 * there; a driver supplies only these primitives. Two implement it: the
 * user-space driver (src/cpu.c: a lock word, a condition variable per
 * colour, a thread per CPU) and the project's kernel (kernel/kapi.c: one CPU,
 * cooperative threads, schedule()).
 */
#ifndef KMAP_DRIVER_H
#define KMAP_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

struct km_task;
struct km_wait;

/*
 * What a driver's sleep() may answer instead of blocking: the task stays on
 * its queue, asleep, and the caller gets -KM_ESLEEPING. A later wake-up
 * puts it on the core's woken list (km_task_next_woken), and the kmap is
 * retried from the top, as the kernel's map_new_virtual() re-checks
 * page_address() after its schedule(). Positive, so no -errno is taken
 * for it.
 */
#define KM__PARKED 1

/*
 * What km__kmap hands to the driver's sleep(): the caller's timeout (with
 * KM_MAP_TIMED), and room for the driver to keep the deadline it computes
 * at the first sleep, so every sleep of one kmap shares it.
 */
struct km_wait {
	uint64_t timeout_ns;
	bool timed;
	bool armed;                /* the driver has set the deadline */
	int64_t deadline_sec;
	long deadline_nsec;
};

struct km_driver_ops {
	/* kmap_lock: held around every change of the window's state. */
	void (*lock)(void *drv);
	void (*unlock)(void *drv);

	/*
	 * The task running on the calling CPU: 0 and *t, or -errno (no memory
	 * for the CPU's state, or -KM_ESLEEPING when that task is asleep).
	 */
	int (*current)(void *drv, struct km_task **t);

	/*
	 * Called with the lock held and @t on its colour's queue (state
	 * SLEEPING). Either block: release the lock, wait until @t is no
	 * longer SLEEPING, take the lock again and return 0 (the core retries);
	 * or return KM__PARKED at once; or give up: return -errno (-ETIMEDOUT)
	 * and the core takes @t off the queue. @wait is what the caller of
	 * km__kmap passed, or NULL.
	 */
	int (*sleep)(void *drv, struct km_task *t, struct km_wait *wait);

	/*
	 * A wake-up took @t (not parked) off a queue; it is WOKEN. Lock held.
	 * NULL: nothing to do per task (wake_done wakes them).
	 */
	void (*woken)(void *drv, struct km_task *t);
	/* A wake-up of @color's queue is complete. Lock held. NULL: none. */
	void (*wake_done)(void *drv, unsigned color);

	/*
	 * The calling CPU's task needs its local-map area (a highmem local map
	 * is about to be made): 0, or -EBUSY when none is free. NULL: every
	 * task's area is always there.
	 */
	int (*local_area)(void *drv, struct km_task *t);

	/* KM_STRICT: a misuse or a broken invariant; @what says which. Must
	 * not return. */
	void (*bug)(void *drv, const char *what);
};

#endif
