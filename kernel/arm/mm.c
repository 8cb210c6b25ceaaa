/*
 * mm.c - ARMv7-A memory: short-descriptor page tables for the trace's
 * machine and the arch_ hooks of the MMU backend (kernel/mem.c has the
 * rest: the boot allocator, the frames behind the pfns, the backend).
 *
 * The first level (L1) is 4096 word entries, one per MiB of the 4 GiB
 * space (TTBR0 alone, TTBCR.N = 0). The machine's layout is the core's
 * (km__layout_compute), the numbers `kmap layout` prints:
 *
 *   [PAGE_OFFSET, high_memory)  lowmem, 1 MiB sections as Linux maps it
 *                               (map_lowmem): pfn P at PAGE_OFFSET + P *
 *                               4 KiB, backed by one aligned MiB of frames
 *                               per section
 *   [PKMAP_BASE, +2 MiB)        the pkmap window: LAST_PKMAP (512) PTEs in
 *                               one page-table page laid out as Linux lays
 *                               one out on ARM (asm/pgtable-2level.h):
 *                               Linux's shadow PTEs for the two MiB at +0
 *                               and +1024, the two hardware L2 tables of
 *                               256 entries at +2048 and +3072, which the
 *                               pair of L1 entries of the 2 MiB point to
 *   the fixmap's kmap area      the local maps, in page-table pages of the
 *                               same layout
 *   [VMALLOC_START, VMALLOC_END) vmap's areas, when the trace vmaps: page-
 *                               table pages of the same layout
 *
 * The kernel itself runs at virtual = physical (arch.h), in sections of
 * its own below every window; its frames are the first MiBs of RAM, so the
 * pfns whose natural frames they are get spare frames past the machine's
 * (mem.c), whole aligned MiBs, so that lowmem stays sections.
 *
 * Barriers (ARM ARM B3.10, B3.10.1): a page-table write is followed by a
 * DSB before anything relies on it; TLB maintenance is DSB, the TLBI ops,
 * DSB, ISB, as Linux's v7wbi_flush_kern_tlb_range (the window's flush:
 * TLBIMVAIS per page, no ceiling) and local_flush_tlb_kernel_page (a
 * local map, on map and on unmap: TLBIMVA) do it. No TEX remapping: the
 * memory types are TEX/C/B as written (normal, write-back write-allocate,
 * shareable; the UART as shareable device).
 */
#include "arch.h"
#include "kernel.h"

#include <errno.h>

#include <stdio.h>
#include <string.h>

/* L1 descriptors */
#define L1_TABLE 0x1u                 /* a pointer to an L2 table */
#define L1_SECT 0x2u
#define L1_S_B (1u << 2)
#define L1_S_C (1u << 3)
#define L1_S_XN (1u << 4)
#define L1_S_AP0 (1u << 10)           /* AP 01: kernel read/write */
#define L1_S_TEX0 (1u << 12)
#define L1_S_SHARED (1u << 16)
#define L1_S_SUPER (1u << 18)
#define SECT_MEM (L1_SECT | L1_S_B | L1_S_C | L1_S_AP0 | L1_S_TEX0 | L1_S_SHARED)
#define SECT_DEV (L1_SECT | L1_S_B | L1_S_XN | L1_S_AP0)

/* L2 small-page descriptors (the hardware's) */
#define L2_XN (1u << 0)
#define L2_SMALL (1u << 1)
#define L2_B (1u << 2)
#define L2_C (1u << 3)
#define L2_AP0 (1u << 4)
#define L2_TEX0 (1u << 6)
#define L2_SHARED (1u << 10)
#define PTE_HW_KERNEL (L2_SMALL | L2_XN | L2_B | L2_C | L2_AP0 | L2_TEX0 | L2_SHARED)

/* Linux's software PTE bits (asm/pgtable-2level.h): PAGE_KERNEL on an SMP
 * ARMv7, present, young, dirty, write-alloc memory, XN, shared. */
#define L_PTE_PRESENT (1u << 0)
#define L_PTE_YOUNG (1u << 1)
#define L_PTE_MT_WRITEALLOC (0x7u << 2)
#define L_PTE_DIRTY (1u << 6)
#define L_PTE_XN (1u << 9)
#define L_PTE_SHARED (1u << 10)
#define PTE_LINUX_KERNEL (L_PTE_PRESENT | L_PTE_YOUNG | L_PTE_MT_WRITEALLOC | \
                          L_PTE_DIRTY | L_PTE_XN | L_PTE_SHARED)

/* One page-table page: Linux pt 0 and 1, then h/w pt 0 and 1. */
#define PTE_HWTABLE_OFF 2048u
#define PTRS_PER_PTE 512u
#define HW_PTRS 256u

/* TTBR0's table-walk attributes: inner and outer write-back
 * write-allocate, shareable, not outer shareable (Linux's TTB_FLAGS_SMP). */
