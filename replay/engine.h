/*
 * engine.h - running a trace (replay/trace-format.md): pass one checks the
 * whole input and the header's rules; pass two runs each operation line as
 * its task, writes one record a step to a sink, and ends with the summary.
 *
 * The engine speaks only kmap.h, so it runs wherever kmap.h is
 * implemented: `kmap replay` and the fuzz target link it with libkmap, the
 * project's kernel with its own implementation on real page tables. It is
 * freestanding: memory, and how a line gets to run as its task, come from
 * the host (struct rp_host); records go to a sink (struct rp_sink).
 *
 * Sleeping: a kmap that finds every slot of its colour in use sleeps, and
 * the engine writes its "sleep" record when the library says so (the
 * KM_EV_SLEEP event). Under libkmap a simulated task parks: the kmap
 * returns -KM_ESLEEPING, and after each kunmap the engine retries the
 * woken tasks in FIFO order (km_task_next_woken). In the kernel the task
 * is a thread that blocks inside kmap and, woken, finishes it before the
 * dispatcher runs the next line. Both give the same records.
 */
#ifndef KMAP_ENGINE_H
#define KMAP_ENGINE_H

#include "record.h"
#include "trace.h"

#include <kmap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------- */
/* Pass one                                                                */
/* ---------------------------------------------------------------------- */

/* The header statements kept from a part: machine and policy lines. */
#define RP_MAX_HDR 4

/*
 * A stretch of the input checked on its own: a caller may check two
 * halves of a long trace at once, each in a thread, and merge them.
 */
struct rp_part {
	const char *buf;
	size_t begin, end;
	unsigned long lines;       /* lines in the part */
	unsigned long ops;         /* operation lines */
	unsigned long expects;     /* expect lines */
	unsigned long vmaps;       /* lines of the vmalloc area */
	unsigned long areas;       /* of them, those that name an area */
	unsigned long err_line;    /* first bad line, relative; 0 = none */
	struct trace_err err;
	unsigned long first_op;    /* relative; 0 = none */
	unsigned long first_stmt;  /* first operation or expect line, ditto */
	/* the @ times of its operation lines, which never go back: the first
	 * (and its line, relative; 0 = none) and the last */
	unsigned long first_time_line;
	uint64_t first_time, last_time;
	int nhdr;
	struct {
		unsigned long line;    /* relative */
		struct stmt st;
	} hdr[RP_MAX_HDR];
};

/* What pass one found: the machine, the policy, the size of the run. */
struct rp_header {
	char profile[64];
	char policy[32];
	uint64_t mem;
	unsigned last_pkmap, colors;
	enum km_memory_model model;
	unsigned nr_holes;
	struct km_hole holes[KM_MAX_HOLES];
	unsigned long ops;
	unsigned long expects;     /* expect lines: the run is checked */
	unsigned long vmaps;       /* vmap and vunmap lines: the run needs
	                            * the vmalloc area's page tables */
	unsigned long areas;       /* lines that name an area (all but
	                            * vm_unmap_aliases): the output's
	                            * column says pfn/area */
};

/* Check the lines of @p (buf, begin and end set, the rest zeroed). */
void rp_check_part(struct rp_part *p);
/*
 * rp_check_merge - the header's rules over @n parts in input order, and
 * the first bad line: 0 and *h filled, or -1 with *line and *err saying
 * what is wrong (nothing may run then).
 */
int rp_check_merge(const struct rp_part *p, int n, struct rp_header *h,
                   unsigned long *line, struct trace_err *err);
/* The config of the machine the header describes (km_config_init first). */
void rp_header_config(const struct rp_header *h, struct km_config *cfg);

/* ---------------------------------------------------------------------- */
/* Pass two                                                                */
/* ---------------------------------------------------------------------- */

/* A task of the trace: its name, the library's task, its local stack. */
struct rp_local {
	uint64_t pfn;
	void *addr;
	bool atomic;
	/* a pkmap address: where the kernel has kmap_high_get, a local map
	 * of a page in the window is a user of its slot, not on the stack */
	bool pkmap;
};

struct rp_task {
	const char *name;          /* points into the input */
	size_t name_len;
	km_task *t;
	void *host;                /* the host's own (the kernel's thread) */
	bool asleep;               /* on a wait queue, per the records */
	unsigned long sleep_line;  /* the kmap it sleeps in */
	uint64_t sleep_pfn;
	/* the operation it runs now (a kmap retried after a wake-up: its
	 * first line's), which a flush is written as caused by */
	enum trace_op op;
	unsigned long op_line;
	uint64_t op_pfn;
	/* its latest mapping's outcome, for expect lines; and an expect line
	 * that waits for the kmap it sleeps in */
	bool mapped, map_failed;
	uint64_t map_vaddr;
	const char *map_how;
	bool expecting;
	unsigned long expect_line;
	uint64_t expect_vaddr;
	int expect_how;
	int nlocal, cap_local;     /* highmem local maps, oldest first: at
	                            * most KM_LOCAL_MAX on the stack, and any
	                            * number of pkmap ones */
	struct rp_local *local;
};

