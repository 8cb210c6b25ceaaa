/*
 * mem.c - memory, the parts every architecture shares: the usable RAM the
 * firmware reported, the boot allocator, the frames behind the trace's
 * pfns, and the MMU as the core's backend (src/core/backend.h) over the
 * architecture's page tables (x86/mm.c, arm/mm.c: arch_set_pte and the
 * other arch_ hooks of kernel.h).
 *
 * The trace's machine has pfns [pfn_offset, max_pfn), its holes among
 * them (backed as any pfn, never reached: the replay refuses their pfns);
 * real RAM has holes of its own, may start above 0 (qemu's ARM virt board:
 * 0x40000000) and holds this kernel. So pfn P is backed by its natural
 * frame, P + frame_of_pfn0, whenever that frame is usable RAM, not the
 * kernel's, and reachable by the paging mode; every other pfn is backed by
 * a spare frame from the usable RAM past the natural frames, in order. The
 * backing is a short list of extents printed in the boot log. The
 * machine's pfns are [pfn_offset, max_pfn): from 0 on x86, from
 * PHYS_OFFSET's pfn where a profile puts RAM there (arm-virt).
 *
 * Physical memory starts zeroed in the trace's model; frames the firmware
 * or the loader used are not. A frame is cleared the first time the
 * replay reads or writes it (a bitmap of cleared frames), through a page
 * of the kernel's own (arch_clear_frame), as clear_highpage() would, so
 * that the clearing never depends on the translations the replay tests.
 */
#include "arch.h"
#include "kernel.h"

#include <errno.h>

#include <stdio.h>
#include <string.h>

#define MAX_RANGES 64
#define MAX_EXTENTS 128

struct range {
	uint64_t a, b; /* frames [a, b) */
};

static struct range usable[MAX_RANGES]; /* whole usable frames, sorted */
static unsigned nr_usable;

void mem_add_usable(uint64_t addr, uint64_t len)
{
	uint64_t a = (addr + PAGE_SIZE - 1) >> PAGE_SHIFT;
	uint64_t b = (addr + len) >> PAGE_SHIFT;
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

uint64_t mm_total_usable(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < nr_usable; i++)
		n += usable[i].b - usable[i].a;
	return n << PAGE_SHIFT;
}

uint64_t mem_first_frame(void)
{
	return nr_usable ? usable[0].a : 0;
}

uint64_t mem_top_frame(void)
{
	return nr_usable ? usable[nr_usable - 1].b : 0;
}

static bool frames_usable(uint64_t a, uint64_t b)
{
	for (unsigned i = 0; i < nr_usable; i++)
		if (a >= usable[i].a && b <= usable[i].b)
			return true;
	return false;
}

/* ---------------------------------------------------------------------- */
/* The boot allocator: frames after the kernel, the loader's data and the  */
/* trace, inside the kernel's own map [KMAP_PHYS_START, KMAP_PHYS_END)     */
/* ---------------------------------------------------------------------- */

static uint64_t knext;      /* next free physical byte */
static bool kfrozen;        /* the backing is computed: no more frames */

