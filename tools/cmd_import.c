/*
 * cmd_import.c - `kmap import`: a kmap trace made from the text of the
 * kernel's own tracing (the trace file of tracefs, or `trace-cmd report`)
 * with kprobe events on kmap_high, its return, kunmap_high,
 * flush_all_zero_pkmaps and set_page_address, and optionally the
 * kmap_local functions (replay/trace-format.md, "A kernel's trace").
 *
 * Two passes over the input: the first reads every event and finds the
 * machine (the profile whose window holds every address kmap_high
 * returned) and each struct page pointer's pfn (mem_map fitted from the
 * kmap_local probes' page -> pfn pairs); the second writes one trace line
 * an event, with expect lines for what the kernel did (the address each
 * kmap returned, each flush and the slots it cleared), so that `kmap
 * replay` can say whether it does the same.
 */
#include "cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Events                                                                  */
/* ---------------------------------------------------------------------- */

enum ev_kind {
	EV_KMAP,          /* kmap_high entry: page */
	EV_KMAP_RET,      /* kmap_high return: address */
	EV_KUNMAP,        /* kunmap_high: page */
	EV_FLUSH,         /* flush_all_zero_pkmaps */
	EV_SET_ADDR,      /* set_page_address: page, address (0: cleared) */
	EV_LOCAL_PAGE,    /* __kmap_local_page_prot: page */
	EV_LOCAL_PFN,     /* __kmap_local_pfn_prot: pfn */
	EV_LOCAL_RET,     /* __kmap_local_pfn_prot return: address */
	EV_KUNMAP_LOCAL,  /* kunmap_local_indexed: address */
	EV_MARK,          /* trace_marker text */
	NR_EV
};

/* The functions probed, by the symbol in the probe's site or, where the
 * site is an address (trace-cmd), by the event's name. */
static const struct probe {
	const char *sym, *alias;  /* symbol; the event name the docs give */
	int entry, ret;           /* the kinds of its entry and return */
	int nargs;                /* numbers the entry event must carry */
	const char *args;         /* their names, for messages */
} probes[] = {
	{ "kmap_high", "kmap_high", EV_KMAP, EV_KMAP_RET, 1, "page" },
	{ "kunmap_high", "kunmap_high", EV_KUNMAP, -1, 1, "page" },
	{ "flush_all_zero_pkmaps", "flush_all_zero_pkmaps", EV_FLUSH, -1, 0, "" },
	{ "set_page_address", "set_page_address", EV_SET_ADDR, -1, 2,
	  "page and virtual" },
	{ "__kmap_local_page_prot", "kmap_local_page", EV_LOCAL_PAGE, -1, 1,
	  "page" },
	{ "__kmap_local_pfn_prot", "kmap_local_pfn", EV_LOCAL_PFN, EV_LOCAL_RET,
	  1, "pfn" },
	{ "kunmap_local_indexed", "kunmap_local", EV_KUNMAP_LOCAL, -1, 1,
	  "addr" },
};
#define NR_PROBES (sizeof(probes) / sizeof(probes[0]))

static const char *const ev_names[NR_EV] = {
	"kmap_high", "kmap_high return", "kunmap_high", "flush_all_zero_pkmaps",
	"set_page_address", "__kmap_local_page_prot", "__kmap_local_pfn_prot",
	"__kmap_local_pfn_prot return", "kunmap_local_indexed", "trace_marker",
};

struct ev {
	unsigned char kind;
	unsigned task;
	unsigned long line;
	uint64_t a, b;
	const char *ts;            /* the timestamp's text, in the input */
	unsigned ts_len;
	uint64_t time;             /* and its value, in ns */
	const char *text;          /* EV_MARK: the text */
	unsigned text_len;
};

/* A task, by its comm-pid, and what the second pass knows of it. */
struct task {
	const char *id;            /* comm-pid, in the input */
	size_t id_len;
	char name[96];             /* the trace's name for it */
	bool used;                 /* it has lines in the trace */
	bool in_kmap, kmap_new;    /* between kmap_high's entry and return */
	uint64_t kmap_page;
	bool after_local_page;     /* its last event: __kmap_local_page_prot */
	uint64_t local_page;
	bool local_open;           /* a kmap_local line waits for its address */
	uint64_t local_pfn;
	unsigned nlocal;
	struct { uint64_t addr, pfn; } local[32];
};

/* The lines left out, by reason: reported, never dropped silently. */
enum skip {
	SK_COMMENT, SK_NOT_EVENT, SK_OTHER, SK_RET_ALONE, SK_KUNMAP_UNSEEN,
	SK_CLEAR_ALONE, SK_LOCAL_UNSEEN, SK_LOCAL_FIT, SK_LOCAL_DEEP, NR_SKIP
};
static const char *const skip_names[NR_SKIP] = {
	"comment or header lines",
	"lines not in the trace's event format",
	"events of other functions",
	"kmap_high returns whose call the trace does not have",
	"kunmap_high of pages the trace did not see mapped",
	"set_page_address(page, NULL) outside a flush",
	"kunmap_local of addresses no traced kmap_local returned (lowmem)",
	("kmap_local events, used only to fit the pfns (no kunmap_local "
	 "probe in the trace)"),
	"kmap_local deeper than 32 in one task",
};

struct imp {
	const char *file;
	char *buf;
	size_t size;
	struct ev *ev;
	size_t nev, cap;
	struct task *tasks;
	size_t ntasks, tcap;
	size_t *thash;             /* open addressing: index + 1 */
	size_t thcap;
	unsigned long skipped[NR_SKIP];
	unsigned long count[NR_EV];
	char other[4][40];         /* names of other events seen */
	unsigned nother;
	bool more_other;           /* and others not named */
	/* what pass one found */
	bool have_set_addr, have_kunmap_local;
	uint64_t ret_lo, ret_hi;   /* kmap_high's addresses */
	uint64_t page_base;        /* the address pfn 0's struct page would have */
	unsigned page_size;        /* sizeof(struct page) */
	unsigned long fit_pairs, fit_agree;
	struct km_layout lay;
	uint64_t mem;
	bool mem_given;
};

