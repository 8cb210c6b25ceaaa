/* util.c - number parsing and formatting for the CLI. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>

int cli_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!*s)
			return -EINVAL;
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
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	char num[64];
	size_t n = 0;
	unsigned shift = 0;
	if (!s)
		return -EINVAL;
	while (s[n] && n < sizeof(num) - 1) {
		num[n] = s[n];
		n++;
	}
	if (s[n])
		return -ERANGE;
	num[n] = 0;
	if (n > 1) {
		char c = num[n - 1];
		shift = c == 'K' ? 10 : c == 'M' ? 20 : c == 'G' ? 30 : 0;
		if (shift)
			num[n - 1] = 0;
	}
	uint64_t v;
	int r = cli_parse_u64(num, &v);
	if (r)
		return r;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

void cli_fmt_size(char *buf, size_t n, uint64_t bytes)
{
	if (bytes >= (64ull << 20) || (bytes >= (1ull << 20) && !(bytes & ((1ull << 20) - 1))))
		snprintf(buf, n, "%4llu MB", (unsigned long long)(bytes >> 20));
	else
		snprintf(buf, n, "%4llu kB", (unsigned long long)(bytes >> 10));
}
