/*
 * cmd_replay.c - `kmap replay`: run a trace on the simulated machine
 * (shared/spec/trace.md). The whole input is read and checked first, so a
 * syntax error runs nothing; then each line runs as its task, one task at a
 * time, as one CPU would. Sleeping and waking use the library's simulated
 * tasks: a kmap that must sleep leaves the task on its colour's queue, and
 * after a kunmap the woken tasks retry in FIFO order before the next line.
 */
#include "cli.h"
#include "replay.h"
#include "json.h"
#include "replay_pics.h"
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* Output: one buffer, formatted by hand (replay is meant to be fast)     */
/* ---------------------------------------------------------------------- */

struct ob {
	char buf[1 << 16];
	size_t len;
	FILE *f;
};

static void ob_flush(struct ob *o)
{
	if (o->len)
		fwrite(o->buf, 1, o->len, o->f);
	o->len = 0;
}

static void ob_mem_slow(struct ob *o, const char *s, size_t n)
{
	ob_flush(o);
	if (n > sizeof(o->buf)) {
		fwrite(s, 1, n, o->f);
		return;
	}
	memcpy(o->buf, s, n);
	o->len = n;
}

/* Inlined, so copies of constant length compile to a few moves. */
static inline __attribute__((always_inline)) void
ob_mem(struct ob *o, const char *s, size_t n)
{
	if (o->len + n > sizeof(o->buf))
		return ob_mem_slow(o, s, n);
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void ob_str(struct ob *o, const char *s) { ob_mem(o, s, strlen(s)); }

/* a string literal, its length known at compile time */
#define OB_LIT(o, lit) ob_mem((o), lit, sizeof(lit) - 1)

static void ob_u64(struct ob *o, uint64_t v)
{
	char tmp[24];
	ob_mem(o, tmp, (size_t)(fmt_u64(tmp, v) - tmp));
}

static void ob_hex(struct ob *o, uint64_t v)
{
	char tmp[24];
	ob_mem(o, tmp, (size_t)(fmt_hex(tmp, v) - tmp));
}

static void ob_pad(struct ob *o, size_t used, size_t width)
{
	static const char sp[] = "                                ";
	while (used < width) {
		size_t k = width - used < 32 ? width - used : 32;
		ob_mem(o, sp, k);
		used += k;
	}
}

/* ---------------------------------------------------------------------- */
/* Tasks                                                                   */
/* ---------------------------------------------------------------------- */

struct local_ent {
	uint64_t pfn;
	void *addr;
	bool atomic;
};

struct task {
	char name[TRACE_MAX_NAME + 1];
	size_t name_len;
	km_task *t;
	bool asleep;
	/* the kmap it sleeps in: its line and pfn */
	unsigned long sleep_line;
	uint64_t sleep_pfn;
	/* highmem local mappings, bottom first (mirrors the library's stack) */
	int nlocal;
	struct local_ent local[KM_LOCAL_MAX];
};

struct replay {
	const char *file;
	bool json;
	km_machine *m;
	struct km_layout lay;
	struct ob out;
	struct task *tasks;
	size_t ntasks, cap;
	size_t *by_name, *by_ptr; /* open-addressing hashes into tasks + 1 */
	size_t hcap;
	struct task *cur;
	struct pics *pics; /* --svg/--html: replay_pics.c watches the run */
	/* summary */
	uint64_t ops, errors, new_maps, hits, lowmem, flushes, tlb_flushes,
	         sleeps;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static uint64_t hash_ptr(const void *p)
{
	return ((uint64_t)(uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull;
}

static int grow(struct replay *r)
{
	size_t cap = r->cap ? r->cap * 2 : 16;
	struct task *nt = realloc(r->tasks, cap * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	r->tasks = nt;
	r->cap = cap;
	size_t hcap = cap * 2;
	size_t *bn = calloc(hcap, sizeof(size_t)), *bp = calloc(hcap, sizeof(size_t));
	if (!bn || !bp) {
		free(bn);
		free(bp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->ntasks; i++) {
		size_t h = hash_bytes(nt[i].name, nt[i].name_len) & (hcap - 1);
		while (bn[h])
			h = (h + 1) & (hcap - 1);
		bn[h] = i + 1;
		h = hash_ptr(nt[i].t) & (hcap - 1);
		while (bp[h])
			h = (h + 1) & (hcap - 1);
		bp[h] = i + 1;
	}
	free(r->by_name);
	free(r->by_ptr);
	r->by_name = bn;
	r->by_ptr = bp;
	r->hcap = hcap;
	return 0;
}

/* The task named @s, created on its first line; NULL when out of memory. */
static struct task *task_get(struct replay *r, const char *s, size_t n)
{
	if (r->hcap) {
		size_t h = hash_bytes(s, n) & (r->hcap - 1);
		for (; r->by_name[h]; h = (h + 1) & (r->hcap - 1)) {
			struct task *t = &r->tasks[r->by_name[h] - 1];
			if (t->name_len == n && !memcmp(t->name, s, n))
				return t;
		}
	}
	if (r->ntasks == r->cap && grow(r))
		return NULL;
	struct task *t = &r->tasks[r->ntasks];
	memset(t, 0, sizeof(*t));
	memcpy(t->name, s, n);
	t->name[n] = 0;
	t->name_len = n;
	if (km_task_create(r->m, &t->t))
		return NULL;
	size_t h = hash_bytes(s, n) & (r->hcap - 1);
	while (r->by_name[h])
		h = (h + 1) & (r->hcap - 1);
	r->by_name[h] = r->ntasks + 1;
	h = hash_ptr(t->t) & (r->hcap - 1);
	while (r->by_ptr[h])
		h = (h + 1) & (r->hcap - 1);
	r->by_ptr[h] = r->ntasks + 1;
	r->ntasks++;
	return t;
}

static struct task *task_of(struct replay *r, const km_task *kt)
{
	size_t h = hash_ptr(kt) & (r->hcap - 1);
	for (; r->by_ptr[h]; h = (h + 1) & (r->hcap - 1))
		if (r->tasks[r->by_ptr[h] - 1].t == kt)
			return &r->tasks[r->by_ptr[h] - 1];
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Records                                                                 */
/* ---------------------------------------------------------------------- */

static void emit_json(struct replay *r, const struct rec *e)
{
	struct ob *o = &r->out;
	size_t need = REC_JSON_MAX(e);
	if (o->len + need > sizeof(o->buf))
		ob_flush(o);
	o->len += rec_json(e, o->buf + o->len);
}

static void emit_text(struct replay *r, const struct rec *e)
{
	struct ob *o = &r->out;
	char tmp[64];
	int n = snprintf(tmp, sizeof(tmp), "%6lu  ", e->line);
	ob_mem(o, tmp, (size_t)n);
	ob_mem(o, e->task, e->task_len);
	ob_pad(o, e->task_len, 8);
	OB_LIT(o, "  ");
	ob_str(o, trace_op_names[e->op]);
	ob_pad(o, strlen(trace_op_names[e->op]), 14);
	if (e->has_pfn)
		n = snprintf(tmp, sizeof(tmp), "%10llu", (unsigned long long)e->pfn);
	else
		n = snprintf(tmp, sizeof(tmp), "%10s", "");
	ob_mem(o, tmp, (size_t)n);
	n = snprintf(tmp, sizeof(tmp), "  %-6s %-7s", e->result,
	             e->how ? e->how : "");
	ob_mem(o, tmp, (size_t)n);
	if (e->slot >= 0)
		n = snprintf(tmp, sizeof(tmp), "%5ld", e->slot);
	else
		n = snprintf(tmp, sizeof(tmp), "%5s", "");
	ob_mem(o, tmp, (size_t)n);
	if (e->has_vaddr) {
		n = snprintf(tmp, sizeof(tmp), "  0x%08llx",
		             (unsigned long long)e->vaddr);
		ob_mem(o, tmp, (size_t)n);
	}
	if (e->has_range) {
		n = snprintf(tmp, sizeof(tmp), "  offset %llu len %llu",
		             (unsigned long long)e->offset,
		             (unsigned long long)e->len);
		ob_mem(o, tmp, (size_t)n);
	}
	if (e->error) {
		OB_LIT(o, "  ");
		ob_str(o, e->error);
	}
	if (e->data) {
		OB_LIT(o, "  data ");
		for (size_t i = 0; i < e->data_len; i++) {
			n = snprintf(tmp, sizeof(tmp), "%02x", e->data[i]);
			ob_mem(o, tmp, (size_t)n);
		}
	}
	if (e->resumed)
		OB_LIT(o, "  (resumed after a wake-up)");
	OB_LIT(o, "\n");
}

static void emit(struct replay *r, const struct rec *e)
{
	if (e->result == RES_ERROR)
		r->errors += !e->resumed;
	if (e->how && e->result == RES_OK) {
		if (e->how == H_NEW)
			r->new_maps++;
		else if (e->how == H_HIT)
			r->hits++;
		else if (e->how == H_LOWMEM &&
		         (e->op == OP_KMAP || e->op == OP_KMAP_LOCAL ||
		          e->op == OP_KMAP_ATOMIC))
			r->lowmem++;
	}
	if (r->json)
		emit_json(r, e);
	else
		emit_text(r, e);
	if (r->pics)
		pics_record(r->pics, &(struct pics_rec){
			e->line, e->task, e->task_len, e->op, e->has_pfn,
			e->pfn, e->result, e->how, e->slot, e->has_vaddr, e->vaddr,
			e->error, e->resumed });
}

/* The flush event, printed the moment flush_all_zero_pkmaps runs. */
static void on_event(void *arg, const struct km_event *ev)
{
	struct replay *r = arg;
	struct ob *o = &r->out;
	if (r->pics)
		pics_event(r->pics, ev);
	if (ev->type != KM_EV_FLUSH)
		return;
	r->flushes++;
	r->tlb_flushes += ev->tlb_flush != 0;
	if (r->json) {
		OB_LIT(o, "{\"event\":\"flush\",\"cleared\":[");
		for (unsigned i = 0; i < ev->nr_cleared; i++) {
			if (i)
				OB_LIT(o, ",");
			ob_u64(o, ev->cleared[i]);
		}
		ob_str(o, ev->tlb_flush ? "],\"tlb_flush\":true}\n" :
		                          "],\"tlb_flush\":false}\n");
		return;
	}
	OB_LIT(o, "        flush_all_zero_pkmaps: cleared ");
	if (!ev->nr_cleared)
		OB_LIT(o, "nothing, no TLB flush");
	for (unsigned i = 0; i < ev->nr_cleared; i++) {
		if (i)
			OB_LIT(o, ",");
		ob_u64(o, ev->cleared[i]);
	}
	if (ev->nr_cleared)
		OB_LIT(o, ", one TLB flush of the window");
	OB_LIT(o, "\n        window after it (slot:count):");
	unsigned shown = 0;
	for (unsigned i = 0; i < ev->last_pkmap; i++) {
		if (!ev->pkmap_count[i])
			continue;
		if (shown++ == 64) {
			OB_LIT(o, " ...");
			break;
		}
		OB_LIT(o, " ");
		ob_u64(o, i);
		OB_LIT(o, ":");
		ob_u64(o, (uint64_t)ev->pkmap_count[i]);
	}
	if (!shown)
		OB_LIT(o, " all free");
	OB_LIT(o, "\n");
}

/* ---------------------------------------------------------------------- */
/* Running a line                                                          */
/* ---------------------------------------------------------------------- */

static void fail(struct replay *r, struct rec *e, const char *msg)
{
	e->result = RES_ERROR;
	e->error = msg;
	emit(r, e);
}

static int switch_to(struct replay *r, struct task *t)
{
	if (r->cur == t)
		return 0;
	int rc = km_task_switch(r->m, t->t);
	if (!rc)
		r->cur = t;
	return rc;
}

static long slot_of(const struct replay *r, void *va)
{
	return (long)(((uintptr_t)va - r->lay.pkmap_base) / r->lay.page_size);
}

/* The newest local mapping of @pfn on @t's stack, or -1. */
static int local_find(const struct task *t, uint64_t pfn)
{
	for (int i = t->nlocal - 1; i >= 0; i--)
		if (t->local[i].pfn == pfn)
			return i;
	return -1;
}

static void do_kmap(struct replay *r, struct task *t, unsigned long line,
                    const struct stmt *st, bool resumed);

/* Wake-ups: each woken task retries its kmap, FIFO, before the next line. */
static void run_woken(struct replay *r)
{
	km_task *kt;
	while ((kt = km_task_next_woken(r->m))) {
		struct task *t = task_of(r, kt);
		t->asleep = false;
		struct stmt st = { .kind = ST_OP, .op = OP_KMAP,
		                   .pfn = t->sleep_pfn };
		do_kmap(r, t, t->sleep_line, &st, true);
	}
}

static void do_kmap(struct replay *r, struct task *t, unsigned long line,
                    const struct stmt *st, bool resumed)
{
	struct rec e = rec_of(line, t->name, t->name_len, st);
	e.resumed = resumed;
	km_page *page = km_pfn_to_page(r->m, st->pfn);
	void *va;
	enum km_how how;
	if (switch_to(r, t))
		return fail(r, &e, "cannot switch to the task");
	int rc = km_kmap_ex(r->m, page, 0, 0, &va, &how);
	if (rc == -KM_ESLEEPING) {
		t->asleep = true;
		t->sleep_line = line;
		t->sleep_pfn = st->pfn;
		r->sleeps++;
		e.result = RES_SLEEP;
		return emit(r, &e);
	}
	if (rc)
		return fail(r, &e, km_strerror(rc));
	e.has_vaddr = true;
	e.vaddr = (uintptr_t)va;
	if (how == KM_HOW_LOWMEM) {
		e.how = H_LOWMEM;
	} else {
		e.how = how == KM_HOW_HIT ? H_HIT : H_NEW;
		e.slot = slot_of(r, va);
	}
	emit(r, &e);
}

static void do_kunmap(struct replay *r, struct task *t, struct rec *e,
                      km_page *page)
{
	void *va = km_page_address(r->m, page);
	int rc = km_kunmap(r->m, page);
	if (rc)
		return fail(r, e, km_strerror(rc));
	if (!km_page_highmem(r->m, page))
		e->how = H_LOWMEM;
	else
		e->slot = slot_of(r, va);
	emit(r, e);
	(void)t;
	run_woken(r);
}

static void do_kmap_local(struct replay *r, struct task *t, struct rec *e,
                          km_page *page, bool atomic)
{
	void *va;
	int rc = atomic ? km_kmap_atomic(r->m, page, &va) :
	                  km_kmap_local_page(r->m, page, &va);
	if (rc)
		return fail(r, e, km_strerror(rc));
	e->has_vaddr = true;
	e->vaddr = (uintptr_t)va;
	if (!km_page_highmem(r->m, page)) {
		e->how = H_LOWMEM;
	} else {
		e->how = H_LOCAL;
		e->slot = t->nlocal;
		t->local[t->nlocal++] = (struct local_ent){ e->pfn, va, atomic };
	}
	emit(r, e);
}

static void do_kunmap_local(struct replay *r, struct task *t, struct rec *e,
                            km_page *page, bool atomic)
{
	if (atomic && !km_in_atomic(r->m))
		return fail(r, e, km_strerror(-KM_ENOATOMIC));
	if (!km_page_highmem(r->m, page)) {
		void *va = km_lowmem_page_address(r->m, page);
		int rc = atomic ? km_kunmap_atomic(r->m, va) :
		                  km_kunmap_local(r->m, va);
		if (rc)
			return fail(r, e, km_strerror(rc));
		e->how = H_LOWMEM;
		return emit(r, e);
	}
	int i = local_find(t, e->pfn);
	if (i < 0)
		return fail(r, e, "no local mapping of the page");
	int rc = atomic ? km_kunmap_atomic(r->m, t->local[i].addr) :
	                  km_kunmap_local(r->m, t->local[i].addr);
	if (rc)
		return fail(r, e, km_strerror(rc));
	e->slot = i;
	t->nlocal--; /* the library only lets the top go */
	emit(r, e);
}

static unsigned char hexval(char c)
{
	return (unsigned char)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
}

static void do_rw(struct replay *r, struct task *t, struct rec *e,
                  km_page *page, const struct stmt *st)
{
	unsigned char buf[TRACE_MAX_LINE / 2];
	uint64_t ps = r->lay.page_size;
	if (st->offset >= ps || st->len > ps - st->offset)
		return fail(r, e, "past the end of the page");
	void *va = km_lowmem_page_address(r->m, page);
	if (!va) {
		struct km_slot s;
		va = km_page_address(r->m, page);
		if (va && (km_pkmap_slot(r->m, (unsigned)slot_of(r, va), &s) ||
		           s.count < 2))
			va = NULL;
	}
	if (!va) {
		int i = local_find(t, st->pfn);
		if (i >= 0)
			va = t->local[i].addr;
	}
	if (!va)
		return fail(r, e, "no live mapping of the page");
	va = (char *)va + st->offset;
	int rc;
	if (st->op == OP_WRITE) {
		for (size_t i = 0; i < st->len; i++)
			buf[i] = (unsigned char)(hexval(st->hex[2 * i]) << 4 |
			                         hexval(st->hex[2 * i + 1]));
		rc = km_write(r->m, va, buf, st->len);
	} else {
		rc = km_read(r->m, va, buf, st->len);
		e->data = buf;
		e->data_len = st->len;
	}
	if (rc) {
		e->data = NULL;
		return fail(r, e, km_strerror(rc));
	}
	emit(r, e);
}

static void run_line(struct replay *r, unsigned long line,
                     const struct stmt *st)
{
	struct task *t = task_get(r, st->task, st->task_len);
	if (!t) {
		fprintf(stderr, "kmap replay: out of memory\n");
		exit(3);
	}
	r->ops++;
	struct rec e = rec_of(line, t->name, t->name_len, st);
	if (t->asleep)
		return fail(r, &e, "task is asleep");
	km_page *page = NULL;
	if (st->op != OP_FLUSH_UNUSED &&
	    !(page = km_pfn_to_page(r->m, st->pfn)))
		return fail(r, &e, "pfn beyond memory");
	if (switch_to(r, t))
		return fail(r, &e, "cannot switch to the task");
	switch (st->op) {
	case OP_KMAP:
		return do_kmap(r, t, line, st, false);
	case OP_KUNMAP:
		return do_kunmap(r, t, &e, page);
	case OP_KMAP_LOCAL:
	case OP_KMAP_ATOMIC:
		return do_kmap_local(r, t, &e, page, st->op == OP_KMAP_ATOMIC);
	case OP_KUNMAP_LOCAL:
	case OP_KUNMAP_ATOMIC:
		return do_kunmap_local(r, t, &e, page, st->op == OP_KUNMAP_ATOMIC);
	case OP_WRITE:
	case OP_READ:
		return do_rw(r, t, &e, page, st);
	case OP_FLUSH_UNUSED: {
		int rc = km_kmap_flush_unused(r->m);
		if (rc)
			return fail(r, &e, km_strerror(rc));
		return emit(r, &e);
	}
	case NR_OPS:
		break;
	}
}

/* ---------------------------------------------------------------------- */
/* The summary                                                             */
/* ---------------------------------------------------------------------- */

static int summary(struct replay *r)
{
	struct ob *o = &r->out;
	size_t nasleep = 0;
	int nleak = km_leaks(r->m, NULL, 0);
	struct km_leak *leaks = calloc(nleak > 0 ? (size_t)nleak : 1,
	                               sizeof(*leaks));
	if (!leaks || nleak < 0)
		return 3;
	km_leaks(r->m, leaks, (unsigned)nleak);
	if (r->json) {
		OB_LIT(o, "{\"summary\":{\"ops\":");
		ob_u64(o, r->ops);
		OB_LIT(o, ",\"errors\":");
		ob_u64(o, r->errors);
		OB_LIT(o, ",\"new\":");
		ob_u64(o, r->new_maps);
		OB_LIT(o, ",\"hits\":");
		ob_u64(o, r->hits);
		OB_LIT(o, ",\"lowmem\":");
		ob_u64(o, r->lowmem);
		OB_LIT(o, ",\"flushes\":");
		ob_u64(o, r->flushes);
		OB_LIT(o, ",\"tlb_flushes\":");
		ob_u64(o, r->tlb_flushes);
		OB_LIT(o, ",\"sleeps\":");
		ob_u64(o, r->sleeps);
		OB_LIT(o, ",\"deadlocked\":[");
	} else {
		OB_LIT(o, "\nsummary: ");
		ob_u64(o, r->ops);
		OB_LIT(o, " operations, ");
		ob_u64(o, r->errors);
		OB_LIT(o, " errors; mappings: ");
		ob_u64(o, r->new_maps);
		OB_LIT(o, " new, ");
		ob_u64(o, r->hits);
		OB_LIT(o, " hits, ");
		ob_u64(o, r->lowmem);
		OB_LIT(o, " lowmem; ");
		ob_u64(o, r->flushes);
		OB_LIT(o, " flushes (");
		ob_u64(o, r->tlb_flushes);
		OB_LIT(o, " with a TLB flush); ");
		ob_u64(o, r->sleeps);
		OB_LIT(o, " sleeps\ndeadlocked:");
	}
	for (size_t i = 0; i < r->ntasks; i++) {
		if (!r->tasks[i].asleep)
			continue;
		ob_str(o, r->json ? (nasleep ? ",\"" : "\"") : " ");
		ob_mem(o, r->tasks[i].name, r->tasks[i].name_len);
		if (r->json)
			OB_LIT(o, "\"");
		nasleep++;
	}
	ob_str(o, r->json ? "],\"leaks\":[" : nasleep ? "\nleaks:" :
	                                               " none\nleaks:");
	size_t shown = 0;
	for (int i = 0; i < nleak; i++) {
		if (leaks[i].local)
			continue;
		ob_str(o, r->json ? (shown ? ",{\"pfn\":" : "{\"pfn\":") :
		                    " pfn ");
		shown++;
		ob_u64(o, leaks[i].pfn);
		ob_str(o, r->json ? ",\"users\":" : " (users ");
		ob_u64(o, (uint64_t)leaks[i].users);
		ob_str(o, r->json ? "}" : ")");
	}
	for (size_t i = 0; i < r->ntasks; i++) {
		const struct task *t = &r->tasks[i];
		for (int j = 0; j < t->nlocal; j++) {
			if (r->json) {
				ob_str(o, shown++ ? ",{\"task\":\"" : "{\"task\":\"");
				ob_mem(o, t->name, t->name_len);
				OB_LIT(o, "\",\"pfn\":");
				ob_u64(o, t->local[j].pfn);
				OB_LIT(o, ",\"local\":true}");
			} else {
				shown++;
				OB_LIT(o, " pfn ");
				ob_u64(o, t->local[j].pfn);
				OB_LIT(o, " (local, task ");
				ob_mem(o, t->name, t->name_len);
				OB_LIT(o, ")");
			}
		}
	}
	ob_str(o, r->json ? "]}}\n" : shown ? "\n" : " none\n");
	free(leaks);
	return r->errors || nasleep || shown ? 1 : 0;
}

/* ---------------------------------------------------------------------- */
/* Reading the trace                                                       */
/* ---------------------------------------------------------------------- */

static void replay_help(FILE *f)
{
	fprintf(f,
	    "usage: kmap replay [--json] [--svg FILE] [--html FILE] FILE|-\n\n"
	    "Run a trace on the simulated machine, exactly as Linux's\n"
	    "mm/highmem.c would (policy linux), and print what each line did:\n"
	    "the slot a page took, the address, flushes of the window, tasks\n"
	    "going to sleep and waking. A trace is one statement a line:\n\n"
	    "  machine PROFILE [mem=SIZE] [last_pkmap=N] [colors=N]   (first)\n"
	    "  policy NAME                                            (optional)\n"
	    "  TASK kmap|kunmap|kmap_local|kunmap_local PFN\n"
	    "  TASK kmap_atomic|kunmap_atomic PFN\n"
	    "  TASK write PFN OFFSET HEX\n"
	    "  TASK read PFN OFFSET LEN\n"
	    "  TASK flush_unused\n\n"
	    "'#' starts a comment. Profiles:");
	for (unsigned i = 0; km_profile_name(i); i++)
		fprintf(f, " %s", km_profile_name(i));
	fprintf(f, ". Policies:");
	for (unsigned i = 0; km_policy_name(i); i++)
		fprintf(f, " %s", km_policy_name(i));
	fprintf(f,
	    ".\nThe format is shared/spec/trace.md; examples are in\n"
	    "examples/traces/.\n\n"
	    "  --json   one JSON object a line: the machine, each operation,\n"
	    "           resumption and flush as it happens, then a summary\n"
	    "  --svg FILE   also draw the window over time into FILE: a row per\n"
	    "           step, a column per slot, coloured by count; flushes and\n"
	    "           sleeping tasks marked\n"
	    "  --html FILE  also write a page that steps through the trace: the\n"
	    "           slots, the page_address() hash, each task's local stack\n"
	    "  FILE     the trace; '-' reads standard input\n\n"
	    "Exit status: 0 when every line ran without error and nothing is\n"
	    "left asleep or mapped; 1 when something was (errors are records in\n"
	    "the output, the run goes on); 2 when the trace cannot be read (the\n"
	    "file, line and token are named on stderr and nothing runs); 3 when\n"
	    "memory or writing a picture failed.\n");
}

/*
 * The input, whole: a regular file is mapped, anything else (a pipe) is
 * read into memory. *mapped tells which, for release_input().
 */
static char *read_all(const char *path, size_t *size, bool *mapped)
{
	*mapped = false;
	int fd = strcmp(path, "-") ? open(path, O_RDONLY) : 0;
	if (fd < 0)
		return NULL;
	struct stat sb;
	if (fd && !fstat(fd, &sb) && S_ISREG(sb.st_mode) && sb.st_size > 0) {
		void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE,
		               fd, 0);
		if (p != MAP_FAILED) {
			close(fd);
			*size = (size_t)sb.st_size;
			*mapped = true;
			return p;
		}
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		ssize_t got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(buf);
			buf = NULL;
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	int saved = errno;
	if (fd)
		close(fd);
	errno = saved;
	*size = n;
	return buf;
}

static void release_input(char *buf, size_t size, bool mapped)
{
	if (mapped)
		munmap(buf, size);
	else
		free(buf);
}

static int syntax(const char *file, unsigned long line,
                  const struct trace_err *e)
{
	if (e->token[0])
		fprintf(stderr, "%s:%lu: %s: '%s'\n", file, line, e->msg, e->token);
	else
		fprintf(stderr, "%s:%lu: %s\n", file, line, e->msg);
	return 2;
}

static bool tok_eq(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && !memcmp(s, w, n);
}

/*
 * Pass one checks every line before anything runs. Syntax is checked in
 * two halves at once (the input may be long); the header rules (machine
 * first, policy before the first operation) need only the few header
 * lines and the first operation of each half, merged in line order.
 */
#define MAX_HDR 4

struct hdr {
	unsigned long line;
	struct stmt st;
};

struct part {
	const char *buf;
	size_t begin, end;
	unsigned long lines;      /* lines in the part */
	unsigned long err_line;   /* first bad line, relative; 0 = none */
	struct trace_err err;
	unsigned long first_op;   /* relative; 0 = none */
	int nhdr;
	struct hdr hdr[MAX_HDR];  /* the first header statements */
};

static void *check_part(void *arg)
{
	struct part *p = arg;
	struct stmt st;
	const char *line;
	size_t len, pos = p->begin;
	int rc;
	while ((rc = trace_next_line(p->buf, p->end, &pos, &line, &len,
	                             &p->err))) {
		p->lines++;
		if (rc < 0 || trace_parse_line(line, len, &st, &p->err)) {
			p->err_line = p->lines;
			break;
		}
		if (st.kind == ST_OP && !p->first_op)
			p->first_op = p->lines;
		if ((st.kind == ST_MACHINE || st.kind == ST_POLICY) &&
		    p->nhdr < MAX_HDR)
			p->hdr[p->nhdr++] = (struct hdr){ p->lines, st };
	}
	return NULL;
}

static int rule(const char *file, unsigned long line, const char *msg,
                const char *tok, size_t toklen)
{
	struct trace_err e;
	snprintf(e.msg, sizeof(e.msg), "%s", msg);
	snprintf(e.token, sizeof(e.token), "%.*s", (int)(toklen < 40 ? toklen : 40),
	         tok ? tok : "");
	return syntax(file, line, &e);
}

/* The machine line's values; 0 or 2 (and the message). */
static int check_machine(const char *file, unsigned long ln,
                         const struct stmt *st, struct km_config *cfg,
                         char *profile)
{
	char msg[128];
	uint64_t max_mem;
	size_t n = st->profile_len < 63 ? st->profile_len : 63;
	memcpy(profile, st->profile, n);
	profile[n] = 0;
	if (st->profile_len > 63 || km_profile_limits(profile, &max_mem, NULL))
		return rule(file, ln, "unknown profile", st->profile,
		            st->profile_len);
	if (st->mem && (st->mem < 4096 || st->mem > max_mem)) {
		snprintf(msg, sizeof(msg), "mem must be between 4K and %lluG for %s",
		         (unsigned long long)(max_mem >> 30), profile);
		return rule(file, ln, msg, NULL, 0);
	}
	if (st->last_pkmap && (st->last_pkmap < 2 || st->last_pkmap > 65536 ||
	                       (st->last_pkmap & (st->last_pkmap - 1))))
		return rule(file, ln,
		            "last_pkmap must be a power of two from 2 to 65536",
		            NULL, 0);
	if (st->colors && ((st->colors & (st->colors - 1)) ||
	                   st->colors > KM_MAX_COLORS)) {
		snprintf(msg, sizeof(msg), "colors must be a power of two up to %d",
		         KM_MAX_COLORS);
		return rule(file, ln, msg, NULL, 0);
	}
	cfg->profile = profile;
	cfg->mem_bytes = st->mem;
	cfg->last_pkmap = (unsigned)st->last_pkmap;
	cfg->colors = (unsigned)st->colors;
	km_machine *m;
	int r = km_machine_create(cfg, &m);
	if (r) {
		snprintf(msg, sizeof(msg), "cannot build this machine: %s%s",
		         km_strerror(r),
		         st->colors && st->last_pkmap && st->colors > st->last_pkmap ?
		         " (colors must divide last_pkmap)" : "");
		return rule(file, ln, msg, NULL, 0);
	}
	km_machine_destroy(m);
	return 0;
}

static int check_trace(const char *file, const char *buf, size_t size,
                       struct km_config *cfg, char *profile, char *policy)
{
	struct part p[2] = { { .buf = buf, .begin = 0, .end = size },
	                     { .buf = buf, .begin = size, .end = size } };
	pthread_t th;
	bool threaded = false;
	if (size > (1u << 20)) {
		const char *nl = memchr(buf + size / 2, '\n', size - size / 2);
		if (nl) {
			p[0].end = p[1].begin = (size_t)(nl - buf) + 1;
			threaded = !pthread_create(&th, NULL, check_part, &p[1]);
			if (!threaded)
				p[0].end = size;
		}
	}
	check_part(&p[0]);
	if (threaded)
		pthread_join(th, NULL);

	/* Merge in line order: headers, first ops, the first bad line. */
	unsigned long off = p[0].lines, bad = 0;
	const struct trace_err *bad_err = NULL;
	if (p[0].err_line) {
		bad = p[0].err_line;
		bad_err = &p[0].err;
	} else if (threaded && p[1].err_line) {
		bad = off + p[1].err_line;
		bad_err = &p[1].err;
	}
	unsigned long first_op = p[0].first_op ? p[0].first_op :
	                         p[1].first_op ? off + p[1].first_op : 0;
	struct hdr hs[2 * MAX_HDR];
	int nh = 0;
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < p[k].nhdr; i++) {
			hs[nh] = p[k].hdr[i];
			hs[nh++].line += k ? off : 0;
		}
	unsigned long machine_line = 0;
	bool seen_policy = false;
	for (int i = 0; i <= nh; i++) {
		/* the first operation, in its place among the headers */
		unsigned long next = i < nh ? hs[i].line : ~0ul;
		if (first_op && first_op < next && !machine_line &&
		    (!bad || first_op < bad))
			return rule(file, first_op,
			            "the machine line is missing (it must come first)",
			            NULL, 0);
		if (i == nh || (bad && next > bad))
			break;
		const struct stmt *st = &hs[i].st;
		bool after_op = first_op && first_op < next;
		char msg[96];
		if (st->kind == ST_MACHINE) {
			if (machine_line) {
				snprintf(msg, sizeof(msg),
				         "repeated machine line (the first is line %lu)",
				         machine_line);
				return rule(file, next, msg, NULL, 0);
			}
			if (after_op || seen_policy)
				return rule(file, next, "machine line must come first",
				            NULL, 0);
			if (check_machine(file, next, st, cfg, profile))
				return 2;
			machine_line = next;
			continue;
		}
		if (!machine_line)
			return rule(file, next,
			            "the machine line is missing (it must come first)",
			            NULL, 0);
		if (after_op || seen_policy)
			return rule(file, next, seen_policy ? "repeated policy line" :
			            "late policy line", NULL, 0);
		bool known = false;
		for (unsigned k = 0; km_policy_name(k); k++)
			known |= tok_eq(st->policy, st->policy_len, km_policy_name(k));
		if (!known || st->policy_len > 31)
			return rule(file, next, "unknown policy", st->policy,
			            st->policy_len);
		memcpy(policy, st->policy, st->policy_len);
		policy[st->policy_len] = 0;
		seen_policy = true;
	}
	if (bad)
		return syntax(file, bad, bad_err);
	if (!machine_line) {
		unsigned long total = p[0].lines + p[1].lines;
		return rule(file, total ? total : 1, "the machine line is missing",
		            NULL, 0);
	}
	cfg->policy = policy;
	return 0;
}

/* --svg FILE, --html FILE: the pictures replay_buffer() draws too */
static const char *pics_svg, *pics_html;

int cmd_replay(int argc, char **argv)
{
	const char *file = NULL;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			replay_help(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if ((!strcmp(argv[i], "--svg") || !strcmp(argv[i], "--html")) &&
		           i + 1 < argc) {
			const char **dst = argv[i][2] == 's' ? &pics_svg : &pics_html;
			*dst = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "kmap replay: unknown option '%s'\n", argv[i]);
			replay_help(stderr);
			return 2;
		} else if (file) {
			fprintf(stderr, "kmap replay: one trace at a time ('%s')\n",
			        argv[i]);
			return 2;
		} else {
			file = argv[i];
		}
	}
	if (!file) {
		fprintf(stderr, "kmap replay: no trace given\n");
		replay_help(stderr);
		return 2;
	}
	const char *name = strcmp(file, "-") ? file : "<stdin>";
	size_t size;
	bool mapped;
	char *buf = read_all(file, &size, &mapped);
	if (!buf) {
		fprintf(stderr, "kmap replay: %s: %s\n", name, strerror(errno));
		return 2;
	}
	int rc = replay_buffer(name, buf, size, json, stdout);
	release_input(buf, size, mapped);
	return rc;
}

int replay_buffer(const char *name, const char *buf, size_t size, bool json,
                  FILE *out)
{
	struct km_config cfg;
	char profile[64], policy[32] = "linux";
	km_config_init(&cfg);
	int rc = check_trace(name, buf, size, &cfg, profile, policy);
	if (rc)
		return rc;

	struct replay *r = calloc(1, sizeof(*r));
	if (!r || km_machine_create(&cfg, &r->m)) {
		fprintf(stderr, "kmap replay: out of memory\n");
		free(r);
		return 3;
	}
	r->file = name;
	r->json = json;
	r->out.f = out;
	km_machine_layout(r->m, &r->lay);
	km_set_event_hook(r->m, on_event, r);
	if ((pics_svg || pics_html) &&
	    !(r->pics = pics_open(pics_svg, pics_html, r->m, name, policy))) {
		km_machine_destroy(r->m);
		free(r);
		return 2;
	}

	const struct km_layout *l = &r->lay;
	if (json) {
		struct ob *o = &r->out;
		OB_LIT(o, "{\"machine\":{\"profile\":\"");
		ob_str(o, l->profile);
		OB_LIT(o, "\",\"page_size\":");
		ob_u64(o, l->page_size);
		OB_LIT(o, ",\"page_offset\":\"");
		ob_hex(o, l->page_offset);
		OB_LIT(o, "\",\"pkmap_base\":\"");
		ob_hex(o, l->pkmap_base);
		OB_LIT(o, "\",\"last_pkmap\":");
		ob_u64(o, l->last_pkmap);
		OB_LIT(o, ",\"colors\":");
		ob_u64(o, l->colors);
		OB_LIT(o, ",\"highmem_start_pfn\":");
		ob_u64(o, l->max_low_pfn);
		OB_LIT(o, ",\"max_pfn\":");
		ob_u64(o, l->max_pfn);
		OB_LIT(o, ",\"mem_bytes\":");
		ob_u64(o, l->mem_bytes);
		OB_LIT(o, ",\"policy\":\"");
		ob_str(o, policy);
		OB_LIT(o, "\",\"local_base\":\"");
		ob_hex(o, l->kmap_local_end - l->page_size);
		OB_LIT(o, "\"}}\n");
	} else {
		char head[512];
		int n = snprintf(head, sizeof(head),
		    "machine %s, policy %s: %llu MiB, highmem from pfn %llu of %llu; "
		    "%u slots at 0x%08llx, %u colour%s\n\n"
		    "%6s  %-8s  %-14s%10s  %-6s %-7s%5s  %s\n",
		    l->profile, policy, (unsigned long long)(l->mem_bytes >> 20),
		    (unsigned long long)l->max_low_pfn,
		    (unsigned long long)l->max_pfn, l->last_pkmap,
		    (unsigned long long)l->pkmap_base, l->colors,
		    l->colors == 1 ? "" : "s", "line", "task", "op", "pfn",
		    "result", "how", "slot", "address");
		ob_mem(&r->out, head, (size_t)n);
	}

	struct stmt st;
	const char *line;
	size_t len, pos = 0;
	unsigned long ln = 0;
	while (trace_next_line(buf, size, &pos, &line, &len, NULL) > 0) {
		ln++;
		trace_parse_checked(line, len, &st);
		if (st.kind != ST_OP)
			continue;
		run_line(r, ln, &st);
	}
	rc = summary(r);
	ob_flush(&r->out);
	fflush(out);
	if (pics_finish(r->pics))
		rc = 3;
	km_machine_destroy(r->m);
	free(r->tasks);
	free(r->by_name);
	free(r->by_ptr);
	free(r);
	return rc;
}
