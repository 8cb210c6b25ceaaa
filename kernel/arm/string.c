/*
 * string.c - memcpy and memset on ARM: a word at a time where both ends
 * are word-aligned (the replay's pages and buffers are), else bytes (the
 * rest of the mini libc is kernel/libc/string.c).
 */
#include <stdint.h>
#include <string.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (!(((uintptr_t)d | (uintptr_t)s) & 3)) {
		for (; n >= 4; n -= 4, d += 4, s += 4)
			*(uint32_t *)(void *)d = *(const uint32_t *)(const void *)s;
	}
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	uint32_t v = (unsigned char)c * 0x01010101u;
	if (!((uintptr_t)d & 3)) {
		for (; n >= 4; n -= 4, d += 4)
			*(uint32_t *)(void *)d = v;
	}
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}
