/* support_util.c - assertions, machine and event helpers for the unit tests. */
#include "ktest.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Assertions                                                          */
/* ------------------------------------------------------------------ */

void kt_eq_(const char *ea, const char *eb, long long a, long long b,
            const char *file, int line)
{
	if (a == b)
		return;
	print_error("%s:%d: %s != %s\n"
	            "    %s = %lld (%#llx)\n"
	            "    %s = %lld (%#llx)\n",
	            file, line, ea, eb, ea, a, (unsigned long long)a, eb, b,
	            (unsigned long long)b);
	_fail(file, line);
}

void kt_rc_(const char *expr, int got, int want, const char *file, int line)
{
	if (got == want)
		return;
	print_error("%s:%d: %s\n    returned %d (%s)\n    expected %d (%s)\n",
	            file, line, expr, got, km_strerror(got), want,
	            km_strerror(want));
	_fail(file, line);
}

void kt_known_bug_(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_error("%s:%d: regression of a fixed library bug: %s\n", file,
	            line, msg);
	_fail(file, line);
	abort(); /* _fail does not return */
}

/* ------------------------------------------------------------------ */
/* Machines and pages                                                  */
/* ------------------------------------------------------------------ */

km_machine *kt_machine_cfg(const struct km_config *cfg)
{
	km_machine *m = NULL;
	int r = km_machine_create(cfg, &m);
	if (r) {
		print_error("km_machine_create(profile %s, mem %llu, last_pkmap %u, "
		            "colors %u): %d (%s)\n",
		            cfg && cfg->profile ? cfg->profile : "(null)",
		            cfg ? (unsigned long long)cfg->mem_bytes : 0ull,
		            cfg ? cfg->last_pkmap : 0, cfg ? cfg->colors : 0, r,
		            km_strerror(r));
		fail();
	}
	assert_non_null(m);
	return m;
}

km_machine *kt_machine(const char *profile, uint64_t mem, unsigned last_pkmap,
                       unsigned colors, unsigned flags)
{
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.profile = profile;
	cfg.mem_bytes = mem;
	cfg.last_pkmap = last_pkmap;
	cfg.colors = colors;
	cfg.flags = flags;
	return kt_machine_cfg(&cfg);
}

struct km_layout kt_layout(km_machine *m)
{
	struct km_layout l;
	KT_OK(km_machine_layout(m, &l));
	return l;
}

km_page **kt_pages(km_machine *m, uint64_t pfn, unsigned n)
{
	km_page **p = calloc(n ? n : 1, sizeof(*p));
	assert_non_null(p);
	for (unsigned i = 0; i < n; i++) {
		p[i] = km_pfn_to_page(m, pfn + i);
		assert_non_null(p[i]);
	}
	return p;
}

void kt_pages_at(km_machine *m, const uint64_t *pfns, unsigned n,
                 km_page **out)
{
	for (unsigned i = 0; i < n; i++) {
		out[i] = km_pfn_to_page(m, pfns[i]);
		assert_non_null(out[i]);
	}
}

km_machine *kt_host_machine(const char *profile, uint64_t mem,
                            uint64_t lowmem, uint64_t vmalloc)
{
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.backend = KM_BACKEND_HOST;
	if (profile)
		cfg.profile = profile;
	cfg.mem_bytes = mem;
	cfg.lowmem_bytes = lowmem;
	cfg.vmalloc_bytes = vmalloc;
	return kt_machine_cfg(&cfg);
}

void kt_record_across(km_machine *m, km_page *a, km_page *b,
                      const char *rec, size_t len, size_t head)
{
	KT_OK(km_memcpy_to_page(m, a, 4096 - head, rec, head));
	KT_OK(km_memcpy_to_page(m, b, 0, rec + head, len - head));
}

km_page *kt_high(km_machine *m, uint64_t i)
{
	struct km_layout l = kt_layout(m);
	if (l.max_low_pfn + i >= l.max_pfn)
		fail_msg("no highmem page %llu (max_low_pfn %llu, max_pfn %llu)",
		         (unsigned long long)i, (unsigned long long)l.max_low_pfn,
		         (unsigned long long)l.max_pfn);
	km_page *p = km_pfn_to_page(m, l.max_low_pfn + i);
	assert_non_null(p);
	KT_EQ(km_page_highmem(m, p), 1);
	return p;
}

