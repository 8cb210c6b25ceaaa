/*
 * vmalloc.h - vmap, vunmap, vm_map_ram and vm_unmap_ram as the kernel's
 * mm/vmalloc.c does them (vm_map_ram: vmalloc.c's header comment): a
 * range of the vmalloc area taken first fit with a guard page after it,
 * every page's PTE written; on vunmap the PTEs cleared at once, and the
 * TLB flush and the range's release deferred to a purge that flushes once
 * for every lazily freed area (lazy_max_pages, or a vmap that found no
 * room). vmalloc.c; freestanding. The functions take the driver's lock.
 */
#ifndef KMAP_VMALLOC_H
#define KMAP_VMALLOC_H

#include "machine.h"

/*
 * lazy_max_pages(): fls(num_online_cpus()) * 32 MiB of pages. The
 * machine runs its tasks on one CPU at a time (a replay, the project's
 * kernel under qemu -smp 1), so fls(1) = 1.
 */
#define KM_VMAP_LAZY_MAX ((32u << 20) / PAGE_SIZE)

/* VMAP_MAX_ALLOC: BITS_PER_LONG, the most pages vm_map_ram takes from a
 * block (32 on every 32-bit profile). */
#define KM_VMAP_MAX_ALLOC 32u

/* VMAP_BBMAP_BITS for NR_CPUS @nr_cpus: a vmap block's pages, the
 * kernel's formula (VMALLOC_SPACE / PAGE_SIZE / roundup_pow_of_two(NR_CPUS)
 * / 16, clamped between 2 * VMAP_MAX_ALLOC and 1024). */
unsigned km__vm_block_pages(unsigned nr_cpus);
/* vm_block_pages and vm_nr_blocks from vm_pages and nr_cpus (layout). */
void km__vm_geometry(struct km_core *k);
/* The vmalloc area's tags: the whole area one free extent; the blocks'
 * queues empty (init). */
void km__vm_init(struct km_core *k);

/* vmap() for @t: 0 and *vaddr; -EINVAL, -KM_EATOMIC, -ENOSPC, a
 * backend's -errno, with nothing changed. */
int km__vmap(struct km_core *k, struct km_task *t, struct km_page *const *pages,
             unsigned count, uintptr_t *vaddr);
/* vunmap() for @t: 0; -KM_ENOAREA, -KM_EATOMIC, a backend's -errno. */
int km__vunmap(struct km_core *k, struct km_task *t, uintptr_t vaddr);
/* vm_map_ram() for @t on its CPU: 0 and *vaddr; -EINVAL, -KM_EATOMIC,
 * -ENOSPC, the driver's -EBUSY (no CPU), a backend's -errno. */
int km__vm_map_ram(struct km_core *k, struct km_task *t,
                   struct km_page *const *pages, unsigned count,
                   uintptr_t *vaddr);
/* vm_unmap_ram() for @t: 0; -KM_ENOAREA (not a live vm_map_ram mapping
 * of @count pages at @vaddr), -KM_EATOMIC, a backend's -errno. */
int km__vm_unmap_ram(struct km_core *k, struct km_task *t, uintptr_t vaddr,
                     unsigned count);
/* vm_unmap_aliases(): flush the blocks' dirt, purge the lazily freed
 * areas and blocks now. */
int km__vm_unmap_aliases(struct km_core *k);
/* vmalloc_to_page(): the page at @vaddr in a live area, or NULL. Lock
 * held. */
struct km_page *km__vmalloc_to_page(struct km_core *k, uintptr_t vaddr);

/* Lock held: a vmap area or a vm_map_ram mapping is live (a page may be
 * written through one with no PTE set now). */
bool km__vm_live(const struct km_core *k);
/* Lock held: the figures of km_stats that walk the area (free pages,
 * the longest free run). */
void km__vm_tally(const struct km_core *k, struct km_stats *s);
/* Lock held: the live areas, by address, into @out from index @n (up to
 * @max); returns @n plus their number. */
unsigned km__vm_leaks(const struct km_core *k, struct km_leak *out,
                      unsigned n, unsigned max);
/* Lock held: the area's tags, shadow PTEs, tallies and the MMU agree. */
int km__vm_check(struct km_core *k, char *msg, size_t n);

#endif