static int oom(void)
{
	fprintf(stderr, "kmap import: out of memory\n");
	return 3;
}

/* ---------------------------------------------------------------------- */
/* Tasks                                                                   */
/* ---------------------------------------------------------------------- */

static uint64_t hash_mem(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static bool name_taken(const struct imp *im, const struct task *self)
{
	for (size_t i = 0; i < im->ntasks; i++)
		if (&im->tasks[i] != self && !strcmp(im->tasks[i].name, self->name))
			return true;
	return false;
}

/* The length of @t's comm: its comm-pid without "-PID". */
static size_t comm_len(const struct task *t)
{
	size_t n = t->id_len;
	while (n && t->id[n - 1] != '-')
		n--;
	return n ? n - 1 : t->id_len;
}

/*
 * Trace names for the tasks the trace uses: the comm alone where one pid
 * has it, else comm_PID; _ for what a name may not hold, and a number
 * after a name taken already.
 */
static void name_tasks(struct imp *im)
{
	for (size_t i = 0; i < im->ntasks; i++)
		im->tasks[i].name[0] = 0;
	for (size_t i = 0; i < im->ntasks; i++) {
		struct task *t = &im->tasks[i];
		if (!t->used)
			continue;
		size_t cl = comm_len(t), n = cl;
		for (size_t j = 0; j < im->ntasks; j++) {
			const struct task *u = &im->tasks[j];
			if (j != i && u->used && comm_len(u) == cl &&
			    !memcmp(u->id, t->id, cl))
				n = t->id_len;
		}
		size_t k = 0;
		for (size_t c = 0; c < n && k < 60; c++) {
			char ch = t->id[c];
			bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			          (ch >= '0' && ch <= '9');
			t->name[k++] = ok ? ch : '_';
		}
		if (!k)
			t->name[k++] = 't';
		t->name[k] = 0;
		for (unsigned v = 2; name_taken(im, t); v++)
			snprintf(t->name + k, sizeof(t->name) - k, "_%u", v);
	}
}

/* The task whose comm-pid is @s, found or made; -1 out of memory. */
static long task_of(struct imp *im, const char *s, size_t n)
{
	if (im->thcap) {
		size_t h = hash_mem(s, n) & (im->thcap - 1);
		for (; im->thash[h]; h = (h + 1) & (im->thcap - 1)) {
			struct task *t = &im->tasks[im->thash[h] - 1];
			if (t->id_len == n && !memcmp(t->id, s, n))
				return (long)(im->thash[h] - 1);
		}
	}
	if (im->ntasks == im->tcap) {
		size_t cap = im->tcap ? 2 * im->tcap : 16, hcap = 2 * cap;
		struct task *nt = realloc(im->tasks, cap * sizeof(*nt));
		size_t *nh = calloc(hcap, sizeof(*nh));
		if (!nt || !nh) {
			free(nh);
			if (nt)
				im->tasks = nt;
			return -1;
		}
		for (size_t i = 0; i < im->ntasks; i++) {
			size_t h = hash_mem(nt[i].id, nt[i].id_len) & (hcap - 1);
			while (nh[h])
				h = (h + 1) & (hcap - 1);
			nh[h] = i + 1;
		}
		free(im->thash);
		im->tasks = nt;
		im->thash = nh;
		im->tcap = cap;
		im->thcap = hcap;
	}
	struct task *t = &im->tasks[im->ntasks];
	memset(t, 0, sizeof(*t));
	t->id = s;
	t->id_len = n;
	size_t h = hash_mem(s, n) & (im->thcap - 1);
	while (im->thash[h])
		h = (h + 1) & (im->thcap - 1);
	im->thash[h] = ++im->ntasks;
	return (long)(im->ntasks - 1);
}

/* ---------------------------------------------------------------------- */
/* Reading a line                                                          */
/* ---------------------------------------------------------------------- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_space(char c) { return c == ' ' || c == '\t'; }

/* A number as the probes print it: 0x hex or decimal (maybe negative,
 * taken modulo 2^64). Sets *end past it. */
static bool read_num(const char *s, const char *e, uint64_t *v,
                     const char **end)
{
	bool neg = s < e && *s == '-';
	s += neg;
	uint64_t x = 0;
	const char *p = s;
	if (e - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (p = s + 2; p < e; p++) {
			char c = (char)(*p | 0x20);
			if (is_digit(*p))
				x = x * 16 + (uint64_t)(*p - '0');
			else if (c >= 'a' && c <= 'f')
				x = x * 16 + (uint64_t)(c - 'a' + 10);
			else
				break;
		}
		if (p == s + 2)
			return false;
	} else {
		for (; p < e && is_digit(*p); p++)
			x = x * 10 + (uint64_t)(*p - '0');
		if (p == s)
			return false;
	}
	*v = neg ? 0 - x : x;
	*end = p;
	return true;
}

static bool word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && !memcmp(s, w, n);
}

/*
 * One line of the trace: 1 and *ev for an event kmap uses, 0 for a line
 * left out (its reason counted), -1 for an event of a probed function
 * that lacks its numbers (message on stderr).
 */
