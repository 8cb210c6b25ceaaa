/*
 * user.h - the user-space driver: a machine is the core plus a lock
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

/*
 * What one thread knows of its scans, for the copy helpers (copy.c): the
 * sequential streams it follows, the run of pages mapped for them, and
 * which way of serving a scan it measured to be cheaper here.
 */
#define KM_STREAMS 4 /* scans followed at once */
struct km_stream {
	uint64_t next[KM_STREAMS];  /* pfn + 1 each reads next; 0: none */
	unsigned len[KM_STREAMS];   /* pages it read in order */
	unsigned used[KM_STREAMS];  /* tick of its last page: the oldest goes */
	unsigned tick;
	uint64_t run_pfn;           /* the run: pages [run_pfn, + run_n) */
	unsigned run_n;             /* ... mapped at run_va; 0: none */
	uintptr_t run_va;
	int way;                    /* KM_WAY_RUNS or KM_WAY_PAGES */
	bool probing;               /* this epoch tries the way not chosen */
	unsigned epoch_pages;       /* scan pages served this epoch */
	unsigned epochs;            /* since the last probe */
	unsigned probe_every;       /* epochs between probes (0: the first) */
	uint64_t epoch_start;       /* ns */
	uint64_t cost[2];           /* ns a scan page each way; 0: unmeasured */
	/* KM_READAHEAD: pages [ahead_pfn, + ahead_n) read into ahead when
	 * the core's ahead_gen was ahead_at, but those of ahead_skip (bit i:
	 * ahead_pfn + i was in the window then); ahead: KM_AHEAD_PAGES pages,
	 * allocated on the first read-ahead, freed with the cpu */
	char *ahead;
	uint64_t ahead_pfn, ahead_at;
	unsigned ahead_n;
	uint32_t ahead_skip;
};
#define KM_AHEAD_PAGES 32u /* a read-ahead: 128 KiB, one call */
enum { KM_WAY_RUNS, KM_WAY_PAGES };

struct km_machine {
	struct km_core k;            /* first: see km__core_of() */
	uint32_t lock;               /* kmap_lock: guards k's pkmap state */
	/* threads asleep on it (cpu.c); its own line: every unlock reads
	 * it, a sleeper writes it */
	_Alignas(64) uint32_t lock_sleepers;
	pthread_mutex_t wait_lock;   /* with wait_cond: a sleep on a colour */
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
/* the kmap lock (the driver's lock()), for the driver's own callers */
void km__kmap_lock(km_machine *m);
void km__kmap_unlock(km_machine *m);
void km__cpus_destroy(km_machine *m);
/* What every task counted without the lock, gone ones too: lock-free
 * hits (by colour), kunmaps, and the copy helpers' KM__COPY_* */
struct km_fast_counts {
	uint64_t hits[KM_MAX_COLORS], unmaps, copies[KM__COPY_KINDS];
};
void km__cpus_fast_counts(km_machine *m, struct km_fast_counts *out);
/* The calling thread's scans, and *area its local-map area (taken now if
 * it had none); NULL when no area is free or no memory. */
struct km_stream *km__cpu_stream(km_machine *m, unsigned *area);
/* Call @fn for each thread's own task (debug mode's leak report). */
void km__cpus_leak_report(km_machine *m,
                          void (*fn)(const struct km_task *t, const char *whose));
/* stats.c: debug mode, at destroy: the mappings still held, on stderr */
void km__report_leaks(km_machine *m);

/* For tests: reach the core and the backend of a machine. */
struct km_core *km__machine_core(km_machine *m);
void *km__machine_backend(km_machine *m);

#endif
