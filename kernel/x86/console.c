/*
 * console.c - x86's channels (kernel/console.c): COM1 (0x3f8) carries the
 * JSON, COM2 (0x2f8) the boot log. Power off with a status qemu can
 * return: the isa-debug-exit device (qemu exits with status * 2 + 1),
 * else ACPI S5 on qemu's PIIX4 (port 0x604) or the old Bochs port
 * (0xb004), else halt.
 */
#include "arch.h"
#include "kernel.h"

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

void arch_console_init(void)
{
	uart_init(COM1);
	uart_init(COM2);
}

void arch_log_write(const char *s, size_t n)
{
	uart_write(COM2, s, n);
}

void arch_json_write(const char *s, size_t n)
{
	uart_write(COM1, s, n);
}

void arch_power_off(int status)
{
	outb(DEBUG_EXIT_PORT, (uint8_t)status);
	outw(0x604, 0x2000);
	outw(0xb004, 0x2000);
	for (;;)
		__asm__ volatile("cli; hlt");
}
