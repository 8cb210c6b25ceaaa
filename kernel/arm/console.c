/*
 * console.c - ARM's channels (kernel/console.c) and power-off.
 *
 * The boot log goes to the virt board's PL011. The JSON goes through
 * semihosting (SYS_WRITE0), which qemu sends to a character device of its
 * own (-semihosting-config chardev=...): Debian 12's qemu 7.2 gives the
 * virt board one UART (a second one only to the Secure world with
 * secure=on), and semihosting is also the way out with a status:
 * SYS_EXIT_EXTENDED makes qemu exit with the replay's exit status. A
 * virtio console would have needed a virtio driver for the same bytes.
 * Where semihosting is off, the SVC is taken as an exception
 * (arm/main.c), and the kernel powers off through PSCI SYSTEM_OFF with
 * the status only in the boot log.
 */
#include "arch.h"
#include "kernel.h"

#include <string.h>

#define UART_DR 0x00
#define UART_FR 0x18
#define UART_CR 0x30
#define FR_TXFF (1u << 5)
#define CR_UARTEN (1u << 0)
#define CR_TXE (1u << 8)

#define SYS_WRITE0 0x04
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define PSCI_SYSTEM_OFF 0x84000008u

static volatile uint32_t *uart = (volatile uint32_t *)0x09000000;

void arm_console_set_uart(uint64_t base)
{
	uart = (volatile uint32_t *)(uintptr_t)base;
}

uint64_t arm_uart_base(void)
{
	return (uintptr_t)uart;
}

void arch_console_init(void)
{
	uart[UART_CR / 4] = CR_UARTEN | CR_TXE;
}

void arch_log_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (unsigned spin = 0; (uart[UART_FR / 4] & FR_TXFF) && spin < 100000;
		     spin++)
			;
		uart[UART_DR / 4] = (unsigned char)s[i];
	}
}

/* The semihosting call of A32: SVC 0x123456, op in r0, argument in r1. */
int semihost(uint32_t op, const void *arg)
{
	register uint32_t r0 __asm__("r0") = op;
	register const void *r1 __asm__("r1") = arg;
	__asm__ volatile("svc 0x123456" : "+r"(r0) : "r"(r1) : "memory");
	return (int)r0;
}

/* SYS_WRITE0 writes up to a NUL: the JSON has none (task names are
 * checked by the trace reader, bytes are written in hex), so it goes in
 * NUL-terminated pieces. */
void arch_json_write(const char *s, size_t n)
{
	static char piece[4096 + 1];
	if (memchr(s, 0, n))
		kpanic(KEXIT_BUG, "a NUL byte in the JSON: semihosting's SYS_WRITE0 "
		       "cannot carry it");
	while (n) {
		size_t k = n < sizeof(piece) - 1 ? n : sizeof(piece) - 1;
		memcpy(piece, s, k);
		piece[k] = 0;
		semihost(SYS_WRITE0, piece);
		s += k;
		n -= k;
	}
}

void arch_power_off(int status)
{
	const uint32_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status };
	semihost(SYS_EXIT_EXTENDED, block);
	arm_psci_off();
}

void arm_psci_off(void)
{
	register uint32_t r0 __asm__("r0") = PSCI_SYSTEM_OFF;
	__asm__ volatile(".arch_extension virt\n\thvc #0" : "+r"(r0) : : "memory");
	for (;;)
		__asm__ volatile("wfi");
}
