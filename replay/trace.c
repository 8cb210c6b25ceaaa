/* trace.c - tokenizing and parsing trace lines. */
#include "trace.h"
#include "fmt.h"
#include <kmap.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *const trace_op_names[NR_OPS] = {
	"kmap", "kunmap", "kmap_local", "kunmap_local", "kmap_atomic",
	"kunmap_atomic", "write", "read", "flush_unused", "vmap", "vunmap",
	"vm_map_ram", "vm_unmap_ram", "vm_unmap_aliases",
};

const char *const trace_how_names[] = { "any", "lowmem", "hit", "new",
                                        "local" };

static void set_err(struct trace_err *e, const char *msg, const char *tok,
                    size_t toklen)
{
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	if (!tok) {
		e->token[0] = 0;
		return;
	}
	size_t n = toklen < sizeof(e->token) - 4 ? toklen : sizeof(e->token) - 4;
	memcpy(e->token, tok, n);
	if (n < toklen)
		memcpy(e->token + n, "...", 4);
	else
		e->token[n] = 0;
}

int trace_next_line(const char *buf, size_t size, size_t *pos,
                    const char **line, size_t *len, struct trace_err *err)
{
	if (!err)
		return trace_next_line_unchecked(buf, size, pos, line, len);
	size_t p = *pos;
	if (p >= size)
		return 0;
	const char *nl = memchr(buf + p, '\n', size - p);
	size_t end = nl ? (size_t)(nl - buf) : size;
	*pos = nl ? end + 1 : size;
	size_t n = end - p;
	if (n && buf[end - 1] == '\r')
		n--;
	*line = buf + p;
	*len = n;
	if (n > TRACE_MAX_LINE) {
		snprintf(err->msg, sizeof(err->msg),
		         "line longer than %d bytes", TRACE_MAX_LINE);
		err->token[0] = 0;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[p + i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			snprintf(err->msg, sizeof(err->msg),
			         "binary data (byte 0x%02x at column %zu)", c, i + 1);
			err->token[0] = 0;
			return -1;
		}
	}
	return 1;
}

int trace_next_line_unchecked(const char *buf, size_t size, size_t *pos,
                              const char **line, size_t *len)
{
	size_t p = *pos;
	if (p >= size)
		return 0;
	const char *nl = memchr(buf + p, '\n', size - p);
	size_t end = nl ? (size_t)(nl - buf) : size;
	*pos = nl ? end + 1 : size;
	*line = buf + p;
	*len = end - p - (end > p && buf[end - 1] == '\r');
	return 1;
}

struct tok {
	const char *s;
	size_t n;
};

static bool tok_is(const struct tok *t, const char *w)
{
	size_t n = strlen(w);
	return t->n == n && !memcmp(t->s, w, n);
}

