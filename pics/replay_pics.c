/*
 * replay_pics.c - `kmap replay --svg FILE` and `kmap replay --html FILE`.
 *
 * The observer keeps, for each step (a record kmap replay prints: an
 * operation or a resumption), what changed: the window slots whose count
 * or page changed (read from the library with km_pkmap_slot), the tasks
 * whose state changed, the flushes and wake-ups that happened during it.
 * Both pictures are drawn from those changes at the end. vmap areas are
 * kept whole (where, how long, the steps after which each was mapped,
 * lazily freed and purged) and drawn, when a trace has any, beside the
 * window: the vmalloc area over time.
 */
#include "replay_pics.h"
#include "engine.h"
#include "svg.h"

#include <stdlib.h>
#include <string.h>

/* Steps kept for the pictures; a longer trace is drawn up to here. */
#define PICS_MAX_STEPS 20000
/* Rows of the SVG; more steps are left out, with a note. */
#define SVG_MAX_ROWS 1500
/* Columns of the SVG; a bigger window is drawn in groups of slots. */
#define SVG_MAX_COLS 1024
/* Task lanes of the SVG. */
#define SVG_MAX_LANES 24

#define NO_PFN UINT64_MAX

enum tstate { T_RUNNING, T_ASLEEP, T_WOKEN };
static const char *const tstate_names[] = { "running", "asleep", "woken" };

struct pslot {
	int count;
	uint64_t pfn; /* NO_PFN: none */
};

struct ptask {
	char *name;
	size_t name_len;
	enum tstate state;
	unsigned sleep_color;
	unsigned long sleep_line;
	uint64_t sleep_pfn;
	int atomic;
	int nlocal;
	uint64_t local[KM_LOCAL_MAX];
	bool local_atomic[KM_LOCAL_MAX];
	bool dirty;
};

/* A slot's value after a step. */
struct chg {
	uint32_t slot;
	int32_t count;
	uint64_t pfn;
};

/* A task's state after a step. */
struct tsnap {
	uint32_t task;
	uint8_t state;
	uint8_t nlocal;
	int16_t atomic;
	unsigned long sleep_line;
	uint64_t sleep_pfn;
	uint64_t local[KM_LOCAL_MAX];
	bool local_atomic[KM_LOCAL_MAX];
};

struct pflush {
	uint32_t clr_off, clr_n;
	bool tlb;
};

struct pstep {
	unsigned long line;
	uint32_t task;
	enum trace_op op;
	bool has_pfn, has_vaddr, resumed;
	uint64_t pfn, vaddr;
	const char *result, *how, *error; /* interned */
	long slot;
	long wslot; /* the window slot the step acted on, or -1 */
	uint32_t chg_off, chg_n;
	uint32_t ts_off, ts_n;
	uint32_t fl_off, fl_n;
	uint32_t woke;
	long area; /* the vmap area it made or released, or -1 */
	/* the area its line names (a refused one's too), in pics.names;
	 * name_len 0: none */
	uint32_t name_off, name_len;
};

#define VEC(T) struct { T *v; size_t n, cap; }

#define NEVER SIZE_MAX

/* A vmap area: after step born it is mapped, after step lazy lazily
 * freed (NEVER: not), and after step gone it is no more (NEVER: it
 * lasts). start and len (its guard page counted) in pages from
 * VMALLOC_START. */
struct parea {
	char *name;
	size_t name_len;
	uint64_t start, len, vaddr;
	size_t born, lazy, gone;
};

/* A purge of the lazily freed areas, during step @step. */
struct ppurge {
	size_t step, gone; /* gone: the areas' gone */
	unsigned nareas;
	uint64_t pages, start, end;
	bool tlb, lazy_max;
};

struct pics {
	km_machine *m;
	struct km_layout lay;
	char *svg_path, *html_path;
	FILE *svg, *html;
	char *trace_name, *policy;
	unsigned nslots, colors;
	struct pslot *cur;
	bool *touched;          /* slots to re-read at the next record */
	uint32_t *touched_list;
	size_t ntouched;
	VEC(struct ptask) tasks;
	VEC(struct pstep) steps;
	VEC(struct chg) chgs;
	VEC(struct tsnap) snaps;
	VEC(struct pflush) flushes;
	VEC(uint32_t) cleared;
	VEC(struct parea) areas;
	VEC(struct ppurge) purges;
	VEC(char) names;        /* the steps' area names, end to end */
	bool has_areas;         /* the trace names areas (rec_what_heading) */
	/* events since the last record */
	uint32_t pend_fl_off, pend_woke;
	uint64_t total_steps;   /* steps seen, kept or not */
	bool full, oom;
	char *strs[64];         /* interned strings */
	int nstrs;
};

#define VEC_PUSH(p, vec, val)                                                 \
	(pic_grow((void **)&(vec).v, &(vec).cap, (vec).n + 1,                    \
	          sizeof(*(vec).v)) ? ((vec).v[(vec).n++] = (val), true) :       \
	                              ((p)->oom = true, false))

/* A copy of @s that lives as long as @p (the few distinct messages). */
static const char *intern(struct pics *p, const char *s)
{
	if (!s)
		return NULL;
	for (int i = 0; i < p->nstrs; i++)
		if (!strcmp(p->strs[i], s))
			return p->strs[i];
	if (p->nstrs == (int)(sizeof(p->strs) / sizeof(p->strs[0])))
		return "(error)";
	char *d = pic_dup(s, strlen(s));
	if (!d)
		return "(error)";
	return p->strs[p->nstrs++] = d;
}

struct pics *pics_open(const char *svg_path, const char *html_path,
                       km_machine *m, const char *trace_name,
                       const char *policy, bool areas)
{
	struct pics *p = calloc(1, sizeof(*p));
	if (!p) {
		fprintf(stderr, "kmap replay: out of memory\n");
		return NULL;
	}
	p->m = m;
	p->has_areas = areas;
	km_machine_layout(m, &p->lay);
	p->nslots = p->lay.last_pkmap;
	p->colors = p->lay.colors ? p->lay.colors : 1;
	p->cur = calloc(p->nslots, sizeof(*p->cur));
	p->touched = calloc(p->nslots, sizeof(*p->touched));
	p->touched_list = calloc(p->nslots, sizeof(*p->touched_list));
	p->trace_name = pic_dup(trace_name, strlen(trace_name));
	p->policy = pic_dup(policy, strlen(policy));
	if (svg_path)
		p->svg_path = pic_dup(svg_path, strlen(svg_path));
	if (html_path)
		p->html_path = pic_dup(html_path, strlen(html_path));
	if (!p->cur || !p->touched || !p->touched_list || !p->trace_name ||
	    !p->policy || (svg_path && !p->svg_path) ||
	    (html_path && !p->html_path)) {
		fprintf(stderr, "kmap replay: out of memory\n");
		pics_finish(p);
		return NULL;
	}
	for (unsigned i = 0; i < p->nslots; i++) {
		struct km_slot s;
		if (km_pkmap_slot(m, i, &s) == 0)
			p->cur[i] = (struct pslot){ s.count, s.pfn };
	}
	/* open the files now, so a bad path fails before anything runs */
	if (svg_path && !(p->svg = pic_create("kmap replay", svg_path))) {
		pics_finish(p);
		return NULL;
	}
	if (html_path && !(p->html = pic_create("kmap replay", html_path))) {
		pics_finish(p);
		return NULL;
	}
	return p;
}

static void touch(struct pics *p, unsigned slot)
{
	if (slot < p->nslots && !p->touched[slot]) {
		p->touched[slot] = true;
		p->touched_list[p->ntouched++] = slot;
	}
}

void pics_event(struct pics *p, const struct km_event *ev)
{
	if (!p || p->full)
		return;
	if (ev->type == KM_EV_FLUSH) {
		struct pflush fl = { (uint32_t)p->cleared.n, ev->nr_cleared,
		                     ev->tlb_flush != 0 };
		for (unsigned i = 0; i < ev->nr_cleared; i++) {
			VEC_PUSH(p, p->cleared, ev->cleared[i]);
			touch(p, ev->cleared[i]);
		}
		VEC_PUSH(p, p->flushes, fl);
	} else if (ev->type == KM_EV_WAKE) {
		/* the kernel wakes the colour's whole queue */
		for (size_t i = 0; i < p->tasks.n; i++) {
			struct ptask *t = &p->tasks.v[i];
			if (t->state == T_ASLEEP && t->sleep_color == ev->color) {
				t->state = T_WOKEN;
				t->dirty = true;
			}
		}
		p->pend_woke += ev->nr_woken;
	}
}

static struct ptask *task_find(struct pics *p, const char *name, size_t n,
                               uint32_t *idx)
{
	for (size_t i = p->tasks.n; i-- > 0;) {
		struct ptask *t = &p->tasks.v[i];
		if (t->name_len == n && !memcmp(t->name, name, n)) {
			*idx = (uint32_t)i;
			return t;
		}
	}
	struct ptask nt = { .name = pic_dup(name, n), .name_len = n };
	if (!nt.name || !VEC_PUSH(p, p->tasks, nt)) {
		free(nt.name);
		p->oom = true;
		return NULL;
	}
	*idx = (uint32_t)(p->tasks.n - 1);
	return &p->tasks.v[p->tasks.n - 1];
}

static bool is_ok(const struct rec *e) { return !strcmp(e->result, "ok"); }

/*
 * A purge comes before the record of the vunmap that passed lazy_max_pages
 * or of the vmap that found no room, in that operation's step; the lazy
 * areas (the vunmap's own among them) are gone after it.
 */
void pics_purge(struct pics *p, const struct rp_purge *pg)
{
	if (!p || p->full || p->oom)
		return;
	size_t step = p->steps.n;
	bool lazy_max = pg->ev->reason == KM_PURGE_LAZY;
	struct ppurge pu = {
		.step = step, .gone = step,
		.nareas = (unsigned)pg->nareas,
		.pages = pg->ev->nr_pages, .tlb = pg->ev->tlb_flush != 0,
		.start = (uint64_t)(uintptr_t)pg->ev->start,
		.end = (uint64_t)(uintptr_t)pg->ev->end, .lazy_max = lazy_max,
	};
	const struct rec *by = pg->by;
	for (size_t i = p->areas.n; by && (by->op == OP_VUNMAP ||
	     by->op == OP_VM_UNMAP_RAM) && i-- > 0;) {
		struct parea *a = &p->areas.v[i];
		if (a->lazy == NEVER && a->name_len == by->area_len &&
		    !memcmp(a->name, by->area, by->area_len)) {
			a->lazy = step;
			break;
		}
	}
	/* the areas whose ranges it released: a vm_map_ram piece goes with
	 * its block, which may stay */
	for (size_t j = 0; j < pg->nareas; j++) {
		const struct rp_area *g = pg->areas[j];
		for (size_t i = 0; i < p->areas.n; i++) {
			struct parea *a = &p->areas.v[i];
			if (a->lazy != NEVER && a->gone == NEVER &&
			    a->vaddr == g->vaddr && a->name_len == g->name_len &&
			    !memcmp(a->name, g->name, g->name_len))
				a->gone = step;
		}
	}
	VEC_PUSH(p, p->purges, pu);
}

