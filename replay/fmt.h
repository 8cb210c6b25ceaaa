/*
 * fmt.h - numbers in and out: the trace reader's and the CLI's number
 * syntax, and the writers of the JSON records and the boot log.
 * Freestanding: no stdio, no errno.
 */
#ifndef KMAP_FMT_H
#define KMAP_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the parsers return besides 0: malformed, or too large. */
#define FMT_EINVAL (-1)
#define FMT_ERANGE (-2)

/* A plain number: decimal, or 0x hexadecimal. */
int fmt_parse_u64(const char *s, uint64_t *out);
/* A number with an optional K, M or G suffix (powers of 1024). */
int fmt_parse_size(const char *s, uint64_t *out);

/*
 * Writers: each puts its text at @p (no terminating NUL) and returns the
 * end of what it wrote. fmt_u64: decimal, at most 20 bytes; fmt_hex:
 * 0x-prefixed lowercase hex, at most 18; fmt_size: "%4llu MB" or
 * "%4llu kB" as the kernel's boot log prints a size, at most 23.
 */
char *fmt_u64(char *p, uint64_t v);
char *fmt_hex(char *p, uint64_t v);
char *fmt_size(char *p, uint64_t bytes);

#endif
