/*
 * window.c - the copy helpers' use of the window (window.h). A hit is
 * copied through the slot with no system call: pinned by a lock-free
 * user under the lockless policies (no lock either), under the kmap lock
 * otherwise, as nothing clears a slot without it. A miss the admission
 * rule takes is mapped by the policy's map_admit and copied under the
 * same lock. Freestanding.
 */
#include "window.h"
#include "highmem.h"

/* Copy through a slot that cannot change under us. Where addresses are
 * the host's (KM_BE_REAL), the slot is memory mapped as the machine's
 * memory is (read-only under KM_RDONLY): no backend call to check it. */
static inline int through(struct km_core *k, uintptr_t va, size_t off,
                          void *buf, size_t len, int write)
{
	if (k->real && !(write && (k->flags & KM_RDONLY))) {
		if (write)
			__builtin_memcpy((void *)(va + off), buf, len);
		else
			__builtin_memcpy(buf, (const void *)(va + off), len);
		return 0;
	}
	return k->be->access(k->be_ctx, va + off, buf, len, write);
}

int km__window_copy_fast(struct km_core *k, struct km_task *t,
                         struct km_page *page, size_t off, void *buf,
                         size_t len, int write)
{
	uintptr_t va;
	bool wake;
	if (!k->pol->kmap_fast || !km__fast_ok(k))
		return 0;
	int f = k->pol->kmap_fast(k, page, &va);
	if (f < 0)
		km__wake_up(k, (unsigned)(-1 - f));
	if (f != 1)
		return 0;
	int r = through(k, va, off, buf, len, write);
	/* the user we hold keeps the page in its slot: this always succeeds */
	if (k->pol->kunmap_fast(k, page, &wake)) {
		if (wake)
			km__wake_up(k, km__pkmap_color(k, page));
	} else {
		km__kunmap_locked(k, page);
	}
	if (r)
		return r;
	__atomic_store_n(&t->copies[KM__COPY_WINDOW],
	                 t->copies[KM__COPY_WINDOW] + 1, __ATOMIC_RELAXED);
	return KM_COPY_WINDOW;
}

bool km__window_lock_miss(struct km_core *k, struct km_task *t,
                          struct km_page *page, unsigned est)
{
	unsigned c = km__pkmap_color(k, page);
	if (!km__fast_ok(k) ||
	    est >= __atomic_load_n(&k->admit_bar[c], __ATOMIC_RELAXED) ||
	    ++t->admit_skips >= KM__ADMIT_RECHECK) {
		t->admit_skips = 0;
		return true;
	}
	return false;
}

/*
 * With the lock: copy through slot @nr, which has a count of 1 or more.
 * In debug mode a slot without users is inaccessible: opened for the copy
 * and closed again.
 */
static int copy_locked(struct km_core *k, unsigned nr, size_t off, void *buf,
                       size_t len, int write)
{
	uintptr_t va = PKMAP_ADDR(k, nr);
	bool shut = (k->flags & KM_DEBUG) && km__count(k, nr) == 1;
	int r;
	if (shut && (r = k->be->protect(k->be_ctx, va, true)))
		return r;
	r = through(k, va, off, buf, len, write);
	if (shut) {
		int p = k->be->protect(k->be_ctx, va, false);
		if (!r)
			r = p;
	}
	return r;
}

int km__window_copy_locked(struct km_core *k, struct km_page *page,
                           size_t off, void *buf, size_t len, int write,
                           bool admit)
{
	int r, how = 0;
	uintptr_t va;
	k->drv->lock(k->drv_ctx);
	va = km__page_address_high(k, page);
	if (va) {
		how = KM_COPY_WINDOW;
	} else if (admit && k->pol->map_admit &&
	           !k->pol->map_admit(k, page, &va)) {
		how = KM_COPY_ADMITTED;
		k->stats.admissions++;
		if (k->pol->lockless)
			km__pkmap_tally_some(k);
		km__check_after(k, "admission");
	}
	r = how ? copy_locked(k, PKMAP_NR(k, va), off, buf, len, write) : 0;
	if (how == KM_COPY_WINDOW && !r)
		k->stats.copy_window++;
	k->drv->unlock(k->drv_ctx);
	return r ? r : how;
}
