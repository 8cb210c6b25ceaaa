/*
 * mm.c - memory: the firmware's map, the boot allocator, the page tables
 * (two-level for x86-32, arm and arm-2g; three-level PAE for x86-32-pae),
 * the frames behind the trace's pfns, and the MMU as the core's backend.
 *
 * The virtual layout is the trace machine's own, computed by the core
 * (km__layout_compute), the same numbers `kmap layout` prints:
 *
 *   [PAGE_OFFSET, high_memory)   the direct map of lowmem: pfn P at
 *                                PAGE_OFFSET + P * 4 KiB, global PTEs
 *   [PKMAP_BASE, +LAST_PKMAP pages)  the pkmap window: empty until
 *                                kmap_high's set_pte_at
 *   the fixmap's kmap area       the local maps (kmap_local, kmap_atomic)
 *
 * and the kernel itself sits at KERNEL_VBASE (0xf8800000) + physical, not
 * at PAGE_OFFSET + 1 MiB as Linux's does: a trace may name any lowmem pfn,
 * pfn 256 included, and read or write it through PAGE_OFFSET + pfn * 4 KiB,
 * so the whole direct map belongs to the trace's machine. 0xf8800000 lies
 * above every profile's lowmem (high_memory is at most 0xf7bfe000 on x86,
 * 0xf0000000 on arm) and below every pkmap window of up to 4096 slots and
 * every fixmap. mm_setup checks that the machine at hand leaves the
 * kernel's range free; when a window of many thousands of slots does not,
 * the kernel says so (exit status 5) and kernel/run-qemu.sh boots the
 * other image, linked at 0x40000000, below every profile's kernel space.
 *
 * The trace's machine has max_pfn pages with no holes, as the model
 * assumes; real RAM has holes (below 1 MiB, the PCI hole under 4 GiB where
 * qemu moves RAM above 4 GiB) and holds this kernel. So pfn P is backed by
 * frame P itself whenever frame P is usable RAM, not the kernel's, and
 * reachable by the paging mode (below 4 GiB without PAE); every other pfn
 * is backed by a spare frame from the usable RAM at or above max_pfn, in
 * order. The backing is a short list of extents printed in the boot log.
 * Every pfn above 4 GiB of a PAE machine booted with enough RAM is the
 * real frame above 4 GiB of the same number.
 *
 * Physical memory starts zeroed in the trace's model; frames the firmware
 * used are not. A frame is cleared the first time the replay reads or
 * writes it (a bitmap of cleared frames), through a page of the kernel's
 * own, as clear_highpage() would, so that the clearing never depends on
 * the translations the replay is testing.
 */
#include "arch.h"
#include "kernel.h"
#include "multiboot.h"

#include <errno.h>

#include <string.h>

/* ---------------------------------------------------------------------- */
/* The memory map                                                          */
/* ---------------------------------------------------------------------- */

#define MAX_E820 64
#define MAX_RANGES 64
#define MAX_EXTENTS 128

struct e820 {
	uint64_t addr, len;
	uint32_t type;
};

struct range {
	uint64_t a, b; /* frames [a, b) */
};

static struct e820 e820[MAX_E820];
static unsigned nr_e820;
static struct range usable[MAX_RANGES]; /* whole usable frames, sorted */
static unsigned nr_usable;

static void add_usable(uint64_t a, uint64_t b)
{
	if (a >= b || nr_usable == MAX_RANGES)
		return;
	unsigned i = nr_usable++;
	while (i && usable[i - 1].a > a) {
		usable[i] = usable[i - 1];
		i--;
	}
	usable[i] = (struct range){ a, b };
}

/* Merge overlapping or touching usable ranges (already sorted). */
static void merge_usable(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nr_usable; i++) {
		if (n && usable[i].a <= usable[n - 1].b) {
			if (usable[i].b > usable[n - 1].b)
				usable[n - 1].b = usable[i].b;
			continue;
		}
		usable[n++] = usable[i];
	}
	nr_usable = n;
}

/* ---------------------------------------------------------------------- */
/* The boot allocator: frames after the kernel, the loader's data and the  */
/* trace, inside the kernel's own map                                      */
/* ---------------------------------------------------------------------- */