#define TTB_FLAGS 0x6au

/* ---------------------------------------------------------------------- */
/* The boot tables: RAM's first GiB and the UART, virtual = physical       */
/* ---------------------------------------------------------------------- */

static uint32_t boot_l1[4096] __attribute__((aligned(16384)));

void arm_boot_mmu(uint64_t uart)
{
	bool on = read_sctlr() & SCTLR_M;
	for (uint32_t mb = 0x400; mb < 0x800; mb++)
		boot_l1[mb] = mb << SECTION_SHIFT | SECT_MEM;
	boot_l1[uart >> SECTION_SHIFT] =
		(uint32_t)(uart & ~(uint64_t)(SECTION_SIZE - 1)) | SECT_DEV;
	dsb(ishst);
	if (on) {
		tlbiall();
		dsb(ish);
		isb();
		return;
	}
	/* domain 0, client: the descriptors' permissions apply */
	write_dacr(1);
	write_ttbcr(0);
	write_ttbr0((uint32_t)(uintptr_t)boot_l1 | TTB_FLAGS);
	tlbiall();
	iciallu();
	bpiall();
	dsb(sy);
	isb();
	uint32_t sctlr = read_sctlr();
	sctlr &= ~(SCTLR_A | SCTLR_TRE | SCTLR_AFE | SCTLR_V);
	sctlr |= SCTLR_M | SCTLR_C | SCTLR_I | SCTLR_Z;
	write_sctlr(sctlr);
	isb();
}

/* ---------------------------------------------------------------------- */
/* The machine's tables                                                    */
/* ---------------------------------------------------------------------- */

static uint32_t *l1;                     /* the machine's L1 table */

/*
 * Clearing frames (arch_clear_frame): each frame through the next page of
 * the scratch window, never mapped since the last TLBIALL, so the
 * clearing needs no TLB maintenance of its own that could hide a stale
 * translation the replay tests (under qemu, a TLBIMVA drops the whole TLB
 * once 1 MiB sections are in it); one TLBIALL when the window wraps.
 */
#define SCRATCH_BYTES (8u << 20)
static uintptr_t scratch_va;             /* the window's start */
static unsigned scratch_next;            /* its next fresh page */

/* The page-table page of the 2 MiB around @va, NULL when there is none;
 * made with @alloc. */
static uint32_t *pte_page(uintptr_t va, bool alloc)
{
	uint32_t i = (uint32_t)(va >> SECTION_SHIFT) & ~1u;
	/* either entry of the pair: a section may have replaced the other */
	if ((l1[i] & 3u) == L1_TABLE)
		return kvirt(l1[i] & ~0xfffu);
	if ((l1[i + 1] & 3u) == L1_TABLE)
		return kvirt(l1[i + 1] & ~0xfffu);
	if (!alloc)
		return NULL;
	if (l1[i] || l1[i + 1])
		kpanic(KEXIT_BUG, "the 2 MiB at 0x%08x are already mapped",
		       i << SECTION_SHIFT);
	uint32_t *page = kalloc(PAGE_SIZE);
	uint32_t hw = kphys(page) + PTE_HWTABLE_OFF;
	/* __pmd_populate(): the pair of L1 entries, 1 KiB apart */
	l1[i] = hw | L1_TABLE;
	l1[i + 1] = (hw + HW_PTRS * 4) | L1_TABLE;
	return page;
}

static void pte_pages(uint64_t start, uint64_t end)
{
	for (uint64_t va = start & ~(uint64_t)(2 * SECTION_SIZE - 1); va < end;
	     va += 2 * SECTION_SIZE)
		pte_page((uintptr_t)va, true);
}

/* set_pte_ext(): the Linux PTE, then the hardware's 2048 bytes above it. */
static void pte_write(uint32_t *page, uintptr_t va, uint64_t frame, bool map)
{
	unsigned idx = (unsigned)(va >> PAGE_SHIFT) & (PTRS_PER_PTE - 1);
	uint32_t base = (uint32_t)frame << PAGE_SHIFT;
	page[idx] = map ? base | PTE_LINUX_KERNEL : 0;
	page[PTE_HWTABLE_OFF / 4 + idx] = map ? base | PTE_HW_KERNEL : 0;
}

static bool sectionable(uint64_t pfn, uint64_t max_low_pfn)
{
	return pfn + HW_PTRS <= max_low_pfn &&
	       !(mem_frame_of(pfn) & (HW_PTRS - 1)) && mem_contiguous(pfn, HW_PTRS);
}

