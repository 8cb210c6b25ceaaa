/* util.c - error texts and the small string helpers of the core.
 * Freestanding. */
#include "core.h"
#include "util.h"

const char *km__errtext(int err)
{
	/* unsigned: -INT_MIN is no int */
	unsigned e = err < 0 ? 0u - (unsigned)err : (unsigned)err;
	switch (e) {
	case 0: return "success";
	case KM_ENOTMAPPED: return "page is not mapped";
	case KM_ENOUSERS: return "page has no users";
	case KM_EATOMIC: return "sleeping in atomic context";
	case KM_ENOTTOP: return "not the newest local mapping";
	case KM_EKIND: return "local mapping of the other kind";
	case KM_ENOATOMIC: return "no atomic section open";
	case KM_ESTACKFULL: return "too many local mappings (15 at most)";
	case KM_ESLEEPING: return "task is asleep";
	case KM_ECORRUPT: return "invariant broken";
	case KM_ENOAREA: return "no vmap area at the address";
	default: return e >= KM_EBASE ? "unknown kmap error" : NULL;
	}
}

size_t km__strlcpy(char *dst, const char *src, size_t n)
{
	size_t i = 0;
	if (!n)
		return 0;
	for (; src[i] && i + 1 < n; i++)
		dst[i] = src[i];
	dst[i] = 0;
	return i;
}

/* "a" + decimal v + "b" into dst; enough for invariant messages. */
size_t km__fmt_msg(char *dst, size_t n, const char *a, uint64_t v,
                   const char *b)
{
	char num[24];
	int len = 0;
	do {
		num[len++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	char buf[256];
	size_t o = km__strlcpy(buf, a, sizeof(buf) - 24);
	while (len)
		buf[o++] = num[--len];
	buf[o] = 0;
	km__strlcpy(buf + o, b, sizeof(buf) - o);
	return km__strlcpy(dst, buf, n);
}

int km__streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}