static int read_line(struct imp *im, const char *l, size_t n,
                     unsigned long ln, struct ev *ev)
{
	const char *e = l + n, *p = l;
	while (p < e && is_space(*p))
		p++;
	if (p == e || *p == '#' || p[0] == '\r') {
		im->skipped[SK_COMMENT] += p < e && *p == '#';
		return 0;
	}
	/* COMM-PID [(TGID)] [CPU] [FLAGS] TIMESTAMP: EVENT: FIELDS */
	const char *cpu = NULL;
	for (const char *q = p; q + 2 < e; q++) {
		if (q[0] != '[' || !is_digit(q[1]) || q == p || !is_space(q[-1]))
			continue;
		const char *r = q + 1;
		while (r < e && is_digit(*r))
			r++;
		if (r < e && *r == ']') {
			cpu = q;
			break;
		}
	}
	if (!cpu) {
		im->skipped[SK_NOT_EVENT]++;
		return 0;
	}
	const char *id_end = cpu;
	while (id_end > p && is_space(id_end[-1]))
		id_end--;
	if (id_end > p && id_end[-1] == ')') { /* the tgid column */
		const char *o = id_end;
		while (o > p && o[-1] != '(')
			o--;
		if (o > p) {
			id_end = o - 1;
			while (id_end > p && is_space(id_end[-1]))
				id_end--;
		}
	}
	const char *dash = id_end;
	while (dash > p && is_digit(dash[-1]))
		dash--;
	if (dash == id_end || dash - 1 <= p || dash[-1] != '-') {
		im->skipped[SK_NOT_EVENT]++;
		return 0;
	}
	const char *q = memchr(cpu, ']', (size_t)(e - cpu)) + 1;
	/* the flags column (irqs-off, need-resched, ...) may be absent */
	const char *ts = NULL, *ts_end = NULL;
	uint64_t time = 0;
	for (int k = 0; k < 2 && !ts; k++) {
		while (q < e && is_space(*q))
			q++;
		const char *w = q;
		while (q < e && !is_space(*q))
			q++;
		/* seconds.fraction: what a trace's @SECONDS takes */
		if (q - w >= 2 && q[-1] == ':' && is_digit(w[0]) &&
		    !fmt_parse_time(w, (size_t)(q - 1 - w), &time)) {
			ts = w;
			ts_end = q - 1;
		}
	}
	if (!ts) {
		im->skipped[SK_NOT_EVENT]++;
		return 0;
	}
	while (q < e && is_space(*q))
		q++;
	const char *name = q;
	while (q < e && !is_space(*q))
		q++;
	if (q == name || q[-1] != ':') {
		im->skipped[SK_NOT_EVENT]++;
		return 0;
	}
	size_t name_len = (size_t)(q - name) - 1;
	while (q < e && is_space(*q))
		q++;

	memset(ev, 0, sizeof(*ev));
	ev->line = ln;
	ev->ts = ts;
	ev->ts_len = (unsigned)(ts_end - ts);
	ev->time = time;
	long task = task_of(im, p, (size_t)(id_end - p));
	if (task < 0)
		return -2;
	ev->task = (unsigned)task;

	if (word_is(name, name_len, "tracing_mark_write") ||
	    word_is(name, name_len, "print")) {
		ev->kind = EV_MARK;
		ev->text = q;
		ev->text_len = (unsigned)(e - q);
		while (ev->text_len && is_space(ev->text[ev->text_len - 1]))
			ev->text_len--;
		return 1;
	}
	/* the probe's site: "(sym+0x0/0x260)", "(caller+0x21f/0x370 <- sym)",
	 * or addresses only, as trace-cmd prints them */
	const char *sym = NULL, *sym_end = NULL;
	bool ret = false;
	if (q < e && *q == '(') {
		const char *close = memchr(q, ')', (size_t)(e - q));
		if (close) {
			const char *arrow = NULL;
			for (const char *r = q; r + 3 < close; r++)
				if (!memcmp(r, " <- ", 4))
					arrow = r;
			ret = arrow != NULL;
			sym = arrow ? arrow + 4 : q + 1;
			sym_end = sym;
			while (sym_end < close && *sym_end != '+' && !is_space(*sym_end))
				sym_end++;
			bool hex = true; /* an address, not a symbol */
			for (const char *r = sym; r < sym_end && hex; r++)
				hex = is_digit(*r) || ((*r | 0x20) >= 'a' &&
				                       (*r | 0x20) <= 'f') || *r == 'x';
			if (hex)
				sym = NULL;
			q = close + 1;
		}
	}
	const struct probe *pr = NULL;
	for (size_t i = 0; i < NR_PROBES && !pr; i++) {
		if (sym) {
			if (word_is(sym, (size_t)(sym_end - sym), probes[i].sym))
				pr = &probes[i];
		} else {
			size_t al = strlen(probes[i].alias);
			if (word_is(name, name_len, probes[i].alias))
				pr = &probes[i];
			else if (name_len == al + 4 && !memcmp(name, probes[i].alias, al) &&
			         !memcmp(name + al, "_ret", 4))
				pr = &probes[i], ret = true;
		}
	}
	if (!pr || (ret && pr->ret < 0)) {
		im->skipped[SK_OTHER]++;
		bool known = false;
		for (unsigned i = 0; i < im->nother; i++)
			known |= word_is(name, name_len, im->other[i]);
		if (!known && im->nother < 4 && name_len < sizeof(im->other[0]))
			snprintf(im->other[im->nother++], sizeof(im->other[0]), "%.*s",
			         (int)name_len, name);
		else if (!known)
			im->more_other = true;
		return 0;
	}
	ev->kind = (unsigned char)(ret ? pr->ret : pr->entry);
	int want = ret ? 1 : pr->nargs;
	uint64_t v[2] = { 0, 0 };
	int got = 0;
	while (got < want && q < e) {
		while (q < e && is_space(*q))
			q++;
		const char *eq = q;
		while (eq < e && *eq != '=' && !is_space(*eq))
			eq++;
		if (eq >= e || *eq != '=') {
			while (q < e && !is_space(*q))
				q++;
			continue;
		}
		const char *end;
		if (!read_num(eq + 1, e, &v[got], &end))
			break;
		got++;
		q = end;
	}
	if (got < want) {
		fprintf(stderr, "%s:%lu: %s event without its %s (NAME=NUMBER "
		        "after the site, as the kprobe commands in kmap(1) "
		        "give)\n", im->file, ln, ev_names[ev->kind],
		        ret ? "return value" : pr->args);
		return -1;
	}
	ev->a = v[0];
	ev->b = v[1];
	return 1;
}

