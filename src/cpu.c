/*
 * cpu.c - threads as CPUs: the user-space implementation of the driver
 * contract (src/core/driver.h) and the simulated tasks.
 *
 * Each thread that uses a machine is one CPU of it (struct km_cpu), made
 * on its first call and freed when the thread exits. It runs its own task,
 * or a simulated one that km_task_switch() made current. The kmap lock is
 * a word of its own (below); a thread's task sleeps on its colour's
 * condition variable; a simulated task does not block its thread: it
 * parks (KM__PARKED), and km_task_next_woken() hands it back after the
 * wake-up.
 */
#include "user.h"
#include "core/local.h"

#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * struct km_cpu: what one thread is to one machine. The local-map area (a
 * slice of the fixmap, or of the host's address space) is taken on the
 * first highmem local map and given back when the thread exits.
 */
struct km_cpu {
	km_machine *m;
	unsigned area;            /* index into kmap_area, KM_NO_CPU until needed */
	struct km_task own;       /* the thread's own task */
	struct km_task *current;  /* the task running on this cpu */
	struct km_stream stream;  /* its scans (copy.c); the run is the area's */
	struct km_cpu *next;      /* on m->cpus */
};

/* ---------------------------------------------------------------------- */
/* The calling thread's cpu                                                */
/* ---------------------------------------------------------------------- */

/*
 * The calling thread's cpu of the machine it used last, without a
 * pthread_getspecific() on every call. A machine's generation is unique to
 * it, so a new machine at a freed one's address never matches.
 * initial-exec: a load, not a call to __tls_get_addr, on every copy.
 */
static __thread __attribute__((tls_model("initial-exec"))) struct {
	const km_machine *m;
	uint64_t gen;
	struct km_cpu *c;
} last_cpu;

static void cpu_remember(km_machine *m, struct km_cpu *c)
{
	last_cpu.m = m;
	last_cpu.gen = m->gen;
	last_cpu.c = c;
}

static struct km_cpu *get_cpu_slow(km_machine *m);

/* Inline: the calling thread's cpu of the machine it used last. */
static inline struct km_cpu *get_cpu(km_machine *m)
{
	if (__builtin_expect(last_cpu.m == m && last_cpu.gen == m->gen, 1))
		return last_cpu.c;
	return get_cpu_slow(m);
}

