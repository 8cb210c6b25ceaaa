/*
 * kernel.h - what the parts of the kmap kernel share: the console, the
 * boot allocator, the MMU, the scheduler, kmap.h's machine and the
 * replay; and the hooks each architecture (kernel/x86/, kernel/arm/)
 * supplies, named arch_. Where the kernel lives is in the architecture's
 * arch.h: KMAP_PHYS_START and KMAP_PHYS_END, the physical range the
 * kernel maps for itself, and kvirt()/kphys() between the two.
 */
#ifndef KKERNEL_H
#define KKERNEL_H

#include "core/local.h"
#include "core/machine.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KMAP_KERNEL_VERSION "0.1.0"

extern char _kernel_phys_start[], _kernel_end[];

/* Exit status of the kernel (what `make qemu` exits with). */
enum {
	KEXIT_OK = 0,        /* the replay's own 0 or 1 */
	KEXIT_TRACE = 2,     /* the trace could not be read */
	KEXIT_NORUN = 3,     /* the machine cannot be built on this RAM */
	KEXIT_BUG = 4,       /* an exception or a broken invariant */
	KEXIT_MOVE = 5,      /* the machine's layout covers this kernel's
	                      * addresses: boot the other image */
};

/* console.c: one channel carries the JSON, another the boot log */
void klog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvlog(const char *fmt, va_list ap);
void json_write(const char *s, size_t n);
void json_flush(void);
__attribute__((noreturn)) void kexit(int status);
__attribute__((noreturn, format(printf, 2, 3)))
void kpanic(int status, const char *fmt, ...);

/* the architecture's channels and power-off */
void arch_console_init(void);
void arch_log_write(const char *s, size_t n);
void arch_json_write(const char *s, size_t n);
__attribute__((noreturn)) void arch_power_off(int status);

/* run.c: the trace replayed, then power off; the command line's words */
__attribute__((noreturn))
void kernel_replay(const char *name, const char *trace, size_t size,
                   const char *cmdline);
bool cmdline_has(const char *cmdline, const char *word);

/* mem.c: usable RAM, the boot allocator, the frames behind the pfns */
void mem_add_usable(uint64_t addr, uint64_t len);   /* bytes */
void mem_init(uint64_t reserved_end);  /* kalloc from here (physical) */
uint64_t mem_next_free(void);          /* where kalloc stands */
uint64_t mem_first_frame(void);        /* the first usable frame */
uint64_t mem_top_frame(void);          /* one past the last usable frame */
void *kalloc(uint64_t bytes);          /* zeroed, page-aligned; panics */
uint64_t mm_total_usable(void);
/* No kalloc from here on: the kernel's frames are [first, last). */
void mem_freeze(uint64_t first_frame, uint64_t last_frame);
/*
 * Back the pfns [@first_pfn, @end_pfn): pfn P by its natural frame P +
 * @delta where that is usable and not the kernel's, else by spare frames
 * past the natural ones, from a multiple of @align (a power of two) on;
 * frames below @frame_limit only (@why says which limit, for the boot
 * log). 0 or -errno.
 */
int mem_backing_setup(uint64_t first_pfn, uint64_t end_pfn, uint64_t delta,
                      uint64_t frame_limit, uint64_t align, const char *why);
unsigned mem_extents(void);
void mem_extent(unsigned i, uint64_t *pfn, uint64_t *n, uint64_t *frame);
uint64_t mem_frame_of(uint64_t pfn);
/* Are the frames behind [pfn, pfn + n) consecutive? */
bool mem_contiguous(uint64_t pfn, uint64_t n);
void mm_log_backing(const struct km_core *k, uint64_t delta);
/* The MMU backend (mem.c) over the architecture's page tables. */
int mm_setup(struct km_core *k);       /* regions, then arch_mm_setup */
bool mm_overlaps_machine(uint64_t lo, uint64_t hi);
void mm_log_stats(void);
extern const struct km_backend_ops km_mmu_ops;
extern bool mm_tlb_noflush;                /* debug: tlb=noflush */
extern bool mm_vmalloc;     /* the trace vmaps: page tables for the
                             * vmalloc area, which must not hold the kernel */
extern bool mm_vmalloc;     /* the trace vmaps: page tables for the
                             * vmalloc area, which must not hold the kernel */

/*
 * The architecture's page tables (x86/mm.c, arm/mm.c): build the machine's
 * tables and turn them on (0, or -errno: -EADDRINUSE when the machine's
 * layout covers the kernel); map, unmap and look up one window or fixmap
 * page; flush the TLB; clear a frame through the kernel's own scratch
 * page; say what the flushes cost in the architecture's words.
 */
int arch_mm_setup(struct km_core *k);
void arch_set_pte(uintptr_t va, uint64_t frame);
void arch_clear_pte(uintptr_t va);
int arch_translate(uintptr_t va, uint64_t *frame);
void arch_flush_tlb_range(uintptr_t start, uintptr_t end);
void arch_flush_tlb_one(uintptr_t va);
void arch_clear_frame(uint64_t frame);
void arch_tlb_stats(char *buf, size_t n);

/* sched.c: kernel threads, one CPU, cooperative */
struct kthread {
	uintptr_t sp;               /* saved by km_switch_stack */
	int state;                  /* KT_RUNNABLE, KT_BLOCKED */
	struct list_head run;       /* on the run queue */
	struct km_task *task;       /* its local maps, switched with it */
	void (*fn)(void *);
	void *arg;
	const char *name;
	size_t name_len;
	/* called when the thread is about to sleep in kmap (kapi.c) */
	void (*on_sleep)(struct kthread *th);
};
enum { KT_RUNNABLE, KT_BLOCKED };

/* A task that can sleep in kmap: its core task and its thread. */
struct ktask {
	struct km_task t;
	struct kthread *th;
};
extern struct kthread *current;
void sched_init(struct km_core *k, struct kthread *boot, struct km_task *t);
void kthread_create(struct kthread *th, void *stack, size_t stack_size,
                    void (*fn)(void *), void *arg);
void wake_up_process(struct kthread *th);
void schedule(void);                /* block the current thread */
uint64_t sched_switches(void);
/* The architecture's context switch (boot.S): save the callee-saved
 * registers and the stack pointer in *save_sp, load next_sp, return into
 * it; and the stack of a new thread, laid out as if it had called that,
 * to return into @entry. */
void km_switch_stack(uintptr_t *save_sp, uintptr_t next_sp);
uintptr_t arch_thread_stack(void *stack_top, void (*entry)(void));

/* replay.c: the trace in @buf (checked, see replay_check) on @m, the JSON
 * on the JSON channel; @check: 0 never, 1 after every line, 2 auto
 * (kernel/run.c) */
struct rp_header;
int replay_check(const char *name, const char *buf, size_t size,
                 struct rp_header *h);
int replay_run(km_machine *m, const char *policy, const char *buf,
               size_t size, int check);

#endif