/* A vmap's area comes, a vunmap's goes lazy: its index, or -1. */
static long area_record(struct pics *p, const struct rec *e)
{
	if (strcmp(e->result, "ok") || !e->area)
		return -1;
	if (trace_op_maps(e->op)) {
		/* a vmap's guard page counted; vm_map_ram has none */
		struct parea a = {
			.name = pic_dup(e->area, e->area_len), .name_len = e->area_len,
			.start = (e->vaddr - p->lay.vmalloc_start) / p->lay.page_size,
			.len = e->npages + (e->op == OP_VMAP), .vaddr = e->vaddr,
			.born = p->steps.n,
			.lazy = NEVER, .gone = NEVER,
		};
		if (!a.name || !VEC_PUSH(p, p->areas, a)) {
			free(a.name);
			return -1;
		}
		return (long)p->areas.n - 1;
	}
	for (size_t i = p->areas.n; i-- > 0;) {
		struct parea *a = &p->areas.v[i];
		/* lazy already when its own purge came first */
		bool now = a->lazy == p->steps.n && a->gone == p->steps.n;
		if ((a->lazy == NEVER || now) && a->name_len == e->area_len &&
		    !memcmp(a->name, e->area, e->area_len)) {
			a->lazy = p->steps.n;
			return (long)i;
		}
	}
	return -1;
}

void pics_record(struct pics *p, const struct rec *e)
{
	if (!p)
		return;
	p->total_steps++;
	if (p->full || p->oom)
		return;
	if (p->steps.n == PICS_MAX_STEPS) {
		p->full = true;
		return;
	}
	uint32_t ti;
	struct ptask *t = task_find(p, e->task, e->task_len, &ti);
	if (!t)
		return;
	long area = area_record(p, e);
	uint32_t name_off = (uint32_t)p->names.n, name_len = 0;
	if (e->area && e->area_len) {
		if (!pic_grow((void **)&p->names.v, &p->names.cap,
		              p->names.n + e->area_len, 1)) {
			p->oom = true;
			return;
		}
		memcpy(p->names.v + p->names.n, e->area, e->area_len);
		p->names.n += e->area_len;
		name_len = (uint32_t)e->area_len;
	}

	/* the task's state, as the trace format's semantics have it */
	bool ok = is_ok(e);
	if (!strcmp(e->result, "sleep")) {
		t->state = T_ASLEEP;
		t->sleep_color = (unsigned)(e->pfn & (p->colors - 1));
		t->sleep_line = e->line;
		t->sleep_pfn = e->pfn;
		t->dirty = true;
	} else if (e->resumed) {
		t->state = T_RUNNING;
		t->dirty = true;
	}
	if (ok && (e->op == OP_KMAP_LOCAL || e->op == OP_KMAP_ATOMIC)) {
		bool atomic = e->op == OP_KMAP_ATOMIC;
		if (e->how && !strcmp(e->how, "local") && t->nlocal < KM_LOCAL_MAX) {
			t->local[t->nlocal] = e->pfn;
			t->local_atomic[t->nlocal++] = atomic;
		}
		t->atomic += atomic;
		t->dirty = true;
	} else if (ok && (e->op == OP_KUNMAP_LOCAL || e->op == OP_KUNMAP_ATOMIC)) {
		if (e->slot >= 0 && t->nlocal > 0)
			t->nlocal--; /* only the newest may go */
		if (e->op == OP_KUNMAP_ATOMIC && t->atomic > 0)
			t->atomic--;
		t->dirty = true;
	}

	/* the window: the record's slot and whatever a flush cleared */
	long wslot = -1;
	if ((e->op == OP_KMAP || e->op == OP_KUNMAP) && e->slot >= 0 &&
	    (unsigned long)e->slot < p->nslots) {
		wslot = e->slot;
		touch(p, (unsigned)e->slot);
	}
	struct pstep st = {
		.line = e->line, .task = ti, .op = e->op, .has_pfn = e->has_pfn,
		.has_vaddr = e->has_vaddr, .resumed = e->resumed, .pfn = e->pfn,
		.vaddr = e->vaddr, .result = intern(p, e->result),
		.how = intern(p, e->how), .error = intern(p, e->error),
		.slot = e->slot, .wslot = wslot,
		.chg_off = (uint32_t)p->chgs.n, .ts_off = (uint32_t)p->snaps.n,
		.fl_off = p->pend_fl_off,
		.fl_n = (uint32_t)p->flushes.n - p->pend_fl_off,
		.woke = p->pend_woke, .area = area,
		.name_off = name_off, .name_len = name_len,
	};
	/* ascending slot order, so the output does not depend on the order
	 * the slots were touched in */
	for (size_t i = 1; i < p->ntouched; i++)
		for (size_t j = i; j > 0 && p->touched_list[j] <
		                            p->touched_list[j - 1]; j--) {
			uint32_t x = p->touched_list[j];
			p->touched_list[j] = p->touched_list[j - 1];
			p->touched_list[j - 1] = x;
		}
	for (size_t i = 0; i < p->ntouched; i++) {
		unsigned s = p->touched_list[i];
		struct km_slot ks;
		p->touched[s] = false;
		if (km_pkmap_slot(p->m, s, &ks))
			continue;
		if (ks.count == p->cur[s].count && ks.pfn == p->cur[s].pfn)
			continue;
		p->cur[s] = (struct pslot){ ks.count, ks.pfn };
		VEC_PUSH(p, p->chgs, ((struct chg){ s, ks.count, ks.pfn }));
	}
	p->ntouched = 0;
	for (size_t i = 0; i < p->tasks.n; i++) {
		struct ptask *x = &p->tasks.v[i];
		if (!x->dirty)
			continue;
		x->dirty = false;
		struct tsnap sn = { .task = (uint32_t)i, .state = (uint8_t)x->state,
		                    .nlocal = (uint8_t)x->nlocal,
		                    .atomic = (int16_t)x->atomic,
		                    .sleep_line = x->sleep_line,
		                    .sleep_pfn = x->sleep_pfn };
		memcpy(sn.local, x->local, sizeof(sn.local));
		memcpy(sn.local_atomic, x->local_atomic, sizeof(sn.local_atomic));
		VEC_PUSH(p, p->snaps, sn);
	}
	st.chg_n = (uint32_t)p->chgs.n - st.chg_off;
	st.ts_n = (uint32_t)p->snaps.n - st.ts_off;
	VEC_PUSH(p, p->steps, st);
	p->pend_fl_off = (uint32_t)p->flushes.n;
	p->pend_woke = 0;
}

/* ---------------------------------------------------------------------- */
/* Replaying the kept steps                                                */
/* ---------------------------------------------------------------------- */

/* State while drawing: slots and tasks after step i. */
struct view {
	struct pslot *slot;
	struct tsnap *task; /* one per task; .state etc. */
};

static int view_init(struct pics *p, struct view *v)
{
	v->slot = calloc(p->nslots ? p->nslots : 1, sizeof(*v->slot));
	v->task = calloc(p->tasks.n ? p->tasks.n : 1, sizeof(*v->task));
	if (!v->slot || !v->task) {
		free(v->slot);
		free(v->task);
		return -1;
	}
	for (unsigned i = 0; i < p->nslots; i++)
		v->slot[i].pfn = NO_PFN;
	for (size_t i = 0; i < p->tasks.n; i++)
		v->task[i].task = (uint32_t)i;
	return 0;
}

static void view_apply(const struct pics *p, struct view *v, size_t step)
{
	const struct pstep *st = &p->steps.v[step];
	for (uint32_t i = 0; i < st->chg_n; i++) {
		const struct chg *c = &p->chgs.v[st->chg_off + i];
		v->slot[c->slot] = (struct pslot){ c->count, c->pfn };
	}
	for (uint32_t i = 0; i < st->ts_n; i++) {
		const struct tsnap *s = &p->snaps.v[st->ts_off + i];
		v->task[s->task] = *s;
	}
}

static void view_free(struct view *v)
{
	free(v->slot);
	free(v->task);
}

/* What a step acted on, as rec_what() names it (the text output's
 * column), cut to @name_max characters, with a NUL. The HTML stepper's
 * stepText() shows the pfn or name of its JSON so. */
static void step_what(const struct pics *p, const struct pstep *st,
                      size_t name_max, char buf[REC_WHAT_MAX + 1])
{
	const struct rec e = {
		.has_pfn = st->has_pfn, .pfn = st->pfn,
		.area = st->name_len ? p->names.v + st->name_off : NULL,
		.area_len = st->name_len,
	};
	*rec_what(buf, &e, name_max) = 0;
}

/* The heading over what step_what() names, in both pictures */
static const char *what_heading(const struct pics *p)
{
	return rec_what_heading(p->has_areas);
}

/* One step as a line of text, as `kmap replay` prints it. */
static void step_text(const struct pics *p, const struct pstep *st, char *buf,
                      size_t n)
{
	const struct ptask *t = &p->tasks.v[st->task];
	char what[REC_WHAT_MAX + 1];
	step_what(p, st, TRACE_MAX_AREA, what);
	int k = snprintf(buf, n, "%.*s %s%s%s", (int)t->name_len, t->name,
	                 trace_op_names[st->op], what[0] ? " " : "", what);
	if (k >= 0 && (size_t)k < n)
		k += snprintf(buf + k, n - (size_t)k, ": %s", st->result);
	if (st->area >= 0 && st->has_vaddr && k >= 0 && (size_t)k < n)
		k += snprintf(buf + k, n - (size_t)k, " at 0x%08llx",
		              (unsigned long long)st->vaddr);
	if (st->how && k >= 0 && (size_t)k < n)
		k += snprintf(buf + k, n - (size_t)k, " %s", st->how);
	if (st->slot >= 0 && k >= 0 && (size_t)k < n)
		k += snprintf(buf + k, n - (size_t)k, " %s %ld",
		              st->how && !strcmp(st->how, "local") ? "stack" : "slot",
		              st->slot);
	if (st->error && k >= 0 && (size_t)k < n)
		k += snprintf(buf + k, n - (size_t)k, " (%s)", st->error);
	if (st->resumed && k >= 0 && (size_t)k < n)
		snprintf(buf + k, n - (size_t)k, " [resumed]");
}

/* ---------------------------------------------------------------------- */
/* The SVG: the window over time                                           */
/* ---------------------------------------------------------------------- */

