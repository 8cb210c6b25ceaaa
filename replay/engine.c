/*
 * engine.c - the replay engine (engine.h): pass one's header rules, pass
 * two's tasks and operations, the records and the summary. Freestanding,
 * over kmap.h only.
 */
#include "engine.h"
#include "fmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Pass one                                                                */
/* ---------------------------------------------------------------------- */

/* A line whose @ time is before an earlier line's. */
static void time_back(struct trace_err *err, uint64_t time)
{
	snprintf(err->msg, sizeof(err->msg),
	         "time earlier than an earlier line's (times never go back)");
	err->token[0] = '@';
	*fmt_time(err->token + 1, time) = 0;
}

void rp_check_part(struct rp_part *p)
{
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
		p->expects += st.kind == ST_EXPECT;
		if ((st.kind == ST_OP || st.kind == ST_EXPECT) && !p->first_stmt)
			p->first_stmt = p->lines;
		if (st.kind == ST_OP) {
			p->ops++;
			p->vmaps += trace_op_vm(st.op);
			p->areas += trace_op_area(st.op);
			if (!p->first_op)
				p->first_op = p->lines;
		}
		if (st.kind == ST_OP && st.has_time) {
			if (p->first_time_line && st.time < p->last_time) {
				time_back(&p->err, st.time);
				p->err_line = p->lines;
				break;
			}
			if (!p->first_time_line) {
				p->first_time_line = p->lines;
				p->first_time = st.time;
			}
			p->last_time = st.time;
		}
		if ((st.kind == ST_MACHINE || st.kind == ST_POLICY) &&
		    p->nhdr < RP_MAX_HDR) {
			p->hdr[p->nhdr].line = p->lines;
			p->hdr[p->nhdr++].st = st;
		}
	}
}

/* A rule broken at @line: the message (and a token of at most 40 bytes). */
static int rule(unsigned long *line, struct trace_err *err, unsigned long at,
                const char *msg, const char *tok, size_t toklen)
{
	*line = at;
	snprintf(err->msg, sizeof(err->msg), "%s", msg);
	snprintf(err->token, sizeof(err->token), "%.*s",
	         (int)(toklen < 40 ? toklen : 40), tok ? tok : "");
	return -1;
}

static bool tok_eq(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && !memcmp(s, w, n);
}

/* The machine line's values, by the library's rules (km_config_check):
 * 0, or -1 and the rule broken. */
static int check_machine(unsigned long ln, const struct stmt *st,
                         struct rp_header *h, unsigned long *line,
                         struct trace_err *err)
{
	char msg[128];
	size_t n = st->profile_len < sizeof(h->profile) - 1 ?
	           st->profile_len : sizeof(h->profile) - 1;
	memcpy(h->profile, st->profile, n);
	h->profile[n] = 0;
	if (st->profile_len >= sizeof(h->profile) ||
	    km_profile_limits(h->profile, NULL, NULL))
		return rule(line, err, ln, "unknown profile", st->profile,
		            st->profile_len);
	h->mem = st->mem;
	h->last_pkmap = (unsigned)st->last_pkmap;
	h->colors = (unsigned)st->colors;
	h->model = st->model == 2 ? KM_SPARSEMEM : KM_FLATMEM;
	h->nr_holes = 0;
	if (st->holes) {
		uint64_t a[KM_MAX_HOLES], b[KM_MAX_HOLES];
		/* trace_parse_line read it once already */
		fmt_parse_ranges(st->holes, st->holes_len, a, b, KM_MAX_HOLES,
		                 &h->nr_holes);
		for (unsigned i = 0; i < h->nr_holes; i++)
			h->holes[i] = (struct km_hole){ a[i], b[i] };
	}
	struct km_config cfg;
	km_config_init(&cfg);
	rp_header_config(h, &cfg);
	if (km_config_check(&cfg, msg, sizeof(msg)))
		return rule(line, err, ln, msg, NULL, 0);
	return 0;
}

int rp_check_merge(const struct rp_part *p, int n, struct rp_header *h,
                   unsigned long *line, struct trace_err *err)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->policy, "linux", sizeof("linux"));

	/* the parts' lines, headers, first operation and first bad line,
	 * numbered from the input's start */
	unsigned long off = 0, bad = 0, first_op = 0, first_stmt = 0, total = 0;
	const struct trace_err *bad_err = NULL;
	/* times across parts: a part's first may not be before the last */
	struct trace_err time_err;
	uint64_t last_time = 0;
	bool timed = false;
	struct {
		unsigned long line;
		const struct stmt *st;
	} hs[8 * RP_MAX_HDR];
	int nh = 0;
	for (int k = 0; k < n; k++) {
		if (!first_op && p[k].first_op)
			first_op = off + p[k].first_op;
		if (!first_stmt && p[k].first_stmt)
			first_stmt = off + p[k].first_stmt;
		for (int i = 0; i < p[k].nhdr && nh < (int)(sizeof(hs) / sizeof(hs[0])); i++) {
			hs[nh].line = off + p[k].hdr[i].line;
			hs[nh++].st = &p[k].hdr[i].st;
		}
		h->ops += p[k].ops;
		h->expects += p[k].expects;
		h->vmaps += p[k].vmaps;
		h->areas += p[k].areas;
		total += p[k].lines;
		unsigned long back = timed && p[k].first_time_line &&
		                     p[k].first_time < last_time ?
		                     p[k].first_time_line : 0;
		if (back && (!p[k].err_line || back < p[k].err_line)) {
			time_back(&time_err, p[k].first_time);
			bad = off + back;
			bad_err = &time_err;
			break;
		}
		if (p[k].err_line) {
			bad = off + p[k].err_line;
			bad_err = &p[k].err;
			break;
		}
		if (p[k].first_time_line) {
			last_time = p[k].last_time;
			timed = true;
		}
		off += p[k].lines;
	}

	unsigned long machine_line = 0;
	bool seen_policy = false;
	for (int i = 0; i <= nh; i++) {
		/* the first operation or expect line, in its place among the
		 * headers: an expect line has no machine to be checked on */
		unsigned long next = i < nh ? hs[i].line : ~0ul;
		if (first_stmt && first_stmt < next && !machine_line &&
		    (!bad || first_stmt < bad))
			return rule(line, err, first_stmt,
			            "the machine line is missing (it must come first)",
			            NULL, 0);
		if (i == nh || (bad && next > bad))
			break;
		const struct stmt *st = hs[i].st;
		bool after_op = first_op && first_op < next;
		char msg[96];
		if (st->kind == ST_MACHINE) {
			if (machine_line) {
				snprintf(msg, sizeof(msg),
				         "repeated machine line (the first is line %lu)",
				         machine_line);
				return rule(line, err, next, msg, NULL, 0);
			}
			if (after_op || seen_policy)
				return rule(line, err, next,
				            "machine line must come first", NULL, 0);
			if (check_machine(next, st, h, line, err))
				return -1;
			machine_line = next;
			continue;
		}
		if (!machine_line)
			return rule(line, err, next,
			            "the machine line is missing (it must come first)",
			            NULL, 0);
		if (after_op || seen_policy)
			return rule(line, err, next, seen_policy ?
			            "repeated policy line" : "late policy line", NULL, 0);
		bool known = false;
		for (unsigned k = 0; km_policy_name(k); k++)
			known |= tok_eq(st->policy, st->policy_len, km_policy_name(k));
		if (!known || st->policy_len >= sizeof(h->policy))
			return rule(line, err, next, "unknown policy", st->policy,
			            st->policy_len);
		memcpy(h->policy, st->policy, st->policy_len);
		h->policy[st->policy_len] = 0;
		seen_policy = true;
	}
	if (bad) {
		*line = bad;
		*err = *bad_err;
		return -1;
	}
	if (!machine_line)
		return rule(line, err, total ? total : 1,
		            "the machine line is missing", NULL, 0);
	return 0;
}

