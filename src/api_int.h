/* api_int.h - the user-space machine: the core plus locks and threads. */
#ifndef KMAP_API_INT_H
#define KMAP_API_INT_H

#include "core/core.h"

#include <pthread.h>

struct km_cpu;

struct km_machine {
	struct km_core k;
	pthread_mutex_t lock;        /* kmap_lock: guards k's pkmap state */
	pthread_cond_t *wait_cond;   /* one per colour, with k.pkmap_map_wait */
	pthread_key_t key;           /* this thread's struct km_cpu */
	uint64_t gen;                /* unique to this machine (cpu cache) */
	bool key_failed;
	pthread_mutex_t cpu_lock;    /* guards cpus and area_used */
	struct km_cpu *cpus;
	bool *area_used;             /* [nr_cpus] local-map areas taken */
	struct list_head tasks;      /* simulated tasks, in creation order */
	struct list_head woken;      /* woken simulated tasks, FIFO (lock) */
	unsigned nr_woken;           /* on it; read without the lock first */
	struct km_page *mem_map;
	void *arena;
	void *be_ctx;
	bool host;                   /* the host backend (real memory) */
	bool debug;                  /* host debug mode (KM_DEBUG) */
	uint32_t *page_slot;         /* policies other than linux */
	/* counted outside the lock, atomically */
	uint64_t lowmem_maps, local_maps, errors;
	/* lock-free hits by colour and kunmaps, of threads that have exited */
	uint64_t fast_hits[KM_MAX_COLORS], fast_unmaps;
};

/* For tests: reach the core and the backend of a machine. */
struct km_core *km__machine_core(km_machine *m);
void *km__machine_backend(km_machine *m);

#endif
