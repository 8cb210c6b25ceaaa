/*
 * api.c - the user-space driver around the core: allocation, the kmap lock,
 * waiting on condition variables, one "cpu" per thread, simulated tasks,
 * and the public functions of kmap.h.
 */
#include "api_int.h"
#include "backend/host.h"
#include "backend/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NO_AREA (~0u)

/* Each machine gets a new generation number (see get_cpu). */
static uint64_t machine_gen;

/*
 * struct km_cpu: what one thread is to one machine: a CPU that runs its
 * own task or a simulated one. The local-map area (a slice of the fixmap)
 * is taken on the first local map and given back when the thread exits.
 */
struct km_cpu {
	km_machine *m;
	unsigned area;            /* index into kmap_area, NO_AREA until needed */
	struct km_task own;       /* the thread's own task */
	struct km_task *current;  /* the task running on this cpu */
	struct km_cpu *next;      /* on m->cpus */
	/* lock-free paths taken, written by this thread only */
	uint64_t fast_hits[KM_MAX_COLORS], fast_unmaps;
};

const char *km_version(void) { return "0.1.0"; }

const char *km_strerror(int err)
{
	const char *t = km__errtext(err);
	return t ? t : strerror(err < 0 ? -err : err);
}

/* ---------------------------------------------------------------------- */
/* Errors and misuse                                                       */
/* ---------------------------------------------------------------------- */

static bool is_misuse(int err)
{
	switch (-err) {
	case KM_ENOTMAPPED: case KM_ENOUSERS: case KM_EATOMIC: case KM_ENOTTOP:
	case KM_EKIND: case KM_ENOATOMIC: case KM_ESTACKFULL: case EINVAL:
		return true;
	default:
		return false;
	}
}

/* Report a refused call: count it, or abort in strict mode (the BUG). */
static int refuse(km_machine *m, int err, const char *fn)
{
	if (m && is_misuse(err)) {
		if (m->k.flags & KM_STRICT) {
			fprintf(stderr, "kmap: BUG: %s: %s\n", fn, km_strerror(err));
			abort();
		}
		__atomic_fetch_add(&m->errors, 1, __ATOMIC_RELAXED);
	}
	return err;
}

static void check_now(km_machine *m, const char *fn)
{
	char msg[256];
	if (km__core_check(&m->k, msg, sizeof(msg))) {
		fprintf(stderr, "kmap: invariant broken after %s: %s\n", fn, msg);
		abort();
	}
}

/* KM_CHECK: the expensive check after a call (a test of a flag otherwise) */
static inline void check_or_die(km_machine *m, const char *fn)
{
	if (__builtin_expect(m->k.flags & KM_CHECK, 0))
		check_now(m, fn);
}

/* ---------------------------------------------------------------------- */
/* Machines                                                                */
/* ---------------------------------------------------------------------- */

static void cpu_release(void *arg);

void km_config_init(struct km_config *cfg)
{
	*cfg = (struct km_config){ .profile = "x86-32", .policy = "linux",
	                           .backend = KM_BACKEND_SIM };
}

const char *km_profile_name(unsigned i)
{
	const struct km_profile *p = km__profile_at(i);
	return p ? p->name : NULL;
}

int km_profile_limits(const char *profile, uint64_t *max_mem,
                      uint64_t *default_mem)
{
	const struct km_profile *p = km__profile_find(profile);
	if (!p)
		return -EINVAL;
	if (max_mem)
		*max_mem = p->mem_limit;
	if (default_mem)
		*default_mem = p->default_mem;
	return 0;
}

const char *km_policy_name(unsigned i)
{
	return km__policy_name(i);
}

/* Free what km_machine_create built so far (m is zeroed where unbuilt). */
static void machine_free(km_machine *m)
{
	if (m->host) {
		if (m->debug && m->be_ctx)
			km__host_debug_unregister(m->be_ctx);
		km__host_destroy(m->be_ctx);
	} else {
		km__sim_destroy(m->be_ctx);
	}
	free(m->mem_map);
	free(m->arena);
	free(m->wait_cond);
	free(m->area_used);
	free(m->page_slot);
	free(m);
}

/* Host backend: 64 MiB of lowmem by default, 64 threads with local maps. */
#define HOST_LOWMEM_DEFAULT (64ull << 20)
#define HOST_NR_CPUS_DEFAULT 64

static bool env_debug(void)
{
	const char *e = getenv("KMAP_DEBUG");
	return e && *e && strcmp(e, "0") != 0;
}

