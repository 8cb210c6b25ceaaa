/*
 * perfetto.h - `kmap replay --perfetto FILE`: the run in the Chrome
 * trace-event format (the JSON object format), which Perfetto's UI and
 * chrome://tracing open.
 *
 * What is drawn, from the records cmd_replay.c's sink sees:
 *   process 1 "pkmap window": a thread per slot ever used (tid 1000000 +
 *     slot), on it a span per page the slot held, named "pfn N", from the
 *     record that mapped it to the flush that cleared it; the counters
 *     "slots" (args "in use": count >= 2, "mapped": count >= 1); its main
 *     thread (tid 1) carries them and the global instants: each flush and
 *     each mismatch with the trace's expect lines.
 *   process 2 "tasks": a thread per task (tid 3000000 + its index, in order
 *     of first appearance), a span per operation (its record's fields in
 *     args); a kmap that sleeps is one span from its call to its return,
 *     with an "asleep" span inside from each sleep record to the wake-up.
 *   process 3 "mappings held": an async span (b/e) per mapping a task
 *     holds, kmap to kunmap, kmap_local to kunmap_local, named "pfn N".
 *
 * Time: each record is a step. Without times in the trace a step is 1 us
 * (step n at n us); a record of a line with a time (@SECONDS) is at that
 * time, and never less than 1 ns after the step before it (records of one
 * line, a kunmap and the kmaps it woke, are 1 ns apart); a line without a
 * time is 1 us after the step before. An operation lasts until the next
 * step or 1 us, whichever is sooner. A flush is at the step of the record
 * that follows it (the line that ran it); a mismatch at the step of the
 * last record. Spans still open at the end close 1 us after the last step.
 *
 * The file is written as the run goes, in time order (every track's
 * timestamps are non-decreasing); the names of the tracks come last.
 */
#ifndef KMAP_PERFETTO_H
#define KMAP_PERFETTO_H

#include "engine.h"

struct perfetto;

/*
 * perfetto_open - before the run: create @path and read the window of @m
 * (the machine the run will use). NULL after a message on stderr when the
 * file cannot be created or memory is short (nothing has run then).
 */
struct perfetto *perfetto_open(const char *path, km_machine *m,
                               const char *trace_name, const char *policy);

/* The sink's entries, as the run makes them; NULL @p is accepted. */
void perfetto_record(struct perfetto *p, const struct rec *e);
void perfetto_flush(struct perfetto *p, const struct km_event *ev);
void perfetto_mismatch(struct perfetto *p, const struct rp_mismatch *mm);
void perfetto_summary(struct perfetto *p, const struct rp_summary *s);

/*
 * perfetto_finish - close what is open, write the track names and close
 * the file; NULL is accepted. 0, or -1 after a message on stderr (the file
 * could not be written, memory ran out, or what was tracked is not the
 * library's window).
 */
int perfetto_finish(struct perfetto *p);

#endif