/* Colour classes: 0 free, 1 free but mapped, 2.. in use by 1.., 5: by 4+ */
static int cls(int count)
{
	return count <= 0 ? 0 : count > 5 ? 5 : count;
}

static const char *const cls_fill[6] = {
	"#f4f4f4", "#9ecae1", "#fdae6b", "#f16913", "#d94801", "#7f2704",
};
static const char *const cls_name[6] = {
	"0: free", "1: free, still mapped", "2: in use by 1", "3: in use by 2",
	"4: in use by 3", "5+: in use by 4 or more",
};
#define SLEEP_FILL "#6a51a3"
#define WOKEN_FILL "#bcbddc"
#define FLUSH_STROKE "#2171b5"
#define ERROR_FILL "#cb181d"
#define AREA_FILL "#74c476"
#define LAZY_FILL "#bdbdbd"
#define PURGE_STROKE "#238b45"
#define VM_WIDTH 220

/* The pages of the vmalloc area the picture shows: up to the highest end
 * of an area, a power of two (at least 16 pages). */
static uint64_t vm_extent(const struct pics *p)
{
	uint64_t end = 16;
	for (size_t i = 0; i < p->areas.n; i++)
		if (p->areas.v[i].start + p->areas.v[i].len > end)
			end = p->areas.v[i].start + p->areas.v[i].len;
	uint64_t e = 16;
	while (e < end)
		e *= 2;
	return e;
}

/* The vmalloc area over time: a band per area from the step that mapped
 * it, green while mapped, grey while lazily freed; a purge's line. */
static void svg_vmalloc(const struct pics *p, FILE *f, unsigned XV,
                        unsigned Y0, size_t R, unsigned rh)
{
	uint64_t E = vm_extent(p);
	unsigned GH = (unsigned)R * rh;
	char sz[32];
	fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">the vmalloc area"
	           "</text>\n", XV, Y0 - 36);
	snprintf(sz, sizeof(sz), "%llu pages", (unsigned long long)E);
	fprintf(f, "<g font-size=\"9\" font-family=\"DejaVu Sans Mono, monospace\" "
	           "fill=\"#444444\"><text x=\"%u\" y=\"%u\">0x%08llx</text>"
	           "<text x=\"%u\" y=\"%u\" text-anchor=\"end\">+%s</text></g>\n",
	        XV, Y0 - 8, (unsigned long long)p->lay.vmalloc_start,
	        XV + VM_WIDTH, Y0 - 22, sz);
	fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" "
	           "fill=\"%s\"/>\n", XV, Y0, VM_WIDTH, GH, cls_fill[0]);
	fputs("<g stroke=\"none\">\n", f);
	for (size_t i = 0; i < p->areas.n; i++) {
		const struct parea *a = &p->areas.v[i];
		double x = XV + (double)a->start * VM_WIDTH / (double)E;
		double w = (double)(a->len - 1) * VM_WIDTH / (double)E;
		if (w < 1)
			w = 1;
		size_t end = a->gone < R ? a->gone : R;
		size_t mid = a->lazy < end ? a->lazy : end;
		for (int part = 0; part < 2; part++) {
			size_t r0 = part ? mid : a->born, r1 = part ? end : mid;
			if (r0 >= r1)
				continue;
			fprintf(f, "<rect x=\"%.1f\" y=\"%u\" width=\"%.1f\" "
			           "height=\"%u\" fill=\"%s\"><title>", x,
			        Y0 + (unsigned)r0 * rh, w, (unsigned)(r1 - r0) * rh,
			        part ? LAZY_FILL : AREA_FILL);
			svg_esc(f, a->name, a->name_len);
			fprintf(f, ": %llu page%s at 0x%08llx%s</title></rect>\n",
			        (unsigned long long)(a->len - 1), a->len == 2 ? "" : "s",
			        (unsigned long long)a->vaddr,
			        part ? ", lazily freed" : "");
		}
	}
	fputs("</g>\n", f);
	for (size_t i = 0; i < p->purges.n; i++) {
		const struct ppurge *pu = &p->purges.v[i];
		if (pu->step >= R)
			continue;
		unsigned y = Y0 + (unsigned)pu->step * rh;
		fprintf(f, "<line x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\" "
		           "stroke=\"" PURGE_STROKE "\" stroke-width=\"2\"%s/>\n",
		        XV - 4, y, XV + VM_WIDTH + 4, y,
		        pu->tlb ? "" : " stroke-dasharray=\"4,3\"");
	}
}
#define LOCAL_FILL "#a1d99b"
#define ATOMIC_FILL "#fcbba1"

/* Task lanes: a step's state of a task, in a byte: enum tstate in bits
 * 0-1, the local stack's depth in bits 2-6, an atomic section in bit 7. */
#define LANE_STATE(x) ((x) & 3)
#define LANE_DEPTH(x) (((x) >> 2) & 31)
#define LANE_ATOMIC 0x80

static unsigned char lane_code(const struct tsnap *t)
{
	return (unsigned char)(t->state | (t->nlocal & 31) << 2 |
	                       (t->atomic > 0 ? LANE_ATOMIC : 0));
}

/* A window of more slots than this, of which the trace used no more, is
 * drawn as the used slots only. */
#define SVG_USED_COLS 64

