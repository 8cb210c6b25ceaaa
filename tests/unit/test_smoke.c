/* test_smoke.c - a machine builds, maps a highmem page, and tears down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <kmap.h>

static void smoke(void **state)
{
	(void)state;
	km_machine *m;
	assert_int_equal(km_machine_create(NULL, &m), 0);
	struct km_layout l;
	assert_int_equal(km_machine_layout(m, &l), 0);
	km_page *p = km_pfn_to_page(m, l.max_low_pfn);
	void *va;
	enum km_how how;
	assert_int_equal(km_kmap_ex(m, p, 0, 0, &va, &how), 0);
	assert_int_equal(how, KM_HOW_NEW);
	assert_int_equal((uintptr_t)va, l.pkmap_base + 4096);
	assert_int_equal(km_kunmap(m, p), 0);
	assert_int_equal(km_kunmap(m, p), -KM_ENOUSERS);
	km_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(smoke) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
