/*
 * perfetto.c - `kmap replay --perfetto FILE` (perfetto.h): the run as
 * Chrome trace events, written as it goes.
 *
 * The window is read from the library (km_pkmap_slot) after each record,
 * for the slot the record names, and a flush's cleared slots are taken
 * from its event: every change of a slot's page or count happens in one
 * of those (pkmap.c clears slots only in a flush). At the end the tracked
 * window is compared with the library's.
 *
 * Events of one track are written in time order: each record's events at
 * its step, after the previous step's operation is closed; only the track
 * names come after, at ts 0. Slices are B/E pairs (never X), so that
 * viewers keep the file's order for equal timestamps: a span that ends
 * comes before one that begins at the same time, a parent before its
 * child.
 */
#include "perfetto.h"
#include "svg.h"

#include <stdlib.h>
#include <string.h>

#define NO_PFN UINT64_MAX
#define STEP_NS 1000u               /* a logical step: 1 us */

/* pids and tids (unique across processes; never 0) */
#define PID_WINDOW 1
#define PID_TASKS 2
#define PID_HELD 3
#define TID_WINDOW 1                /* counters, flushes, mismatches */
#define TID_HELD 3
#define TID_SLOT0 1000000u          /* + slot (at most 2^20 slots) */
#define TID_TASK0 3000000u          /* + the task's index */

struct pslot {
	uint64_t pfn;                   /* NO_PFN: none */
	int count;
	bool open;                      /* its "pfn N" span is open */
	bool used;                      /* it has a track */
};

struct hold {
	uint64_t pfn, id;
	bool local;
};

struct ptask {
	char *name;
	size_t name_len;
	bool in_kmap;                   /* a kmap that slept, not returned */
	bool asleep;                    /* its "asleep" span is open */
	struct hold *holds;             /* open, oldest first */
	size_t nholds, cap;
};

struct perfetto {
	FILE *f;
	char *path;
	km_machine *m;
	struct km_layout lay;
	char *trace_name, *policy;
	bool oom, first_event, args_open;

	struct pslot *slots;
	unsigned nslots, in_use, mapped;
	long long shown_in_use, shown_mapped; /* -1: no sample yet */

	struct ptask **tasks;
	size_t ntasks, tcap;
	size_t *thash, thcap;           /* open addressing: index + 1 */

	/* time: the last step's, and whether any record had a trace time */
	bool started, timed;
	uint64_t now, steps;

	/* the last step's operation, whose end the next step's time gives;
	 * for a woken kmap, the outcome its end carries */
	bool pend, pend_outcome;
	size_t pend_task;
	const char *pend_name;
	struct rec pend_rec;            /* the outcome's fields (no pointers
	                                 * into the input or the engine) */

	/* flushes since the last record, and their cleared slots in order */
	uint32_t *cleared;
	size_t ncleared, ccap;
	struct pfl { size_t off, n; bool tlb; } *fl;
	size_t nfl, flcap;

	uint64_t next_hold_id, flushes, mismatches;
	bool summarized;
	struct rp_summary sum;
};

/* ---------------------------------------------------------------------- */
/* Writing                                                                 */
/* ---------------------------------------------------------------------- */

static void put(struct perfetto *p, const char *s, size_t n)
{
	fwrite(s, 1, n, p->f);
}

#define PUT_LIT(p, lit) put((p), lit, sizeof(lit) - 1)

static void put_u64(struct perfetto *p, uint64_t v)
{
	char b[24];
	put(p, b, (size_t)(fmt_u64(b, v) - b));
}

static void put_str(struct perfetto *p, const char *s, size_t n)
{
	PUT_LIT(p, "\"");
	json_esc(p->f, s, n);
	PUT_LIT(p, "\"");
}

/* ns as the format's microseconds, exactly: "12", "12.5", "12.001" */
static void put_ts(struct perfetto *p, uint64_t ns)
{
	put_u64(p, ns / 1000);
	unsigned frac = (unsigned)(ns % 1000);
	if (frac) {
		char b[4] = { '.', (char)('0' + frac / 100),
		              (char)('0' + frac / 10 % 10), (char)('0' + frac % 10) };
		size_t n = 4;
		while (b[n - 1] == '0')
			n--;
		put(p, b, n);
	}
}

/* {"name":..,"cat":..,"ph":..,"ts":..,"pid":..,"tid":.. : an event's head;
 * args follow with arg_*(), then ev_end(). */
