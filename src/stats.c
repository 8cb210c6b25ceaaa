/*
 * stats.c - km_stats_get: the core's counters, with what the lock-free
 * paths and the CPUs counted outside the lock; and debug mode's leak
 * report at destroy.
 */
#include "user.h"
#include "core/pkmap.h"
#include "core/vmalloc.h"

#include <stdio.h>

int km_stats_get(km_machine *m, struct km_stats *out)
{
	if (!m || !out)
		return -EINVAL;
	struct km_core *k = &m->k;
	uint64_t one = 0, stale = 0;
	struct km_fast_counts f;
	k->be->tlb_counts(k->be_ctx, &one, &stale);
	km__cpus_fast_counts(m, &f);
	km__kmap_lock(m);
	if (k->pol->lockless)
		km__pkmap_tally(k); /* lock-free paths keep no tallies */
	*out = k->stats;
	km__vm_tally(k, out);
	km__kmap_unlock(m);
	for (unsigned i = 0; i < k->colors; i++) {
		out->hits += f.hits[i];
		out->kmaps += f.hits[i];
		out->color[i].hits += f.hits[i];
	}
	out->kunmaps += f.unmaps;
	out->copy_window += f.copies[KM__COPY_WINDOW];
	out->copy_memory += f.copies[KM__COPY_MEMORY];
	out->copy_stream += f.copies[KM__COPY_STREAM];
	out->stream_runs += f.copies[KM__COPY_RUNS];
	out->copy_ahead += f.copies[KM__COPY_AHEAD];
	out->ahead_reads += f.copies[KM__COPY_AHEADS];
	uint64_t low = __atomic_load_n(&k->lowmem_maps, __ATOMIC_RELAXED);
	out->lowmem += low;
	out->kmaps += low;
	out->local_maps = __atomic_load_n(&k->local_maps, __ATOMIC_RELAXED);
	out->errors = __atomic_load_n(&k->errors, __ATOMIC_RELAXED);
	out->tlb_flush_one = one;
	out->tlb_stale = stale;
	return 0;
}

static void leak_local(const struct km_task *t, const char *whose)
{
	for (int i = 0; i < t->kmap_ctrl.idx; i++)
		fprintf(stderr, "kmap: leak: pfn %llu still mapped locally "
		        "(local slot %d of %s)\n",
		        (unsigned long long)(t->kmap_ctrl.pteval[i] - 1), i, whose);
}

void km__report_leaks(km_machine *m)
{
	struct km_core *k = &m->k;
	for (unsigned nr = 0; nr < k->last_pkmap; nr++)
		if (k->pkmap_count[nr] >= 2)
			fprintf(stderr, "kmap: leak: pfn %llu still mapped in slot %u "
			        "(%d users)\n",
			        (unsigned long long)(k->pkmap_page_table[nr] - 1), nr,
			        k->pkmap_count[nr] - 1);
	km__cpus_leak_report(m, leak_local);
	struct km_leak vl[16];
	unsigned nv = km__vm_leaks(k, vl, 0, 16);
	for (unsigned i = 0; i < nv && i < 16; i++)
		fprintf(stderr, "kmap: leak: vmap area at %p still mapped "
		        "(%u pages from pfn %llu)\n", vl[i].addr, vl[i].pages,
		        (unsigned long long)vl[i].pfn);
	if (nv > 16)
		fprintf(stderr, "kmap: leak: ... and %u more vmap areas\n", nv - 16);
	for (struct list_head *p = k->tasks.next; p != &k->tasks; p = p->next)
		leak_local(km__container_of(p, struct km_task, all),
		           "a simulated task");
	for (unsigned i = 0; i < k->nr_lost_local; i++)
		fprintf(stderr, "kmap: leak: pfn %llu was mapped locally by a "
		        "thread that exited\n",
		        (unsigned long long)k->lost_local[i]);
}
