/*
 * replay.c - `kmap replay --json` inside the kernel: the replay engine
 * (replay/engine.c) over kapi.c's kmap.h, the trace's tasks as kernel
 * threads, the JSON on the console's JSON channel.
 *
 * The boot thread is the dispatcher: the engine answers the lines no task
 * can run ("task is asleep", "pfn beyond memory") and hands every other
 * line to its task's thread (run_as), which blocks the dispatcher until
 * that line is done. A thread runs the operation as its own task: a kmap
 * that finds every slot of its colour in use sleeps in the core, its
 * "sleep" record written by the engine, lets the dispatcher go on
 * (on_sleep) and schedules away. A kunmap that wakes sleepers puts their
 * threads on the run queue in the order they slept, and the kunmap's
 * thread, once its line is done, puts the dispatcher behind them. So each
 * woken thread retries its kmap before the next line runs: the order
 * `kmap replay` gets from km_task_next_woken().
 */
#include "kernel.h"
#include "engine.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

#define TASK_STACK 8192

/* A task of the trace: the engine's, the core's and its thread. */
struct rtask {
	struct ktask kt;
	struct kthread th;
	struct rp_task *rt;
	/* the line handed over by the dispatcher */
	bool has_work;
	unsigned long work_line;
	struct stmt work;
};

static struct {
	struct rp *r;
	struct rtask *disp_wait;        /* the thread running the current line */
	struct kthread dispatcher;
	struct km_task disp_task;
	int check;
	unsigned long nops, last_line, last_checked;
	uint64_t checks;
} R;

/* ---------------------------------------------------------------------- */
/* Pass one                                                                */
/* ---------------------------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* The trace's distinct task names (kalloc'd tables, before the backing). */
static unsigned count_tasks(const char *buf, size_t size)
{
	struct name { const char *s; size_t n; } *tab = NULL;
	unsigned cap = 0, n = 0;
	struct stmt st;
	const char *line;
	size_t len, pos = 0;
	while (trace_next_line_unchecked(buf, size, &pos, &line, &len) > 0) {
		trace_parse_checked(line, len, &st);
		if (st.kind != ST_OP)
			continue;
		if (2 * (n + 1) > cap) {
			unsigned ncap = cap ? cap * 2 : 64;
			struct name *nt = kalloc((uint64_t)ncap * sizeof(*nt));
			for (unsigned i = 0; i < cap; i++) {
				if (!tab[i].s)
					continue;
				unsigned h = (unsigned)hash_bytes(tab[i].s, tab[i].n) &
				             (ncap - 1);
				while (nt[h].s)
					h = (h + 1) & (ncap - 1);
				nt[h] = tab[i];
			}
			tab = nt;
			cap = ncap;
		}
		unsigned h = (unsigned)hash_bytes(st.task, st.task_len) & (cap - 1);
		for (; tab[h].s; h = (h + 1) & (cap - 1))
			if (tab[h].n == st.task_len &&
			    !memcmp(tab[h].s, st.task, st.task_len))
				break;
		if (!tab[h].s) {
			tab[h] = (struct name){ st.task, st.task_len };
			n++;
		}
	}
	return n;
}

/*
 * The engine's memory, taken before the backing is fixed (kalloc cannot
 * after): per task its records, thread and stack, its share of the task
 * tables (which double as they grow) and of the local leaks; the
 * persistent leaks of the largest window; the run itself.
 */
#define POOL_PER_TASK (sizeof(struct rp_task) + sizeof(struct rtask) + \
                       64 * sizeof(struct rp_local) + \
                       TASK_STACK + 320 + 2 * KM_LOCAL_MAX * 32 + 64)
#define POOL_FIXED ((size_t)65536 * 64 + (64u << 10))

static struct {
	char *base;
	size_t size, used;
} pool;

static void *k_alloc(void *arg, size_t n)
{
	(void)arg;
	n = (n + 15) & ~(size_t)15;
	if (pool.size - pool.used < n)
		kpanic(KEXIT_BUG, "the replay's memory pool is spent (%zu of %zu "
		       "bytes used, %zu more wanted)", pool.used, pool.size, n);
	void *p = pool.base + pool.used;
	pool.used += n;
	return p;
}