static void ev_head(struct perfetto *p, char ph, const char *name,
                    size_t name_len, const char *cat, uint64_t ts,
                    unsigned pid, uint64_t tid)
{
	if (!p->first_event)
		PUT_LIT(p, ",\n");
	p->first_event = false;
	PUT_LIT(p, "{\"name\":");
	put_str(p, name, name_len);
	PUT_LIT(p, ",\"cat\":\"");
	put(p, cat, strlen(cat));
	PUT_LIT(p, "\",\"ph\":\"");
	put(p, &ph, 1);
	PUT_LIT(p, "\",\"ts\":");
	put_ts(p, ts);
	PUT_LIT(p, ",\"pid\":");
	put_u64(p, pid);
	PUT_LIT(p, ",\"tid\":");
	put_u64(p, tid);
	p->args_open = false;
}

static void ev_headz(struct perfetto *p, char ph, const char *name,
                     const char *cat, uint64_t ts, unsigned pid, uint64_t tid)
{
	ev_head(p, ph, name, strlen(name), cat, ts, pid, tid);
}

static void arg_key(struct perfetto *p, const char *key)
{
	if (!p->args_open)
		PUT_LIT(p, ",\"args\":{\"");
	else
		PUT_LIT(p, ",\"");
	p->args_open = true;
	put(p, key, strlen(key));
	PUT_LIT(p, "\":");
}

static void arg_u64(struct perfetto *p, const char *key, uint64_t v)
{
	arg_key(p, key);
	put_u64(p, v);
}

static void arg_str(struct perfetto *p, const char *key, const char *s,
                    size_t n)
{
	arg_key(p, key);
	put_str(p, s, n);
}

static void arg_strz(struct perfetto *p, const char *key, const char *s)
{
	arg_str(p, key, s, strlen(s));
}

static void arg_hex(struct perfetto *p, const char *key, uint64_t v)
{
	char b[24];
	arg_str(p, key, b, (size_t)(fmt_hex(b, v) - b));
}

static void arg_true(struct perfetto *p, const char *key)
{
	arg_key(p, key);
	PUT_LIT(p, "true");
}

static void ev_end(struct perfetto *p)
{
	if (p->args_open)
		PUT_LIT(p, "}");
	PUT_LIT(p, "}");
	p->args_open = false;
}

/* ---------------------------------------------------------------------- */
/* Opening                                                                 */
/* ---------------------------------------------------------------------- */

static void free_all(struct perfetto *p)
{
	for (size_t i = 0; i < p->ntasks; i++) {
		free(p->tasks[i]->name);
		free(p->tasks[i]->holds);
		free(p->tasks[i]);
	}
	free(p->tasks);
	free(p->thash);
	free(p->slots);
	free(p->cleared);
	free(p->fl);
	free(p->trace_name);
	free(p->policy);
	free(p->path);
	free(p);
}

struct perfetto *perfetto_open(const char *path, km_machine *m,
                               const char *trace_name, const char *policy)
{
	struct perfetto *p = calloc(1, sizeof(*p));
	if (!p) {
		fprintf(stderr, "kmap replay: out of memory\n");
		return NULL;
	}
	p->m = m;
	km_machine_layout(m, &p->lay);
	p->nslots = p->lay.last_pkmap;
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	p->path = pic_dup(path, strlen(path));
	p->trace_name = pic_dup(trace_name, strlen(trace_name));
	p->policy = pic_dup(policy, strlen(policy));
	if (!p->slots || !p->path || !p->trace_name || !p->policy) {
		fprintf(stderr, "kmap replay: out of memory\n");
		free_all(p);
		return NULL;
	}
	/* the window as the run finds it (empty on a new machine) */
	for (unsigned i = 0; i < p->nslots; i++) {
		struct km_slot s = { 0, NO_PFN };
		km_pkmap_slot(m, i, &s);
		p->slots[i] = (struct pslot){ .pfn = s.pfn, .count = s.count };
		p->in_use += s.count >= 2;
		p->mapped += s.count >= 1;
	}
	p->shown_in_use = p->shown_mapped = -1;
	/* created now, so that a bad path fails before anything runs */
	if (!(p->f = pic_create("kmap replay", path))) {
		free_all(p);
		return NULL;
	}
	PUT_LIT(p, "{\"traceEvents\":[\n");
	p->first_event = true;
	return p;
}

