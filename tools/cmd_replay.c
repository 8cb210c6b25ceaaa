/*
 * cmd_replay.c - `kmap replay`: a trace run on the simulated machine by the
 * replay engine (replay/engine.c), its records written as text for a
 * person or as JSON (replay/trace-format.md), and the pictures
 * (replay_pics.c) drawn from the same records.
 */
#include "cli.h"
#include "engine.h"
#include "json.h"
#include "perfetto.h"
#include "replay.h"
#include "replay_pics.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

static void ob_pad(struct ob *o, size_t used, size_t width)
{
	static const char sp[] = "                                ";
	while (used < width) {
		size_t k = width - used < 32 ? width - used : 32;
		ob_mem(o, sp, k);
		used += k;
	}
}

/* The JSON writer's room, in the buffer: every piece is far smaller than
 * it (a record with a page of data is about 9 KiB). */
static char *ob_reserve(void *arg, size_t n)
{
	struct ob *o = arg;
	if (o->len + n > sizeof(o->buf))
		ob_flush(o);
	return o->buf + o->len;
}

static void ob_commit(void *arg, size_t n)
{
	((struct ob *)arg)->len += n;
}

/* ---------------------------------------------------------------------- */
/* Text for a person                                                       */
/* ---------------------------------------------------------------------- */

/* @areas: the trace has lines that name an area (rec_what_heading()) */
static void text_machine(struct ob *o, const struct km_layout *l,
                         const char *policy, bool areas)
{
	char head[1024], holes[KM_MAX_HOLES * 44 + 32] = "";
	size_t h = 0;
	/* pfns [START, END) with no RAM, as the machine line gives them */
	for (unsigned i = 0; i < l->nr_holes; i++)
		h += (size_t)snprintf(holes + h, sizeof(holes) - h, "%s%llu-%llu",
		                      i ? "," : " (holes ",
		                      (unsigned long long)l->holes[i].start_pfn,
		                      (unsigned long long)l->holes[i].end_pfn);
	if (h)
		snprintf(holes + h, sizeof(holes) - h, ")");
	int n = snprintf(head, sizeof(head),
	    "machine %s%s, policy %s: %llu MiB%s, highmem from pfn %llu of %llu; "
	    "%u slots at 0x%08llx, %u colour%s\n\n"
	    "%6s  %-8s  %-14s%10s  %-6s %-7s%5s  %s\n",
	    l->profile, strcmp(l->memory_model, "flatmem") ? " (SPARSEMEM)" : "",
	    policy, (unsigned long long)(l->mem_bytes >> 20), holes,
	    (unsigned long long)l->max_low_pfn,
	    (unsigned long long)l->max_pfn, l->last_pkmap,
	    (unsigned long long)l->pkmap_base, l->colors,
	    l->colors == 1 ? "" : "s", "line", "task", "op",
	    rec_what_heading(areas),
	    "result", "how", "slot", "address");
	ob_mem(o, head, (size_t)n);
}

/* A vmap's pages, runs of consecutive pfns as ranges: "3 pages 10-11,40";
 * the first eight runs. */
static void text_pages(struct ob *o, const uint64_t *p, size_t n)
{
	OB_LIT(o, "  ");
	ob_u64(o, n);
	ob_str(o, n == 1 ? " page " : " pages ");
	unsigned runs = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && p[j] == p[j - 1] + 1)
			j++;
		if (runs++ == 8) {
			OB_LIT(o, ",...");
			break;
		}
		if (i)
			OB_LIT(o, ",");
		ob_u64(o, p[i]);
		if (j - i > 1) {
			OB_LIT(o, "-");
			ob_u64(o, p[j - 1]);
		}
		i = j;
	}
}

/* Room for a whole line in the buffer, so that it can be trimmed there. */
static size_t text_room(struct ob *o, size_t n)
{
	if (o->len + n > sizeof(o->buf))
		ob_flush(o);
	return o->len;
}

