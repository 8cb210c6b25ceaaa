/*
 * local.c - task-local maps (kmap_local_page, kmap_atomic), as the kernel's
 * mm/highmem.c does them since 5.11: a per-task stack of fixmap slots,
 * switched out and in with the task. Freestanding; no kmap lock needed,
 * since only the task's own CPU touches its stack (but the pkmap window,
 * where ARCH_NEEDS_KMAP_HIGH_GET lets a local map reuse a page's slot,
 * goes through highmem.c, which takes it).
 */
#include "local.h"
#include "highmem.h"

void km__task_init(struct km_task *t, bool simulated)
{
	*t = (struct km_task){ 0 };
	t->simulated = simulated;
	t->state = KM_TASK_RUNNING;
	t->cpu = KM_NO_CPU;
	INIT_LIST_HEAD(&t->wait);
	INIT_LIST_HEAD(&t->woken);
	INIT_LIST_HEAD(&t->all);
}

static unsigned task_hash(const struct km_task *t)
{
	uint32_t a = (uint32_t)((uintptr_t)t >> 4);
	return (a * GOLDEN_RATIO_32) >> (32 - KM_TASK_SEEN_SHIFT);
}

bool km__task_known(struct km_core *k, const struct km_task *t)
{
	unsigned h = task_hash(t);
	if (k->task_seen[h] == t && t)
		return true;
	for (const struct list_head *p = k->tasks.next; p != &k->tasks;
	     p = p->next)
		if (km__container_of(p, const struct km_task, all) == t) {
			k->task_seen[h] = t;
			return true;
		}
	return false;
}

void km__task_forget(struct km_core *k, const struct km_task *t)
{
	unsigned h = task_hash(t);
	if (k->task_seen[h] == t)
		k->task_seen[h] = NULL;
}

/* The stack index of the local slot @va of @t's area: each index has a
 * slot per colour (km__local_addr). */
int km__local_index(const struct km_core *k, const struct km_task *t,
                    uintptr_t va)
{
	if (t->cpu == KM_NO_CPU)
		return -1;
	uintptr_t top = k->kmap_area[t->cpu];
	va &= ~(uintptr_t)(PAGE_SIZE - 1);
	if (va > top || va < km__local_low(k, t->cpu))
		return -1;
	return (int)(((top - va) >> PAGE_SHIFT) / k->colors);
}

/* A task's local slot @i: the address its PTE goes to. */
static uintptr_t slot_addr(const struct km_core *k, const struct km_task *t,
                           int i)
{
	return km__local_addr(k, t->cpu, i, t->kmap_ctrl.pteval[i] - 1);
}

/* KM_READAHEAD: the highmem local maps live (core.h's ahead_local); a
 * new one also makes what was read ahead stale. */
static inline void ahead_local(struct km_core *k, int d)
{
	if (!(k->flags & KM_READAHEAD))
		return;
	__atomic_add_fetch(&k->ahead_local, (uint32_t)d, __ATOMIC_SEQ_CST);
	if (d > 0)
		km__ahead_stale(k);
}

/*
 * arch_kmap_local_post_map(): ARM flushes the page just mapped from this
 * CPU's TLB (local_flush_tlb_kernel_page), x86 does nothing. A failed
 * flush takes the PTE back: the map did not happen.
 */
static int local_post_map(struct km_core *k, uintptr_t va)
{
	if (k->profile->arch != KM_ARCH_ARM)
		return 0;
	int r = k->be->flush_tlb_one(k->be_ctx, va);
	if (r)
		k->be->clear_ptes(k->be_ctx, va, 1);
	return r;
}