void rp_header_config(const struct rp_header *h, struct km_config *cfg)
{
	cfg->profile = h->profile;
	cfg->policy = h->policy;
	cfg->mem_bytes = h->mem;
	cfg->last_pkmap = h->last_pkmap;
	cfg->colors = h->colors;
	cfg->memory_model = h->model;
	cfg->nr_holes = h->nr_holes;
	for (unsigned i = 0; i < h->nr_holes; i++)
		cfg->holes[i] = h->holes[i];
}

/* ---------------------------------------------------------------------- */
/* Pass two: tasks                                                         */
/* ---------------------------------------------------------------------- */

/* Flushes one line may run before the expect lines that name them: a
 * kmap's own and, after a kunmap, each woken task's. */
#define RP_MAX_FLUSHES 16

struct rp {
	km_machine *m;
	const struct rp_host *host;
	const struct rp_sink *sink;
	struct km_layout lay;
	struct rp_task **tasks;    /* in order of first appearance */
	size_t ntasks, cap;
	size_t *by_name, *by_ptr;  /* open-addressing hashes into tasks + 1 */
	size_t hcap;
	struct rp_task *cur;       /* the task switched to last (run_as NULL) */
	bool oom;
	struct rp_summary sum;
	unsigned long line;        /* the line running */
	bool has_time;             /* and its @ time, in ns */
	uint64_t time;
	/* checking expect lines: the flushes that ran since the last
	 * operation line began, oldest first, for the expect lines after it */
	bool check;
	struct rp_flush {
		unsigned long line;
		unsigned n;            /* slots cleared */
		uint64_t hash;         /* of the slots, in order */
		char text[96];         /* "flush 1-511", cut short with "..." */
	} flushes[RP_MAX_FLUSHES];
	unsigned nflushes;
	char want[112], got[112];  /* a mismatch's words */
	/* vmap areas, live and lazily freed, in the order of their vmaps
	 * (a purge takes the lazy ones out); by_area hashes every one's
	 * name into areas + 1 */
	struct rp_area **areas;
	size_t nareas, acap, *by_area, ahcap;
	/* the record of the vmap or vunmap running (a purge's by) */
	const struct rec *vm_op;
	/* a read's or write's bytes: one page at most (every profile's pages
	 * are 4 KiB), here rather than on a task's stack (8 KiB in the kernel) */
	unsigned char io[4096];
};

static void *rp_alloc(struct rp *r, size_t n)
{
	void *p = r->host->alloc(r->host->arg, n);
	if (p)
		memset(p, 0, n);
	else
		r->oom = true;
	return p;
}