/* No line ends in spaces: the padding before an empty last column goes. */
static void text_end_line(struct ob *o, size_t start)
{
	while (o->len > start && o->buf[o->len - 1] == ' ')
		o->len--;
	OB_LIT(o, "\n");
}

static void text_record(struct ob *o, const struct rec *e)
{
	char tmp[64], what[REC_WHAT_MAX];
	size_t start = text_room(o, 256 + e->task_len + e->area_len +
	                            2 * e->data_len +
	                            (e->error ? strlen(e->error) : 0));
	int n = snprintf(tmp, sizeof(tmp), "%6lu  ", e->line);
	ob_mem(o, tmp, (size_t)n);
	ob_mem(o, e->task, e->task_len);
	ob_pad(o, e->task_len, 8);
	OB_LIT(o, "  ");
	size_t oplen = strlen(trace_op_names[e->op]);
	ob_str(o, trace_op_names[e->op]);
	ob_pad(o, oplen, 14);
	/* the pfn, or the area, right-aligned; a longer op (vm_unmap_aliases)
	 * takes from the column, a longer name widens it */
	size_t wl = (size_t)(rec_what(what, e, TRACE_MAX_AREA) - what);
	ob_pad(o, (oplen > 14 ? oplen - 14 : 0) + wl, 10);
	ob_mem(o, what, wl);
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
	if (e->pages)
		text_pages(o, e->pages, e->npages);
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
	text_end_line(o, start);
}

/* ", run by line N (T's OP PFN-or-AREA[, resumed])": the operation that
 * ran a flush or a purge; nothing when none is known. */
static void run_by(struct ob *o, const struct rec *by)
{
	if (!by)
		return;
	OB_LIT(o, ", run by line ");
	ob_u64(o, by->line);
	OB_LIT(o, " (");
	ob_mem(o, by->task, by->task_len);
	OB_LIT(o, "'s ");
	ob_str(o, trace_op_names[by->op]);
	char what[REC_WHAT_MAX];
	size_t wl = (size_t)(rec_what(what, by, TRACE_MAX_AREA) - what);
	if (wl) {
		OB_LIT(o, " ");
		ob_mem(o, what, wl);
	}
	if (by->resumed)
		OB_LIT(o, ", resumed");
	OB_LIT(o, ")");
}

/*
 * A flush, above the record of the operation that ran it (as in the JSON
 * lines), named by that operation's line: a kmap that wrapped the
 * cursor, a retried kmap, or flush_unused.
 */
