/*
 * test_host_regress.c - regression tests for host-backend bugs found while
 * writing tests/unit/test_host.c (all fixed): a backend EAGAIN taken for a
 * full window, backend errors counted as misuse, mprotect failures in
 * debug mode ignored, a failed create leaving a grown file, faults on live
 * slots reported as use after kunmap, a ninth debug machine. Reuses
 * test_host.c's helpers (fault injection table, forked children) by
 * including it.
 */
#define main test_host_main_unused
#include "test_host.c"
#undef main

/* B1: a backend -EAGAIN (mmap can fail with EAGAIN) is taken for "every
 * slot of the colour is in use": the caller sleeps. km_kmap would sleep
 * until some unrelated kunmap; km_kmap_timeout returns -ETIMEDOUT;
 * km_kmap_try returns -EAGAIN, which the caller reads as "window full". */
static void bug_backend_eagain_sleeps(void **state)
{
	(void)state;
	km_machine *m = host(64 * MiB, L16, 8, 0);
	km_page *p = page_at(m, kt_layout(m).max_low_pfn + 1);
	void *va;
	fi_install(FI_MMAP_SET, 0, EAGAIN);
	uint64_t t0 = kt_now_ns();
	int r = km_kmap_timeout(m, p, 300 * 1000000ull, &va);
	uint64_t t1 = kt_now_ns();
	fi_restore();
	print_message("km_kmap_timeout: %d (%s) after %llu ms, %llu sleeps\n", r,
	              km_strerror(r), (unsigned long long)((t1 - t0) / 1000000),
	              (unsigned long long)kt_stats(m).sleeps);
	KT_EQ(kt_stats(m).sleeps, 0); /* fails: 1 */
	KT_RC(r, -EAGAIN);            /* fails: -ETIMEDOUT */
	km_machine_destroy(m);
}

/* B2: a backend errno that equals one of the misuse codes (EINVAL, EPERM,
 * EOVERFLOW, ENOENT, ...) is treated as misuse on the local-map paths
 * (refuse() in local_map/local_unmap): counted in stats.errors, and with
 * KM_STRICT the process aborts ("kmap: BUG: ..."). */
static void bug_backend_errno_is_misuse(void **state)
{
	(void)state;
	km_machine *m = host(64 * MiB, L16, 0, 0);
	km_page *p = page_at(m, kt_layout(m).max_low_pfn + 1);
	void *va;
	fi_install(FI_MMAP_SET, 1, EPERM);
	KT_RC(km_kmap_local_page(m, p, &va), -EPERM);
	fi_restore();
	KT_EQ(kt_stats(m).errors, 0); /* fails: 1 */
	km_machine_destroy(m);
}

static void strict_local_child(void *unused)
{
	(void)unused;
	km_machine *m = child_machine(KM_STRICT, 0);
	void *va;
	fi_install(FI_MMAP_SET, 1, EPERM);
	int r = km_kmap_local_page(m, km_pfn_to_page(m, L16 / PG + 1), &va);
	fi_restore();
	fprintf(stderr, "child: km_kmap_local_page returned %d\n", r);
	_exit(0);
}

static void bug_strict_aborts_on_backend_error(void **state)
{
	(void)state;
	struct child c;
	run_child(strict_local_child, NULL, &c);
	/* fails: SIGABRT, "kmap: BUG: kmap_local_page: no atomic section open" */
	KT_CHILD(&c, 0, "child: km_kmap_local_page returned -1\n");
}

/* B3: debug mode ignores km__host_protect()'s result. On a hit (kmap of a
 * page whose slot has count 1, made PROT_NONE by the last kunmap) a failed
 * mprotect leaves the slot inaccessible, yet km_kmap returns 0 and that
 * address: the caller's first access is a SIGSEGV, reported as a "use
 * after kunmap". (Also km_kmap_high_get; on kunmap the failure is ignored
 * too, so the slot silently stays accessible.) */
static void protect_child(void *unused)
{
	(void)unused;
	km_machine *m = child_machine(KM_DEBUG, 0);
	km_page *p = km_pfn_to_page(m, L16 / PG + 1);
	void *va;
	CHILD_CHECK(km_kmap(m, p, &va) == 0);
	CHILD_CHECK(km_kunmap(m, p) == 0);
	PERMS_ARE(va, "---s");
	fi_install(FI_MPROTECT, 0, ENOMEM);
	int r = km_kmap(m, p, &va);
	fi_restore();
	char perms[5];
	perms_at(va, perms);
	fprintf(stderr, "child: km_kmap returned %d, slot perms %s\n", r, perms);
	CHILD_CHECK(r == -ENOMEM || strcmp(perms, "rw-s") == 0);
	_exit(0);
}