static void write_svg(struct pics *p, FILE *f)
{
	const struct km_layout *l = &p->lay;
	size_t R = p->steps.n < SVG_MAX_ROWS ? p->steps.n : SVG_MAX_ROWS;
	unsigned S = p->nslots;
	char t[512];

	/* the columns: every slot, k slots a column, or the used ones only */
	unsigned *col_slot = NULL; /* used-only: column -> slot */
	int *slot_col = calloc(S, sizeof(int));
	unsigned nused = 0;
	if (!slot_col) {
		p->oom = true;
		return;
	}
	for (size_t r = 0; r < R; r++) {
		const struct pstep *st = &p->steps.v[r];
		for (uint32_t i = 0; i < st->chg_n; i++)
			slot_col[p->chgs.v[st->chg_off + i].slot] = 1;
		for (uint32_t i = 0; i < st->fl_n; i++) {
			const struct pflush *fl = &p->flushes.v[st->fl_off + i];
			for (uint32_t j = 0; j < fl->clr_n; j++)
				slot_col[p->cleared.v[fl->clr_off + j]] = 1;
		}
	}
	for (unsigned s = 0; s < S; s++)
		nused += slot_col[s] != 0;
	bool used_only = S > SVG_USED_COLS && nused <= SVG_USED_COLS;
	unsigned k = 1, cols = S;
	if (used_only) {
		unsigned want = nused ? nused : 1;
		col_slot = calloc(want, sizeof(unsigned));
		if (!col_slot) {
			free(slot_col);
			p->oom = true;
			return;
		}
		cols = 0;
		for (unsigned s = 0; s < S; s++) {
			if (slot_col[s]) {
				col_slot[cols] = s;
				slot_col[s] = (int)cols++;
			} else {
				slot_col[s] = -1;
			}
		}
		if (!cols) { /* nothing used: slot 0 stands for the window */
			col_slot[0] = 0;
			slot_col[0] = 0;
			cols = 1;
		}
	} else {
		k = S > SVG_MAX_COLS ? S / SVG_MAX_COLS : 1; /* slots a column */
		cols = S / k;
		for (unsigned s = 0; s < S; s++)
			slot_col[s] = (int)(s / k);
	}
	unsigned cw = 896 / cols;
	cw = cw < 1 ? 1 : cw > 28 ? 28 : cw;
	unsigned rh = R <= 150 ? 16 : R <= 600 ? 5 : 2;
	bool labels = rh >= 12;
	unsigned lanes = p->tasks.n < SVG_MAX_LANES ? (unsigned)p->tasks.n :
	                                             SVG_MAX_LANES;
	unsigned lw = labels ? 14 : 8;
	/* the lanes' names are turned up: room for the longest above them */
	size_t longest = 1;
	for (unsigned i = 0; i < lanes; i++)
		if (p->tasks.v[i].name_len > longest)
			longest = p->tasks.v[i].name_len;
	unsigned name_h = (unsigned)(longest > 12 ? 12 : longest) * 6 * 87 / 100 + 8;
	/* headers: the title's lines end at 62; "slot" and "tasks" on one
	 * line, HY, right above the slot numbers and the lanes' names */
	unsigned Y0 = 92 + name_h > 110 ? 92 + name_h : 110;
	unsigned HY = Y0 - 12 - name_h;
	unsigned X0 = labels ? 362 : 64;
	unsigned GW = cols * cw, GH = (unsigned)R * rh;
	unsigned XL = X0 + GW + 14;
	bool vm = p->areas.n > 0;
	unsigned XV = XL + lanes * lw + (lanes ? 10 : 0) + (vm ? 30 : 0);
	unsigned XF = vm ? XV + VM_WIDTH + 14 : XV;
	unsigned W = XF + (labels ? 250 : 40);
	if (W < 820)
		W = 820;
	unsigned notes = (p->steps.n > R) + (k > 1) + used_only +
	                 (p->tasks.n > lanes) + (p->full ? 1 : 0);
	unsigned H = Y0 + GH + 40 + 92 + notes * 16 + (vm ? 22 : 0);

	snprintf(t, sizeof(t), "kmap replay: the window over time, %s",
	         p->trace_name);
	svg_begin(f, W, H, t);
	fprintf(f, "<text x=\"16\" y=\"26\" font-size=\"16\" font-weight=\"bold\">"
	           "The pkmap window over time: ");
	svg_escs(f, p->trace_name);
	fputs("</text>\n", f);
	snprintf(t, sizeof(t), "machine %s, policy %s: %u slots at 0x%08llx, "
	         "%u colour%s", l->profile, p->policy, S,
	         (unsigned long long)l->pkmap_base, p->colors,
	         p->colors == 1 ? "" : "s");
	fprintf(f, "<text x=\"16\" y=\"46\" fill=\"#444444\">");
	svg_escs(f, t);
	fputs("</text>\n", f);
	fprintf(f, "<text x=\"16\" y=\"62\" fill=\"#444444\">A row per step (an "
	           "operation or a resumption), a column per slot, coloured by "
	           "pkmap_count; beside it each task's lane.</text>\n");

	/* column header: slot numbers */
	fprintf(f, "<g font-family=\"DejaVu Sans Mono, monospace\" "
	           "font-size=\"9\" fill=\"#444444\">\n");
	fprintf(f, "<text x=\"%u\" y=\"%u\" text-anchor=\"middle\" "
	           "font-size=\"11\" font-family=\"DejaVu Sans, sans-serif\">"
	           "%s</text>\n", X0 + GW / 2, HY,
	        "slot");
	if (cw >= 14 && k == 1) {
		for (unsigned c = 0; c < cols; c++) {
			unsigned s = used_only ? col_slot[c] : c;
			fprintf(f, "<text x=\"%u\" y=\"%u\" text-anchor=\"middle\"%s>"
			           "%u</text>\n", X0 + c * cw + cw / 2, Y0 - 6,
			        s >= 100 && cw < 24 ? " font-size=\"7\"" : "", s);
		}
	} else {
		unsigned step = 1;
		while (step * cw < 48)
			step *= 2;
		for (unsigned c = 0; c < cols; c += step) {
			fprintf(f, "<text x=\"%u\" y=\"%u\">%u</text>\n", X0 + c * cw,
			        Y0 - 8, used_only ? col_slot[c] : c * k);
			fprintf(f, "<line x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\" "
			           "stroke=\"#444444\"/>\n", X0 + c * cw, Y0 - 5,
			        X0 + c * cw, Y0);
		}
	}
	fputs("</g>\n", f);

	/* the grid: free is the background, runs of one colour down a column */
	fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" "
	           "fill=\"%s\"/>\n", X0, Y0, GW, GH, cls_fill[0]);
	struct view v;
	unsigned char *grid = malloc(R * cols + 1);
	unsigned char *tgrid = malloc(R * (lanes ? lanes : 1) + 1);
	unsigned char *colv = calloc(cols, 1);
	if (!grid || !tgrid || !colv || view_init(p, &v)) {
		free(grid);
		free(tgrid);
		free(colv);
		free(slot_col);
		free(col_slot);
		p->oom = true;
		svg_end(f);
		return;
	}
	for (size_t r = 0; r < R; r++) {
		const struct pstep *st = &p->steps.v[r];
		view_apply(p, &v, r);
		for (uint32_t i = 0; i < st->chg_n; i++) {
			int c = slot_col[p->chgs.v[st->chg_off + i].slot];
			if (c < 0)
				continue;
			int mx = 0;
			if (used_only)
				mx = cls(v.slot[col_slot[c]].count);
			else
				for (unsigned s = (unsigned)c * k; s < ((unsigned)c + 1) * k; s++)
					if (cls(v.slot[s].count) > mx)
						mx = cls(v.slot[s].count);
			colv[c] = (unsigned char)mx;
		}
		memcpy(grid + r * cols, colv, cols);
		for (unsigned i = 0; i < lanes; i++)
			tgrid[r * lanes + i] = lane_code(&v.task[i]);
	}
	free(colv);
	fputs("<g stroke=\"none\">\n", f);
	for (unsigned c = 0; c < cols; c++) {
		size_t r = 0;
		while (r < R) {
			unsigned char x = grid[r * cols + c];
			size_t e = r + 1;
			while (e < R && grid[e * cols + c] == x)
				e++;
			if (x)
				fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" "
				           "height=\"%u\" fill=\"%s\"/>\n", X0 + c * cw,
				        Y0 + (unsigned)r * rh, cw, (unsigned)(e - r) * rh,
				        cls_fill[x]);
			r = e;
		}
	}
	fputs("</g>\n", f);
	/* separators between slots and steps, where there is room */
	if (cw >= 6 && k == 1) {
		fprintf(f, "<path stroke=\"#ffffff\" stroke-width=\"1\" d=\"");
		for (unsigned c = 1; c < cols; c++)
			fprintf(f, "M%u,%uv%u", X0 + c * cw, Y0, GH);
		fputs("\"/>\n", f);
	}
	if (labels && R > 1) {
		fprintf(f, "<path stroke=\"#ffffff\" stroke-width=\"1\" d=\"");
		for (size_t r = 1; r < R; r++)
			fprintf(f, "M%u,%uh%u", X0, Y0 + (unsigned)r * rh, GW);
		fputs("\"/>\n", f);
	}
	/* counts in the cells, the acted slot outlined */
	if (labels && cw >= 14 && k == 1) {
		fputs("<g font-family=\"DejaVu Sans Mono, monospace\" font-size=\"10\" "
		      "text-anchor=\"middle\">\n", f);
		for (size_t r = 0; r < R; r++)
			for (unsigned c = 0; c < cols; c++) {
				unsigned char x = grid[r * cols + c];
				if (!x)
					continue;
				/* the class is the count below 5 */
				fprintf(f, "<text x=\"%u\" y=\"%u\" fill=\"%s\">%s</text>\n",
				        X0 + c * cw + cw / 2, Y0 + (unsigned)r * rh + rh - 4,
				        x >= 3 ? "#ffffff" : "#000000",
				        x == 5 ? "5+" : (const char *[]){ "", "1", "2", "3",
				                                         "4" }[x]);
			}
		fputs("</g>\n", f);
	}
	if (cw >= 4 && rh >= 5) {
		fputs("<g fill=\"none\" stroke=\"#000000\" stroke-width=\"1.2\">\n", f);
		for (size_t r = 0; r < R; r++) {
			const struct pstep *st = &p->steps.v[r];
			if (st->wslot < 0 || strcmp(st->result, "ok") ||
			    slot_col[st->wslot] < 0)
				continue;
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%u\" height=\"%u\"/>\n",
			        X0 + (double)slot_col[st->wslot] * cw + 0.6,
			        Y0 + (double)r * rh + 0.6, cw - 1, rh - 1);
		}
		fputs("</g>\n", f);
	}

	/* row labels (or step numbers) */
	if (labels) {
		fputs("<g font-family=\"DejaVu Sans Mono, monospace\" font-size=\"11\">\n",
		      f);
		for (size_t r = 0; r < R; r++) {
			const struct pstep *st = &p->steps.v[r];
			char line[200];
			const struct ptask *tk = &p->tasks.v[st->task];
			char pfn[REC_WHAT_MAX + 1];
			step_what(p, st, 8, pfn);
			snprintf(line, sizeof(line), "%5lu %-6.6s %-13s %8s %s%s%s%s",
			         st->line, tk->name, trace_op_names[st->op], pfn,
			         st->result, st->how ? " " : "", st->how ? st->how : "",
			         st->resumed ? " resumed" : "");
			fprintf(f, "<text x=\"8\" y=\"%u\" xml:space=\"preserve\"%s>",
			        Y0 + (unsigned)r * rh + rh - 4,
			        !strcmp(st->result, "error") ? " fill=\"" ERROR_FILL "\"" :
			        !strcmp(st->result, "sleep") ? " fill=\"" SLEEP_FILL "\"" :
			                                       "");
			svg_escs(f, line);
			step_text(p, st, line, sizeof(line));
			fputs("<title>", f);
			svg_escs(f, line);
			fputs("</title></text>\n", f);
		}
		fputs("</g>\n", f);
		fprintf(f, "<text x=\"8\" y=\"%u\" font-family=\"DejaVu Sans Mono, "
		           "monospace\" font-size=\"11\" font-weight=\"bold\" "
		           "xml:space=\"preserve\"> line task   op            "
		           "%8s result</text>\n", Y0 - 6, what_heading(p));
	} else {
		fputs("<g font-size=\"10\" fill=\"#444444\" text-anchor=\"end\">\n", f);
		unsigned every = rh >= 5 ? 20 : 50;
		for (size_t r = 0; r < R; r += every)
			fprintf(f, "<text x=\"%u\" y=\"%u\">%zu</text>\n", X0 - 14,
			        Y0 + (unsigned)r * rh + 8, r + 1);
		fputs("</g>\n", f);
		fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\" "
		           "text-anchor=\"end\">step</text>\n", X0 - 14, Y0 - 6);
		/* errors as red ticks at the left edge */
		fputs("<g fill=\"" ERROR_FILL "\">\n", f);
		for (size_t r = 0; r < R; r++)
			if (!strcmp(p->steps.v[r].result, "error"))
				fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"8\" height=\"%u\"/>\n",
				        X0 - 10, Y0 + (unsigned)r * rh, rh);
		fputs("</g>\n", f);
	}

	/* flushes across the row, and at the right what happened: the flush,
	 * the wake-up, the error */
	fputs("<g>\n", f);
	for (size_t r = 0; r < R; r++) {
		const struct pstep *st = &p->steps.v[r];
		bool err = labels && st->error;
		if (!st->fl_n && !st->woke && !err)
			continue;
		unsigned y = Y0 + (unsigned)r * rh;
		unsigned ncl = 0;
		bool tlb = false;
		for (uint32_t i = 0; i < st->fl_n; i++) {
			ncl += p->flushes.v[st->fl_off + i].clr_n;
			tlb |= p->flushes.v[st->fl_off + i].tlb;
		}
		if (st->fl_n)
			fprintf(f, "<line x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\" "
			           "stroke=\"" FLUSH_STROKE "\" stroke-width=\"%s\"%s/>\n",
			        X0 - 4, y, XF - 4, y, labels ? "2" : "1",
			        tlb ? "" : " stroke-dasharray=\"4,3\"");
		if (labels) {
			char note[96] = "";
			int n = 0;
			if (st->fl_n)
				n = snprintf(note, sizeof(note), ncl ?
				             "flush: %u cleared, TLB flush" :
				             "flush: nothing cleared", ncl);
			if (st->woke && n >= 0 && (size_t)n < sizeof(note))
				snprintf(note + n, sizeof(note) - (size_t)n, "%swoke %u",
				         n ? "; " : "", st->woke);
			fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">", XF,
			        y + rh - 4);
			if (note[0])
				fprintf(f, "<tspan fill=\"" FLUSH_STROKE "\">%s</tspan>",
				        note);
			if (err) {
				fprintf(f, "<tspan fill=\"" ERROR_FILL "\">%s", note[0] ?
				        "; " : "");
				svg_escs(f, st->error);
				fputs("</tspan>", f);
			}
			fputs("</text>\n", f);
		} else if (st->fl_n) {
			fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"10\" height=\"%u\" "
			           "fill=\"" FLUSH_STROKE "\"/>\n", XF, y, rh);
		}
	}
	fputs("</g>\n", f);

	/* task lanes: asleep and woken; the local stack's depth, the atomic
	 * section */
	if (lanes) {
		fputs("<g font-size=\"10\">\n", f);
		for (unsigned i = 0; i < lanes; i++) {
			const struct ptask *tk = &p->tasks.v[i];
			unsigned x = XL + i * lw;
			fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" "
			           "fill=\"#fafafa\" stroke=\"#dddddd\"/>\n", x, Y0,
			        lw - 2, GH);
			/* narrow lanes: upright names, small, that do not touch */
			fprintf(f, "<text transform=\"translate(%u,%u) rotate(%d)\"%s>",
			        x + lw / 2 + (lw < 14 ? 2 : 0), Y0 - 6,
			        lw < 14 ? -90 : -60, lw < 14 ? " font-size=\"7\"" : "");
			svg_esc(f, tk->name, tk->name_len > 12 ? 12 : tk->name_len);
			fputs("</text>\n", f);
			size_t r = 0;
			while (r < R) {
				unsigned char c = tgrid[r * lanes + i];
				size_t e = r + 1;
				while (e < R && tgrid[e * lanes + i] == c)
					e++;
				unsigned s = LANE_STATE(c);
				const char *fill = s == T_ASLEEP ? SLEEP_FILL :
				                   s == T_WOKEN ? WOKEN_FILL :
				                   c & LANE_ATOMIC ? ATOMIC_FILL :
				                   LANE_DEPTH(c) ? LOCAL_FILL : NULL;
				if (fill) {
					char what[64];
					int n = snprintf(what, sizeof(what), "%s",
					                 tstate_names[s]);
					if (LANE_DEPTH(c))
						n += snprintf(what + n, sizeof(what) - (size_t)n,
						              ", %u local map%s", LANE_DEPTH(c),
						              LANE_DEPTH(c) == 1 ? "" : "s");
					if (c & LANE_ATOMIC)
						snprintf(what + n, sizeof(what) - (size_t)n,
						         ", in an atomic section");
					fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" "
					           "height=\"%u\" fill=\"%s\"><title>%s</title>"
					           "</rect>\n", x, Y0 + (unsigned)r * rh, lw - 2,
					        (unsigned)(e - r) * rh, fill, what);
					if (labels && LANE_DEPTH(c) && s == T_RUNNING)
						for (size_t q = r; q < e; q++)
							fprintf(f, "<text x=\"%u\" y=\"%u\" "
							           "text-anchor=\"middle\" font-size=\"9\" "
							           "font-family=\"DejaVu Sans Mono, "
							           "monospace\">%u</text>\n",
							        x + (lw - 2) / 2,
							        Y0 + (unsigned)q * rh + rh - 4,
							        LANE_DEPTH(c));
				}
				r = e;
			}
		}
		fputs("</g>\n", f);
		fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\">tasks</text>\n",
		        XL, HY);
	}

	/* the vmalloc area, and its purges' notes */
	if (vm) {
		svg_vmalloc(p, f, XV, Y0, R, rh);
		for (size_t i = 0; i < p->purges.n; i++) {
			const struct ppurge *pu = &p->purges.v[i];
			unsigned y = Y0 + (unsigned)pu->step * rh;
			if (pu->step >= R)
				continue;
			if (labels)
				fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"11\" "
				           "fill=\"" PURGE_STROKE "\">purge: %u area%s, %s"
				           "</text>\n", XF, y + rh - 4, pu->nareas,
				        pu->nareas == 1 ? "" : "s",
				        pu->tlb ? "TLB flush" : "no TLB flush");
			else
				fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"10\" "
				           "height=\"%u\" fill=\"" PURGE_STROKE "\"/>\n",
				        XF, y, rh);
		}
	}

	/* legend and notes */
	unsigned ly = Y0 + GH + 30;
	fputs("<g font-size=\"11\">\n", f);
	unsigned lx = 16;
	for (int c = 0; c < 6; c++) {
		fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"14\" height=\"14\" "
		           "fill=\"%s\" stroke=\"#999999\"/>", lx, ly - 11,
		        cls_fill[c]);
		fprintf(f, "<text x=\"%u\" y=\"%u\">%s</text>\n", lx + 18, ly,
		        cls_name[c]);
		lx += c == 0 ? 70 : c == 1 ? 150 : c == 5 ? 170 : 110;
	}
	ly += 22;
	fprintf(f, "<line x1=\"16\" y1=\"%u\" x2=\"40\" y2=\"%u\" "
	           "stroke=\"" FLUSH_STROKE "\" stroke-width=\"2\"/>"
	           "<text x=\"46\" y=\"%u\">flush_all_zero_pkmaps, above the step "
	           "that ran it (dashed: nothing to clear)</text>\n", ly - 4,
	        ly - 4, ly);
	fprintf(f, "<rect x=\"530\" y=\"%u\" width=\"14\" height=\"14\" "
	           "fill=\"none\" stroke=\"#000000\"/><text x=\"548\" y=\"%u\">"
	           "the step's slot</text>\n", ly - 11, ly);
	ly += 22;
	fprintf(f, "<text x=\"16\" y=\"%u\">lanes:</text>", ly);
	fprintf(f, "<rect x=\"58\" y=\"%u\" width=\"12\" height=\"14\" fill=\""
	           SLEEP_FILL "\"/><text x=\"74\" y=\"%u\">asleep in kmap</text>\n",
	        ly - 11, ly);
	fprintf(f, "<rect x=\"172\" y=\"%u\" width=\"12\" height=\"14\" fill=\""
	           WOKEN_FILL "\"/><text x=\"188\" y=\"%u\">woken, not yet run"
	           "</text>\n", ly - 11, ly);
	fprintf(f, "<rect x=\"310\" y=\"%u\" width=\"12\" height=\"14\" fill=\""
	           LOCAL_FILL "\"/><text x=\"326\" y=\"%u\">local maps held (the "
	           "number)</text>\n", ly - 11, ly);
	fprintf(f, "<rect x=\"504\" y=\"%u\" width=\"12\" height=\"14\" fill=\""
	           ATOMIC_FILL "\"/><text x=\"520\" y=\"%u\">in an atomic section"
	           "</text>\n", ly - 11, ly);
	ly += 22;
	fprintf(f, "<text x=\"16\" y=\"%u\">\"resumed\": a kmap retried after a "
	           "wake-up, on its first line; red: an error (its text at the "
	           "right).</text>\n", ly);
	ly += 22;
	if (vm) {
		fprintf(f, "<rect x=\"16\" y=\"%u\" width=\"14\" height=\"14\" "
		           "fill=\"" AREA_FILL "\"/><text x=\"34\" y=\"%u\">vmap "
		           "area</text>\n", ly - 11, ly);
		fprintf(f, "<rect x=\"120\" y=\"%u\" width=\"14\" height=\"14\" "
		           "fill=\"" LAZY_FILL "\"/><text x=\"138\" y=\"%u\">lazily "
		           "freed (vunmap): its range waits for the purge</text>\n",
		        ly - 11, ly);
		fprintf(f, "<line x1=\"470\" y1=\"%u\" x2=\"494\" y2=\"%u\" "
		           "stroke=\"" PURGE_STROKE "\" stroke-width=\"2\"/><text "
		           "x=\"500\" y=\"%u\">purge: one TLB flush for every lazily "
		           "freed area</text>\n", ly - 4, ly - 4, ly);
		ly += 22;
	}
	fputs("<g fill=\"#444444\">\n", f);
	if (p->steps.n > R) {
		fprintf(f, "<text x=\"16\" y=\"%u\">The first %zu of %zu steps are "
		           "drawn.</text>\n", ly, R, p->steps.n);
		ly += 16;
	}
	if (p->full) {
		fprintf(f, "<text x=\"16\" y=\"%u\">The trace ran %llu steps; the "
		           "pictures keep the first %d.</text>\n", ly,
		        (unsigned long long)p->total_steps, PICS_MAX_STEPS);
		ly += 16;
	}
	if (k > 1) {
		fprintf(f, "<text x=\"16\" y=\"%u\">Each column is %u slots; its "
		           "colour is the highest count among them.</text>\n", ly, k);
		ly += 16;
	}
	if (used_only && !nused) {
		fprintf(f, "<text x=\"16\" y=\"%u\">The trace used no slot of the "
		           "%u: slot 0 is drawn, empty.</text>\n", ly, S);
		ly += 16;
	} else if (used_only) {
		fprintf(f, "<text x=\"16\" y=\"%u\">Only the %u slot%s the trace "
		           "used %s drawn, of %u.</text>\n", ly, nused,
		        nused == 1 ? "" : "s", nused == 1 ? "is" : "are", S);
		ly += 16;
	}
	if (p->tasks.n > lanes) {
		fprintf(f, "<text x=\"16\" y=\"%u\">%zu more tasks have no lane."
		           "</text>\n", ly, p->tasks.n - lanes);
		ly += 16;
	}
	fputs("</g>\n</g>\n", f);
	svg_end(f);
	view_free(&v);
	free(grid);
	free(tgrid);
	free(slot_col);
	free(col_slot);
}