static void rp_free(struct rp *r, void *p)
{
	if (p)
		r->host->free(r->host->arg, p);
}

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static uint64_t hash_ptr(const void *p)
{
	return ((uint64_t)(uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull;
}

static void hash_put(size_t *tab, size_t cap, uint64_t h, size_t v)
{
	size_t i = h & (cap - 1);
	while (tab[i])
		i = (i + 1) & (cap - 1);
	tab[i] = v;
}

/* Room for one more task: the array and both hashes at twice the size. */
static int grow(struct rp *r)
{
	size_t cap = r->cap ? r->cap * 2 : 16, hcap = cap * 2;
	struct rp_task **nt = rp_alloc(r, cap * sizeof(*nt));
	size_t *bn = rp_alloc(r, hcap * sizeof(size_t));
	size_t *bp = rp_alloc(r, hcap * sizeof(size_t));
	if (!nt || !bn || !bp) {
		rp_free(r, nt);
		rp_free(r, bn);
		rp_free(r, bp);
		return -1;
	}
	for (size_t i = 0; i < r->ntasks; i++) {
		nt[i] = r->tasks[i];
		hash_put(bn, hcap, hash_bytes(nt[i]->name, nt[i]->name_len), i + 1);
		hash_put(bp, hcap, hash_ptr(nt[i]->t), i + 1);
	}
	rp_free(r, r->tasks);
	rp_free(r, r->by_name);
	rp_free(r, r->by_ptr);
	r->tasks = nt;
	r->by_name = bn;
	r->by_ptr = bp;
	r->cap = cap;
	r->hcap = hcap;
	return 0;
}

/* The task named @s, or NULL. */
static struct rp_task *task_find(struct rp *r, const char *s, size_t n)
{
	if (r->hcap) {
		size_t h = hash_bytes(s, n) & (r->hcap - 1);
		for (; r->by_name[h]; h = (h + 1) & (r->hcap - 1)) {
			struct rp_task *t = r->tasks[r->by_name[h] - 1];
			if (t->name_len == n && !memcmp(t->name, s, n))
				return t;
		}
	}
	return NULL;
}

/* The task named @s, made on its first line; NULL when out of memory. */
static struct rp_task *task_get(struct rp *r, const char *s, size_t n)
{
	struct rp_task *t = task_find(r, s, n);
	if (t)
		return t;
	if (r->ntasks == r->cap && grow(r))
		return NULL;
	t = rp_alloc(r, sizeof(*t));
	if (!t)
		return NULL;
	t->name = s;
	t->name_len = n;
	int rc = r->host->task_new ? r->host->task_new(r->host->arg, r, t) :
	                             km_task_create(r->m, &t->t);
	if (rc) {
		rp_free(r, t);
		r->oom = true;
		return NULL;
	}
	r->tasks[r->ntasks++] = t;
	hash_put(r->by_name, r->hcap, hash_bytes(s, n), r->ntasks);
	hash_put(r->by_ptr, r->hcap, hash_ptr(t->t), r->ntasks);
	return t;
}

static struct rp_task *task_of(struct rp *r, const km_task *kt)
{
	if (!r->hcap)
		return NULL;
	size_t h = hash_ptr(kt) & (r->hcap - 1);
	for (; r->by_ptr[h]; h = (h + 1) & (r->hcap - 1))
		if (r->tasks[r->by_ptr[h] - 1]->t == kt)
			return r->tasks[r->by_ptr[h] - 1];
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Records                                                                 */
/* ---------------------------------------------------------------------- */

const char RES_OK[] = "ok", RES_SLEEP[] = "sleep", RES_ERROR[] = "error";
const char H_LOWMEM[] = "lowmem", H_HIT[] = "hit", H_NEW[] = "new",
           H_LOCAL[] = "local";

struct rec rec_of(unsigned long line, const char *task, size_t task_len,
                  const struct stmt *st)
{
	struct rec e = { .line = line, .task = task, .task_len = task_len,
	                 .op = st->op, .slot = -1, .result = RES_OK };
	e.has_pfn = st->op != OP_FLUSH_UNUSED && !trace_op_vm(st->op);
	e.pfn = st->pfn;
	if (st->op == OP_READ || st->op == OP_WRITE) {
		e.has_range = true;
		e.offset = st->offset;
		e.len = st->len;
	}
	return e;
}

char *rec_what(char *p, const struct rec *e, size_t name_max)
{
	if (e->has_pfn)
		return fmt_u64(p, e->pfn);
	if (!e->area)
		return p;
	size_t n = e->area_len < name_max ? e->area_len : name_max;
	memcpy(p, e->area, n);
	return p + n;
}

const char *rec_what_heading(bool areas)
{
	return areas ? "pfn/area" : "pfn";
}

static void emit(struct rp *r, struct rec *e)
{
	struct rp_summary *s = &r->sum;
	e->has_time = r->has_time;
	e->time = r->time;
	if (e->result == RES_ERROR)
		s->errors += !e->resumed;
	if (e->how && e->result == RES_OK) {
		if (e->how == H_NEW)
			s->new_maps++;
		else if (e->how == H_HIT)
			s->hits++;
		else if (e->how == H_LOWMEM &&
		         (e->op == OP_KMAP || e->op == OP_KMAP_LOCAL ||
		          e->op == OP_KMAP_ATOMIC))
			s->lowmem++;
	}
	if (r->sink->record)
		r->sink->record(r->sink->arg, e);
}

static void fail(struct rp *r, struct rec *e, const char *msg)
{
	e->result = RES_ERROR;
	e->error = msg;
	emit(r, e);
}

static void flush_ran(struct rp *r, const struct km_event *ev);
static void purge_ran(struct rp *r, const struct km_event *ev);

/*
 * The library's events, as they happen: a flush is a record of its own;
 * a task going to sleep is its kmap's "sleep" record, written here so
 * that a task that blocks inside kmap (the kernel) and one that parks
 * (libkmap) write the same one. A kmap that sleeps again after a wake-up
 * is still its first line's, resumed.
 */
static void on_event(void *arg, const struct km_event *ev)
{
	struct rp *r = arg;
	if (r->sink->event)
		r->sink->event(r->sink->arg, ev);
	struct rp_task *t = ev->task ? task_of(r, ev->task) : NULL;
	if (ev->type == KM_EV_FLUSH) {
		r->sum.flushes++;
		r->sum.tlb_flushes += ev->tlb_flush != 0;
		if (r->sink->flush) {
			struct rec by;
			if (t) {
				struct stmt st = { .kind = ST_OP, .op = t->op,
				                   .pfn = t->op_pfn };
				by = rec_of(t->op_line, t->name, t->name_len,
				            &st);
				by.resumed = t->asleep;
				by.has_time = r->has_time;
				by.time = r->time;
			}
			r->sink->flush(r->sink->arg, ev, t ? &by : NULL);
		}
		if (r->check)
			flush_ran(r, ev);
		return;
	}
	if (ev->type == KM_EV_PURGE)
		return purge_ran(r, ev);
	if (ev->type != KM_EV_SLEEP || !t)
		return;
	struct stmt st = { .kind = ST_OP, .op = OP_KMAP, .pfn = t->sleep_pfn };
	unsigned long line = t->asleep ? t->sleep_line : t->op_line;
	struct rec e = rec_of(line, t->name, t->name_len, &st);
	e.resumed = t->asleep;
	e.result = RES_SLEEP;
	t->asleep = true;
	t->sleep_line = line;
	r->sum.sleeps++;
	emit(r, &e);
}

/* ---------------------------------------------------------------------- */
/* Expect lines                                                            */
/* ---------------------------------------------------------------------- */

static uint64_t slots_hash(uint64_t h, uint64_t slot)
{
	return (h ^ slot) * 1099511628211ull;
}

/* Words for a list of slots, as an expect line writes them: ranges
 * appended to @p (@end its limit), cut short with "...". */
struct slots_text {
	char *p, *end;
	uint64_t lo, hi;
	bool open, full;
};

static void st_put(struct slots_text *w, const char *s, size_t n)
{
	if (w->full)
		return;
	if ((size_t)(w->end - w->p) < n + 4) {
		memcpy(w->p, "...", 4);
		w->p += 3;
		w->full = true;
		return;
	}
	memcpy(w->p, s, n);
	w->p += n;
	*w->p = 0;
}

static void st_close(struct slots_text *w)
{
	char tmp[48], *q = tmp;
	if (!w->open)
		return;
	q = fmt_u64(q, w->lo);
	if (w->hi > w->lo) {
		*q++ = '-';
		q = fmt_u64(q, w->hi);
	}
	*q++ = ',';
	st_put(w, tmp, (size_t)(q - tmp));
	w->open = false;
}

static void st_add(struct slots_text *w, uint64_t slot)
{
	if (w->open && slot == w->hi + 1) {
		w->hi = slot;
		return;
	}
	st_close(w);
	w->lo = w->hi = slot;
	w->open = true;
}

/* Finish the words: drop the last comma; "none" for no slots. */
static void st_end(struct slots_text *w, char *start)
{
	st_close(w);
	if (!w->full && w->p > start && w->p[-1] == ',')
		*--w->p = 0;
	if (w->p == start)
		memcpy(start, "none", 5);
}

/* flush_all_zero_pkmaps ran: keep it for the expect lines after it. */
static void flush_ran(struct rp *r, const struct km_event *ev)
{
	if (r->nflushes == RP_MAX_FLUSHES)
		return; /* a line that flushes this often: the rest unchecked */
	struct rp_flush *f = &r->flushes[r->nflushes++];
	f->line = r->line;
	f->n = ev->nr_cleared;
	f->hash = 1469598103934665603ull;
	memcpy(f->text, "flush ", 7);
	struct slots_text w = { f->text + 6, f->text + sizeof(f->text), 0, 0,
	                        false, false };
	for (unsigned i = 0; i < ev->nr_cleared; i++) {
		f->hash = slots_hash(f->hash, ev->cleared[i]);
		st_add(&w, ev->cleared[i]);
	}
	st_end(&w, f->text + 6);
}

static void mismatch_of(struct rp *r, unsigned long line, const char *task,
                        size_t task_len)
{
	r->sum.mismatches++;
	struct rp_mismatch mm = { .line = line, .task = task,
	                          .task_len = task_len,
	                          .expected = r->want, .got = r->got };
	if (r->sink->mismatch)
		r->sink->mismatch(r->sink->arg, &mm);
}

static void mismatch(struct rp *r, unsigned long line, const struct rp_task *t)
{
	mismatch_of(r, line, t ? t->name : NULL, t ? t->name_len : 0);
}

/* Flushes that ran and that no expect line named. */
static void flushes_unexpected(struct rp *r)
{
	for (unsigned i = 0; i < r->nflushes; i++) {
		memcpy(r->want, "no flush", sizeof("no flush"));
		memcpy(r->got, r->flushes[i].text, sizeof(r->flushes[i].text));
		mismatch(r, r->flushes[i].line, NULL);
	}
	r->nflushes = 0;
}

/* expect flush: the oldest flush not yet named. */
static void expect_flush(struct rp *r, unsigned long line, const struct stmt *st)
{
	r->sum.checked_flushes++;
	char *w = r->want;
	if (st->slots)
		memcpy(w, "flush", sizeof("flush"));
	else
		memcpy(w, "a flush", sizeof("a flush"));
	uint64_t hash = 1469598103934665603ull, n = 0, lo, hi;
	if (st->slots) {
		struct slots_text txt = { w + 6, w + sizeof(r->want), 0, 0,
		                          false, false };
		w[5] = ' ';
		size_t pos = 0;
		while (trace_slots_next(st->slots, st->slots_len, &pos, &lo, &hi))
			for (uint64_t s = lo; s <= hi; s++, n++) {
				hash = slots_hash(hash, s);
				st_add(&txt, s);
			}
		st_end(&txt, w + 6);
	}
	if (!r->nflushes) {
		memcpy(r->got, "no flush", sizeof("no flush"));
		return mismatch(r, line, NULL);
	}
	struct rp_flush f = r->flushes[0];
	r->nflushes--;
	memmove(r->flushes, r->flushes + 1, r->nflushes * sizeof(f));
	if (st->slots && (f.n != n || f.hash != hash)) {
		memcpy(r->got, f.text, sizeof(f.text));
		mismatch(r, line, NULL);
	}
}

/* Words for an address and how: "0xff001000 new". */
static void vaddr_words(char *p, uint64_t va, const char *how)
{
	p = fmt_hex(p, va);
	if (how) {
		*p++ = ' ';
		size_t n = strlen(how);
		memcpy(p, how, n);
		p += n;
	}
	*p = 0;
}

/* Compare @t's latest mapping with what line @line expects of it. */
static void vaddr_check(struct rp *r, struct rp_task *t, unsigned long line,
                        uint64_t va, int how)
{
	r->sum.checked_vaddrs++;
	const char *hw = how == HOW_ANY ? NULL : trace_how_names[how];
	vaddr_words(r->want, va, hw);
	if (!t->mapped) {
		memcpy(r->got, "no mapping", sizeof("no mapping"));
		return mismatch(r, line, t);
	}
	if (t->map_failed) {
		memcpy(r->got, "an error", sizeof("an error"));
		return mismatch(r, line, t);
	}
	if (t->map_vaddr == va && (!hw || !strcmp(hw, t->map_how)))
		return;
	vaddr_words(r->got, t->map_vaddr, hw ? t->map_how : NULL);
	mismatch(r, line, t);
}

/* A mapping's outcome (an ok or error record), for the expect lines. */
static void map_done(struct rp *r, struct rp_task *t, const struct rec *e)
{
	t->mapped = true;
	t->map_failed = e->result == RES_ERROR;
	t->map_vaddr = e->vaddr;
	t->map_how = e->how;
	if (t->expecting) {
		t->expecting = false;
		vaddr_check(r, t, t->expect_line, t->expect_vaddr, t->expect_how);
	}
}

static void run_expect(struct rp *r, unsigned long line, const struct stmt *st)
{
	if (st->expect == EXPECT_FLUSH)
		return expect_flush(r, line, st);
	struct rp_task *t = task_find(r, st->task, st->task_len);
	if (!t) {
		r->sum.checked_vaddrs++;
		vaddr_words(r->want, st->vaddr, st->how == HOW_ANY ? NULL :
		            trace_how_names[st->how]);
		memcpy(r->got, "no such task", sizeof("no such task"));
		return mismatch_of(r, line, st->task, st->task_len);
	}
	if (t->asleep) { /* checked when its kmap completes */
		if (t->expecting)
			vaddr_check(r, t, t->expect_line, t->expect_vaddr,
			            t->expect_how);
		t->expecting = true;
		t->expect_line = line;
		t->expect_vaddr = st->vaddr;
		t->expect_how = (int)st->how;
		return;
	}
	vaddr_check(r, t, line, st->vaddr, (int)st->how);
}

/* The end: expectations of tasks still asleep, flushes not named. */
static void expect_end(struct rp *r)
{
	flushes_unexpected(r);
	for (size_t i = 0; i < r->ntasks; i++) {
		struct rp_task *t = r->tasks[i];
		if (!t->expecting)
			continue;
		t->expecting = false;
		r->sum.checked_vaddrs++;
		vaddr_words(r->want, t->expect_vaddr, t->expect_how == HOW_ANY ?
		            NULL : trace_how_names[t->expect_how]);
		memcpy(r->got, "asleep", sizeof("asleep"));
		mismatch(r, t->expect_line, t);
	}
}

/* ---------------------------------------------------------------------- */
/* Pass two: running a line                                                */
/* ---------------------------------------------------------------------- */

static long slot_of(const struct rp *r, void *va)
{
	return (long)(((uintptr_t)va - r->lay.pkmap_base) / r->lay.page_size);
}

static bool in_window(const struct rp *r, void *va)
{
	return (uintptr_t)va >= r->lay.pkmap_base &&
	       (uintptr_t)va < r->lay.pkmap_end;
}

/* Local maps on @t's stack: those that are not pkmap addresses. */
static int stack_depth(const struct rp_task *t)
{
	int n = 0;
	for (int i = 0; i < t->nlocal; i++)
		n += !t->local[i].pkmap;
	return n;
}

/* The newest local mapping of @pfn on @t's stack, or -1. */
static int local_find(const struct rp_task *t, uint64_t pfn)
{
	for (int i = t->nlocal - 1; i >= 0; i--)
		if (t->local[i].pfn == pfn)
			return i;
	return -1;
}

/*
 * kmap, first or retried after a wake-up (the task is still asleep then,
 * per the records, and its record is its first line's, resumed).
 */
static void do_kmap(struct rp *r, struct rp_task *t, unsigned long line,
                    uint64_t pfn)
{
	struct stmt st = { .kind = ST_OP, .op = OP_KMAP, .pfn = pfn };
	void *va;
	enum km_how how;
	t->op = OP_KMAP;
	t->op_line = line;
	t->op_pfn = pfn;
	t->sleep_pfn = pfn;
	int rc = km_kmap_ex(r->m, km_pfn_to_page(r->m, pfn), 0, 0, &va, &how);
	if (rc == -KM_ESLEEPING)
		return; /* parked: on_event wrote the record */
	struct rec e = rec_of(t->asleep ? t->sleep_line : line, t->name,
	                      t->name_len, &st);
	e.resumed = t->asleep;
	t->asleep = false;
	if (rc) {
		fail(r, &e, km_strerror(rc));
	} else {
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
	if (r->check)
		map_done(r, t, &e);
}

static int switch_to(struct rp *r, struct rp_task *t)
{
	if (r->cur == t)
		return 0;
	int rc = km_task_switch(r->m, t->t);
	if (!rc)
		r->cur = t;
	return rc;
}

/* Wake-ups of parked tasks: each retries its kmap, FIFO, before the next
 * line. (A task that blocks, in the kernel, is run by its scheduler.) */
static void run_woken(struct rp *r)
{
	km_task *kt;
	while ((kt = km_task_next_woken(r->m))) {
		struct rp_task *t = task_of(r, kt);
		if (!t)
			continue;
		if (switch_to(r, t)) {
			struct stmt st = { .kind = ST_OP, .op = OP_KMAP,
			                   .pfn = t->sleep_pfn };
			struct rec e = rec_of(t->sleep_line, t->name, t->name_len, &st);
			e.resumed = true;
			fail(r, &e, "cannot switch to the task");
			continue;
		}
		do_kmap(r, t, t->sleep_line, t->sleep_pfn);
	}
}

static void do_kunmap(struct rp *r, struct rec *e, km_page *page)
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
	run_woken(r);
}

/* ---------------------------------------------------------------------- */
/* vmap areas                                                              */
/* ---------------------------------------------------------------------- */

/* The areas' name hash, made again for the areas there are now. */
static int areas_rehash(struct rp *r, size_t hcap)
{
	size_t *h = rp_alloc(r, hcap * sizeof(size_t));
	if (!h)
		return -1;
	for (size_t i = 0; i < r->nareas; i++)
		hash_put(h, hcap, hash_bytes(r->areas[i]->name,
		                             r->areas[i]->name_len), i + 1);
	rp_free(r, r->by_area);
	r->by_area = h;
	r->ahcap = hcap;
	return 0;
}

/* The live area named @s, or NULL. */
static struct rp_area *area_find(struct rp *r, const char *s, size_t n)
{
	if (!r->ahcap)
		return NULL;
	size_t h = hash_bytes(s, n) & (r->ahcap - 1);
	for (; r->by_area[h]; h = (h + 1) & (r->ahcap - 1)) {
		struct rp_area *a = r->areas[r->by_area[h] - 1];
		if (!a->lazy && a->name_len == n && !memcmp(a->name, s, n))
			return a;
	}
	return NULL;
}

static int area_add(struct rp *r, struct rp_area *a)
{
	if (r->nareas == r->acap) {
		size_t cap = r->acap ? 2 * r->acap : 16;
		struct rp_area **n = rp_alloc(r, cap * sizeof(*n));
		if (!n)
			return -1;
		for (size_t i = 0; i < r->nareas; i++)
			n[i] = r->areas[i];
		rp_free(r, r->areas);
		r->areas = n;
		r->acap = cap;
		if (areas_rehash(r, 2 * cap))
			return -1;
	}
	r->areas[r->nareas++] = a;
	hash_put(r->by_area, r->ahcap, hash_bytes(a->name, a->name_len),
	         r->nareas);
	return 0;
}

static void area_free(struct rp *r, struct rp_area *a)
{
	rp_free(r, a->pfns);
	rp_free(r, a);
}

/* Is @a's range among those a purge released (ascending)? */
static bool released(const struct km_event *ev, const struct rp_area *a)
{
	size_t lo = 0, hi = ev->nr_areas;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uintptr_t)ev->areas[mid].end <= a->vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ev->nr_areas && (uintptr_t)ev->areas[lo].start <= a->vaddr;
}

/*
 * A purge ran: the unmapped areas in the ranges it released went (a
 * piece of a vmap block goes with its block, which may stay). The sink
 * gets them by address; then they leave the list.
 */
static void purge_ran(struct rp *r, const struct km_event *ev)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nareas; i++)
		n += r->areas[i]->lazy && released(ev, r->areas[i]);
	struct rp_area **gone = rp_alloc(r, (n + 1) * sizeof(*gone));
	if (!gone)
		return;
	size_t k = 0;
	for (size_t i = 0; i < r->nareas; i++) {
		struct rp_area *a = r->areas[i];
		if (!a->lazy || !released(ev, a))
			continue;
		size_t j = k++;
		for (; j && gone[j - 1]->vaddr > a->vaddr; j--)
			gone[j] = gone[j - 1];
		gone[j] = a;
	}
	r->sum.purges++;
	if (r->sink->purge) {
		struct rp_purge p = { .ev = ev, .by = r->vm_op, .nareas = n,
		                      .areas = (const struct rp_area *const *)gone };
		r->sink->purge(r->sink->arg, &p);
	}
	size_t kept = 0;
	for (size_t i = 0; i < r->nareas; i++) {
		if (r->areas[i]->lazy && released(ev, r->areas[i]))
			area_free(r, r->areas[i]);
		else
			r->areas[kept++] = r->areas[i];
	}
	r->nareas = kept;
	rp_free(r, gone);
	if (n)
		areas_rehash(r, r->ahcap);
}