void mem_init(uint64_t reserved_end)
{
	merge_usable();
	knext = (reserved_end + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
}

uint64_t mem_next_free(void)
{
	return knext;
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
		if (next == UINT64_MAX || next >= KMAP_PHYS_END)
			kpanic(KEXIT_NORUN, "out of kernel memory: %llu KiB more wanted "
			       "at 0x%llx (the kernel's own map is %u MiB)",
			       (unsigned long long)(bytes >> 10),
			       (unsigned long long)knext,
			       (unsigned)((KMAP_PHYS_END - KMAP_PHYS_START) >> 20));
		knext = next;
	}
	if (knext + bytes > KMAP_PHYS_END)
		kpanic(KEXIT_NORUN, "out of kernel memory: %llu KiB more wanted "
		       "(the kernel's own map is %u MiB)",
		       (unsigned long long)(bytes >> 10),
		       (unsigned)((KMAP_PHYS_END - KMAP_PHYS_START) >> 20));
	void *p = kvirt(knext);
	knext += bytes;
	memset(p, 0, (size_t)bytes);
	return p;
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

void mem_freeze(uint64_t first_frame, uint64_t last_frame)
{
	kfrozen = true;
	kernel_first = first_frame;
	kernel_last = last_frame;
}

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

int mem_backing_setup(uint64_t first_pfn, uint64_t end_pfn, uint64_t delta,
                      uint64_t limit, uint64_t align, const char *limit_why)
{
	static struct range good[MAX_RANGES], spare[MAX_RANGES];
	frame_limit = limit;
	/* natural frames, and spare ones past them, from an aligned frame */
	uint64_t nat_lo = first_pfn + delta, nat_hi = end_pfn + delta;
	uint64_t spare_lo = (nat_hi + align - 1) & ~(align - 1);
	unsigned ng = good_frames(nat_lo, nat_hi, good);
	unsigned ns = good_frames(spare_lo, UINT64_MAX, spare);
	unsigned gi = 0, si = 0;
	uint64_t p = first_pfn, sc = ns ? spare[0].a : 0;
	while (p < end_pfn) {
		if (gi < ng && good[gi].a == p + delta) {
			if (add_extent(p, good[gi].b - good[gi].a, good[gi].a))
				return -ENOSPC;
			p = good[gi++].b - delta;
			continue;
		}
		uint64_t hole_end = gi < ng ? good[gi].a - delta : end_pfn;
		while (p < hole_end) {
			if (si >= ns) {
				uint64_t short_by = end_pfn - p;
				for (unsigned i = gi; i < ng; i++)
					short_by -= good[i].b - good[i].a;
				klog("not enough RAM behind the machine: %llu more pages "
				     "(%llu MiB) wanted %s", (unsigned long long)short_by,
				     (unsigned long long)(short_by >> 8), limit_why);
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

unsigned mem_extents(void)
{
	return nr_ext;
}

void mem_extent(unsigned i, uint64_t *pfn, uint64_t *n, uint64_t *frame)
{
	*pfn = ext[i].pfn;
	*n = ext[i].n;
	*frame = ext[i].frame;
}

/* The extent holding @pfn (a pfn of the machine). */
static const struct extent *extent_of(uint64_t pfn)
{
	unsigned lo = 0, hi = nr_ext;
	while (hi - lo > 1) {
		unsigned mid = (lo + hi) / 2;
		if (ext[mid].pfn <= pfn)
			lo = mid;
		else
			hi = mid;
	}
	return &ext[lo];
}

uint64_t mem_frame_of(uint64_t pfn)
{
	const struct extent *e = extent_of(pfn);
	return e->frame + (pfn - e->pfn);
}

bool mem_contiguous(uint64_t pfn, uint64_t n)
{
	const struct extent *e = extent_of(pfn);
	return pfn + n <= e->pfn + e->n;
}

void mm_log_backing(const struct km_core *k, uint64_t delta)
{
	char off[40] = "";
	if (delta)
		snprintf(off, sizeof(off), " + 0x%llx", (unsigned long long)delta);
	klog("pfn backing: %u extent%s for pfns %llu-%llu (frame = pfn%s unless "
	     "shown)", nr_ext, nr_ext == 1 ? "" : "s",
	     (unsigned long long)k->pfn_offset, (unsigned long long)k->max_pfn - 1,
	     off);
	unsigned shown = 0;
	for (unsigned i = 0; i < nr_ext; i++) {
		if (ext[i].pfn + delta == ext[i].frame)
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
/* The backend: the MMU                                                    */
/* ---------------------------------------------------------------------- */

/* The machine's regions, for the backend's checks. */
static uintptr_t win_lo, win_hi;        /* the pkmap window */
static uintptr_t loc_lo, loc_hi;        /* the fixmap's kmap area */
static uintptr_t low_lo, low_hi;        /* the direct map */
static uintptr_t vm_lo, vm_hi;          /* the vmalloc area, or none */
static uint64_t mmu_min_pfn, mmu_max_pfn;   /* the machine's pfns */

static struct {
	uint64_t pte_sets, pte_clears, range_flushes, one_flushes;
	uint64_t accesses, zeroed;
} st;

/*
 * Debug (command line tlb=noflush): make every TLB flush a no-op, to show
 * that they matter. qemu's TLB, like a real one, then keeps translations of
 * cleared and remapped slots, and the replay reads the wrong pages
 * (tests/qemu/stale-tlb.trace).
 */
bool mm_tlb_noflush;

bool mm_vmalloc;

int mm_setup(struct km_core *k)
{
	low_lo = k->page_offset;
	low_hi = (uintptr_t)k->high_memory;
	win_lo = PKMAP_ADDR(k, 0);
	win_hi = PKMAP_ADDR(k, k->last_pkmap);
	loc_lo = km__local_low(k, k->nr_cpus - 1);
	loc_hi = k->kmap_area[0] + PAGE_SIZE;
	if (mm_vmalloc) {
		vm_lo = (uintptr_t)k->vmalloc_start;
		vm_hi = (uintptr_t)k->vmalloc_end;
	}
	mmu_min_pfn = k->pfn_offset;
	mmu_max_pfn = k->max_pfn;
	cleared_frames = mem_top_frame();
	cleared = kalloc((cleared_frames + 7) / 8);
	return arch_mm_setup(k);
}

bool mm_overlaps_machine(uint64_t lo, uint64_t hi)
{
	return (lo < low_hi && low_lo < hi) || (lo < win_hi && win_lo < hi) ||
	       (lo < loc_hi && loc_lo < hi) || (lo < vm_hi && vm_lo < hi);
}

static bool in_mmu_range(uintptr_t va)
{
	return (va >= win_lo && va < win_hi) || (va >= loc_lo && va < loc_hi) ||
	       (va >= vm_lo && va < vm_hi);
}

static int mmu_set_pte(void *be, uintptr_t va, uint64_t pfn)
{
	(void)be;
	if (!in_mmu_range(va) || pfn < mmu_min_pfn || pfn >= mmu_max_pfn)
		return -EINVAL;
	arch_set_pte(va, mem_frame_of(pfn));
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
		arch_clear_pte(va + ((uintptr_t)i << PAGE_SHIFT));
	st.pte_clears += nr;
	return 0;
}

static int mmu_flush_tlb_range(void *be, uintptr_t start, uintptr_t end)
{
	(void)be;
	st.range_flushes++;
	if (!mm_tlb_noflush)
		arch_flush_tlb_range(start, end);
	return 0;
}

static int mmu_flush_tlb_one(void *be, uintptr_t va)
{
	(void)be;
	st.one_flushes++;
	if (!mm_tlb_noflush)
		arch_flush_tlb_one(va);
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
	if ((va & (PAGE_SIZE - 1)) + len > PAGE_SIZE || arch_translate(va, &frame))
		return -EFAULT;
	if (frame < cleared_frames && !(cleared[frame >> 3] & (1u << (frame & 7)))) {
		arch_clear_frame(frame);
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
	uint64_t frame;
	int mapped = !arch_translate(va, &frame);
	if (pfn == UINT64_MAX)
		return mapped ? -KM_ECORRUPT : 0;
	if (!mapped || pfn < mmu_min_pfn || pfn >= mmu_max_pfn ||
	    frame != mem_frame_of(pfn))
		return -KM_ECORRUPT;
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
	char tlb[160];
	arch_tlb_stats(tlb, sizeof(tlb));
	klog("mmu: %llu PTEs set, %llu cleared; %llu window flushes, %llu "
	     "single-page flushes (%s); %llu accesses, %llu frames cleared on "
	     "first use", (unsigned long long)st.pte_sets,
	     (unsigned long long)st.pte_clears,
	     (unsigned long long)st.range_flushes,
	     (unsigned long long)st.one_flushes, tlb,
	     (unsigned long long)st.accesses, (unsigned long long)st.zeroed);
}
