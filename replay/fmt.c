/*
 * fmt.c - numbers in and out, for the trace reader, the JSON records, the
 * CLI and the kernel's boot log. Freestanding (no stdio).
 */
#include "fmt.h"

#include <string.h>

#define PUT_LIT(p, lit) (memcpy((p), lit, sizeof(lit) - 1), (p) + sizeof(lit) - 1)

int fmt_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	if (!s || !*s)
		return FMT_EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!*s)
			return FMT_EINVAL;
	}
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return FMT_EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return FMT_ERANGE;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

int fmt_parse_size(const char *s, uint64_t *out)
{
	char num[64];
	size_t n = 0;
	unsigned shift = 0;
	if (!s)
		return FMT_EINVAL;
	while (s[n] && n < sizeof(num) - 1) {
		num[n] = s[n];
		n++;
	}
	if (s[n])
		return FMT_ERANGE;
	num[n] = 0;
	if (n > 1) {
		char c = num[n - 1];
		shift = c == 'K' ? 10 : c == 'M' ? 20 : c == 'G' ? 30 : 0;
		if (shift)
			num[n - 1] = 0;
	}
	uint64_t v;
	int r = fmt_parse_u64(num, &v);
	if (r)
		return r;
	if (shift && v > (UINT64_MAX >> shift))
		return FMT_ERANGE;
	*out = v << shift;
	return 0;
}

/* The number in [s, e), as fmt_parse_u64 reads it. */
static int parse_part(const char *s, const char *e, uint64_t *out)
{
	char buf[24];
	if (e - s < 1 || (size_t)(e - s) >= sizeof(buf))
		return e - s < 1 ? FMT_EINVAL : FMT_ERANGE;
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = 0;
	return fmt_parse_u64(buf, out);
}

int fmt_parse_ranges(const char *s, size_t n, uint64_t *start, uint64_t *end,
                     unsigned max, unsigned *nr)
{
	const char *p = s, *stop = s + n;
	unsigned k = 0;
	if (!s || !n)
		return FMT_EINVAL;
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(stop - p));
		const char *e = comma ? comma : stop;
		const char *dash = memchr(p, '-', (size_t)(e - p));
		int r;
		if (!dash || k == max)
			return FMT_EINVAL;
		if ((r = parse_part(p, dash, &start[k])) ||
		    (r = parse_part(dash + 1, e, &end[k])))
			return r;
		k++;
		if (!comma)
			break;
		p = comma + 1;
	}
	*nr = k;
	return 0;
}

int fmt_parse_time(const char *s, size_t n, uint64_t *ns)
{
	uint64_t sec = 0, frac = 0;
	size_t i = 0, digits = 0;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
		sec = sec * 10 + (uint64_t)(s[i] - '0');
	if (!digits)
		return FMT_EINVAL;
	if (i < n && s[i] == '.') {
		size_t k = 0;
		for (i++; i < n && s[i] >= '0' && s[i] <= '9' && k < 10; i++, k++)
			frac = frac * 10 + (uint64_t)(s[i] - '0');
		if (!k || k > 9)
			return FMT_EINVAL;
		for (; k < 9; k++)
			frac *= 10;
	}
	if (i < n)
		return FMT_EINVAL;
	if (digits > 10) /* 10^10 s in ns still fits in 64 bits */
		return FMT_ERANGE;
	*ns = sec * 1000000000u + frac;
	return 0;
}

char *fmt_time(char *p, uint64_t ns)
{
	p = fmt_u64(p, ns / 1000000000u);
	unsigned frac = (unsigned)(ns % 1000000000u);
	if (!frac)
		return p;
	*p++ = '.';
	for (unsigned d = 100000000u; frac; d /= 10) {
		*p++ = (char)('0' + frac / d);
		frac %= d;
	}
	return p;
}

char *fmt_u64(char *p, uint64_t v)
{
	static const char pairs[201] =
		"00010203040506070809101112131415161718192021222324"
		"25262728293031323334353637383940414243444546474849"
		"50515253545556575859606162636465666768697071727374"
		"75767778798081828384858687888990919293949596979899";
	char tmp[24];
	char *t = tmp + sizeof(tmp);
	while (v >= 100) {
		unsigned d = (unsigned)(v % 100);
		v /= 100;
		t -= 2;
		memcpy(t, pairs + 2 * d, 2);
	}
	if (v >= 10) {
		t -= 2;
		memcpy(t, pairs + 2 * v, 2);
	} else {
		*--t = (char)('0' + v);
	}
	size_t n = (size_t)(tmp + sizeof(tmp) - t);
	memcpy(p, t, n);
	return p + n;
}

static const char hexdig[] = "0123456789abcdef";

char *fmt_hex(char *p, uint64_t v)
{
	char tmp[16];
	int n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n++] = hexdig[v & 15];
		v >>= 4;
	} while (v);
	p = PUT_LIT(p, "0x");
	memcpy(p, tmp + sizeof(tmp) - n, (size_t)n);
	return p + n;
}

/* "%4llu MB" or "%4llu kB", as the kernel's boot log prints sizes:
 * whole MiB from 64 MiB up or when exact, else KiB. */
char *fmt_size(char *p, uint64_t bytes)
{
	bool mb = bytes >= (64ull << 20) ||
	          (bytes >= (1ull << 20) && !(bytes & ((1ull << 20) - 1)));
	char num[24];
	size_t n = (size_t)(fmt_u64(num, mb ? bytes >> 20 : bytes >> 10) - num);
	for (size_t i = n; i < 4; i++)
		*p++ = ' ';
	memcpy(p, num, n);
	p += n;
	return mb ? PUT_LIT(p, " MB") : PUT_LIT(p, " kB");
}
