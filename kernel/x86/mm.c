/*
 * mm.c - x86 memory: the multiboot memory map, the page tables (two-level
 * for x86-32, arm and arm-2g; three-level PAE for x86-32-pae) and the
 * arch_ hooks of the MMU backend (kernel/mem.c has the rest: the boot
 * allocator, the frames behind the trace's pfns, the backend itself).
 *
 * The virtual layout is the trace machine's own, computed by the core
 * (km__layout_compute), the same numbers `kmap layout` prints:
 *
 *   [PAGE_OFFSET, high_memory)   the direct map of lowmem: pfn P at
 *                                PAGE_OFFSET + P * 4 KiB, global PTEs
 *   [PKMAP_BASE, +LAST_PKMAP pages)  the pkmap window: empty until
 *                                kmap_high's set_pte_at
 *   the fixmap's kmap area       the local maps (kmap_local, kmap_atomic)
 *   [VMALLOC_START, VMALLOC_END) vmap's areas, when the trace vmaps
 *
 * and the kernel itself sits at KERNEL_VBASE (0xf8800000) + physical, not
 * at PAGE_OFFSET + 1 MiB as Linux's does: a trace may name any lowmem pfn,
 * pfn 256 included, and read or write it through PAGE_OFFSET + pfn * 4 KiB,
 * so the whole direct map belongs to the trace's machine. 0xf8800000 lies
 * above every profile's lowmem (high_memory is at most 0xf7bfe000 on x86,
 * 0xf0000000 on arm) and below every pkmap window of up to 4096 slots and
 * every fixmap. arch_mm_setup checks that the machine at hand leaves the
 * kernel's range free; when a window of many thousands of slots does not,
 * or the trace vmaps (0xf8800000 is in every profile's vmalloc area),
 * the kernel says so (exit status 5) and kernel/run-qemu.sh boots the
 * other image, linked at 0x40000000, below every profile's kernel space.
 *
 * pfn P is backed by frame P where that is usable, not the kernel's and
 * below 4 GiB without PAE (kernel/mem.c); every pfn above 4 GiB of a PAE
 * machine booted with enough RAM is the real frame above 4 GiB of the same
 * number.
 */
#include "arch.h"
#include "kernel.h"
#include "multiboot.h"

#include <errno.h>

#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* The memory map                                                          */
/* ---------------------------------------------------------------------- */

#define MAX_E820 64

struct e820 {
	uint64_t addr, len;
	uint32_t type;
};

static struct e820 e820[MAX_E820];
static unsigned nr_e820;

void mm_early(const struct mb_info *mbi, uint32_t reserved_end)
{
	if (mbi->flags & MB_INFO_MEM_MAP) {
		uint32_t off = 0;
		while (off + 4 <= mbi->mmap_length && nr_e820 < MAX_E820) {
			const struct mb_mmap *m = kvirt(mbi->mmap_addr + off);
			e820[nr_e820++] = (struct e820){ m->addr, m->len, m->type };
			off += m->size + 4;
		}
	} else if (mbi->flags & MB_INFO_MEMORY) {
		e820[nr_e820++] = (struct e820){ 0, (uint64_t)mbi->mem_lower << 10, 1 };
		e820[nr_e820++] = (struct e820){ 1u << 20,
		                                 (uint64_t)mbi->mem_upper << 10, 1 };
	}
	for (unsigned i = 0; i < nr_e820; i++)
		if (e820[i].type == 1)
			mem_add_usable(e820[i].addr, e820[i].len);
	mem_init(reserved_end);
}

void mm_log_e820(void)
{
	static const char *const names[] = { "?", "usable", "reserved",
	                                     "ACPI data", "ACPI NVS", "unusable" };
	klog("BIOS-provided physical RAM map (multiboot):");
	for (unsigned i = 0; i < nr_e820; i++)
		klog("BIOS-e820: [mem 0x%016llx-0x%016llx] %s",
		     (unsigned long long)e820[i].addr,
		     (unsigned long long)(e820[i].addr + e820[i].len - 1),
		     e820[i].type <= 5 ? names[e820[i].type] : "type?");
}

/* ---------------------------------------------------------------------- */
/* Page tables                                                             */
/* ---------------------------------------------------------------------- */

#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_G 0x100ull
#define PTE_FRAME_MASK 0x000ffffffffff000ull

static bool pae;
static uint32_t *pd32;          /* two-level: the page directory */
static uint64_t *pdpt;          /* PAE: the 4 PDPTEs */
static uint64_t *pd64[4];       /* PAE: the 4 page directories */
static uint32_t cr3_val;
static bool pge;                /* global pages: CR4.PGE */