static void text_flush(struct ob *o, const struct km_event *ev,
                       const struct rec *by)
{
	OB_LIT(o, "        flush_all_zero_pkmaps");
	run_by(o, by);
	OB_LIT(o, ": cleared ");
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

/*
 * A purge, above the record of the vunmap or vmap that ran it (as in the
 * JSON lines), named by that operation's line, as a flush is.
 */
static void text_purge(struct ob *o, const struct rp_purge *p)
{
	const struct rec *by = p->by;
	OB_LIT(o, "        vmap purge (");
	ob_str(o, p->ev->reason == KM_PURGE_LAZY ? "lazily freed pages past "
	          "lazy_max_pages" : p->ev->reason == KM_PURGE_NOROOM ?
	          "a vmap or vm_map_ram found no room" : "vm_unmap_aliases");
	OB_LIT(o, ")");
	run_by(o, by);
	OB_LIT(o, ": ");
	if (!p->ev->nr_areas)
		OB_LIT(o, "nothing lazily freed");
	for (size_t i = 0; i < p->nareas; i++) {
		if (i)
			OB_LIT(o, ",");
		ob_mem(o, p->areas[i]->name, p->areas[i]->name_len);
	}
	char tmp[128];
	int n = 0;
	if (p->ev->nr_areas)
		n = snprintf(tmp, sizeof(tmp), "%s released (%llu pages)",
		             p->nareas ? "" : "unnamed ranges",
		             (unsigned long long)p->ev->nr_pages);
	ob_mem(o, tmp, (size_t)n);
	if (p->ev->tlb_flush) {
		/* with nothing released: vm_unmap_aliases's blocks' dirt */
		n = snprintf(tmp, sizeof(tmp), ", one TLB flush of "
		             "0x%08llx-0x%08llx%s",
		             (unsigned long long)(uintptr_t)p->ev->start,
		             (unsigned long long)(uintptr_t)p->ev->end,
		             p->ev->nr_areas ? "" : " (vmap blocks' dirty pages)");
		ob_mem(o, tmp, (size_t)n);
	} else {
		OB_LIT(o, ", no TLB flush");
	}
	OB_LIT(o, "\n");
}

/* "1 hit", "2 hits" */
static void ob_count(struct ob *o, uint64_t n, const char *one,
                     const char *many)
{
	ob_u64(o, n);
	OB_LIT(o, " ");
	ob_str(o, n == 1 ? one : many);
}

static void text_summary(struct ob *o, const struct rp_summary *s)
{
	OB_LIT(o, "\nsummary: ");
	ob_count(o, s->ops, "operation", "operations");
	OB_LIT(o, ", ");
	ob_count(o, s->errors, "error", "errors");
	OB_LIT(o, "; mappings: ");
	ob_u64(o, s->new_maps);
	OB_LIT(o, " new, ");
	ob_count(o, s->hits, "hit", "hits");
	OB_LIT(o, ", ");
	ob_u64(o, s->lowmem);
	OB_LIT(o, " lowmem; ");
	ob_count(o, s->flushes, "flush", "flushes");
	OB_LIT(o, " (");
	ob_u64(o, s->tlb_flushes);
	OB_LIT(o, " with a TLB flush); ");
	ob_count(o, s->sleeps, "sleep", "sleeps");
	if (s->vmap_used) {
		OB_LIT(o, "; vmap: ");
		ob_u64(o, s->vmaps);
		OB_LIT(o, " areas mapped, ");
		ob_u64(o, s->vunmaps);
		OB_LIT(o, " unmapped, ");
		ob_count(o, s->purges, "purge", "purges");
		if (s->ram_used) {
			OB_LIT(o, "; vm_map_ram: ");
			ob_u64(o, s->vm_map_rams);
			OB_LIT(o, " mapped, ");
			ob_u64(o, s->vm_unmap_rams);
			OB_LIT(o, " unmapped");
		}
	}
	OB_LIT(o, "\ndeadlocked:");
	size_t nasleep = 0;
	for (size_t i = 0; i < s->ntasks; i++) {
		if (!s->tasks[i]->asleep)
			continue;
		OB_LIT(o, " ");
		ob_mem(o, s->tasks[i]->name, s->tasks[i]->name_len);
		nasleep++;
	}
	ob_str(o, nasleep ? "\nleaks:" : " none\nleaks:");
	for (size_t i = 0; i < s->nleaks; i++) {
		const struct rp_leak *l = &s->leaks[i];
		OB_LIT(o, " pfn ");
		ob_u64(o, l->pfn);
		if (l->local) {
			OB_LIT(o, " (local, task ");
			ob_mem(o, l->task->name, l->task->name_len);
			OB_LIT(o, ")");
		} else {
			OB_LIT(o, " (users ");
			ob_u64(o, (uint64_t)l->users);
			OB_LIT(o, ")");
		}
	}
	for (size_t i = 0; i < s->nareas; i++) {
		OB_LIT(o, " area ");
		ob_mem(o, s->areas[i]->name, s->areas[i]->name_len);
		OB_LIT(o, " (");
		ob_u64(o, s->areas[i]->npfns);
		ob_str(o, s->areas[i]->npfns == 1 ? " page)" : " pages)");
	}
	ob_str(o, s->nleaks || s->nareas ? "\n" : " none\n");
	if (!s->checked)
		return;
	OB_LIT(o, "checked against the trace's expect lines: ");
	ob_count(o, s->checked_vaddrs, "address", "addresses");
	OB_LIT(o, ", ");
	ob_count(o, s->checked_flushes, "flush", "flushes");
	OB_LIT(o, "; ");
	if (s->mismatches) {
		ob_u64(o, s->mismatches);
		ob_str(o, s->mismatches == 1 ? " mismatch\n" : " mismatches\n");
	} else {
		OB_LIT(o, "all equal\n");
	}
}

static void text_mismatch(struct ob *o, const struct rp_mismatch *mm)
{
	OB_LIT(o, "line ");
	ob_u64(o, mm->line);
	if (mm->task) {
		OB_LIT(o, " ");
		ob_mem(o, mm->task, mm->task_len);
	}
	OB_LIT(o, ": MISMATCH: the trace expects ");
	ob_str(o, mm->expected);
	OB_LIT(o, ", the run gave ");
	ob_str(o, mm->got);
	OB_LIT(o, "\n");
}

/* ---------------------------------------------------------------------- */
/* The sink: text or JSON, and the pictures                                */
/* ---------------------------------------------------------------------- */

struct out {
	struct ob ob;
	struct json_out json;      /* the writer, in --json */
	bool is_json;
	bool areas;                /* the trace names areas (rp_header) */
	struct pics *pics;         /* --svg/--html */
	struct perfetto *perfetto; /* --perfetto */
};

static void out_machine(void *arg, const struct km_layout *l,
                        const char *policy)
{
	struct out *o = arg;
	if (o->is_json)
		json_machine(&o->json, l, policy);
	else
		text_machine(&o->ob, l, policy, o->areas);
}

static void out_record(void *arg, const struct rec *e)
{
	struct out *o = arg;
	if (o->is_json)
		json_record(&o->json, e);
	else
		text_record(&o->ob, e);
	if (o->pics)
		pics_record(o->pics, e);
	perfetto_record(o->perfetto, e);
}

static void out_flush(void *arg, const struct km_event *ev,
                      const struct rec *by)
{
	struct out *o = arg;
	if (o->is_json)
		json_flush_event(&o->json, ev);
	else
		text_flush(&o->ob, ev, by);
	perfetto_flush(o->perfetto, ev);
}

static void out_purge(void *arg, const struct rp_purge *p)
{
	struct out *o = arg;
	if (o->is_json)
		json_purge_event(&o->json, p);
	else
		text_purge(&o->ob, p);
	if (o->pics)
		pics_purge(o->pics, p);
}

static void out_mismatch(void *arg, const struct rp_mismatch *mm)
{
	struct out *o = arg;
	if (o->is_json)
		json_mismatch(&o->json, mm);
	else
		text_mismatch(&o->ob, mm);
	perfetto_mismatch(o->perfetto, mm);
}

static void out_event(void *arg, const struct km_event *ev)
{
	struct out *o = arg;
	if (o->pics)
		pics_event(o->pics, ev);
}

static void out_summary(void *arg, const struct rp_summary *s)
{
	struct out *o = arg;
	if (o->is_json)
		json_summary(&o->json, s);
	else
		text_summary(&o->ob, s);
	perfetto_summary(o->perfetto, s);
}

static void *host_alloc(void *arg, size_t n)
{
	(void)arg;
	return malloc(n);
}

static void host_free(void *arg, void *p)
{
	(void)arg;
	free(p);
}

/* ---------------------------------------------------------------------- */
/* Reading and checking the trace                                          */
/* ---------------------------------------------------------------------- */

static const char usage[] =
	"kmap replay [--json] [--policy NAME] [--last-pkmap N] [--svg FILE] "
	"[--html FILE] [--perfetto FILE] FILE|-";

static void replay_help(FILE *f)
{
	fprintf(f,
	    "usage: %s\n\n"
	    "Run a trace on the simulated machine, exactly as Linux's\n"
	    "mm/highmem.c would (policy linux), and print what each line did:\n"
	    "the slot a page took, the address, tasks going to sleep and\n"
	    "waking, and each flush of the window, above the line that ran it.\n"
	    "A trace is one statement a line:\n\n"
	    "  machine PROFILE [mem=SIZE] [last_pkmap=N] [colors=N]   (first)\n"
	    "  policy NAME                                            (optional)\n"
	    "  TASK kmap|kunmap|kmap_local|kunmap_local PFN\n"
	    "  TASK kmap_atomic|kunmap_atomic PFN\n"
	    "  TASK write PFN OFFSET HEX\n"
	    "  TASK read PFN OFFSET LEN\n"
	    "  TASK flush_unused\n"
	    "  TASK vmap NAME PFN[,PFN...]   (the pages at one range of vmalloc)\n"
	    "  TASK vunmap NAME              (its TLB flush is lazy)\n"
	    "  TASK vm_map_ram NAME PFN[,PFN...]  (from the CPU's vmap blocks)\n"
	    "  TASK vm_unmap_ram NAME        (dirty until its block goes)\n"
	    "  TASK vm_unmap_aliases         (flush the dirt, purge now)\n"
	    "  expect TASK vaddr ADDR [HOW]    (the task's mapping returned ADDR)\n"
	    "  expect flush [SLOTS|none]       (a flush ran, clearing SLOTS)\n\n"
	    "An operation line may end in @SECONDS, when it ran (kmap import\n"
	    "writes the kernel's timestamps so; they never go back).\n"
	    "'#' starts a comment. Profiles:", usage);
	for (unsigned i = 0; km_profile_name(i); i++)
		fprintf(f, " %s", km_profile_name(i));
	fprintf(f, ". Policies:");
	for (unsigned i = 0; km_policy_name(i); i++)
		fprintf(f, " %s", km_policy_name(i));
	fprintf(f,
	    ".\nThe format, the records and the errors are described whole in\n"
	    "replay/trace-format.md; examples are in examples/traces/.\n\n"
	    "  --json   one JSON object a line: the machine, each operation,\n"
	    "           resumption and flush as it happens, then a summary\n"
	    "  --svg FILE   also draw the window over time into FILE: a row per\n"
	    "           step, a column per slot, coloured by count; flushes and\n"
	    "           sleeping tasks marked\n"
	    "  --html FILE  also write a page that steps through the trace: the\n"
	    "           slots, the page_address() hash, each task's local stack\n"
	    "  --perfetto FILE  also write the run as Chrome trace-event JSON,\n"
	    "           for Perfetto's UI or chrome://tracing: a track per slot\n"
	    "           (the pages it held) and per task (its operations and\n"
	    "           sleeps), flushes, the slots in use; 1 us a step, or the\n"
	    "           trace's @ times\n"
	    "  --policy NAME    run under this policy instead of the trace's\n"
	    "  --last-pkmap N   run with a window of N slots instead\n"
	    "           (either turns the expect lines' check off: the run is\n"
	    "           another machine's)\n"
	    "  FILE     the trace; '-' reads standard input\n\n"
	    "Expect lines (kmap import writes them from a real kernel's trace)\n"
	    "are compared with what the run does; the summary says whether all\n"
	    "were equal.\n\n"
	    "Exit status: 0 when every line ran without error, nothing is left\n"
	    "asleep or mapped and every expect line held; 1 when not (errors and\n"
	    "mismatches are records in the output, the run goes on); 2 when the\n"
	    "command line is wrong, the trace cannot be read (the file, line and\n"
	    "token are named on stderr) or a picture's or the --perfetto file\n"
	    "cannot be created: nothing runs then; 3 when memory ran out or\n"
	    "writing a picture or the --perfetto file failed.\n");
}

static void *check_half(void *arg)
{
	rp_check_part(arg);
	return NULL;
}

/*
 * Pass one: the whole input is checked before anything runs; a long one
 * in two halves at once. 0 and *h, or 2 after the message on @err.
 */
static int check_trace(const char *file, const char *buf, size_t size,
                       struct rp_header *h, FILE *err)
{
	struct rp_part p[2] = { { .buf = buf, .begin = 0, .end = size },
	                        { .buf = buf, .begin = size, .end = size } };
	pthread_t th;
	bool threaded = false;
	if (size > (1u << 20)) {
		const char *nl = memchr(buf + size / 2, '\n', size - size / 2);
		if (nl) {
			p[0].end = p[1].begin = (size_t)(nl - buf) + 1;
			threaded = !pthread_create(&th, NULL, check_half, &p[1]);
			if (!threaded)
				p[0].end = size;
		}
	}
	rp_check_part(&p[0]);
	if (threaded)
		pthread_join(th, NULL);
	unsigned long line;
	struct trace_err e;
	if (!rp_check_merge(p, threaded ? 2 : 1, h, &line, &e))
		return 0;
	if (e.token[0])
		fprintf(err, "%s:%lu: %s: '%s'\n", file, line, e.msg, e.token);
	else
		fprintf(err, "%s:%lu: %s\n", file, line, e.msg);
	return 2;
}

int cmd_replay(int argc, char **argv)
{
	const char *file = NULL;
	struct replay_opts opt = { 0 };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			replay_help(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			opt.json = true;
		} else if (!strcmp(argv[i], "--svg") || !strcmp(argv[i], "--html")) {
			const char **dst = argv[i][2] == 's' ? &opt.svg : &opt.html;
			const char *opt = argv[i];
			if (!(*dst = cli_value(argc, argv, &i)))
				return cli_usage_error("replay", usage,
				                       "%s needs a FILE to write", opt);
		} else if (!strcmp(argv[i], "--perfetto")) {
			if (!(opt.perfetto = cli_value(argc, argv, &i)))
				return cli_usage_error("replay", usage,
				                       "--perfetto needs a FILE to write");
		} else if (!strcmp(argv[i], "--policy")) {
			char names[256];
			cli_list(names, sizeof(names), km_policy_name);
			opt.policy = cli_value(argc, argv, &i);
			bool known = false;
			for (unsigned k = 0; opt.policy && km_policy_name(k); k++)
				known |= !strcmp(opt.policy, km_policy_name(k));
			if (!opt.policy)
				return cli_usage_error("replay", usage,
				                       "--policy needs a NAME (one of: "
				                       "%s)", names);
			if (!known)
				return cli_usage_error("replay", usage,
				                       "unknown policy '%s' (one of: %s)",
				                       opt.policy, names);
		} else if (!strcmp(argv[i], "--last-pkmap")) {
			/* its range is km_config_check's, once the machine is known */
			const char *v = cli_value(argc, argv, &i);
			uint64_t n;
			if (!v || fmt_parse_u64(v, &n) || !n || n > UINT_MAX)
				return cli_usage_error("replay", usage,
				                       "--last-pkmap needs a number of "
				                       "window slots%s%s%s", v ? " ('" : "",
				                       v ? v : "", v ? "')" : "");
			opt.last_pkmap = (unsigned)n;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error("replay", usage,
			                       "unknown option '%s'", argv[i]);
		} else if (file) {
			return cli_usage_error("replay", usage,
			                       "one trace at a time ('%s' and '%s')",
			                       file, argv[i]);
		} else {
			file = argv[i];
		}
	}
	if (!file)
		return cli_usage_error("replay", usage,
		                       "no trace given (a file, or - for stdin)");
	const char *name = strcmp(file, "-") ? file : "<stdin>";
	size_t size;
	bool mapped;
	char *buf = cli_read_all(file, &size, &mapped);
	if (!buf) {
		fprintf(stderr, "kmap replay: %s: %s\n", name, strerror(errno));
		return 2;
	}
	int rc = replay_buffer(name, buf, size, &opt, stdout, stderr);
	cli_release_input(buf, size, mapped);
	return rc;
}

