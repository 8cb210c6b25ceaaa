/*
 * test_faults.c - fault injection through the backend contract: a failure
 * of map (set_pte), clear (pte_clear) or flush (TLB) at every call index of
 * a sequence of operations, for every policy. Each time, the call that met
 * the failure reports it (-EIO), the invariants still hold (km_check after
 * every operation), the bytes of every page are still right, and the calls
 * after it work.
 */
#include "ktest.h"

#include "user.h"
#include "backend/sim.h"

#include <stdio.h>
#include <string.h>

#define NPAGES 20
#define OPS 400

struct run {
	km_machine *m;
	km_page *pg[NPAGES];
	int held[NPAGES];        /* persistent users we hold */
	void *local[KM_LOCAL_MAX];
	int local_pg[KM_LOCAL_MAX];
	int nlocal;
	uint8_t shadow[NPAGES];  /* what byte 0..7 of each page hold */
	unsigned errors;         /* calls that reported the injected fault */
	uint64_t rng;
};

static unsigned rnd(struct run *r, unsigned n)
{
	r->rng = r->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)((r->rng >> 33) % n);
}

static void check_bytes(struct run *r, void *va, int i)
{
	uint8_t got[8], want[8];
	memset(want, r->shadow[i], 8);
	KT_OK(km_read(r->m, va, got, 8));
	if (memcmp(got, want, 8))
		fail_msg("page %d holds %02x, want %02x", i, got[0], want[0]);
}

static void put_bytes(struct run *r, void *va, int i, uint8_t v)
{
	uint8_t b[8];
	memset(b, v, 8);
	KT_OK(km_write(r->m, va, b, 8));
	r->shadow[i] = v;
}

/* A result is fine if it is 0, or the injected -EIO (counted). */
static int outcome(struct run *r, int rc, const char *what)
{
	if (rc == -EIO) {
		r->errors++;
		return rc;
	}
	if (rc)
		fail_msg("%s: unexpected %d (%s)", what, rc, km_strerror(rc));
	return 0;
}

/* One deterministic sequence; faults as set before. Returns -EIO seen. */
static unsigned run_sequence(const char *policy, uint64_t fail_at,
                             unsigned kinds, uint64_t *calls)
{
	struct run r = { .rng = 42 };
	struct km_config cfg;
	km_config_init(&cfg);
	cfg.policy = policy;
	cfg.last_pkmap = 8;
	cfg.lowmem_bytes = 16u << 20;
	cfg.mem_bytes = cfg.lowmem_bytes + NPAGES * 4096;
	r.m = kt_machine_cfg(&cfg);
	struct km_layout l = kt_layout(r.m);
	for (int i = 0; i < NPAGES; i++)
		r.pg[i] = km_pfn_to_page(r.m, l.max_low_pfn + (uint64_t)i);
	void *be = km__machine_backend(r.m);
	struct km__sim_faults f = { .fail_at = fail_at, .kinds = kinds };
	km__sim_set_faults(be, &f);

	for (int n = 0; n < OPS; n++) {
		int i = (int)rnd(&r, NPAGES);
		void *va;
		switch (rnd(&r, 6)) {
		case 0: case 1: { /* kmap, unless we hold too much already */
			int held = 0;
			for (int k = 0; k < NPAGES; k++)
				held += r.held[k];
			if (held >= 6)
				break;
			if (!outcome(&r, km_kmap_try(r.m, r.pg[i], &va), "kmap")) {
				r.held[i]++;
				check_bytes(&r, va, i);
				put_bytes(&r, va, i, (uint8_t)(n + 1));
			}
			break;
		}
		case 2: case 3: /* kunmap one we hold: never fails */
			for (int k = 0; k < NPAGES; k++) {
				int j = (i + k) % NPAGES;
				if (r.held[j]) {
					KT_OK(km_kunmap(r.m, r.pg[j]));
					r.held[j]--;
					break;
				}
			}
			break;
		case 4: /* a local map, or release the newest */
			if (r.nlocal < 4) {
				if (!outcome(&r, km_kmap_local_page(r.m, r.pg[i], &va),
				             "kmap_local")) {
					check_bytes(&r, va, i);
					put_bytes(&r, va, i, (uint8_t)(n + 7));
					r.local[r.nlocal] = va;
					r.local_pg[r.nlocal++] = i;
				}
			} else if (!outcome(&r, km_kunmap_local(r.m,
			                    r.local[r.nlocal - 1]), "kunmap_local")) {
				r.nlocal--;
			}
			break;
		case 5:
			if (rnd(&r, 4) == 0)
				outcome(&r, km_kmap_flush_unused(r.m), "flush_unused");
			else if (r.nlocal && !outcome(&r, km_kunmap_local(r.m,
			                              r.local[r.nlocal - 1]),
			                              "kunmap_local"))
				r.nlocal--;
			break;
		}
		KT_CHECK(r.m);
	}
	/* clean up: everything must still come undone */
	while (r.nlocal) {
		int rc;
		while ((rc = km_kunmap_local(r.m, r.local[r.nlocal - 1])) == -EIO)
			r.errors++;
		KT_OK(rc);
		r.nlocal--;
	}
	for (int k = 0; k < NPAGES; k++)
		while (r.held[k]--)
			KT_OK(km_kunmap(r.m, r.pg[k]));
	struct km__sim_faults none = { 0 };
	*calls = km__sim_calls(be);
	km__sim_set_faults(be, &none);
	/* every page reads back what was last written, through a fresh map */
	void *va;
	for (int k = 0; k < NPAGES; k++) {
		KT_OK(km_kmap(r.m, r.pg[k], &va));
		check_bytes(&r, va, k);
		KT_OK(km_kunmap(r.m, r.pg[k]));
	}
	KT_CHECK(r.m);
	KT_EQ(km_leaks(r.m, NULL, 0), 0);
	KT_EQ(kt_stats(r.m).tlb_stale, 0);
	km_machine_destroy(r.m);
	return r.errors;
}