/* ---------------------------------------------------------------------- */
/* Pass one: the events, the machine, the pfns                             */
/* ---------------------------------------------------------------------- */

static int read_events(struct imp *im)
{
	size_t pos = 0;
	unsigned long ln = 0;
	im->ret_lo = UINT64_MAX;
	while (pos < im->size) {
		const char *l = im->buf + pos;
		const char *nl = memchr(l, '\n', im->size - pos);
		size_t n = nl ? (size_t)(nl - l) : im->size - pos;
		pos += n + (nl != NULL);
		ln++;
		if (memchr(l, 0, n)) {
			fprintf(stderr, "%s:%lu: binary data (not the text of a "
			        "trace)\n", im->file, ln);
			return 2;
		}
		if (im->nev == im->cap) {
			size_t cap = im->cap ? 2 * im->cap : 4096;
			struct ev *ne = realloc(im->ev, cap * sizeof(*ne));
			if (!ne)
				return oom();
			im->ev = ne;
			im->cap = cap;
		}
		struct ev *ev = &im->ev[im->nev];
		int r = read_line(im, l, n, ln, ev);
		if (r == -2)
			return oom();
		if (r < 0)
			return 2;
		if (!r)
			continue;
		/* the trace's @ times never go back: neither may the input's */
		if (im->nev && ev->time < ev[-1].time) {
			fprintf(stderr, "%s:%lu: timestamp %.*s is before the event "
			        "before it (line %lu): the events are out of order\n",
			        im->file, ln, (int)ev->ts_len, ev->ts, ev[-1].line);
			return 2;
		}
		im->nev++;
		im->count[ev->kind]++;
		if (ev->kind == EV_KMAP_RET) {
			im->ret_lo = ev->a < im->ret_lo ? ev->a : im->ret_lo;
			im->ret_hi = ev->a > im->ret_hi ? ev->a : im->ret_hi;
		}
	}
	im->have_set_addr = im->count[EV_SET_ADDR] != 0;
	im->have_kunmap_local = im->count[EV_KUNMAP_LOCAL] != 0;
	for (size_t i = 0; i < im->nev; i++) {
		const struct ev *ev = &im->ev[i];
		im->tasks[ev->task].used |= ev->kind == EV_KMAP ||
		        ev->kind == EV_FLUSH ||
		        (ev->kind == EV_LOCAL_PFN && im->have_kunmap_local);
	}
	name_tasks(im);
	if (!im->count[EV_KMAP]) {
		fprintf(stderr, "kmap import: %s: no kmap_high events (%lu lines); "
		        "kmap(1) gives the kprobe commands that record "
		        "them\n", im->file, ln);
		return 2;
	}
	if (!im->count[EV_KMAP_RET]) {
		fprintf(stderr, "kmap import: %s: no kmap_high returns: the "
		        "addresses, and so the machine, are unknown (add the "
		        "probe 'r:kmap_high_ret kmap_high ret=$retval')\n", im->file);
		return 2;
	}
	return 0;
}

/* Pointers are the kernel's: 32 bits. */
static uint32_t u32(uint64_t v) { return (uint32_t)v; }

/*
 * mem_map for a struct page of @size bytes: the address pfn 0's would
 * have, agreed by most page -> pfn pairs (kmap_local_page's page, then
 * __kmap_local_pfn_prot's pfn in the same task).
 */
static void fit_pages(struct imp *im, unsigned size)
{
	uint32_t cand = 0;
	unsigned long votes = 0, pairs = 0, agree = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < im->ntasks; i++)
			im->tasks[i].after_local_page = false;
		for (size_t i = 0; i < im->nev; i++) {
			const struct ev *ev = &im->ev[i];
			struct task *t = &im->tasks[ev->task];
			if (ev->kind == EV_LOCAL_PFN && t->after_local_page) {
				uint32_t base = u32(t->local_page - ev->a * size);
				if (!pass) { /* Boyer-Moore's majority vote */
					pairs++;
					if (!votes)
						cand = base;
					votes += base == cand ? 1 : (unsigned long)-1;
				} else {
					agree += base == cand;
				}
			}
			t->after_local_page = ev->kind == EV_LOCAL_PAGE;
			t->local_page = ev->a;
		}
	}
	im->page_base = cand;
	im->fit_pairs = pairs;
	im->fit_agree = agree;
}

/* The pfn of struct page pointer @page, or false when it is not one. */
static bool pfn_of(const struct imp *im, uint64_t page, uint64_t *pfn)
{
	uint32_t d = u32(page - im->page_base);
	if (d % im->page_size)
		return false;
	*pfn = d / im->page_size;
	return *pfn >= im->lay.min_pfn && *pfn < im->lay.max_pfn;
}

static int layout_of(const char *profile, uint64_t mem, struct km_layout *l)
{
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.profile = profile;
	cfg.mem_bytes = mem;
	km_machine *m;
	if (km_machine_create(&cfg, &m))
		return -1;
	km_machine_layout(m, l);
	km_machine_destroy(m);
	return 0;
}

