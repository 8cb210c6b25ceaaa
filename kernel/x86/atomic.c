/*
 * atomic.c - the 64-bit atomics gcc leaves to libatomic on i386 when it may
 * not use the FPU or SSE (-mgeneral-regs-only): the core stores
 * pkmap_page_table[] entries (uint64_t) with __atomic_store_n. cmpxchg8b
 * (every CPU since the Pentium) makes the store one indivisible write.
 */
#include <stdint.h>

void __atomic_store_8(volatile void *p, uint64_t v, int order);
uint64_t __atomic_load_8(const volatile void *p, int order);

void __atomic_store_8(volatile void *p, uint64_t v, int order)
{
	volatile uint64_t *q = p;
	uint64_t old = *q; /* a guess; cmpxchg8b corrects it */
	(void)order;
	__asm__ volatile("1: lock cmpxchg8b %0\n\tjnz 1b"
	                 : "+m"(*q), "+A"(old)
	                 : "b"((uint32_t)v), "c"((uint32_t)(v >> 32))
	                 : "memory", "cc");
}

uint64_t __atomic_load_8(const volatile void *p, int order)
{
	uint64_t v = 0;
	(void)order;
	/* cmpxchg8b with edx:eax == ecx:ebx: reads atomically, writes the
	 * same value back if equal */
	__asm__ volatile("lock cmpxchg8b %1"
	                 : "+A"(v), "+m"(*(volatile uint64_t *)p)
	                 : "b"(0), "c"(0)
	                 : "memory", "cc");
	return v;
}

uint64_t __atomic_fetch_add_8(volatile void *p, uint64_t v, int order);

/* The counters of kmap.h's functions (lowmem maps, misuse): a
 * compare-and-swap loop over cmpxchg8b. */
uint64_t __atomic_fetch_add_8(volatile void *p, uint64_t v, int order)
{
	volatile uint64_t *q = p;
	uint64_t old = *q;
	(void)order;
	__asm__ volatile("1: movl %%eax, %%ebx\n\t"
	                 "movl %%edx, %%ecx\n\t"
	                 "addl %2, %%ebx\n\t"
	                 "adcl %3, %%ecx\n\t"
	                 "lock cmpxchg8b %0\n\t"
	                 "jnz 1b"
	                 : "+m"(*q), "+A"(old)
	                 : "g"((uint32_t)v), "g"((uint32_t)(v >> 32))
	                 : "ebx", "ecx", "memory", "cc");
	return old;
}
