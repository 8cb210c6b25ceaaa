/*
 * replay.c - `kmap replay --json` inside the kernel: the trace's tasks are
 * kernel threads, the MMU is the backend, the JSON goes to COM1.
 *
 * The output must be byte for byte what tools/cmd_replay.c writes on the
 * host, so this file follows it (and src/api.c, which drives the core
 * there) step for step; where the host calls the public API, this calls
 * the core directly, as src/api.c does.
 *
 * The boot thread is the dispatcher: it reads the trace a line at a time,
 * answers the lines no task can run ("task is asleep", "pfn beyond
 * memory"), and hands every other line to its task's thread, then blocks
 * until that line is done. A thread runs the operation as its own task:
 * a kmap that finds every slot of its colour in use goes on the colour's
 * wait queue (km__wait_enqueue), reports "sleep", lets the dispatcher go
 * on and schedules away. A kunmap that leaves a count at 1 with sleepers
 * wakes them all (km__wake_up): they are put on the run queue in the order
 * they slept, and the kunmap's thread, once its line is done, puts the
 * dispatcher behind them. So each woken thread retries its kmap, until it
 * has a mapping or sleeps again, before the next line runs: the order of
 * the host's run_woken().
 */
#include "kernel.h"
#include "fmt.h"
#include "json.h"
#include "trace.h"

#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Tasks                                                                   */
/* ---------------------------------------------------------------------- */

#define TASK_STACK 8192

struct local_ent {
	uint64_t pfn;
	uintptr_t addr;
	bool atomic;
};

struct rtask {
	struct kthread th;
	struct km_task t;
	const char *name;
	size_t name_len;
	bool asleep;
	unsigned long sleep_line;
	/* highmem local mappings, bottom first (mirrors t.kmap_ctrl) */
	int nlocal;
	struct local_ent local[KM_LOCAL_MAX];
	/* the line handed over by the dispatcher */
	bool has_work;
	unsigned long work_line;
	struct stmt work;
};

static struct rtask **tasks;
static unsigned ntasks, tasks_cap;
static struct rtask **by_name;     /* open addressing */
static unsigned hcap;

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static struct rtask *task_find(const char *s, size_t n)
{
	if (!hcap)
		return NULL;
	for (unsigned h = (unsigned)hash_bytes(s, n) & (hcap - 1); by_name[h];
	     h = (h + 1) & (hcap - 1))
		if (by_name[h]->name_len == n && !memcmp(by_name[h]->name, s, n))
			return by_name[h];
	return NULL;
}

static void task_thread(void *arg);

/* The task named @s, made on its first line (pass one, in line order). */
static void task_intern(const char *s, size_t n)
{
	if (task_find(s, n))
		return;
	if (2 * (ntasks + 1) > hcap) {
		unsigned ncap = hcap ? hcap * 2 : 64;
		struct rtask **nb = kalloc((uint64_t)ncap * sizeof(*nb));
		for (unsigned i = 0; i < ntasks; i++) {
			unsigned h = (unsigned)hash_bytes(tasks[i]->name,
			                                  tasks[i]->name_len) & (ncap - 1);
			while (nb[h])
				h = (h + 1) & (ncap - 1);
			nb[h] = tasks[i];
		}
		by_name = nb;
		hcap = ncap;
	}
	if (ntasks == tasks_cap) {
		unsigned ncap = tasks_cap ? tasks_cap * 2 : 64;
		struct rtask **nt = kalloc((uint64_t)ncap * sizeof(*nt));
		if (ntasks)
			memcpy(nt, tasks, ntasks * sizeof(*nt));
		tasks = nt;
		tasks_cap = ncap;
	}
	/* the task and its thread's stack, in one allocation */
	char *mem = kalloc(sizeof(struct rtask) + TASK_STACK);
	struct rtask *t = (struct rtask *)(void *)mem;
	t->name = s;
	t->name_len = n;
	t->th.name = s;
	t->th.name_len = n;
	/* simulated: km__wake_up() hands it back on the woken list, so the
	 * scheduler can run it in FIFO order */
	km__task_init(&t->t, true);
	t->th.task = &t->t;
	kthread_create(&t->th, mem + sizeof(struct rtask), TASK_STACK,
	               task_thread, t);
	unsigned h = (unsigned)hash_bytes(s, n) & (hcap - 1);
	while (by_name[h])
		h = (h + 1) & (hcap - 1);
	by_name[h] = t;
	tasks[ntasks++] = t;
}

