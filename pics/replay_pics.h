/*
 * replay_pics.h - pictures of a replay: `kmap replay --svg FILE` (the
 * window over time, a row per step) and `kmap replay --html FILE` (a page
 * that steps through the trace).
 *
 * cmd_replay.c calls three hooks: pics_event() for each library event (a
 * flush, a sleep, a wake-up), pics_record() for each record it prints (an
 * operation or a resumption: one step), and pics_finish() at the end. The
 * observer reads the window from the library (km_pkmap_slot) after each
 * step, for the slots the step could have changed: the record's slot and
 * the slots a flush cleared; at the end it checks that what it tracked is
 * the library's whole window. Task state (running, asleep, woken; the
 * local-map stack; atomic sections) follows from the records, as in the
 * trace format's semantics.
 */
#ifndef KMAP_REPLAY_PICS_H
#define KMAP_REPLAY_PICS_H

#include <kmap.h>
#include "fmt.h"
#include "record.h"

#include <stdbool.h>
#include <stddef.h>

struct pics;

/*
 * pics_open - before the run: open @svg_path and/or @html_path (either
 * may be NULL) for writing; @areas: the trace has lines that name an area
 * (rp_header.areas: the rows' heading says so). Returns NULL with a
 * message on stderr when a file cannot be opened (nothing has run then)
 * or memory is short.
 */
struct pics *pics_open(const char *svg_path, const char *html_path,
                       km_machine *m, const char *trace_name,
                       const char *policy, bool areas);

void pics_event(struct pics *p, const struct km_event *ev);
void pics_record(struct pics *p, const struct rec *e);
/* A purge of the lazily freed vmap areas (the engine's, with their names). */
struct rp_purge;
void pics_purge(struct pics *p, const struct rp_purge *pg);

/*
 * pics_finish - write the files and free everything; NULL is accepted.
 * Returns 0, or -1 after a message on stderr.
 */
int pics_finish(struct pics *p);

#endif
