/*
 * kmapref - reference model of `kmap replay --json` (an independent reading
 * of replay/trace-format.md; see refmodel.c).
 *
 *   kmapref --pkmap-base 0xHEX --local-base 0xHEX [--highmem-start PFN] FILE|-
 *
 * Prints the same JSON lines as `kmap replay --json FILE` except the
 * `machine` line, and exits as it would: 0 clean, 1 errors/sleepers/leaks,
 * 2 when the trace cannot be read (the message names the file and line).
 * Addresses depend on the layout, so the two bases come from the command
 * line: persistent slot S is at pkmap_base + S*4096, local index i of a
 * page of colour c at local_base - (i*colors + colors-1-c)*4096. The first
 * highmem pfn is the profile's (arm 196608, arm-2g 458752, arm-virt 0x70000)
 * or, on x86, Linux's MAXMEM for that pkmap_base (224254 for x86-32 and
 * 225278 for x86-32-pae; see ref_layout_highmem_start()); --highmem-start
 * overrides it. Either way it is capped at max_pfn = first pfn + mem/4096
 * (arm-virt's RAM, and pfns, start at 0x40000).
 */
#include "refmodel.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *g_file = "-";

/*
 * holes=A-B[,A-B...]: at most REF_MAX_HOLES half-open pfn ranges, each
 * non-empty, sorted and apart (a gap of at least one pfn), inside
 * [first, max), not covering all of it. 0, or -1 when any of that fails.
 */
static int parse_holes(const char *s, uint64_t first, uint64_t max,
		       uint64_t *a, uint64_t *b, size_t *n)
{
	uint64_t ram = max - first;
	*n = 0;
	while (*s) {
		char *end;
		if (*n == REF_MAX_HOLES || *s < '0' || *s > '9')
			return -1;
		errno = 0;
		/* decimal, or 0x hex: never octal */
		a[*n] = strtoull(s, &end, s[0] == '0' && s[1] == 'x' ? 16 : 10);
		if (errno || *end != '-' || end[1] < '0' || end[1] > '9')
			return -1;
		b[*n] = strtoull(end + 1, &end,
				 end[1] == '0' && end[2] == 'x' ? 16 : 10);
		if (errno || (*end && *end != ','))
			return -1;
		if (a[*n] >= b[*n] || a[*n] < first || b[*n] > max ||
		    (*n && a[*n] <= b[*n - 1]))
			return -1;
		ram -= b[*n] - a[*n];
		(*n)++;
		s = *end ? end + 1 : end;
		if (*end == ',' && !*s)
			return -1;
	}
	return *n && ram ? 0 : -1;
}

static void die_usage(void)
{
	fprintf(stderr, "usage: kmapref --pkmap-base 0xHEX --local-base 0xHEX"
			" [--highmem-start PFN] FILE|-\n");
	exit(2);
}