/* A vmap line's pfns, for its record (and its area); NULL when out of
 * memory. */
static uint64_t *vmap_pfns(struct rp *r, const struct stmt *st, struct rec *e)
{
	uint64_t *pfns = rp_alloc(r, st->npfns * sizeof(uint64_t));
	if (!pfns)
		return NULL;
	size_t pos = 0, n = 0;
	while (n < st->npfns &&
	       trace_pfns_next(st->pfns, st->pfns_len, &pos, &pfns[n]))
		n++;
	e->pages = pfns;
	e->npages = n;
	return pfns;
}

/* Why a line may not use @pfn (NULL: it may): no page of the machine, or
 * a page in a hole, whichever the model says of pfn_valid. */
static const char *pfn_unusable(struct rp *r, uint64_t pfn)
{
	if (km_page_is_ram(r->m, pfn))
		return NULL;
	return pfn < r->lay.min_pfn || pfn >= r->lay.max_pfn ?
	       "pfn beyond memory" : "pfn in a hole";
}

static void do_vmap(struct rp *r, struct rec *e, const struct stmt *st)
{
	e->area = st->area;
	e->area_len = st->area_len;
	uint64_t *pfns = vmap_pfns(r, st, e);
	km_page **pages = rp_alloc(r, st->npfns * sizeof(km_page *));
	struct rp_area *a = rp_alloc(r, sizeof(*a));
	if (!pfns || !pages || !a)
		goto out; /* out of memory: the run stops */
	size_t n = e->npages;
	if (area_find(r, st->area, st->area_len)) {
		fail(r, e, "area name in use");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *why = pfn_unusable(r, pfns[i]);
		if (why) {
			fail(r, e, why);
			goto out;
		}
		pages[i] = km_pfn_to_page(r->m, pfns[i]);
	}
	void *va;
	bool ram = st->op == OP_VM_MAP_RAM;
	r->vm_op = e;
	int rc = ram ? km_vm_map_ram(r->m, pages, (unsigned)n, &va) :
	         km_vmap(r->m, pages, (unsigned)n, &va);
	r->vm_op = NULL;
	if (rc) {
		/* ENOSPC in the trace's words, not the C library's "No space
		 * left on device" */
		fail(r, e, rc == -ENOSPC ? "no room in the vmalloc area" :
		     km_strerror(rc));
		goto out;
	}
	*a = (struct rp_area){ .name = st->area, .name_len = st->area_len,
	                       .pfns = pfns, .npfns = n,
	                       .vaddr = (uintptr_t)va, .ram = ram };
	if (area_add(r, a))
		goto out;
	if (ram)
		r->sum.vm_map_rams++;
	else
		r->sum.vmaps++;
	e->has_vaddr = true;
	e->vaddr = a->vaddr;
	emit(r, e);
	rp_free(r, pages);
	return;
out:
	rp_free(r, pages);
	rp_free(r, pfns);
	rp_free(r, a);
}