/* ---------------------------------------------------------------------- */
/* The HTML page                                                           */
/* ---------------------------------------------------------------------- */

static const char html_head[] =
"<!DOCTYPE html>\n"
"<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
"<title>kmap replay: ";

static const char html_style[] =
"</title>\n<style>\n"
"body{font-family:system-ui,'DejaVu Sans',sans-serif;margin:16px 24px;color:#222}\n"
"h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px}\n"
"#machine{color:#555;margin:0 0 10px}\n"
"#controls{position:sticky;top:0;background:#fff;padding:6px 0;z-index:2;"
"border-bottom:1px solid #ddd;display:flex;gap:6px;align-items:center;flex-wrap:wrap}\n"
"button{font-size:14px;padding:3px 10px}\n"
"#scrub{width:320px}\n"
"#pos{font-variant-numeric:tabular-nums;min-width:120px}\n"
"#desc{font-family:'DejaVu Sans Mono',monospace;background:#f6f6f6;"
"padding:8px;margin:10px 0;min-height:3em;white-space:pre-wrap}\n"
"#desc .flush{color:#2171b5}#desc .error{color:#cb181d}#desc .sleep{color:#6a51a3}\n"
"#window{display:flex;flex-wrap:wrap;gap:2px}\n"
".slot{width:64px;height:44px;border:1px solid #bbb;font-size:11px;"
"display:flex;flex-direction:column;align-items:center;justify-content:center;"
"font-family:'DejaVu Sans Mono',monospace}\n"
".slot b{font-weight:normal;color:#666;font-size:10px}.slot span{font-size:15px;font-weight:bold}\n"
".slot i{font-style:normal;font-size:10px}\n"
".small .slot{width:9px;height:9px;border:0}.small .slot *{display:none}\n"
".c0{background:#f4f4f4}.c1{background:#9ecae1}.c2{background:#fdae6b}"
".c3{background:#f16913;color:#fff}.c4{background:#d94801;color:#fff}"
".c5{background:#7f2704;color:#fff}\n"
".slot.acted{outline:2px solid #000;outline-offset:-2px}\n"
".slot.cleared{box-shadow:inset 0 0 0 2px #2171b5}\n"
"#legend span{display:inline-block;padding:1px 6px;margin-right:4px;font-size:12px}\n"
".cols{display:flex;gap:32px;flex-wrap:wrap}\n"
"#tasks{border-collapse:collapse}#tasks td,#tasks th{border-bottom:1px solid #ddd;"
"padding:3px 8px;text-align:left;font-size:13px}\n"
"tr.asleep td{background:#dadaeb}tr.woken td{background:#efedf5}\n"
".stack span{display:inline-block;border:1px solid #888;padding:0 4px;margin-right:2px;"
"font-family:'DejaVu Sans Mono',monospace;font-size:12px;background:#c6dbef}\n"
".stack span.atomic{background:#fcbba1}\n"
"#buckets{display:grid;grid-template-columns:repeat(16,14px);gap:2px;margin-bottom:6px}\n"
".bucket{width:14px;height:14px;border:1px solid #ddd;box-sizing:border-box;background:#fafafa}\n"
".bucket.used{background:#fdae6b;border-color:#d94801}\n"
"#chains{margin:0;padding-left:18px;font-family:'DejaVu Sans Mono',monospace;font-size:12px}\n"
"#log{max-height:260px;overflow:auto;font-family:'DejaVu Sans Mono',monospace;"
"font-size:12px;border:1px solid #ddd;padding:4px 4px 4px 48px;margin:0}\n"
"#log li{cursor:pointer}#log li.cur{background:#ffe9a8}\n"
"#log-head{font-family:'DejaVu Sans Mono',monospace;font-size:12px;"
"font-weight:bold;margin:0;padding:0 0 2px 49px}\n"
"</style>\n</head>\n<body>\n";