static uint64_t knext;      /* next free physical byte */
static bool kfrozen;        /* the backing is computed: no more frames */

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
			add_usable((e820[i].addr + PAGE_SIZE - 1) >> PAGE_SHIFT,
			           (e820[i].addr + e820[i].len) >> PAGE_SHIFT);
	merge_usable();
	knext = ((uint64_t)reserved_end + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
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

uint64_t mm_total_usable(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < nr_usable; i++)
		n += usable[i].b - usable[i].a;
	return n << PAGE_SHIFT;
}

static bool frames_usable(uint64_t a, uint64_t b)
{
	for (unsigned i = 0; i < nr_usable; i++)
		if (a >= usable[i].a && b <= usable[i].b)
			return true;
	return false;
}

void *kalloc(uint64_t bytes)
{
	bytes = (bytes + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	if (kfrozen)
		kpanic(KEXIT_BUG, "kalloc after the backing was fixed");
	if (!bytes)
		bytes = PAGE_SIZE;
	/* skip to the next usable range when this one is too short */
	while (!frames_usable(knext >> PAGE_SHIFT, (knext + bytes) >> PAGE_SHIFT)) {
		uint64_t next = UINT64_MAX;
		for (unsigned i = 0; i < nr_usable; i++)
			if ((usable[i].a << PAGE_SHIFT) > knext &&
			    (usable[i].a << PAGE_SHIFT) < next)
				next = usable[i].a << PAGE_SHIFT;
		if (next == UINT64_MAX || next >= BOOT_MAP_BYTES)
			kpanic(KEXIT_NORUN, "out of kernel memory: %llu KiB more wanted "
			       "at 0x%llx (the kernel's own map is %u MiB)",
			       (unsigned long long)(bytes >> 10),
			       (unsigned long long)knext, BOOT_MAP_BYTES >> 20);
		knext = next;
	}
	if (knext + bytes > BOOT_MAP_BYTES)
		kpanic(KEXIT_NORUN, "out of kernel memory: %llu KiB more wanted "
		       "(the kernel's own map is %u MiB)",
		       (unsigned long long)(bytes >> 10), BOOT_MAP_BYTES >> 20);
	void *p = kvirt(knext);
	knext += bytes;
	memset(p, 0, (size_t)bytes);
	return p;
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
/* The frames behind the trace's pfns                                      */
/* ---------------------------------------------------------------------- */

struct extent {
	uint64_t pfn, n, frame;
};

static struct extent ext[MAX_EXTENTS];
static unsigned nr_ext;
static uint64_t kernel_first, kernel_last; /* the kernel's frames [ , ) */
static uint64_t frame_limit;               /* frames the paging mode reaches */
static uint8_t *cleared;                   /* bitmap over frames */
static uint64_t cleared_frames;            /* its size in frames */

/*
 * The usable frames in [lo, hi) that are not the kernel's and that the
 * paging mode can reach, sorted; returns how many ranges.
 */
static unsigned good_frames(uint64_t lo, uint64_t hi, struct range *out)
{
	unsigned n = 0;
	if (hi > frame_limit)
		hi = frame_limit;
	for (unsigned i = 0; i < nr_usable; i++) {
		uint64_t a = usable[i].a > lo ? usable[i].a : lo;
		uint64_t b = usable[i].b < hi ? usable[i].b : hi;
		if (a >= b)
			continue;
		/* minus the kernel */
		if (kernel_last <= a || kernel_first >= b) {
			out[n++] = (struct range){ a, b };
		} else {
			if (a < kernel_first)
				out[n++] = (struct range){ a, kernel_first };
			if (kernel_last < b)
				out[n++] = (struct range){ kernel_last, b };
		}
		if (n >= MAX_RANGES - 1)
			break;
	}
	return n;
}

static int add_extent(uint64_t pfn, uint64_t n, uint64_t frame)
{
	if (nr_ext && ext[nr_ext - 1].pfn + ext[nr_ext - 1].n == pfn &&
	    ext[nr_ext - 1].frame + ext[nr_ext - 1].n == frame) {
		ext[nr_ext - 1].n += n;
		return 0;
	}
	if (nr_ext == MAX_EXTENTS)
		return -ENOSPC;
	ext[nr_ext++] = (struct extent){ pfn, n, frame };
	return 0;
}

static int compute_backing(uint64_t max_pfn)
{
	static struct range good[MAX_RANGES], spare[MAX_RANGES];
	unsigned ng = good_frames(0, max_pfn, good);
	unsigned ns = good_frames(max_pfn, UINT64_MAX, spare);
	unsigned gi = 0, si = 0;
	uint64_t p = 0, sc = ns ? spare[0].a : 0;
	while (p < max_pfn) {
		if (gi < ng && good[gi].a == p) {
			if (add_extent(p, good[gi].b - p, p))
				return -ENOSPC;
			p = good[gi++].b;
			continue;
		}
		uint64_t hole_end = gi < ng ? good[gi].a : max_pfn;
		while (p < hole_end) {
			if (si >= ns) {
				uint64_t short_by = max_pfn - p;
				for (unsigned i = gi; i < ng; i++)
					short_by -= good[i].b - good[i].a;
				klog("not enough RAM behind the machine: %llu more pages "
				     "(%llu MiB) wanted%s", (unsigned long long)short_by,
				     (unsigned long long)(short_by >> 8),
				     pae ? " below MAXPHYADDR" : " below 4 GiB (no PAE)");
				return -ENOMEM;
			}
			uint64_t take = hole_end - p;
			if (take > spare[si].b - sc)
				take = spare[si].b - sc;
			if (add_extent(p, take, sc))
				return -ENOSPC;
			p += take;
			sc += take;
			if (sc == spare[si].b && ++si < ns)
				sc = spare[si].a;
		}
	}
	return 0;
}

/* The frame behind @pfn (pfn < max_pfn). */
static uint64_t backing(uint64_t pfn)
{
	unsigned lo = 0, hi = nr_ext;
	while (hi - lo > 1) {
		unsigned mid = (lo + hi) / 2;
		if (ext[mid].pfn <= pfn)
			lo = mid;
		else
			hi = mid;
	}
	return ext[lo].frame + (pfn - ext[lo].pfn);
}

void mm_log_backing(const struct km_core *k)
{
	klog("pfn backing: %u extent%s for pfns 0-%llu (frame = pfn unless shown)",
	     nr_ext, nr_ext == 1 ? "" : "s", (unsigned long long)k->max_pfn - 1);
	unsigned shown = 0;
	for (unsigned i = 0; i < nr_ext; i++) {
		if (ext[i].pfn == ext[i].frame)
			continue;
		if (shown++ == 16) {
			klog("  ...");
			break;
		}
		klog("  pfn %llu-%llu -> frames 0x%llx-0x%llx (%llu pages)",
		     (unsigned long long)ext[i].pfn,
		     (unsigned long long)(ext[i].pfn + ext[i].n - 1),
		     (unsigned long long)ext[i].frame,
		     (unsigned long long)(ext[i].frame + ext[i].n - 1),
		     (unsigned long long)ext[i].n);
	}
	if (!shown)
		klog("  every pfn is its own frame");
}

/* ---------------------------------------------------------------------- */
/* Building the machine's tables                                           */
/* ---------------------------------------------------------------------- */

void km_paging_switch(uint32_t cr3, uint32_t cr4);

/* The machine's regions, for the backend's checks. */
static uintptr_t win_lo, win_hi;        /* the pkmap window */
static uintptr_t loc_lo, loc_hi;        /* the fixmap's kmap area */
static uintptr_t low_lo, low_hi;        /* the direct map */
static uint64_t mmu_max_pfn;
static uintptr_t scratch_va;            /* the kernel's page for clearing */

static bool overlaps(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	return a < d && c < b;
}

int mm_setup(struct km_core *k, bool use_pae)
{
	uint32_t a, b, c, d;
	cpuid(1, &a, &b, &c, &d);
	if (use_pae && !(d & (1u << 6))) {
		klog("this CPU has no PAE");
		return -EINVAL;
	}
	pge = d & (1u << 13);
	pae = use_pae;
	/* frames the PTEs can name: 4 GiB without PAE, MAXPHYADDR with it */
	frame_limit = pae ? 1ull << (cpu_phys_bits() - PAGE_SHIFT) : 1ull << 20;

	uint64_t kstart = (uint64_t)(uintptr_t)_kernel_phys_start;
	low_lo = k->page_offset;
	low_hi = (uintptr_t)k->high_memory;
	win_lo = PKMAP_ADDR(k, 0);
	win_hi = PKMAP_ADDR(k, k->last_pkmap);
	loc_lo = km__local_low(k, k->nr_cpus - 1);
	loc_hi = k->kmap_area[0] + PAGE_SIZE;
	mmu_max_pfn = k->max_pfn;

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
	uint64_t top_frame = nr_usable ? usable[nr_usable - 1].b : 0;
	cleared_frames = top_frame;
	cleared = kalloc((top_frame + 7) / 8);
	ensure_pts(kstart, kstart + PAGE_SIZE);          /* the switch, 1:1 */
	ensure_pts(low_lo, low_hi);
	ensure_pts(win_lo, win_hi);
	ensure_pts(loc_lo, loc_hi);
	/* the kernel's own map, up to where the allocator stands now (the
	 * page tables for this range are taken before the range is fixed) */
	uint64_t kend = knext;
	ensure_pts(KERNEL_VBASE + kstart, KERNEL_VBASE + kend + (8u << 20));
	kend = knext;

	/* from here on the kernel's frames are fixed */
	kfrozen = true;
	kernel_first = kstart >> PAGE_SHIFT;
	kernel_last = kend >> PAGE_SHIFT;
	scratch_va = (uintptr_t)(KERNEL_VBASE + kend);
	uint64_t kva_lo = KERNEL_VBASE + kstart,
	         kva_hi = KERNEL_VBASE + kend + PAGE_SIZE;
	if (overlaps(kva_lo, kva_hi, low_lo, low_hi) ||
	    overlaps(kva_lo, kva_hi, win_lo, win_hi) ||
	    overlaps(kva_lo, kva_hi, loc_lo, loc_hi)) {
		klog("the kernel at 0x%08llx-0x%08llx is in the machine's "
		     "lowmem, pkmap window or fixmap", (unsigned long long)kva_lo,
		     (unsigned long long)kva_hi);
		return -EADDRINUSE;
	}
	klog("kernel  : 0x%08llx - 0x%08llx (frames 0x%llx-0x%llx: image, "
	     "trace, mem_map, page tables)", (unsigned long long)kva_lo,
	     (unsigned long long)kva_hi, (unsigned long long)kernel_first,
	     (unsigned long long)kernel_last - 1);
	int r = compute_backing(k->max_pfn);
	if (r)
		return r;

	/* fill: the kernel, the direct map; the window and fixmap stay empty */
	uint64_t g = pge ? PTE_G : 0;
	for (uint64_t f = kernel_first; f < kernel_last; f++)
		map_page((uintptr_t)(KERNEL_VBASE + (f << PAGE_SHIFT)), f,
		         PTE_P | PTE_RW | g);
	for (unsigned i = 0; i < nr_ext; i++) {
		for (uint64_t j = 0; j < ext[i].n; j++) {
			uint64_t pfn = ext[i].pfn + j;
			if (pfn >= k->max_low_pfn)
				break;
			map_page(low_lo + (uintptr_t)(pfn << PAGE_SHIFT),
			         ext[i].frame + j, PTE_P | PTE_RW | g);
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
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The backend: the MMU                                                    */
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

static struct {
	uint64_t pte_sets, pte_clears, invlpg, cr3_reloads, range_flushes;
	uint64_t one_flushes, accesses, zeroed;
} st;

/*
 * Debug (command line tlb=noflush): make every TLB flush a no-op, to show
 * that they matter. qemu's TLB, like a real one, then keeps translations of
 * cleared and remapped slots, and the replay reads the wrong pages
 * (tests/qemu/stale-tlb.trace).
 */
bool mm_tlb_noflush;

static bool in_mmu_range(uintptr_t va)
{
	return (va >= win_lo && va < win_hi) || (va >= loc_lo && va < loc_hi);
}

static int mmu_set_pte(void *be, uintptr_t va, uint64_t pfn)
{
	(void)be;
	if (!in_mmu_range(va) || pfn >= mmu_max_pfn)
		return -EINVAL;
	map_page(va, backing(pfn), PTE_P | PTE_RW);
	st.pte_sets++;
	return 0;
}

static int mmu_clear_ptes(void *be, uintptr_t va, unsigned nr)
{
	(void)be;
	for (unsigned i = 0; i < nr; i++)
		if (!in_mmu_range(va + ((uintptr_t)i << PAGE_SHIFT)))
			return -EINVAL;
	for (unsigned i = 0; i < nr; i++)
		pte_write(pte_ptr(va + ((uintptr_t)i << PAGE_SHIFT), false), 0);
	st.pte_clears += nr;
	return 0;
}

static int mmu_flush_tlb_range(void *be, uintptr_t start, uintptr_t end)
{
	(void)be;
	uint64_t pages = ((uint64_t)end - start) >> PAGE_SHIFT;
	st.range_flushes++;
	if (mm_tlb_noflush)
		return 0;
	if (pages > FLUSH_CEILING) {
		write_cr3(cr3_val);
		st.cr3_reloads++;
		return 0;
	}
	for (uintptr_t va = start; va < end; va += PAGE_SIZE)
		invlpg(va);
	st.invlpg += pages;
	return 0;
}

static int mmu_flush_tlb_one(void *be, uintptr_t va)
{
	(void)be;
	st.one_flushes++;
	if (mm_tlb_noflush)
		return 0;
	invlpg(va);
	st.invlpg++;
	return 0;
}

/* Real loads and stores through @va, which must be mapped. */
static int mmu_access(void *be, uintptr_t va, void *buf, size_t len, int write)
{
	(void)be;
	uint64_t frame;
	bool direct = va >= low_lo && va < low_hi;
	if (!direct && !in_mmu_range(va))
		return -EFAULT;
	if ((va & (PAGE_SIZE - 1)) + len > PAGE_SIZE || translate(va, &frame))
		return -EFAULT;
	if (frame < cleared_frames && !(cleared[frame >> 3] & (1u << (frame & 7)))) {
		/* clear_highpage(): through the kernel's scratch page */
		map_page(scratch_va, frame, PTE_P | PTE_RW);
		invlpg(scratch_va);
		memset((void *)scratch_va, 0, PAGE_SIZE);
		pte_write(pte_ptr(scratch_va, false), 0);
		invlpg(scratch_va);
		cleared[frame >> 3] |= (uint8_t)(1u << (frame & 7));
		st.zeroed++;
	}
	if (write)
		memcpy((void *)va, buf, len);
	else
		memcpy(buf, (const void *)va, len);
	st.accesses++;
	return 0;
}

static int mmu_check_pte(void *be, uintptr_t va, uint64_t pfn)
{
	(void)be;
	void *p = pte_ptr(va, false);
	uint64_t e = p ? pte_read(p) : 0;
	if (pfn == UINT64_MAX)
		return (e & PTE_P) ? -EUCLEAN : 0;
	if (!(e & PTE_P) || pfn >= mmu_max_pfn ||
	    ((e & PTE_FRAME_MASK) >> PAGE_SHIFT) != backing(pfn))
		return -EUCLEAN;
	return 0;
}

static void mmu_tlb_counts(void *be, uint64_t *flush_one, uint64_t *stale)
{
	(void)be;
	*flush_one = st.one_flushes;
	*stale = 0;
}

const struct km_backend_ops km_mmu_ops = {
	.name = "mmu",
	.set_pte = mmu_set_pte,
	.clear_ptes = mmu_clear_ptes,
	.flush_tlb_range = mmu_flush_tlb_range,
	.flush_tlb_one = mmu_flush_tlb_one,
	.access = mmu_access,
	.check_pte = mmu_check_pte,
	.tlb_counts = mmu_tlb_counts,
};

void mm_log_stats(void)
{
	klog("mmu: %llu PTEs set, %llu cleared; %llu window flushes (%llu by "
	     "CR3 reload), %llu invlpg (%llu single-page flushes); %llu "
	     "accesses, %llu frames cleared on first use",
	     (unsigned long long)st.pte_sets, (unsigned long long)st.pte_clears,
	     (unsigned long long)st.range_flushes,
	     (unsigned long long)st.cr3_reloads, (unsigned long long)st.invlpg,
	     (unsigned long long)st.one_flushes, (unsigned long long)st.accesses,
	     (unsigned long long)st.zeroed);
}