/* ---------------------------------------------------------------------- */
/* Tasks                                                                   */
/* ---------------------------------------------------------------------- */

static size_t name_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return (size_t)h;
}

static int thash_grow(struct perfetto *p)
{
	size_t cap = p->thcap ? 2 * p->thcap : 64;
	size_t *h = calloc(cap, sizeof(*h));
	if (!h)
		return -1;
	for (size_t i = 0; i < p->ntasks; i++) {
		size_t k = name_hash(p->tasks[i]->name, p->tasks[i]->name_len) &
		           (cap - 1);
		while (h[k])
			k = (k + 1) & (cap - 1);
		h[k] = i + 1;
	}
	free(p->thash);
	p->thash = h;
	p->thcap = cap;
	return 0;
}

/* The task named @s (made on its first record); its index, or -1. */
static long task_get(struct perfetto *p, const char *s, size_t n)
{
	size_t k = p->thcap ? name_hash(s, n) & (p->thcap - 1) : 0;
	for (; p->thcap && p->thash[k]; k = (k + 1) & (p->thcap - 1)) {
		const struct ptask *t = p->tasks[p->thash[k] - 1];
		if (t->name_len == n && !memcmp(t->name, s, n))
			return (long)(p->thash[k] - 1);
	}
	if (2 * (p->ntasks + 1) > p->thcap && thash_grow(p))
		return -1;
	if (!pic_grow((void **)&p->tasks, &p->tcap, p->ntasks + 1,
	              sizeof(*p->tasks)))
		return -1;
	struct ptask *t = calloc(1, sizeof(*t));
	if (!t || !(t->name = pic_dup(s, n))) {
		free(t);
		return -1;
	}
	t->name_len = n;
	p->tasks[p->ntasks++] = t;
	k = name_hash(s, n) & (p->thcap - 1);
	while (p->thash[k])
		k = (k + 1) & (p->thcap - 1);
	p->thash[k] = p->ntasks;
	return (long)(p->ntasks - 1);
}

static uint64_t task_tid(size_t i) { return TID_TASK0 + (uint64_t)i; }

/* ---------------------------------------------------------------------- */
/* The window                                                              */
/* ---------------------------------------------------------------------- */

static void slot_span(struct perfetto *p, unsigned s, char ph, uint64_t ts,
                      const struct rec *e)
{
	char name[32];
	int n = snprintf(name, sizeof(name), "pfn %llu",
	                 (unsigned long long)p->slots[s].pfn);
	ev_head(p, ph, name, (size_t)n, "slot", ts, PID_WINDOW, TID_SLOT0 + s);
	if (ph == 'B') {
		arg_u64(p, "pfn", p->slots[s].pfn);
		arg_u64(p, "slot", s);
		if (e) {
			arg_u64(p, "line", e->line);
			arg_str(p, "task", e->task, e->task_len);
		} else {
			arg_true(p, "mapped before the trace");
		}
	}
	ev_end(p);
	p->slots[s].open = ph == 'B';
	p->slots[s].used = true;
}

/* Slot @s now holds @pfn with @count: its span and the counters. */
static void slot_set(struct perfetto *p, unsigned s, int count, uint64_t pfn,
                     uint64_t ts, const struct rec *e)
{
	struct pslot *sl = &p->slots[s];
	if (sl->pfn != pfn) {
		if (sl->open)
			slot_span(p, s, 'E', ts, NULL);
		sl->pfn = pfn;
		if (count > 0 && pfn != NO_PFN)
			slot_span(p, s, 'B', ts, e);
	}
	p->in_use = p->in_use - (sl->count >= 2) + (count >= 2);
	p->mapped = p->mapped - (sl->count >= 1) + (count >= 1);
	sl->count = count;
}

static void counters(struct perfetto *p, uint64_t ts)
{
	if (p->in_use == p->shown_in_use && p->mapped == p->shown_mapped)
		return;
	ev_headz(p, 'C', "slots", "window", ts, PID_WINDOW, TID_WINDOW);
	arg_u64(p, "in use", p->in_use);
	arg_u64(p, "mapped", p->mapped);
	ev_end(p);
	p->shown_in_use = p->in_use;
	p->shown_mapped = p->mapped;
}

