/*
 * vmalloc.c - vmap, vunmap and the lazy purge (vmalloc.h), after the
 * kernel's mm/vmalloc.c (6.1): get_vm_area()'s size with its guard page,
 * alloc_vmap_area()'s lowest fit and its purge-and-retry on overflow,
 * free_unmap_vmap_area()'s PTEs cleared without a flush, and
 * __purge_vmap_area_lazy()'s one flush over every lazily freed area.
 * Where the kernel queues the purge to a worker once vmap_lazy_nr passes
 * lazy_max_pages(), this does it at once, so a run has one outcome.
 *
 * The kernel keeps free and busy areas in trees; here the area is tiled
 * by extents with boundary tags (core.h), which gives the same lowest
 * fit by walking the extents in address order, and merging in O(1).
 * Freestanding; every function here takes the driver's lock.
 */
#include "vmalloc.h"
#include "util.h"

/* A tag: length in pages, a head bit, the extent's state. */
#define VM_FREE 1u
#define VM_BUSY 2u  /* an area: its pages, then its guard page */
#define VM_LAZY 3u  /* an area vunmap released, until the purge */
#define VM_STATE 3u
#define VM_HEAD 4u
#define VM_LEN_SHIFT 3

static unsigned tag_len(uint32_t t) { return t >> VM_LEN_SHIFT; }
static unsigned tag_state(uint32_t t) { return t & VM_STATE; }

static void lock(struct km_core *k) { k->drv->lock(k->drv_ctx); }
static void unlock(struct km_core *k) { k->drv->unlock(k->drv_ctx); }

/* KM_CHECK: the area's invariants after each change (lock held). */
static void check_after(struct km_core *k, const char *op)
{
	if (__builtin_expect(k->flags & KM_CHECK, 0))
		km__check_with(k, op, km__vm_check);
}

static uintptr_t vm_addr(const struct km_core *k, unsigned idx)
{
	return (uintptr_t)k->vmalloc_start + ((uintptr_t)idx << PAGE_SHIFT);
}

/* Write the tags of extent [@start, @start + @len). */
static void put_extent(struct km_core *k, unsigned start, unsigned len,
                       unsigned state)
{
	uint32_t t = (uint32_t)len << VM_LEN_SHIFT | state;
	k->vm_tag[start] = t | VM_HEAD;
	if (len > 1)
		k->vm_tag[start + len - 1] = t;
}

/* Forget the tags of an extent that becomes part of another. */
static void drop_tags(struct km_core *k, unsigned start, unsigned len)
{
	k->vm_tag[start] = 0;
	k->vm_tag[start + len - 1] = 0;
}

void km__vm_init(struct km_core *k)
{
	if (k->vm_pages)
		put_extent(k, 0, k->vm_pages, VM_FREE);
	k->vm_lazy_max = KM_VMAP_LAZY_MAX;
}

/*
 * Make [@start, @start + @len) free and merge it with a free neighbour on
 * either side; returns the end of the merged extent.
 */
static unsigned release_free(struct km_core *k, unsigned start, unsigned len)
{
	unsigned end = start + len;
	drop_tags(k, start, len);
	if (start && tag_state(k->vm_tag[start - 1]) == VM_FREE) {
		unsigned pl = tag_len(k->vm_tag[start - 1]);
		drop_tags(k, start - pl, pl);
		start -= pl;
	}
	if (end < k->vm_pages && tag_state(k->vm_tag[end]) == VM_FREE) {
		unsigned nl = tag_len(k->vm_tag[end]);
		drop_tags(k, end, nl);
		end += nl;
	}
	put_extent(k, start, end - start, VM_FREE);
	return end;
}

/* The lowest free extent of at least @need pages, or -1. */
static long lowest_fit(const struct km_core *k, unsigned need)
{
	for (unsigned pos = 0; pos < k->vm_pages;) {
		uint32_t t = k->vm_tag[pos];
		if (tag_state(t) == VM_FREE && tag_len(t) >= need)
			return (long)pos;
		pos += tag_len(t);
	}
	return -1;
}

