/*
 * json.h - the records of `kmap replay --json` (replay/trace-format.md),
 * formatted in one place for the CLI and for the project's kernel, whose
 * output must be the same bytes. Freestanding: no stdio.
 */
#ifndef KMAP_JSON_H
#define KMAP_JSON_H

#include "engine.h"

/*
 * Where the JSON goes: reserve(n) gives room for n bytes, commit(n) says
 * how many of them were written. One reservation at a time.
 */
struct json_out {
	char *(*reserve)(void *arg, size_t n);
	void (*commit)(void *arg, size_t n);
	void *arg;
};

/* The most bytes rec_json() writes for @e, but for its pages (a vmap's:
 * at most 21 bytes each). */
#define REC_JSON_MAX(e) (400 + (e)->task_len + (e)->area_len + \
                         2 * (e)->data_len)

/* Format @e as its JSON line (newline included) at @out; its length. */
size_t rec_json(const struct rec *e, char *out);

/* The lines of a run: the machine, a record, a flush, a mismatch, the
 * summary. */
void json_machine(const struct json_out *o, const struct km_layout *l,
                  const char *policy);
void json_record(const struct json_out *o, const struct rec *e);
void json_flush_event(const struct json_out *o, const struct km_event *ev);
void json_purge_event(const struct json_out *o, const struct rp_purge *p);
void json_mismatch(const struct json_out *o, const struct rp_mismatch *mm);
void json_summary(const struct json_out *o, const struct rp_summary *s);

/* A sink (engine.h) that writes every line of a run to @o. */
struct rp_sink json_sink(struct json_out *o);

#endif
