/*
 * main.c - the kmap kernel on ARMv7-A: exceptions, the boot from qemu's
 * Linux loader (device tree in r2, the trace as the initrd, the command
 * line as bootargs), the boot log's first lines.
 */
#include "arch.h"
#include "fdt.h"
#include "kernel.h"

#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Exceptions: report and stop                                             */
/* ---------------------------------------------------------------------- */

struct arm_regs {
	uint32_t spsr, lr;
	uint32_t r[13];
};

extern char arm_vectors[];
void arm_exception(unsigned vector, const struct arm_regs *regs);

void arm_exception(unsigned vector, const struct arm_regs *regs)
{
	static const char *const names[] = {
		"reset", "undefined instruction", "SVC", "prefetch abort",
		"data abort", "unused vector", "IRQ", "FIQ",
	};
	static bool inside;
	if (inside || vector == 2) {
		/* an SVC is semihosting that qemu did not take (semihosting
		 * off): no channel for the JSON or the status is left */
		klog("%s: semihosting is off (qemu -semihosting-config "
		     "enable=on); powering off by PSCI", inside ? "exception "
		     "while reporting one" : "SVC");
		arm_psci_off();
	}
	inside = true;
	/* the preferred return address: LR - 8 for a data abort, else - 4 */
	uint32_t pc = regs->lr - (vector == 4 ? 8 : 4);
	klog("BUG: %s at pc 0x%08x (spsr 0x%08x) in thread %.*s",
	     vector < 8 ? names[vector] : "exception", pc, regs->spsr,
	     current ? (int)current->name_len : 4,
	     current ? current->name : "boot");
	if (vector == 4)
		klog("  DFAR 0x%08x DFSR 0x%08x", read_dfar(), read_dfsr());
	if (vector == 3)
		klog("  IFAR 0x%08x IFSR 0x%08x", read_ifar(), read_ifsr());
	klog("  r0 %08x r1 %08x r2 %08x r3 %08x r4 %08x r5 %08x r6 %08x",
	     regs->r[0], regs->r[1], regs->r[2], regs->r[3], regs->r[4],
	     regs->r[5], regs->r[6]);
	klog("  r7 %08x r8 %08x r9 %08x r10 %08x r11 %08x r12 %08x",
	     regs->r[7], regs->r[8], regs->r[9], regs->r[10], regs->r[11],
	     regs->r[12]);
	kexit(KEXIT_BUG);
}

/* ---------------------------------------------------------------------- */
/* Threads                                                                 */
/* ---------------------------------------------------------------------- */

/* A new thread's stack, as km_switch_stack (boot.S) leaves it: r4-r11
 * and the address to return to, popped into pc; 8-byte aligned after the
 * pop, as the AAPCS wants at a call. */
uintptr_t arch_thread_stack(void *stack_top, void (*entry)(void))
{
	uint32_t *sp = (uint32_t *)((uintptr_t)stack_top & ~(uintptr_t)7);
	*--sp = (uint32_t)(uintptr_t)entry;
	for (int i = 0; i < 8; i++)
		*--sp = 0;
	return (uintptr_t)sp;
}

/* ---------------------------------------------------------------------- */
/* Boot                                                                    */
/* ---------------------------------------------------------------------- */

/* The CPU, as MIDR names it: "ARMv7 Cortex-A15 r4p0". */
static void cpu_name(char *buf, size_t n, uint32_t midr)
{
	static const struct { uint16_t part; const char *name; } parts[] = {
		{ 0xc05, "Cortex-A5" }, { 0xc07, "Cortex-A7" },
		{ 0xc08, "Cortex-A8" }, { 0xc09, "Cortex-A9" },
		{ 0xc0d, "Cortex-A12" }, { 0xc0e, "Cortex-A17" },
		{ 0xc0f, "Cortex-A15" }, { 0xd03, "Cortex-A53" },
		{ 0xd07, "Cortex-A57" }, { 0xd08, "Cortex-A72" },
	};
	unsigned impl = midr >> 24, arch = (midr >> 16) & 15,
	         part = (midr >> 4) & 0xfff;
	const char *name = NULL;
	for (size_t i = 0; impl == 0x41 && i < sizeof(parts) / sizeof(parts[0]); i++)
		if (parts[i].part == part)
			name = parts[i].name;
	/* architecture 0xf: the CPUID scheme, ARMv7 and later */
	const char *v = arch == 0xf ? "ARMv7" : arch == 7 ? "ARMv6" : "ARM";
	if (name)
		snprintf(buf, n, "%s %s r%up%u", v, name, (midr >> 20) & 15, midr & 15);
	else
		snprintf(buf, n, "%s implementer 0x%02x part 0x%03x r%up%u", v, impl,
		         part, (midr >> 20) & 15, midr & 15);
}