static const char html_body[] =
"<div id=\"controls\">\n"
"<button id=\"first\" title=\"to the start (Home)\">&#x25C0;&#x25C0; start</button>\n"
"<button id=\"back\" title=\"one step back (left arrow)\">&#x25C0; back</button>\n"
"<button id=\"play\" title=\"play or pause (space)\">&#x25B6; play</button>\n"
"<button id=\"step\" title=\"one step on (right arrow)\">step &#x25B6;</button>\n"
"<button id=\"last\" title=\"to the end (End)\">end &#x25B6;&#x25B6;</button>\n"
"<input type=\"range\" id=\"scrub\" min=\"0\" max=\"0\" value=\"0\">\n"
"<span id=\"pos\">step 0 / 0</span>\n"
"<label>speed <select id=\"speed\"><option value=\"1200\">slow</option>"
"<option value=\"500\" selected>normal</option><option value=\"120\">fast"
"</option></select></label>\n"
"</div>\n"
"<div id=\"desc\">Loading...</div>\n"
"<noscript><p>This page steps through the trace with JavaScript; the states "
"are in the JSON at the end of the page.</p></noscript>\n"
"<h2>The window: pkmap_count[] and the page each slot maps</h2>\n"
"<p id=\"legend\"><span class=\"c0\">0 free</span><span class=\"c1\">1 free, "
"still mapped</span><span class=\"c2\">2 in use by 1</span><span class=\"c3\">"
"3 in use by 2</span><span class=\"c4\">4 in use by 3</span><span class=\"c5\">"
"5+ in use by 4+</span></p>\n"
"<p id=\"window-summary\"></p>\n"
"<div id=\"window\"></div>\n";

/* the rest of the body; the vmalloc area's section goes between */
static const char html_body2[] =
"<div class=\"cols\">\n"
"<section><h2>Tasks</h2><table id=\"tasks\"><thead><tr><th>task</th>"
"<th>state</th><th>atomic</th><th>local stack (bottom to top)</th></tr>"
"</thead><tbody id=\"task-rows\"></tbody></table></section>\n"
"<section><h2>page_address(): the hash of <span id=\"nbuckets\">128</span> "
"buckets</h2><p id=\"hash-summary\"></p><div id=\"buckets\"></div>"
"<ul id=\"chains\"></ul></section>\n"
"</div>\n"
"<h2>Steps</h2>\n";
/* then the list's heading (what_heading()) and the list */
static const char html_log[] = "<ol id=\"log\" start=\"1\"></ol>\n";

static const char html_script[] =
"<script>\n"
"(function () {\n"
"'use strict';\n"
"var D = JSON.parse(document.getElementById('kmap-data').textContent);\n"
"var M = D.machine, S = M.last_pkmap, N = D.steps.length, T = D.tasks.length;\n"
"var HASH = M.pa_hash_size || 128, HSHIFT = 32 - Math.round(Math.log2(HASH));\n"
"var $ = function (id) { return document.getElementById(id); };\n"
"function hex(v) { return '0x' + v.toString(16); }\n"
"function esc(s) { return String(s).replace(/[&<>\"]/g, function (c) {\n"
"  return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '\"': '&quot;'}[c]; }); }\n"
"/* hash_32(pfn, 7), as the library's page_slot(): (u32)(pfn * GOLDEN_RATIO_32) >> 25 */\n"
"function bucketOf(pfn) { return Math.imul(pfn >>> 0, 0x61C88647) >>> HSHIFT; }\n"
"/* state: counts, pfns, since (the step that entered the page: chain order) */\n"
"function fresh() {\n"
"  var st = {count: new Int32Array(S), pfn: new Float64Array(S).fill(-1),\n"
"            since: new Int32Array(S), tasks: []};\n"
"  for (var i = 0; i < T; i++) st.tasks.push({state: 'running', atomic: 0, stack: []});\n"
"  return st;\n"
"}\n"
"function copy(st) {\n"
"  return {count: st.count.slice(), pfn: st.pfn.slice(), since: st.since.slice(),\n"
"          tasks: st.tasks.map(function (t) { return {state: t.state,\n"
"            atomic: t.atomic, stack: t.stack.slice(), sleep: t.sleep}; })};\n"
"}\n"
"function apply(st, n) {\n"
"  var s = D.steps[n - 1];\n"
"  (s.set || []).forEach(function (c) {\n"
"    var nr = c[0];\n"
"    if (c[2] !== st.pfn[nr] || (st.count[nr] === 0 && c[1] > 0)) st.since[nr] = n;\n"
"    st.count[nr] = c[1]; st.pfn[nr] = c[2];\n"
"  });\n"
"  (s.tasks || []).forEach(function (t) {\n"
"    st.tasks[t[0]] = {state: t[1], atomic: t[2], stack: t[3], sleep: t[4]};\n"
"  });\n"
"}\n"
"/* checkpoints, so going back costs no more than a few steps forward */\n"
"var K = Math.max(16, Math.ceil(S * N / 4000000)), checks = [], st = fresh();\n"
"checks.push(copy(st));\n"
"for (var n = 1; n <= N; n++) { apply(st, n); if (n % K === 0) checks.push(copy(st)); }\n"
"var cur = -1, state = null, timer = null;\n"
"function go(n) {\n"
"  n = Math.max(0, Math.min(N, n | 0));\n"
"  if (state && n >= cur && n - cur <= K) {\n"
"    for (var i = cur + 1; i <= n; i++) apply(state, i);\n"
"  } else {\n"
"    var c = Math.floor(n / K);\n"
"    state = copy(checks[c]);\n"
"    for (var j = c * K + 1; j <= n; j++) apply(state, j);\n"
"  }\n"
"  cur = n;\n"
"  render();\n"
"}\n"
"/* the pfn, or the area the step names: step_what()'s (rec_what()'s) */\n"
"function stepText(s) {\n"
"  var w = s.pfn !== undefined ? s.pfn : s.name !== undefined ? s.name : '';\n"
"  var t = D.tasks[s.task] + ' ' + s.op + (w !== '' ? ' ' + w : '') +\n"
"    ' \\u2192 ' + s.result;\n"
"  if (s.how) t += ' ' + s.how;\n"
"  if (s.slot !== undefined) t += (s.how === 'local' ? ' (stack ' : ' (slot ') + s.slot + ')';\n"
"  if (s.vaddr) t += ' ' + s.vaddr;\n"
"  if (s.error) t += ': ' + s.error;\n"
"  if (s.resumed) t += ' [resumed after a wake-up]';\n"
"  return t;\n"
"}\n"
"function render() {\n"
"  var s = cur ? D.steps[cur - 1] : null, i;\n"
"  $('pos').textContent = 'step ' + cur + ' / ' + N;\n"
"  $('scrub').value = cur;\n"
"  var d = '';\n"
"  if (!s) d = 'The start: every slot free, no task has run.';\n"
"  else {\n"
"    d = 'line ' + s.line + ': <span class=\"' + s.result + '\">' + esc(stepText(s)) + '</span>';\n"
"    (s.flushes || []).forEach(function (f) {\n"
"      d += '\\n<span class=\"flush\">flush_all_zero_pkmaps: ' + (f.cleared.length ?\n"
"        'cleared ' + f.cleared.join(', ') + ', one TLB flush of the window' :\n"
"        'cleared nothing, no TLB flush') + '</span>';\n"
"    });\n"
"    if (s.woke) d += '\\n<span class=\"sleep\">the kunmap woke ' + s.woke +\n"
"      ' task' + (s.woke > 1 ? 's' : '') + '</span>';\n"
"  }\n"
"  $('desc').innerHTML = d;\n"
"  var cleared = {};\n"
"  if (s) (s.flushes || []).forEach(function (f) { f.cleared.forEach(function (c) { cleared[c] = 1; }); });\n"
"  var acted = s && s.wslot !== undefined ? s.wslot : -1;\n"
"  var h = [], inuse = 0, mapped = 0, free = 0, list = [];\n"
"  for (i = 0; i < S; i++) {\n"
"    var c = state.count[i], p = state.pfn[i];\n"
"    if (c >= 2) { inuse++; list.push(i + ':' + c); } else if (c === 1) mapped++; else free++;\n"
"    if (S > 4096 && c === 0 && acted !== i) continue;\n"
"    var cl = 'slot c' + Math.min(c, 5) + (i === acted ? ' acted' : '') + (cleared[i] ? ' cleared' : '');\n"
"    h.push('<div class=\"' + cl + '\" id=\"slot-' + i + '\" data-count=\"' + c +\n"
"      '\" data-pfn=\"' + (p >= 0 ? p : '') + '\" title=\"slot ' + i + ' at ' +\n"
"      hex(M.pkmap_base_n + i * M.page_size) + ': count ' + c +\n"
"      (p >= 0 ? ', pfn ' + p : '') + '\"><b>' + i + '</b><span>' + c + '</span><i>' +\n"
"      (p >= 0 ? p : '&#8203;') + '</i></div>');\n"
"  }\n"
"  $('window').className = S > 256 ? 'small' : '';\n"
"  $('window').innerHTML = h.join('');\n"
"  $('window-summary').textContent = inuse + ' in use, ' + mapped +\n"
"    ' free but still mapped, ' + free + ' free' +\n"
"    (list.length && list.length <= 64 ? ' (in use, slot:count: ' + list.join(' ') + ')' : '') +\n"
"    (S > 4096 ? '; free slots are not drawn' : '');\n"
"  var rows = [];\n"
"  for (i = 0; i < T; i++) {\n"
"    var t = state.tasks[i], what = t.state;\n"
"    if (t.state === 'asleep' && t.sleep) what += ' in kmap ' + t.sleep[1] + ' (line ' + t.sleep[0] + ')';\n"
"    if (t.state === 'woken') what += ', to retry kmap ' + (t.sleep ? t.sleep[1] : '');\n"
"    rows.push('<tr id=\"task-' + esc(D.tasks[i]) + '\" class=\"' + t.state +\n"
"      '\" data-state=\"' + t.state + '\" data-depth=\"' + t.stack.length + '\"><td>' +\n"
"      esc(D.tasks[i]) + (s && s.task === i ? ' &#x25C0;' : '') + '</td><td>' + what +\n"
"      '</td><td>' + t.atomic + '</td><td class=\"stack\">' +\n"
"      (t.stack.length ? t.stack.map(function (e) {\n"
"        return '<span class=\"' + (e[1] ? 'atomic' : 'local') + '\">' + e[0] +\n"
"          (e[1] ? ' atomic' : '') + '</span>'; }).join('') : '(empty)') + '</td></tr>');\n"
"  }\n"
"  $('task-rows').innerHTML = rows.join('');\n"
"  var b = [], chains = [];\n"
"  for (i = 0; i < HASH; i++) chains.push([]);\n"
"  for (i = 0; i < S; i++)\n"
"    if (state.count[i] > 0 && state.pfn[i] >= 0)\n"
"      chains[bucketOf(state.pfn[i])].push([state.since[i], i, state.pfn[i]]);\n"
"  var used = 0, lines = [];\n"
"  /* every bucket a small square; the chains of the used ones listed */\n"
"  for (i = 0; i < HASH; i++) {\n"
"    var ch = chains[i].sort(function (x, y) { return x[0] - y[0] || x[1] - y[1]; });\n"
"    if (ch.length) used++;\n"
"    var pf = ch.map(function (e) { return e[2]; });\n"
"    b.push('<div class=\"bucket' + (ch.length ? ' used' : '') + '\" id=\"bucket-' + i +\n"
"      '\" data-pfns=\"' + pf.join(' ') + '\" title=\"bucket ' + i +\n"
"      (ch.length ? ': ' + pf.join(' \u2192 ') : ': empty') + '\"></div>');\n"
"    if (ch.length && lines.length < 64)\n"
"      lines.push('<li>bucket ' + i + ': ' + pf.join(' &#x2192; ') + '</li>');\n"
"  }\n"
"  $('buckets').innerHTML = b.join('');\n"
"  $('chains').innerHTML = lines.join('') + (used > lines.length ?\n"
"    '<li>... and ' + (used - lines.length) + ' more</li>' : '');\n"
"  $('hash-summary').textContent = used + ' of ' + HASH + ' buckets hold a page; ' +\n"
"    'bucket = hash_32(pfn, ' + (32 - HSHIFT) + '), each chain in the order the pages came in';\n"
"  var old = document.querySelector('#log li.cur');\n"
"  if (old) old.className = '';\n"
"  if (cur) {\n"
"    var li = $('log').children[cur - 1];\n"
"    if (li) { li.className = 'cur';\n"
"      var lg = $('log'); lg.scrollTop = li.offsetTop - lg.offsetTop - lg.clientHeight / 2; }\n"
"  }\n"
"}\n"
"function play() {\n"
"  if (timer) { clearInterval(timer); timer = null; $('play').innerHTML = '&#x25B6; play'; return; }\n"
"  if (cur >= N) go(0);\n"
"  $('play').innerHTML = '&#x23F8; pause';\n"
"  timer = setInterval(function () {\n"
"    if (cur >= N) { play(); return; }\n"
"    go(cur + 1);\n"
"  }, +$('speed').value);\n"
"}\n"
"$('first').onclick = function () { go(0); };\n"
"$('back').onclick = function () { go(cur - 1); };\n"
"$('step').onclick = function () { go(cur + 1); };\n"
"$('last').onclick = function () { go(N); };\n"
"$('play').onclick = play;\n"
"$('scrub').max = N;\n"
"$('scrub').oninput = function () { go(+this.value); };\n"
"$('speed').onchange = function () { if (timer) { play(); play(); } };\n"
"document.addEventListener('keydown', function (e) {\n"
"  if (e.target.tagName === 'INPUT' || e.target.tagName === 'SELECT') return;\n"
"  if (e.key === 'ArrowRight') go(cur + 1); else if (e.key === 'ArrowLeft') go(cur - 1);\n"
"  else if (e.key === 'Home') go(0); else if (e.key === 'End') go(N);\n"
"  else if (e.key === ' ') { play(); e.preventDefault(); } else return;\n"
"});\n"
"var log = [];\n"
"D.steps.forEach(function (s, i) {\n"
"  log.push('<li data-step=\"' + (i + 1) + '\">' + esc('line ' + s.line + ': ' + stepText(s)) +\n"
"    (s.flushes || []).map(function (f) { return ' <span class=\"flush\">[flush: ' +\n"
"      (f.cleared.length ? f.cleared.length + ' cleared, one TLB flush' : 'nothing cleared') +\n"
"      ']</span>'; }).join('') + '</li>');\n"
"});\n"
"$('log').innerHTML = log.join('');\n"
"$('log').onclick = function (e) {\n"
"  var li = e.target.closest('li'); if (li) go(+li.getAttribute('data-step'));\n"
"};\n"
"/* #step=N (or ?step=N) opens step N; do=back,step,first,last clicks\n"
"   those buttons; play starts playing */\n"
"var q = (location.hash.slice(1) + '&' + location.search.slice(1)).split('&'), args = {};\n"
"q.forEach(function (kv) { var p = kv.split('='); if (p[0]) args[p[0]] = p.length > 1 ? decodeURIComponent(p[1]) : ''; });\n"
"go(args.step !== undefined ? +args.step : 0);\n"
"if (args['do']) args['do'].split(',').forEach(function (b) { var e = $(b); if (e) e.click(); });\n"
"if (args.play !== undefined) play();\n"
"})();\n"
"</script>\n</body>\n</html>\n";

