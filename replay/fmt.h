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
 * Pfn ranges START-END[,START-END...] (numbers as fmt_parse_u64's; each
 * the pfns START up to, not including, END), the @n bytes at @s: at most
 * @max of them, in @start and @end, their number in *nr. FMT_EINVAL when
 * malformed or more than @max, FMT_ERANGE for a number too large. Whether
 * the ranges suit a machine is km_config_check's to say.
 */
int fmt_parse_ranges(const char *s, size_t n, uint64_t *start, uint64_t *end,
                     unsigned max, unsigned *nr);
/*
 * A time in decimal seconds, the @SECONDS of a trace line: at most 10
 * digits, then optionally a point and 1 to 9 more. The @n bytes at @s
 * (no @), in nanoseconds at *ns.
 */
int fmt_parse_time(const char *s, size_t n, uint64_t *ns);

/*
 * Writers: each puts its text at @p (no terminating NUL) and returns the
 * end of what it wrote. fmt_u64: decimal, at most 20 bytes; fmt_hex:
 * 0x-prefixed lowercase hex, at most 18; fmt_size: "%4llu MB" or
 * "%4llu kB" as the kernel's boot log prints a size, at most 23.
 */
char *fmt_u64(char *p, uint64_t v);
char *fmt_hex(char *p, uint64_t v);
char *fmt_size(char *p, uint64_t bytes);
/* @ns nanoseconds as decimal seconds, trailing zeros of the fraction left
 * out ("12.5", "3"): what fmt_parse_time reads back; at most 31 bytes. */
char *fmt_time(char *p, uint64_t ns);

#endif
