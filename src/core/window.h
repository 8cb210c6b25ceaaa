/*
 * window.h - the copy helpers' use of the window: bytes of a page copied
 * from its slot when it is in the window, or through a slot the admission
 * rule gives it. What is not done here (copying straight from the memory,
 * runs for a scan) is the driver's (src/copy.c). window.c; freestanding.
 */
#ifndef KMAP_WINDOW_H
#define KMAP_WINDOW_H

#include "pkmap.h"

/*
 * km__window_copy_fast - without the lock: copy @len bytes at @off of
 * @page (highmem, @off + @len within the page; @buf to or from it as
 * @write says) from its slot, pinned by a lock-free user, when the policy
 * has a lock-free hit: KM_COPY_WINDOW; 0 when it did not find the page
 * there (a miss, or a policy that looks under the lock); a backend's
 * -errno.
 */
int km__window_copy_fast(struct km_core *k, struct km_task *t,
                         struct km_page *page, size_t off, void *buf,
                         size_t len, int write);

/*
 * km__window_lock_miss - without the lock: should a miss of
 * km__window_copy_fast under a lockless policy take the lock for
 * km__window_copy_locked? Not when @page, counted @est by the admission
 * rule (record(); 0 when the rule counts nothing), is below its colour's
 * admission bar (admit.h), except every KM__ADMIT_RECHECK-th time for
 * task @t; always when the lock-free hit is off (KM_CHECK, KM_DEBUG), as
 * hits are found under the lock then.
 */
bool km__window_lock_miss(struct km_core *k, struct km_task *t,
                          struct km_page *page, unsigned est);

/*
 * km__window_copy_locked - with the lock taken here: the same copy when
 * @page is in the window (KM_COPY_WINDOW), else, when @admit, through the
 * slot the policy's map_admit gives it (KM_COPY_ADMITTED); 0 when the page
 * stays out (the caller copies it from the memory); a backend's -errno
 * from the copy. A failed mapping is a page kept out, not an error.
 */
int km__window_copy_locked(struct km_core *k, struct km_page *page,
                           size_t off, void *buf, size_t len, int write,
                           bool admit);

#endif