km_page *kt_low(km_machine *m, uint64_t pfn)
{
	km_page *p = km_pfn_to_page(m, pfn);
	assert_non_null(p);
	KT_EQ(km_page_highmem(m, p), 0);
	return p;
}

uint64_t kt_pfn(km_machine *m, km_page *p)
{
	uint64_t pfn = km_page_to_pfn(m, p);
	assert_true(pfn != UINT64_MAX);
	return pfn;
}

unsigned kt_slot_of(km_machine *m, const void *va)
{
	struct km_layout l = kt_layout(m);
	uintptr_t a = (uintptr_t)va;
	if (a < l.pkmap_base || a >= l.pkmap_end)
		fail_msg("address %#llx is not in the pkmap window [%#llx, %#llx)",
		         (unsigned long long)a, (unsigned long long)l.pkmap_base,
		         (unsigned long long)l.pkmap_end);
	return (unsigned)((a - l.pkmap_base) >> 12);
}

uintptr_t kt_slot_addr(km_machine *m, unsigned nr)
{
	struct km_layout l = kt_layout(m);
	return (uintptr_t)(l.pkmap_base + ((uint64_t)nr << 12));
}

void kt_check_(km_machine *m, const char *file, int line)
{
	char msg[256] = "";
	int r = km_check(m, msg, sizeof(msg));
	if (r) {
		print_error("%s:%d: km_check: %d (%s): %s\n", file, line, r,
		            km_strerror(r), msg);
		_fail(file, line);
	}
}

struct km_slot kt_slot(km_machine *m, unsigned nr)
{
	struct km_slot s;
	KT_OK(km_pkmap_slot(m, nr, &s));
	return s;
}

void kt_slot_is_(km_machine *m, unsigned nr, int count, uint64_t pfn,
                 const char *file, int line)
{
	struct km_slot s;
	int r = km_pkmap_slot(m, nr, &s);
	if (r || s.count != count || s.pfn != pfn) {
		print_error("%s:%d: slot %u: rc %d, count %d, pfn %lld; "
		            "expected count %d, pfn %lld\n",
		            file, line, nr, r, s.count, (long long)s.pfn, count,
		            (long long)pfn);
		_fail(file, line);
	}
}

void kt_slots_get(km_machine *m, struct kt_slots *out)
{
	struct km_layout l = kt_layout(m);
	assert_true(l.last_pkmap <= 1024);
	out->n = l.last_pkmap;
	for (unsigned i = 0; i < out->n; i++)
		KT_OK(km_pkmap_slot(m, i, &out->s[i]));
}

void kt_slots_same_(const struct kt_slots *a, const struct kt_slots *b,
                    const char *file, int line)
{
	if (a->n != b->n) {
		print_error("%s:%d: slot snapshots of %u and %u slots\n", file, line,
		            a->n, b->n);
		_fail(file, line);
	}
	for (unsigned i = 0; i < a->n; i++)
		if (a->s[i].count != b->s[i].count || a->s[i].pfn != b->s[i].pfn) {
			print_error("%s:%d: slot %u changed: count %d -> %d, "
			            "pfn %lld -> %lld\n",
			            file, line, i, a->s[i].count, b->s[i].count,
			            (long long)a->s[i].pfn, (long long)b->s[i].pfn);
			_fail(file, line);
		}
}

struct km_stats kt_stats(km_machine *m)
{
	struct km_stats s;
	KT_OK(km_stats_get(m, &s));
	return s;
}

