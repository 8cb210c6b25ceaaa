/* json.c - the JSON line of one replay record. Freestanding. */
#include "json.h"
#include "fmt.h"

#include <string.h>

const char RES_OK[] = "ok", RES_SLEEP[] = "sleep", RES_ERROR[] = "error";
const char H_LOWMEM[] = "lowmem", H_HIT[] = "hit", H_NEW[] = "new",
           H_LOCAL[] = "local";

struct rec rec_of(unsigned long line, const char *task, size_t task_len,
                  const struct stmt *st)
{
	struct rec e = { .line = line, .task = task, .task_len = task_len,
	                 .op = st->op, .slot = -1, .result = RES_OK };
	e.has_pfn = st->op != OP_FLUSH_UNUSED;
	e.pfn = st->pfn;
	if (st->op == OP_READ || st->op == OP_WRITE) {
		e.has_range = true;
		e.offset = st->offset;
		e.len = st->len;
	}
	return e;
}

#define PUT_LIT(p, lit) (memcpy((p), lit, sizeof(lit) - 1), (p) + sizeof(lit) - 1)

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

size_t rec_json(const struct rec *e, char *out)
{
	char *p = out;
	p = PUT_LIT(p, "{\"line\":");
	p = fmt_u64(p, e->line);
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
	return (size_t)(p - out);
}
