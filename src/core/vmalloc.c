/*
 * vmalloc.c - vmap, vunmap, vm_map_ram, vm_unmap_ram and the lazy purge
 * (vmalloc.h), after the kernel's mm/vmalloc.c (6.1): get_vm_area()'s
 * size with its guard page, alloc_vmap_area()'s lowest fit and its
 * purge-and-retry on overflow, free_unmap_vmap_area()'s PTEs cleared
 * without a flush, __purge_vmap_area_lazy()'s one flush over every lazily
 * freed area; vm_map_ram()'s per-CPU vmap blocks (vb_alloc, vb_free,
 * purge_fragmented_blocks, _vm_unmap_aliases). Where the kernel queues
 * the purge to a worker once vmap_lazy_nr passes lazy_max_pages(), this
 * does it at once, so a run has one outcome.
 *
 * The kernel keeps free and busy areas in trees; here the area is tiled
 * by extents with boundary tags (core.h), which gives the same lowest
 * fit by walking the extents in address order, and merging in O(1).
 * An aligned request (a vmap block) takes the lowest free extent of
 * size + align - 1 pages, which find_vmap_lowest_match() always finds;
 * the kernel may take a lower extent that fits only thanks to its
 * alignment when that extent is on its tree's search path, which depends
 * on the tree's shape, not modelled.
 * Freestanding; every function here takes the driver's lock.
 */
#include "vmalloc.h"
#include "util.h"

/* A tag: length in pages, a head bit, the extent's state. */
#define VM_FREE 1u
#define VM_BUSY 2u  /* a vmap area: its pages, then its guard page */
#define VM_LAZY 3u  /* an area or block released, until the purge */
#define VM_RAM 4u   /* a vm_map_ram area of its own: its pages, no guard */
#define VM_BLOCK 5u /* a vmap block: vm_map_ram's pieces (km_vblock) */
#define VM_STATE 7u
#define VM_HEAD 8u
#define VM_LEN_SHIFT 4

/* VMAP_BBMAP_BITS's bounds (mm/vmalloc.c) and VMALLOC_SPACE, which the
 * kernel takes as 128 MiB on every 32-bit machine, whatever its area */
#define VMAP_BBMAP_BITS_MAX 1024u
#define VMAP_BBMAP_BITS_MIN (KM_VMAP_MAX_ALLOC * 2)
#define VMALLOC_SPACE_32 (128u << 20)

/* "No range" for a purge's extra flush: the kernel's ULONG_MAX, 0. */
#define NO_LO UINTPTR_MAX

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

unsigned km__vm_block_pages(unsigned nr_cpus)
{
	unsigned cpus = 1;
	while (cpus < nr_cpus)
		cpus <<= 1; /* roundup_pow_of_two(NR_CPUS) */
	unsigned bits = (VMALLOC_SPACE_32 >> PAGE_SHIFT) / cpus / 16;
	if (bits < VMAP_BBMAP_BITS_MIN)
		bits = VMAP_BBMAP_BITS_MIN;
	return bits > VMAP_BBMAP_BITS_MAX ? VMAP_BBMAP_BITS_MAX : bits;
}

void km__vm_geometry(struct km_core *k)
{
	k->vm_block_pages = km__vm_block_pages(k->nr_cpus);
	/* block numbers of any start address: one partly below it, one
	 * partly above its end */
	k->vm_nr_blocks = k->vm_pages / k->vm_block_pages + 2;
}

void km__vm_init(struct km_core *k)
{
	if (k->vm_pages)
		put_extent(k, 0, k->vm_pages, VM_FREE);
	k->vm_lazy_max = KM_VMAP_LAZY_MAX;
	for (unsigned c = 0; c < k->nr_cpus; c++)
		INIT_LIST_HEAD(&k->vm_queue[c]);
	for (unsigned n = 0; n < k->vm_nr_blocks; n++)
		INIT_LIST_HEAD(&k->vm_blocks[n].free_list);
}

/* Block geometry: a block's bytes, block number of page @idx, first page
 * of block @n (the blocks are aligned to their size in the address
 * space, as alloc_vmap_area(VMAP_BLOCK_SIZE, VMAP_BLOCK_SIZE) makes them). */
static uintptr_t block_bytes(const struct km_core *k)
{
	return (uintptr_t)k->vm_block_pages << PAGE_SHIFT;
}

static uintptr_t block_base(const struct km_core *k)
{
	return (uintptr_t)k->vmalloc_start & ~(block_bytes(k) - 1);
}

