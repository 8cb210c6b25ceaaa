/*
 * main.c - the kmap kernel: boot, the boot log, the replay, power off.
 *
 * Booted by a multiboot loader (qemu -kernel) with the trace as the first
 * module: it reads the memory map, checks the trace, builds the trace's
 * machine with the core (km__layout_compute, km__core_init), sets up real
 * page tables for it (mm.c), replays the trace with its tasks as kernel
 * threads (replay.c) and powers off with the replay's exit status.
 *
 * Command line (qemu -append): check=0 turns off the invariant check
 * (km__core_check and the local-map PTEs) after every line, check=all
 * keeps it on every line of a long trace too; tlb=noflush
 * (a debugging aid) skips every TLB flush, to show what they are for.
 */
#include "arch.h"
#include "kernel.h"
#include "multiboot.h"

#include <errno.h>
#include "fmt.h"

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

/* ---------------------------------------------------------------------- */
/* The boot log: the machine as `kmap layout` shows it                    */
/* ---------------------------------------------------------------------- */

static void range(const char *name, uint64_t a, uint64_t b)
{
	char sz[32];
	*fmt_size(sz, b - a) = 0;
	klog("    %-8s: 0x%08llx - 0x%08llx   (%s)", name, (unsigned long long)a,
	     (unsigned long long)b, sz);
}

static void log_machine(const struct km_core *k, const char *policy)
{
	struct km_layout l;
	char a[32], b[32];
	km__layout_fill(k, &l);
	klog("Machine %s, policy %s: %llu MiB of memory, %llu pages of %u bytes",
	     l.profile, policy, (unsigned long long)(l.mem_bytes >> 20),
	     (unsigned long long)l.max_pfn, l.page_size);
	klog("Zone ranges:");
	for (unsigned i = 0; i < l.nr_zones; i++) {
		const struct km_zone_info *z = &l.zones[i];
		if (z->start_pfn == z->end_pfn) {
			klog("  %-8s empty", z->name);
			continue;
		}
		klog("  %-8s [mem 0x%016llx-0x%016llx]  pfn %llu-%llu%s", z->name,
		     (unsigned long long)(z->start_pfn << l.page_shift),
		     (unsigned long long)((z->end_pfn << l.page_shift) - 1),
		     (unsigned long long)z->start_pfn,
		     (unsigned long long)z->end_pfn - 1,
		     z->highmem ? "  (highmem)" : "");
	}
	klog("%lluMB HIGHMEM available.",
	     (unsigned long long)(l.highmem_bytes >> 20));
	klog("%lluMB LOWMEM available.", (unsigned long long)(l.lowmem_bytes >> 20));
	*fmt_size(a, l.lowmem_bytes) = 0;
	*fmt_size(b, l.highmem_bytes) = 0;
	klog("Memory: lowmem %s, highmem %s (highmem starts at pfn %llu)", a, b,
	     (unsigned long long)l.max_low_pfn);
	*fmt_size(a, l.lowmem_limit) = 0;
	klog("        the %s split allows at most %s of lowmem (MAXMEM)",
	     l.profile, a);
	klog("Virtual kernel memory layout:");
	range("fixmap", l.fixaddr_start, l.fixmap_end);
	range("  local", l.kmap_local_start, l.kmap_local_end);
	if (l.pkmap_base > l.page_offset) {
		range("pkmap", l.pkmap_base, l.pkmap_end);
		range("vmalloc", l.vmalloc_start, l.vmalloc_end);
		range("lowmem", l.page_offset, l.high_memory);
	} else {
		range("vmalloc", l.vmalloc_start, l.vmalloc_end);
		range("lowmem", l.page_offset, l.high_memory);
		range("pkmap", l.pkmap_base, l.pkmap_end);
	}
	klog("pkmap: %u slots of %u bytes from 0x%08llx, %u colour%s, "
	     "page_address() hash of %u buckets; %u local-map slots a CPU "
	     "(%u CPUs in the fixmap, CPU 0 used)", l.last_pkmap, l.page_size,
	     (unsigned long long)l.pkmap_base, l.colors, l.colors == 1 ? "" : "s",
	     l.pa_hash_size, l.km_max_idx - 1, l.nr_cpus);
	klog("mem_map: %llu pages x %zu B = %llu KiB (here; the kernel's struct "
	     "page is %u B)", (unsigned long long)l.max_pfn,
	     sizeof(struct km_page),
	     (unsigned long long)(l.max_pfn * sizeof(struct km_page) >> 10),
	     l.struct_page_size);
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

static bool cmdline_has(const char *cmd, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = cmd; p && *p;) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		if ((size_t)(e - p) == n && !memcmp(p, word, n))
			return true;
		p = e;
	}
	return false;
}

void kernel_main(uint32_t magic, uint32_t mbi_phys);

void kernel_main(uint32_t magic, uint32_t mbi_phys)
{
	console_init();
	idt_init();
	klog("kmap kernel %s: x86 32-bit, one CPU, cooperative threads",
	     "0.1.0");
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
	struct replay_cfg cfg;
	int rc = replay_check(name, trace, size, &cfg);
	if (rc)
		kexit(rc);
	klog("trace %s: %zu bytes, %lu operations, %u task%s", name, size,
	     cfg.ops, cfg.ntasks, cfg.ntasks == 1 ? "" : "s");

	static struct km_core k;
	if (km__layout_compute(&k, cfg.profile, cfg.mem, cfg.last_pkmap,
	                       cfg.colors, 0, 0))
		kpanic(KEXIT_TRACE, "the machine line does not make a machine");
	struct km_page *mem_map = kalloc(k.max_pfn * sizeof(struct km_page));
	void *arena = kalloc(km__core_arena_size(k.last_pkmap, k.colors,
	                                         k.nr_cpus));
	uint32_t *page_slot = cfg.policy == KM_POLICY_LINUX ? NULL :
	                      kalloc(k.max_pfn * sizeof(uint32_t));
	km__core_init(&k, mem_map, arena);
	km__policy_init(&k, (enum km_policy)cfg.policy, page_slot);
	k.be = &km_mmu_ops;
	k.be_ctx = NULL;
	log_machine(&k, cfg.policy_name);

	bool pae = !strcmp(cfg.profile->name, "x86-32-pae");
	int r = mm_setup(&k, pae);
	if (r)
		kexit(r == -EADDRINUSE ? KEXIT_MOVE : KEXIT_NORUN);
	mm_log_backing(&k);
	int check = cmdline_has(cmdline, "check=0") ? 0 :
	            cmdline_has(cmdline, "check=all") ? 1 : 2;
	if (cmdline_has(cmdline, "tlb=noflush")) {
		mm_tlb_noflush = true;
		klog("tlb=noflush: TLB flushes are SKIPPED; stale translations "
		     "will show as wrong bytes");
	}
	klog("replaying%s", check == 1 ? ", checking the invariants after every "
	     "line" : check ? ", checking the invariants after every line (every "
	     "64th past 5000)" : "");
	rc = replay_run(&k, cfg.policy_name, trace, size, check);
	mm_log_stats();
	kexit(rc);
}