/* The flushes since the last record, at @ts: spans end, an instant each. */
static void flushes_at(struct perfetto *p, uint64_t ts)
{
	for (size_t k = 0; k < p->nfl; k++) {
		const uint32_t *c = p->cleared + p->fl[k].off;
		size_t n = p->fl[k].n;
		for (size_t i = 0; i < n; i++)
			slot_set(p, c[i], 0, NO_PFN, ts, NULL);
		ev_headz(p, 'i', "flush", "window", ts, PID_WINDOW, TID_WINDOW);
		PUT_LIT(p, ",\"s\":\"g\"");
		/* the slots as ranges, "1-511,600" */
		arg_key(p, "cleared");
		PUT_LIT(p, "\"");
		for (size_t i = 0; i < n;) {
			size_t j = i;
			while (j + 1 < n && c[j + 1] == c[j] + 1)
				j++;
			if (i)
				PUT_LIT(p, ",");
			put_u64(p, c[i]);
			if (j > i) {
				PUT_LIT(p, "-");
				put_u64(p, c[j]);
			}
			i = j + 1;
		}
		if (!n)
			PUT_LIT(p, "none");
		PUT_LIT(p, "\"");
		arg_u64(p, "slots", n);
		arg_key(p, "tlb_flush");
		if (p->fl[k].tlb)
			PUT_LIT(p, "true");
		else
			PUT_LIT(p, "false");
		ev_end(p);
	}
	p->nfl = 0;
	p->ncleared = 0;
}

void perfetto_flush(struct perfetto *p, const struct km_event *ev)
{
	if (!p || p->oom)
		return;
	p->flushes++;
	if (!pic_grow((void **)&p->fl, &p->flcap, p->nfl + 1, sizeof(*p->fl)) ||
	    !pic_grow((void **)&p->cleared, &p->ccap,
	              p->ncleared + ev->nr_cleared, sizeof(*p->cleared))) {
		p->oom = true;
		return;
	}
	p->fl[p->nfl++] = (struct pfl){ p->ncleared, ev->nr_cleared,
	                                ev->tlb_flush != 0 };
	for (unsigned i = 0; i < ev->nr_cleared; i++)
		p->cleared[p->ncleared++] = ev->cleared[i];
}

/* ---------------------------------------------------------------------- */
/* Mappings held                                                           */
/* ---------------------------------------------------------------------- */

/* @e: the record that begins the hold (b), or NULL (e) */
static void hold_event(struct perfetto *p, char ph, const struct hold *h,
                       uint64_t ts, const struct rec *e)
{
	char name[32];
	int n = snprintf(name, sizeof(name), "pfn %llu",
	                 (unsigned long long)h->pfn);
	ev_head(p, ph, name, (size_t)n, "held", ts, PID_HELD, TID_HELD);
	PUT_LIT(p, ",\"id\":");
	put_u64(p, h->id);
	if (ph == 'b') { /* the end's args would join these: none */
		arg_str(p, "task", e->task, e->task_len);
		arg_u64(p, "line", e->line);
		arg_strz(p, "op", trace_op_names[e->op]);
		arg_strz(p, "how", e->how);
	}
	ev_end(p);
}

static void hold_begin(struct perfetto *p, struct ptask *t, uint64_t ts,
                       const struct rec *e, bool local)
{
	if (!pic_grow((void **)&t->holds, &t->cap, t->nholds + 1,
	              sizeof(*t->holds))) {
		p->oom = true;
		return;
	}
	struct hold *h = &t->holds[t->nholds++];
	*h = (struct hold){ e->pfn, ++p->next_hold_id, local };
	hold_event(p, 'b', h, ts, e);
}

/* End @t's newest hold of @pfn (of its kind); a kunmap may give back
 * another task's kmap: then that task's oldest. */
static void hold_end(struct perfetto *p, struct ptask *t, uint64_t ts,
                     const struct rec *e, bool local)
{
	struct ptask *owner = NULL;
	size_t k = 0;
	for (size_t i = t->nholds; i-- > 0 && !owner;)
		if (t->holds[i].pfn == e->pfn && t->holds[i].local == local) {
			owner = t;
			k = i;
		}
	for (size_t j = 0; j < p->ntasks && !owner && !local; j++)
		for (size_t i = 0; i < p->tasks[j]->nholds && !owner; i++)
			if (p->tasks[j]->holds[i].pfn == e->pfn &&
			    !p->tasks[j]->holds[i].local) {
				owner = p->tasks[j];
				k = i;
			}
	if (!owner)
		return;
	hold_event(p, 'e', &owner->holds[k], ts, NULL);
	memmove(&owner->holds[k], &owner->holds[k + 1],
	        (owner->nholds - k - 1) * sizeof(owner->holds[0]));
	owner->nholds--;
}

