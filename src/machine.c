/*
 * machine.c - building and destroying a machine in user space: the
 * configuration checked, the core's arrays allocated, the backend made
 * through its contract, the driver's mutex and condition variables.
 */
#include "user.h"
#include "backend/host.h"
#include "backend/sim.h"
#include "core/machine.h"
#include "core/util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

const char *km_strerror(int err)
{
	const char *t = km__errtext(err);
	/* t is set for every |err| >= KM_EBASE: -err cannot overflow */
	return t ? t : strerror(err < 0 ? -err : err);
}

static const struct km_backend_ops *backend_of(enum km_backend_kind kind)
{
	switch (kind) {
	case KM_BACKEND_SIM: return &km__sim_ops;
	case KM_BACKEND_HOST: return &km__host_ops;
	}
	return NULL;
}

/* KMAP_DEBUG=1 (any value but empty or "0") turns debug mode on. */
static bool env_debug(void)
{
	const char *e = getenv("KMAP_DEBUG");
	return e && *e && strcmp(e, "0") != 0;
}

/* Free what km_machine_create built so far (m is zeroed where unbuilt). */
static void machine_free(km_machine *m)
{
	if (m->k.be && m->k.be_ctx)
		m->k.be->destroy(m->k.be_ctx);
	free(m->mem_map);
	free(m->arena);
	free(m->wait_cond);
	free(m->area_used);
	free(m->page_slot);
	free(m->k.lost_local);
	free(m);
}

/* The lowmem to give the layout: the config's (km__layout_compute checks
 * it), else the backend's default for real addresses, else the split. */
static uint64_t lowmem_of(const struct km_config *cfg,
                          const struct km_backend_ops *be)
{
	if (cfg->lowmem_bytes)
		return cfg->lowmem_bytes;
	return be->caps & KM_BE_REAL ? be->default_lowmem : 0;
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
	int r = km_config_check(cfg, NULL, 0);
	if (r)
		return r;
	const struct km_backend_ops *be = backend_of(cfg->backend);
	const char *pname = cfg->policy ? cfg->policy :
	                    be->default_policy ? be->default_policy : "linux";
	const struct km_policy *pol = km__policy_find(pname);
	/* what the backend cannot do is refused, not ignored */
	if ((cfg->mem_path && !(be->caps & KM_BE_FILE)) ||
	    ((cfg->flags & KM_RDONLY) && !(be->caps & KM_BE_RDONLY)) ||
	    ((cfg->flags & KM_DEBUG) && !(be->caps & KM_BE_DEBUG)))
		return -EINVAL;
	bool debug = (be->caps & KM_BE_DEBUG) &&
	             ((cfg->flags & KM_DEBUG) || env_debug());
	struct km_backend_params bp = {
		.mem_path = cfg->mem_path, .rdonly = cfg->flags & KM_RDONLY,
		.sequential = cfg->flags & KM_SEQUENTIAL,
	};
	uint64_t mem = cfg->mem_bytes, lowmem;
	unsigned nr_cpus = cfg->nr_cpus ? cfg->nr_cpus : be->default_nr_cpus;
	if (!mem && be->mem_size && cfg->mem_path) {
		if ((r = be->mem_size(&bp, &mem)))
			return r;
		if (!mem)
			return -EINVAL; /* an empty file needs mem_bytes */
	}
	lowmem = lowmem_of(cfg, be);

	km_machine *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	uint64_t vmalloc = cfg->vmalloc_bytes;
	if (!vmalloc && (be->caps & KM_BE_REAL))
		vmalloc = be->default_vmalloc;
	km__model_config(&m->k, cfg);
	r = km__layout_compute(&m->k, km__profile_find(cfg->profile), mem,
	                       cfg->last_pkmap, cfg->colors, nr_cpus, lowmem,
	                       vmalloc, be->caps & KM_BE_REAL);
	if (r) {
		free(m);
		return r;
	}
	m->k.flags = cfg->flags | (debug ? KM_DEBUG : 0);
	/* calloc: the kernel's mem_map is zeroed before memmap_init */
	m->mem_map = calloc((size_t)km__nr_pages(&m->k), sizeof(struct km_page));
	m->arena = calloc(1, km__core_arena_size(&m->k));
	m->wait_cond = calloc(m->k.colors, sizeof(pthread_cond_t));
	m->area_used = calloc(m->k.nr_cpus, sizeof(bool));
	size_t ps = km__core_page_slot_size(&m->k, pol);
	if (ps)
		m->page_slot = calloc(1, ps);
	if (!m->mem_map || !m->arena || !m->wait_cond || !m->area_used ||
	    (ps && !m->page_slot)) {
		machine_free(m);
		return -ENOMEM;
	}
	km__core_init(&m->k, m->mem_map, m->arena, m->page_slot, pol);
	m->k.drv = &km__user_driver;
	m->k.drv_ctx = m;
	r = be->create(&m->k, &bp, &m->k.be_ctx);
	if (r) {
		m->k.be_ctx = NULL;
		machine_free(m);
		return r;
	}
	m->k.be = be;
	if ((r = km__cpus_init(m))) {
		km_machine_destroy(m);
		return r;
	}
	*out = m;
	return 0;
}

int km_sync(km_machine *m)
{
	if (!m)
		return -EINVAL;
	return m->k.be->sync ? m->k.be->sync(m->k.be_ctx) : 0;
}

void km_machine_destroy(km_machine *m)
{
	if (!m)
		return;
	if (m->k.flags & KM_DEBUG)
		km__report_leaks(m);
	km__cpus_destroy(m);
	machine_free(m);
}
