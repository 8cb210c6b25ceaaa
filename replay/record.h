/*
 * record.h - what one step of a replay writes: an operation's or a
 * resumption's record, as the engine makes it and the sinks (JSON, text,
 * pictures) show it.
 */
#ifndef KMAP_RECORD_H
#define KMAP_RECORD_H

#include "trace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Results and hows are these strings, compared by address. */
extern const char RES_OK[], RES_SLEEP[], RES_ERROR[];
extern const char H_LOWMEM[], H_HIT[], H_NEW[], H_LOCAL[];

/* One operation's (or resumption's) record. */
struct rec {
	unsigned long line;
	const char *task;          /* the task's name */
	size_t task_len;
	enum trace_op op;
	bool has_pfn, has_range;
	uint64_t pfn, offset, len;
	const char *result;        /* RES_OK, RES_SLEEP, RES_ERROR */
	const char *how;           /* NULL or one of the H_ strings */
	long slot;                 /* -1: none */
	bool has_vaddr;
	uint64_t vaddr;
	const char *error;         /* with RES_ERROR */
	const unsigned char *data; /* a read's bytes */
	size_t data_len;
	bool resumed;
	/* the @ time of the line running when the record was made (for a
	 * resumption, the kunmap's that woke it), in ns; none: no time */
	bool has_time;
	uint64_t time;
	/* the ops that name an area: its name; vmap, vm_map_ram: its pages */
	const char *area;
	size_t area_len;
	const uint64_t *pages;
	size_t npages;
};

/* The record of line @line of @task, before it has run. */
struct rec rec_of(unsigned long line, const char *task, size_t task_len,
                  const struct stmt *st);

/*
 * What a record acted on, where a person reads it (the text's column, the
 * pictures' rows and steps): its page's pfn, or the area its vmap,
 * vunmap, vm_map_ram or vm_unmap_ram names (a refused one's too), the
 * first @name_max bytes of the name; nothing for neither. Written at @p
 * (no NUL), at most 20 or @name_max bytes; returns the end.
 */
char *rec_what(char *p, const struct rec *e, size_t name_max);
/* rec_what()'s most, a whole name's or a pfn's */
#define REC_WHAT_MAX (TRACE_MAX_AREA > 20 ? TRACE_MAX_AREA : 20)
/* The heading over rec_what(): "pfn/area" when the trace has lines that
 * name an area (rp_header.areas), else "pfn". */
const char *rec_what_heading(bool areas);

#endif
