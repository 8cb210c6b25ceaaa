/*
 * local.h - task-local maps: kmap_local_page(), kmap_atomic(), their
 * unmaps, the switch of a task's local PTEs with the task, kmap_to_page().
 * local.c; freestanding. No kmap lock: only the task's own CPU touches its
 * stack. @t is the current task of its CPU.
 */
#ifndef KMAP_LOCAL_H
#define KMAP_LOCAL_H

#include "machine.h"

void km__task_init(struct km_task *t, bool simulated);
/*
 * Is @t one of @k's tasks (on k->tasks)? Compares pointers only, so a
 * freed task or another machine's is refused without being read. O(1)
 * for a task seen lately, else O(tasks). The caller holds the kmap lock.
 */
bool km__task_known(struct km_core *k, const struct km_task *t);
/* @t leaves k->tasks: no longer known (lock held). */
void km__task_forget(struct km_core *k, const struct km_task *t);

/*
 * km__kmap_local_page - push @page on @t's stack (kind KM_KIND_LOCAL or
 * KM_KIND_ATOMIC): 0 and *vaddr; -KM_ESTACKFULL; a backend's or the
 * driver's -errno (t->sys_err set).
 */
int km__kmap_local_page(struct km_core *k, struct km_task *t,
                        struct km_page *page, int kind, uintptr_t *vaddr);
/*
 * km__kunmap_local_indexed - pop the newest entry, at @va. An address
 * outside the task's area (lowmem, a pkmap slot with users) unmaps
 * nothing, as in the kernel; kunmap_atomic still closes its section.
 * -KM_ENOTTOP, -KM_EKIND, -KM_ENOATOMIC, -EINVAL with nothing changed.
 * Takes the kmap lock only to read a pkmap slot's count.
 */
int km__kunmap_local_indexed(struct km_core *k, struct km_task *t,
                             uintptr_t va, int kind);
/* the index of @va in @t's area, or -1 */
int km__local_index(const struct km_core *k, const struct km_task *t,
                    uintptr_t va);
/*
 * __kmap_local_sched_out / _in: switch a task's PTEs off or onto its cpu.
 * A backend's -errno changes nothing (out: all still set; in: none set);
 * -KM_ECORRUPT when even undoing failed: some are, some not (km_check).
 */
int km__local_sched_out(struct km_core *k, struct km_task *t);
int km__local_sched_in(struct km_core *k, struct km_task *t);
/* @t's thread exits holding local maps: off its cpu (their PTEs cleared)
 * they no longer count as live for KM_READAHEAD; still on it (the exit
 * failed to clear them) they do. @t's stack is left for km_leaks. */
void km__local_gone(struct km_core *k, const struct km_task *t);
/* kmap_to_page() for pkmap, local (of @t; may be NULL) and direct-map
 * addresses; NULL for any other */
struct km_page *km__kmap_to_page(struct km_core *k, const struct km_task *t,
                                 uintptr_t va);

#endif