int km_machine_create(const struct km_config *cfg, km_machine **out)
{
	struct km_config def;
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!cfg) {
		km_config_init(&def);
		cfg = &def;
	}
	int policy = cfg->policy ? km__policy_find(cfg->policy) : KM_POLICY_LINUX;
	if (policy < 0)
		return -EINVAL;
	if (cfg->backend != KM_BACKEND_SIM && cfg->backend != KM_BACKEND_HOST)
		return -EINVAL;
	if (cfg->flags & ~(KM_STRICT | KM_CHECK | KM_DEBUG | KM_RDONLY |
	                   KM_SEQUENTIAL))
		return -EINVAL;
	bool host = cfg->backend == KM_BACKEND_HOST;
	if (!host && (cfg->mem_path || (cfg->flags & (KM_DEBUG | KM_RDONLY))))
		return -EINVAL;
	uint64_t mem = cfg->mem_bytes, lowmem = 0;
	unsigned nr_cpus = cfg->nr_cpus;
	int r;
	if (host) {
		if (!mem && cfg->mem_path) {
			r = km__host_file_size(cfg->mem_path, &mem);
			if (r)
				return r;
			if (!mem)
				return -EINVAL; /* an empty file needs mem_bytes */
		}
		lowmem = cfg->lowmem_bytes ? cfg->lowmem_bytes : HOST_LOWMEM_DEFAULT;
		if (!nr_cpus)
			nr_cpus = HOST_NR_CPUS_DEFAULT;
	}
	if (!host && cfg->lowmem_bytes) {
		/* as the kernel's highmem= boot option: less lowmem, never more */
		struct km_core probe;
		memset(&probe, 0, sizeof(probe));
		r = km__layout_compute(&probe, km__profile_find(cfg->profile),
		                       mem, cfg->last_pkmap, cfg->colors, nr_cpus, 0);
		if (r)
			return r;
		if (cfg->lowmem_bytes > probe.lowmem_limit ||
		    cfg->lowmem_bytes < PAGE_SIZE)
			return -EINVAL;
		lowmem = cfg->lowmem_bytes;
	}
	km_machine *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->host = host;
	r = km__layout_compute(&m->k, km__profile_find(cfg->profile), mem,
	                       cfg->last_pkmap, cfg->colors, nr_cpus, lowmem);
	if (r) {
		free(m);
		return r;
	}
	m->k.flags = cfg->flags;
	m->debug = host && ((cfg->flags & KM_DEBUG) || env_debug());
	/* calloc: the kernel's mem_map is zeroed before memmap_init */
	m->mem_map = calloc((size_t)m->k.max_pfn, sizeof(struct km_page));
	m->arena = calloc(1, km__core_arena_size(m->k.last_pkmap, m->k.colors,
	                                         m->k.nr_cpus));
	m->wait_cond = calloc(m->k.colors, sizeof(pthread_cond_t));
	m->area_used = calloc(m->k.nr_cpus, sizeof(bool));
	if (policy != KM_POLICY_LINUX)
		m->page_slot = calloc((size_t)m->k.max_pfn, sizeof(uint32_t));
	if (!m->mem_map || !m->arena || !m->wait_cond || !m->area_used ||
	    (policy != KM_POLICY_LINUX && !m->page_slot)) {
		machine_free(m);
		return -ENOMEM;
	}
	km__core_init(&m->k, m->mem_map, m->arena);
	km__policy_init(&m->k, (enum km_policy)policy, m->page_slot);
	if (host) {
		struct km__host_params hp = {
			.path = cfg->mem_path, .mem_bytes = m->k.mem_bytes,
			.lowmem_bytes = m->k.max_low_pfn << PAGE_SHIFT,
			.last_pkmap = m->k.last_pkmap, .nr_areas = m->k.nr_cpus,
			.rdonly = cfg->flags & KM_RDONLY, .debug = m->debug,
			.sequential = cfg->flags & KM_SEQUENTIAL,
		};
		uint64_t got;
		uintptr_t low, win;
		r = km__host_create(&hp, &m->be_ctx, &got, &low, &win);
		if (r) {
			m->be_ctx = NULL;
			machine_free(m);
			return r;
		}
		/* real addresses replace the profile's: the direct map, the
		 * window; local areas come per thread (kmap_area 0 until then) */
		m->k.page_offset = low;
		m->k.high_memory = low + (m->k.max_low_pfn << PAGE_SHIFT);
		m->k.pkmap_base = win;
		m->k.vmalloc_start = m->k.vmalloc_end = 0;
		m->k.fixaddr_start = m->k.fixaddr_top = 0;
		for (unsigned c = 0; c < m->k.nr_cpus; c++)
			m->k.kmap_area[c] = 0;
		m->k.be = &km__host_ops;
		if (m->debug && (r = km__host_debug_register(m->be_ctx,
		                                             m->k.pkmap_page_table,
		                                             m->k.pkmap_count))) {
			m->debug = false; /* not registered: nothing to undo */
			machine_free(m);
			return r;
		}
	} else {
		r = km__sim_create(&m->k, &m->be_ctx);
		if (r) {
			m->be_ctx = NULL;
			machine_free(m);
			return r;
		}
		m->k.be = &km__sim_ops;
	}
	m->k.be_ctx = m->be_ctx;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->cpu_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (unsigned c = 0; c < m->k.colors; c++)
		pthread_cond_init(&m->wait_cond[c], &ca);
	pthread_condattr_destroy(&ca);
	INIT_LIST_HEAD(&m->tasks);
	INIT_LIST_HEAD(&m->woken);
	m->gen = __atomic_add_fetch(&machine_gen, 1, __ATOMIC_RELAXED);
	if (pthread_key_create(&m->key, cpu_release)) {
		m->key_failed = true;
		km_machine_destroy(m);
		return -EAGAIN;
	}
	*out = m;
	return 0;
}

int km_sync(km_machine *m)
{
	if (!m)
		return -EINVAL;
	return m->host ? km__host_sync(m->be_ctx) : 0;
}

