/*
 * console.c - the serial ports and the way out.
 *
 * COM1 (0x3f8) carries exactly what `kmap replay --json` writes: the JSON
 * lines and nothing else. COM2 (0x2f8) carries the boot log, every line
 * starting with "[boot] ", so the two stay apart even when a user sends
 * both to one terminal. kexit() powers the machine off with a status
 * qemu can return: the isa-debug-exit device (qemu exits with
 * status * 2 + 1), else ACPI S5 on qemu's PIIX4 (port 0x604) or the old
 * Bochs port (0xb004), else it halts.
 */
#include "arch.h"
#include "kernel.h"

#include <stdio.h>
#include <string.h>

#define COM1 0x3f8
#define COM2 0x2f8
#define DEBUG_EXIT_PORT 0xf4

static void uart_init(uint16_t base)
{
	outb(base + 1, 0x00);   /* no interrupts */
	outb(base + 3, 0x80);   /* DLAB */
	outb(base + 0, 0x01);   /* 115200 baud */
	outb(base + 1, 0x00);
	outb(base + 3, 0x03);   /* 8N1 */
	outb(base + 2, 0xc7);   /* FIFO on, cleared */
	outb(base + 4, 0x03);   /* DTR, RTS */
}

/*
 * Wait until the transmit FIFO is empty (LSR.THRE; qemu: at once), then
 * give it up to its 16 bytes in one rep outsb.
 */
static void uart_write(uint16_t base, const char *s, size_t n)
{
	while (n) {
		for (unsigned spin = 0; !(inb(base + 5) & 0x20) && spin < 100000;
		     spin++)
			;
		size_t k = n < 16 ? n : 16;
		__asm__ volatile("rep outsb"
		                 : "+S"(s), "+c"(k)
		                 : "d"(base)
		                 : "memory");
		n -= n < 16 ? n : 16;
	}
}

void console_init(void)
{
	uart_init(COM1);
	uart_init(COM2);
}

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
		uart_write(COM2, "[boot] ", 7);
		uart_write(COM2, p, l);
		uart_write(COM2, "\n", 1);
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
	uart_write(COM1, jbuf, jlen);
	jlen = 0;
}

void json_write(const char *s, size_t n)
{
	if (jlen + n > sizeof(jbuf)) {
		json_flush();
		if (n > sizeof(jbuf)) {
			uart_write(COM1, s, n);
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
	outb(DEBUG_EXIT_PORT, (uint8_t)status);
	outw(0x604, 0x2000);
	outw(0xb004, 0x2000);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void kpanic(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvlog(fmt, ap);
	va_end(ap);
	kexit(status);
}
