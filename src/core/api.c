/*
 * api.c - the public functions of kmap.h that need only the core and a
 * driver, first half: configuration, the memory model, kmap and kunmap,
 * local maps, vmap (api_state.c has the rest). Freestanding: both drivers (user space
 * in src/, the project's kernel) link it, each with its own struct
 * km_machine that begins with the core (km__core_of).
 *
 * What is here checks the handles and arguments, finds the calling CPU's
 * task, runs the core's operation and reports misuse (KM_STRICT: the
 * driver's bug(); else counted in km_stats.errors).
 */
#include "api.h"
#include "local.h"
#include "vmalloc.h"

#define KM_STR_(x) #x
#define KM_STR(x) KM_STR_(x)

const char *km_version(void)
{
	return KM_STR(KMAP_VERSION_MAJOR) "." KM_STR(KMAP_VERSION_MINOR) "."
	       KM_STR(KMAP_VERSION_PATCH);
}

/* ---------------------------------------------------------------------- */
/* Errors and misuse                                                       */
/* ---------------------------------------------------------------------- */

/* kmap.h's misuse: kmap's own codes but KM_ESLEEPING and KM_ECORRUPT,
 * and an argument the function does not take (EINVAL) */
static bool is_misuse(int err)
{
	switch (-err) {
	case KM_ENOTMAPPED: case KM_ENOUSERS: case KM_EATOMIC: case KM_ENOTTOP:
	case KM_EKIND: case KM_ENOATOMIC: case KM_ESTACKFULL: case KM_ENOAREA:
	case EINVAL:
		return true;
	default:
		return false;
	}
}

int km__refuse(struct km_core *k, int err, const char *fn)
{
	if (k && is_misuse(err)) {
		if (k->flags & KM_STRICT) {
			char what[160];
			size_t o = km__strlcpy(what, "BUG: ", sizeof(what));
			o += km__strlcpy(what + o, fn, sizeof(what) - o);
			o += km__strlcpy(what + o, ": ", sizeof(what) - o);
			km__strlcpy(what + o, err == -EINVAL ? "invalid argument" :
			            km__errtext(err), sizeof(what) - o);
			k->drv->bug(k->drv_ctx, what);
		}
		__atomic_fetch_add(&k->errors, 1, __ATOMIC_RELAXED);
	}
	return err;
}


/* ---------------------------------------------------------------------- */
/* Configuration and profiles                                              */
/* ---------------------------------------------------------------------- */

void km_config_init(struct km_config *cfg)
{
	if (!cfg)
		return; /* nothing to fill: no error to return */
	*cfg = (struct km_config){ .profile = "x86-32",
	                           .backend = KM_BACKEND_SIM };
}

/* The flags km_config.flags may hold. */
#define KM_CONFIG_FLAGS (KM_STRICT | KM_CHECK | KM_DEBUG | KM_RDONLY | \
                         KM_SEQUENTIAL | KM_READAHEAD)

static int config_bad(char *msg, size_t n, const char *why)
{
	if (msg && n)
		km__strlcpy(msg, why, n);
	return -EINVAL;
}

int km_config_check(const struct km_config *cfg, char *msg, size_t n)
{
	struct km_core probe;
	if (!cfg)
		return config_bad(msg, n, "no configuration");
	if (!km__profile_find(cfg->profile))
		return config_bad(msg, n, "unknown profile");
	if (!km__policy_find(cfg->policy ? cfg->policy : "linux"))
		return config_bad(msg, n, "unknown policy");
	if (cfg->backend != KM_BACKEND_SIM && cfg->backend != KM_BACKEND_HOST)
		return config_bad(msg, n, "unknown backend");
	if (cfg->flags & ~KM_CONFIG_FLAGS)
		return config_bad(msg, n, "unknown flags");
	if (cfg->memory_model != KM_FLATMEM && cfg->memory_model != KM_SPARSEMEM)
		return config_bad(msg, n, "unknown memory model");
	probe = (struct km_core){ 0 };
	km__model_config(&probe, cfg);
	if (km__layout_compute(&probe, km__profile_find(cfg->profile),
	                       cfg->mem_bytes, cfg->last_pkmap, cfg->colors,
	                       cfg->nr_cpus, cfg->lowmem_bytes, cfg->vmalloc_bytes,
	                       cfg->backend == KM_BACKEND_HOST))
		return config_bad(msg, n, probe.why);
	if (msg && n)
		msg[0] = 0;
	return 0;
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
	const struct km_policy *p = km__policy_at(i);
	return p ? p->name : NULL;
}

