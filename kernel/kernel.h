/*
 * kernel.h - what the parts of the kmap kernel share: the console, the
 * boot allocator, the MMU, the scheduler, kmap.h's machine and the
 * replay.
 */
#ifndef KKERNEL_H
#define KKERNEL_H

#include "core/local.h"
#include "core/machine.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Where the kernel lives: phys [0, BOOT_MAP_BYTES) at KERNEL_VBASE. Two
 * images are built: kmap-kernel.elf at 0xf8800000, above every profile's
 * lowmem and below its pkmap window, and kmap-kernel-low.elf at 0x40000000
 * for the machines whose window is so large (8192 slots and more) that it
 * and lowmem cover 0xf8800000 (see kernel/mm.c).
 */
#ifndef KERNEL_VBASE
#define KERNEL_VBASE 0xF8800000
#endif
#define BOOT_MAP_BYTES (96u << 20)

extern char _kernel_phys_start[], _kernel_end[];

static inline void *kvirt(uint64_t phys)
{
	return (void *)(uintptr_t)((uint32_t)KERNEL_VBASE + (uint32_t)phys);
}
static inline uint32_t kphys(const void *p)
{
	return (uint32_t)(uintptr_t)p - (uint32_t)KERNEL_VBASE;
}

/* Exit status of the kernel (what `make qemu` exits with). */
enum {
	KEXIT_OK = 0,        /* the replay's own 0 or 1 */
	KEXIT_TRACE = 2,     /* the trace could not be read */
	KEXIT_NORUN = 3,     /* the machine cannot be built on this RAM */
	KEXIT_BUG = 4,       /* an exception or a broken invariant */
	KEXIT_MOVE = 5,      /* the machine's layout covers this kernel's
	                      * addresses: boot the other image */
};

/* console.c: COM1 carries the JSON, COM2 the boot log */
void console_init(void);
void klog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvlog(const char *fmt, va_list ap);
void json_write(const char *s, size_t n);
void json_flush(void);
__attribute__((noreturn)) void kexit(int status);
__attribute__((noreturn, format(printf, 2, 3)))
void kpanic(int status, const char *fmt, ...);

unsigned cpu_phys_bits(void);

/* mm.c: the memory map, the boot allocator, page tables, the backend */
struct mb_info;
void mm_early(const struct mb_info *mbi, uint32_t reserved_end);
void mm_log_e820(void);
void *kalloc(uint64_t bytes);          /* zeroed, page-aligned; panics */
uint64_t mm_total_usable(void);
int mm_setup(struct km_core *k, bool pae);
void mm_log_backing(const struct km_core *k);
void mm_log_stats(void);
extern const struct km_backend_ops km_mmu_ops;
extern bool mm_tlb_noflush;                /* debug: tlb=noflush */

/* sched.c: kernel threads, one CPU, cooperative */
struct kthread {
	uint32_t esp;
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

/* replay.c: the trace in @buf (checked, see replay_check) on @m, the JSON
 * on COM1; @check: 0 never, 1 after every line, 2 auto (kernel/main.c) */
struct rp_header;
int replay_check(const char *name, const char *buf, size_t size,
                 struct rp_header *h);
int replay_run(km_machine *m, const char *policy, const char *buf,
               size_t size, int check);

#endif
