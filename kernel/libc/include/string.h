/* string.h - the kernel's mini libc (kernel/libc/string.c). */
#ifndef KLIBC_STRING_H
#define KLIBC_STRING_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* glibc's text of the errno values of core/kerr.h and errno.h */
char *strerror(int err);

#endif
