/*
 * test_errors.c - what a caller reads from a failed call: kmap's own
 * codes lie above every errno value and keep kmap's texts, errno values
 * keep their system meaning (km_strerror is strerror for them), misuse is
 * counted and system errors are not, and km_check always writes msg.
 */
#include "ktest.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const int kmap_codes[] = {
	KM_ENOTMAPPED, KM_ENOUSERS, KM_EATOMIC, KM_ENOTTOP, KM_EKIND,
	KM_ENOATOMIC, KM_ESTACKFULL, KM_ESLEEPING, KM_ECORRUPT,
};
#define NR_CODES (sizeof(kmap_codes) / sizeof(kmap_codes[0]))

/* kmap's codes: distinct, above every errno value, each its own text */
static void codes_apart_from_errno(void **state)
{
	(void)state;
	for (size_t i = 0; i < NR_CODES; i++) {
		int c = kmap_codes[i];
		assert_true(c > KM_EBASE);
		/* glibc knows no errno value this high */
		char unknown[64];
		snprintf(unknown, sizeof(unknown), "Unknown error %d", c);
		assert_string_equal(strerror(c), unknown);
		const char *t = km_strerror(-c);
		assert_non_null(t);
		assert_string_not_equal(t, unknown);
		assert_string_equal(km_strerror(c), t);
		for (size_t j = 0; j < i; j++) {
			assert_int_not_equal(c, kmap_codes[j]);
			assert_string_not_equal(t, km_strerror(-kmap_codes[j]));
		}
	}
	assert_string_equal(km_strerror(-KM_ENOUSERS), "page has no users");
	assert_string_equal(km_strerror(-KM_ENOTTOP),
	                    "not the newest local mapping");
}

/* every errno value has its system meaning, not kmap's */
static void errno_values_keep_their_meaning(void **state)
{
	(void)state;
	for (int e = 1; e < KM_EBASE; e++) {
		char want[256];
		snprintf(want, sizeof(want), "%s", strerror(e));
		assert_string_equal(km_strerror(-e), want);
		assert_string_equal(km_strerror(e), want);
	}
	/* the three the issue found given kmap's words */
	assert_string_equal(km_strerror(-ENOENT), "No such file or directory");
	assert_string_equal(km_strerror(-EPERM), strerror(EPERM));
	assert_string_equal(km_strerror(-EAGAIN), strerror(EAGAIN));
	assert_string_equal(km_strerror(0), "success");
	/* any int at all */
	assert_non_null(km_strerror(INT_MIN));
	assert_non_null(km_strerror(INT_MAX));
	assert_non_null(km_strerror(-KM_EBASE - 1000));
}

/* a host machine whose file does not exist: -ENOENT, and it says so */
static void missing_file_is_a_system_error(void **state)
{
	(void)state;
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.backend = KM_BACKEND_HOST;
	cfg.mem_bytes = 16ull << 20;
	cfg.mem_path = "/nonexistent-dir-of-kmap/mem";
	km_machine *m = NULL;
	int r = km_machine_create(&cfg, &m);
	KT_RC(r, -ENOENT);
	assert_null(m);
	assert_string_equal(km_strerror(r), "No such file or directory");
}

/* misuse is counted in km_stats.errors; an expected condition is not */
static void misuse_counted_system_errors_not(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 1ull << 30, 2, 0, 0);
	struct km_stats s;
	void *va;
	km_page *p0 = kt_high(m, 0), *p1 = kt_high(m, 1), *p2 = kt_high(m, 2);
	KT_RC(km_kunmap(m, p0), -KM_ENOTMAPPED);
	KT_OK(km_kmap(m, p0, &va));
	KT_OK(km_kmap(m, p1, &va));
	KT_RC(km_kmap_try(m, p2, &va), -EAGAIN); /* window full: no misuse */
	KT_OK(km_stats_get(m, &s));
	KT_EQ(s.errors, 1);
	KT_RC(km_kunmap(m, NULL), -EINVAL);      /* an argument: misuse */
	KT_OK(km_stats_get(m, &s));
	KT_EQ(s.errors, 2);
	KT_OK(km_kunmap(m, p0));
	KT_OK(km_kunmap(m, p1));
	km_machine_destroy(m);
}

/* km_check writes msg on success too: an empty string */
static void check_sets_msg_on_success(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 1ull << 30, 8, 0, 0);
	char msg[64];
	memset(msg, 'x', sizeof(msg));
	KT_OK(km_check(m, msg, sizeof(msg)));
	assert_string_equal(msg, "");
	KT_OK(km_check(m, NULL, 0));
	msg[0] = 'x';
	KT_OK(km_check(m, msg, 1));
	assert_int_equal(msg[0], 0);
	km_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KT_TEST(codes_apart_from_errno),
		KT_TEST(errno_values_keep_their_meaning),
		KT_TEST(missing_file_is_a_system_error),
		KT_TEST(misuse_counted_system_errors_not),
		KT_TEST(check_sets_msg_on_success),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