/*
 * __purge_vmap_area_lazy(): one TLB flush from the lowest lazily freed
 * area's start to the highest one's end, then every one of them free
 * again. A failed flush leaves them lazy, to be tried again.
 */
static int purge(struct km_core *k, enum km_purge_reason why)
{
	unsigned lo = 0, hi = 0, areas = 0;
	uint64_t pages = 0;
	for (unsigned pos = 0; pos < k->vm_pages;) {
		uint32_t t = k->vm_tag[pos];
		if (tag_state(t) == VM_LAZY) {
			if (!areas++)
				lo = pos;
			hi = pos + tag_len(t);
			pages += tag_len(t);
		}
		pos += tag_len(t);
	}
	if (areas) {
		int r = k->be->flush_tlb_range(k->be_ctx, vm_addr(k, lo),
		                               vm_addr(k, hi));
		if (r)
			return r;
		for (unsigned pos = lo; pos < hi;) {
			uint32_t t = k->vm_tag[pos];
			pos = tag_state(t) == VM_LAZY ?
			      release_free(k, pos, tag_len(t)) : pos + tag_len(t);
		}
		k->stats.vmap_purges++;
		k->stats.vmap_lazy_pages -= pages;
	}
	if (k->event) {
		struct km_event ev = {
			.type = KM_EV_PURGE, .nr_areas = areas, .nr_pages = pages,
			.start = (const void *)(areas ? vm_addr(k, lo) : 0),
			.end = (const void *)(areas ? vm_addr(k, hi) : 0),
			.tlb_flush = areas > 0, .reason = why,
		};
		k->event(k->event_arg, &ev);
	}
	return 0;
}

/*
 * vmap_pages_range(): the PTEs of @count pages from @idx, a run of
 * consecutive pfns in one backend call where it has map_range. On an
 * error the PTEs set are cleared and flushed again; *set is how many
 * pages that failed for (0 when it did not).
 */
static int map_pages(struct km_core *k, unsigned idx,
                     struct km_page *const *pages, unsigned count,
                     unsigned *set)
{
	const struct km_backend_ops *be = k->be;
	unsigned i = 0;
	int r = 0;
	km__ahead_stale(k);
	while (i < count) {
		uint64_t pfn = page_to_pfn(k, pages[i]);
		unsigned n = 1;
		if (be->map_range)
			while (i + n < count &&
			       page_to_pfn(k, pages[i + n]) == pfn + n)
				n++;
		if (n > 1) {
			r = be->map_range(k->be_ctx, vm_addr(k, idx + i), pfn, n);
		} else {
			r = be->set_pte(k->be_ctx, vm_addr(k, idx + i), pfn);
		}
		if (r)
			break;
		for (unsigned j = 0; j < n; j++)
			k->vm_pte[idx + i + j] = (uint32_t)(pfn + j + 1);
		k->stats.pte_sets += n;
		i += n;
	}
	*set = 0;
	if (!r)
		return 0;
	for (unsigned j = 0; j < i; j++)
		k->vm_pte[idx + j] = 0;
	/* the translations made may be cached: cleared and flushed, or the
	 * range must wait for a purge */
	if (i && (be->clear_ptes(k->be_ctx, vm_addr(k, idx), i) ||
	          be->flush_tlb_range(k->be_ctx, vm_addr(k, idx),
	                              vm_addr(k, idx + i))))
		*set = i;
	return r;
}

