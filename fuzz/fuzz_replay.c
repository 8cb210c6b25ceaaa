/*
 * fuzz_replay.c - libFuzzer target: any bytes as a trace, through the
 * reader and the replay (JSON and text). Nothing may crash, leak or trip a
 * sanitizer; unreadable input must come back as exit status 2.
 */
#include "replay.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	if (!null)
		null = fopen("/dev/null", "w");
	/* the output and the messages for unreadable input go nowhere (the
	 * golden tests check them): written to stderr they cost more than the
	 * run. fd 2 itself stays open, for the sanitizers' reports. */
	struct replay_opts opt = { .json = size && (data[0] & 1) };
	int rc = replay_buffer("fuzz", (const char *)data, size, &opt, null,
	                       null);
	if (rc < 0 || rc > 2)
		abort(); /* 3 = out of memory: not expected at these sizes */
	return 0;
}