/* Parse a number token (decimal or 0x hex), optionally with K/M/G. */
static int tok_num(const struct tok *t, bool size, uint64_t *out,
                   struct trace_err *err, const char *what)
{
	char buf[64];
	/* the common case: up to 18 decimal digits cannot overflow */
	if (t->n && t->n <= 18 && t->s[0] != '0') {
		uint64_t v = 0;
		size_t i = 0;
		for (; i < t->n && t->s[i] >= '0' && t->s[i] <= '9'; i++)
			v = v * 10 + (uint64_t)(t->s[i] - '0');
		if (i == t->n) {
			*out = v;
			return 0;
		}
	}
	if (t->n >= sizeof(buf)) {
		set_err(err, "number too long", t->s, t->n);
		return -1;
	}
	memcpy(buf, t->s, t->n);
	buf[t->n] = 0;
	int r = size ? fmt_parse_size(buf, out) : fmt_parse_u64(buf, out);
	if (r) {
		char msg[96];
		snprintf(msg, sizeof(msg), "%s %s", r == FMT_ERANGE ?
		         "overflowing" : "malformed", what);
		set_err(err, msg, t->s, t->n);
		return -1;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#define MAX_TOKS 8

static uint64_t num_checked(const char *s, size_t n);

/* A task's or an area's name: letters, digits and _, at most 64. */
static int check_name(const struct tok *t, struct trace_err *err,
                      const char *what)
{
	char msg[96];
	for (size_t k = 0; k < t->n; k++) {
		char c = t->s[k];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_')) {
			snprintf(msg, sizeof(msg),
			         "bad %s name (letters, digits and _ only)", what);
			set_err(err, msg, t->s, t->n);
			return -1;
		}
	}
	if (t->n > TRACE_MAX_NAME) {
		snprintf(msg, sizeof(msg), "%s name longer than 64 characters",
		         what);
		set_err(err, msg, t->s, t->n);
		return -1;
	}
	return 0;
}

static int check_task(const struct tok *t, struct trace_err *err)
{
	return check_name(t, err, "task");
}

/* A vmap's pfns: numbers (decimal or 0x hex) by commas; their count. */
static int check_pfns(const struct tok *t, unsigned long *n,
                      struct trace_err *err)
{
	size_t i = 0;
	*n = 0;
	while (i <= t->n) {
		size_t e = i;
		while (e < t->n && t->s[e] != ',')
			e++;
		struct tok one = { t->s + i, e - i };
		uint64_t v;
		if (!one.n) {
			set_err(err, "malformed pfn list (PFN[,PFN...])", t->s, t->n);
			return -1;
		}
		if (tok_num(&one, false, &v, err, "pfn"))
			return -1;
		(*n)++;
		i = e + 1;
	}
	return 0;
}

int trace_pfns_next(const char *s, size_t len, size_t *pos, uint64_t *pfn)
{
	size_t i = *pos;
	if (i >= len)
		return 0;
	size_t e = i;
	while (e < len && s[e] != ',')
		e++;
	*pfn = num_checked(s + i, e - i);
	*pos = e + 1;
	return 1;
}

int trace_slots_next(const char *s, size_t len, size_t *pos, uint64_t *lo,
                     uint64_t *hi)
{
	size_t i = *pos;
	if (i >= len)
		return 0;
	uint64_t v[2] = { 0, 0 };
	int k = 0;
	for (; i < len && s[i] != ','; i++) {
		if (s[i] == '-')
			v[k = 1] = 0;
		else
			v[k] = v[k] * 10 + (uint64_t)(s[i] - '0');
	}
	*lo = v[0];
	*hi = k ? v[1] : v[0];
	*pos = i + 1;
	return 1;
}

/* A flush's slots: ranges N or N-M, ascending, apart, by commas. */
static int check_slots(const struct tok *t, struct trace_err *err)
{
	const char *bad = NULL;
	uint64_t prev = 0;
	bool first = true;
	size_t i = 0;
	while (i < t->n && !bad) {
		uint64_t v[2] = { 0, 0 };
		int k = 0, digits = 0;
		for (; i < t->n && t->s[i] != ','; i++) {
			char c = t->s[i];
			if (c == '-' && k == 0 && digits) {
				k = 1;
				digits = 0;
			} else if (c >= '0' && c <= '9' && v[k] < 100000000) {
				v[k] = v[k] * 10 + (uint64_t)(c - '0');
				digits++;
			} else {
				bad = "malformed slot list (N or N-M, by commas)";
				break;
			}
		}
		if (bad)
			break;
		if (!digits)
			bad = "malformed slot list (N or N-M, by commas)";
		else if (k && v[1] < v[0])
			bad = "slot range runs backwards";
		else if (!first && v[0] <= prev)
			bad = "slots not in ascending order";
		prev = k ? v[1] : v[0];
		first = false;
		if (i < t->n && i + 1 == t->n)
			bad = "malformed slot list (N or N-M, by commas)";
		i++;
	}
	if (bad) {
		set_err(err, bad, t->s, t->n);
		return -1;
	}
	return 0;
}

/* An operation's trailing @SECONDS, when @t is one: st->time. */
static int parse_time(const struct tok *t, struct stmt *st,
                      struct trace_err *err)
{
	if (t->s[0] != '@')
		return 0;
	int r = fmt_parse_time(t->s + 1, t->n - 1, &st->time);
	if (r) {
		set_err(err, r == FMT_ERANGE ?
		        "time too large (at most 10 digits of seconds)" :
		        "malformed time (@SECONDS, at most 9 decimals)", t->s, t->n);
		return -1;
	}
	st->has_time = true;
	return 0;
}

/*
 * expect TASK vaddr ADDR [HOW]   the task's latest mapping returned ADDR
 * expect flush [SLOTS|none]      flush_all_zero_pkmaps ran, clearing SLOTS
 */
static int parse_expect(const struct tok *t, size_t nt, struct stmt *st,
                        struct trace_err *err)
{
	st->kind = ST_EXPECT;
	st->task = NULL;
	st->task_len = 0;
	st->vaddr = 0;
	st->how = HOW_ANY;
	st->slots = NULL;
	st->slots_len = 0;
	if (nt >= 2 && nt <= 3 && tok_is(&t[1], "flush")) {
		st->expect = EXPECT_FLUSH;
		if (nt == 3) {
			st->slots = t[2].s;
			if (tok_is(&t[2], "none"))
				return 0; /* slots_len 0: none cleared */
			if (check_slots(&t[2], err))
				return -1;
			st->slots_len = t[2].n;
		}
		return 0;
	}
	if (nt < 4 || !tok_is(&t[2], "vaddr")) {
		set_err(err, "expect takes 'flush [SLOTS|none]' or "
		        "'TASK vaddr ADDR [HOW]'", nt > 1 ? t[1].s : NULL,
		        nt > 1 ? t[1].n : 0);
		return -1;
	}
	if (nt > 5) {
		set_err(err, "extra argument", t[5].s, t[5].n);
		return -1;
	}
	if (check_task(&t[1], err))
		return -1;
	st->expect = EXPECT_VADDR;
	st->task = t[1].s;
	st->task_len = t[1].n;
	if (tok_num(&t[3], false, &st->vaddr, err, "address"))
		return -1;
	if (nt == 5) {
		for (int k = HOW_LOWMEM; k <= HOW_LOCAL; k++)
			if (tok_is(&t[4], trace_how_names[k]))
				st->how = (enum expect_how)k;
		if (st->how == HOW_ANY) {
			set_err(err, "unknown how (lowmem, hit, new or local)",
			        t[4].s, t[4].n);
			return -1;
		}
	}
	return 0;
}

/* TASK vmap|vm_map_ram NAME PFN[,PFN...], TASK vunmap|vm_unmap_ram NAME */
static int parse_vmap(const struct tok *t, size_t nt, struct stmt *st,
                      struct trace_err *err)
{
	size_t want = trace_op_maps(st->op) ? 2 : 1;
	char msg[96];
	if (nt - 2 < want) {
		snprintf(msg, sizeof(msg), "missing %s after '%s'",
		         nt == 2 ? "NAME" : "PFN[,PFN...]",
		         trace_op_names[st->op]);
		set_err(err, msg, NULL, 0);
		return -1;
	}
	if (nt - 2 > want) {
		set_err(err, "extra argument", t[2 + want].s, t[2 + want].n);
		return -1;
	}
	if (check_name(&t[2], err, "area"))
		return -1;
	st->area = t[2].s;
	st->area_len = t[2].n;
	if (trace_op_maps(st->op)) {
		if (check_pfns(&t[3], &st->npfns, err))
			return -1;
		st->pfns = t[3].s;
		st->pfns_len = t[3].n;
	}
	return 0;
}

int trace_parse_line(const char *line, size_t len, struct stmt *st,
                     struct trace_err *err)
{
	struct tok t[MAX_TOKS];
	size_t nt = 0, i = 0;
	st->mem = st->last_pkmap = st->colors = 0;
	st->model = 0;
	st->holes = NULL;
	st->holes_len = 0;
	st->pfn = st->offset = st->len = 0;
	st->hex = NULL;
	st->hex_len = 0;
	st->has_time = false;
	st->time = 0;
	st->area = st->pfns = NULL;
	st->area_len = st->pfns_len = 0;
	st->npfns = 0;
	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len || line[i] == '#')
			break;
		size_t s = i;
		/* a token ends at a space, a tab or '#' (all below 'A') */
		while (i < len && ((unsigned char)line[i] >= 'A' ||
		                   (line[i] != ' ' && line[i] != '\t' &&
		                    line[i] != '#')))
			i++;
		if (nt == MAX_TOKS) {
			set_err(err, "extra argument", line + s, i - s);
			return -1;
		}
		t[nt++] = (struct tok){ line + s, i - s };
	}
	if (!nt) {
		st->kind = ST_BLANK;
		return 0;
	}
	if (t[0].n == 7 && tok_is(&t[0], "machine")) {
		st->kind = ST_MACHINE;
		if (nt < 2) {
			set_err(err, "missing profile after 'machine'", NULL, 0);
			return -1;
		}
		st->profile = t[1].s;
		st->profile_len = t[1].n;
		for (size_t k = 2; k < nt; k++) {
			const char *eq = memchr(t[k].s, '=', t[k].n);
			if (!eq) {
				set_err(err, "extra argument", t[k].s, t[k].n);
				return -1;
			}
			struct tok key = { t[k].s, (size_t)(eq - t[k].s) };
			struct tok val = { eq + 1, t[k].n - key.n - 1 };
			uint64_t *dst;
			bool size = false;
			if (tok_is(&key, "model")) {
				if (st->model) {
					set_err(err, "repeated key", key.s, key.n);
					return -1;
				}
				if (tok_is(&val, "flatmem")) {
					st->model = 1;
				} else if (tok_is(&val, "sparsemem")) {
					st->model = 2;
				} else {
					set_err(err, "unknown memory model (flatmem or "
					        "sparsemem)", val.s, val.n);
					return -1;
				}
				continue;
			} else if (tok_is(&key, "holes")) {
				uint64_t a[KM_MAX_HOLES], b[KM_MAX_HOLES];
				unsigned nr;
				if (st->holes) {
					set_err(err, "repeated key", key.s, key.n);
					return -1;
				}
				int r = fmt_parse_ranges(val.s, val.n, a, b,
				                         KM_MAX_HOLES, &nr);
				if (r) {
					set_err(err, r == FMT_ERANGE ? "overflowing number" :
					        "malformed holes (START-END[,START-END...], "
					        "pfns, at most 8)", val.s, val.n);
					return -1;
				}
				st->holes = val.s;
				st->holes_len = val.n;
				continue;
			} else if (tok_is(&key, "mem")) {
				dst = &st->mem;
				size = true;
			} else if (tok_is(&key, "last_pkmap")) {
				dst = &st->last_pkmap;
			} else if (tok_is(&key, "colors")) {
				dst = &st->colors;
			} else {
				set_err(err, "unknown key", key.s, key.n);
				return -1;
			}
			if (*dst) {
				set_err(err, "repeated key", key.s, key.n);
				return -1;
			}
			if (tok_num(&val, size, dst, err, "number"))
				return -1;
			if (!*dst) {
				set_err(err, "must not be zero", t[k].s, t[k].n);
				return -1;
			}
		}
		return 0;
	}
	if (t[0].n == 6 && tok_is(&t[0], "policy")) {
		st->kind = ST_POLICY;
		if (nt < 2) {
			set_err(err, "missing name after 'policy'", NULL, 0);
			return -1;
		}
		if (nt > 2) {
			set_err(err, "extra argument", t[2].s, t[2].n);
			return -1;
		}
		st->policy = t[1].s;
		st->policy_len = t[1].n;
		return 0;
	}

	if (t[0].n == 6 && tok_is(&t[0], "expect"))
		return parse_expect(t, nt, st, err);

	st->kind = ST_OP;
	if (check_task(&t[0], err))
		return -1;
	st->task = t[0].s;
	st->task_len = t[0].n;
	if (nt >= 3 && parse_time(&t[nt - 1], st, err))
		return -1;
	nt -= st->has_time;
	for (size_t k = 2; k < nt; k++)
		if (t[k].s[0] == '@') {
			set_err(err, "the time (@SECONDS) must come last", t[k].s,
			        t[k].n);
			return -1;
		}
	if (nt < 2) {
		set_err(err, "missing operation after the task", t[0].s, t[0].n);
		return -1;
	}
	static const unsigned char op_len[NR_OPS] = { 4, 6, 10, 12, 11, 13, 5,
	                                              4, 12, 4, 6, 10, 12, 16 };
	int op = -1;
	for (int k = 0; k < NR_OPS && op < 0; k++)
		if (t[1].n == op_len[k] && t[1].s[0] == trace_op_names[k][0] &&
		    !memcmp(t[1].s, trace_op_names[k], op_len[k]))
			op = k;
	if (op < 0) {
		set_err(err, "unknown op", t[1].s, t[1].n);
		return -1;
	}
	st->op = (enum trace_op)op;
	if (trace_op_area(st->op))
		return parse_vmap(t, nt, st, err);
	size_t want = op == OP_FLUSH_UNUSED || op == OP_VM_UNMAP_ALIASES ? 0 :
	              (op == OP_WRITE || op == OP_READ) ? 3 : 1;
	static const char *const argname[] = { "PFN", "OFFSET", "LEN or HEX" };
	if (nt - 2 < want) {
		char msg[96];
		snprintf(msg, sizeof(msg), "missing %s after '%s'",
		         argname[nt - 2], trace_op_names[op]);
		set_err(err, msg, NULL, 0);
		return -1;
	}
	if (nt - 2 > want) {
		set_err(err, "extra argument", t[2 + want].s, t[2 + want].n);
		return -1;
	}
	if (want >= 1 && tok_num(&t[2], false, &st->pfn, err, "pfn"))
		return -1;
	if (want == 3) {
		if (tok_num(&t[3], false, &st->offset, err, "offset"))
			return -1;
		if (op == OP_READ) {
			if (tok_num(&t[4], false, &st->len, err, "length"))
				return -1;
		} else {
			if (t[4].n % 2) {
				set_err(err, "odd-length byte string", t[4].s, t[4].n);
				return -1;
			}
			for (size_t k = 0; k < t[4].n; k++)
				if (hexval(t[4].s[k]) < 0) {
					set_err(err, "non-hex byte string", t[4].s, t[4].n);
					return -1;
				}
			st->hex = t[4].s;
			st->hex_len = t[4].n;
			st->len = t[4].n / 2;
		}
	}
	return 0;
}