int km_machine_layout(km_machine *m, struct km_layout *out)
{
	struct km_core *k = core(m);
	if (!k || !out)
		return -EINVAL;
	lock(k);
	km__layout_fill(k, out);
	unlock(k);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The memory model                                                        */
/* ---------------------------------------------------------------------- */

km_page *km_pfn_to_page(km_machine *m, uint64_t pfn)
{
	struct km_core *k = core(m);
	return k && km__pfn_valid(k, pfn) ? pfn_to_page(k, pfn) : NULL;
}

int km_pfn_valid(km_machine *m, uint64_t pfn)
{
	struct km_core *k = core(m);
	return k && km__pfn_valid(k, pfn);
}

int km_page_is_ram(km_machine *m, uint64_t pfn)
{
	struct km_core *k = core(m);
	return k && km__pfn_is_ram(k, pfn);
}

uint64_t km_page_to_pfn(km_machine *m, const km_page *page)
{
	struct km_core *k = core(m);
	return valid(k, page) ? page_to_pfn(k, page) : UINT64_MAX;
}

enum km_zone_type km_page_zone(km_machine *m, const km_page *page)
{
	struct km_core *k = core(m);
	return valid(k, page) ? page_zone(k, page)->type : KM_ZONE_NONE;
}

int km_page_highmem(km_machine *m, const km_page *page)
{
	struct km_core *k = core(m);
	return valid(k, page) && PageHighMem(k, page);
}

unsigned long km_page_flags(km_machine *m, const km_page *page)
{
	struct km_core *k = core(m);
	return valid(k, page) ? page->flags : 0;
}

void *km_lowmem_page_address(km_machine *m, const km_page *page)
{
	struct km_core *k = core(m);
	if (!valid(k, page) || PageHighMem(k, page))
		return NULL;
	return (void *)lowmem_page_address(k, page);
}

uint64_t km_totalhigh_pages(km_machine *m)
{
	struct km_core *k = core(m);
	return k ? k->max_pfn - k->max_low_pfn -
	           km__hole_pages(k, k->max_low_pfn, k->max_pfn) : 0;
}

uint64_t km_nr_free_highpages(km_machine *m)
{
	struct km_core *k = core(m);
	if (!k)
		return 0;
	lock(k);
	uint64_t n = k->zones[k->highmem_zone].nr_free;
	unlock(k);
	return n;
}

int km_alloc_page(km_machine *m, unsigned gfp, km_page **out)
{
	struct km_core *k = core(m);
	if (!k || !out || gfp > KM_GFP_HIGHUSER)
		return -EINVAL;
	lock(k);
	int r = km__alloc_page(k, gfp, out);
	unlock(k);
	return r;
}

int km_free_page(km_machine *m, km_page *page)
{
	struct km_core *k = core(m);
	if (!k)
		return -EINVAL;
	lock(k);
	int r = km__free_page(k, page);
	unlock(k);
	return r;
}

/* ---------------------------------------------------------------------- */
/* Persistent maps                                                         */
/* ---------------------------------------------------------------------- */

int km_kmap_ex(km_machine *m, km_page *page, unsigned flags,
                      uint64_t timeout_ns, void **addr, enum km_how *how)
{
	struct km_core *k = core(m);
	struct km_task *t;
	struct km_wait wait = { .timeout_ns = timeout_ns,
	                        .timed = flags & KM_MAP_TIMED };
	uintptr_t va;
	enum km_how h;
	if (!valid(k, page) || !addr || (flags & ~(KM_MAP_NOWAIT | KM_MAP_TIMED)))
		return km__refuse(k, -EINVAL, "kmap");
	int r = k->drv->current(k->drv_ctx, &t);
	if (r)
		return r;
	r = km__kmap(k, t, page, flags, &wait, &va, &h);
	if (r)
		return km__refuse(k, r, "kmap");
	*addr = (void *)va;
	if (how)
		*how = h;
	return 0;
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
	struct km_core *k = core(m);
	struct km_task *t;
	if (!valid(k, page))
		return km__refuse(k, -EINVAL, "kunmap");
	int r = k->drv->current(k->drv_ctx, &t);
	if (!r && (r = km__kunmap(k, t, page)))
		return km__refuse(k, r, "kunmap");
	return r;
}

int km_kmap_high_get(km_machine *m, km_page *page, void **addr)
{
	struct km_core *k = core(m);
	uintptr_t va;
	if (!valid(k, page) || !addr)
		return km__refuse(k, -EINVAL, "kmap_high_get");
	if (!k->profile->kmap_high_get)
		return -EOPNOTSUPP; /* no ARCH_NEEDS_KMAP_HIGH_GET in this kernel */
	if (!PageHighMem(k, page)) {
		*addr = (void *)lowmem_page_address(k, page);
		return 0;
	}
	int r = km__kmap_high_get(k, page, &va);
	if (!r)
		*addr = (void *)va;
	return r;
}

int km_kmap_flush_unused(km_machine *m)
{
	struct km_core *k = core(m);
	return k ? km__kmap_flush_unused(k) : -EINVAL;
}

void *km_page_address(km_machine *m, const km_page *page)
{
	struct km_core *k = core(m);
	if (!valid(k, page))
		return NULL;
	lock(k);
	uintptr_t va = km__page_address(k, page);
	unlock(k);
	return (void *)va;
}

km_page *km_kmap_to_page(km_machine *m, const void *addr)
{
	struct km_core *k = core(m);
	struct km_task *t;
	if (!k)
		return NULL;
	if (k->drv->current(k->drv_ctx, &t))
		t = NULL;
	lock(k);
	km_page *p = km__kmap_to_page(k, t, (uintptr_t)addr);
	unlock(k);
	return p;
}

/* ---------------------------------------------------------------------- */
/* Local maps                                                              */
/* ---------------------------------------------------------------------- */

static int local_map(km_machine *m, km_page *page, int kind, void **addr,
                     const char *fn)
{
	struct km_core *k = core(m);
	struct km_task *t;
	uintptr_t va;
	if (!valid(k, page) || !addr)
		return km__refuse(k, -EINVAL, fn);
	int r = k->drv->current(k->drv_ctx, &t);
	if (r)
		return r;
	r = km__kmap_local_page(k, t, page, kind, &va);
	if (r)
		return t->sys_err ? r : km__refuse(k, r, fn);
	/* a fixmap slot; not a pkmap address kmap_high_get reused */
	if (PageHighMem(k, page) && !km__in_pkmap(k, va))
		__atomic_fetch_add(&k->local_maps, 1, __ATOMIC_RELAXED);
	*addr = (void *)va;
	return 0;
}

static int local_unmap(km_machine *m, const void *addr, int kind,
                       const char *fn)
{
	struct km_core *k = core(m);
	struct km_task *t;
	if (!k)
		return -EINVAL;
	int r = k->drv->current(k->drv_ctx, &t);
	if (r)
		return r;
	r = km__kunmap_local_indexed(k, t, (uintptr_t)addr, kind);
	return r && !t->sys_err ? km__refuse(k, r, fn) : r;
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
	struct km_core *k = core(m);
	struct km_task *t;
	if (!k || k->drv->current(k->drv_ctx, &t))
		return 0;
	return t->atomic_depth;
}

/* ---------------------------------------------------------------------- */
/* vmap                                                                    */
/* ---------------------------------------------------------------------- */

/* km_vmap and km_vm_map_ram: @map (vmalloc.c's) for the calling task. */
static int map_area(km_machine *m, km_page *const *pages, unsigned count,
                    void **addr,
                    int (*map)(struct km_core *, struct km_task *,
                               struct km_page *const *, unsigned, uintptr_t *),
                    const char *fn)
{
	struct km_core *k = core(m);
	struct km_task *t;
	uintptr_t va;
	if (!k || !pages || !addr)
		return km__refuse(k, -EINVAL, fn);
	int r = k->drv->current(k->drv_ctx, &t);
	if (r)
		return r;
	r = map(k, t, pages, count, &va);
	if (r)
		return km__refuse(k, r, fn);
	*addr = (void *)va;
	return 0;
}

/* km_vunmap and km_vm_unmap_ram (@ram; @count is only its): vmalloc.c's
 * unmap for the calling task. */
static int unmap_area(km_machine *m, const void *addr, unsigned count,
                      bool ram)
{
	struct km_core *k = core(m);
	struct km_task *t;
	if (!k)
		return -EINVAL;
	int r = k->drv->current(k->drv_ctx, &t);
	if (r)
		return r;
	r = ram ? km__vm_unmap_ram(k, t, (uintptr_t)addr, count) :
	          km__vunmap(k, t, (uintptr_t)addr);
	return r ? km__refuse(k, r, ram ? "vm_unmap_ram" : "vunmap") : 0;
}

int km_vmap(km_machine *m, km_page *const *pages, unsigned count, void **addr)
{
	return map_area(m, pages, count, addr, km__vmap, "vmap");
}

int km_vunmap(km_machine *m, const void *addr)
{
	return unmap_area(m, addr, 0, false);
}

int km_vm_map_ram(km_machine *m, km_page *const *pages, unsigned count,
                  void **addr)
{
	return map_area(m, pages, count, addr, km__vm_map_ram, "vm_map_ram");
}

int km_vm_unmap_ram(km_machine *m, const void *addr, unsigned count)
{
	return unmap_area(m, addr, count, true);
}

int km_vm_unmap_aliases(km_machine *m)
{
	struct km_core *k = core(m);
	struct km_task *t;
	if (!k)
		return -EINVAL;
	int r = k->drv->current(k->drv_ctx, &t);
	if (r)
		return r;
	/* might_sleep() */
	if (t->atomic_depth)
		return km__refuse(k, -KM_EATOMIC, "vm_unmap_aliases");
	return km__vm_unmap_aliases(k);
}

km_page *km_vmalloc_to_page(km_machine *m, const void *addr)
{
	struct km_core *k = core(m);
	if (!k)
		return NULL;
	lock(k);
	km_page *p = km__vmalloc_to_page(k, (uintptr_t)addr);
	unlock(k);
	return p;
}
