/*
 * json.h - the records of `kmap replay --json` (replay/trace-format.md),
 * formatted in one place for the CLI and for the project's kernel, whose
 * output must be the same bytes. Freestanding: no stdio.
 */
#ifndef KMAP_JSON_H
#define KMAP_JSON_H

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
};

/* The record of line @line of @task, before it has run. */
struct rec rec_of(unsigned long line, const char *task, size_t task_len,
                  const struct stmt *st);

/* The most bytes rec_json() writes for @e. */
#define REC_JSON_MAX(e) (400 + (e)->task_len + 2 * (e)->data_len)


/* Format @e as its JSON line (newline included) at @out; its length. */
size_t rec_json(const struct rec *e, char *out);

#endif
