/* json.c - the JSON lines of a replay (json.h). Freestanding. */
#include "json.h"
#include "fmt.h"

#include <string.h>

#define PUT_LIT(p, lit) (memcpy((p), lit, sizeof(lit) - 1), (p) + sizeof(lit) - 1)

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

/* A record up to its pages: line, task, op, pfn, range, area. */
static char *rec_head(const struct rec *e, char *p)
{
	p = PUT_LIT(p, "{\"line\":");
	p = fmt_u64(p, e->line);
	if (e->has_time) {
		p = PUT_LIT(p, ",\"time\":");
		p = fmt_time(p, e->time);
	}
	p = PUT_LIT(p, ",\"task\":\"");
	memcpy(p, e->task, e->task_len);
	p += e->task_len;
	p = PUT_LIT(p, "\",\"op\":\"");
	p = put_str(p, trace_op_names[e->op]);
	*p++ = '"';
	if (e->has_pfn) {
		p = PUT_LIT(p, ",\"pfn\":");
		p = fmt_u64(p, e->pfn);
	}
	if (e->has_range) {
		p = PUT_LIT(p, ",\"offset\":");
		p = fmt_u64(p, e->offset);
		p = PUT_LIT(p, ",\"len\":");
		p = fmt_u64(p, e->len);
	}
	if (e->area) {
		p = PUT_LIT(p, ",\"area\":\"");
		memcpy(p, e->area, e->area_len);
		p += e->area_len;
		*p++ = '"';
	}
	return p;
}

/* The rest of a record, after its pages: result to the end. */
static char *rec_tail(const struct rec *e, char *p)
{
	p = PUT_LIT(p, ",\"result\":\"");
	p = put_str(p, e->result);
	*p++ = '"';
	if (e->error) {
		p = PUT_LIT(p, ",\"error\":\"");
		p = put_str(p, e->error);
		*p++ = '"';
	}
	if (e->how) {
		p = PUT_LIT(p, ",\"how\":\"");
		p = put_str(p, e->how);
		*p++ = '"';
	}
	if (e->slot >= 0) {
		p = PUT_LIT(p, ",\"slot\":");
		p = fmt_u64(p, (uint64_t)e->slot);
	}
	if (e->has_vaddr) {
		p = PUT_LIT(p, ",\"vaddr\":\"");
		p = fmt_hex(p, e->vaddr);
		*p++ = '"';
	}
	if (e->data) {
		p = PUT_LIT(p, ",\"data\":\"");
		for (size_t i = 0; i < e->data_len; i++) {
			*p++ = "0123456789abcdef"[e->data[i] >> 4];
			*p++ = "0123456789abcdef"[e->data[i] & 15];
		}
		*p++ = '"';
	}
	if (e->resumed)
		p = PUT_LIT(p, ",\"resumed\":true");
	p = PUT_LIT(p, "}\n");
	return p;
}

size_t rec_json(const struct rec *e, char *out)
{
	char *p = rec_head(e, out);
	if (e->pages) {
		p = PUT_LIT(p, ",\"pages\":[");
		for (size_t i = 0; i < e->npages; i++) {
			if (i)
				*p++ = ',';
			p = fmt_u64(p, e->pages[i]);
		}
		*p++ = ']';
	}
	return (size_t)(rec_tail(e, p) - out);
}

/* ---------------------------------------------------------------------- */
/* The lines of a run                                                      */
/* ---------------------------------------------------------------------- */

/* Small pieces through the writer: a string, a number, a hex address. */
static void out_mem(const struct json_out *o, const char *s, size_t n)
{
	char *p = o->reserve(o->arg, n);
	memcpy(p, s, n);
	o->commit(o->arg, n);
}

#define OUT_LIT(o, lit) out_mem((o), lit, sizeof(lit) - 1)

