/*
 * sched.c - kernel threads on one CPU, switched cooperatively.
 *
 * A thread runs until it blocks (schedule()); wake_up_process() puts a
 * blocked thread at the tail of the run queue, and schedule() runs the
 * head. So threads woken one after the other run in that order: the FIFO
 * that pkmap_map_wait gives kmap's sleepers. No interrupts, no preemption:
 * a critical section is any stretch without a schedule().
 *
 * A switch does what the kernel's __switch_to does for local maps:
 * __kmap_local_sched_out() of the thread going off the CPU (its fixmap
 * PTEs cleared, each page flushed) and __kmap_local_sched_in() of the one
 * coming on (its PTEs written back), all threads sharing CPU 0's area of
 * the fixmap.
 */
#include "kernel.h"

struct kthread *current;
static struct list_head runq;
static struct km_core *core;
static uint64_t switches;

void sched_init(struct km_core *k, struct kthread *boot, struct km_task *t)
{
	core = k;
	INIT_LIST_HEAD(&runq);
	boot->state = KT_RUNNABLE;
	boot->task = t;
	INIT_LIST_HEAD(&boot->run);
	t->on_cpu = true;
	current = boot;
}

__attribute__((noreturn)) static void kthread_entry(void)
{
	current->fn(current->arg);
	kpanic(KEXIT_BUG, "thread %.*s returned", (int)current->name_len,
	       current->name);
}

void kthread_create(struct kthread *th, void *stack, size_t stack_size,
                    void (*fn)(void *), void *arg)
{
	th->sp = arch_thread_stack((char *)stack + stack_size, kthread_entry);
	th->fn = fn;
	th->arg = arg;
	th->state = KT_BLOCKED;
	INIT_LIST_HEAD(&th->run);
}

void wake_up_process(struct kthread *th)
{
	if (th->state == KT_RUNNABLE)
		return;
	th->state = KT_RUNNABLE;
	list_add_tail(&th->run, &runq);
}

static void switch_local_maps(struct kthread *prev, struct kthread *next)
{
	int r = km__local_sched_out(core, prev->task);
	if (!r)
		r = km__local_sched_in(core, next->task);
	if (r)
		kpanic(KEXIT_BUG, "local maps could not be switched: %d", r);
}

/*
 * Block the current thread (the caller set why: a wait queue, a line to
 * wait for) and run the next runnable one. Returns when someone has woken
 * this thread and its turn has come.
 */
void schedule(void)
{
	struct kthread *prev = current;
	prev->state = KT_BLOCKED;
	if (list_empty(&runq))
		kpanic(KEXIT_BUG, "schedule: nothing to run (thread %.*s blocks)",
		       (int)prev->name_len, prev->name);
	struct kthread *next = km__container_of(runq.next, struct kthread, run);
	list_del_init(&next->run);
	if (next == prev) {
		prev->state = KT_RUNNABLE;
		return;
	}
	switch_local_maps(prev, next);
	switches++;
	current = next;
	km_switch_stack(&prev->sp, next->sp);
	/* back on the CPU: the thread that switched here did our sched_in */
}

uint64_t sched_switches(void)
{
	return switches;
}
