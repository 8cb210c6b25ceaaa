/* util.h - error texts and the small string helpers of the core. util.c. */
#ifndef KMAP_UTIL_H
#define KMAP_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The text of one of kmap's own codes (KM_EBASE and above, negative or
 * not) or of 0; NULL for an errno value, whose text is the C library's. */
const char *km__errtext(int err);

size_t km__strlcpy(char *dst, const char *src, size_t n);
/* "a" + decimal v + "b" into dst; enough for invariant messages. */
size_t km__fmt_msg(char *dst, size_t n, const char *a, uint64_t v,
                   const char *b);
struct km_core;
/*
 * A public call refused with @err: a misuse (a kmap error code, EINVAL) is
 * counted in km_stats.errors, or with KM_STRICT reported through the
 * driver's bug() (which does not return). Returns @err. api.c.
 */
int km__refuse(struct km_core *k, int err, const char *fn);

/*
 * KM_CHECK: run @check (a check of the core's invariants) after @op, under
 * the lock; a broken invariant goes to the driver's bug(). highmem.c.
 */
void km__check_with(struct km_core *k, const char *op,
                    int (*check)(struct km_core *k, char *msg, size_t n));

/* NUL-terminated strings equal? */
int km__streq(const char *a, const char *b);

#endif