/* A number known to be well formed: decimal or 0x hex, maybe K/M/G. */
static uint64_t num_checked(const char *s, size_t n)
{
	uint64_t v = 0;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (size_t i = 2; i < n && hexval(s[i]) >= 0; i++)
			v = v * 16 + (uint64_t)hexval(s[i]);
		return v;
	}
	for (size_t i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	return v;
}

void trace_parse_checked(const char *line, size_t len, struct stmt *st)
{
	const char *t[6];
	size_t tl[6], nt = 0, i = 0;
	while (i < len && nt < 6) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len || line[i] == '#')
			break;
		t[nt] = line + i;
		while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '#')
			i++;
		tl[nt] = (size_t)(line + i - t[nt]);
		nt++;
	}
	st->kind = ST_BLANK;
	st->has_time = false;
	if (!nt || (tl[0] == 7 && !memcmp(t[0], "machine", 7)) ||
	    (tl[0] == 6 && !memcmp(t[0], "policy", 6)))
		return; /* header lines: pass one took them */
	if (tl[0] == 6 && !memcmp(t[0], "expect", 6)) {
		struct trace_err err;
		trace_parse_line(line, len, st, &err); /* rare: parse it whole */
		return;
	}
	st->kind = ST_OP;
	st->task = t[0];
	st->task_len = tl[0];
	st->has_time = nt > 2 && t[nt - 1][0] == '@';
	st->time = 0;
	if (st->has_time) {
		nt--;
		fmt_parse_time(t[nt] + 1, tl[nt] - 1, &st->time);
	}
	/* the op, by its length and a letter or two */
	switch (tl[1]) {
	case 4: st->op = t[1][0] == 'k' ? OP_KMAP : t[1][0] == 'v' ? OP_VMAP :
	                                             OP_READ; break;
	case 5: st->op = OP_WRITE; break;
	case 6: st->op = t[1][0] == 'v' ? OP_VUNMAP : OP_KUNMAP; break;
	case 10: st->op = t[1][0] == 'v' ? OP_VM_MAP_RAM : OP_KMAP_LOCAL; break;
	case 11: st->op = OP_KMAP_ATOMIC; break;
	case 12: st->op = t[1][0] == 'k' ? OP_KUNMAP_LOCAL :
	                  t[1][0] == 'v' ? OP_VM_UNMAP_RAM : OP_FLUSH_UNUSED;
	         break;
	case 16: st->op = OP_VM_UNMAP_ALIASES; break;
	default: st->op = OP_KUNMAP_ATOMIC; break;
	}
	st->offset = st->len = 0;
	st->hex = NULL;
	st->hex_len = 0;
	st->area = st->pfns = NULL;
	st->area_len = st->pfns_len = 0;
	st->npfns = 0;
	if (trace_op_vm(st->op)) {
		st->pfn = 0;
		if (st->op == OP_VM_UNMAP_ALIASES)
			return;
		st->area = t[2];
		st->area_len = tl[2];
		if (trace_op_maps(st->op)) {
			st->pfns = t[3];
			st->pfns_len = tl[3];
			st->npfns = 1;
			for (size_t i = 0; i < tl[3]; i++)
				st->npfns += t[3][i] == ',';
		}
		return;
	}
	st->pfn = nt > 2 ? num_checked(t[2], tl[2]) : 0;
	if (st->op == OP_READ || st->op == OP_WRITE) {
		st->offset = num_checked(t[3], tl[3]);
		if (st->op == OP_READ) {
			st->len = num_checked(t[4], tl[4]);
		} else {
			st->hex = t[4];
			st->hex_len = tl[4];
			st->len = tl[4] / 2;
		}
	}
}