int km__vmap(struct km_core *k, struct km_task *t, struct km_page *const *pages,
             unsigned count, uintptr_t *vaddr)
{
	/* might_sleep() */
	if (t->atomic_depth)
		return -KM_EATOMIC;
	/* count > totalram_pages(): the kernel refuses it */
	if (!count || count > km__nr_pages(k))
		return -EINVAL;
	for (unsigned i = 0; i < count; i++)
		if (!km__page_valid(k, pages[i]))
			return -EINVAL;
	/* get_vm_area(): the area's size with its guard page */
	uint64_t need = (uint64_t)count + 1;
	lock(k);
	long pos = need <= k->vm_pages ? lowest_fit(k, (unsigned)need) : -1;
	if (pos < 0) {
		/* alloc_vmap_area()'s overflow: purge, then retry once */
		int r = purge(k, KM_PURGE_NOROOM);
		if (!r && need <= k->vm_pages)
			pos = lowest_fit(k, (unsigned)need);
		if (pos < 0) {
			k->stats.vmap_nospace += !r;
			unlock(k);
			return r ? r : -ENOSPC;
		}
	}
	unsigned idx = (unsigned)pos, len = tag_len(k->vm_tag[idx]);
	drop_tags(k, idx, len);
	put_extent(k, idx, (unsigned)need, VM_BUSY);
	if (len > need)
		put_extent(k, idx + (unsigned)need, len - (unsigned)need, VM_FREE);
	unsigned set;
	int r = map_pages(k, idx, pages, count, &set);
	if (r) {
		/* translations not cleared and flushed: the range waits for a
		 * purge, as the kernel's vunmap() of the half-made area does */
		if (set) {
			put_extent(k, idx, (unsigned)need, VM_LAZY);
			k->stats.vmap_lazy_pages += need;
		} else {
			release_free(k, idx, (unsigned)need);
		}
		unlock(k);
		return r;
	}
	k->stats.vmaps++;
	k->stats.vmap_areas++;
	k->stats.vmap_pages += count;
	*vaddr = vm_addr(k, idx);
	check_after(k, "vmap");
	unlock(k);
	return 0;
}

/* The extent an area starts at @vaddr, or -1. */
static long area_at(const struct km_core *k, uintptr_t vaddr, unsigned state)
{
	if (vaddr < k->vmalloc_start || (vaddr & (PAGE_SIZE - 1)))
		return -1;
	uint64_t idx = (vaddr - k->vmalloc_start) >> PAGE_SHIFT;
	if (idx >= k->vm_pages)
		return -1;
	uint32_t t = k->vm_tag[idx];
	return (t & VM_HEAD) && tag_state(t) == state ? (long)idx : -1;
}

int km__vunmap(struct km_core *k, struct km_task *t, uintptr_t vaddr)
{
	if (t->atomic_depth)
		return -KM_EATOMIC;
	lock(k);
	long pos = area_at(k, vaddr, VM_BUSY);
	if (pos < 0) {
		unlock(k);
		return -KM_ENOAREA;
	}
	unsigned idx = (unsigned)pos, len = tag_len(k->vm_tag[idx]);
	/* vunmap_range_noflush(): the PTEs go, the TLB may keep them */
	int r = k->be->clear_ptes(k->be_ctx, vaddr, len - 1);
	if (r) {
		unlock(k);
		return r;
	}
	for (unsigned j = 0; j < len - 1; j++)
		k->vm_pte[idx + j] = 0;
	put_extent(k, idx, len, VM_LAZY);
	k->stats.vunmaps++;
	k->stats.vmap_areas--;
	k->stats.vmap_pages -= len - 1;
	k->stats.vmap_lazy_pages += len;
	/* free_vmap_area_noflush(): past the threshold, purge. A flush that
	 * fails leaves them lazy; the vunmap itself is done. */
	if (k->stats.vmap_lazy_pages > k->vm_lazy_max)
		purge(k, KM_PURGE_LAZY);
	check_after(k, "vunmap");
	unlock(k);
	return 0;
}

int km__vm_unmap_aliases(struct km_core *k)
{
	lock(k);
	int r = purge(k, KM_PURGE_ALIASES);
	check_after(k, "vm_unmap_aliases");
	unlock(k);
	return r;
}