/* The PTE of @va, allocating its page table when @alloc; else NULL. */
static void *pte_ptr(uintptr_t va, bool alloc)
{
	if (!pae) {
		uint32_t *pde = &pd32[va >> 22];
		if (!(*pde & PTE_P)) {
			if (!alloc)
				return NULL;
			*pde = kphys(kalloc(PAGE_SIZE)) | (uint32_t)(PTE_P | PTE_RW);
		}
		uint32_t *pt = kvirt(*pde & ~0xfffu);
		return &pt[(va >> 12) & 1023];
	}
	uint64_t *pde = &pd64[va >> 30][(va >> 21) & 511];
	if (!(*pde & PTE_P)) {
		if (!alloc)
			return NULL;
		*pde = kphys(kalloc(PAGE_SIZE)) | PTE_P | PTE_RW;
	}
	uint64_t *pt = kvirt(*pde & PTE_FRAME_MASK);
	return &pt[(va >> 12) & 511];
}

static void ensure_pts(uint64_t start, uint64_t end)
{
	uint64_t step = pae ? (2u << 20) : (4u << 20);
	for (uint64_t va = start & ~(step - 1); va < end; va += step)
		pte_ptr((uintptr_t)va, true);
}

/* Write a PTE: the high half first, so a present entry is never torn. */
static void pte_write(void *p, uint64_t v)
{
	if (!pae) {
		*(volatile uint32_t *)p = (uint32_t)v;
		return;
	}
	volatile uint32_t *w = p;
	if (v & PTE_P) {
		w[0] = 0;
		w[1] = (uint32_t)(v >> 32);
		w[0] = (uint32_t)v;
	} else {
		w[0] = (uint32_t)v;
		w[1] = (uint32_t)(v >> 32);
	}
}

static uint64_t pte_read(const void *p)
{
	if (!pae)
		return *(const volatile uint32_t *)p;
	const volatile uint32_t *w = p;
	return (uint64_t)w[1] << 32 | w[0];
}

static void map_page(uintptr_t va, uint64_t frame, uint64_t flags)
{
	void *p = pte_ptr(va, false);
	if (!p)
		kpanic(KEXIT_BUG, "map_page: no page table for 0x%08lx",
		       (unsigned long)va);
	pte_write(p, frame << PAGE_SHIFT | flags);
}