static void bug_debug_protect_error_ignored(void **state)
{
	(void)state;
	struct child c;
	run_child(protect_child, NULL, &c);
	KT_CHILD(&c, 0, NULL); /* fails: "km_kmap returned 0, slot perms ---s" */
}

/* B4: a failed km_machine_create leaves an empty file grown to mem_bytes
 * (ftruncate done, then lowmem or window mmap fails): not "nothing
 * changed"; a later create with mem_bytes 0 takes that size. */
static void bug_failed_create_grows_file(void **state)
{
	(void)state;
	const char *path = tmp_file();
	struct km_config cfg;
	host_config(&cfg, 64 * MiB, L16, 0, 0, path);
	fi_install(FI_MMAP_RESERVE, 1, ENOMEM);
	km_machine *m;
	KT_RC(km_machine_create(&cfg, &m), -ENOMEM);
	fi_restore();
	KT_EQ(file_size(path), 0); /* fails: 67108864 */
}

/* B5: debug mode reports every fault in the window as a use after kunmap,
 * also one on a slot that is mapped and has users: with KM_RDONLY a write
 * through a held kmap is reported "use after kunmap of pfn N". */
static const char *rdonly_path;

static void rdonly_write_child(void *unused)
{
	(void)unused;
	struct km_config cfg;
	host_config(&cfg, 0, L16, 0, KM_DEBUG | KM_RDONLY, rdonly_path);
	km_machine *m = NULL;
	CHILD_CHECK(km_machine_create(&cfg, &m) == 0);
	void *va;
	CHILD_CHECK(km_kmap(m, km_pfn_to_page(m, L16 / PG + 1), &va) == 0);
	fprintf(stderr, "child: writing through a held read-only kmap\n");
	*(volatile char *)va = 1;
	_exit(3);
}

static void bug_debug_misreports_held_slot(void **state)
{
	(void)state;
	rdonly_path = tmp_file();
	KT_EQ(truncate(rdonly_path, (off_t)(64 * MiB)), 0);
	struct child c;
	run_child(rdonly_write_child, NULL, &c);
	KT_CHILD(&c, SIGSEGV, "child: writing");
	/* fails: "kmap: use after kunmap of pfn 4097 (slot 1)" */
	if (strstr(c.err, "use after kunmap"))
		fail_msg("a held slot reported as a use after kunmap:\n%s", c.err);
}

/* B6: the debug table holds 8 machines. A 9th debug machine is not
 * registered (its faults are not reported) but still counted in
 * debug_users, and unregister never finds it: after destroying all nine
 * the SIGSEGV handler is never given back. */
static void nine_child(void *arg)
{
	int touch = arg != NULL;
	km_machine *m[9];
	for (unsigned i = 0; i < 9; i++)
		m[i] = child_machine(KM_DEBUG, 8);
	if (touch) {
		void *va;
		km_page *p = km_pfn_to_page(m[8], L16 / PG + 1);
		CHILD_CHECK(km_kmap(m[8], p, &va) == 0);
		CHILD_CHECK(km_kunmap(m[8], p) == 0);
		(void)*(volatile const char *)va;
		_exit(3);
	}
	for (unsigned i = 0; i < 9; i++)
		km_machine_destroy(m[i]);
	struct sigaction sa;
	sigaction(SIGSEGV, NULL, &sa);
	fprintf(stderr, "child: SIGSEGV handler %s\n",
	        !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL ?
	        "restored" : "still installed");
	_exit(0);
}

static void bug_ninth_debug_machine(void **state)
{
	(void)state;
	struct child c;
	run_child(nine_child, (void *)1, &c);
	/* fails: a plain SIGSEGV, no report */
	KT_CHILD(&c, SIGSEGV, "kmap: use after kunmap of pfn 4097 (slot 1)");
	run_child(nine_child, NULL, &c);
	KT_CHILD(&c, 0, "child: SIGSEGV handler restored"); /* fails */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(bug_backend_eagain_sleeps, teardown),
		cmocka_unit_test_teardown(bug_backend_errno_is_misuse, teardown),
		cmocka_unit_test_teardown(bug_strict_aborts_on_backend_error, teardown),
		cmocka_unit_test_teardown(bug_debug_protect_error_ignored, teardown),
		cmocka_unit_test_teardown(bug_failed_create_grows_file, teardown),
		cmocka_unit_test_teardown(bug_debug_misreports_held_slot, teardown),
		cmocka_unit_test_teardown(bug_ninth_debug_machine, teardown),
	};
	(void)test_host_main_unused;
	return cmocka_run_group_tests(tests, NULL, teardown);
}