static void holds(struct perfetto *p, struct ptask *t, uint64_t ts,
                  const struct rec *e)
{
	if (e->result != RES_OK || !e->how || e->how == H_LOWMEM)
		return;
	switch (e->op) {
	case OP_KMAP:
		return hold_begin(p, t, ts, e, false);
	case OP_KMAP_LOCAL:
	case OP_KMAP_ATOMIC:
		return hold_begin(p, t, ts, e, true);
	default:
		return;
	}
}

static void unholds(struct perfetto *p, struct ptask *t, uint64_t ts,
                    const struct rec *e)
{
	if (e->result != RES_OK || e->how == H_LOWMEM)
		return;
	if (e->op == OP_KUNMAP)
		hold_end(p, t, ts, e, false);
	else if (e->op == OP_KUNMAP_LOCAL || e->op == OP_KUNMAP_ATOMIC)
		hold_end(p, t, ts, e, true);
}

/* ---------------------------------------------------------------------- */
/* Records                                                                 */
/* ---------------------------------------------------------------------- */

/* The step of record @e: see perfetto.h. */
static uint64_t step_time(const struct perfetto *p, const struct rec *e)
{
	if (!p->started)
		return e->has_time ? e->time : 0;
	if (!e->has_time)
		return p->now + STEP_NS;
	return e->time > p->now ? e->time : p->now + 1;
}

/* A record's outcome as args (the JSON record's names); a woken kmap's
 * at the end of its span, when the call returns. */
static void outcome_args(struct perfetto *p, const struct rec *e)
{
	arg_strz(p, "result", e->result);
	if (e->error)
		arg_strz(p, "error", e->error);
	if (e->how)
		arg_strz(p, "how", e->how);
	if (e->slot >= 0)
		arg_u64(p, "slot", (uint64_t)e->slot);
	if (e->has_vaddr)
		arg_hex(p, "vaddr", e->vaddr);
}

/* Close the last step's operation: it lasts until @next, or 1 us. */
static void close_pending(struct perfetto *p, uint64_t next)
{
	if (!p->pend)
		return;
	uint64_t end = next - p->now < STEP_NS ? next : p->now + STEP_NS;
	ev_headz(p, 'E', p->pend_name, "op", end, PID_TASKS,
	         task_tid(p->pend_task));
	if (p->pend_outcome) {
		outcome_args(p, &p->pend_rec);
		arg_true(p, "resumed");
	}
	ev_end(p);
	p->pend = false;
}

/* The record's fields as args. */
static void rec_args(struct perfetto *p, const struct rec *e)
{
	arg_u64(p, "line", e->line);
	if (e->has_pfn)
		arg_u64(p, "pfn", e->pfn);
	if (e->has_range) {
		arg_u64(p, "offset", e->offset);
		arg_u64(p, "len", e->len);
	}
	outcome_args(p, e);
	if (e->data) {
		static const char hx[] = "0123456789abcdef";
		arg_key(p, "data");
		PUT_LIT(p, "\"");
		for (size_t i = 0; i < e->data_len; i++) {
			char b[2] = { hx[e->data[i] >> 4], hx[e->data[i] & 15] };
			put(p, b, 2);
		}
		PUT_LIT(p, "\"");
	}
	if (e->resumed)
		arg_true(p, "resumed");
}

static void asleep_span(struct perfetto *p, size_t ti, char ph, uint64_t ts,
                        const struct rec *e)
{
	ev_headz(p, ph, "asleep", "sleep", ts, PID_TASKS, task_tid(ti));
	if (e) {
		arg_u64(p, "line", e->line);
		arg_u64(p, "pfn", e->pfn);
		if (e->resumed)
			arg_true(p, "woken and slept again");
	}
	ev_end(p);
	p->tasks[ti]->asleep = ph == 'B';
}