/* The end of a run, for the sink's summary record. */
struct rp_leak {
	uint64_t pfn;
	int users;                 /* persistent */
	const struct rp_task *task;/* local: whose */
	bool local;
};

/* A vmap area of the trace, or a vm_map_ram mapping (ram): its name,
 * pages and address; unmapped (lazy: vunmap, vm_unmap_ram) until a purge
 * releases its range (a block's piece: the whole block's). */
struct rp_area {
	const char *name;          /* points into the input */
	size_t name_len;
	uint64_t *pfns;
	unsigned long npfns;
	uint64_t vaddr;
	bool lazy;
	bool ram;
};

/* A purge (KM_EV_PURGE): the areas whose ranges it released, by address. */
struct rp_purge {
	const struct km_event *ev;
	const struct rec *by; /* the operation that ran it, as a flush's */
	size_t nareas;
	const struct rp_area *const *areas;
};

struct rp_summary {
	uint64_t ops, errors, new_maps, hits, lowmem, flushes, tlb_flushes,
	         sleeps;
	/* vmap: shown when the trace has lines of the vmalloc area;
	 * vm_map_ram's when it has vm_map_ram or vm_unmap_ram lines */
	bool vmap_used, ram_used;
	uint64_t vmaps, vunmaps, purges, vm_map_rams, vm_unmap_rams;
	size_t nareas;                 /* areas left mapped (leaks) */
	const struct rp_area *const *areas;
	/* expect lines: checked is false when the run does not check them */
	bool checked;
	uint64_t checked_vaddrs, checked_flushes, mismatches;
	size_t ntasks;
	struct rp_task *const *tasks;  /* in order of first appearance */
	size_t nleaks;
	const struct rp_leak *leaks;   /* persistent ones, then local ones */
};

/*
 * An expect line that the run did not bear out: at @line (the expect
 * line, or the operation line whose flush no expect line named), what the
 * trace expected and what the run did, in expect-line words ("0xff001000
 * new", "flush 1-511", "no flush"). @task is NULL for a flush.
 */
struct rp_mismatch {
	unsigned long line;
	const char *task;
	size_t task_len;
	const char *expected, *got;
};

/*
 * Where records go. Each entry may be NULL. record(): an operation's or a
 * resumption's record; flush(): flush_all_zero_pkmaps ran (KM_EV_FLUSH),
 * inside the operation @by (its record before it has run, resumed for a
 * retried kmap; NULL when no task of the trace ran it), whose own record
 * comes after; purge(): the lazily freed vmap areas went (KM_EV_PURGE),
 * inside the vunmap, vm_unmap_ram or vm_unmap_aliases that ran it, or the
 * vmap or vm_map_ram that found no room (rp_purge.by), before that
 * operation's record; event(): every event
 * of the library, as it happens (pictures); mismatch(): an expect line not
 * borne out.
 */
struct rp_sink {
	void (*machine)(void *arg, const struct km_layout *l, const char *policy);
	void (*record)(void *arg, const struct rec *e);
	void (*mismatch)(void *arg, const struct rp_mismatch *mm);
	void (*flush)(void *arg, const struct km_event *ev, const struct rec *by);
	void (*purge)(void *arg, const struct rp_purge *p);
	void (*event)(void *arg, const struct km_event *ev);
	void (*summary)(void *arg, const struct rp_summary *s);
	void *arg;
};

struct rp;

/*
 * What the engine needs from where it runs. alloc and free are required
 * (free may do nothing). task_new: make @t's library task (NULL:
 * km_task_create). run_as: run line @line as task @t, by calling
 * rp_run_op() in @t's context, and return when the line is done or its
 * task sleeps (NULL: km_task_switch to @t, then rp_run_op). after_line: a
 * check after each operation line; at_end: after the last, before the
 * summary (NULL: none).
 */
struct rp_host {
	void *(*alloc)(void *arg, size_t bytes);
	void (*free)(void *arg, void *p);
	int (*task_new)(void *arg, struct rp *r, struct rp_task *t);
	void (*run_as)(void *arg, struct rp *r, struct rp_task *t,
	               unsigned long line, const struct stmt *st);
	void (*after_line)(void *arg, struct rp *r, unsigned long line);
	void (*at_end)(void *arg, struct rp *r);
	void *arg;
};

/*
 * rp_run - pass two: run the operation lines of @buf (checked by pass
 * one) on @m, whose policy is @policy; with @check, compare what the run
 * does with the expect lines (without, they are skipped). Returns the
 * exit status of `kmap replay`: 0, 1 (an error record, a task left
 * asleep, a mapping left, a mismatch), or 3 when memory ran out.
 */
int rp_run(km_machine *m, const char *policy, const char *buf, size_t size,
           bool check, const struct rp_host *host, const struct rp_sink *sink);
/* Run one line as @t, in @t's context (for run_as). */
void rp_run_op(struct rp *r, struct rp_task *t, unsigned long line,
               const struct stmt *st);
/* The machine, and the tasks so far (for after_line). */
km_machine *rp_machine(const struct rp *r);
size_t rp_task_count(const struct rp *r);
struct rp_task *rp_task_at(const struct rp *r, size_t i);

#endif
