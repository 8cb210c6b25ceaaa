/*
 * refmodel.h - an independent reference model of the kmap trace semantics
 * (replay/trace-format.md plus the decisions recorded in refmodel.c).
 *
 * Used by kmapref (which prints what `kmap replay --json` should print) and
 * by gentrace (which only steers its random choices with it; output off).
 * Depends on nothing but libc, and on nothing in src/, include/ or tools/.
 */
#ifndef KMAP_REFMODEL_H
#define KMAP_REFMODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define REF_PAGE_SIZE 4096u
#define REF_MAX_HOLES 8  /* holes= in the machine line: at most 8 ranges */
#define REF_LOCAL_MAX 15 /* KM_MAX_IDX 16: the push that reaches 16 fails */

enum ref_profile {
	REF_X86_32,
	REF_X86_32_PAE,
	REF_ARM,
	REF_ARM_2G,
	REF_ARM_VIRT,
	REF_ARM_MARVELL,
	REF_NPROFILES
};

struct ref_profile_info {
	const char *name;
	uint64_t page_offset;
	/* pfn, before capping at max_pfn, for the profile's default layout.
	 * On x86 it moves with PKMAP_BASE: see ref_layout_highmem_start(). */
	uint64_t highmem_start;
	uint64_t default_mem;   /* bytes */
	uint64_t mem_limit;     /* bytes */
	unsigned default_last_pkmap;
	uint64_t first_pfn;     /* RAM's first pfn (PHYS_OFFSET / 4096) */
	int high_get;           /* kmap_local reuses a page's window slot */
};

extern const struct ref_profile_info ref_profiles[REF_NPROFILES];

/* Profile index by name, or -1. */
int ref_profile_by_name(const char *name);

enum ref_op {
	REF_KMAP,
	REF_KUNMAP,
	REF_KMAP_LOCAL,
	REF_KUNMAP_LOCAL,
	REF_KMAP_ATOMIC,
	REF_KUNMAP_ATOMIC,
	REF_WRITE,
	REF_READ,
	REF_FLUSH_UNUSED,
	REF_VMAP,
	REF_VUNMAP,
	REF_VM_MAP_RAM,
	REF_VM_UNMAP_RAM,
	REF_VM_UNMAP_ALIASES,
	REF_NOPS
};

extern const char *const ref_op_names[REF_NOPS];

/* Op index by name, or -1. */
int ref_op_by_name(const char *name);

enum ref_result { REF_OK = 0, REF_ERROR = 1, REF_SLEEP = 2 };

struct ref_model;

/*
 * First highmem pfn (before capping at max_pfn) for a layout whose
 * persistent window starts at pkmap_base. ARM: fixed by the profile. x86-32
 * (both): Linux's MAXMEM, VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE,
 * with VMALLOC_END = PKMAP_BASE - 2 * PAGE_SIZE and a 128 MiB reserve; for
 * the default last_pkmap that is the profile's table value.
 */
uint64_t ref_layout_highmem_start(enum ref_profile profile, uint64_t pkmap_base);

/*
 * mem in bytes; last_pkmap and colors already validated (powers of two,
 * colors divides last_pkmap); highmem_start is capped at mem/4096 here.
 * out == NULL: print nothing.
 */
struct ref_model *ref_new(enum ref_profile profile, uint64_t mem,
			  unsigned last_pkmap, unsigned colors, uint64_t highmem_start,
			  uint64_t pkmap_base, uint64_t local_base, FILE *out);
void ref_free(struct ref_model *m);

/* Task id for a name, created on first use (order of first appearance). */
int ref_task(struct ref_model *m, const char *name);
int ref_ntasks(const struct ref_model *m);
const char *ref_task_name(const struct ref_model *m, int task);

/*
 * Run one operation line. pfn is ignored for flush_unused; data/len are the
 * bytes for write, len alone the length for read. Returns the result of the
 * line itself (wake-ups it causes are run before returning).
 */
enum ref_result ref_exec(struct ref_model *m, long line, int task,
			 enum ref_op op, uint64_t pfn, uint64_t offset,
			 const uint8_t *data, size_t len);

/*
 * Run a vmap (@pfns[0..n)) or vunmap line for area @area (a purge it
 * causes is printed in its place). Returns the line's result.
 */
enum ref_result ref_exec_vmap(struct ref_model *m, long line, int task,
			      enum ref_op op, const char *area,
			      const uint64_t *pfns, size_t n);

/* Print the summary line; returns the exit status (0 or 1). */
int ref_finish(struct ref_model *m);

/* The machine line's holes: pfns [a[i], b[i]) have no RAM (checked by
 * the caller: sorted, apart, inside memory). */
void ref_set_holes(struct ref_model *m, size_t n, const uint64_t *a,
		   const uint64_t *b);

/* Queries (for the generator). */
uint64_t ref_max_pfn(const struct ref_model *m);
/* Is pfn in one of the holes? */
int ref_in_hole(const struct ref_model *m, uint64_t pfn);
uint64_t ref_highmem_start(const struct ref_model *m);
int ref_task_asleep(const struct ref_model *m, int task);
uint64_t ref_task_sleep_pfn(const struct ref_model *m, int task);
int ref_task_atomic_depth(const struct ref_model *m, int task);
int ref_task_nlocal(const struct ref_model *m, int task);
/* i = 0 is the bottom of the stack. */
uint64_t ref_task_local_pfn(const struct ref_model *m, int task, int i);
int ref_task_local_atomic(const struct ref_model *m, int task, int i);
/* Persistent count of pfn (0 when it is not in the window). */
unsigned ref_pkmap_count(const struct ref_model *m, uint64_t pfn);
/* Would a kmap of highmem pfn sleep now (not in the window, and every slot
 * of its colour has users)? */
int ref_kmap_would_sleep(const struct ref_model *m, uint64_t pfn);
/* Is there a live vmap area of that name? */
int ref_area_live(const struct ref_model *m, const char *area);
/* Pages of the vmalloc area, and pages taken by areas and lazy ones. */
uint64_t ref_vmalloc_pages(const struct ref_model *m);
uint64_t ref_vmalloc_used(const struct ref_model *m);
/* Is the live area @area a vm_map_ram one? */
int ref_area_ram(const struct ref_model *m, const char *area);

#endif