static unsigned vb_number(const struct km_core *k, unsigned idx)
{
	return (unsigned)((vm_addr(k, idx) - block_base(k)) / block_bytes(k));
}

static unsigned vb_first(const struct km_core *k, const struct km_vblock *vb)
{
	uintptr_t a = block_base(k) + (uintptr_t)(vb - k->vm_blocks) *
	              block_bytes(k);
	return (unsigned)((a - (uintptr_t)k->vmalloc_start) >> PAGE_SHIFT);
}

/* 1 << get_order(count pages): a block piece's pages. */
static unsigned piece_pages(unsigned count)
{
	unsigned n = 1;
	while (n < count)
		n <<= 1;
	return n;
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

/*
 * find_vmap_lowest_match(): the lowest free extent of @need pages, or
 * with an alignment of @align pages (> 1) of need + align - 1 (the
 * kernel's adjust_search_size); -1 when none.
 */
static long lowest_fit(const struct km_core *k, unsigned need, unsigned align)
{
	uint64_t want = (uint64_t)need + align - 1;
	for (unsigned pos = 0; pos < k->vm_pages;) {
		uint32_t t = k->vm_tag[pos];
		if (tag_state(t) == VM_FREE && tag_len(t) >= want)
			return (long)pos;
		pos += tag_len(t);
	}
	return -1;
}

/* Every lazily freed extent goes back, in address order, into
 * k->vm_ranges; returns how many, and their pages in *pages. */
static unsigned lazy_ranges(struct km_core *k, uint64_t *pages)
{
	unsigned n = 0;
	*pages = 0;
	for (unsigned pos = 0; pos < k->vm_pages;) {
		uint32_t t = k->vm_tag[pos];
		if (tag_state(t) == VM_LAZY) {
			k->vm_ranges[n++] = (struct km_vrange){
				(const void *)vm_addr(k, pos),
				(const void *)vm_addr(k, pos + tag_len(t)) };
			*pages += tag_len(t);
		}
		pos += tag_len(t);
	}
	return n;
}

/* An extent released: lazily freed until the purge (no flush yet). */
static void lazy_free(struct km_core *k, unsigned idx, unsigned len)
{
	put_extent(k, idx, len, VM_LAZY);
	k->stats.vmap_lazy_pages += len;
}

/* free_vmap_block(): the block leaves its queue and is lazily freed. */
static void free_block(struct km_core *k, struct km_vblock *vb)
{
	vb->live = false;
	list_del_init(&vb->free_list);
	lazy_free(k, vb_first(k, vb), k->vm_block_pages);
	k->stats.vmap_blocks--;
}

/*
 * purge_fragmented_blocks_allcpus(): a block with nothing mapped in it
 * that still has free pages goes, made fully dirty first. A fully dirty
 * block went when it became so; one with free pages left but nothing
 * mapped would otherwise never go.
 */
static void purge_fragmented_blocks(struct km_core *k)
{
	unsigned b = k->vm_block_pages;
	for (unsigned c = 0; c < k->nr_cpus; c++) {
		struct list_head *q = &k->vm_queue[c];
		for (struct list_head *p = q->next, *n; p != q; p = n) {
			n = p->next;
			struct km_vblock *vb =
				km__container_of(p, struct km_vblock, free_list);
			if (vb->free + vb->dirty != b || vb->dirty == b)
				continue;
			vb->free = 0;
			vb->dirty = b;
			vb->dirty_min = 0;
			vb->dirty_max = b;
			free_block(k, vb);
		}
	}
}

/*
 * __purge_vmap_area_lazy(lo, hi): one TLB flush over [@lo, @hi) and every
 * lazily freed extent, then each of them free again; with @blocks,
 * purge_fragmented_blocks() first (purge_vmap_area_lazy(),
 * _vm_unmap_aliases(); not the worker past lazy_max_pages). @lo >= @hi:
 * no range of the caller's, so no flush unless something was lazily
 * freed. A failed flush leaves them lazy, to be tried again.
 */
static int purge(struct km_core *k, enum km_purge_reason why, bool blocks,
                 uintptr_t lo, uintptr_t hi)
{
	if (blocks)
		purge_fragmented_blocks(k);
	uint64_t pages;
	unsigned areas = lazy_ranges(k, &pages);
	if (areas) {
		uintptr_t a = (uintptr_t)k->vm_ranges[0].start;
		uintptr_t b = (uintptr_t)k->vm_ranges[areas - 1].end;
		lo = a < lo ? a : lo;
		hi = b > hi ? b : hi;
	}
	bool flush = lo < hi;
	if (flush) {
		int r = k->be->flush_tlb_range(k->be_ctx, lo, hi);
		if (r)
			return r;
	}
	for (unsigned i = 0; i < areas; i++) {
		uintptr_t a = (uintptr_t)k->vm_ranges[i].start;
		unsigned pos = (unsigned)((a - (uintptr_t)k->vmalloc_start) >>
		                          PAGE_SHIFT);
		release_free(k, pos, tag_len(k->vm_tag[pos]));
	}
	if (areas) {
		k->stats.vmap_purges++;
		k->stats.vmap_lazy_pages -= pages;
	}
	if (k->event) {
		struct km_event ev = {
			.type = KM_EV_PURGE, .nr_areas = areas, .nr_pages = pages,
			.start = (const void *)(flush ? lo : 0),
			.end = (const void *)(flush ? hi : 0),
			.tlb_flush = flush, .reason = why, .areas = k->vm_ranges,
		};
		k->event(k->event_arg, &ev);
	}
	return 0;
}

/* free_vmap_area_noflush(): lazily freed; past lazy_max_pages, the purge
 * (a flush that fails leaves them lazy; the caller's work is done). */
static void free_noflush(struct km_core *k, unsigned idx, unsigned len)
{
	lazy_free(k, idx, len);
	if (k->stats.vmap_lazy_pages > k->vm_lazy_max)
		purge(k, KM_PURGE_LAZY, false, NO_LO, 0);
}

/*
 * alloc_vmap_area(): @need pages aligned to @align pages, the lowest fit,
 * made an extent of @state at *idx; on overflow purge_vmap_area_lazy()
 * and one more try. -ENOSPC, or the purge's error, with nothing taken.
 */
static int alloc_area(struct km_core *k, unsigned need, unsigned align,
                      unsigned state, unsigned *idx)
{
	long pos = need <= k->vm_pages ? lowest_fit(k, need, align) : -1;
	if (pos < 0) {
		int r = purge(k, KM_PURGE_NOROOM, true, NO_LO, 0);
		if (!r && need <= k->vm_pages)
			pos = lowest_fit(k, need, align);
		if (pos < 0) {
			k->stats.vmap_nospace += !r;
			return r ? r : -ENOSPC;
		}
	}
	unsigned ext = (unsigned)pos, len = tag_len(k->vm_tag[ext]);
	unsigned at = ext;
	if (align > 1) {
		uintptr_t a = vm_addr(k, ext), m = ((uintptr_t)align << PAGE_SHIFT) - 1;
		at = (unsigned)((((a + m) & ~m) - (uintptr_t)k->vmalloc_start) >>
		                PAGE_SHIFT);
	}
	drop_tags(k, ext, len);
	if (at > ext)
		put_extent(k, ext, at - ext, VM_FREE);
	put_extent(k, at, need, state);
	if (ext + len > at + need)
		put_extent(k, at + need, ext + len - at - need, VM_FREE);
	*idx = at;
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
	k->stats.vunmaps++;
	k->stats.vmap_areas--;
	k->stats.vmap_pages -= len - 1;
	free_noflush(k, idx, len);
	check_after(k, "vunmap");
	unlock(k);
	return 0;
}

/* raw_cpu_ptr(&vmap_block_queue): the queue of the CPU @t runs on. */
static int task_cpu(struct km_core *k, struct km_task *t, unsigned *cpu)
{
	if (k->drv->local_area) {
		int r = k->drv->local_area(k->drv_ctx, t);
		if (r)
			return r;
	}
	*cpu = t->cpu == KM_NO_CPU ? 0 : t->cpu;
	return 0;
}

/*
 * vb_alloc(): a piece of 1 << get_order(count) pages from the first block
 * on @cpu's queue with that many free (taken from the front of what is
 * free; a block with none left leaves the queue), else from a new block
 * (new_vmap_block(): an area of the block's size, aligned to it, with no
 * guard page, put at the back of the queue).
 */
static int vb_alloc(struct km_core *k, unsigned cpu, unsigned count,
                    unsigned *idx)
{
	unsigned n = piece_pages(count), b = k->vm_block_pages;
	struct list_head *q = &k->vm_queue[cpu];
	for (struct list_head *p = q->next; p != q; p = p->next) {
		struct km_vblock *vb =
			km__container_of(p, struct km_vblock, free_list);
		if (vb->free < n)
			continue;
		*idx = vb_first(k, vb) + (b - vb->free);
		vb->free -= n;
		if (!vb->free)
			list_del_init(&vb->free_list);
		return 0;
	}
	unsigned start;
	int r = alloc_area(k, b, b, VM_BLOCK, &start);
	if (r)
		return r;
	struct km_vblock *vb = &k->vm_blocks[vb_number(k, start)];
	vb->free = b - n;
	vb->dirty = 0;
	vb->dirty_min = b;
	vb->dirty_max = 0;
	vb->cpu = cpu;
	vb->live = true;
	list_add_tail(&vb->free_list, q);
	k->stats.vmap_blocks++;
	*idx = start;
	return 0;
}

/*
 * vb_free(): the piece of @count pages at page @idx (PTEs cleared) is
 * dirty: the block's dirty range grows over it, and a block all dirty is
 * freed (lazily, with free_vmap_area_noflush()'s threshold).
 */
static void vb_free(struct km_core *k, unsigned idx, unsigned count)
{
	struct km_vblock *vb = &k->vm_blocks[vb_number(k, idx)];
	unsigned off = idx - vb_first(k, vb), n = piece_pages(count);
	if (off < vb->dirty_min)
		vb->dirty_min = off;
	if (off + n > vb->dirty_max)
		vb->dirty_max = off + n;
	vb->dirty += n;
	if (vb->dirty == k->vm_block_pages) {
		free_block(k, vb);
		if (k->stats.vmap_lazy_pages > k->vm_lazy_max)
			purge(k, KM_PURGE_LAZY, false, NO_LO, 0);
	}
}

/* The PTEs of @count pages from @idx cleared, without a flush. */
static int clear_range(struct km_core *k, unsigned idx, unsigned count)
{
	int r = k->be->clear_ptes(k->be_ctx, vm_addr(k, idx), count);
	if (!r)
		for (unsigned j = 0; j < count; j++)
			k->vm_pte[idx + j] = 0;
	return r;
}

/* Where a new mapping's range comes from (map_new). */
enum new_range {
	NEW_VMAP,  /* vmap: an area with its guard page */
	NEW_PIECE, /* vm_map_ram of up to VMAP_MAX_ALLOC pages: a block's piece */
	NEW_RAM,   /* vm_map_ram of more: an area of its own, no guard page */
};

/*
 * A mapping of @count pages at @idx that failed half-made (map_pages()
 * cleared the PTEs it set, or could not clear and flush @set of them)
 * gives its range back as the kernel's unmap of it would.
 */
static void give_back(struct km_core *k, enum new_range kind, unsigned idx,
                      unsigned count, unsigned set)
{
	switch (kind) {
	case NEW_VMAP:
		/* translations not cleared and flushed: the range waits for a
		 * purge, as the kernel's vunmap() of the half-made area does */
		if (set) {
			lazy_free(k, idx, count + 1);
		} else {
			release_free(k, idx, count + 1);
		}
		break;
	/* vm_unmap_ram() of the half-made mapping: the piece is dirty, the
	 * area lazily freed (its PTEs are clear: map_pages) */
	case NEW_PIECE:
		vb_free(k, idx, count);
		break;
	case NEW_RAM:
		free_noflush(k, idx, count);
		break;
	}
}

/*
 * Under the lock: the range of a new mapping of @count pages (@cpu: a
 * piece's queue), its PTEs, its tallies and *vaddr. On an error nothing
 * is mapped; the range, if taken, went back (give_back).
 */
static int map_new(struct km_core *k, enum new_range kind, unsigned cpu,
                   struct km_page *const *pages, unsigned count,
                   uintptr_t *vaddr)
{
	/* get_vm_area(): a vmap area's size with its guard page (more than
	 * the whole area: one page more than it, which never fits) */
	uint64_t need = (uint64_t)count + (kind == NEW_VMAP);
	unsigned len = need > k->vm_pages ? k->vm_pages + 1 : (unsigned)need;
	unsigned idx, set;
	int r;
	lock(k);
	if (kind == NEW_PIECE)
		r = vb_alloc(k, cpu, count, &idx);
	else
		r = alloc_area(k, len, 1, kind == NEW_VMAP ? VM_BUSY : VM_RAM,
		               &idx);
	if (r) {
		unlock(k);
		return r;
	}
	r = map_pages(k, idx, pages, count, &set);
	if (r) {
		give_back(k, kind, idx, count, set);
		unlock(k);
		return r;
	}
	if (kind == NEW_VMAP) {
		k->stats.vmaps++;
		k->stats.vmap_areas++;
		k->stats.vmap_pages += count;
	} else {
		if (kind == NEW_PIECE)
			k->vm_ram[idx] = (uint8_t)count;
		k->stats.vm_map_rams++;
	}
	*vaddr = vm_addr(k, idx);
	check_after(k, kind == NEW_VMAP ? "vmap" : "vm_map_ram");
	unlock(k);
	return 0;
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
	return map_new(k, NEW_VMAP, 0, pages, count, vaddr);
}

int km__vm_map_ram(struct km_core *k, struct km_task *t,
                   struct km_page *const *pages, unsigned count,
                   uintptr_t *vaddr)
{
	/* new_vmap_block() and the page tables may sleep */
	if (t->atomic_depth)
		return -KM_EATOMIC;
	if (!count)
		return -EINVAL;
	for (unsigned i = 0; i < count; i++)
		if (!km__page_valid(k, pages[i]))
			return -EINVAL;
	unsigned cpu;
	int r = task_cpu(k, t, &cpu);
	if (r)
		return r;
	return map_new(k, count <= KM_VMAP_MAX_ALLOC ? NEW_PIECE : NEW_RAM, cpu,
	               pages, count, vaddr);
}

int km__vm_unmap_ram(struct km_core *k, struct km_task *t, uintptr_t vaddr,
                     unsigned count)
{
	/* might_sleep() */
	if (t->atomic_depth)
		return -KM_EATOMIC;
	lock(k);
	/* the kernel BUG()s or corrupts its blocks on an address or count
	 * vm_map_ram did not give; here that is refused */
	long pos = count > KM_VMAP_MAX_ALLOC ? area_at(k, vaddr, VM_RAM) :
	           area_at(k, vaddr & ~(block_bytes(k) - 1), VM_BLOCK);
	unsigned idx = (unsigned)((vaddr - k->vmalloc_start) >> PAGE_SHIFT);
	int r = 0;
	if (pos < 0 || !count || (vaddr & (PAGE_SIZE - 1)) ||
	    (count > KM_VMAP_MAX_ALLOC ? tag_len(k->vm_tag[pos]) != count :
	     k->vm_ram[idx] != count))
		r = -KM_ENOAREA;
	if (!r)
		r = clear_range(k, idx, count);
	if (r) {
		unlock(k);
		return r;
	}
	k->stats.vm_unmap_rams++;
	if (count <= KM_VMAP_MAX_ALLOC) {
		k->vm_ram[idx] = 0;
		vb_free(k, idx, count);
	} else {
		free_noflush(k, idx, count);
	}
	check_after(k, "vm_unmap_ram");
	unlock(k);
	return 0;
}

/*
 * _vm_unmap_aliases(): the dirty range of every block on a CPU's queue
 * that has some dirt and is not all dirty is flushed with the purge (a
 * block off the queues, with no free pages, is not looked at in 6.1; its
 * dirt waits for the block to go). The ranges are not forgotten: the
 * next call flushes them again.
 */
int km__vm_unmap_aliases(struct km_core *k)
{
	uintptr_t lo = NO_LO, hi = 0;
	lock(k);
	for (unsigned c = 0; c < k->nr_cpus; c++) {
		struct list_head *q = &k->vm_queue[c];
		for (struct list_head *p = q->next; p != q; p = p->next) {
			struct km_vblock *vb =
				km__container_of(p, struct km_vblock, free_list);
			if (!vb->dirty || vb->dirty == k->vm_block_pages)
				continue;
			uintptr_t s = vm_addr(k, vb_first(k, vb) + vb->dirty_min);
			uintptr_t e = vm_addr(k, vb_first(k, vb) + vb->dirty_max);
			lo = s < lo ? s : lo;
			hi = e > hi ? e : hi;
		}
	}
	int r = purge(k, KM_PURGE_ALIASES, true, lo, hi);
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

bool km__vm_live(const struct km_core *k)
{
	/* each successful vm_map_ram is live until its vm_unmap_ram */
	return k->stats.vmap_areas ||
	       k->stats.vm_map_rams != k->stats.vm_unmap_rams;
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
		unsigned st = tag_state(t), len = tag_len(t);
		/* an area, or each live piece of a block */
		for (unsigned j = 0; j < len; j++) {
			unsigned pages = st == VM_BUSY ? len - 1 :
			                 st == VM_RAM ? len :
			                 st == VM_BLOCK ? k->vm_ram[pos + j] : 0;
			if (pages) {
				if (n < max)
					out[n] = (struct km_leak){
						.pfn = k->vm_pte[pos + j] - 1,
						.vmap = 1, .pages = pages,
						.addr = (const void *)vm_addr(k,
						                              pos + j) };
				n++;
			}
			if (st != VM_BLOCK)
				break;
		}
		pos += len;
	}
	return n;
}

static int bad(char *msg, size_t n, const char *a, uint64_t v, const char *b)
{
	if (msg)
		km__fmt_msg(msg, n, a, v, b);
	return -KM_ECORRUPT;
}

/* A block's record against its extent at @pos: 0, or what is wrong. */
static const char *block_wrong(const struct km_core *k, unsigned pos,
                               unsigned len)
{
	unsigned b = k->vm_block_pages, live = 0;
	const struct km_vblock *vb = &k->vm_blocks[vb_number(k, pos)];
	if (len != b || vb_first(k, vb) != pos || !vb->live)
		return ": block extent without its block";
	if (vb->free > b || vb->dirty > b - vb->free)
		return ": block's free and dirty pages disagree";
	for (unsigned j = 0; j < b; j++) {
		unsigned c = k->vm_ram[pos + j];
		if (!c)
			continue;
		if (c > KM_VMAP_MAX_ALLOC || j + piece_pages(c) > b - vb->free)
			return ": a piece beyond what its block handed out";
		live += piece_pages(c);
	}
	if (live + vb->dirty != b - vb->free)
		return ": block's pieces and dirt disagree with what it handed out";
	if ((vb->free > 0) == list_empty(&vb->free_list))
		return ": block on its queue with no free pages, or off it with some";
	return NULL;
}

int km__vm_check(struct km_core *k, char *msg, size_t n)
{
	unsigned areas = 0, blocks = 0;
	uint64_t pages = 0, lazy = 0;
	unsigned pos = 0, prev = 0;
	while (pos < k->vm_pages) {
		uint32_t t = k->vm_tag[pos];
		unsigned len = tag_len(t), st = tag_state(t);
		if (!(t & VM_HEAD) || !len || !st || st > VM_BLOCK ||
		    len > k->vm_pages - pos)
			return bad(msg, n, "vmalloc page ", pos, ": bad extent tag");
		if (len > 1 && k->vm_tag[pos + len - 1] != (t & ~VM_HEAD))
			return bad(msg, n, "vmalloc page ", pos,
			           ": extent's tags disagree");
		if (st == VM_FREE && pos && tag_state(prev) == VM_FREE)
			return bad(msg, n, "vmalloc page ", pos,
			           ": two free extents side by side");
		const char *why = st == VM_BLOCK ? block_wrong(k, pos, len) : NULL;
		if (why)
			return bad(msg, n, "vmalloc page ", pos, why);
		/* an area's pages (a vmap area's guard page unmapped), a
		 * block's live pieces; free and lazy runs (which may be most
		 * of the area) only at their ends */
		unsigned piece_end = 0;
		for (unsigned j = 0; j < len; j++) {
			uint32_t pte = k->vm_pte[pos + j];
			if (st == VM_BLOCK && k->vm_ram[pos + j])
				piece_end = j + k->vm_ram[pos + j];
			else if (st != VM_BLOCK && k->vm_ram[pos + j])
				return bad(msg, n, "vmalloc page ", pos + j,
				           ": a block piece outside a block");
			bool mapped = (st == VM_BUSY && j + 1 < len) ||
			              st == VM_RAM || j < piece_end;
			if (!mapped) {
				if (pte)
					return bad(msg, n, "vmalloc page ", pos + j,
					           ": PTE set outside an area");
				if ((st == VM_FREE || st == VM_LAZY) && j == 0 &&
				    len > 2)
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
		} else if (st == VM_BLOCK) {
			blocks++;
		}
		prev = t;
		pos += len;
	}
	if (areas != k->stats.vmap_areas || pages != k->stats.vmap_pages ||
	    lazy != k->stats.vmap_lazy_pages || blocks != k->stats.vmap_blocks)
		return bad(msg, n, "vmap tallies disagree with the area (",
		           areas, " areas)");
	return 0;
}
