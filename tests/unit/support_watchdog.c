/*
 * support_watchdog.c - a deadlock in a threaded test must fail it, not hang
 * the test run: a thread that aborts the process with a clear message when
 * the test has not called kt_watchdog_stop() in time.
 */
#include "ktest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int running, stop;
	const char *what;
	unsigned seconds;
	void (*dump)(void *);
	void *arg;
} wd = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void *watchdog_main(void *unused)
{
	(void)unused;
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	pthread_mutex_lock(&wd.mu);
	deadline.tv_sec += (time_t)wd.seconds;
	while (!wd.stop) {
		int r = pthread_cond_timedwait(&wd.cv, &wd.mu, &deadline);
		if (r == ETIMEDOUT && !wd.stop) {
			fprintf(stderr,
			        "\nWATCHDOG: \"%s\" did not finish within %u s: "
			        "deadlock or lost wake-up? Aborting.\n",
			        wd.what, wd.seconds);
			if (wd.dump)
				wd.dump(wd.arg);
			fflush(stderr);
			abort();
		}
	}
	pthread_mutex_unlock(&wd.mu);
	return NULL;
}

void kt_watchdog_start(const char *what, unsigned seconds,
                       void (*dump)(void *), void *arg)
{
	const char *scale = getenv("KMAP_TEST_WATCHDOG_SCALE");
	if (scale && atoi(scale) > 0)
		seconds *= (unsigned)atoi(scale);
	pthread_mutex_lock(&wd.mu);
	if (wd.running) {
		pthread_mutex_unlock(&wd.mu);
		fail_msg("kt_watchdog_start: a watchdog is already running");
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wd.cv, &ca);
	pthread_condattr_destroy(&ca);
	wd.running = 1;
	wd.stop = 0;
	wd.what = what;
	wd.seconds = seconds;
	wd.dump = dump;
	wd.arg = arg;
	int r = pthread_create(&wd.thread, NULL, watchdog_main, NULL);
	pthread_mutex_unlock(&wd.mu);
	if (r)
		fail_msg("kt_watchdog_start: pthread_create: %d", r);
}

void kt_watchdog_stop(void)
{
	pthread_mutex_lock(&wd.mu);
	if (!wd.running) {
		pthread_mutex_unlock(&wd.mu);
		return;
	}
	wd.stop = 1;
	pthread_cond_signal(&wd.cv);
	pthread_mutex_unlock(&wd.mu);
	pthread_join(wd.thread, NULL);
	pthread_mutex_lock(&wd.mu);
	wd.running = 0;
	pthread_cond_destroy(&wd.cv);
	pthread_mutex_unlock(&wd.mu);
}

int kt_wd_setup(void **state)
{
	(void)state;
	kt_watchdog_start("unit test (see the last [ RUN ] line)", 60, NULL, NULL);
	return 0;
}

int kt_wd_teardown(void **state)
{
	(void)state;
	kt_watchdog_stop();
	return 0;
}