int km__kmap_local_page(struct km_core *k, struct km_task *t,
                        struct km_page *page, int kind, uintptr_t *vaddr)
{
	t->sys_err = false;
	if (!PageHighMem(k, page)) {
		if (kind == KM_KIND_ATOMIC)
			t->atomic_depth++;
		*vaddr = lowmem_page_address(k, page);
		return 0;
	}
	/* arch_kmap_local_high_get(): where the arch needs kmap_high_get, a
	 * page already in the window is used there, with a user taken */
	if (k->profile->kmap_high_get && !km__kmap_high_get(k, page, vaddr)) {
		if (kind == KM_KIND_ATOMIC)
			t->atomic_depth++;
		return 0;
	}
	struct kmap_ctrl *kc = &t->kmap_ctrl;
	/* kmap_local_idx_push(): BUG_ON(idx >= KM_MAX_IDX) after the push */
	if (kc->idx + 1 >= KM_MAX_IDX)
		return -KM_ESTACKFULL;
	int r = 0;
	if (k->drv->local_area)
		r = k->drv->local_area(k->drv_ctx, t);
	uint64_t pfn = page_to_pfn(k, page);
	uintptr_t va = r ? 0 : km__local_addr(k, t->cpu, kc->idx, pfn);
	if (!r) {
		ahead_local(k, 1); /* counted before its PTE is seen */
		r = k->be->set_pte(k->be_ctx, va, pfn);
	}
	if (!r)
		r = local_post_map(k, va);
	if (r) {
		if (va)
			ahead_local(k, -1);
		t->sys_err = true;
		return r;
	}
	kc->pteval[kc->idx] = pfn + 1;
	kc->kind[kc->idx] = (uint8_t)kind;
	kc->idx++;
	if (kind == KM_KIND_ATOMIC)
		t->atomic_depth++;
	*vaddr = va;
	return 0;
}

/* A pkmap address someone holds (kmap, kmap_high_get): its slot has users. */
static bool pkmap_held(struct km_core *k, uintptr_t va)
{
	if (!km__in_pkmap(k, va))
		return false;
	k->drv->lock(k->drv_ctx);
	bool held = km__count(k, PKMAP_NR(k, va)) >= 2;
	k->drv->unlock(k->drv_ctx);
	return held;
}

/*
 * kunmap_local_indexed(): only the newest entry may go. An address outside
 * the task's area unmaps nothing, as in the kernel: lowmem, or a pkmap
 * slot with users where the arch does not need kmap_high_get; where it
 * does, a pkmap slot is the page's kunmap_high(). kunmap_atomic closes its
 * section either way. A pkmap slot without users (no kmap_high_get) cannot
 * be one a caller holds: -EINVAL.
 */
int km__kunmap_local_indexed(struct km_core *k, struct km_task *t,
                             uintptr_t va, int kind)
{
	t->sys_err = false;
	if (kind == KM_KIND_ATOMIC && t->atomic_depth <= 0)
		return -KM_ENOATOMIC;
	int idx = km__local_index(k, t, va);
	if (idx < 0) {
		if (km__in_pkmap(k, va) && k->profile->kmap_high_get) {
			uint64_t pte = __atomic_load_n(&k->pkmap_page_table[PKMAP_NR(k, va)],
			                               __ATOMIC_RELAXED);
			int r = pte ? km__kunmap_locked(k, pfn_to_page(k, pte - 1)) :
			              -KM_ENOTMAPPED;
			if (r)
				return r;
		} else if (!km__in_lowmem(k, va) && !pkmap_held(k, va)) {
			return -EINVAL;
		}
		if (kind == KM_KIND_ATOMIC)
			t->atomic_depth--;
		return 0;
	}
	struct kmap_ctrl *kc = &t->kmap_ctrl;
	/* above the top: unmapped already, or never the task's (a dead
	 * thread's area, now this one's); or, with colours, a slot of another
	 * colour than the entry's: none of the task's mappings */
	if (idx >= kc->idx ||
	    slot_addr(k, t, idx) != (va & ~(uintptr_t)(PAGE_SIZE - 1)))
		return -EINVAL;
	if (idx != kc->idx - 1)
		return -KM_ENOTTOP;
	if (kc->kind[idx] != kind)
		return -KM_EKIND;
	uintptr_t slot = slot_addr(k, t, idx);
	int r = k->be->clear_ptes(k->be_ctx, slot, 1);
	if (r) {
		t->sys_err = true;
		return r;
	}
	/* arch_kmap_local_post_unmap(): x86 and ARM flush the one page */
	r = k->be->flush_tlb_one(k->be_ctx, slot);
	if (r) {
		/* put the PTE back: the mapping is still live */
		k->be->set_pte(k->be_ctx, slot, kc->pteval[idx] - 1);
		t->sys_err = true;
		return r;
	}
	kc->pteval[idx] = 0;
	kc->kind[idx] = 0;
	kc->idx--;
	if (kind == KM_KIND_ATOMIC)
		t->atomic_depth--;
	ahead_local(k, -1);
	return 0;
}

