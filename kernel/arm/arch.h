/*
 * arch.h - ARMv7-A: where the kernel lives, the coprocessor registers and
 * barriers it uses.
 *
 * qemu's virt board has its RAM at 0x40000000 and loads a Linux image at
 * RAM + 0x10000 with the MMU off. The kernel runs where it was loaded,
 * virtual = physical: its own map is [0x40000000, +KMAP_BYTES), 1 MiB
 * sections, below every ARM profile's pkmap window (the lowest, arm-2g's
 * with 65536 slots, starts at 0x70000000), so the trace's direct map, pkmap
 * window and fixmap are the machine's own, as in x86/mm.c.
 */
#ifndef KARCH_H
#define KARCH_H

#include <stdint.h>

#define KMAP_PHYS_START 0x40000000ull
#define KMAP_BYTES (96u << 20)
#define KMAP_PHYS_END (KMAP_PHYS_START + KMAP_BYTES)
#define SECTION_SHIFT 20
#define SECTION_SIZE (1u << SECTION_SHIFT)

static inline void *kvirt(uint64_t phys)
{
	return (void *)(uintptr_t)phys;
}
static inline uint32_t kphys(const void *p)
{
	return (uint32_t)(uintptr_t)p;
}

/* CP15 registers: ARM_CP15_READ(crn, op1, crm, op2) and the write. */
#define ARM_CP15_READ(crn, op1, crm, op2)                                  \
	({                                                                 \
		uint32_t v_;                                               \
		__asm__ volatile("mrc p15, " #op1 ", %0, " #crn ", " #crm ", " \
		                 #op2 : "=r"(v_));                         \
		v_;                                                        \
	})
#define ARM_CP15_WRITE(crn, op1, crm, op2, v)                              \
	__asm__ volatile("mcr p15, " #op1 ", %0, " #crn ", " #crm ", " #op2 \
	                 : : "r"((uint32_t)(v)) : "memory")

#define read_midr() ARM_CP15_READ(c0, 0, c0, 0)
#define read_id_mmfr0() ARM_CP15_READ(c0, 0, c1, 4)
#define read_sctlr() ARM_CP15_READ(c1, 0, c0, 0)
#define write_sctlr(v) ARM_CP15_WRITE(c1, 0, c0, 0, v)
#define read_ttbr0() ARM_CP15_READ(c2, 0, c0, 0)
#define write_ttbr0(v) ARM_CP15_WRITE(c2, 0, c0, 0, v)
#define write_ttbcr(v) ARM_CP15_WRITE(c2, 0, c0, 2, v)
#define write_dacr(v) ARM_CP15_WRITE(c3, 0, c0, 0, v)
#define read_dfsr() ARM_CP15_READ(c5, 0, c0, 0)
#define read_ifsr() ARM_CP15_READ(c5, 0, c0, 1)
#define read_dfar() ARM_CP15_READ(c6, 0, c0, 0)
#define read_ifar() ARM_CP15_READ(c6, 0, c0, 2)
#define write_vbar(v) ARM_CP15_WRITE(c12, 0, c0, 0, v)
/* TLB maintenance: the whole TLB, one MVA on this CPU, one MVA on every
 * CPU of the Inner Shareable domain; branch predictors; I-cache. */
#define tlbiall() ARM_CP15_WRITE(c8, 0, c7, 0, 0)
#define tlbimva(va) ARM_CP15_WRITE(c8, 0, c7, 1, va)
#define tlbimvais(va) ARM_CP15_WRITE(c8, 0, c3, 1, va)
#define bpiall() ARM_CP15_WRITE(c7, 0, c5, 6, 0)
#define bpiallis() ARM_CP15_WRITE(c7, 0, c1, 6, 0)
#define iciallu() ARM_CP15_WRITE(c7, 0, c5, 0, 0)

#define dsb(opt) __asm__ volatile("dsb " #opt : : : "memory")
#define isb() __asm__ volatile("isb" : : : "memory")

#define SCTLR_M (1u << 0)
#define SCTLR_A (1u << 1)
#define SCTLR_C (1u << 2)
#define SCTLR_Z (1u << 11)
#define SCTLR_I (1u << 12)
#define SCTLR_V (1u << 13)
#define SCTLR_TRE (1u << 28)
#define SCTLR_AFE (1u << 29)

/* mm.c: the boot tables, then the machine's */
void arm_boot_mmu(uint64_t uart);
/* console.c: the PL011 the device tree names */
void arm_console_set_uart(uint64_t base);
uint64_t arm_uart_base(void);
/* A semihosting call (console.c). */
int semihost(uint32_t op, const void *arg);
__attribute__((noreturn)) void arm_psci_off(void);

#endif