/* ---------------------------------------------------------------------- */
/* Pass one: the trace is checked whole before anything runs             */
/* (tools/cmd_replay.c: check_trace and check_machine, one part)          */
/* ---------------------------------------------------------------------- */

#define MAX_HDR 4

struct hdr {
	unsigned long line;
	struct stmt st;
};

static const char *trace_name;

static int syntax(unsigned long line, const struct trace_err *e)
{
	if (e->token[0])
		klog("trace %s:%lu: %s: '%s'", trace_name, line, e->msg, e->token);
	else
		klog("trace %s:%lu: %s", trace_name, line, e->msg);
	return KEXIT_TRACE;
}

static int rule(unsigned long line, const char *msg, const char *tok,
                size_t toklen)
{
	struct trace_err e;
	snprintf(e.msg, sizeof(e.msg), "%s", msg);
	snprintf(e.token, sizeof(e.token), "%.*s",
	         (int)(toklen < 40 ? toklen : 40), tok ? tok : "");
	return syntax(line, &e);
}

static bool tok_eq(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && !memcmp(s, w, n);
}

static int check_machine(unsigned long ln, const struct stmt *st,
                         struct replay_cfg *cfg)
{
	char msg[128], profile[64];
	size_t n = st->profile_len < 63 ? st->profile_len : 63;
	memcpy(profile, st->profile, n);
	profile[n] = 0;
	const struct km_profile *p = km__profile_find(profile);
	if (st->profile_len > 63 || !p)
		return rule(ln, "unknown profile", st->profile, st->profile_len);
	if (st->mem && (st->mem < 4096 || st->mem > p->mem_limit)) {
		snprintf(msg, sizeof(msg), "mem must be between 4K and %lluG for %s",
		         (unsigned long long)(p->mem_limit >> 30), profile);
		return rule(ln, msg, NULL, 0);
	}
	if (st->last_pkmap && (st->last_pkmap < 2 || st->last_pkmap > 65536 ||
	                       (st->last_pkmap & (st->last_pkmap - 1))))
		return rule(ln, "last_pkmap must be a power of two from 2 to 65536",
		            NULL, 0);
	if (st->colors && ((st->colors & (st->colors - 1)) ||
	                   st->colors > KM_MAX_COLORS)) {
		snprintf(msg, sizeof(msg), "colors must be a power of two up to %d",
		         KM_MAX_COLORS);
		return rule(ln, msg, NULL, 0);
	}
	struct km_core probe;
	memset(&probe, 0, sizeof(probe));
	if (km__layout_compute(&probe, p, st->mem, (unsigned)st->last_pkmap,
	                       (unsigned)st->colors, 0, 0)) {
		snprintf(msg, sizeof(msg), "cannot build this machine: %s%s",
		         "invalid argument",
		         st->colors && st->last_pkmap && st->colors > st->last_pkmap ?
		         " (colors must divide last_pkmap)" : "");
		return rule(ln, msg, NULL, 0);
	}
	cfg->profile = p;
	cfg->mem = st->mem;
	cfg->last_pkmap = (unsigned)st->last_pkmap;
	cfg->colors = (unsigned)st->colors;
	return 0;
}

int replay_check(const char *name, const char *buf, size_t size,
                 struct replay_cfg *cfg)
{
	struct stmt st;
	struct trace_err err, bad_err;
	const char *line;
	size_t len, pos = 0;
	unsigned long lines = 0, bad = 0, first_op = 0;
	struct hdr hs[MAX_HDR];
	int nh = 0, rc;

	trace_name = name;
	memset(cfg, 0, sizeof(*cfg));
	cfg->policy = KM_POLICY_LINUX;
	km__strlcpy(cfg->policy_name, "linux", sizeof(cfg->policy_name));
	while ((rc = trace_next_line(buf, size, &pos, &line, &len, &err))) {
		lines++;
		if (rc < 0 || trace_parse_line(line, len, &st, &err)) {
			bad = lines;
			bad_err = err;
			break;
		}
		if (st.kind == ST_OP) {
			if (!first_op)
				first_op = lines;
			task_intern(st.task, st.task_len);
			cfg->ops++;
		}
		if ((st.kind == ST_MACHINE || st.kind == ST_POLICY) && nh < MAX_HDR)
			hs[nh++] = (struct hdr){ lines, st };
	}