/* The task's track at @ts: its operation, or its sleep and wake-up. */
static void task_track(struct perfetto *p, size_t ti, uint64_t ts,
                       const struct rec *e)
{
	struct ptask *t = p->tasks[ti];
	const char *op = trace_op_names[e->op];
	if (e->result == RES_SLEEP) {
		if (t->in_kmap && t->asleep) {
			asleep_span(p, ti, 'E', ts, NULL);
		} else {
			ev_headz(p, 'B', op, "op", ts, PID_TASKS, task_tid(ti));
			arg_u64(p, "line", e->line);
			arg_u64(p, "pfn", e->pfn);
			ev_end(p);
			t->in_kmap = true;
		}
		asleep_span(p, ti, 'B', ts, e);
		return;
	}
	if (e->resumed && t->in_kmap) {
		if (t->asleep)
			asleep_span(p, ti, 'E', ts, NULL);
		t->in_kmap = false;
		/* the kmap's span ends a moment later, with the outcome */
		p->pend_outcome = true;
		p->pend_rec = (struct rec){ .result = e->result, .error = e->error,
		                            .how = e->how, .slot = e->slot,
		                            .has_vaddr = e->has_vaddr,
		                            .vaddr = e->vaddr };
	} else {
		ev_headz(p, 'B', op, "op", ts, PID_TASKS, task_tid(ti));
		rec_args(p, e);
		ev_end(p);
		p->pend_outcome = false;
	}
	p->pend = true;
	p->pend_task = ti;
	p->pend_name = op;
}

void perfetto_record(struct perfetto *p, const struct rec *e)
{
	if (!p || p->oom)
		return;
	uint64_t ts = step_time(p, e);
	close_pending(p, ts);
	if (!p->started) {
		for (unsigned s = 0; s < p->nslots; s++)
			if (p->slots[s].count > 0 && p->slots[s].pfn != NO_PFN)
				slot_span(p, s, 'B', ts, NULL);
		p->started = true;
	}
	p->now = ts;
	p->steps++;
	p->timed |= e->has_time;
	flushes_at(p, ts);
	long ti = task_get(p, e->task, e->task_len);
	if (ti < 0) {
		p->oom = true;
		return;
	}
	struct ptask *t = p->tasks[ti];
	task_track(p, (size_t)ti, ts, e);
	/* the slot the record names, as the library has it now (for a local
	 * map the record's slot is its stack index: that slot is unchanged) */
	if (e->slot >= 0 && (unsigned long)e->slot < p->nslots) {
		struct km_slot ks;
		if (!km_pkmap_slot(p->m, (unsigned)e->slot, &ks))
			slot_set(p, (unsigned)e->slot, ks.count, ks.pfn, ts, e);
	}
	unholds(p, t, ts, e);
	holds(p, t, ts, e);
	counters(p, ts);
}

void perfetto_mismatch(struct perfetto *p, const struct rp_mismatch *mm)
{
	if (!p || p->oom)
		return;
	p->mismatches++;
	ev_headz(p, 'i', "mismatch", "expect", p->now, PID_WINDOW, TID_WINDOW);
	PUT_LIT(p, ",\"s\":\"g\"");
	arg_u64(p, "line", mm->line);
	if (mm->task)
		arg_str(p, "task", mm->task, mm->task_len);
	arg_strz(p, "expected", mm->expected);
	arg_strz(p, "got", mm->got);
	ev_end(p);
}

void perfetto_summary(struct perfetto *p, const struct rp_summary *s)
{
	if (!p)
		return;
	p->summarized = true;
	p->sum = *s;
	p->sum.tasks = NULL;
	p->sum.leaks = NULL;
}

/* ---------------------------------------------------------------------- */
/* The end                                                                 */
/* ---------------------------------------------------------------------- */

/* A metadata event: a process's or thread's name or sort index. */
static void meta(struct perfetto *p, const char *what, unsigned pid,
                 uint64_t tid, const char *name, size_t name_len, long sort)
{
	ev_headz(p, 'M', what, "__metadata", 0, pid, tid);
	if (name)
		arg_str(p, "name", name, name_len);
	else
		arg_u64(p, "sort_index", (uint64_t)sort);
	ev_end(p);
}

static void meta_name(struct perfetto *p, bool process, unsigned pid,
                      uint64_t tid, const char *name, long sort)
{
	meta(p, process ? "process_name" : "thread_name", pid, tid, name,
	     strlen(name), 0);
	meta(p, process ? "process_sort_index" : "thread_sort_index", pid, tid,
	     NULL, 0, sort);
}

