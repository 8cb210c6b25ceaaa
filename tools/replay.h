/* replay.h - running a trace held in memory (for the CLI and the fuzzer). */
#ifndef KMAP_REPLAY_H
#define KMAP_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * replay_buffer - check and run the trace in @buf (@size bytes; need not
 * end in a newline), named @name in messages, writing to @out and the
 * messages for unreadable input to @err. Returns the exit status of
 * `kmap replay`: 0, 1 or 2 (3: out of memory).
 */
int replay_buffer(const char *name, const char *buf, size_t size, bool json,
                  FILE *out, FILE *err);

#endif
