/*
 * string.c - memcpy and memset on x86: rep movs and rep stos, real loads
 * and stores a dword at a time, then bytes (the rest of the mini libc is
 * kernel/libc/string.c).
 */
#include <stdint.h>
#include <string.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	void *d = dst;
	/* rep movs: real loads and stores, a dword at a time, then bytes */
	size_t words = n >> 2, rest = n & 3;
	__asm__ volatile("rep movsl" : "+D"(d), "+S"(src), "+c"(words) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(rest) : : "memory");
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	uint32_t v = (unsigned char)c * 0x01010101u;
	size_t words = n >> 2, rest = n & 3;
	__asm__ volatile("rep stosl" : "+D"(d), "+c"(words) : "a"(v) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(rest) : "a"(v) : "memory");
	return dst;
}
