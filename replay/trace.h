/* trace.h - the trace reader (replay/trace-format.md, version 1). */
#ifndef KMAP_TRACE_H
#define KMAP_TRACE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Longest line a trace may have: a page of hex (8192) and room to spare. */
#define TRACE_MAX_LINE 65536
/* Longest task name. */
#define TRACE_MAX_NAME 64

enum trace_op {
	OP_KMAP, OP_KUNMAP, OP_KMAP_LOCAL, OP_KUNMAP_LOCAL, OP_KMAP_ATOMIC,
	OP_KUNMAP_ATOMIC, OP_WRITE, OP_READ, OP_FLUSH_UNUSED, OP_VMAP,
	OP_VUNMAP, OP_VM_MAP_RAM, OP_VM_UNMAP_RAM, OP_VM_UNMAP_ALIASES, NR_OPS
};

/* The ops of the vmalloc area (vmap and after); those that name an area;
 * those that map one (their pfns: a list). */
static inline bool trace_op_vm(enum trace_op op) { return op >= OP_VMAP && op < NR_OPS; }
static inline bool trace_op_area(enum trace_op op)
{
	return trace_op_vm(op) && op != OP_VM_UNMAP_ALIASES;
}
static inline bool trace_op_maps(enum trace_op op)
{
	return op == OP_VMAP || op == OP_VM_MAP_RAM;
}

/* Longest area name (vmap), as a task's. */
#define TRACE_MAX_AREA TRACE_MAX_NAME

extern const char *const trace_op_names[NR_OPS];

enum stmt_kind { ST_BLANK, ST_MACHINE, ST_POLICY, ST_OP, ST_EXPECT };

/* What an expect line checks: a task's address, or a flush. */
enum expect_kind { EXPECT_VADDR, EXPECT_FLUSH };
/* The how an expect line may name (the record's "how"); ANY: not named. */
enum expect_how { HOW_ANY, HOW_LOWMEM, HOW_HIT, HOW_NEW, HOW_LOCAL };
extern const char *const trace_how_names[];

struct stmt {
	enum stmt_kind kind;
	/* ST_MACHINE */
	const char *profile; size_t profile_len;
	uint64_t mem, last_pkmap, colors; /* 0 = not given */
	int model;                        /* model=: 0 not given, 1 flatmem,
	                                   * 2 sparsemem */
	/* holes=: the value, a list fmt_parse_ranges reads (checked by
	 * trace_parse_line); NULL when not given */
	const char *holes; size_t holes_len;
	/* ST_POLICY */
	const char *policy; size_t policy_len;
	/* ST_OP */
	const char *task; size_t task_len;
	enum trace_op op;
	uint64_t pfn, offset, len;
	const char *hex; size_t hex_len; /* OP_WRITE: len = hex_len / 2 */
	bool has_time;                   /* a trailing @SECONDS: when it ran */
	uint64_t time;                   /* in ns */
	/* trace_op_area(): the area's name; trace_op_maps(): its pfns, a list
	 * checked by trace_parse_line (trace_pfns_next walks it) */
	const char *area; size_t area_len;
	const char *pfns; size_t pfns_len;
	unsigned long npfns;
	/* ST_EXPECT: task and vaddr (with how, NULL for any), or a flush's
	 * slots: a list checked by trace_parse_line, "none", or NULL for any */
	enum expect_kind expect;
	uint64_t vaddr;
	enum expect_how how;
	const char *slots; size_t slots_len;
};

/*
 * trace_slots_next - walk an expect line's slot list: the next range
 * [*lo, *hi] from *pos; 0 at the end. The list was checked.
 */
int trace_slots_next(const char *s, size_t len, size_t *pos, uint64_t *lo,
                     uint64_t *hi);

/*
 * trace_pfns_next - walk a vmap line's pfn list: the next pfn from *pos
 * into *pfn; 0 at the end. The list was checked.
 */
int trace_pfns_next(const char *s, size_t len, size_t *pos, uint64_t *pfn);

/* What went wrong on a line: a message and the token it is about. */
struct trace_err {
	char msg[128];
	char token[48]; /* may be empty */
};

/*
 * trace_parse_line - parse one line (without its newline) into @st.
 * Returns 0, or -1 with @err filled. Checks syntax only: whether a pfn
 * exists or a mapping is live is for the run to say.
 */
int trace_parse_line(const char *line, size_t len, struct stmt *st,
                     struct trace_err *err);

/*
 * trace_parse_checked - parse a line that trace_parse_line() accepted
 * before: the same result, without the checks (replay's second pass).
 */
void trace_parse_checked(const char *line, size_t len, struct stmt *st);

/*
 * trace_next_line - the next line of @buf from *pos: sets *line and *len
 * (without "\n" or "\r\n") and advances *pos. Returns 1 for a line, 0 at
 * the end, -1 for a line that is too long or holds binary data (@err).
 * With @err NULL the line is not checked.
 */
int trace_next_line(const char *buf, size_t size, size_t *pos,
                    const char **line, size_t *len, struct trace_err *err);
/* The same without the checks, for input already checked (@err NULL). */
int trace_next_line_unchecked(const char *buf, size_t size, size_t *pos,
                              const char **line, size_t *len);

#endif
