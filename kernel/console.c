/*
 * console.c - the two output channels and the way out, the parts every
 * architecture shares.
 *
 * One channel carries exactly what `kmap replay --json` writes: the JSON
 * lines and nothing else. The other carries the boot log, every line
 * starting with "[boot] ", so the two stay apart even when a user sends
 * both to one terminal. What the channels are is the architecture's
 * (x86/console.c: COM1 and COM2; arm/console.c: semihosting and the
 * PL011), and so is powering off with a status qemu returns.
 */
#include "kernel.h"

#include <stdio.h>
#include <string.h>

/* The boot log: whole lines, each with its prefix. */
void kvlog(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		arch_log_write("[boot] ", 7);
		arch_log_write(p, l);
		arch_log_write("\n", 1);
		p += l + (nl != NULL);
	}
}

void klog(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvlog(fmt, ap);
	va_end(ap);
}

/* The JSON stream, buffered: the replay writes it a few bytes at a time. */
static char jbuf[16384];
static size_t jlen;

void json_flush(void)
{
	arch_json_write(jbuf, jlen);
	jlen = 0;
}

void json_write(const char *s, size_t n)
{
	if (jlen + n > sizeof(jbuf)) {
		json_flush();
		if (n > sizeof(jbuf)) {
			arch_json_write(s, n);
			return;
		}
	}
	memcpy(jbuf + jlen, s, n);
	jlen += n;
}

void kexit(int status)
{
	json_flush();
	klog("power off, exit status %d", status);
	arch_power_off(status);
}

void kpanic(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvlog(fmt, ap);
	va_end(ap);
	kexit(status);
}