/*
 * Does @profile fit what the trace shows? Its window holds every address
 * kmap_high returned, its struct page fits the pointers, and every page
 * kmap_high mapped is highmem on it. On success im->lay, mem and the fit
 * are set; else @why says what did not fit.
 */
static bool try_profile(struct imp *im, const char *profile, uint64_t mem_map,
                        bool have_mem_map, char *why, size_t whylen)
{
	struct km_layout l;
	if (layout_of(profile, im->mem_given ? im->mem : 0, &l)) {
		snprintf(why, whylen, "%s cannot have that much memory", profile);
		return false;
	}
	if (im->ret_lo < l.pkmap_base || im->ret_hi >= l.pkmap_end) {
		snprintf(why, whylen, "%s's window is 0x%llx-0x%llx", profile,
		         (unsigned long long)l.pkmap_base,
		         (unsigned long long)l.pkmap_end);
		return false;
	}
	im->page_size = l.struct_page_size;
	if (have_mem_map) {
		im->page_base = u32(mem_map - l.min_pfn * l.struct_page_size);
	} else {
		fit_pages(im, l.struct_page_size);
		if (!im->fit_pairs) {
			snprintf(why, whylen, "the trace has no kmap_local_page -> "
			         "__kmap_local_pfn_prot pairs to tell each struct page "
			         "pointer's pfn; add those probes or give --mem-map");
			return false;
		}
		if (im->fit_agree * 10 < im->fit_pairs * 9) {
			snprintf(why, whylen, "%s's %u-byte struct page fits only %lu "
			         "of %lu page -> pfn pairs", profile, l.struct_page_size,
			         im->fit_agree, im->fit_pairs);
			return false;
		}
	}
	/* the pages kmap_high mapped: pfns, and the memory that holds them */
	uint64_t hi = 0;
	im->lay.min_pfn = l.min_pfn;
	im->lay.max_pfn = UINT64_MAX;
	for (size_t i = 0; i < im->nev; i++) {
		uint64_t pfn;
		if (im->ev[i].kind != EV_KMAP)
			continue;
		if (!pfn_of(im, im->ev[i].a, &pfn)) {
			snprintf(why, whylen, "line %lu: page 0x%llx is not a struct "
			         "page of %s's mem_map (fitted at pfn 0 = 0x%llx)",
			         im->ev[i].line, (unsigned long long)im->ev[i].a,
			         profile, (unsigned long long)im->page_base);
			return false;
		}
		hi = pfn > hi ? pfn : hi;
	}
	uint64_t mem = im->mem;
	if (!im->mem_given) { /* the least memory, in MiB, that holds them */
		uint64_t mib = 1ull << 20;
		mem = ((hi + 1 - l.min_pfn) * l.page_size + mib - 1) / mib * mib;
		if (mem > l.mem_limit || layout_of(profile, mem, &l)) {
			snprintf(why, whylen, "pfn %llu is past %s's memory",
			         (unsigned long long)hi, profile);
			return false;
		}
	}
	im->lay = l;
	for (size_t i = 0; i < im->nev; i++) {
		uint64_t pfn = 0;
		if (im->ev[i].kind != EV_KMAP)
			continue;
		if (!pfn_of(im, im->ev[i].a, &pfn) || pfn < l.max_low_pfn) {
			snprintf(why, whylen, "line %lu: pfn %llu is %s on %s, and "
			         "kmap_high maps only highmem", im->ev[i].line,
			         (unsigned long long)pfn, pfn < l.max_low_pfn ?
			         "lowmem" : "past memory", profile);
			return false;
		}
	}
	im->mem = mem;
	return true;
}

static int find_machine(struct imp *im, const char *profile, uint64_t mem_map,
                        bool have_mem_map)
{
	char why[256];
	if (profile) { /* a known one: the command line checked it */
		if (try_profile(im, profile, mem_map, have_mem_map, why, sizeof(why)))
			return 0;
		fprintf(stderr, "kmap import: %s: the trace does not fit %s: %s\n",
		        im->file, profile, why);
		return 2;
	}
	const char *chosen = NULL;
	char others[256] = "", near[256] = "";
	struct imp keep;
	for (unsigned i = 0; km_profile_name(i); i++) {
		const char *p = km_profile_name(i);
		if (!try_profile(im, p, mem_map, have_mem_map, why, sizeof(why))) {
			/* the first profile whose window fits says what else did not */
			if (!near[0] && !strstr(why, "'s window is"))
				snprintf(near, sizeof(near), "%s", why);
			continue;
		}
		if (!chosen) {
			chosen = p;
			keep = *im;
		} else {
			size_t n = strlen(others);
			snprintf(others + n, sizeof(others) - n, "%s%s", n ? ", " : "", p);
		}
	}
	if (!chosen && near[0]) {
		fprintf(stderr, "kmap import: %s: no profile fits the trace: %s\n",
		        im->file, near);
		return 2;
	}
	if (!chosen) {
		fprintf(stderr, "kmap import: %s: no profile's window holds the "
		        "addresses kmap_high returned (0x%llx-0x%llx)\n", im->file,
		        (unsigned long long)im->ret_lo,
		        (unsigned long long)im->ret_hi);
		return 2;
	}
	*im = keep;
	if (others[0])
		fprintf(stderr, "kmap import: the trace fits %s and %s as well; "
		        "took %s (--machine chooses)\n", chosen, others, chosen);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Pass two: the trace                                                     */
/* ---------------------------------------------------------------------- */

/* What each page holds, as the trace shows it: its address in the window
 * and its users. Open addressing by page pointer. */
struct pinfo {
	uint64_t page;             /* 0: empty */
	uint64_t vaddr;
	unsigned long users;
};

struct pages {
	struct pinfo *tab;
	size_t cap, n;
};

static struct pinfo *page_get(struct pages *ps, uint64_t page)
{
	if (2 * (ps->n + 1) > ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 1024;
		struct pinfo *nt = calloc(cap, sizeof(*nt));
		if (!nt)
			return NULL;
		for (size_t i = 0; i < ps->cap; i++) {
			if (!ps->tab[i].page)
				continue;
			size_t h = (size_t)(ps->tab[i].page * 0x9E3779B97F4A7C15ull >> 20) &
			           (cap - 1);
			while (nt[h].page)
				h = (h + 1) & (cap - 1);
			nt[h] = ps->tab[i];
		}
		free(ps->tab);
		ps->tab = nt;
		ps->cap = cap;
	}
	size_t h = (size_t)(page * 0x9E3779B97F4A7C15ull >> 20) & (ps->cap - 1);
	while (ps->tab[h].page && ps->tab[h].page != page)
		h = (h + 1) & (ps->cap - 1);
	if (!ps->tab[h].page) {
		ps->tab[h].page = page;
		ps->n++;
	}
	return &ps->tab[h];
}

/* A flush in progress: the slots its set_page_address(NULL) calls clear. */
struct flush {
	bool open;
	unsigned task;
	const struct ev *at;
	unsigned *slots;
	size_t n, cap;
	bool unknown;              /* a cleared page's slot was not known */
};

static void put_slots(FILE *f, const unsigned *s, size_t n)
{
	if (!n) {
		fputs("none", f);
		return;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && s[j + 1] == s[j] + 1)
			j++;
		fprintf(f, "%s%u", i ? "," : "", s[i]);
		if (j > i)
			fprintf(f, "-%u", s[j]);
		i = j + 1;
	}
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return (x > y) - (x < y);
}

