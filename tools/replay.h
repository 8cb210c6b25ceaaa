/* replay.h - running a trace held in memory (for the CLI and the fuzzer). */
#ifndef KMAP_REPLAY_H
#define KMAP_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* kmap replay's options; zero: the text, the trace's own machine. */
struct replay_opts {
	bool json;                 /* --json */
	const char *svg, *html;    /* --svg FILE, --html FILE: the pictures */
	const char *perfetto;      /* --perfetto FILE: the run for a timeline */
	const char *policy;        /* --policy NAME: in place of the trace's */
	unsigned last_pkmap;       /* --last-pkmap N: the same; 0: the trace's */
};

/*
 * replay_buffer - check and run the trace in @buf (@size bytes; need not
 * end in a newline), named @name in messages, with @opt, writing to @out
 * and the messages for unreadable input to @err. Returns the exit status
 * of `kmap replay`: 0, 1 or 2 (3: out of memory).
 */
int replay_buffer(const char *name, const char *buf, size_t size,
                  const struct replay_opts *opt, FILE *out, FILE *err);

#endif