/* The frame @va translates to, walking the tables as the MMU would. */
static int translate(uintptr_t va, uint64_t *frame)
{
	void *p = pte_ptr(va, false);
	uint64_t e = p ? pte_read(p) : 0;
	if (!(e & PTE_P))
		return -EFAULT;
	*frame = (e & PTE_FRAME_MASK) >> PAGE_SHIFT;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Building the machine's tables                                           */
/* ---------------------------------------------------------------------- */

void km_paging_switch(uint32_t cr3, uint32_t cr4);

static uintptr_t scratch_va;            /* the kernel's page for clearing */

int arch_mm_setup(struct km_core *k)
{
	uint32_t a, b, c, d;
	bool use_pae = k->profile->pte_size == 8;
	cpuid(1, &a, &b, &c, &d);
	if (use_pae && !(d & (1u << 6))) {
		klog("this CPU has no PAE");
		return -EINVAL;
	}
	pge = d & (1u << 13);
	pae = use_pae;

	uint64_t kstart = (uint64_t)(uintptr_t)_kernel_phys_start;
	uintptr_t loc_lo = km__local_low(k, k->nr_cpus - 1);

	/* the tables' top levels, and every page table the machine needs */
	if (!pae) {
		pd32 = kalloc(PAGE_SIZE);
	} else {
		pdpt = kalloc(PAGE_SIZE);
		for (unsigned i = 0; i < 4; i++) {
			pd64[i] = kalloc(PAGE_SIZE);
			pdpt[i] = kphys(pd64[i]) | PTE_P;
		}
	}
	cr3_val = pae ? kphys(pdpt) : kphys(pd32);
	ensure_pts(kstart, kstart + PAGE_SIZE);          /* the switch, 1:1 */
	ensure_pts(k->page_offset, k->high_memory);
	ensure_pts(PKMAP_ADDR(k, 0), PKMAP_ADDR(k, k->last_pkmap));
	ensure_pts(loc_lo, k->kmap_area[0] + PAGE_SIZE);
	if (mm_vmalloc)
		ensure_pts(k->vmalloc_start, k->vmalloc_end);
	/* the kernel's own map, up to where the allocator stands now (the
	 * page tables for this range are taken before the range is fixed) */
	uint64_t kend = mem_next_free();
	ensure_pts(KERNEL_VBASE + kstart, KERNEL_VBASE + kend + (8u << 20));
	kend = mem_next_free();

	/* from here on the kernel's frames are fixed */
	uint64_t kernel_first = kstart >> PAGE_SHIFT, kernel_last = kend >> PAGE_SHIFT;
	mem_freeze(kernel_first, kernel_last);
	scratch_va = (uintptr_t)(KERNEL_VBASE + kend);
	uint64_t kva_lo = KERNEL_VBASE + kstart,
	         kva_hi = KERNEL_VBASE + kend + PAGE_SIZE;
	if (mm_overlaps_machine(kva_lo, kva_hi)) {
		klog("the kernel at 0x%08llx-0x%08llx is in the machine's "
		     "lowmem, pkmap window, fixmap or vmalloc area",
		     (unsigned long long)kva_lo, (unsigned long long)kva_hi);
		return -EADDRINUSE;
	}
	klog("kernel  : 0x%08llx - 0x%08llx (frames 0x%llx-0x%llx: image, "
	     "trace, mem_map, page tables)", (unsigned long long)kva_lo,
	     (unsigned long long)kva_hi, (unsigned long long)kernel_first,
	     (unsigned long long)kernel_last - 1);
	/* frames the PTEs can name: 4 GiB without PAE, MAXPHYADDR with it */
	int r = mem_backing_setup(k->pfn_offset, k->max_pfn, 0,
	                          pae ? 1ull << (cpu_phys_bits() - PAGE_SHIFT) :
	                                1ull << 20, 1,
	                          pae ? "below MAXPHYADDR" : "below 4 GiB (no PAE)");
	if (r)
		return r;

	/* fill: the kernel, the direct map; the window and fixmap stay empty */
	uint64_t g = pge ? PTE_G : 0;
	for (uint64_t f = kernel_first; f < kernel_last; f++)
		map_page((uintptr_t)(KERNEL_VBASE + (f << PAGE_SHIFT)), f,
		         PTE_P | PTE_RW | g);
	for (unsigned i = 0; i < mem_extents(); i++) {
		uint64_t pfn0, n, frame;
		mem_extent(i, &pfn0, &n, &frame);
		for (uint64_t j = 0; j < n; j++) {
			uint64_t pfn = pfn0 + j;
			if (pfn >= k->max_low_pfn)
				break;
			map_page(k->page_offset +
			         (uintptr_t)((pfn - k->pfn_offset) << PAGE_SHIFT),
			         frame + j, PTE_P | PTE_RW | g);
		}
	}
	/* the paging switch runs at its physical address: map it 1:1 */
	if ((uintptr_t)km_paging_switch + 64 > kstart + PAGE_SIZE)
		kpanic(KEXIT_BUG, "km_paging_switch is not in the first page of .boot");
	map_page((uintptr_t)kstart, kstart >> PAGE_SHIFT, PTE_P | PTE_RW);

	uint32_t cr4 = (read_cr4() & ~(CR4_PAE | CR4_PGE | CR4_PSE)) |
	               (pae ? CR4_PAE : 0) | (pge ? CR4_PGE : 0);
	km_paging_switch(cr3_val, cr4);
	/* the 1:1 page is not needed any more; it is not global */
	pte_write(pte_ptr((uintptr_t)kstart, false), 0);
	write_cr3(cr3_val);
	klog("paging: %s, CR3 0x%08x, CR4 0x%08x (%sPGE%s)",
	     pae ? "PAE, three levels (PDPT, PD, PT), 8-byte PTEs" :
	           "two levels (PD, PT), 4-byte PTEs",
	     read_cr3(), read_cr4(), pae ? "PAE, " : "",
	     pge ? ": the kernel and the direct map are global" : " absent");
	mm_log_backing(k, 0);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The MMU backend's hooks (kernel/mem.c)                                  */
/* ---------------------------------------------------------------------- */

/*
 * flush_tlb_kernel_range(): one invlpg per page up to this many pages,
 * else a CR3 reload. The same ceiling as Linux's
 * tlb_single_page_flush_ceiling (33): past a few dozen pages the invlpgs
 * (each a serialising instruction that probes the TLB) cost more than
 * dropping the non-global entries and refilling the few the replay uses.
 * The window's PTEs are not global, so a CR3 reload drops them; the
 * kernel's own and the direct map's are, and survive it.
 */
#define FLUSH_CEILING 33

static uint64_t n_invlpg, n_cr3_reloads;

void arch_set_pte(uintptr_t va, uint64_t frame)
{
	map_page(va, frame, PTE_P | PTE_RW);
}

void arch_clear_pte(uintptr_t va)
{
	pte_write(pte_ptr(va, false), 0);
}

int arch_translate(uintptr_t va, uint64_t *frame)
{
	return translate(va, frame);
}

void arch_flush_tlb_range(uintptr_t start, uintptr_t end)
{
	uint64_t pages = ((uint64_t)end - start) >> PAGE_SHIFT;
	if (pages > FLUSH_CEILING) {
		write_cr3(cr3_val);
		n_cr3_reloads++;
		return;
	}
	for (uintptr_t va = start; va < end; va += PAGE_SIZE)
		invlpg(va);
	n_invlpg += pages;
}

void arch_flush_tlb_one(uintptr_t va)
{
	invlpg(va);
	n_invlpg++;
}

/* clear_highpage(): through the kernel's scratch page */
void arch_clear_frame(uint64_t frame)
{
	map_page(scratch_va, frame, PTE_P | PTE_RW);
	invlpg(scratch_va);
	memset((void *)scratch_va, 0, PAGE_SIZE);
	pte_write(pte_ptr(scratch_va, false), 0);
	invlpg(scratch_va);
}

void arch_tlb_stats(char *buf, size_t n)
{
	snprintf(buf, n, "%llu invlpg, %llu CR3 reloads",
	         (unsigned long long)n_invlpg, (unsigned long long)n_cr3_reloads);
}
