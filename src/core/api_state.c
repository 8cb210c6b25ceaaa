/*
 * api_state.c - the public functions of kmap.h over the core, second half:
 * bytes through a mapping, woken tasks and their state, the window's
 * slots, the event hook, the consistency check and leaks (vmap areas'
 * too). Freestanding,
 * as api.c.
 */
#include "api.h"
#include "local.h"
#include "vmalloc.h"

/* ---------------------------------------------------------------------- */
/* Bytes                                                                   */
/* ---------------------------------------------------------------------- */

static int access_range(km_machine *m, uintptr_t va, void *buf, size_t len,
                        int write)
{
	struct km_core *k = core(m);
	char *p = buf;
	if (!k || (!buf && len))
		return -EINVAL;
	/* within one page (the common case): the backend checks it */
	if (len <= PAGE_SIZE - (va & (PAGE_SIZE - 1)))
		return len ? k->be->access(k->be_ctx, va, p, len, write) : 0;
	/* past the end of the address space there is no translation */
	if (len - 1 > UINTPTR_MAX - va)
		return -EFAULT;
	/* bad input changes nothing: a range over several pages is checked
	 * whole before the first byte is copied */
	uintptr_t last = va + (len - 1);
	for (uintptr_t a = va; k->be->mapped; a += PAGE_SIZE) {
		if (!k->be->mapped(k->be_ctx, a))
			return -EFAULT;
		if ((a ^ last) >> PAGE_SHIFT == 0)
			break;
	}
	while (len) {
		size_t n = PAGE_SIZE - (va & (PAGE_SIZE - 1));
		if (n > len)
			n = len;
		int r = k->be->access(k->be_ctx, va, p, n, write);
		if (r)
			return r;
		va += n;
		p += n;
		len -= n;
	}
	return 0;
}

int km_read(km_machine *m, const void *addr, void *buf, size_t len)
{
	return access_range(m, (uintptr_t)addr, buf, len, 0);
}

int km_write(km_machine *m, void *addr, const void *buf, size_t len)
{
	return access_range(m, (uintptr_t)addr, (void *)(uintptr_t)buf, len, 1);
}

/* ---------------------------------------------------------------------- */
/* Tasks                                                                   */
/* ---------------------------------------------------------------------- */

km_task *km_task_next_woken(km_machine *m)
{
	struct km_core *k = core(m);
	if (!k || !__atomic_load_n(&k->nr_woken, __ATOMIC_ACQUIRE))
		return NULL;
	lock(k);
	struct km_task *t = NULL;
	if (!list_empty(&k->woken)) {
		t = km__container_of(k->woken.next, struct km_task, woken);
		list_del_init(&t->woken);
		t->state = KM_TASK_RUNNING;
		t->parked = false;
		__atomic_store_n(&k->nr_woken, k->nr_woken - 1, __ATOMIC_RELEASE);
	}
	unlock(k);
	return t;
}

enum km_task_state km_task_state(km_machine *m, const km_task *t)
{
	struct km_core *k = core(m);
	if (!k)
		return KM_TASK_NONE;
	if (!t)
		return KM_TASK_RUNNING; /* the calling thread's own task */
	lock(k);
	enum km_task_state s = km__task_known(k, t) ?
	                       (enum km_task_state)t->state : KM_TASK_NONE;
	unlock(k);
	return s;
}

int km_task_local_depth(km_machine *m, const km_task *t)
{
	struct km_core *k = core(m);
	if (!k || !t)
		return -EINVAL;
	lock(k);
	int r = km__task_known(k, t) ? t->kmap_ctrl.idx : -EINVAL;
	unlock(k);
	return r;
}

/* ---------------------------------------------------------------------- */
/* Inspection                                                              */
/* ---------------------------------------------------------------------- */

int km_pkmap_slot(km_machine *m, unsigned nr, struct km_slot *out)
{
	struct km_core *k = core(m);
	if (!k || !out || nr >= k->last_pkmap)
		return -EINVAL;
	lock(k);
	out->count = km__count(k, nr);
	uint64_t pte = k->pkmap_page_table[nr];
	out->pfn = pte ? pte - 1 : UINT64_MAX;
	unlock(k);
	return 0;
}

void km_set_event_hook(km_machine *m, km_event_fn fn, void *arg)
{
	struct km_core *k = core(m);
	if (!k)
		return;
	lock(k);
	k->event = fn;
	k->event_arg = arg;
	unlock(k);
}

/* Local PTEs of a task that is on a cpu must match its stack. */
static int check_task(struct km_core *k, const struct km_task *t, char *msg,
                      size_t n)
{
	if (!t->on_cpu)
		return 0;
	for (int i = 0; i < t->kmap_ctrl.idx; i++)
		if (k->be->check_pte(k->be_ctx,
		                     km__local_addr(k, t->cpu, i,
		                                    t->kmap_ctrl.pteval[i] - 1),
		                     t->kmap_ctrl.pteval[i] - 1)) {
			if (msg)
				km__fmt_msg(msg, n, "local slot ", (uint64_t)i,
				            ": MMU disagrees with the task's stack");
			return -KM_ECORRUPT;
		}
	return 0;
}

int km_check(km_machine *m, char *msg, size_t msglen)
{
	struct km_core *k = core(m);
	struct km_task *t;
	if (msg && msglen)
		msg[0] = 0; /* what a caller prints when all holds */
	if (!k)
		return -EINVAL;
	lock(k);
	int r = km__pkmap_check(k, msg, msglen);
	if (!r)
		r = km__vm_check(k, msg, msglen);
	for (struct list_head *p = k->tasks.next; !r && p != &k->tasks;
	     p = p->next)
		r = check_task(k, km__container_of(p, struct km_task, all), msg,
		               msglen);
	unlock(k);
	if (!r && !k->drv->current(k->drv_ctx, &t) && !t->simulated)
		r = check_task(k, t, msg, msglen);
	return r;
}

int km_leaks(km_machine *m, struct km_leak *out, unsigned max)
{
	struct km_core *k = core(m);
	if (!k || (!out && max))
		return -EINVAL;
	unsigned n = 0;
	lock(k);
	for (unsigned nr = 0; nr < k->last_pkmap; nr++) {
		int c = km__count(k, nr);
		if (c < 2)
			continue;
		if (n < max)
			out[n] = (struct km_leak){
				.pfn = k->pkmap_page_table[nr] - 1, .users = c - 1 };
		n++;
	}
	for (struct list_head *p = k->tasks.next; p != &k->tasks; p = p->next) {
		const struct km_task *t = km__container_of(p, struct km_task, all);
		for (int i = 0; i < t->kmap_ctrl.idx; i++) {
			if (n < max)
				out[n] = (struct km_leak){
					.pfn = t->kmap_ctrl.pteval[i] - 1, .task = t,
					.local = 1, .users = 1 };
			n++;
		}
	}
	for (unsigned i = 0; i < k->nr_lost_local; i++, n++)
		if (n < max)
			out[n] = (struct km_leak){ .pfn = k->lost_local[i],
			                           .local = 1, .users = 1 };
	n = km__vm_leaks(k, out, n, max);
	unlock(k);
	return (int)n;
}