struct km_page *km__vmalloc_to_page(struct km_core *k, uintptr_t vaddr)
{
	if (vaddr < k->vmalloc_start)
		return NULL;
	uint64_t idx = (vaddr - k->vmalloc_start) >> PAGE_SHIFT;
	if (idx >= k->vm_pages || !k->vm_pte[idx])
		return NULL;
	return pfn_to_page(k, k->vm_pte[idx] - 1);
}

void km__vm_tally(const struct km_core *k, struct km_stats *s)
{
	s->vmap_free_pages = s->vmap_largest_free = 0;
	for (unsigned pos = 0; pos < k->vm_pages;) {
		uint32_t t = k->vm_tag[pos];
		if (tag_state(t) == VM_FREE) {
			s->vmap_free_pages += tag_len(t);
			if (tag_len(t) > s->vmap_largest_free)
				s->vmap_largest_free = tag_len(t);
		}
		pos += tag_len(t);
	}
}

unsigned km__vm_leaks(const struct km_core *k, struct km_leak *out,
                      unsigned n, unsigned max)
{
	for (unsigned pos = 0; pos < k->vm_pages;) {
		uint32_t t = k->vm_tag[pos];
		if (tag_state(t) == VM_BUSY) {
			if (n < max)
				out[n] = (struct km_leak){
					.pfn = k->vm_pte[pos] - 1, .vmap = 1,
					.addr = (const void *)vm_addr(k, pos),
					.pages = tag_len(t) - 1 };
			n++;
		}
		pos += tag_len(t);
	}
	return n;
}

static int bad(char *msg, size_t n, const char *a, uint64_t v, const char *b)
{
	if (msg)
		km__fmt_msg(msg, n, a, v, b);
	return -KM_ECORRUPT;
}

int km__vm_check(struct km_core *k, char *msg, size_t n)
{
	unsigned areas = 0;
	uint64_t pages = 0, lazy = 0;
	unsigned pos = 0, prev = 0;
	while (pos < k->vm_pages) {
		uint32_t t = k->vm_tag[pos];
		unsigned len = tag_len(t), st = tag_state(t);
		if (!(t & VM_HEAD) || !len || !st || len > k->vm_pages - pos)
			return bad(msg, n, "vmalloc page ", pos, ": bad extent tag");
		if (len > 1 && k->vm_tag[pos + len - 1] != (t & ~VM_HEAD))
			return bad(msg, n, "vmalloc page ", pos,
			           ": extent's tags disagree");
		if (st == VM_FREE && pos && tag_state(prev) == VM_FREE)
			return bad(msg, n, "vmalloc page ", pos,
			           ": two free extents side by side");
		/* an area's pages and its guard; free and lazy runs (which may
		 * be most of the area) only at their ends */
		for (unsigned j = 0; j < len; j++) {
			uint32_t pte = k->vm_pte[pos + j];
			bool mapped = st == VM_BUSY && j + 1 < len;
			if (!mapped) {
				if (pte)
					return bad(msg, n, "vmalloc page ", pos + j,
					           ": PTE set outside an area");
				if (st != VM_BUSY && j == 0 && len > 2)
					j = len - 2;
				continue;
			}
			if (!pte || !km__pfn_valid(k, pte - 1))
				return bad(msg, n, "vmalloc page ", pos + j,
				           ": area page with no PTE");
			if (k->be->check_pte(k->be_ctx, vm_addr(k, pos + j), pte - 1))
				return bad(msg, n, "vmalloc page ", pos + j,
				           ": MMU disagrees with the area");
		}
		if (st == VM_BUSY) {
			areas++;
			pages += len - 1;
		} else if (st == VM_LAZY) {
			lazy += len;
		}
		prev = t;
		pos += len;
	}
	if (areas != k->stats.vmap_areas || pages != k->stats.vmap_pages ||
	    lazy != k->stats.vmap_lazy_pages)
		return bad(msg, n, "vmap tallies disagree with the area (",
		           areas, " areas)");
	return 0;
}