static void do_vunmap(struct rp *r, struct rec *e, const struct stmt *st)
{
	e->area = st->area;
	e->area_len = st->area_len;
	struct rp_area *a = area_find(r, st->area, st->area_len);
	if (!a)
		return fail(r, e, "no such area");
	/* lazy already: a purge the vunmap runs takes the area with the
	 * others, and its record comes after the purge's */
	uintptr_t va = a->vaddr;
	bool ram = st->op == OP_VM_UNMAP_RAM;
	a->lazy = true;
	r->vm_op = e;
	int rc = ram ? km_vm_unmap_ram(r->m, (void *)va, (unsigned)a->npfns) :
	         km_vunmap(r->m, (void *)va);
	r->vm_op = NULL;
	if (rc) {
		a->lazy = false;
		/* the library refuses an area the other call made */
		return fail(r, e, rc != -KM_ENOAREA ? km_strerror(rc) :
		            a->ram ? "area made by vm_map_ram" :
		            "area made by vmap");
	}
	e->has_vaddr = true;
	e->vaddr = va;
	if (ram)
		r->sum.vm_unmap_rams++;
	else
		r->sum.vunmaps++;
	emit(r, e);
}

/* Room for one more local map in @t's mirror. */
static int local_room(struct rp *r, struct rp_task *t)
{
	if (t->nlocal < t->cap_local)
		return 0;
	int cap = t->cap_local ? 2 * t->cap_local : KM_LOCAL_MAX + 1;
	struct rp_local *n = rp_alloc(r, (size_t)cap * sizeof(*n));
	if (!n)
		return -1;
	for (int i = 0; i < t->nlocal; i++)
		n[i] = t->local[i];
	rp_free(r, t->local);
	t->local = n;
	t->cap_local = cap;
	return 0;
}