static void syntax(long line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%ld: ", g_file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* Decimal or 0x hexadecimal, the whole token. */
static int parse_num(const char *s, uint64_t *out)
{
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -1;
	uint64_t v = 0;
	for (; *s; s++) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = v;
	return 0;
}

/* A number with an optional K/M/G suffix (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	char buf[64];
	size_t n = strlen(s);
	unsigned shift = 0;
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n + 1);
	switch (buf[n - 1]) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	default: break;
	}
	if (shift)
		buf[n - 1] = '\0'; /* K, M, G are no hex digits: no ambiguity */
	uint64_t v;
	if (parse_num(buf, &v) < 0)
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
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

static int valid_task_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* One line of input (any length); NULL at end of file. */
static char *read_line(FILE *f)
{
	size_t cap = 128, n = 0;
	int c;
	char *buf = malloc(cap);
	if (!buf)
		exit(2);
	while ((c = fgetc(f)) != EOF) {
		if (n + 1 >= cap) {
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb)
				exit(2);
			buf = nb;
		}
		if (c == '\n')
			break;
		buf[n++] = (char)c;
	}
	if (c == EOF && n == 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

#define MAXTOK 16

static int tokenize(char *s, char **tok)
{
	int n = 0;
	char *hash = strchr(s, '#');
	if (hash)
		*hash = '\0';
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (!*s)
			break;
		if (n == MAXTOK)
			return MAXTOK + 1;
		tok[n++] = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\r')
			s++;
		if (*s)
			*s++ = '\0';
	}
	return n;
}

struct opline {
	long line;
	char *task;
	enum ref_op op;
	uint64_t pfn, offset;
	uint8_t *data;
	size_t len;
	char *area;        /* vmap, vunmap, vm_map_ram, vm_unmap_ram */
	uint64_t *pfns;    /* vmap, vm_map_ram */
	size_t npfns;
};

/* A vmap's list: numbers by commas, none empty. */
static uint64_t *parse_pfn_list(const char *s, size_t *n)
{
	size_t cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ',';
	uint64_t *v = malloc(cap * sizeof(*v));
	char *copy = strdup(s);
	if (!v || !copy)
		exit(2);
	*n = 0;
	char *p = copy;
	for (;;) {
		char *c = strchr(p, ',');
		if (c)
			*c = '\0';
		if (parse_num(p, &v[*n]) < 0) {
			free(v);
			free(copy);
			return NULL;
		}
		(*n)++;
		if (!c)
			break;
		p = c + 1;
	}
	free(copy);
	return v;
}

int main(int argc, char **argv)
{
	uint64_t pkmap_base = 0, local_base = 0, hs_opt = 0;
	int have_pb = 0, have_lb = 0, have_hs = 0;
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pkmap-base") == 0 && i + 1 < argc) {
			if (parse_num(argv[++i], &pkmap_base) < 0)
				die_usage();
			have_pb = 1;
		} else if (strcmp(argv[i], "--local-base") == 0 && i + 1 < argc) {
			if (parse_num(argv[++i], &local_base) < 0)
				die_usage();
			have_lb = 1;
		} else if (strcmp(argv[i], "--highmem-start") == 0 && i + 1 < argc) {
			if (parse_num(argv[++i], &hs_opt) < 0)
				die_usage();
			have_hs = 1;
		} else if (!path) {
			path = argv[i];
		} else {
			die_usage();
		}
	}
	if (!path || !have_pb || !have_lb)
		die_usage();

	FILE *f = stdin;
	if (strcmp(path, "-") != 0) {
		f = fopen(path, "r");
		if (!f) {
			fprintf(stderr, "kmapref: %s: %s\n", path, strerror(errno));
			return 2;
		}
	}
	g_file = path;

	/* ---- parse everything first: on a syntax error nothing is run ---- */
	int have_machine = 0, profile = -1;
	uint64_t mem = 0;
	unsigned last_pkmap = 0, colors = 1;
	uint64_t hole_a[REF_MAX_HOLES], hole_b[REF_MAX_HOLES];
	size_t nholes = 0;
	const char *holes = NULL;
	struct opline *ops = NULL;
	size_t nops = 0, capops = 0;
	long lineno = 0;
	char *buf;

	while ((buf = read_line(f)) != NULL) {
		char *tok[MAXTOK + 1];
		lineno++;
		int nt = tokenize(buf, tok);
		if (nt == 0) {
			free(buf);
			continue;
		}
		if (nt > MAXTOK)
			syntax(lineno, "too many tokens");
		if (!have_machine) {
			if (strcmp(tok[0], "machine") != 0)
				syntax(lineno, "the trace must start with a machine line");
			if (nt < 2 || (profile = ref_profile_by_name(tok[1])) < 0)
				syntax(lineno, "unknown machine profile");
			const struct ref_profile_info *pi = &ref_profiles[profile];
			mem = pi->default_mem;
			last_pkmap = pi->default_last_pkmap;
			colors = 1;
			for (int i = 2; i < nt; i++) {
				char *eq = strchr(tok[i], '=');
				uint64_t v;
				if (!eq)
					syntax(lineno, "bad machine option '%s'", tok[i]);
				*eq = '\0';
				const char *val = eq + 1;
				if (strcmp(tok[i], "mem") == 0) {
					if (parse_size(val, &v) < 0 || v < REF_PAGE_SIZE || v > pi->mem_limit)
						syntax(lineno, "bad mem");
					mem = v;
				} else if (strcmp(tok[i], "last_pkmap") == 0) {
					if (parse_num(val, &v) < 0 || v < 2 || (v & (v - 1)) || v > (1u << 20))
						syntax(lineno, "bad last_pkmap");
					last_pkmap = (unsigned)v;
				} else if (strcmp(tok[i], "colors") == 0) {
					if (parse_num(val, &v) < 0 || v < 1 || (v & (v - 1)) || v > (1u << 20))
						syntax(lineno, "bad colors");
					colors = (unsigned)v;
				} else if (strcmp(tok[i], "model") == 0) {
					/* the memory model changes how a page is found,
					 * not which: nothing here depends on it */
					if (strcmp(val, "flatmem") && strcmp(val, "sparsemem"))
						syntax(lineno, "bad model");
				} else if (strcmp(tok[i], "holes") == 0) {
					/* checked once mem is known, below */
					holes = val;
				} else {
					syntax(lineno, "unknown machine option '%s'", tok[i]);
				}
			}
			if (last_pkmap % colors)
				syntax(lineno, "colors must divide last_pkmap");
			if (holes && parse_holes(holes, pi->first_pfn,
						 pi->first_pfn + mem / REF_PAGE_SIZE,
						 hole_a, hole_b, &nholes) < 0)
				syntax(lineno, "bad holes '%s'", holes);
			have_machine = 1;
			free(buf);
			continue;
		}
		if (strcmp(tok[0], "policy") == 0 && nops == 0) {
			if (nt != 2 || strcmp(tok[1], "linux") != 0)
				syntax(lineno, "only policy linux is modelled");
			free(buf);
			continue;
		}
		if (strcmp(tok[0], "machine") == 0)
			syntax(lineno, "machine line after the first statement");
		if (nt < 2)
			syntax(lineno, "missing operation");
		if (!valid_task_name(tok[0]))
			syntax(lineno, "bad task name '%s'", tok[0]);
		int op = ref_op_by_name(tok[1]);
		if (op < 0)
			syntax(lineno, "unknown operation '%s'", tok[1]);

		struct opline ol;
		memset(&ol, 0, sizeof(ol));
		ol.line = lineno;
		ol.op = (enum ref_op)op;
		size_t tn = strlen(tok[0]);
		ol.task = malloc(tn + 1);
		if (!ol.task)
			return 2;
		memcpy(ol.task, tok[0], tn + 1);

		if (op == REF_VM_UNMAP_ALIASES) {
			if (nt != 2)
				syntax(lineno, "wrong number of arguments for %s", tok[1]);
			goto add;
		}
		if (op >= REF_VMAP) {
			int maps = op == REF_VMAP || op == REF_VM_MAP_RAM;
			if (nt != (maps ? 4 : 3))
				syntax(lineno, "wrong number of arguments for %s", tok[1]);
			if (!valid_task_name(tok[2]) || strlen(tok[2]) > 64)
				syntax(lineno, "bad area name '%s'", tok[2]);
			ol.area = strdup(tok[2]);
			if (!ol.area)
				return 2;
			if (maps && !(ol.pfns = parse_pfn_list(tok[3], &ol.npfns)))
				syntax(lineno, "bad pfn list '%s'", tok[3]);
			goto add;
		}
		int want = op == REF_FLUSH_UNUSED ? 2 : (op == REF_WRITE || op == REF_READ) ? 5 : 3;
		if (nt != want)
			syntax(lineno, "wrong number of arguments for %s", tok[1]);
		if (op != REF_FLUSH_UNUSED && parse_num(tok[2], &ol.pfn) < 0)
			syntax(lineno, "bad pfn '%s'", tok[2]);
		if (op == REF_WRITE || op == REF_READ) {
			if (parse_num(tok[3], &ol.offset) < 0)
				syntax(lineno, "bad offset '%s'", tok[3]);
		}
		if (op == REF_READ) {
			uint64_t l;
			if (parse_num(tok[4], &l) < 0 || l > (1u << 20))
				syntax(lineno, "bad length '%s'", tok[4]);
			ol.len = (size_t)l;
		}
		if (op == REF_WRITE) {
			const char *h = tok[4]; /* bytes as hex digits, no 0x */
			size_t hl = strlen(h);
			if (hl == 0 || hl % 2)
				syntax(lineno, "bad hex data '%s'", tok[4]);
			ol.len = hl / 2;
			ol.data = malloc(ol.len);
			if (!ol.data)
				return 2;
			for (size_t i = 0; i < ol.len; i++) {
				int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);
				if (hi < 0 || lo < 0)
					syntax(lineno, "bad hex data '%s'", tok[4]);
				ol.data[i] = (uint8_t)(hi << 4 | lo);
			}
		}
