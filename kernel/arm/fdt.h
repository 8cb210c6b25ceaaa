/* fdt.h - the device tree's facts the ARM kernel uses (fdt.c). */
#ifndef KFDT_H
#define KFDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FDT_MAX_MEM 8

struct fdt_info {
	uint32_t size;                     /* the blob's bytes */
	struct { uint64_t base, size; } mem[FDT_MAX_MEM];
	unsigned nmem;
	const char *bootargs;              /* in the blob, NUL-terminated */
	uint32_t bootargs_len;
	uint64_t initrd_start, initrd_end;
	bool has_initrd_start, has_initrd_end;
	uint64_t uart;                     /* the PL011's registers; 0 none */
};

/* Read the blob at physical @addr: NULL, or what is wrong with it. */
const char *fdt_read(uint32_t addr, struct fdt_info *out);

#endif