static void flush_end(const struct imp *im, struct flush *fl, FILE *f)
{
	if (!fl->open)
		return;
	fl->open = false;
	if (!im->have_set_addr || fl->unknown) {
		fprintf(f, "expect flush  # %.*s %s\n", (int)fl->at->ts_len,
		        fl->at->ts, fl->unknown ? "(a cleared page's slot is not "
		        "in the trace)" : "(no set_page_address probe: slots unknown)");
		return;
	}
	qsort(fl->slots, fl->n, sizeof(*fl->slots), cmp_unsigned);
	fputs("expect flush ", f);
	put_slots(f, fl->slots, fl->n);
	fprintf(f, "  # %.*s\n", (int)fl->at->ts_len, fl->at->ts);
}

static int slot_add(struct flush *fl, unsigned slot)
{
	if (fl->n == fl->cap) {
		size_t cap = fl->cap ? 2 * fl->cap : 64;
		unsigned *ns = realloc(fl->slots, cap * sizeof(*ns));
		if (!ns)
			return -1;
		fl->slots = ns;
		fl->cap = cap;
	}
	fl->slots[fl->n++] = slot;
	return 0;
}

static int write_trace(struct imp *im, FILE *f)
{
	struct pages ps = { 0 };
	struct flush fl = { 0 };
	const struct km_layout *l = &im->lay;
	bool first_new = true;
	int rc = 0;
	for (size_t i = 0; i < im->ntasks; i++) {
		im->tasks[i].in_kmap = im->tasks[i].local_open = false;
		im->tasks[i].nlocal = 0;
	}
	for (size_t i = 0; i < im->nev && !rc; i++) {
		const struct ev *ev = &im->ev[i];
		struct task *t = &im->tasks[ev->task];
		int ts = (int)ev->ts_len;
		uint64_t pfn = 0;
		if (fl.open && !(ev->kind == EV_SET_ADDR && !ev->b &&
		                 ev->task == fl.task))
			flush_end(im, &fl, f);
		switch (ev->kind) {
		case EV_MARK:
			fprintf(f, "# %.*s %.*s: %.*s\n", ts, ev->ts, (int)t->id_len,
			        t->id, (int)ev->text_len, ev->text);
			break;
		case EV_KMAP:
			pfn_of(im, ev->a, &pfn);
			t->in_kmap = true;
			t->kmap_new = false;
			t->kmap_page = ev->a;
			fprintf(f, "%s kmap %llu @%.*s  # page=0x%llx\n", t->name,
			        (unsigned long long)pfn, ts, ev->ts,
			        (unsigned long long)ev->a);
			break;
		case EV_SET_ADDR: {
			struct pinfo *pi = page_get(&ps, ev->a);
			if (!pi) {
				rc = oom();
				break;
			}
			if (ev->b) {
				pi->vaddr = ev->b;
				t->kmap_new |= t->in_kmap && t->kmap_page == ev->a;
			} else if (fl.open) {
				fl.unknown |= pi->vaddr < l->pkmap_base ||
				              pi->vaddr >= l->pkmap_end;
				if (!fl.unknown && slot_add(&fl, (unsigned)((pi->vaddr -
				    l->pkmap_base) / l->page_size)))
					rc = oom();
				pi->vaddr = 0;
			} else {
				im->skipped[SK_CLEAR_ALONE]++;
			}
			break;
		}
		case EV_FLUSH:
			if (!t->in_kmap)
				fprintf(f, "%s flush_unused @%.*s\n", t->name, ts, ev->ts);
			fl = (struct flush){ .open = true, .task = ev->task, .at = ev,
			                     .slots = fl.slots, .cap = fl.cap };
			break;
		case EV_KMAP_RET: {
			if (!t->in_kmap) {
				im->skipped[SK_RET_ALONE]++;
				break;
			}
			t->in_kmap = false;
			struct pinfo *pi = page_get(&ps, t->kmap_page);
			if (!pi) {
				rc = oom();
				break;
			}
			pi->users++;
			if (!im->have_set_addr)
				pi->vaddr = ev->a;
			const char *how = !im->have_set_addr ? "" :
			                  t->kmap_new ? " new" : " hit";
			fprintf(f, "expect %s vaddr 0x%llx%s\n", t->name,
			        (unsigned long long)ev->a, how);
			if (first_new && t->kmap_new && l->colors <= 1 &&
			    ev->a != l->pkmap_base + l->page_size)
				fprintf(stderr, "kmap import: warning: line %lu: the "
				        "first new mapping took slot %llu, not 1: the "
				        "trace does not start from the window as boot "
				        "leaves it, and a replay starts there\n", ev->line,
				        (unsigned long long)((ev->a - l->pkmap_base) /
				                             l->page_size));
			first_new &= !t->kmap_new;
			break;
		}
		case EV_KUNMAP: {
			struct pinfo *pi = page_get(&ps, ev->a);
			if (!pi) {
				rc = oom();
				break;
			}
			if (!pi->users) {
				im->skipped[SK_KUNMAP_UNSEEN]++;
				break;
			}
			pi->users--;
			pfn_of(im, ev->a, &pfn);
			fprintf(f, "%s kunmap %llu @%.*s  # page=0x%llx\n", t->name,
			        (unsigned long long)pfn, ts, ev->ts,
			        (unsigned long long)ev->a);
			break;
		}
		case EV_LOCAL_PAGE:
			if (!im->have_kunmap_local)
				im->skipped[SK_LOCAL_FIT]++;
			break;
		case EV_LOCAL_PFN:
			if (!im->have_kunmap_local) {
				im->skipped[SK_LOCAL_FIT]++;
				break;
			}
			t->local_open = true;
			t->local_pfn = ev->a;
			fprintf(f, "%s kmap_local %llu @%.*s\n", t->name,
			        (unsigned long long)ev->a, ts, ev->ts);
			break;
		case EV_LOCAL_RET:
			if (!im->have_kunmap_local || !t->local_open) {
				im->skipped[SK_LOCAL_FIT]++;
				break;
			}
			t->local_open = false;
			if (t->nlocal == sizeof(t->local) / sizeof(t->local[0])) {
				im->skipped[SK_LOCAL_DEEP]++;
				break;
			}
			t->local[t->nlocal].addr = ev->a;
			t->local[t->nlocal++].pfn = t->local_pfn;
			fprintf(f, "expect %s vaddr 0x%llx local\n", t->name,
			        (unsigned long long)ev->a);
			break;
		case EV_KUNMAP_LOCAL: {
			unsigned k = t->nlocal;
			while (k && t->local[k - 1].addr != ev->a)
				k--;
			if (!k) {
				im->skipped[SK_LOCAL_UNSEEN]++;
				break;
			}
			fprintf(f, "%s kunmap_local %llu @%.*s  # addr=0x%llx\n", t->name,
			        (unsigned long long)t->local[k - 1].pfn, ts, ev->ts,
			        (unsigned long long)ev->a);
			memmove(&t->local[k - 1], &t->local[k],
			        (t->nlocal - k) * sizeof(t->local[0]));
			t->nlocal--;
			break;
		}
		}
	}
	if (!rc)
		flush_end(im, &fl, f);
	free(fl.slots);
	free(ps.tab);
	return rc;
}