void kt_stats_sane_(km_machine *m, const char *file, int line)
{
	struct km_stats s = kt_stats(m);
	struct km_layout l = kt_layout(m);
	if (s.kmaps != s.hits + s.new_maps + s.lowmem || s.in_use > s.mapped ||
	    s.mapped > l.last_pkmap || s.in_use_peak > l.last_pkmap ||
	    s.in_use > s.in_use_peak || s.tlb_flushes > s.flushes ||
	    s.colors != l.colors) {
		print_error("%s:%d: inconsistent stats: kmaps %llu hits %llu "
		            "new %llu lowmem %llu; in_use %u peak %u mapped %u "
		            "(last_pkmap %u); flushes %llu tlb_flushes %llu; "
		            "colors %u/%u\n",
		            file, line, (unsigned long long)s.kmaps,
		            (unsigned long long)s.hits,
		            (unsigned long long)s.new_maps,
		            (unsigned long long)s.lowmem, s.in_use, s.in_use_peak,
		            s.mapped, l.last_pkmap, (unsigned long long)s.flushes,
		            (unsigned long long)s.tlb_flushes, s.colors, l.colors);
		_fail(file, line);
	}
	uint64_t h = 0, n = 0;
	unsigned in_use = 0;
	for (unsigned c = 0; c < s.colors && c < KM_MAX_COLORS; c++) {
		h += s.color[c].hits;
		n += s.color[c].new_maps;
		in_use += s.color[c].in_use;
		if (s.color[c].in_use_peak > l.last_pkmap / l.colors) {
			print_error("%s:%d: colour %u in_use_peak %u > %u slots\n", file,
			            line, c, s.color[c].in_use_peak,
			            l.last_pkmap / l.colors);
			_fail(file, line);
		}
	}
	if (h != s.hits || n != s.new_maps || in_use != s.in_use) {
		print_error("%s:%d: per-colour stats do not add up: hits %llu/%llu "
		            "new %llu/%llu in_use %u/%u\n",
		            file, line, (unsigned long long)h,
		            (unsigned long long)s.hits, (unsigned long long)n,
		            (unsigned long long)s.new_maps, in_use, s.in_use);
		_fail(file, line);
	}
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

static void kt_event_hook(void *arg, const struct km_event *ev)
{
	struct kt_events *e = arg;
	pthread_mutex_lock(&e->mu);
	if (e->n < KT_MAX_EVENTS) {
		struct kt_event *d = &e->ev[e->n++];
		memset(d, 0, sizeof(*d));
		d->type = ev->type;
		d->color = ev->color;
		d->nr_cleared = ev->nr_cleared;
		d->tlb_flush = ev->tlb_flush;
		d->task = ev->task;
		d->nr_woken = ev->nr_woken;
		for (unsigned i = 0; i < ev->nr_cleared && i < KT_MAX_CLEARED; i++)
			d->cleared[i] = ev->cleared[i];
		if (ev->type == KM_EV_FLUSH && ev->pkmap_count) {
			d->has_counts = 1;
			d->last_pkmap = ev->last_pkmap;
			for (unsigned i = 0; i < ev->last_pkmap && i < KT_MAX_CLEARED; i++)
				d->counts[i] = ev->pkmap_count[i];
		}
	} else {
		e->lost++;
	}
	pthread_mutex_unlock(&e->mu);
}

struct kt_events *kt_events_new(km_machine *m)
{
	struct kt_events *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	pthread_mutex_init(&e->mu, NULL);
	km_set_event_hook(m, kt_event_hook, e);
	return e;
}

void kt_events_free(km_machine *m, struct kt_events *e)
{
	if (m)
		km_set_event_hook(m, NULL, NULL);
	if (!e)
		return;
	pthread_mutex_destroy(&e->mu);
	free(e);
}

void kt_events_reset(struct kt_events *e)
{
	pthread_mutex_lock(&e->mu);
	e->n = e->lost = 0;
	pthread_mutex_unlock(&e->mu);
}

unsigned kt_events_count(struct kt_events *e, enum km_event_type type)
{
	unsigned n = 0;
	pthread_mutex_lock(&e->mu);
	for (unsigned i = 0; i < e->n; i++)
		n += e->ev[i].type == type;
	pthread_mutex_unlock(&e->mu);
	return n;
}

struct kt_event kt_events_nth(struct kt_events *e, enum km_event_type type,
                              unsigned i)
{
	struct kt_event out = { 0 };
	int found = 0;
	pthread_mutex_lock(&e->mu);
	for (unsigned j = 0; j < e->n; j++)
		if (e->ev[j].type == type && i-- == 0) {
			out = e->ev[j];
			found = 1;
			break;
		}
	pthread_mutex_unlock(&e->mu);
	if (!found)
		fail_msg("no event of type %d at that index (%u recorded)", type,
		         e->n);
	return out;
}

void kt_flush_is_(struct kt_events *e, unsigned i, const unsigned *want,
                  unsigned n, const char *file, int line)
{
	struct kt_event ev = kt_events_nth(e, KM_EV_FLUSH, i);
	int ok = ev.nr_cleared == n && ev.tlb_flush == (n > 0);
	for (unsigned j = 0; ok && j < n; j++)
		ok = ev.cleared[j] == want[j];
	if (ok)
		return;
	char got[512] = "", exp[512] = "";
	size_t o = 0;
	for (unsigned j = 0; j < ev.nr_cleared && j < KT_MAX_CLEARED && o < 480; j++)
		o += (size_t)snprintf(got + o, sizeof(got) - o, " %u", ev.cleared[j]);
	o = 0;
	for (unsigned j = 0; j < n && o < 480; j++)
		o += (size_t)snprintf(exp + o, sizeof(exp) - o, " %u", want[j]);
	print_error("%s:%d: flush #%u cleared [%s ] tlb_flush %d; expected "
	            "[%s ] tlb_flush %d\n",
	            file, line, i, got, ev.tlb_flush, exp, n > 0);
	_fail(file, line);
}

/* ------------------------------------------------------------------ */
/* Time, waiting, processes                                            */
/* ------------------------------------------------------------------ */

uint64_t kt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void kt_sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000u,
	                       .tv_nsec = (long)(us % 1000000u) * 1000 };
	while (nanosleep(&ts, &ts))
		;
}

