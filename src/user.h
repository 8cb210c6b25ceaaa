/*
 * user.h - the user-space driver: a machine is the core plus a mutex
 * (the kmap lock), a condition variable per colour, and one CPU per
 * thread that uses it. machine.c builds it, cpu.c implements the driver
 * contract (src/core/driver.h) and the simulated tasks, stats.c and
 * copy.c the rest of kmap.h.
 */
#ifndef KMAP_USER_H
#define KMAP_USER_H

#include "core/core.h"

#include <pthread.h>

struct km_cpu;

struct km_machine {
	struct km_core k;            /* first: see km__core_of() */
	pthread_mutex_t lock;        /* kmap_lock: guards k's pkmap state */
	pthread_cond_t *wait_cond;   /* one per colour, with k.pkmap_map_wait */
	pthread_key_t key;           /* this thread's struct km_cpu */
	uint64_t gen;                /* unique to this machine (cpu cache) */
	bool key_failed;
	pthread_mutex_t cpu_lock;    /* guards cpus and area_used */
	struct km_cpu *cpus;
	bool *area_used;             /* [nr_cpus] local-map areas taken */
	/* what km_machine_create allocated for the core */
	struct km_page *mem_map;
	void *arena;
	uint32_t *page_slot;
};

extern const struct km_driver_ops km__user_driver;

/* cpu.c: the machine's pthread objects, and giving back every CPU */
int km__cpus_init(km_machine *m);
void km__cpus_destroy(km_machine *m);
/* The lock-free hits (by colour) and kunmaps of every task, gone ones too */
void km__cpus_fast_counts(km_machine *m, uint64_t *hits, uint64_t *unmaps);
/* Call @fn for each thread's own task (debug mode's leak report). */
void km__cpus_leak_report(km_machine *m,
                          void (*fn)(const struct km_task *t, const char *whose));
/* stats.c: debug mode, at destroy: the mappings still held, on stderr */
void km__report_leaks(km_machine *m);

/* For tests: reach the core and the backend of a machine. */
struct km_core *km__machine_core(km_machine *m);
void *km__machine_backend(km_machine *m);

#endif