/* Debug mode, at destroy: the mappings still held, on stderr. */
static void report_leaks(km_machine *m)
{
	for (unsigned nr = 0; nr < m->k.last_pkmap; nr++)
		if (m->k.pkmap_count[nr] >= 2)
			fprintf(stderr, "kmap: leak: pfn %llu still mapped in slot %u "
			        "(%d users)\n",
			        (unsigned long long)(m->k.pkmap_page_table[nr] - 1), nr,
			        m->k.pkmap_count[nr] - 1);
	for (struct km_cpu *c = m->cpus; c; c = c->next)
		for (int i = 0; i < c->own.kmap_ctrl.idx; i++)
			fprintf(stderr, "kmap: leak: pfn %llu still mapped locally "
			        "(local slot %d of a thread)\n",
			        (unsigned long long)(c->own.kmap_ctrl.pteval[i] - 1), i);
	for (struct list_head *p = m->tasks.next; p != &m->tasks; p = p->next) {
		const struct km_task *t = km__container_of(p, struct km_task, all);
		for (int i = 0; i < t->kmap_ctrl.idx; i++)
			fprintf(stderr, "kmap: leak: pfn %llu still mapped locally "
			        "(local slot %d of a simulated task)\n",
			        (unsigned long long)(t->kmap_ctrl.pteval[i] - 1), i);
	}
}

void km_machine_destroy(km_machine *m)
{
	if (!m)
		return;
	if (m->debug)
		report_leaks(m);
	m->gen = 0; /* the calling thread's cached cpu of it is gone */
	if (!m->key_failed)
		pthread_key_delete(m->key);
	while (m->cpus) {
		struct km_cpu *c = m->cpus;
		m->cpus = c->next;
		free(c);
	}
	while (!list_empty(&m->tasks)) {
		struct km_task *t = km__container_of(m->tasks.next, struct km_task,
		                                     all);
		list_del_init(&t->all);
		free(t);
	}
	for (unsigned c = 0; c < m->k.colors; c++)
		pthread_cond_destroy(&m->wait_cond[c]);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->cpu_lock);
	machine_free(m);
}

