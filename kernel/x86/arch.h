/* arch.h - x86: where the kernel lives, the few instructions it needs. */
#ifndef KARCH_H
#define KARCH_H

#include <stdint.h>

/*
 * Where the kernel lives: phys [0, BOOT_MAP_BYTES) at KERNEL_VBASE. Two
 * images are built: kmap-kernel.elf at 0xf8800000, above every profile's
 * lowmem and below its pkmap window, and kmap-kernel-low.elf at 0x40000000
 * for the machines whose window is so large (8192 slots and more) that it
 * and lowmem cover 0xf8800000 (see x86/mm.c).
 */
#ifndef KERNEL_VBASE
#define KERNEL_VBASE 0xF8800000
#endif
#define BOOT_MAP_BYTES (96u << 20)
#define KMAP_PHYS_START 0ull
#define KMAP_PHYS_END ((uint64_t)BOOT_MAP_BYTES)

static inline void *kvirt(uint64_t phys)
{
	return (void *)(uintptr_t)((uint32_t)KERNEL_VBASE + (uint32_t)phys);
}
static inline uint32_t kphys(const void *p)
{
	return (uint32_t)(uintptr_t)p - (uint32_t)KERNEL_VBASE;
}

/* main.c: MAXPHYADDR. mm.c: the multiboot memory map. */
unsigned cpu_phys_bits(void);
struct mb_info;
void mm_early(const struct mb_info *mbi, uint32_t reserved_end);
void mm_log_e820(void);

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void invlpg(uintptr_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}
/* read_cr0() ... read_cr4(): the control registers */
#define KM_READ_CR(n)                                                  \
	static inline uint32_t read_cr##n(void)                        \
	{                                                              \
		uint32_t v;                                            \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));      \
		return v;                                              \
	}
KM_READ_CR(0)
KM_READ_CR(2)
KM_READ_CR(3)
KM_READ_CR(4)
static inline void write_cr3(uint32_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c,
                         uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
	                 : "a"(leaf), "c"(0));
}

#define CR0_PG 0x80000000u
#define CR4_PSE 0x10u
#define CR4_PAE 0x20u
#define CR4_PGE 0x80u

#endif