/* The report: what was used, and every line left out, by reason. */
static void report(const struct imp *im, FILE *f, const char *pre)
{
	fprintf(f, "%simported %lu kmap_high, %lu kunmap_high, %lu "
	        "flush_all_zero_pkmaps", pre, im->count[EV_KMAP],
	        im->count[EV_KUNMAP], im->count[EV_FLUSH]);
	if (im->have_kunmap_local)
		fprintf(f, ", %lu kmap_local, %lu kunmap_local",
		        im->count[EV_LOCAL_PFN], im->count[EV_KUNMAP_LOCAL]);
	size_t used = 0;
	for (size_t i = 0; i < im->ntasks; i++)
		used += im->tasks[i].used;
	fprintf(f, " (%zu task%s)\n", used, used == 1 ? "" : "s");
	for (int k = 0; k < NR_SKIP; k++) {
		if (!im->skipped[k])
			continue;
		fprintf(f, "%sleft out: %s: %lu", pre, skip_names[k], im->skipped[k]);
		if (k == SK_OTHER)
			for (unsigned i = 0; i < im->nother; i++)
				fprintf(f, "%s%s%s", i ? ", " : " (", im->other[i],
				        i + 1 < im->nother ? "" : im->more_other ?
				        ", ...)" : ")");
		fputc('\n', f);
	}
}

/* ---------------------------------------------------------------------- */
/* The command                                                             */
/* ---------------------------------------------------------------------- */

static const char usage[] =
	"kmap import [--machine PROFILE] [--mem SIZE] [--mem-map ADDR] FILE|-";