static void every_call_fails_once(const char *policy)
{
	const unsigned all = KM_SIM_FAULT_MAP | KM_SIM_FAULT_CLEAR |
	                     KM_SIM_FAULT_FLUSH;
	uint64_t calls;
	KT_EQ(run_sequence(policy, 0, 0, &calls), 0);
	assert_true(calls > 100);
	unsigned injected = 0;
	for (uint64_t i = 1; i <= calls; i++) {
		uint64_t c;
		unsigned e = run_sequence(policy, i, all, &c);
		/* the one failure was reported by exactly one call (a clear
		 * retried in the clean-up counts once it succeeds) */
		if (e != 1)
			fail_msg("policy %s, call %llu: %u calls reported the fault",
			         policy, (unsigned long long)i, e);
		injected++;
	}
	print_message("policy %s: %u faults injected, one at each call index, "
	              "all reported, invariants and bytes intact\n", policy,
	              injected);
}

static void faults_linux(void **state)
{
	(void)state;
	every_call_fails_once("linux");
}

static void faults_lockfree(void **state)
{
	(void)state;
	every_call_fails_once("lockfree");
}

static void faults_clock(void **state)
{
	(void)state;
	every_call_fails_once("clock");
}

/* A backend whose map always fails: kmap reports it, nothing changes. */
static void map_always_fails(void **state)
{
	(void)state;
	km_machine *m = kt_machine("x86-32", 0, 8, 1, KM_CHECK);
	struct kt_slots before, after;
	kt_slots_get(m, &before);
	struct km__sim_faults f = { .always = KM_SIM_FAULT_MAP };
	km__sim_set_faults(km__machine_backend(m), &f);
	void *va;
	for (int i = 0; i < 20; i++)
		KT_RC(km_kmap(m, kt_high(m, (uint64_t)i), &va), -EIO);
	KT_RC(km_kmap_local_page(m, kt_high(m, 0), &va), -EIO);
	kt_slots_get(m, &after);
	KT_SLOTS_SAME(&before, &after);
	struct km__sim_faults none = { 0 };
	km__sim_set_faults(km__machine_backend(m), &none);
	KT_OK(km_kmap(m, kt_high(m, 0), &va));
	KT_EQ(kt_slot_of(m, va), 1); /* the cursor did not move */
	KT_OK(km_kunmap(m, kt_high(m, 0)));
	KT_CHECK(m);
	km_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(map_always_fails),
		cmocka_unit_test(faults_linux),
		cmocka_unit_test(faults_lockfree),
		cmocka_unit_test(faults_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