/* Clear @t's local PTEs 0..@n-1, each flushed: 0, or the first error
 * and in *done the index it came at. */
static int slots_clear(struct km_core *k, struct km_task *t, int n, int *done)
{
	for (*done = 0; *done < n; ++*done) {
		uintptr_t va = slot_addr(k, t, *done);
		int r = k->be->clear_ptes(k->be_ctx, va, 1);
		if (!r)
			r = k->be->flush_tlb_one(k->be_ctx, va);
		if (r)
			return r;
	}
	return 0;
}

/* Set @t's local PTEs 0..@n-1: 0, or the first error and in *done the
 * index it came at. */
static int slots_set(struct km_core *k, struct km_task *t, int n, int *done)
{
	for (*done = 0; *done < n; ++*done) {
		uintptr_t va = slot_addr(k, t, *done);
		int r = k->be->set_pte(k->be_ctx, va,
		                       t->kmap_ctrl.pteval[*done] - 1);
		if (!r)
			r = local_post_map(k, va);
		if (r)
			return r;
	}
	return 0;
}

/*
 * __kmap_local_sched_out(): clear the task's local PTEs from its CPU. A
 * backend's error changes nothing: the ones cleared (and the one it came
 * at, maybe half done) are set again.
 */
int km__local_sched_out(struct km_core *k, struct km_task *t)
{
	int i, r = slots_clear(k, t, t->kmap_ctrl.idx, &i);
	if (r)
		return slots_set(k, t, i + 1, &i) ? -KM_ECORRUPT : r;
	t->on_cpu = false;
	return 0;
}

void km__local_gone(struct km_core *k, const struct km_task *t)
{
	if (!t->on_cpu)
		ahead_local(k, -t->kmap_ctrl.idx);
}

/* __kmap_local_sched_in(): install them again on the task's CPU; on an
 * error none of them stays. */
int km__local_sched_in(struct km_core *k, struct km_task *t)
{
	int i, r = slots_set(k, t, t->kmap_ctrl.idx, &i);
	if (r)
		return slots_clear(k, t, i + 1, &i) ? -KM_ECORRUPT : r;
	t->on_cpu = true;
	return 0;
}

struct km_page *km__kmap_to_page(struct km_core *k, const struct km_task *t,
                                 uintptr_t va)
{
	if (km__in_pkmap(k, va)) {
		uint64_t pte = k->pkmap_page_table[PKMAP_NR(k, va)];
		return pte ? pfn_to_page(k, pte - 1) : NULL;
	}
	if (t) {
		int idx = km__local_index(k, t, va);
		if (idx >= 0)
			return idx < t->kmap_ctrl.idx &&
			       slot_addr(k, t, idx) ==
			               (va & ~(uintptr_t)(PAGE_SIZE - 1)) ?
			       pfn_to_page(k, t->kmap_ctrl.pteval[idx] - 1) : NULL;
	}
	if (km__in_lowmem(k, va)) {
		uint64_t pfn = k->pfn_offset + ((va - k->page_offset) >> PAGE_SHIFT);
		return km__pfn_valid(k, pfn) ? pfn_to_page(k, pfn) : NULL;
	}
	return NULL;
}
