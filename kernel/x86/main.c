/*
 * main.c - the kmap kernel on x86: exceptions, the multiboot boot, the
 * boot log's first lines.
 *
 * Booted by a multiboot loader (qemu -kernel) with the trace as the first
 * module and the command line of kernel/run.c: it reads the memory map
 * and hands the trace to kernel_replay().
 */
#include "arch.h"
#include "kernel.h"
#include "multiboot.h"

#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Exceptions: report and stop                                             */
/* ---------------------------------------------------------------------- */

struct km_regs {
	uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
	uint32_t vector, error, eip, cs, eflags;
};

struct idt_entry {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
} __attribute__((packed));

static struct idt_entry idt[32];

#define EXC(n) void km_exc##n(void);
EXC(0) EXC(1) EXC(2) EXC(3) EXC(4) EXC(5) EXC(6) EXC(7) EXC(8) EXC(9)
EXC(10) EXC(11) EXC(12) EXC(13) EXC(14) EXC(15) EXC(16) EXC(17) EXC(18)
EXC(19)

void km_exception(struct km_regs *r);

void km_exception(struct km_regs *r)
{
	static const char *const names[] = {
		"divide error", "debug", "NMI", "breakpoint", "overflow",
		"bound range", "invalid opcode", "no FPU", "double fault",
		"coprocessor overrun", "invalid TSS", "segment not present",
		"stack fault", "general protection", "page fault", "reserved",
		"x87 error", "alignment check", "machine check", "SIMD error",
	};
	klog("BUG: %s (vector %u, error 0x%x) at eip 0x%08x, cr2 0x%08x, in "
	     "thread %.*s", r->vector < 20 ? names[r->vector] : "exception",
	     r->vector, r->error, r->eip, read_cr2(),
	     current ? (int)current->name_len : 4,
	     current ? current->name : "boot");
	klog("  eax %08x ebx %08x ecx %08x edx %08x esi %08x edi %08x ebp %08x",
	     r->eax, r->ebx, r->ecx, r->edx, r->esi, r->edi, r->ebp);
	kexit(KEXIT_BUG);
}

static void idt_init(void)
{
	void (*stubs[20])(void) = {
		km_exc0, km_exc1, km_exc2, km_exc3, km_exc4, km_exc5, km_exc6,
		km_exc7, km_exc8, km_exc9, km_exc10, km_exc11, km_exc12,
		km_exc13, km_exc14, km_exc15, km_exc16, km_exc17, km_exc18,
		km_exc19,
	};
	for (int i = 0; i < 20; i++) {
		uint32_t a = (uint32_t)(uintptr_t)stubs[i];
		idt[i] = (struct idt_entry){ (uint16_t)a, 0x08, 0, 0x8e,
		                             (uint16_t)(a >> 16) };
	}
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) d = { sizeof(idt) - 1, (uint32_t)(uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(d));
}

/* A new thread's stack, as km_switch_stack (boot.S) leaves it: ebp, ebx,
 * esi, edi, then the return address, under no return address of its own. */
uintptr_t arch_thread_stack(void *stack_top, void (*entry)(void))
{
	uint32_t *sp = stack_top;
	*--sp = 0;
	*--sp = (uint32_t)(uintptr_t)entry;
	for (int i = 0; i < 4; i++)
		*--sp = 0;
	return (uintptr_t)sp;
}

/* ---------------------------------------------------------------------- */
/* Boot                                                                    */
/* ---------------------------------------------------------------------- */

/* MAXPHYADDR: CPUID 0x80000008, else 36 with PSE-36 or PAE, else 32. */
unsigned cpu_phys_bits(void)
{
	uint32_t a, b, c, d;
	cpuid(0x80000000, &a, &b, &c, &d);
	if (a >= 0x80000008) {
		cpuid(0x80000008, &a, &b, &c, &d);
		return a & 0xff;
	}
	cpuid(1, &a, &b, &c, &d);
	return d & (1u << 17) ? 36 : 32;
}

static uint32_t max32(uint32_t a, uint32_t b) { return a > b ? a : b; }

void kernel_main(uint32_t magic, uint32_t mbi_phys);

void kernel_main(uint32_t magic, uint32_t mbi_phys)
{
	arch_console_init();
	idt_init();
	klog("kmap kernel %s: x86 32-bit, one CPU, cooperative threads",
	     KMAP_KERNEL_VERSION);
	if (magic != MB_BOOTLOADER_MAGIC)
		kpanic(KEXIT_BUG, "not booted by a multiboot loader (magic 0x%08x)",
		       magic);
	if (mbi_phys >= BOOT_MAP_BYTES - 4096)
		kpanic(KEXIT_BUG, "multiboot information out of reach at 0x%08x",
		       mbi_phys);
	const struct mb_info *mbi = kvirt(mbi_phys);
	uint32_t kend = kphys(_kernel_end);
	uint32_t reserved = max32(kend, mbi_phys + sizeof(*mbi));
	const char *cmdline = "";
	if (mbi->flags & MB_INFO_CMDLINE) {
		cmdline = kvirt(mbi->cmdline);
		reserved = max32(reserved, mbi->cmdline + (uint32_t)strlen(cmdline) + 1);
	}
	if (mbi->flags & MB_INFO_MEM_MAP)
		reserved = max32(reserved, mbi->mmap_addr + mbi->mmap_length);
	const struct mb_module *mods = NULL;
	if ((mbi->flags & MB_INFO_MODS) && mbi->mods_count) {
		mods = kvirt(mbi->mods_addr);
		reserved = max32(reserved, mbi->mods_addr +
		                 mbi->mods_count * (uint32_t)sizeof(*mods));
		for (uint32_t i = 0; i < mbi->mods_count; i++) {
			reserved = max32(reserved, mods[i].mod_end);
			if (mods[i].string)
				reserved = max32(reserved, mods[i].string +
				                 (uint32_t)strlen(kvirt(mods[i].string)) + 1);
		}
	}
	if (mbi->flags & MB_INFO_LOADER_NAME)
		klog("loaded by %s; command line \"%s\"",
		     (const char *)kvirt(mbi->boot_loader_name), cmdline);
	if (reserved >= BOOT_MAP_BYTES)
		kpanic(KEXIT_NORUN, "the image, loader data and trace end at 0x%08x, "
		       "past the kernel's %u MiB map", reserved, BOOT_MAP_BYTES >> 20);
	mm_early(mbi, reserved);
	mm_log_e820();
	klog("RAM: %llu MiB usable", (unsigned long long)(mm_total_usable() >> 20));
	uint32_t a, b, c, d;
	cpuid(1, &a, &b, &c, &d);
	klog("CPU: family %u model %u;%s%s%s%s%s; %u-bit physical addresses",
	     (a >> 8) & 15, (a >> 4) & 15, d & (1u << 3) ? " PSE" : "",
	     d & (1u << 6) ? " PAE" : "", d & (1u << 17) ? " PSE36" : "",
	     d & (1u << 13) ? " PGE" : "", d & (1u << 8) ? " CX8" : "",
	     cpu_phys_bits());

	if (!mods)
		kpanic(KEXIT_TRACE, "no trace: give it as a multiboot module "
		       "(qemu -initrd FILE)");
	const char *trace = kvirt(mods[0].mod_start);
	size_t size = mods[0].mod_end - mods[0].mod_start;
	const char *name = mods[0].string ? (const char *)kvirt(mods[0].string) :
	                   "trace";
	kernel_replay(name, trace, size, cmdline);
}