int km_machine_layout(km_machine *m, struct km_layout *out)
{
	if (!m || !out)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	km__layout_fill(&m->k, out);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Threads as cpus                                                         */
/* ---------------------------------------------------------------------- */

/*
 * The calling thread's cpu of the machine it used last, without a
 * pthread_getspecific() on every call. A machine's generation is unique to
 * it, so a new machine at a freed one's address never matches.
 */
static __thread struct {
	const km_machine *m;
	uint64_t gen;
	struct km_cpu *c;
} last_cpu;

static struct km_cpu *get_cpu(km_machine *m)
{
	if (last_cpu.m == m && last_cpu.gen == m->gen)
		return last_cpu.c;
	struct km_cpu *c = pthread_getspecific(m->key);
	if (c) {
		last_cpu.m = m;
		last_cpu.gen = m->gen;
		last_cpu.c = c;
		return c;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->m = m;
	c->area = NO_AREA;
	km__task_init(&c->own, false);
	c->own.on_cpu = true;
	c->current = &c->own;
	if (pthread_setspecific(m->key, c)) {
		free(c);
		return NULL;
	}
	pthread_mutex_lock(&m->cpu_lock);
	c->next = m->cpus;
	m->cpus = c;
	pthread_mutex_unlock(&m->cpu_lock);
	last_cpu.m = m;
	last_cpu.gen = m->gen;
	last_cpu.c = c;
	return c;
}

/* Take a local-map area for @c on its first highmem local map. */
static int get_area(km_machine *m, struct km_cpu *c)
{
	if (c->area != NO_AREA)
		return 0;
	int r = -EBUSY;
	pthread_mutex_lock(&m->cpu_lock);
	for (unsigned i = 0; i < m->k.nr_cpus; i++)
		if (!m->area_used[i]) {
			m->area_used[i] = true;
			c->area = i;
			r = 0;
			break;
		}
	pthread_mutex_unlock(&m->cpu_lock);
	if (!r && m->k.be->local_area) {
		uintptr_t top;
		r = m->k.be->local_area(m->k.be_ctx, c->area, &top);
		pthread_mutex_lock(&m->cpu_lock);
		if (r) {
			m->area_used[c->area] = false;
			c->area = NO_AREA;
		} else {
			m->k.kmap_area[c->area] = top;
		}
		pthread_mutex_unlock(&m->cpu_lock);
	}
	if (!r)
		c->current->cpu = c->area;
	return r;
}

/* Thread exit: drop what the thread's own task still holds, free the cpu. */
static void cpu_release(void *arg)
{
	struct km_cpu *c = arg;
	km_machine *m = c->m;
	if (last_cpu.c == c)
		last_cpu.m = NULL;
	/* whatever task runs here now, own or simulated, leaves this cpu:
	 * its local PTEs must not stay in an area the next thread gets */
	if (c->area != NO_AREA && c->current->kmap_ctrl.idx)
		km__local_sched_out(&m->k, c->current);
	c->current->on_cpu = false;
	if (c->area != NO_AREA && m->k.be->local_area_release) {
		m->k.be->local_area_release(m->k.be_ctx, c->area);
		pthread_mutex_lock(&m->cpu_lock);
		m->k.kmap_area[c->area] = 0;
		pthread_mutex_unlock(&m->cpu_lock);
	}
	pthread_mutex_lock(&m->cpu_lock);
	if (c->area != NO_AREA)
		m->area_used[c->area] = false;
	for (struct km_cpu **pp = &m->cpus; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	for (unsigned i = 0; i < KM_MAX_COLORS; i++)
		m->fast_hits[i] += __atomic_load_n(&c->fast_hits[i], __ATOMIC_RELAXED);
	m->fast_unmaps += __atomic_load_n(&c->fast_unmaps, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&m->cpu_lock);
	free(c);
}

/* The calling thread's cpu and its running task. */
static int current_task(km_machine *m, struct km_cpu **cp, struct km_task **tp)
{
	struct km_cpu *c = get_cpu(m);
	if (!c)
		return -ENOMEM;
	if (c->current->state != KM_TASK_RUNNING)
		return -KM_ESLEEPING;
	*cp = c;
	*tp = c->current;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The memory model                                                        */
/* ---------------------------------------------------------------------- */

#define VALID(m, page) ((m) && km__page_valid(&(m)->k, (page)))

km_page *km_pfn_to_page(km_machine *m, uint64_t pfn)
{
	if (!m || pfn >= m->k.max_pfn)
		return NULL;
	return pfn_to_page(&m->k, pfn);
}

uint64_t km_page_to_pfn(km_machine *m, const km_page *page)
{
	return VALID(m, page) ? page_to_pfn(&m->k, page) : UINT64_MAX;
}

enum km_zone_type km_page_zone(km_machine *m, const km_page *page)
{
	return VALID(m, page) ? page_zone(&m->k, page)->type : KM_ZONE_NONE;
}

int km_page_highmem(km_machine *m, const km_page *page)
{
	return VALID(m, page) && PageHighMem(&m->k, page);
}

unsigned long km_page_flags(km_machine *m, const km_page *page)
{
	return VALID(m, page) ? page->flags : 0;
}

void *km_lowmem_page_address(km_machine *m, const km_page *page)
{
	if (!VALID(m, page) || PageHighMem(&m->k, page))
		return NULL;
	return (void *)lowmem_page_address(&m->k, page);
}

uint64_t km_totalhigh_pages(km_machine *m)
{
	return m ? m->k.max_pfn - m->k.max_low_pfn : 0;
}

uint64_t km_nr_free_highpages(km_machine *m)
{
	if (!m)
		return 0;
	pthread_mutex_lock(&m->lock);
	uint64_t n = m->k.zones[m->k.highmem_zone].nr_free;
	pthread_mutex_unlock(&m->lock);
	return n;
}

int km_alloc_page(km_machine *m, unsigned gfp, km_page **out)
{
	if (!m || !out || gfp > KM_GFP_HIGHUSER)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	int r = km__alloc_page(&m->k, gfp, out);
	pthread_mutex_unlock(&m->lock);
	return r;
}

int km_free_page(km_machine *m, km_page *page)
{
	if (!m)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	int r = km__free_page(&m->k, page);
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* ---------------------------------------------------------------------- */
/* Persistent maps                                                         */
/* ---------------------------------------------------------------------- */

/* now + @ns on CLOCK_MONOTONIC; a time_t too small for it (32-bit) means
 * the latest time it can hold: effectively no timeout */
static void deadline_after(struct timespec *ts, uint64_t ns)
{
	const time_t tmax = (time_t)((~(uint64_t)0) >>
	                             (65 - 8 * sizeof(time_t)));
	clock_gettime(CLOCK_MONOTONIC, ts);
	uint64_t t = (uint64_t)ts->tv_nsec + ns % 1000000000ull;
	uint64_t sec = ns / 1000000000ull + t / 1000000000ull;
	if (sec > (uint64_t)(tmax - ts->tv_sec)) {
		ts->tv_sec = tmax;
		ts->tv_nsec = 999999999;
		return;
	}
	ts->tv_sec += (time_t)sec;
	ts->tv_nsec = (long)(t % 1000000000ull);
}

/*
 * Policies with lock-free paths keep no running tallies of slots in use
 * (a shared counter would bounce between CPUs on every hit): count them
 * under the lock, after each locked kmap and at km_stats_get, so the peaks
 * are the highest seen there. O(LAST_PKMAP), beside a miss's system call.
 */
static void tally_slots(km_machine *m)
{
	struct km_stats *s = &m->k.stats;
	s->in_use = s->mapped = 0;
	for (unsigned c = 0; c < m->k.colors; c++)
		s->color[c].in_use = 0;
	for (unsigned nr = 0; nr < m->k.last_pkmap; nr++) {
		int n = km__count(&m->k, nr);
		s->mapped += n >= 1;
		s->in_use += n >= 2;
		s->color[nr & (m->k.colors - 1)].in_use += n >= 2;
	}
	if (s->in_use > s->in_use_peak)
		s->in_use_peak = s->in_use;
	for (unsigned c = 0; c < m->k.colors; c++)
		if (s->color[c].in_use > s->color[c].in_use_peak)
			s->color[c].in_use_peak = s->color[c].in_use;
}

/* Wake the tasks on @color's queue (the lock not held). */
static void wake_color(km_machine *m, unsigned color)
{
	pthread_mutex_lock(&m->lock);
	if (!list_empty(&m->k.pkmap_map_wait[color])) {
		struct list_head woken;
		INIT_LIST_HEAD(&woken);
		km__wake_up(&m->k, color, &woken);
		while (!list_empty(&woken)) {
			struct list_head *w = woken.next;
			list_del_init(w);
			list_add_tail(w, &m->woken);
			__atomic_store_n(&m->nr_woken, m->nr_woken + 1,
			                 __ATOMIC_RELEASE);
		}
		pthread_cond_broadcast(&m->wait_cond[color]);
	}
	pthread_mutex_unlock(&m->lock);
}

int km_kmap_ex(km_machine *m, km_page *page, unsigned flags,
               uint64_t timeout_ns, void **addr, enum km_how *how)
{
	struct km_cpu *c;
	struct km_task *t;
	struct timespec deadline;
	uintptr_t va = 0;
	bool undo_wake;
	int r;

	if (!VALID(m, page) || !addr || (flags & ~(KM_MAP_NOWAIT | KM_MAP_TIMED)))
		return refuse(m, -EINVAL, "kmap");
	if ((r = current_task(m, &c, &t)))
		return r;
	/* might_sleep(): kmap may sleep, so never inside kmap_atomic */
	if (t->atomic_depth)
		return refuse(m, -KM_EATOMIC, "kmap");
	if (!PageHighMem(&m->k, page)) {
		*addr = (void *)lowmem_page_address(&m->k, page);
		if (how)
			*how = KM_HOW_LOWMEM;
		__atomic_fetch_add(&m->lowmem_maps, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (m->page_slot && !m->debug && !(m->k.flags & KM_CHECK)) {
		/* policies lockfree and clock: a hit takes no lock */
		int f = km__kmap_fast(&m->k, page, &va);
		if (f == 1) {
			unsigned col = km__pkmap_color(&m->k, page);
			__atomic_store_n(&c->fast_hits[col], c->fast_hits[col] + 1,
			                 __ATOMIC_RELAXED);
			*addr = (void *)va;
			if (how)
				*how = KM_HOW_HIT;
			return 0;
		}
		if (f < 0)
			wake_color(m, (unsigned)(-1 - f));
	}
	if (flags & KM_MAP_TIMED)
		deadline_after(&deadline, timeout_ns);

	pthread_mutex_lock(&m->lock);
	for (;;) {
		r = km__kmap_high(&m->k, page, &va, how);
		if (r == KM__WINDOW_FULL && (flags & KM_MAP_NOWAIT))
			r = -EAGAIN;
		if (r != KM__WINDOW_FULL)
			break;
		/* Register on the queue under the lock: no wake-up is lost. */
		unsigned color = km__pkmap_color(&m->k, page);
		km__wait_enqueue(&m->k, t, color);
		/* a lock-free kunmap may have freed a slot while we scanned */
		if (m->page_slot && km__color_may_have_slot(&m->k, color)) {
			km__wait_dequeue(&m->k, t);
			t->state = KM_TASK_RUNNING;
			continue;
		}
		if (t->simulated) {
			r = -KM_ESLEEPING;
			break;
		}
		pthread_cond_t *cv = &m->wait_cond[t->wait_color];
		while (t->state == KM_TASK_SLEEPING) {
			if (flags & KM_MAP_TIMED) {
				if (pthread_cond_timedwait(cv, &m->lock, &deadline) ==
				        ETIMEDOUT && t->state == KM_TASK_SLEEPING) {
					km__wait_dequeue(&m->k, t);
					t->state = KM_TASK_RUNNING;
					r = -ETIMEDOUT;
					goto out;
				}
			} else {
				pthread_cond_wait(cv, &m->lock);
			}
		}
		t->state = KM_TASK_RUNNING;
	}
out:
	undo_wake = false;
	if (!r && m->debug && m->k.pkmap_count[PKMAP_NR(&m->k, va)] == 2 &&
	    (r = km__host_protect(m->be_ctx, va, 1))) {
		/* debug: a hit on a slot with no users makes it usable again;
		 * when that fails, the user taken is given back */
		km__kunmap_high(&m->k, page, &undo_wake);
		m->k.stats.kmaps--;
		m->k.stats.hits--;
		m->k.stats.color[km__pkmap_color(&m->k, page)].hits--;
		m->k.stats.kunmaps--;
	}
	if (!r) {
		*addr = (void *)va;
		if (m->page_slot)
			tally_slots(m);
		check_or_die(m, "kmap");
	}
	pthread_mutex_unlock(&m->lock);
	if (undo_wake)
		wake_color(m, km__pkmap_color(&m->k, page));
	return r;
}

int km_kmap(km_machine *m, km_page *page, void **addr)
{
	return km_kmap_ex(m, page, 0, 0, addr, NULL);
}

int km_kmap_try(km_machine *m, km_page *page, void **addr)
{
	return km_kmap_ex(m, page, KM_MAP_NOWAIT, 0, addr, NULL);
}

int km_kmap_timeout(km_machine *m, km_page *page, uint64_t timeout_ns,
                    void **addr)
{
	return km_kmap_ex(m, page, KM_MAP_TIMED, timeout_ns, addr, NULL);
}

int km_kunmap(km_machine *m, km_page *page)
{
	struct km_cpu *c;
	struct km_task *t;
	bool wake;
	int r;

	if (!VALID(m, page))
		return refuse(m, -EINVAL, "kunmap");
	if ((r = current_task(m, &c, &t)))
		return r;
	if (t->atomic_depth)
		return refuse(m, -KM_EATOMIC, "kunmap");
	if (!PageHighMem(&m->k, page))
		return 0;
	if (m->page_slot && !m->debug && !(m->k.flags & KM_CHECK)) {
		bool check;
		if (km__kunmap_fast(&m->k, page, &check)) {
			__atomic_store_n(&c->fast_unmaps, c->fast_unmaps + 1,
			                 __ATOMIC_RELAXED);
			if (check)
				wake_color(m, km__pkmap_color(&m->k, page));
			return 0;
		}
	}
	pthread_mutex_lock(&m->lock);
	r = km__kunmap_high(&m->k, page, &wake);
	bool misuse = r != 0;
	if (!r && m->debug) {
		/* debug: no users left, so any use now is a use after kunmap */
		uintptr_t va = km__page_address(&m->k, page);
		if (m->k.pkmap_count[PKMAP_NR(&m->k, va)] == 1 &&
		    (r = km__host_protect(m->be_ctx, va, 0))) {
			/* the slot stays usable: give the user back, report it */
			uintptr_t again;
			km__kmap_high_get(&m->k, page, &again);
			m->k.stats.kmaps--;
			m->k.stats.hits--;
			m->k.stats.color[km__pkmap_color(&m->k, page)].hits--;
			m->k.stats.kunmaps--;
			wake = false;
		}
	}
	if (!r)
		check_or_die(m, "kunmap");
	pthread_mutex_unlock(&m->lock);
	if (wake)
		wake_color(m, km__pkmap_color(&m->k, page));
	return misuse ? refuse(m, r, "kunmap") : r;
}

int km_kmap_high_get(km_machine *m, km_page *page, void **addr)
{
	uintptr_t va;
	if (!VALID(m, page) || !addr)
		return refuse(m, -EINVAL, "kmap_high_get");
	if (!PageHighMem(&m->k, page)) {
		*addr = (void *)lowmem_page_address(&m->k, page);
		return 0;
	}
	pthread_mutex_lock(&m->lock);
	int r = km__kmap_high_get(&m->k, page, &va);
	bool wake = false;
	if (!r && m->debug && m->k.pkmap_count[PKMAP_NR(&m->k, va)] == 2 &&
	    (r = km__host_protect(m->be_ctx, va, 1))) {
		km__kunmap_high(&m->k, page, &wake);
		m->k.stats.kmaps--;
		m->k.stats.hits--;
		m->k.stats.color[km__pkmap_color(&m->k, page)].hits--;
		m->k.stats.kunmaps--;
	}
	pthread_mutex_unlock(&m->lock);
	if (wake)
		wake_color(m, km__pkmap_color(&m->k, page));
	if (!r)
		*addr = (void *)va;
	return r;
}

int km_kmap_flush_unused(km_machine *m)
{
	if (!m)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	int r = km__kmap_flush_unused(&m->k);
	check_or_die(m, "kmap_flush_unused");
	pthread_mutex_unlock(&m->lock);
	return r;
}

void *km_page_address(km_machine *m, const km_page *page)
{
	if (!VALID(m, page))
		return NULL;
	pthread_mutex_lock(&m->lock);
	uintptr_t va = km__page_address(&m->k, page);
	pthread_mutex_unlock(&m->lock);
	return (void *)va;
}

km_page *km_kmap_to_page(km_machine *m, const void *addr)
{
	if (!m)
		return NULL;
	struct km_cpu *c = get_cpu(m);
	pthread_mutex_lock(&m->lock);
	km_page *p = km__kmap_to_page(&m->k, c && c->area != NO_AREA ? c->current : NULL,
	                          (uintptr_t)addr);
	pthread_mutex_unlock(&m->lock);
	return p;
}

/* ---------------------------------------------------------------------- */
/* Local maps                                                              */
/* ---------------------------------------------------------------------- */

static int local_map(km_machine *m, km_page *page, int kind, void **addr,
                     const char *fn)
{
	struct km_cpu *c;
	struct km_task *t;
	uintptr_t va;
	int r;
	if (!VALID(m, page) || !addr)
		return refuse(m, -EINVAL, fn);
	if ((r = current_task(m, &c, &t)))
		return r;
	bool high = PageHighMem(&m->k, page);
	if (high && (r = get_area(m, c)))
		return r;
	r = km__kmap_local_page(&m->k, t, page, kind, &va);
	if (r)
		return t->backend_err ? r : refuse(m, r, fn);
	if (high)
		__atomic_fetch_add(&m->local_maps, 1, __ATOMIC_RELAXED);
	*addr = (void *)va;
	return 0;
}

static int local_unmap(km_machine *m, const void *addr, int kind,
                       const char *fn)
{
	struct km_cpu *c;
	struct km_task *t;
	int r;
	if (!m)
		return -EINVAL;
	if ((r = current_task(m, &c, &t)))
		return r;
	if (c->area == NO_AREA) {
		/* never mapped a highmem page: only direct addresses are valid */
		uintptr_t va = (uintptr_t)addr;
		if (kind == KM_KIND_ATOMIC && t->atomic_depth <= 0)
			return refuse(m, -KM_ENOATOMIC, fn);
		if (!(va >= m->k.page_offset && va < m->k.high_memory) &&
		    !km__in_pkmap(&m->k, va))
			return refuse(m, -EINVAL, fn);
		if (kind == KM_KIND_ATOMIC)
			t->atomic_depth--;
		return 0;
	}
	r = km__kunmap_local_indexed(&m->k, t, (uintptr_t)addr, kind);
	return r && !t->backend_err ? refuse(m, r, fn) : r;
}

int km_kmap_local_page(km_machine *m, km_page *page, void **addr)
{
	return local_map(m, page, KM_KIND_LOCAL, addr, "kmap_local_page");
}

int km_kunmap_local(km_machine *m, const void *addr)
{
	return local_unmap(m, addr, KM_KIND_LOCAL, "kunmap_local");
}

int km_kmap_atomic(km_machine *m, km_page *page, void **addr)
{
	return local_map(m, page, KM_KIND_ATOMIC, addr, "kmap_atomic");
}

int km_kunmap_atomic(km_machine *m, const void *addr)
{
	return local_unmap(m, addr, KM_KIND_ATOMIC, "kunmap_atomic");
}

int km_in_atomic(km_machine *m)
{
	struct km_cpu *c = m ? get_cpu(m) : NULL;
	return c ? c->current->atomic_depth : 0;
}

/* ---------------------------------------------------------------------- */
/* Bytes                                                                   */
/* ---------------------------------------------------------------------- */

static int access_range(km_machine *m, uintptr_t va, void *buf, size_t len,
                        int write)
{
	char *p = buf;
	if (!m || (!buf && len))
		return -EINVAL;
	while (len) {
		size_t n = PAGE_SIZE - (va & (PAGE_SIZE - 1));
		if (n > len)
			n = len;
		int r = m->k.be->access(m->k.be_ctx, va, p, n, write);
		if (r)
			return r;
		va += n;
		p += n;
		len -= n;
	}
	return 0;
}

int km_read(km_machine *m, const void *addr, void *buf, size_t len)
{
	return access_range(m, (uintptr_t)addr, buf, len, 0);
}

int km_write(km_machine *m, void *addr, const void *buf, size_t len)
{
	return access_range(m, (uintptr_t)addr, (void *)(uintptr_t)buf, len, 1);
}

static bool in_page(size_t off, size_t len)
{
	return off <= PAGE_SIZE && len <= PAGE_SIZE - off;
}

int km_memcpy_to_page(km_machine *m, km_page *page, size_t off,
                      const void *from, size_t len)
{
	void *va;
	if (!in_page(off, len))
		return refuse(m, -EINVAL, "memcpy_to_page");
	int r = km_kmap_local_page(m, page, &va);
	if (r)
		return r;
	r = km_write(m, (char *)va + off, from, len);
	int u = km_kunmap_local(m, va);
	return r ? r : u;
}

int km_memcpy_from_page(km_machine *m, void *to, km_page *page, size_t off,
                        size_t len)
{
	void *va;
	if (!in_page(off, len))
		return refuse(m, -EINVAL, "memcpy_from_page");
	int r = km_kmap_local_page(m, page, &va);
	if (r)
		return r;
	r = km_read(m, (char *)va + off, to, len);
	int u = km_kunmap_local(m, va);
	return r ? r : u;
}

int km_memcpy_page(km_machine *m, km_page *dst, size_t dst_off, km_page *src,
                   size_t src_off, size_t len)
{
	char buf[PAGE_SIZE];
	if (!in_page(dst_off, len) || !in_page(src_off, len))
		return refuse(m, -EINVAL, "memcpy_page");
	void *d, *s;
	int r = km_kmap_local_page(m, dst, &d);
	if (r)
		return r;
	r = km_kmap_local_page(m, src, &s);
	if (r) {
		km_kunmap_local(m, d);
		return r;
	}
	r = km_read(m, (char *)s + src_off, buf, len);
	if (!r)
		r = km_write(m, (char *)d + dst_off, buf, len);
	int u1 = km_kunmap_local(m, s);
	int u2 = km_kunmap_local(m, d);
	return r ? r : u1 ? u1 : u2;
}

int km_memset_page(km_machine *m, km_page *page, size_t off, int val,
                   size_t len)
{
	char buf[PAGE_SIZE];
	if (!in_page(off, len))
		return refuse(m, -EINVAL, "memset_page");
	memset(buf, val, len);
	return km_memcpy_to_page(m, page, off, buf, len);
}

int km_memzero_page(km_machine *m, km_page *page, size_t off, size_t len)
{
	return km_memset_page(m, page, off, 0, len);
}

int km_copy_highpage(km_machine *m, km_page *to, km_page *from)
{
	return km_memcpy_page(m, to, 0, from, 0, PAGE_SIZE);
}

/* ---------------------------------------------------------------------- */
/* Simulated tasks                                                         */
/* ---------------------------------------------------------------------- */

int km_task_create(km_machine *m, km_task **out)
{
	if (!m || !out)
		return -EINVAL;
	struct km_task *t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	km__task_init(t, true);
	t->cpu = 0;
	pthread_mutex_lock(&m->lock);
	list_add_tail(&t->all, &m->tasks);
	pthread_mutex_unlock(&m->lock);
	*out = t;
	return 0;
}

int km_task_destroy(km_machine *m, km_task *t)
{
	if (!m || !t || !t->simulated)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	int r = 0;
	if (t->on_cpu || t->state != KM_TASK_RUNNING || t->kmap_ctrl.idx ||
	    t->atomic_depth)
		r = -EBUSY;
	else
		list_del_init(&t->all);
	pthread_mutex_unlock(&m->lock);
	if (!r)
		free(t);
	return r;
}

int km_task_switch(km_machine *m, km_task *t)
{
	struct km_cpu *c = m ? get_cpu(m) : NULL;
	if (!c)
		return m ? -ENOMEM : -EINVAL;
	if (!t)
		t = &c->own;
	if (t == c->current)
		return 0;
	if (t->simulated && t->on_cpu)
		return -EBUSY; /* current on another thread */
	/* migrate_disable(): a task holding local maps stays on its area */
	if (t->kmap_ctrl.idx && t->cpu != c->area)
		return -EBUSY;
	struct km_task *old = c->current;
	int r = 0;
	if (c->area != NO_AREA) {
		r = km__local_sched_out(&m->k, old);
		if (!r) {
			t->cpu = c->area;
			r = km__local_sched_in(&m->k, t);
			if (r)
				km__local_sched_in(&m->k, old);
		}
	} else {
		old->on_cpu = false;
		t->on_cpu = true;
	}
	if (!r)
		c->current = t;
	return r;
}

km_task *km_task_next_woken(km_machine *m)
{
	if (!m || !__atomic_load_n(&m->nr_woken, __ATOMIC_ACQUIRE))
		return NULL;
	pthread_mutex_lock(&m->lock);
	struct km_task *t = NULL;
	if (!list_empty(&m->woken)) {
		t = km__container_of(m->woken.next, struct km_task, woken);
		list_del_init(&t->woken);
		t->state = KM_TASK_RUNNING;
		__atomic_store_n(&m->nr_woken, m->nr_woken - 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&m->lock);
	return t;
}

enum km_task_state km_task_state(km_machine *m, const km_task *t)
{
	if (!m || !t)
		return KM_TASK_RUNNING;
	pthread_mutex_lock(&m->lock);
	enum km_task_state s = (enum km_task_state)t->state;
	pthread_mutex_unlock(&m->lock);
	return s;
}

int km_task_local_depth(km_machine *m, const km_task *t)
{
	if (!m || !t)
		return -EINVAL;
	return t->kmap_ctrl.idx;
}

/* ---------------------------------------------------------------------- */
/* Inspection                                                              */
/* ---------------------------------------------------------------------- */

int km_pkmap_slot(km_machine *m, unsigned nr, struct km_slot *out)
{
	if (!m || !out || nr >= m->k.last_pkmap)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	out->count = km__count(&m->k, nr);
	uint64_t pte = m->k.pkmap_page_table[nr];
	out->pfn = pte ? pte - 1 : UINT64_MAX;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

void km_set_event_hook(km_machine *m, km_event_fn fn, void *arg)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->k.event = fn;
	m->k.event_arg = arg;
	pthread_mutex_unlock(&m->lock);
}

int km_stats_get(km_machine *m, struct km_stats *out)
{
	if (!m || !out)
		return -EINVAL;
	uint64_t one = 0, stale = 0;
	m->k.be->tlb_counts(m->k.be_ctx, &one, &stale);
	pthread_mutex_lock(&m->lock);
	*out = m->k.stats;
	if (m->page_slot) {
		/* lock-free paths keep no tallies: count the slots now */
		tally_slots(m);
		out->in_use = m->k.stats.in_use;
		out->mapped = m->k.stats.mapped;
		out->in_use_peak = m->k.stats.in_use_peak;
		for (unsigned c = 0; c < m->k.colors; c++) {
			out->color[c].in_use = m->k.stats.color[c].in_use;
			out->color[c].in_use_peak = m->k.stats.color[c].in_use_peak;
		}
	}
	pthread_mutex_unlock(&m->lock);
	uint64_t fh[KM_MAX_COLORS], fu;
	pthread_mutex_lock(&m->cpu_lock);
	memcpy(fh, m->fast_hits, sizeof(fh));
	fu = m->fast_unmaps;
	for (struct km_cpu *c = m->cpus; c; c = c->next) {
		for (unsigned i = 0; i < m->k.colors; i++)
			fh[i] += __atomic_load_n(&c->fast_hits[i], __ATOMIC_RELAXED);
		fu += __atomic_load_n(&c->fast_unmaps, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&m->cpu_lock);
	for (unsigned i = 0; i < m->k.colors; i++) {
		out->hits += fh[i];
		out->kmaps += fh[i];
		out->color[i].hits += fh[i];
	}
	out->kunmaps += fu;
	uint64_t low = __atomic_load_n(&m->lowmem_maps, __ATOMIC_RELAXED);
	out->lowmem += low;
	out->kmaps += low;
	out->local_maps = __atomic_load_n(&m->local_maps, __ATOMIC_RELAXED);
	out->errors = __atomic_load_n(&m->errors, __ATOMIC_RELAXED);
	out->tlb_flush_one = one;
	out->tlb_stale = stale;
	return 0;
}

/* Local PTEs of a task that is on a cpu must match its stack. */
static int check_task(km_machine *m, const struct km_task *t, char *msg,
                      size_t n)
{
	if (!t->on_cpu)
		return 0;
	for (int i = 0; i < t->kmap_ctrl.idx; i++)
		if (m->k.be->check_pte(m->k.be_ctx, km__local_addr(&m->k, t->cpu, i),
		                       t->kmap_ctrl.pteval[i] - 1)) {
			if (msg)
				km__fmt_msg(msg, n, "local slot ", (uint64_t)i,
				            ": MMU disagrees with the task's stack");
			return -EUCLEAN;
		}
	return 0;
}

int km_check(km_machine *m, char *msg, size_t msglen)
{
	if (!m)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	int r = km__core_check(&m->k, msg, msglen);
	for (struct list_head *p = m->tasks.next; !r && p != &m->tasks;
	     p = p->next)
		r = check_task(m, km__container_of(p, struct km_task, all), msg,
		               msglen);
	pthread_mutex_unlock(&m->lock);
	if (!r) {
		struct km_cpu *c = get_cpu(m);
		if (c && c->current == &c->own)
			r = check_task(m, &c->own, msg, msglen);
	}
	return r;
}

int km_leaks(km_machine *m, struct km_leak *out, unsigned max)
{
	if (!m || (!out && max))
		return -EINVAL;
	unsigned n = 0;
	pthread_mutex_lock(&m->lock);
	for (unsigned nr = 0; nr < m->k.last_pkmap; nr++)
		if (m->k.pkmap_count[nr] >= 2) {
			if (n < max)
				out[n] = (struct km_leak){
					.pfn = m->k.pkmap_page_table[nr] - 1,
					.users = m->k.pkmap_count[nr] - 1 };
			n++;
		}
	for (struct list_head *p = m->tasks.next; p != &m->tasks; p = p->next) {
		const struct km_task *t = km__container_of(p, struct km_task, all);
		for (int i = 0; i < t->kmap_ctrl.idx; i++) {
			if (n < max)
				out[n] = (struct km_leak){
					.pfn = t->kmap_ctrl.pteval[i] - 1, .task = t,
					.local = 1, .users = 1 };
			n++;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return (int)n;
}

struct km_core *km__machine_core(km_machine *m) { return &m->k; }
void *km__machine_backend(km_machine *m) { return m->be_ctx; }
