/*
 * printf.c - vsnprintf for the kernel: %d %i %u %x %X %o %c %s %p %%, the
 * flags '-' and '0', a width and a precision (also '*'), and the length
 * modifiers hh h l ll z t j. No floating point. The result is always
 * NUL-terminated when n > 0; the return value is the length the whole
 * output would have had, as C's snprintf.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct out {
	char *buf;
	size_t n, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->n)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int k)
{
	while (k-- > 0)
		put(o, c);
}

static int utoa(char *tmp, unsigned long long v, unsigned base, int upper)
{
	const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0;
	do {
		tmp[n++] = d[v % base];
		v /= base;
	} while (v);
	return n;
}

int vsnprintf(char *restrict buf, size_t n, const char *restrict fmt,
              va_list ap)
{
	struct out o = { buf, n, 0 };
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		f++;
		int left = 0, zero = 0, width = 0, prec = -1, lng = 0;
		for (;; f++) {
			if (*f == '-')
				left = 1;
			else if (*f == '0')
				zero = 1;
			else if (*f != '+' && *f != ' ' && *f != '#')
				break;
		}
		if (*f == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = 1;
				width = -width;
			}
			f++;
		} else {
			while (*f >= '0' && *f <= '9')
				width = width * 10 + (*f++ - '0');
		}
		if (*f == '.') {
			f++;
			prec = 0;
			if (*f == '*') {
				prec = va_arg(ap, int);
				f++;
			} else {
				while (*f >= '0' && *f <= '9')
					prec = prec * 10 + (*f++ - '0');
			}
		}
		for (;; f++) {
			if (*f == 'l')
				lng++;
			else if (*f == 'z' || *f == 't')
				lng = sizeof(size_t) == sizeof(long long) ? 2 : 1;
			else if (*f == 'j')
				lng = 2;
			else if (*f != 'h')
				break;
		}
		char tmp[24];
		const char *s = tmp;
		int len = 0, neg = 0;
		unsigned long long v;
		switch (*f) {
		case 'd':
		case 'i': {
			long long sv = lng >= 2 ? va_arg(ap, long long) :
			               lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
			neg = sv < 0;
			v = neg ? 0ull - (unsigned long long)sv : (unsigned long long)sv;
			len = utoa(tmp, v, 10, 0);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			v = lng >= 2 ? va_arg(ap, unsigned long long) :
			    lng == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			len = utoa(tmp, v, *f == 'o' ? 8 : *f == 'u' ? 10 : 16,
			           *f == 'X');
			break;
		case 'p':
			v = (uintptr_t)va_arg(ap, void *);
			len = utoa(tmp, v, 16, 0);
			tmp[len++] = 'x';
			tmp[len++] = '0';
			break;
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			len = 1;
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			len = (int)strlen(s);
			if (prec >= 0 && len > prec)
				len = prec;
			break;
		case '%':
			tmp[0] = '%';
			len = 1;
			break;
		default: /* unknown: print it as is */
			put(&o, '%');
			if (!*f)
				f--;
			else
				put(&o, *f);
			continue;
		}
		if (*f == 's' || *f == 'c' || *f == '%') {
			if (!left)
				pad(&o, ' ', width - len);
			for (int i = 0; i < len; i++)
				put(&o, s[i]);
			if (left)
				pad(&o, ' ', width - len);
			continue;
		}
		/* numbers: tmp holds the digits reversed */
		int digits = len, zeros = prec > digits ? prec - digits : 0;
		int total = neg + zeros + digits;
		if (!left && !(zero && prec < 0))
			pad(&o, ' ', width - total);
		if (neg)
			put(&o, '-');
		if (!left && zero && prec < 0)
			pad(&o, '0', width - total);
		pad(&o, '0', zeros);
		while (len)
			put(&o, tmp[--len]);
		if (left)
			pad(&o, ' ', width - total);
	}
	if (n)
		buf[o.len < n ? o.len : n - 1] = 0;
	return (int)o.len;
}

int snprintf(char *restrict buf, size_t n, const char *restrict fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}