/* The vmalloc area's section, for a trace with vmap areas only (so that
 * the page of any other trace is as it was). */
static const char html_vm_section[] =
"<style>\n"
"#vmalloc{position:relative;height:46px;background:#f4f4f4;border:1px solid #bbb}\n"
"#vmalloc .area{position:absolute;top:2px;bottom:2px;background:#74c476;"
"font-size:10px;overflow:hidden;white-space:nowrap;"
"font-family:'DejaVu Sans Mono',monospace;border-right:1px solid #fff}\n"
"#vmalloc .area.lazy{background:repeating-linear-gradient(45deg,#bdbdbd,"
"#bdbdbd 4px,#d9d9d9 4px,#d9d9d9 8px)}\n"
"#vmalloc .area.acted{outline:2px solid #000;outline-offset:-2px}\n"
"#vm-axis{display:flex;justify-content:space-between;font-size:11px;color:#555;"
"font-family:'DejaVu Sans Mono',monospace}\n"
"#desc .purge{color:#238b45}\n"
"</style>\n"
"<h2>The vmalloc area: vmap's areas (green), lazily freed ones (grey) "
"until a purge</h2>\n"
"<p id=\"vm-summary\"></p>\n<div id=\"vmalloc\"></div>\n"
"<div id=\"vm-axis\"><span id=\"vm-lo\"></span><span id=\"vm-hi\"></span></div>\n";

/* Draws the section at each step: it follows the stepper's position (the
 * main script's), and adds the areas' names and purges to its words. */
static const char html_vm_script[] =
"<script>\n"
"(function () {\n"
"'use strict';\n"
"var D = JSON.parse(document.getElementById('kmap-data').textContent);\n"
"var V = D.vmalloc, A = D.areas, E = V.extent;\n"
"var $ = function (id) { return document.getElementById(id); };\n"
"function esc(s) { return String(s).replace(/[&<>\"]/g, function (c) {\n"
"  return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '\"': '&quot;'}[c]; }); }\n"
"function pages(a) { return (a.len - 1) + (a.len === 2 ? ' page' : ' pages'); }\n"
"$('vm-lo').textContent = V.start;\n"
"$('vm-hi').textContent = '+' + E + ' pages (the area: ' + V.pages + ')';\n"
"var items = $('log').children;\n"
"D.steps.forEach(function (s, i) {\n"
"  if (s.purge && items[i])\n"
"    items[i].appendChild(document.createTextNode(' [purge]'));\n"
"});\n"
"/* after step n (1-based) an area is there when born < n <= gone, lazy\n"
"   when lazy < n (born, lazy, gone: 0-based steps) */\n"
"function render() {\n"
"  var n = +$('scrub').value, s = n ? D.steps[n - 1] : null, h = [];\n"
"  var live = 0, lazy = 0, mp = 0, lp = 0;\n"
"  A.forEach(function (a, i) {\n"
"    if (!(a.born < n && (a.gone === undefined || n <= a.gone))) return;\n"
"    var lz = a.lazy !== undefined && a.lazy < n;\n"
"    if (lz) { lazy++; lp += a.len; } else { live++; mp += a.len - 1; }\n"
"    h.push('<div class=\"area' + (lz ? ' lazy' : '') + (s && s.area === i ? ' acted' : '') +\n"
"      '\" id=\"area-' + esc(a.name) + '\" data-state=\"' + (lz ? 'lazy' : 'mapped') +\n"
"      '\" style=\"left:' + (100 * a.start / E) + '%;width:' +\n"
"      Math.max(100 * (a.len - 1) / E, 0.3) + '%\" title=\"' + esc(a.name + ': ' +\n"
"      pages(a) + ' at ' + a.vaddr + (lz ? ', lazily freed' : '')) + '\">' +\n"
"      esc(a.name) + '</div>');\n"
"  });\n"
"  $('vmalloc').innerHTML = h.join('');\n"
"  $('vm-summary').textContent = live + ' area' + (live === 1 ? '' : 's') + ' mapped (' +\n"
"    mp + ' pages), ' + lazy + ' lazily freed (' + lp + ' pages with their guard pages; ' +\n"
"    'past ' + V.lazy_max + ' a purge flushes the TLB once for all of them)';\n"
"  if (s && s.area !== undefined) {\n"
"    var d = $('desc'), a = A[s.area];\n"
"    d.innerHTML += '\\n<span class=\"purge\">area ' + esc(a.name) + ': ' + pages(a) +\n"
"      ' at ' + a.vaddr + (s.op === 'vunmap' ? ', lazily freed: its PTEs ' +\n"
"      'cleared, its range and TLB flush wait for a purge' : '') + '</span>';\n"
"  }\n"
"  if (s && s.purge) {\n"
"    $('desc').innerHTML += '\\n<span class=\"purge\">vmap purge (' + s.purge.reason +\n"
"      '): ' + (s.purge.areas.length ? s.purge.areas.map(function (i) {\n"
"        return esc(A[i].name); }).join(', ') + ' released, one TLB flush' :\n"
"      'nothing lazily freed, no TLB flush') + '</span>';\n"
"  }\n"
"}\n"
"new MutationObserver(render).observe($('pos'), {childList: true, characterData: true,\n"
"  subtree: true});\n"
"render();\n"
"})();\n"
"</script>\n";