static struct km_cpu *get_cpu_slow(km_machine *m)
{
	struct km_cpu *c = pthread_getspecific(m->key);
	if (c) {
		cpu_remember(m, c);
		return c;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->m = m;
	c->area = KM_NO_CPU;
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
	cpu_remember(m, c);
	return c;
}

/* Fold a task's lock-free counts into the machine's, as it goes away. */
static void task_gone(km_machine *m, const struct km_task *t)
{
	for (unsigned i = 0; i < KM_MAX_COLORS; i++)
		m->k.gone_hits[i] += __atomic_load_n(&t->fast_hits[i],
		                                     __ATOMIC_RELAXED);
	m->k.gone_unmaps += __atomic_load_n(&t->fast_unmaps, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < KM__COPY_KINDS; i++)
		m->k.gone_copies[i] += __atomic_load_n(&t->copies[i],
		                                       __ATOMIC_RELAXED);
}

/*
 * A thread exits holding local maps of its own task: they are gone with
 * it, a leak km_leaks() reports (and debug mode at once). Simulated tasks
 * keep theirs: another thread may switch to them.
 */
static void local_maps_lost(km_machine *m, const struct km_task *t)
{
	int n = t->kmap_ctrl.idx;
	if (m->k.flags & KM_DEBUG)
		for (int i = 0; i < n; i++)
			fprintf(stderr, "kmap: leak: a thread exited holding a local "
			        "mapping of pfn %llu (local slot %d)\n",
			        (unsigned long long)(t->kmap_ctrl.pteval[i] - 1), i);
	km__kmap_lock(m);
	uint64_t *l = realloc(m->k.lost_local,
	                      (m->k.nr_lost_local + (unsigned)n) * sizeof(*l));
	if (l) {
		for (int i = 0; i < n; i++)
			l[m->k.nr_lost_local++] = t->kmap_ctrl.pteval[i] - 1;
		m->k.lost_local = l;
	}
	km__kmap_unlock(m);
}

/* Thread exit: drop what the thread's own task still holds, free the cpu. */
static void cpu_release(void *arg)
{
	struct km_cpu *c = arg;
	km_machine *m = c->m;
	if (last_cpu.c == c)
		last_cpu.m = NULL;
	if (c->own.kmap_ctrl.idx)
		local_maps_lost(m, &c->own);
	/* whatever task runs here now, own or simulated, leaves this cpu:
	 * its local PTEs must not stay in an area the next thread gets */
	if (c->area != KM_NO_CPU && c->current->kmap_ctrl.idx)
		km__local_sched_out(&m->k, c->current);
	/* the own task's maps, cleared by that or when another task was
	 * switched in (off its cpu then), no longer keep KM_READAHEAD off.
	 * If the exit failed to clear them (a failed sched_out sets back what
	 * it cleared) they stay counted: their PTEs stay in the area until
	 * its next thread maps over them, and anyone may write the page
	 * through them (km_write), unseen by the read-ahead. */
	km__local_gone(&m->k, &c->own);
	c->current->on_cpu = false;
	if (c->area != KM_NO_CPU && m->k.be->local_area_release) {
		m->k.be->local_area_release(m->k.be_ctx, c->area);
		pthread_mutex_lock(&m->cpu_lock);
		m->k.kmap_area[c->area] = 0;
		pthread_mutex_unlock(&m->cpu_lock);
	}
	pthread_mutex_lock(&m->cpu_lock);
	if (c->area != KM_NO_CPU)
		m->area_used[c->area] = false;
	for (struct km_cpu **pp = &m->cpus; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	task_gone(m, &c->own);
	pthread_mutex_unlock(&m->cpu_lock);
	free(c->stream.ahead);
	free(c);
}

/* ---------------------------------------------------------------------- */
/* The driver contract                                                     */
/* ---------------------------------------------------------------------- */

/* ---------------------------------------------------------------------- */
/* The kmap lock                                                           */
/* ---------------------------------------------------------------------- */

/*
 * A lock whose unlock is one plain store: taking it free is one atomic
 * compare-and-swap, as with the kernel's spinlock kmap_lock. A mutex's
 * unlock is a second atomic instruction (about 6 ns here), and a linux
 * kmap hit takes the lock twice. A thread that finds it held sleeps on
 * the word at once (spinning first was slower here with two threads on
 * one lock: the line moves between them on every try), counted in
 * lock_sleepers while it sleeps, so that an unlock wakes each sleep once.
 *
 * The count is read after the store that frees the lock, and x86 lets
 * that read be served first: a sleeper that came in between would miss
 * its wake-up. So a sleep lasts at most LOCK_NAP_NS and is followed by
 * another try: such a loss costs a millisecond, never a hang.
 */
#define LOCK_NAP_NS 1000000
/* the nap goes to the system call as it is: the kernel's timespec */
_Static_assert(sizeof(struct timespec) == 2 * sizeof(long),
               "SYS_futex needs a timespec of two longs");

static inline bool lock_try(km_machine *m)
{
	uint32_t unlocked = 0;
	return __atomic_compare_exchange_n(&m->lock, &unlocked, 1, false,
	                                   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void lock_slow(km_machine *m)
{
	const struct timespec nap = { 0, LOCK_NAP_NS };
	for (;;) {
		__atomic_add_fetch(&m->lock_sleepers, 1, __ATOMIC_SEQ_CST);
		bool got = lock_try(m);
		if (!got)
			syscall(SYS_futex, &m->lock, FUTEX_WAIT_PRIVATE, 1, &nap,
			        NULL, 0);
		__atomic_sub_fetch(&m->lock_sleepers, 1, __ATOMIC_RELAXED);
		if (got)
			return;
	}
}

void km__kmap_lock(km_machine *m)
{
	if (__builtin_expect(!lock_try(m), 0))
		lock_slow(m);
}

void km__kmap_unlock(km_machine *m)
{
	__atomic_store_n(&m->lock, 0, __ATOMIC_RELEASE);
	if (__builtin_expect(__atomic_load_n(&m->lock_sleepers,
	                                     __ATOMIC_RELAXED), 0))
		syscall(SYS_futex, &m->lock, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void drv_lock(void *drv) { km__kmap_lock(drv); }
static void drv_unlock(void *drv) { km__kmap_unlock(drv); }

static int drv_current(void *drv, struct km_task **t)
{
	struct km_cpu *c = get_cpu(drv);
	if (!c)
		return -ENOMEM;
	if (c->current->state != KM_TASK_RUNNING)
		return -KM_ESLEEPING;
	*t = c->current;
	return 0;
}

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

/* A simulated task parks; a thread's own task waits on its colour's
 * condition variable, until the deadline with KM_MAP_TIMED. */
static int drv_sleep(void *drv, struct km_task *t, struct km_wait *w)
{
	km_machine *m = drv;
	if (t->simulated)
		return KM__PARKED;
	pthread_cond_t *cv = &m->wait_cond[t->wait_color];
	struct timespec ts;
	if (w && w->timed) {
		if (!w->armed) {
			deadline_after(&ts, w->timeout_ns);
			w->deadline_sec = ts.tv_sec;
			w->deadline_nsec = ts.tv_nsec;
			w->armed = true;
		}
		ts.tv_sec = (time_t)w->deadline_sec;
		ts.tv_nsec = w->deadline_nsec;
	}
	/* wait_lock is taken before the kmap lock is given back and the
	 * waker broadcasts under both, so no wake-up falls in between; the
	 * state is read under the kmap lock, where the waker wrote it */
	while (t->state == KM_TASK_SLEEPING) {
		bool late = false;
		pthread_mutex_lock(&m->wait_lock);
		km__kmap_unlock(m);
		if (!w || !w->timed)
			pthread_cond_wait(cv, &m->wait_lock);
		else
			late = pthread_cond_timedwait(cv, &m->wait_lock, &ts) ==
			       ETIMEDOUT;
		pthread_mutex_unlock(&m->wait_lock);
		km__kmap_lock(m);
		if (late && t->state == KM_TASK_SLEEPING)
			return -ETIMEDOUT;
	}
	return 0;
}

static void drv_wake_done(void *drv, unsigned color)
{
	km_machine *m = drv;
	pthread_mutex_lock(&m->wait_lock);
	pthread_cond_broadcast(&m->wait_cond[color]);
	pthread_mutex_unlock(&m->wait_lock);
}

/* The local-map area of cpu @c, taken on its first use: 0 or -errno. */
static int cpu_area(km_machine *m, struct km_cpu *c)
{
	if (c->area != KM_NO_CPU)
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
			c->area = KM_NO_CPU;
		} else {
			m->k.kmap_area[c->area] = top;
		}
		pthread_mutex_unlock(&m->cpu_lock);
	}
	return r;
}

/* Take a local-map area for the calling thread on its first highmem local
 * map; the task running there (@t) runs in it. */
static int drv_local_area(void *drv, struct km_task *t)
{
	km_machine *m = drv;
	struct km_cpu *c = get_cpu(m);
	if (!c)
		return -ENOMEM;
	int r = cpu_area(m, c);
	if (!r)
		t->cpu = c->area;
	return r;
}

struct km_stream *km__cpu_stream(km_machine *m, unsigned *area)
{
	struct km_cpu *c = get_cpu(m);
	if (!c || cpu_area(m, c))
		return NULL;
	*area = c->area;
	return &c->stream;
}

static void drv_bug(void *drv, const char *what)
{
	(void)drv;
	fprintf(stderr, "kmap: %s\n", what);
	abort();
}

const struct km_driver_ops km__user_driver = {
	.lock = drv_lock,
	.unlock = drv_unlock,
	.current = drv_current,
	.sleep = drv_sleep,
	.wake_done = drv_wake_done,
	.local_area = drv_local_area,
	.bug = drv_bug,
};

/* ---------------------------------------------------------------------- */
/* The machine's threads                                                   */
/* ---------------------------------------------------------------------- */

/* Each machine gets a new generation number (see get_cpu). */
static uint64_t machine_gen;

int km__cpus_init(km_machine *m)
{
	pthread_mutex_init(&m->wait_lock, NULL);
	pthread_mutex_init(&m->cpu_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (unsigned c = 0; c < m->k.colors; c++)
		pthread_cond_init(&m->wait_cond[c], &ca);
	pthread_condattr_destroy(&ca);
	m->gen = __atomic_add_fetch(&machine_gen, 1, __ATOMIC_RELAXED);
	if (pthread_key_create(&m->key, cpu_release)) {
		m->key_failed = true;
		return -EAGAIN;
	}
	return 0;
}

void km__cpus_destroy(km_machine *m)
{
	m->gen = 0; /* the calling thread's cached cpu of it is gone */
	if (!m->key_failed)
		pthread_key_delete(m->key);
	while (m->cpus) {
		struct km_cpu *c = m->cpus;
		m->cpus = c->next;
		free(c->stream.ahead);
		free(c);
	}
	while (!list_empty(&m->k.tasks)) {
		struct km_task *t = km__container_of(m->k.tasks.next,
		                                     struct km_task, all);
		list_del_init(&t->all);
		free(t);
	}
	for (unsigned c = 0; c < m->k.colors; c++)
		pthread_cond_destroy(&m->wait_cond[c]);
	pthread_mutex_destroy(&m->wait_lock);
	pthread_mutex_destroy(&m->cpu_lock);
}

static void add_task_counts(km_machine *m, const struct km_task *t,
                            struct km_fast_counts *out)
{
	for (unsigned i = 0; i < m->k.colors; i++)
		out->hits[i] += __atomic_load_n(&t->fast_hits[i], __ATOMIC_RELAXED);
	out->unmaps += __atomic_load_n(&t->fast_unmaps, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < KM__COPY_KINDS; i++)
		out->copies[i] += __atomic_load_n(&t->copies[i], __ATOMIC_RELAXED);
}

void km__cpus_fast_counts(km_machine *m, struct km_fast_counts *out)
{
	km__kmap_lock(m);
	pthread_mutex_lock(&m->cpu_lock);
	for (unsigned i = 0; i < KM_MAX_COLORS; i++)
		out->hits[i] = m->k.gone_hits[i];
	out->unmaps = m->k.gone_unmaps;
	for (unsigned i = 0; i < KM__COPY_KINDS; i++)
		out->copies[i] = m->k.gone_copies[i];
	for (struct km_cpu *c = m->cpus; c; c = c->next)
		add_task_counts(m, &c->own, out);
	for (struct list_head *p = m->k.tasks.next; p != &m->k.tasks;
	     p = p->next)
		add_task_counts(m, km__container_of(p, struct km_task, all), out);
	pthread_mutex_unlock(&m->cpu_lock);
	km__kmap_unlock(m);
}

void km__cpus_leak_report(km_machine *m,
                          void (*fn)(const struct km_task *t, const char *whose))
{
	for (struct km_cpu *c = m->cpus; c; c = c->next)
		fn(&c->own, "a thread");
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
	km__kmap_lock(m);
	list_add_tail(&t->all, &m->k.tasks);
	km__kmap_unlock(m);
	*out = t;
	return 0;
}

int km_task_destroy(km_machine *m, km_task *t)
{
	if (!m || !t)
		return -EINVAL;
	km__kmap_lock(m);
	int r = 0;
	if (!km__task_known(&m->k, t)) {
		r = -EINVAL; /* destroyed already, or another machine's */
	} else if (t->on_cpu || t->state != KM_TASK_RUNNING || t->kmap_ctrl.idx ||
	           t->atomic_depth) {
		r = -EBUSY;
	} else {
		km__task_forget(&m->k, t);
		list_del_init(&t->all);
		pthread_mutex_lock(&m->cpu_lock);
		task_gone(m, t);
		pthread_mutex_unlock(&m->cpu_lock);
	}
	km__kmap_unlock(m);
	if (!r)
		free(t);
	return r;
}

/*
 * Under the kmap lock, so that @t is known to be this machine's until the
 * switch is done (km_task_destroy takes the lock too), and whether it is
 * on another thread's cpu is read consistently.
 */
static int task_switch_locked(km_machine *m, struct km_cpu *c, km_task *t)
{
	if (!t)
		t = &c->own;
	else if (!km__task_known(&m->k, t))
		return -EINVAL; /* destroyed, or another machine's */
	if (t == c->current)
		return 0;
	if (t->simulated && t->on_cpu)
		return -EBUSY; /* current on another thread */
	/* migrate_disable(): a task holding local maps stays on its area */
	if (t->kmap_ctrl.idx && t->cpu != c->area)
		return -EBUSY;
	struct km_task *old = c->current;
	int r = 0;
	if (c->area != KM_NO_CPU) {
		r = km__local_sched_out(&m->k, old);
		if (!r) {
			t->cpu = c->area;
			r = km__local_sched_in(&m->k, t);
			/* none of t's PTEs stayed: old's go back */
			if (r && km__local_sched_in(&m->k, old)) {
				/* still current, its maps not all live: km_check
				 * says which, the next switch that works mends it */
				old->on_cpu = true;
				r = -KM_ECORRUPT;
			}
		}
	} else {
		old->on_cpu = false;
		t->on_cpu = true;
	}
	if (!r)
		c->current = t;
	return r;
}

int km_task_switch(km_machine *m, km_task *t)
{
	struct km_cpu *c = m ? get_cpu(m) : NULL;
	if (!c)
		return m ? -ENOMEM : -EINVAL;
	km__kmap_lock(m);
	int r = task_switch_locked(m, c, t);
	km__kmap_unlock(m);
	return r;
}

struct km_core *km__machine_core(km_machine *m) { return &m->k; }
void *km__machine_backend(km_machine *m) { return m->k.be_ctx; }