add:
		if (nops == capops) {
			capops = capops ? 2 * capops : 256;
			struct opline *no = realloc(ops, capops * sizeof(*ops));
			if (!no)
				return 2;
			ops = no;
		}
		ops[nops++] = ol;
		free(buf);
	}
	if (f != stdin)
		fclose(f);
	if (!have_machine)
		syntax(lineno ? lineno : 1, "no machine line");

	/* ---- run ---- */
	uint64_t hs = have_hs ? hs_opt
			      : ref_layout_highmem_start((enum ref_profile)profile, pkmap_base);
	struct ref_model *m = ref_new((enum ref_profile)profile, mem, last_pkmap,
				      colors, hs, pkmap_base, local_base, stdout);
	ref_set_holes(m, nholes, hole_a, hole_b);
	for (size_t i = 0; i < nops; i++) {
		int t = ref_task(m, ops[i].task);
		if (ops[i].op >= REF_VMAP)
			ref_exec_vmap(m, ops[i].line, t, ops[i].op, ops[i].area,
				      ops[i].pfns, ops[i].npfns);
		else
			ref_exec(m, ops[i].line, t, ops[i].op, ops[i].pfn,
				 ops[i].offset, ops[i].data, ops[i].len);
	}
	int rc = ref_finish(m);
	ref_free(m);
	for (size_t i = 0; i < nops; i++) {
		free(ops[i].task);
		free(ops[i].data);
		free(ops[i].area);
		free(ops[i].pfns);
	}
	free(ops);
	if (fflush(stdout) != 0)
		return 2;
	return rc;
}