static void out_str(const struct json_out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

static void out_u64(const struct json_out *o, uint64_t v)
{
	char *p = o->reserve(o->arg, 20);
	o->commit(o->arg, (size_t)(fmt_u64(p, v) - p));
}

static void out_hex(const struct json_out *o, uint64_t v)
{
	char *p = o->reserve(o->arg, 18);
	o->commit(o->arg, (size_t)(fmt_hex(p, v) - p));
}

void json_machine(const struct json_out *o, const struct km_layout *l,
                  const char *policy)
{
	OUT_LIT(o, "{\"machine\":{\"profile\":\"");
	out_str(o, l->profile);
	OUT_LIT(o, "\",\"page_size\":");
	out_u64(o, l->page_size);
	OUT_LIT(o, ",\"page_offset\":\"");
	out_hex(o, l->page_offset);
	OUT_LIT(o, "\",\"pkmap_base\":\"");
	out_hex(o, l->pkmap_base);
	OUT_LIT(o, "\",\"last_pkmap\":");
	out_u64(o, l->last_pkmap);
	OUT_LIT(o, ",\"colors\":");
	out_u64(o, l->colors);
	OUT_LIT(o, ",\"highmem_start_pfn\":");
	out_u64(o, l->max_low_pfn);
	OUT_LIT(o, ",\"max_pfn\":");
	out_u64(o, l->max_pfn);
	OUT_LIT(o, ",\"mem_bytes\":");
	out_u64(o, l->mem_bytes);
	OUT_LIT(o, ",\"policy\":\"");
	out_str(o, policy);
	OUT_LIT(o, "\",\"local_base\":\"");
	out_hex(o, l->kmap_local_end - l->page_size);
	/* only when not the default, so FLATMEM runs read as before */
	if (strcmp(l->memory_model, "flatmem")) {
		OUT_LIT(o, "\",\"memory_model\":\"");
		out_str(o, l->memory_model);
	}
	OUT_LIT(o, "\"");
	/* [START,END) pairs of pfns; only when there are holes */
	if (l->nr_holes) {
		OUT_LIT(o, ",\"holes\":[");
		for (unsigned i = 0; i < l->nr_holes; i++) {
			if (i)
				OUT_LIT(o, ",");
			OUT_LIT(o, "[");
			out_u64(o, l->holes[i].start_pfn);
			OUT_LIT(o, ",");
			out_u64(o, l->holes[i].end_pfn);
			OUT_LIT(o, "]");
		}
		OUT_LIT(o, "]");
	}
	OUT_LIT(o, "}}\n");
}

void json_record(const struct json_out *o, const struct rec *e)
{
	if (!e->pages) {
		char *p = o->reserve(o->arg, REC_JSON_MAX(e));
		o->commit(o->arg, rec_json(e, p));
		return;
	}
	/* a vmap's pages may be many: written a piece at a time */
	char *p = o->reserve(o->arg, REC_JSON_MAX(e));
	o->commit(o->arg, (size_t)(rec_head(e, p) - p));
	OUT_LIT(o, ",\"pages\":[");
	for (size_t i = 0; i < e->npages; i++) {
		if (i)
			OUT_LIT(o, ",");
		out_u64(o, e->pages[i]);
	}
	OUT_LIT(o, "]");
	p = o->reserve(o->arg, REC_JSON_MAX(e));
	o->commit(o->arg, (size_t)(rec_tail(e, p) - p));
}

void json_purge_event(const struct json_out *o, const struct rp_purge *pg)
{
	OUT_LIT(o, "{\"event\":\"purge\",\"areas\":[");
	for (size_t i = 0; i < pg->nareas; i++) {
		out_str(o, i ? ",\"" : "\"");
		out_mem(o, pg->areas[i]->name, pg->areas[i]->name_len);
		OUT_LIT(o, "\"");
	}
	OUT_LIT(o, "],\"tlb_flush\":");
	out_str(o, pg->ev->tlb_flush ? "true" : "false");
	OUT_LIT(o, ",\"reason\":\"");
	out_str(o, pg->ev->reason == KM_PURGE_LAZY ? "lazy_max_pages" :
	           pg->ev->reason == KM_PURGE_NOROOM ? "no_room" : "aliases");
	OUT_LIT(o, "\"}\n");
}

void json_flush_event(const struct json_out *o, const struct km_event *ev)
{
	OUT_LIT(o, "{\"event\":\"flush\",\"cleared\":[");
	for (unsigned i = 0; i < ev->nr_cleared; i++) {
		if (i)
			OUT_LIT(o, ",");
		out_u64(o, ev->cleared[i]);
	}
	out_str(o, ev->tlb_flush ? "],\"tlb_flush\":true}\n" :
	                           "],\"tlb_flush\":false}\n");
}

void json_mismatch(const struct json_out *o, const struct rp_mismatch *mm)
{
	OUT_LIT(o, "{\"line\":");
	out_u64(o, mm->line);
	if (mm->task) {
		OUT_LIT(o, ",\"task\":\"");
		out_mem(o, mm->task, mm->task_len);
		OUT_LIT(o, "\"");
	}
	OUT_LIT(o, ",\"event\":\"mismatch\",\"expected\":\"");
	out_str(o, mm->expected);
	OUT_LIT(o, "\",\"got\":\"");
	out_str(o, mm->got);
	OUT_LIT(o, "\"}\n");
}

void json_summary(const struct json_out *o, const struct rp_summary *s)
{
	OUT_LIT(o, "{\"summary\":{\"ops\":");
	out_u64(o, s->ops);
	OUT_LIT(o, ",\"errors\":");
	out_u64(o, s->errors);
	OUT_LIT(o, ",\"new\":");
	out_u64(o, s->new_maps);
	OUT_LIT(o, ",\"hits\":");
	out_u64(o, s->hits);
	OUT_LIT(o, ",\"lowmem\":");
	out_u64(o, s->lowmem);
	OUT_LIT(o, ",\"flushes\":");
	out_u64(o, s->flushes);
	OUT_LIT(o, ",\"tlb_flushes\":");
	out_u64(o, s->tlb_flushes);
	OUT_LIT(o, ",\"sleeps\":");
	out_u64(o, s->sleeps);
	if (s->vmap_used) {
		OUT_LIT(o, ",\"vmaps\":");
		out_u64(o, s->vmaps);
		OUT_LIT(o, ",\"vunmaps\":");
		out_u64(o, s->vunmaps);
		if (s->ram_used) {
			OUT_LIT(o, ",\"vm_map_rams\":");
			out_u64(o, s->vm_map_rams);
			OUT_LIT(o, ",\"vm_unmap_rams\":");
			out_u64(o, s->vm_unmap_rams);
		}
		OUT_LIT(o, ",\"purges\":");
		out_u64(o, s->purges);
	}
	OUT_LIT(o, ",\"deadlocked\":[");
	size_t shown = 0;
	for (size_t i = 0; i < s->ntasks; i++) {
		if (!s->tasks[i]->asleep)
			continue;
		out_str(o, shown++ ? ",\"" : "\"");
		out_mem(o, s->tasks[i]->name, s->tasks[i]->name_len);
		OUT_LIT(o, "\"");
	}
	OUT_LIT(o, "],\"leaks\":[");
	for (size_t i = 0; i < s->nleaks; i++) {
		const struct rp_leak *l = &s->leaks[i];
		if (i)
			OUT_LIT(o, ",");
		if (l->local) {
			OUT_LIT(o, "{\"task\":\"");
			out_mem(o, l->task->name, l->task->name_len);
			OUT_LIT(o, "\",\"pfn\":");
			out_u64(o, l->pfn);
			OUT_LIT(o, ",\"local\":true}");
		} else {
			OUT_LIT(o, "{\"pfn\":");
			out_u64(o, l->pfn);
			OUT_LIT(o, ",\"users\":");
			out_u64(o, (uint64_t)l->users);
			OUT_LIT(o, "}");
		}
	}
	for (size_t i = 0; i < s->nareas; i++) {
		if (i || s->nleaks)
			OUT_LIT(o, ",");
		OUT_LIT(o, "{\"area\":\"");
		out_mem(o, s->areas[i]->name, s->areas[i]->name_len);
		OUT_LIT(o, "\",\"pages\":");
		out_u64(o, s->areas[i]->npfns);
		OUT_LIT(o, "}");
	}
	OUT_LIT(o, "]");
	if (s->checked) {
		OUT_LIT(o, ",\"checked\":{\"vaddrs\":");
		out_u64(o, s->checked_vaddrs);
		OUT_LIT(o, ",\"flushes\":");
		out_u64(o, s->checked_flushes);
		OUT_LIT(o, ",\"mismatches\":");
		out_u64(o, s->mismatches);
		OUT_LIT(o, "}");
	}
	OUT_LIT(o, "}}\n");
}

static void sink_machine(void *arg, const struct km_layout *l,
                         const char *policy)
{
	json_machine(arg, l, policy);
}

static void sink_record(void *arg, const struct rec *e)
{
	json_record(arg, e);
}

static void sink_flush(void *arg, const struct km_event *ev,
                       const struct rec *by)
{
	(void)by; /* the record after the flush says */
	json_flush_event(arg, ev);
}

static void sink_purge(void *arg, const struct rp_purge *p)
{
	json_purge_event(arg, p);
}

static void sink_mismatch(void *arg, const struct rp_mismatch *mm)
{
	json_mismatch(arg, mm);
}

static void sink_summary(void *arg, const struct rp_summary *s)
{
	json_summary(arg, s);
}

struct rp_sink json_sink(struct json_out *o)
{
	return (struct rp_sink){ .machine = sink_machine, .record = sink_record,
	                         .flush = sink_flush, .purge = sink_purge,
	                         .mismatch = sink_mismatch,
	                         .summary = sink_summary,
	                         .arg = o };
}