static void write_names(struct perfetto *p)
{
	char name[160];
	snprintf(name, sizeof(name), "pkmap window: %u slots (%s, policy %s)",
	         p->nslots, p->lay.profile, p->policy);
	meta_name(p, true, PID_WINDOW, TID_WINDOW, name, 0);
	meta_name(p, false, PID_WINDOW, TID_WINDOW, "window", 0);
	for (unsigned s = 0; s < p->nslots; s++) {
		if (!p->slots[s].used)
			continue;
		snprintf(name, sizeof(name), "slot %u", s);
		meta_name(p, false, PID_WINDOW, TID_SLOT0 + s, name, 1 + (long)s);
	}
	if (p->ntasks)
		meta_name(p, true, PID_TASKS, task_tid(0), "tasks", 1);
	for (size_t i = 0; i < p->ntasks; i++) {
		meta(p, "thread_name", PID_TASKS, task_tid(i), p->tasks[i]->name,
		     p->tasks[i]->name_len, 0);
		meta(p, "thread_sort_index", PID_TASKS, task_tid(i), NULL, 0,
		     (long)i);
	}
	if (p->next_hold_id) {
		meta_name(p, true, PID_HELD, TID_HELD,
		          "mappings held (kmap to kunmap)", 2);
		meta_name(p, false, PID_HELD, TID_HELD, "held", 0);
	}
}

static void write_other(struct perfetto *p)
{
	PUT_LIT(p, "\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{");
	PUT_LIT(p, "\"generator\":\"kmap replay ");
	put(p, km_version(), strlen(km_version()));
	PUT_LIT(p, "\",\"trace\":");
	put_str(p, p->trace_name, strlen(p->trace_name));
	PUT_LIT(p, ",\"machine\":\"");
	put(p, p->lay.profile, strlen(p->lay.profile));
	PUT_LIT(p, "\",\"policy\":\"");
	put(p, p->policy, strlen(p->policy));
	PUT_LIT(p, "\",\"last_pkmap\":");
	put_u64(p, p->nslots);
	PUT_LIT(p, ",\"time\":\"");
	if (p->timed)
		PUT_LIT(p, "the trace's times (@SECONDS); records of one time "
		        "1 ns apart, lines without one 1 us after the step before");
	else
		PUT_LIT(p, "logical: a step (each record) is 1 us");
	PUT_LIT(p, "\",\"steps\":");
	put_u64(p, p->steps);
	PUT_LIT(p, ",\"flushes\":");
	put_u64(p, p->flushes);
	PUT_LIT(p, ",\"mismatches\":");
	put_u64(p, p->mismatches);
	if (p->summarized) {
		PUT_LIT(p, ",\"ops\":");
		put_u64(p, p->sum.ops);
		PUT_LIT(p, ",\"errors\":");
		put_u64(p, p->sum.errors);
		PUT_LIT(p, ",\"sleeps\":");
		put_u64(p, p->sum.sleeps);
	}
	/* no newline after the object: some readers take it for more data */
	PUT_LIT(p, "}}");
}

/* What was tracked must be the library's window, slot for slot. */
static int check_window(struct perfetto *p)
{
	for (unsigned i = 0; i < p->nslots; i++)
		if (pic_check_slot(p->m, i, p->slots[i].count, p->slots[i].pfn,
		                   "--perfetto"))
			return -1;
	return 0;
}

int perfetto_finish(struct perfetto *p)
{
	if (!p)
		return 0;
	int rc = 0;
	if (p->oom) {
		fprintf(stderr, "kmap replay: out of memory for --perfetto\n");
		rc = -1;
	} else {
		uint64_t end = p->started ? p->now + STEP_NS : 0;
		close_pending(p, end);
		if (p->nfl)
			flushes_at(p, end);
		for (size_t i = 0; i < p->ntasks; i++) {
			struct ptask *t = p->tasks[i];
			if (t->asleep)
				asleep_span(p, i, 'E', end, NULL);
			if (t->in_kmap) {
				ev_headz(p, 'E', "kmap", "op", end, PID_TASKS, task_tid(i));
				ev_end(p);
			}
			for (size_t k = 0; k < t->nholds; k++)
				hold_event(p, 'e', &t->holds[k], end, NULL);
		}
		for (unsigned s = 0; s < p->nslots; s++)
			if (p->slots[s].open)
				slot_span(p, s, 'E', end, NULL);
		counters(p, end);
		write_names(p);
		write_other(p);
		rc = check_window(p);
	}
	if (pic_close("kmap replay", p->path, p->f))
		rc = -1;
	free_all(p);
	return rc;
}