static void do_kmap_local(struct rp *r, struct rp_task *t, struct rec *e,
                          km_page *page, bool atomic)
{
	void *va;
	if (local_room(r, t))
		return; /* out of memory: the run stops */
	int rc = atomic ? km_kmap_atomic(r->m, page, &va) :
	                  km_kmap_local_page(r->m, page, &va);
	if (rc) {
		fail(r, e, km_strerror(rc));
		if (r->check)
			map_done(r, t, e);
		return;
	}
	e->has_vaddr = true;
	e->vaddr = (uintptr_t)va;
	if (!km_page_highmem(r->m, page)) {
		e->how = H_LOWMEM;
	} else if (in_window(r, va)) {
		/* kmap_high_get's reuse: a user of the page's slot */
		e->how = H_HIT;
		e->slot = slot_of(r, va);
		t->local[t->nlocal++] = (struct rp_local){ e->pfn, va, atomic, true };
	} else {
		e->how = H_LOCAL;
		e->slot = stack_depth(t);
		t->local[t->nlocal++] = (struct rp_local){ e->pfn, va, atomic, false };
	}
	emit(r, e);
	if (r->check)
		map_done(r, t, e);
}

static void do_kunmap_local(struct rp *r, struct rp_task *t, struct rec *e,
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
	bool pkmap = t->local[i].pkmap;
	if (pkmap) {
		e->slot = slot_of(r, t->local[i].addr);
	} else { /* the library lets only the stack's top go: its index */
		e->slot = 0;
		for (int j = 0; j < i; j++)
			e->slot += !t->local[j].pkmap;
	}
	for (int j = i; j + 1 < t->nlocal; j++)
		t->local[j] = t->local[j + 1];
	t->nlocal--;
	emit(r, e);
	if (pkmap) /* a user of a slot given back may wake sleepers */
		run_woken(r);
}