static void json_u64(FILE *f, uint64_t v) { fprintf(f, "%llu", (unsigned long long)v); }

static void write_html(struct pics *p, FILE *f)
{
	const struct km_layout *l = &p->lay;
	fputs(html_head, f);
	svg_escs(f, p->trace_name);
	fputs(html_style, f);
	fputs("<h1>kmap replay: ", f);
	svg_escs(f, p->trace_name);
	fputs("</h1>\n<p id=\"machine\">", f);
	fprintf(f, "machine %s, policy ", l->profile);
	svg_escs(f, p->policy);
	fprintf(f, ": %llu MiB, highmem from pfn %llu of %llu; %u slots at "
	           "0x%08llx, %u colour%s; %zu step%s",
	        (unsigned long long)(l->mem_bytes >> 20),
	        (unsigned long long)l->max_low_pfn,
	        (unsigned long long)l->max_pfn, p->nslots,
	        (unsigned long long)l->pkmap_base, p->colors,
	        p->colors == 1 ? "" : "s", p->steps.n,
	        p->steps.n == 1 ? "" : "s");
	if (p->full)
		fprintf(f, " (the first %d of %llu)", PICS_MAX_STEPS,
		        (unsigned long long)p->total_steps);
	fputs("</p>\n", f);
	fputs(html_body, f);
	bool vm = p->areas.n > 0;
	if (vm)
		fputs(html_vm_section, f);
	fputs(html_body2, f);
	fprintf(f, "<p id=\"log-head\">line: task op %s &#x2192; result</p>\n",
	        what_heading(p));
	fputs(html_log, f);

	/* the data: the machine, task names, and what each step changed */
	fputs("<script id=\"kmap-data\" type=\"application/json\">\n", f);
	fprintf(f, "{\"format\":\"kmap-replay-steps/1\",\"machine\":{\"profile\":\"%s\","
	           "\"policy\":\"", l->profile);
	json_esc(f, p->policy, strlen(p->policy));
	fprintf(f, "\",\"trace\":\"");
	json_esc(f, p->trace_name, strlen(p->trace_name));
	fprintf(f, "\",\"page_size\":%u,\"last_pkmap\":%u,\"colors\":%u,"
	           "\"pkmap_base\":\"0x%llx\",\"pkmap_base_n\":%llu,"
	           "\"highmem_start_pfn\":%llu,\"max_pfn\":%llu,"
	           "\"pa_hash_size\":%u},\n", l->page_size, p->nslots, p->colors,
	        (unsigned long long)l->pkmap_base,
	        (unsigned long long)l->pkmap_base,
	        (unsigned long long)l->max_low_pfn,
	        (unsigned long long)l->max_pfn,
	        l->pa_hash_size ? l->pa_hash_size : 128);
	fprintf(f, "\"total_steps\":%llu,\"truncated\":%s,\n",
	        (unsigned long long)p->total_steps, p->full ? "true" : "false");
	if (vm) {
		fprintf(f, "\"vmalloc\":{\"start\":\"0x%llx\",\"pages\":%llu,"
		           "\"extent\":%llu,\"lazy_max\":%llu},\n\"areas\":[",
		        (unsigned long long)l->vmalloc_start,
		        (unsigned long long)((l->vmalloc_end - l->vmalloc_start) /
		                             l->page_size),
		        (unsigned long long)vm_extent(p),
		        (unsigned long long)l->vmap_lazy_max);
		for (size_t i = 0; i < p->areas.n; i++) {
			const struct parea *a = &p->areas.v[i];
			fputs(i ? ",\n{\"name\":\"" : "\n{\"name\":\"", f);
			json_esc(f, a->name, a->name_len);
			fprintf(f, "\",\"start\":%llu,\"len\":%llu,\"vaddr\":\"0x%llx\","
			           "\"born\":%zu", (unsigned long long)a->start,
			        (unsigned long long)a->len, (unsigned long long)a->vaddr,
			        a->born);
			if (a->lazy != NEVER)
				fprintf(f, ",\"lazy\":%zu", a->lazy);
			if (a->gone != NEVER)
				fprintf(f, ",\"gone\":%zu", a->gone);
			fputs("}", f);
		}
		fputs("],\n", f);
	}
	fputs("\"tasks\":[", f);
	for (size_t i = 0; i < p->tasks.n; i++) {
		fputs(i ? ",\"" : "\"", f);
		json_esc(f, p->tasks.v[i].name, p->tasks.v[i].name_len);
		fputs("\"", f);
	}
	fputs("],\n\"steps\":[\n", f);
	for (size_t i = 0; i < p->steps.n; i++) {
		const struct pstep *st = &p->steps.v[i];
		fprintf(f, "%s{\"line\":%lu,\"task\":%u,\"op\":\"%s\"", i ? ",\n" : "",
		        st->line, st->task, trace_op_names[st->op]);
		if (st->has_pfn) {
			fputs(",\"pfn\":", f);
			json_u64(f, st->pfn);
		}
		fprintf(f, ",\"result\":\"%s\"", st->result);
		if (st->how)
			fprintf(f, ",\"how\":\"%s\"", st->how);
		if (st->slot >= 0)
			fprintf(f, ",\"slot\":%ld", st->slot);
		if (st->wslot >= 0)
			fprintf(f, ",\"wslot\":%ld", st->wslot);
		if (st->has_vaddr)
			fprintf(f, ",\"vaddr\":\"0x%llx\"", (unsigned long long)st->vaddr);
		if (st->error) {
			fputs(",\"error\":\"", f);
			json_esc(f, st->error, strlen(st->error));
			fputs("\"", f);
		}
		if (st->resumed)
			fputs(",\"resumed\":true", f);
		if (st->chg_n) {
			fputs(",\"set\":[", f);
			for (uint32_t j = 0; j < st->chg_n; j++) {
				const struct chg *c = &p->chgs.v[st->chg_off + j];
				fprintf(f, "%s[%u,%d,", j ? "," : "", c->slot, c->count);
				if (c->pfn == NO_PFN)
					fputs("-1]", f);
				else
					fprintf(f, "%llu]", (unsigned long long)c->pfn);
			}
			fputs("]", f);
		}
		if (st->ts_n) {
			fputs(",\"tasks\":[", f);
			for (uint32_t j = 0; j < st->ts_n; j++) {
				const struct tsnap *s = &p->snaps.v[st->ts_off + j];
				fprintf(f, "%s[%u,\"%s\",%d,[", j ? "," : "", s->task,
				        tstate_names[s->state], s->atomic);
				for (int q = 0; q < s->nlocal; q++)
					fprintf(f, "%s[%llu,%d]", q ? "," : "",
					        (unsigned long long)s->local[q],
					        s->local_atomic[q] ? 1 : 0);
				if (s->state != T_RUNNING)
					fprintf(f, "],[%lu,%llu]]", s->sleep_line,
					        (unsigned long long)s->sleep_pfn);
				else
					fputs("]]", f);
			}
			fputs("]", f);
		}
		if (st->fl_n) {
			fputs(",\"flushes\":[", f);
			for (uint32_t j = 0; j < st->fl_n; j++) {
				const struct pflush *fl = &p->flushes.v[st->fl_off + j];
				fprintf(f, "%s{\"cleared\":[", j ? "," : "");
				for (uint32_t q = 0; q < fl->clr_n; q++)
					fprintf(f, "%s%u", q ? "," : "",
					        p->cleared.v[fl->clr_off + q]);
				fprintf(f, "],\"tlb_flush\":%s}", fl->tlb ? "true" : "false");
			}
			fputs("]", f);
		}
		if (st->woke)
			fprintf(f, ",\"woke\":%u", st->woke);
		if (st->area >= 0)
			fprintf(f, ",\"area\":%ld", st->area);
		if (st->name_len) {
			fputs(",\"name\":\"", f);
			json_esc(f, p->names.v + st->name_off, st->name_len);
			fputs("\"", f);
		}
		for (size_t j = 0; j < p->purges.n; j++) {
			const struct ppurge *pu = &p->purges.v[j];
			if (pu->step != i)
				continue;
			fprintf(f, ",\"purge\":{\"reason\":\"%s\",\"tlb_flush\":%s,"
			           "\"areas\":[", pu->lazy_max ? "lazy_max_pages" :
			           "no_room", pu->tlb ? "true" : "false");
			bool first = true;
			for (size_t q = 0; q < p->areas.n; q++)
				if (p->areas.v[q].gone == pu->gone &&
				    p->areas.v[q].lazy != NEVER) {
					fprintf(f, "%s%zu", first ? "" : ",", q);
					first = false;
				}
			fputs("]}", f);
		}
		fputs("}", f);
	}
	fputs("\n]}\n</script>\n", f);
	fputs(html_script, f);
	if (vm)
		fputs(html_vm_script, f);
}

/* ---------------------------------------------------------------------- */
/* The end                                                                 */
/* ---------------------------------------------------------------------- */

/* What was tracked must be the library's window, slot for slot. */
static int check_window(struct pics *p)
{
	if (p->full || p->oom)
		return 0;
	for (unsigned i = 0; i < p->nslots; i++)
		if (pic_check_slot(p->m, i, p->cur[i].count, p->cur[i].pfn,
		                   "pictures"))
			return -1;
	return 0;
}

int pics_finish(struct pics *p)
{
	if (!p)
		return 0;
	int rc = check_window(p);
	if (p->oom) {
		fprintf(stderr, "kmap replay: out of memory for the pictures\n");
		rc = -1;
	}
	if (p->svg) {
		if (!p->oom && p->cur)
			write_svg(p, p->svg);
		if (pic_close("kmap replay", p->svg_path, p->svg))
			rc = -1;
	}
	if (p->html) {
		if (!p->oom && p->cur)
			write_html(p, p->html);
		if (pic_close("kmap replay", p->html_path, p->html))
			rc = -1;
	}
	for (size_t i = 0; i < p->tasks.n; i++)
		free(p->tasks.v[i].name);
	for (size_t i = 0; i < p->areas.n; i++)
		free(p->areas.v[i].name);
	free(p->areas.v);
	free(p->purges.v);
	free(p->names.v);
	for (int i = 0; i < p->nstrs; i++)
		free(p->strs[i]);
	free(p->tasks.v);
	free(p->steps.v);
	free(p->chgs.v);
	free(p->snaps.v);
	free(p->flushes.v);
	free(p->cleared.v);
	free(p->cur);
	free(p->touched);
	free(p->touched_list);
	free(p->trace_name);
	free(p->policy);
	free(p->svg_path);
	free(p->html_path);
	free(p);
	return rc;
}