	unsigned long machine_line = 0;
	bool seen_policy = false;
	for (int i = 0; i <= nh; i++) {
		unsigned long next = i < nh ? hs[i].line : ~0ul;
		if (first_op && first_op < next && !machine_line &&
		    (!bad || first_op < bad))
			return rule(first_op,
			            "the machine line is missing (it must come first)",
			            NULL, 0);
		if (i == nh || (bad && next > bad))
			break;
		const struct stmt *s = &hs[i].st;
		bool after_op = first_op && first_op < next;
		char msg[96];
		if (s->kind == ST_MACHINE) {
			if (machine_line) {
				snprintf(msg, sizeof(msg),
				         "repeated machine line (the first is line %lu)",
				         machine_line);
				return rule(next, msg, NULL, 0);
			}
			if (after_op || seen_policy)
				return rule(next, "machine line must come first", NULL, 0);
			if ((rc = check_machine(next, s, cfg)))
				return rc;
			machine_line = next;
			continue;
		}
		if (!machine_line)
			return rule(next,
			            "the machine line is missing (it must come first)",
			            NULL, 0);
		if (after_op || seen_policy)
			return rule(next, seen_policy ? "repeated policy line" :
			            "late policy line", NULL, 0);
		bool known = false;
		for (unsigned k = 0; km__policy_name(k); k++)
			known |= tok_eq(s->policy, s->policy_len, km__policy_name(k));
		if (!known || s->policy_len > 31)
			return rule(next, "unknown policy", s->policy, s->policy_len);
		memcpy(cfg->policy_name, s->policy, s->policy_len);
		cfg->policy_name[s->policy_len] = 0;
		cfg->policy = km__policy_find(cfg->policy_name);
		seen_policy = true;
	}
	if (bad)
		return syntax(bad, &bad_err);
	if (!machine_line)
		return rule(lines ? lines : 1, "the machine line is missing", NULL, 0);
	cfg->ntasks = ntasks;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Output (tools/cmd_replay.c's JSON, byte for byte)                      */
/* ---------------------------------------------------------------------- */

static void out_mem(const char *s, size_t n) { json_write(s, n); }
static void out_str(const char *s) { json_write(s, strlen(s)); }
#define OUT_LIT(lit) out_mem(lit, sizeof(lit) - 1)

static void out_u64(uint64_t v)
{
	char tmp[24];
	out_mem(tmp, (size_t)(fmt_u64(tmp, v) - tmp));
}

static void out_hex(uint64_t v)
{
	char tmp[24];
	out_mem(tmp, (size_t)(fmt_hex(tmp, v) - tmp));
}

static struct {
	struct km_core *k;
	uint64_t ops, errors, new_maps, hits, lowmem, flushes, tlb_flushes,
	         sleeps;
	struct rtask *disp_wait;        /* the thread running the current line */
	struct kthread dispatcher;
	struct km_task disp_task;
	bool kmap_locked;
} R;

static void emit(const struct rec *e)
{
	if (e->result == RES_ERROR)
		R.errors += !e->resumed;
	if (e->how && e->result == RES_OK) {
		if (e->how == H_NEW)
			R.new_maps++;
		else if (e->how == H_HIT)
			R.hits++;
		else if (e->how == H_LOWMEM &&
		         (e->op == OP_KMAP || e->op == OP_KMAP_LOCAL ||
		          e->op == OP_KMAP_ATOMIC))
			R.lowmem++;
	}
	static char line[8192 * 2 + 512]; /* a read is one page at most */
	out_mem(line, rec_json(e, line));
}

/* The flush event, the moment flush_all_zero_pkmaps runs. */
static void on_event(void *arg, const struct km_event *ev)
{
	(void)arg;
	if (ev->type != KM_EV_FLUSH)
		return;
	R.flushes++;
	R.tlb_flushes += ev->tlb_flush != 0;
	OUT_LIT("{\"event\":\"flush\",\"cleared\":[");
	for (unsigned i = 0; i < ev->nr_cleared; i++) {
		if (i)
			OUT_LIT(",");
		out_u64(ev->cleared[i]);
	}
	out_str(ev->tlb_flush ? "],\"tlb_flush\":true}\n" :
	                        "],\"tlb_flush\":false}\n");
}

/* km_strerror's texts (the core's table), and libc's for what is left. */
static const char *kstrerror(int err)
{
	const char *t = km__errtext(err);
	if (t)
		return t;
	return err == -EIO || err == EIO ? "Input/output error" : "unknown error";
}

/* ---------------------------------------------------------------------- */
/* The kmap lock: one CPU, no interrupts, so only a check that nobody      */
/* schedules while holding it                                              */
/* ---------------------------------------------------------------------- */

static void lock_kmap(void)
{
	if (R.kmap_locked)
		kpanic(KEXIT_BUG, "kmap lock taken twice");
	R.kmap_locked = true;
}

static void unlock_kmap(void)
{
	R.kmap_locked = false;
}

/* ---------------------------------------------------------------------- */
/* Running a line, as its task                                             */
/* ---------------------------------------------------------------------- */

static void fail(struct rec *e, const char *msg)
{
	e->result = RES_ERROR;
	e->error = msg;
	emit(e);
}

static long slot_of(uintptr_t va)
{
	return (long)((va - R.k->pkmap_base) >> PAGE_SHIFT);
}

static int local_find(const struct rtask *t, uint64_t pfn)
{
	for (int i = t->nlocal - 1; i >= 0; i--)
		if (t->local[i].pfn == pfn)
			return i;
	return -1;
}

/* The line is done as far as the dispatcher is concerned: let it go on. */
static void line_done(struct rtask *t)
{
	if (R.disp_wait != t)
		return;
	R.disp_wait = NULL;
	wake_up_process(&R.dispatcher);
}

/* wake_up(&pkmap_map_wait[color]): the sleepers run next, in order. */
static void wake_color(unsigned color)
{
	struct km_core *k = R.k;
	if (list_empty(&k->pkmap_map_wait[color]))
		return;
	struct list_head woken;
	INIT_LIST_HEAD(&woken);
	km__wake_up(k, color, &woken);
	while (!list_empty(&woken)) {
		struct km_task *kt = km__container_of(woken.next, struct km_task,
		                                      woken);
		list_del_init(&kt->woken);
		wake_up_process(&km__container_of(kt, struct rtask, t)->th);
	}
}

static void do_kmap(struct rtask *t, unsigned long line, const struct stmt *st)
{
	struct km_core *k = R.k;
	struct rec e = rec_of(line, t->name, t->name_len, st);
	struct km_page *page = pfn_to_page(k, st->pfn);
	uintptr_t va = 0;
	enum km_how how = KM_HOW_NEW;
	int r;

	/* might_sleep(): never inside kmap_atomic */
	if (t->t.atomic_depth)
		return fail(&e, kstrerror(-KM_EATOMIC));
	if (!PageHighMem(k, page)) {
		e.has_vaddr = true;
		e.vaddr = lowmem_page_address(k, page);
		e.how = H_LOWMEM;
		return emit(&e);
	}
	if (k->page_slot) {
		/* policies lockfree and clock: a hit takes no lock */
		int f = km__kmap_fast(k, page, &va);
		if (f == 1) {
			e.has_vaddr = true;
			e.vaddr = va;
			e.how = H_HIT;
			e.slot = slot_of(va);
			return emit(&e);
		}
		if (f < 0)
			wake_color((unsigned)(-1 - f));
	}
	lock_kmap();
	for (;;) {
		r = km__kmap_high(k, page, &va, &how);
		if (r != KM__WINDOW_FULL)
			break;
		unsigned color = km__pkmap_color(k, page);
		km__wait_enqueue(k, &t->t, color);
		if (k->page_slot && km__color_may_have_slot(k, color)) {
			km__wait_dequeue(k, &t->t);
			t->t.state = KM_TASK_RUNNING;
			continue;
		}
		/* asleep on pkmap_map_wait[color]: say so, let the trace go on */
		e.result = RES_SLEEP;
		emit(&e);
		R.sleeps++;
		t->asleep = true;
		t->sleep_line = line;
		line_done(t);
		unlock_kmap();
		schedule();
		lock_kmap();
		/* woken by a kunmap: look again, as a retried kmap_high */
		t->t.state = KM_TASK_RUNNING;
		t->asleep = false;
		e = rec_of(t->sleep_line, t->name, t->name_len, st);
		e.resumed = true;
	}
	unlock_kmap();
	if (r)
		return fail(&e, kstrerror(r));
	e.has_vaddr = true;
	e.vaddr = va;
	e.how = how == KM_HOW_HIT ? H_HIT : H_NEW;
	e.slot = slot_of(va);
	emit(&e);
}

static void do_kunmap(struct rtask *t, struct rec *e, struct km_page *page)
{
	struct km_core *k = R.k;
	bool wake = false;
	int r;
	if (t->t.atomic_depth)
		return fail(e, kstrerror(-KM_EATOMIC));
	if (!PageHighMem(k, page)) {
		e->how = H_LOWMEM;
		return emit(e);
	}
	uintptr_t va = km__page_address(k, page);
	if (k->page_slot) {
		bool check;
		if (km__kunmap_fast(k, page, &check)) {
			if (check)
				wake_color(km__pkmap_color(k, page));
			e->slot = slot_of(va);
			return emit(e);
		}
	}
	lock_kmap();
	r = km__kunmap_high(k, page, &wake);
	unlock_kmap();
	if (wake)
		wake_color(km__pkmap_color(k, page));
	if (r)
		return fail(e, kstrerror(r));
	e->slot = slot_of(va);
	emit(e);
}

static void do_kmap_local(struct rtask *t, struct rec *e, struct km_page *page,
                          bool atomic)
{
	struct km_core *k = R.k;
	uintptr_t va;
	int r = km__kmap_local_page(k, &t->t, page,
	                        atomic ? KM_KIND_ATOMIC : KM_KIND_LOCAL, &va);
	if (r)
		return fail(e, kstrerror(r));
	e->has_vaddr = true;
	e->vaddr = va;
	if (!PageHighMem(k, page)) {
		e->how = H_LOWMEM;
	} else {
		e->how = H_LOCAL;
		e->slot = t->nlocal;
		t->local[t->nlocal++] = (struct local_ent){ e->pfn, va, atomic };
	}
	emit(e);
}

static void do_kunmap_local(struct rtask *t, struct rec *e,
                            struct km_page *page, bool atomic)
{
	struct km_core *k = R.k;
	int kind = atomic ? KM_KIND_ATOMIC : KM_KIND_LOCAL;
	if (atomic && !t->t.atomic_depth)
		return fail(e, kstrerror(-KM_ENOATOMIC));
	if (!PageHighMem(k, page)) {
		int r = km__kunmap_local_indexed(k, &t->t,
		                             lowmem_page_address(k, page), kind);
		if (r)
			return fail(e, kstrerror(r));
		e->how = H_LOWMEM;
		return emit(e);
	}
	int i = local_find(t, e->pfn);
	if (i < 0)
		return fail(e, "no local mapping of the page");
	int r = km__kunmap_local_indexed(k, &t->t, t->local[i].addr, kind);
	if (r)
		return fail(e, kstrerror(r));
	e->slot = i;
	t->nlocal--;
	emit(e);
}

static unsigned char hexval(char c)
{
	return (unsigned char)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
}

static void do_rw(struct rtask *t, struct rec *e, struct km_page *page,
                  const struct stmt *st)
{
	static unsigned char buf[PAGE_SIZE]; /* one CPU, no schedule in here */
	struct km_core *k = R.k;
	if (st->offset >= PAGE_SIZE || st->len > PAGE_SIZE - st->offset)
		return fail(e, "past the end of the page");
	uintptr_t va = 0;
	if (!PageHighMem(k, page)) {
		va = lowmem_page_address(k, page);
	} else {
		lock_kmap();
		va = km__page_address(k, page);
		if (va && km__count(k, PKMAP_NR(k, va)) < 2)
			va = 0;
		unlock_kmap();
	}
	if (!va) {
		int i = local_find(t, st->pfn);
		if (i >= 0)
			va = t->local[i].addr;
	}
	if (!va)
		return fail(e, "no live mapping of the page");
	va += (uintptr_t)st->offset;
	int r = 0;
	if (st->op == OP_WRITE) {
		for (size_t i = 0; i < st->len; i++)
			buf[i] = (unsigned char)(hexval(st->hex[2 * i]) << 4 |
			                         hexval(st->hex[2 * i + 1]));
		if (st->len)
			r = k->be->access(k->be_ctx, va, buf, (size_t)st->len, 1);
	} else {
		if (st->len)
			r = k->be->access(k->be_ctx, va, buf, (size_t)st->len, 0);
		e->data = buf;
		e->data_len = (size_t)st->len;
	}
	if (r) {
		e->data = NULL;
		return fail(e, kstrerror(r));
	}
	emit(e);
}

static void run_op(struct rtask *t, unsigned long line, const struct stmt *st)
{
	struct km_core *k = R.k;
	struct rec e = rec_of(line, t->name, t->name_len, st);
	struct km_page *page = st->op == OP_FLUSH_UNUSED ? NULL :
	                       pfn_to_page(k, st->pfn);
	switch (st->op) {
	case OP_KMAP:
		return do_kmap(t, line, st);
	case OP_KUNMAP:
		return do_kunmap(t, &e, page);
	case OP_KMAP_LOCAL:
	case OP_KMAP_ATOMIC:
		return do_kmap_local(t, &e, page, st->op == OP_KMAP_ATOMIC);
	case OP_KUNMAP_LOCAL:
	case OP_KUNMAP_ATOMIC:
		return do_kunmap_local(t, &e, page, st->op == OP_KUNMAP_ATOMIC);
	case OP_WRITE:
	case OP_READ:
		return do_rw(t, &e, page, st);
	case OP_FLUSH_UNUSED: {
		lock_kmap();
		int r = km__kmap_flush_unused(k);
		unlock_kmap();
		if (r)
			return fail(&e, kstrerror(r));
		return emit(&e);
	}
	case NR_OPS:
		break;
	}
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
		run_op(t, t->work_line, &t->work);
		line_done(t);
	}
}

/* ---------------------------------------------------------------------- */
/* The dispatcher                                                          */
/* ---------------------------------------------------------------------- */

static void run_line(unsigned long line, const struct stmt *st)
{
	struct km_core *k = R.k;
	struct rtask *t = task_find(st->task, st->task_len);
	if (!t)
		kpanic(KEXIT_BUG, "line %lu: a task pass one did not see", line);
	R.ops++;
	struct rec e = rec_of(line, t->name, t->name_len, st);
	if (t->asleep)
		return fail(&e, "task is asleep");
	if (st->op != OP_FLUSH_UNUSED && st->pfn >= k->max_pfn)
		return fail(&e, "pfn beyond memory");
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

/* KM_CHECK's invariants, plus the MMU's view of the local-map area. */
static void check_after(unsigned long line)
{
	struct km_core *k = R.k;
	char msg[256];
	int r = km__core_check(k, msg, sizeof(msg));
	if (r)
		kpanic(KEXIT_BUG, "invariant broken after line %lu: %s", line, msg);
	/* only the dispatcher is on the CPU, with no local maps: every other
	 * thread's local PTEs were switched out with it */
	for (int i = 0; i < KM_MAX_IDX - 1; i++)
		if (k->be->check_pte(k->be_ctx, km__local_addr(k, 0, i), UINT64_MAX))
			kpanic(KEXIT_BUG, "after line %lu: local slot %d still mapped "
			       "while its task is off the CPU", line, i);
	for (unsigned i = 0; i < ntasks; i++) {
		const struct rtask *t = tasks[i];
		if (t->nlocal != t->t.kmap_ctrl.idx)
			kpanic(KEXIT_BUG, "after line %lu: task %.*s's local stack "
			       "is out of step", line, (int)t->name_len, t->name);
	}
}

static int summary(void)
{
	struct km_core *k = R.k;
	size_t nasleep = 0, shown = 0;
	OUT_LIT("{\"summary\":{\"ops\":");
	out_u64(R.ops);
	OUT_LIT(",\"errors\":");
	out_u64(R.errors);
	OUT_LIT(",\"new\":");
	out_u64(R.new_maps);
	OUT_LIT(",\"hits\":");
	out_u64(R.hits);
	OUT_LIT(",\"lowmem\":");
	out_u64(R.lowmem);
	OUT_LIT(",\"flushes\":");
	out_u64(R.flushes);
	OUT_LIT(",\"tlb_flushes\":");
	out_u64(R.tlb_flushes);
	OUT_LIT(",\"sleeps\":");
	out_u64(R.sleeps);
	OUT_LIT(",\"deadlocked\":[");
	for (unsigned i = 0; i < ntasks; i++) {
		if (!tasks[i]->asleep)
			continue;
		out_str(nasleep ? ",\"" : "\"");
		out_mem(tasks[i]->name, tasks[i]->name_len);
		OUT_LIT("\"");
		nasleep++;
	}
	OUT_LIT("],\"leaks\":[");
	for (unsigned nr = 0; nr < k->last_pkmap; nr++) {
		if (k->pkmap_count[nr] < 2)
			continue;
		out_str(shown ? ",{\"pfn\":" : "{\"pfn\":");
		shown++;
		out_u64(k->pkmap_page_table[nr] - 1);
		OUT_LIT(",\"users\":");
		out_u64((uint64_t)(k->pkmap_count[nr] - 1));
		OUT_LIT("}");
	}
	for (unsigned i = 0; i < ntasks; i++) {
		const struct rtask *t = tasks[i];
		for (int j = 0; j < t->nlocal; j++) {
			out_str(shown++ ? ",{\"task\":\"" : "{\"task\":\"");
			out_mem(t->name, t->name_len);
			OUT_LIT("\",\"pfn\":");
			out_u64(t->local[j].pfn);
			OUT_LIT(",\"local\":true}");
		}
	}
	OUT_LIT("]}}\n");
	klog("replay: %llu operation%s, %llu error%s, %llu sleep%s, %zu task%s "
	     "deadlocked, %zu leak%s", (unsigned long long)R.ops,
	     R.ops == 1 ? "" : "s", (unsigned long long)R.errors,
	     R.errors == 1 ? "" : "s", (unsigned long long)R.sleeps,
	     R.sleeps == 1 ? "" : "s", nasleep, nasleep == 1 ? "" : "s", shown,
	     shown == 1 ? "" : "s");
	return R.errors || nasleep || shown ? 1 : 0;
}

/*
 * @check: 0 never; 1 after every operation line; 2 (auto) after each of
 * the first CHECK_ALL_LINES operations, then after every CHECK_EVERY-th
 * and after the last (a check walks the whole window: on a long trace
 * under TCG it would cost more than the replay).
 */
#define CHECK_ALL_LINES 5000
#define CHECK_EVERY 64

int replay_run(struct km_core *k, const char *policy, const char *buf,
               size_t size, int check)
{
	struct km_layout l;
	R.k = k;
	km__task_init(&R.disp_task, false);
	R.dispatcher.name = "dispatcher";
	R.dispatcher.name_len = 10;
	sched_init(k, &R.dispatcher, &R.disp_task);
	k->event = on_event;
	k->event_arg = NULL;
	km__layout_fill(k, &l);

	OUT_LIT("{\"machine\":{\"profile\":\"");
	out_str(l.profile);
	OUT_LIT("\",\"page_size\":");
	out_u64(l.page_size);
	OUT_LIT(",\"page_offset\":\"");
	out_hex(l.page_offset);
	OUT_LIT("\",\"pkmap_base\":\"");
	out_hex(l.pkmap_base);
	OUT_LIT("\",\"last_pkmap\":");
	out_u64(l.last_pkmap);
	OUT_LIT(",\"colors\":");
	out_u64(l.colors);
	OUT_LIT(",\"highmem_start_pfn\":");
	out_u64(l.max_low_pfn);
	OUT_LIT(",\"max_pfn\":");
	out_u64(l.max_pfn);
	OUT_LIT(",\"mem_bytes\":");
	out_u64(l.mem_bytes);
	OUT_LIT(",\"policy\":\"");
	out_str(policy);
	OUT_LIT("\",\"local_base\":\"");
	out_hex(l.kmap_local_end - l.page_size);
	OUT_LIT("\"}}\n");

	struct stmt st;
	struct trace_err err;
	const char *line;
	size_t len, pos = 0;
	unsigned long ln = 0, nops = 0, last_checked = 0;
	uint64_t checks = 0;
	while (trace_next_line(buf, size, &pos, &line, &len, NULL) > 0) {
		ln++;
		if (trace_parse_line(line, len, &st, &err) || st.kind != ST_OP)
			continue;
		run_line(ln, &st);
		nops++;
		if (check == 1 || (check == 2 && (nops <= CHECK_ALL_LINES ||
		                                  nops % CHECK_EVERY == 0))) {
			check_after(ln);
			last_checked = ln;
			checks++;
		}
	}
	if (check && ln && last_checked != ln) {
		check_after(ln);
		checks++;
	}
	if (check)
		klog("invariants checked %llu times: the counts, the hash, every "
		     "window PTE, the local-map PTEs", (unsigned long long)checks);
	int rc = summary();
	klog("scheduler: %llu context switches among %u task thread%s",
	     (unsigned long long)sched_switches(), ntasks, ntasks == 1 ? "" : "s");
	return rc;
}