static unsigned char hexval(char c)
{
	return (unsigned char)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
}

/* A live mapping of @page for @t: the direct map, a persistent mapping
 * with users, or the task's own local one; NULL when there is none. */
static void *live_address(struct rp *r, struct rp_task *t, km_page *page,
                          uint64_t pfn)
{
	void *va = km_lowmem_page_address(r->m, page);
	if (va)
		return va;
	struct km_slot s;
	va = km_page_address(r->m, page);
	if (va && !km_pkmap_slot(r->m, (unsigned)slot_of(r, va), &s) &&
	    s.count >= 2)
		return va;
	/* the task's own local mapping (a window slot it reused is live only
	 * while the slot has users: checked above) */
	for (int i = t->nlocal - 1; i >= 0; i--)
		if (t->local[i].pfn == pfn && !t->local[i].pkmap)
			return t->local[i].addr;
	/* a vmap area, the oldest live one that maps the page */
	for (size_t i = 0; i < r->nareas; i++) {
		const struct rp_area *a = r->areas[i];
		for (unsigned long j = 0; !a->lazy && j < a->npfns; j++)
			if (a->pfns[j] == pfn)
				return (void *)(uintptr_t)(a->vaddr +
				                           j * r->lay.page_size);
	}
	return NULL;
}

static void do_rw(struct rp *r, struct rp_task *t, struct rec *e,
                  km_page *page, const struct stmt *st)
{
	unsigned char *buf = r->io;
	uint64_t ps = r->lay.page_size;
	if (st->offset >= ps || st->len > ps - st->offset || st->len > sizeof(r->io))
		return fail(r, e, "past the end of the page");
	void *va = live_address(r, t, page, st->pfn);
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

void rp_run_op(struct rp *r, struct rp_task *t, unsigned long line,
               const struct stmt *st)
{
	struct rec e = rec_of(line, t->name, t->name_len, st);
	km_page *page = e.has_pfn ? km_pfn_to_page(r->m, st->pfn) : NULL;
	t->op = st->op;
	t->op_line = line;
	t->op_pfn = st->pfn;
	switch (st->op) {
	case OP_KMAP:
		return do_kmap(r, t, line, st->pfn);
	case OP_KUNMAP:
		return do_kunmap(r, &e, page);
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
	case OP_VMAP:
	case OP_VM_MAP_RAM:
		return do_vmap(r, &e, st);
	case OP_VUNMAP:
	case OP_VM_UNMAP_RAM:
		return do_vunmap(r, &e, st);
	case OP_VM_UNMAP_ALIASES: {
		r->vm_op = &e;
		int rc = km_vm_unmap_aliases(r->m);
		r->vm_op = NULL;
		if (rc)
			return fail(r, &e, km_strerror(rc));
		return emit(r, &e);
	}
	case NR_OPS:
		break;
	}
}

/* A line: the errors no task can run into, then the line as its task. */
static void run_line(struct rp *r, unsigned long line, const struct stmt *st)
{
	struct rp_task *t = task_get(r, st->task, st->task_len);
	if (!t)
		return;
	if (r->check)
		flushes_unexpected(r);
	r->sum.ops++;
	struct rec e = rec_of(line, t->name, t->name_len, st);
	if (trace_op_vm(st->op)) {
		r->sum.vmap_used = true;
		r->sum.ram_used |= st->op == OP_VM_MAP_RAM ||
		                   st->op == OP_VM_UNMAP_RAM;
		e.area = st->area;
		e.area_len = st->area_len;
	}
	if (t->asleep) {
		uint64_t *pfns = trace_op_maps(st->op) ? vmap_pfns(r, st, &e) : NULL;
		fail(r, &e, "task is asleep");
		rp_free(r, pfns);
		return;
	}
	const char *why = e.has_pfn ? pfn_unusable(r, st->pfn) : NULL;
	if (why) {
		fail(r, &e, why);
		if (r->check && (st->op == OP_KMAP || st->op == OP_KMAP_LOCAL ||
		                 st->op == OP_KMAP_ATOMIC))
			map_done(r, t, &e);
		return;
	}
	if (r->host->run_as)
		return r->host->run_as(r->host->arg, r, t, line, st);
	if (switch_to(r, t))
		return fail(r, &e, "cannot switch to the task");
	rp_run_op(r, t, line, st);
}

/* ---------------------------------------------------------------------- */
/* The summary                                                             */
/* ---------------------------------------------------------------------- */

static int summary(struct rp *r)
{
	struct rp_summary *s = &r->sum;
	int n = km_leaks(r->m, NULL, 0);
	size_t nlocal = 0, nasleep = 0;
	for (size_t i = 0; i < r->ntasks; i++) {
		nlocal += (size_t)r->tasks[i]->nlocal;
		nasleep += r->tasks[i]->asleep;
	}
	struct km_leak *kl = n > 0 ? rp_alloc(r, (size_t)n * sizeof(*kl)) : NULL;
	struct rp_leak *leaks = rp_alloc(r, ((size_t)(n > 0 ? n : 0) + nlocal + 1) *
	                                    sizeof(*leaks));
	if (n < 0 || (n > 0 && !kl) || !leaks) {
		rp_free(r, kl);
		rp_free(r, leaks);
		return 3;
	}
	if (n > 0)
		km_leaks(r->m, kl, (unsigned)n);
	size_t nl = 0;
	for (int i = 0; i < n; i++)
		if (!kl[i].local && !kl[i].vmap) /* areas: by name, below */
			leaks[nl++] = (struct rp_leak){ .pfn = kl[i].pfn,
			                                .users = kl[i].users };
	for (size_t i = 0; i < r->ntasks; i++) {
		const struct rp_task *t = r->tasks[i];
		for (int j = 0; j < t->nlocal; j++)
			if (!t->local[j].pkmap) /* those are persistent users */
				leaks[nl++] = (struct rp_leak){ .pfn = t->local[j].pfn,
				                                .task = t, .local = true };
	}
	s->ntasks = r->ntasks;
	s->tasks = r->tasks;
	s->nleaks = nl;
	s->leaks = leaks;
	/* the live areas, in the order of their vmaps, are leaks too */
	size_t na = 0;
	for (size_t i = 0; i < r->nareas; i++) {
		if (r->areas[i]->lazy)
			area_free(r, r->areas[i]);
		else
			r->areas[na++] = r->areas[i];
	}
	r->nareas = na;
	s->nareas = na;
	s->areas = (const struct rp_area *const *)r->areas;
	if (r->sink->summary)
		r->sink->summary(r->sink->arg, s);
	rp_free(r, kl);
	rp_free(r, leaks);
	return s->errors || nasleep || nl || na || s->mismatches ? 1 : 0;
}

/* ---------------------------------------------------------------------- */
/* A run                                                                   */
/* ---------------------------------------------------------------------- */

int rp_run(km_machine *m, const char *policy, const char *buf, size_t size,
           bool check, const struct rp_host *host, const struct rp_sink *sink)
{
	struct rp *r = host->alloc(host->arg, sizeof(*r));
	if (!r)
		return 3;
	memset(r, 0, sizeof(*r));
	r->m = m;
	r->host = host;
	r->sink = sink;
	r->check = r->sum.checked = check;
	km_machine_layout(m, &r->lay);
	km_set_event_hook(m, on_event, r);
	if (sink->machine)
		sink->machine(sink->arg, &r->lay, policy);

	struct stmt st;
	const char *line;
	size_t len, pos = 0;
	unsigned long ln = 0;
	while (!r->oom && trace_next_line_unchecked(buf, size, &pos, &line, &len) > 0) {
		ln++;
		trace_parse_checked(line, len, &st);
		if (st.kind == ST_EXPECT && check)
			run_expect(r, ln, &st);
		if (st.kind != ST_OP)
			continue;
		r->line = ln;
		r->has_time = st.has_time;
		r->time = st.time;
		run_line(r, ln, &st);
		if (host->after_line)
			host->after_line(host->arg, r, ln);
	}
	if (!r->oom && host->at_end)
		host->at_end(host->arg, r);
	if (!r->oom && check)
		expect_end(r);
	int rc = r->oom ? 3 : summary(r);
	km_set_event_hook(m, NULL, NULL);
	for (size_t i = 0; i < r->ntasks; i++) {
		rp_free(r, r->tasks[i]->local);
		rp_free(r, r->tasks[i]);
	}
	rp_free(r, r->tasks);
	rp_free(r, r->by_name);
	rp_free(r, r->by_ptr);
	for (size_t i = 0; i < r->nareas; i++)
		area_free(r, r->areas[i]);
	rp_free(r, r->areas);
	rp_free(r, r->by_area);
	rp_free(r, r);
	return rc;
}

km_machine *rp_machine(const struct rp *r) { return r->m; }
size_t rp_task_count(const struct rp *r) { return r->ntasks; }
struct rp_task *rp_task_at(const struct rp *r, size_t i) { return r->tasks[i]; }