static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* The end of [a, b) when it reaches into [lo, hi), else @end. */
static uint64_t past(uint64_t end, uint64_t a, uint64_t b, uint64_t lo,
                     uint64_t hi)
{
	return a < hi && lo < b ? max64(end, b) : end;
}

void arm_main(uint32_t dtb);

void arm_main(uint32_t dtb)
{
	struct fdt_info fi;
	const char *bad;
	char cpu[64];
	static char cmdline[512];

	arm_boot_mmu(0x09000000);
	write_vbar((uint32_t)(uintptr_t)arm_vectors);
	isb();
	bad = fdt_read(dtb, &fi);
	if (!bad && fi.uart && fi.uart != 0x09000000) {
		arm_boot_mmu(fi.uart);
		arm_console_set_uart(fi.uart);
	}
	arch_console_init();
	uint32_t midr = read_midr();
	cpu_name(cpu, sizeof(cpu), midr);
	klog("kmap kernel %s: %s (MIDR 0x%08x), one CPU, cooperative threads",
	     KMAP_KERNEL_VERSION, cpu, midr);
	if (bad)
		kpanic(KEXIT_BUG, "%s", bad);
	if (fi.bootargs) {
		size_t n = 0;
		while (n < fi.bootargs_len && n < sizeof(cmdline) - 1 &&
		       fi.bootargs[n])
			n++;
		memcpy(cmdline, fi.bootargs, n);
	}
	klog("booted by qemu's Linux loader: device tree at 0x%08x (%u bytes); "
	     "command line \"%s\"", dtb, fi.size, cmdline);
	uint32_t mmfr0 = read_id_mmfr0();
	klog("CPU: VMSAv7%s, short-descriptor tables (ID_MMFR0 0x%08x); "
	     "TLB maintenance by MVA, inner shareable broadcast",
	     (mmfr0 & 15) >= 5 ? " with LPAE" : "", mmfr0);
	klog("Machine model: qemu virt; memory (device tree /memory):");
	for (unsigned i = 0; i < fi.nmem; i++) {
		klog("  [mem 0x%016llx-0x%016llx] usable",
		     (unsigned long long)fi.mem[i].base,
		     (unsigned long long)(fi.mem[i].base + fi.mem[i].size - 1));
		mem_add_usable(fi.mem[i].base, fi.mem[i].size);
	}
	if (!fi.has_initrd_start || !fi.has_initrd_end ||
	    fi.initrd_end <= fi.initrd_start)
		kpanic(KEXIT_TRACE, "no trace: give it as the initrd "
		       "(qemu -initrd FILE)");
	klog("initrd (the trace): 0x%08llx-0x%08llx",
	     (unsigned long long)fi.initrd_start,
	     (unsigned long long)fi.initrd_end - 1);
	/* the boot allocator starts past the image and whatever of the
	 * initrd and the device tree lies in the kernel's own map */
	uint64_t kend = kphys(_kernel_end), reserved = kend;
	reserved = past(reserved, fi.initrd_start, fi.initrd_end, kend,
	                KMAP_PHYS_END);
	reserved = past(reserved, dtb, (uint64_t)dtb + fi.size, kend,
	                KMAP_PHYS_END);
	if (reserved >= KMAP_PHYS_END)
		kpanic(KEXIT_NORUN, "the image, the trace and the device tree end at "
		       "0x%08llx, past the kernel's %u MiB map",
		       (unsigned long long)reserved, KMAP_BYTES >> 20);
	mem_init(reserved);
	klog("RAM: %llu MiB usable", (unsigned long long)(mm_total_usable() >> 20));
	/* the trace moves into the kernel's memory: the initrd's frames may
	 * back the trace's pfns */
	size_t size = (size_t)(fi.initrd_end - fi.initrd_start);
	char *trace = kalloc(size);
	memcpy(trace, kvirt(fi.initrd_start), size);
	kernel_replay("initrd", trace, size, cmdline);
}