static void k_free(void *arg, void *p)
{
	(void)arg;
	(void)p; /* a bump allocator: the pool lives until power-off */
}

/* The trace has expect lines: the run compares itself with them. */
static bool trace_expects;

int replay_check(const char *name, const char *buf, size_t size,
                 struct rp_header *h)
{
	struct rp_part p = { .buf = buf, .begin = 0, .end = size };
	unsigned long line;
	struct trace_err e;
	rp_check_part(&p);
	if (rp_check_merge(&p, 1, h, &line, &e)) {
		if (e.token[0])
			klog("trace %s:%lu: %s: '%s'", name, line, e.msg, e.token);
		else
			klog("trace %s:%lu: %s", name, line, e.msg);
		return KEXIT_TRACE;
	}
	trace_expects = h->expects != 0;
	unsigned ntasks = count_tasks(buf, size);
	pool.size = ntasks * POOL_PER_TASK + POOL_FIXED;
	pool.base = kalloc(pool.size);
	klog("trace %s: %zu bytes, %lu operations, %u task%s", name, size,
	     h->ops, ntasks, ntasks == 1 ? "" : "s");
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Tasks as threads                                                        */
/* ---------------------------------------------------------------------- */

/* The line is done as far as the dispatcher is concerned: let it go on. */
static void line_done(struct kthread *th)
{
	if (!R.disp_wait || &R.disp_wait->th != th)
		return;
	R.disp_wait = NULL;
	wake_up_process(&R.dispatcher);
}

/* A task's thread: wait for a line, run it, say it is done; forever. */
static void task_thread(void *arg)
{
	struct rtask *t = arg;
	for (;;) {
		if (!t->has_work) {
			schedule();
			continue;
		}
		t->has_work = false;
		rp_run_op(R.r, t->rt, t->work_line, &t->work);
		line_done(&t->th);
	}
}

/* The task and its thread's stack, in one allocation. */
static int task_new(void *arg, struct rp *r, struct rp_task *rt)
{
	(void)arg;
	char *mem = k_alloc(NULL, sizeof(struct rtask) + TASK_STACK);
	struct rtask *t = (struct rtask *)(void *)mem;
	R.r = r;
	t->rt = rt;
	t->th.name = rt->name;
	t->th.name_len = rt->name_len;
	t->th.on_sleep = line_done;
	/* simulated: the core's own tasks (on its list, so kmap.h's task
	 * functions know them); all run in CPU 0's area */
	km__task_init(&t->kt.t, true);
	list_add_tail(&t->kt.t.all, &km__core_of(rp_machine(r))->tasks);
	t->kt.t.cpu = 0;
	t->kt.th = &t->th;
	t->th.task = &t->kt.t;
	kthread_create(&t->th, mem + sizeof(struct rtask), TASK_STACK,
	               task_thread, t);
	rt->t = &t->kt.t;
	rt->host = t;
	return 0;
}

/* Hand the line to its task's thread; back when it is done or asleep. */
static void run_as(void *arg, struct rp *r, struct rp_task *rt,
                   unsigned long line, const struct stmt *st)
{
	(void)arg;
	(void)r;
	struct rtask *t = rt->host;
	t->work = *st;
	t->work_line = line;
	t->has_work = true;
	R.disp_wait = t;
	wake_up_process(&t->th);
	schedule();
	if (R.disp_wait)
		kpanic(KEXIT_BUG, "line %lu: the dispatcher ran before its line was "
		       "done", line);
}

/* ---------------------------------------------------------------------- */
/* Checks                                                                  */
/* ---------------------------------------------------------------------- */

/* KM_CHECK's invariants, plus the MMU's view of the local-map area. */
static void check_now(struct rp *r, unsigned long line)
{
	km_machine *m = rp_machine(r);
	struct km_core *k = km__core_of(m);
	char msg[256];
	if (km_check(m, msg, sizeof(msg)))
		kpanic(KEXIT_BUG, "invariant broken after line %lu: %s", line, msg);
	/* only the dispatcher is on the CPU, with no local maps: every other
	 * thread's local PTEs were switched out with it */
	for (int i = 0; i < KM_MAX_IDX - 1; i++)
		if (k->be->check_pte(k->be_ctx, km__local_addr(k, 0, i, 0), UINT64_MAX))
			kpanic(KEXIT_BUG, "after line %lu: local slot %d still mapped "
			       "while its task is off the CPU", line, i);
	for (size_t i = 0; i < rp_task_count(r); i++) {
		const struct rp_task *t = rp_task_at(r, i);
		int depth = 0;
		for (int j = 0; j < t->nlocal; j++)
			depth += !t->local[j].pkmap;
		if (depth != km_task_local_depth(m, t->t))
			kpanic(KEXIT_BUG, "after line %lu: task %.*s's local stack "
			       "is out of step", line, (int)t->name_len, t->name);
	}
	R.last_checked = line;
	R.checks++;
}

/*
 * check 2 (auto): after each of the first CHECK_ALL_LINES operations, then
 * after every CHECK_EVERY-th and after the last (a check walks the whole
 * window: on a long trace under TCG it would cost more than the replay).
 */
#define CHECK_ALL_LINES 5000
#define CHECK_EVERY 64

static void after_line(void *arg, struct rp *r, unsigned long line)
{
	(void)arg;
	R.nops++;
	R.last_line = line;
	if (R.check == 1 || (R.check == 2 && (R.nops <= CHECK_ALL_LINES ||
	                                      R.nops % CHECK_EVERY == 0)))
		check_now(r, line);
}

static void at_end(void *arg, struct rp *r)
{
	(void)arg;
	if (R.check && R.last_line && R.last_checked != R.last_line)
		check_now(r, R.last_line);
}

/* ---------------------------------------------------------------------- */
/* Output                                                                  */
/* ---------------------------------------------------------------------- */

/* The JSON writer's room: a static line (a read is one page at most). */
static char out_line[8192 * 2 + 512];

static char *out_reserve(void *arg, size_t n)
{
	(void)arg;
	if (n > sizeof(out_line))
		kpanic(KEXIT_BUG, "a JSON piece of %zu bytes", n);
	return out_line;
}

static void out_commit(void *arg, size_t n)
{
	(void)arg;
	json_write(out_line, n);
}

static struct json_out jout = { out_reserve, out_commit, NULL };

/* The summary line, and the boot log's count of it. */
static void out_summary(void *arg, const struct rp_summary *s)
{
	(void)arg;
	size_t nasleep = 0;
	for (size_t i = 0; i < s->ntasks; i++)
		nasleep += s->tasks[i]->asleep;
	json_summary(&jout, s);
	klog("replay: %llu operation%s, %llu error%s, %llu sleep%s, %zu task%s "
	     "deadlocked, %zu leak%s", (unsigned long long)s->ops,
	     s->ops == 1 ? "" : "s", (unsigned long long)s->errors,
	     s->errors == 1 ? "" : "s", (unsigned long long)s->sleeps,
	     s->sleeps == 1 ? "" : "s", nasleep, nasleep == 1 ? "" : "s",
	     s->nleaks, s->nleaks == 1 ? "" : "s");
}

int replay_run(km_machine *m, const char *policy, const char *buf,
               size_t size, int check)
{
	km__task_init(&R.disp_task, false);
	R.disp_task.cpu = 0;
	R.dispatcher.name = "dispatcher";
	R.dispatcher.name_len = 10;
	R.check = check;
	sched_init(km__core_of(m), &R.dispatcher, &R.disp_task);

	struct rp_sink sink = json_sink(&jout);
	sink.summary = out_summary;
	const struct rp_host host = { .alloc = k_alloc, .free = k_free,
	                              .task_new = task_new, .run_as = run_as,
	                              .after_line = after_line,
	                              .at_end = at_end };
	int rc = rp_run(m, policy, buf, size, trace_expects, &host, &sink);
	if (check)
		klog("invariants checked %llu times: the counts, the hash, every "
		     "window PTE, the local-map PTEs", (unsigned long long)R.checks);
	klog("scheduler: %llu context switches", (unsigned long long)sched_switches());
	return rc;
}
