/*
 * string.c - memmove and friends for the kernel; memcpy and memset, the
 * hot ones, are the architecture's (x86/string.c, arm/string.c). Compiled
 * with -fno-builtin (and, with gcc, -fno-tree-loop-distribute-patterns)
 * so that the compiler does not turn these loops back into calls to
 * themselves.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d == s || !n)
		return dst;
	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;
	for (size_t i = 0; i < n; i++)
		if (p[i] == (unsigned char)c)
			return (void *)(p + i);
	return NULL;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

/* The same words as glibc's, so that a record of the kernel's replay is
 * byte for byte the one `kmap replay` writes. */
char *strerror(int err)
{
	switch (err) {
	case EIO: return "Input/output error";
	case EAGAIN: return "Resource temporarily unavailable";
	case ENOMEM: return "Cannot allocate memory";
	case EFAULT: return "Bad address";
	case EBUSY: return "Device or resource busy";
	case EINVAL: return "Invalid argument";
	case ENOSPC: return "No space left on device";
	case ERANGE: return "Numerical result out of range";
	case ENOSYS: return "Function not implemented";
	case EOPNOTSUPP: return "Operation not supported";
	case EADDRINUSE: return "Address already in use";
	case ETIMEDOUT: return "Connection timed out";
	default: return "Unknown error";
	}
}