static void import_help(FILE *f)
{
	fprintf(f,
	    "usage: %s\n\n"
	    "Make a kmap trace from a real kernel's trace: the text of tracefs's\n"
	    "trace file (or trace-cmd report) with kprobe events on kmap_high,\n"
	    "its return, kunmap_high, flush_all_zero_pkmaps and set_page_address\n"
	    "(and, to find each page's pfn, __kmap_local_page_prot and\n"
	    "__kmap_local_pfn_prot). kmap(1) gives the probe commands.\n"
	    "The trace goes to standard output: one line a call, ending in its\n"
	    "timestamp (@SECONDS), the page pointer kept as a comment, and\n"
	    "expect lines for what the\n"
	    "kernel did (each address kmap_high returned, each flush and the\n"
	    "slots it cleared), which `kmap replay` compares with its run.\n"
	    "The format: replay/trace-format.md in kmap's source tree.\n\n"
	    "  --machine PROFILE  the machine (default: the profile whose window\n"
	    "           holds every address kmap_high returned and whose struct\n"
	    "           page fits the page pointers)\n"
	    "  --mem SIZE  its memory (default: the least, in MiB, that holds\n"
	    "           every page the trace maps)\n"
	    "  --mem-map ADDR  the kernel's mem_map (the struct page of its first\n"
	    "           pfn), when the trace has no kmap_local pairs to fit it\n"
	    "  FILE     the kernel's trace; '-' reads standard input\n\n"
	    "A summary goes to standard error and to the end of the output: the\n"
	    "calls imported and every line not used, by reason.\n\n"
	    "Exit status: 0 when the trace was written; 2 when the command line\n"
	    "is wrong or the input cannot be read or used (the file, line and\n"
	    "cause are named); 3 when memory ran out.\n", usage);
}

int cmd_import(int argc, char **argv)
{
	struct imp im = { 0 };
	const char *file = NULL, *profile = NULL;
	uint64_t mem_map = 0;
	bool have_mem_map = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			import_help(stdout);
			return 0;
		}
		if (strcmp(a, "--machine") && strcmp(a, "--mem") &&
		    strcmp(a, "--mem-map")) {
			if (a[0] == '-' && a[1])
				return cli_usage_error("import", usage,
				                       "unknown option '%s'", a);
			if (file)
				return cli_usage_error("import", usage,
				                       "one trace at a time ('%s' and "
				                       "'%s')", file, a);
			file = a;
			continue;
		}
		const char *val = cli_value(argc, argv, &i);
		if (!val)
			return cli_usage_error("import", usage, "%s needs a value", a);
		if (!strcmp(a, "--machine")) {
			profile = val;
			if (km_profile_limits(profile, NULL, NULL)) {
				char names[256];
				cli_list(names, sizeof(names), km_profile_name);
				return cli_usage_error("import", usage,
				                       "unknown profile '%s' (one of: %s)",
				                       profile, names);
			}
		} else if (!strcmp(a, "--mem")) {
			if (fmt_parse_size(val, &im.mem) || !im.mem)
				return cli_usage_error("import", usage,
				                       "--mem %s: not a size (a number, "
				                       "maybe with K, M or G, not 0)", val);
			im.mem_given = true;
		} else {
			if (fmt_parse_u64(val, &mem_map) || mem_map > UINT32_MAX)
				return cli_usage_error("import", usage,
				                       "--mem-map %s: not an address (a "
				                       "32-bit number, 0x for hex)", val);
			have_mem_map = true;
		}
	}
	if (!file)
		return cli_usage_error("import", usage,
		                       "no trace given (a file, or - for stdin)");
	im.file = strcmp(file, "-") ? file : "<stdin>";
	bool mapped;
	im.buf = cli_read_all(file, &im.size, &mapped);
	if (!im.buf) {
		fprintf(stderr, "kmap import: %s: %s\n", im.file, strerror(errno));
		return 2;
	}
	int rc = read_events(&im);
	if (!rc)
		rc = find_machine(&im, profile, mem_map, have_mem_map);
	if (!rc) {
		const struct km_layout *l = &im.lay;
		printf("# made by kmap import from %s: a kprobe trace of Linux's "
		       "kmap_high\n", im.file);
		printf("# machine: %s (%s), its window 0x%llx-0x%llx holds every "
		       "address kmap_high returned\n", l->profile, l->kernel,
		       (unsigned long long)l->pkmap_base,
		       (unsigned long long)l->pkmap_end);
		if (have_mem_map)
			printf("# pages: struct page %u bytes, mem_map 0x%llx (given)\n",
			       im.page_size, (unsigned long long)mem_map);
		else
			printf("# pages: struct page %u bytes, pfn 0's at 0x%llx (fitted "
			       "to %lu of %lu kmap_local page -> pfn pairs)\n",
			       im.page_size, (unsigned long long)im.page_base,
			       im.fit_agree, im.fit_pairs);
		printf("# mem: %s\n", im.mem_given ? "given" : "the least that "
		       "holds every page mapped (--mem gives the machine's own)");
		printf("# tasks (comm-pid):");
		for (size_t i = 0; i < im.ntasks; i++)
			if (im.tasks[i].used)
				printf(" %s = %.*s", im.tasks[i].name,
				       (int)im.tasks[i].id_len, im.tasks[i].id);
		printf("\n");
		char sz[32];
		uint64_t kib = im.mem >> 10;
		if (kib % 1024)
			snprintf(sz, sizeof(sz), "%lluK", (unsigned long long)kib);
		else if ((kib >> 10) % 1024)
			snprintf(sz, sizeof(sz), "%lluM", (unsigned long long)(kib >> 10));
		else
			snprintf(sz, sizeof(sz), "%lluG", (unsigned long long)(kib >> 20));
		printf("machine %s mem=%s\n", l->profile, sz);
		rc = write_trace(&im, stdout);
	}
	if (!rc) {
		report(&im, stdout, "# ");
		report(&im, stderr, "kmap import: ");
		if (fflush(stdout) || ferror(stdout)) {
			fprintf(stderr, "kmap import: writing the trace: %s\n",
			        strerror(errno));
			rc = 3;
		}
	}
	cli_release_input(im.buf, im.size, mapped);
	free(im.ev);
	free(im.tasks);
	free(im.thash);
	return rc;
}