static void log_table_page(const char *what, uintptr_t va)
{
	uint32_t *page = pte_page(va, false);
	uintptr_t lo = va & ~(uintptr_t)(2 * SECTION_SIZE - 1);
	klog("  %-6s 0x%08lx-0x%08lx: L1[%u] L1[%u] -> page 0x%08x (Linux pt "
	     "0/1 at +0/+1024, h/w pt 0/1 at +2048/+3072)", what,
	     (unsigned long)lo, (unsigned long)(lo + 2 * SECTION_SIZE - 1),
	     (unsigned)(lo >> SECTION_SHIFT), (unsigned)(lo >> SECTION_SHIFT) + 1,
	     kphys(page));
}

int arch_mm_setup(struct km_core *k)
{
	/*
	 * pfn P's natural frame: P itself where the profile puts PHYS_OFFSET
	 * at the board's RAM (arm-virt), else the RAM's (P - pfn_offset)-th
	 * (arm, arm-2g: pfns from 0, as on a board with RAM at 0)
	 */
	uint64_t delta = mem_first_frame() - k->pfn_offset;
	uintptr_t win_lo = PKMAP_ADDR(k, 0), win_hi = PKMAP_ADDR(k, k->last_pkmap);
	uintptr_t loc_lo = km__local_low(k, k->nr_cpus - 1);
	uintptr_t loc_hi = k->kmap_area[0] + PAGE_SIZE;

	while (mem_next_free() & 0x3fff)        /* TTBR0: 16 KiB aligned */
		kalloc(PAGE_SIZE);
	l1 = kalloc(16384);
	pte_pages(win_lo, win_hi);
	pte_pages(loc_lo, loc_hi);
	if (mm_vmalloc)
		pte_pages(k->vmalloc_start, k->vmalloc_end);
	scratch_va = (uintptr_t)KMAP_PHYS_END;
	pte_pages(scratch_va, scratch_va + SCRATCH_BYTES);
	uint64_t low_pages = k->max_low_pfn - k->pfn_offset;
	if (low_pages & (HW_PTRS - 1))            /* lowmem's last, partial MiB */
		pte_pages(k->page_offset + ((low_pages & ~(uint64_t)(HW_PTRS - 1)) << PAGE_SHIFT),
		          k->high_memory);

	/* from here on the kernel's frames are fixed: whole MiBs */
	uint64_t kstart = KMAP_PHYS_START;
	uint64_t kend = (mem_next_free() + SECTION_SIZE - 1) & ~(uint64_t)(SECTION_SIZE - 1);
	mem_freeze(kstart >> PAGE_SHIFT, kend >> PAGE_SHIFT);
	uint64_t uart = arm_uart_base();
	if (mm_overlaps_machine(kstart, kend) ||
	    mm_overlaps_machine(scratch_va, scratch_va + SCRATCH_BYTES) ||
	    mm_overlaps_machine(uart, uart + SECTION_SIZE)) {
		klog("the kernel at 0x%08llx-0x%08llx, its scratch window or the "
		     "UART is in the machine's lowmem, pkmap window, fixmap or "
		     "vmalloc area",
		     (unsigned long long)kstart, (unsigned long long)kend);
		return -EADDRINUSE;
	}
	klog("kernel  : 0x%08llx - 0x%08llx (frames 0x%llx-0x%llx: image, "
	     "trace, mem_map, page tables), virtual = physical",
	     (unsigned long long)kstart, (unsigned long long)kend,
	     (unsigned long long)(kstart >> PAGE_SHIFT),
	     (unsigned long long)(kend >> PAGE_SHIFT) - 1);
	int r = mem_backing_setup(k->pfn_offset, k->max_pfn, delta,
	                          1ull << (32 - PAGE_SHIFT),
	                          HW_PTRS, "below 4 GiB (short-descriptor "
	                          "tables: 32-bit physical addresses)");
	if (r)
		return r;

	/* fill: the kernel, the UART, lowmem; the window and fixmap stay empty */
	for (uint64_t a = kstart; a < kend; a += SECTION_SIZE)
		l1[a >> SECTION_SHIFT] = (uint32_t)a | SECT_MEM;
	l1[uart >> SECTION_SHIFT] = (uint32_t)uart | SECT_DEV;
	unsigned sections = 0, pages = 0;
	for (uint64_t pfn = k->pfn_offset; pfn < k->max_low_pfn; pfn += HW_PTRS) {
		uintptr_t va = k->page_offset +
		               (uintptr_t)((pfn - k->pfn_offset) << PAGE_SHIFT);
		if (sectionable(pfn, k->max_low_pfn)) {
			l1[va >> SECTION_SHIFT] = (uint32_t)(mem_frame_of(pfn) << PAGE_SHIFT) |
			                          SECT_MEM | L1_S_XN;
			sections++;
			continue;
		}
		uint32_t *page = pte_page(va, false);
		if (!page)
			kpanic(KEXIT_BUG, "lowmem at 0x%08lx is not one aligned MiB of "
			       "frames and has no page table", (unsigned long)va);
		for (uint64_t p = pfn; p < pfn + HW_PTRS && p < k->max_low_pfn; p++) {
			pte_write(page, va + (uintptr_t)((p - pfn) << PAGE_SHIFT),
			          mem_frame_of(p), true);
			pages++;
		}
	}
	dsb(ishst);
	write_ttbr0(kphys(l1) | TTB_FLAGS);
	isb();
	tlbiall();
	bpiall();
	dsb(ish);
	isb();
	klog("paging: ARMv7 short descriptors, L1 table at 0x%08x (4096 "
	     "entries, TTBR0 0x%08x, SCTLR 0x%08x); lowmem: %u sections of "
	     "1 MiB%s", kphys(l1), read_ttbr0(), read_sctlr(), sections,
	     pages ? " and small pages" : "");
	klog("page-table pages (one 4 KiB page per 2 MiB, as Linux's ARM "
	     "pgtable-2level.h):");
	for (uint64_t va = win_lo & ~(uint64_t)(2 * SECTION_SIZE - 1); va < win_hi;
	     va += 2 * SECTION_SIZE)
		log_table_page("pkmap", (uintptr_t)va);
	for (uint64_t va = loc_lo & ~(uint64_t)(2 * SECTION_SIZE - 1); va < loc_hi;
	     va += 2 * SECTION_SIZE)
		log_table_page("fixmap", (uintptr_t)va);
	mm_log_backing(k, delta);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The MMU backend's hooks (kernel/mem.c)                                  */
/* ---------------------------------------------------------------------- */

static uint64_t n_tlbimvais, n_tlbimva;

void arch_set_pte(uintptr_t va, uint64_t frame)
{
	uint32_t *page = pte_page(va, false);
	if (!page)
		kpanic(KEXIT_BUG, "set_pte: no page table for 0x%08lx",
		       (unsigned long)va);
	pte_write(page, va, frame, true);
	dsb(ishst);
}

void arch_clear_pte(uintptr_t va)
{
	uint32_t *page = pte_page(va, false);
	if (page) {
		pte_write(page, va, 0, false);
		dsb(ishst);
	}
}

/* The frame @va translates to, walking the tables as the MMU would. */
int arch_translate(uintptr_t va, uint64_t *frame)
{
	uint32_t e = l1[va >> SECTION_SHIFT];
	if ((e & 3u) == L1_SECT && !(e & L1_S_SUPER)) {
		*frame = (e >> PAGE_SHIFT & ~(uint64_t)(HW_PTRS - 1)) +
		         ((va >> PAGE_SHIFT) & (HW_PTRS - 1));
		return 0;
	}
	if ((e & 3u) != L1_TABLE)
		return -EFAULT;
	const uint32_t *hw = kvirt(e & ~0x3ffu);
	uint32_t pte = hw[(va >> PAGE_SHIFT) & (HW_PTRS - 1)];
	if (!(pte & L2_SMALL))
		return -EFAULT;
	*frame = pte >> PAGE_SHIFT;
	return 0;
}

/* flush_tlb_kernel_range(): every page by MVA, broadcast to the Inner
 * Shareable domain, then the branch predictor. */
void arch_flush_tlb_range(uintptr_t start, uintptr_t end)
{
	dsb(ishst);
	for (uintptr_t va = start & ~(uintptr_t)(PAGE_SIZE - 1); va < end;
	     va += PAGE_SIZE) {
		tlbimvais(va);
		n_tlbimvais++;
	}
	bpiallis();
	dsb(ish);
	isb();
}

/* local_flush_tlb_kernel_page(): this CPU only. */
void arch_flush_tlb_one(uintptr_t va)
{
	dsb(nshst);
	tlbimva(va & ~(uintptr_t)(PAGE_SIZE - 1));
	n_tlbimva++;
	dsb(nsh);
	isb();
}

/* clear_highpage(): through a fresh page of the scratch window. */
void arch_clear_frame(uint64_t frame)
{
	if (scratch_next == SCRATCH_BYTES >> PAGE_SHIFT) {
		/* every scratch page was used since the last TLBIALL */
		dsb(ishst);
		tlbiall();
		dsb(nsh);
		isb();
		scratch_next = 0;
	}
	uintptr_t va = scratch_va + ((uintptr_t)scratch_next++ << PAGE_SHIFT);
	uint32_t *page = pte_page(va, false);
	pte_write(page, va, frame, true);
	dsb(ishst);
	memset((void *)va, 0, PAGE_SIZE);
	pte_write(page, va, 0, false);
	dsb(ishst);
}

void arch_tlb_stats(char *buf, size_t n)
{
	snprintf(buf, n, "%llu TLBIMVAIS, %llu TLBIMVA",
	         (unsigned long long)n_tlbimvais, (unsigned long long)n_tlbimva);
}