int kt_wait_sleeps(km_machine *m, uint64_t n, unsigned timeout_ms)
{
	uint64_t end = kt_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		struct km_stats s;
		if (km_stats_get(m, &s) == 0 && s.sleeps >= n)
			return 0;
		if (kt_now_ns() > end)
			return -1;
		kt_sleep_us(200);
	}
}

static pid_t kt_fork_child(void (*fn)(void *), void *arg, int *rfd)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit nocore = { 0, 0 };
		setrlimit(RLIMIT_CORE, &nocore);
		signal(SIGABRT, SIG_DFL);
		close(p[0]);
		dup2(p[1], 2);
		close(p[1]);
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

static void kt_collect(pid_t pid, int fd, char *buf, size_t n, int *status)
{
	size_t o = 0;
	for (;;) {
		ssize_t r = read(fd, buf + o, n - 1 - o);
		if (r <= 0)
			break;
		o += (size_t)r;
		if (o == n - 1)
			break;
	}
	buf[o] = 0;
	close(fd);
	while (waitpid(pid, status, 0) < 0)
		;
}

void kt_expect_abort_(void (*fn)(void *), void *arg, const char *needle,
                      const char *file, int line)
{
	int fd, st = 0;
	char buf[4096];
	pid_t pid = kt_fork_child(fn, arg, &fd);
	kt_collect(pid, fd, buf, sizeof(buf), &st);
	int aborted = WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
	if (!aborted || !strstr(buf, needle)) {
		print_error("%s:%d: child %s (status %#x, %s %d); expected SIGABRT "
		            "with \"%s\" on stderr; its stderr:\n%s\n",
		            file, line, aborted ? "aborted" : "did not abort", st,
		            WIFSIGNALED(st) ? "signal" : "exit",
		            WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), needle,
		            buf);
		_fail(file, line);
	}
}

void kt_expect_exit0_(void (*fn)(void *), void *arg, const char *file, int line)
{
	int fd, st = 0;
	char buf[4096];
	pid_t pid = kt_fork_child(fn, arg, &fd);
	kt_collect(pid, fd, buf, sizeof(buf), &st);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		print_error("%s:%d: child ended with status %#x (%s %d), expected "
		            "exit 0; its stderr:\n%s\n",
		            file, line, st, WIFSIGNALED(st) ? "signal" : "exit",
		            WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), buf);
		_fail(file, line);
	}
}