int replay_buffer(const char *name, const char *buf, size_t size,
                  const struct replay_opts *opt, FILE *f, FILE *err)
{
	bool json = opt->json;
	const char *opt_policy = opt->policy;
	unsigned opt_last_pkmap = opt->last_pkmap;
	struct rp_header h;
	int rc = check_trace(name, buf, size, &h, err);
	if (rc)
		return rc;
	/* --policy, --last-pkmap: the same calls on another machine; a
	 * window the trace did not name is its profile's default, which its
	 * own machine says */
	unsigned window = h.last_pkmap;
	if (opt_last_pkmap && !window) {
		struct km_config c0;
		struct km_layout l0;
		km_machine *m0;
		km_config_init(&c0);
		rp_header_config(&h, &c0);
		if (km_machine_create(&c0, &m0) == 0) {
			if (km_machine_layout(m0, &l0) == 0)
				window = l0.last_pkmap;
			km_machine_destroy(m0);
		}
	}
	bool overridden = (opt_policy && strcmp(opt_policy, h.policy)) ||
	                  (opt_last_pkmap && opt_last_pkmap != window);
	if (opt_policy)
		snprintf(h.policy, sizeof(h.policy), "%s", opt_policy);
	if (opt_last_pkmap)
		h.last_pkmap = opt_last_pkmap;
	struct km_config cfg;
	km_config_init(&cfg);
	rp_header_config(&h, &cfg);
	char why[128];
	if (overridden && km_config_check(&cfg, why, sizeof(why))) {
		/* the trace's own machine passed: the option is what broke it */
		fprintf(err, "kmap replay: --last-pkmap %u on %s's machine: %s\n",
		        opt_last_pkmap, name, why);
		return 2;
	}
	km_machine *m;
	struct out *o = calloc(1, sizeof(*o));
	if (!o || km_machine_create(&cfg, &m)) {
		fprintf(err, "kmap replay: out of memory\n");
		free(o);
		return 3;
	}
	o->ob.f = f;
	o->is_json = json;
	o->areas = h.areas > 0;
	o->json = (struct json_out){ ob_reserve, ob_commit, &o->ob };
	if ((opt->perfetto && !(o->perfetto = perfetto_open(opt->perfetto, m,
	                                                      name, h.policy))) ||
	    ((opt->svg || opt->html) &&
	     !(o->pics = pics_open(opt->svg, opt->html, m, name, h.policy,
	                           h.areas > 0)))) {
		perfetto_finish(o->perfetto);
		km_machine_destroy(m);
		free(o);
		return 2;
	}
	const struct rp_host host = { .alloc = host_alloc, .free = host_free };
	const struct rp_sink sink = {
		.machine = out_machine, .record = out_record, .flush = out_flush,
		.purge = out_purge, .mismatch = out_mismatch, .event = out_event,
		.summary = out_summary, .arg = o,
	};
	rc = rp_run(m, h.policy, buf, size, h.expects && !overridden, &host,
	            &sink);

	if (rc == 3)
		fprintf(err, "kmap replay: out of memory\n");
	ob_flush(&o->ob);
	if (h.expects && overridden && !json)
		fprintf(f, "expect lines: not checked, the run's %s from the "
		        "trace's\n", opt_policy && opt_last_pkmap ?
		        "policy and window differ" : opt_policy ?
		        "policy differs" : "window differs");
	fflush(f);
	if (pics_finish(o->pics))
		rc = 3;
	if (perfetto_finish(o->perfetto))
		rc = 3;
	km_machine_destroy(m);
	free(o);
	return rc;
}
