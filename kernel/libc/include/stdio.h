/*
 * stdio.h - the kernel's mini libc: formatting into buffers only
 * (kernel/libc/printf.c). FILE exists so that headers shared with the
 * host tools (tools/cli.h) compile; nothing here does I/O.
 */
#ifndef KLIBC_STDIO_H
#define KLIBC_STDIO_H

#include <stdarg.h>
#include <stddef.h>

typedef struct klibc_file FILE;

int vsnprintf(char *restrict buf, size_t n, const char *restrict fmt,
              va_list ap) __attribute__((format(printf, 3, 0)));
int snprintf(char *restrict buf, size_t n, const char *restrict fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
