/*
 * sim.c - the simulated MMU: page tables for the pkmap window, the
 * fixmap's kmap area and the vmalloc area, a TLB model, and sparse
 * physical memory.
 *
 * The TLB model is deliberately pessimistic: a translation may be cached
 * from the moment its PTE is set (hardware may walk speculatively) until a
 * flush covers it; clearing a PTE does not drop it. Setting a PTE over a
 * cached translation of another page is a stale translation: it is counted,
 * and accesses use the stale page, as real hardware would, so the bug shows
 * up as wrong bytes.
 */
#include "sim.h"
#include "core/machine.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Physical memory comes in 64 KiB chunks allocated on first write: small
 * enough that the host never backs a sparse write with a 2 MiB huge page. */
#define CHUNK_SHIFT 16
#define CHUNK_SIZE (1ull << CHUNK_SHIFT)

struct sim {
	pthread_mutex_t lock;
	uint64_t mem_bytes;
	uint64_t pfn_offset;      /* RAM's first pfn (ARCH_PFN_OFFSET) */
	uint8_t **chunk;          /* [nr_chunks], NULL until written; chunk 0
	                           * holds pfn_offset's page */
	size_t nr_chunks;
	uintptr_t page_offset, high_memory;
	uintptr_t pk_base, fx_base, vm_base; /* window starts */
	unsigned pk_n, fx_n, vm_n;  /* pages in each */
	uint64_t *pte;              /* [pk_n + fx_n + vm_n]: pfn + 1, 0 = none */
	uint64_t *tlb;              /* cached translation: pfn + 1, 0 = none */
	uint64_t flush_one, stale;
	struct km__sim_faults faults;
	uint64_t calls;
};

static long slot_of(struct sim *s, uintptr_t va)
{
	if (va >= s->pk_base && va - s->pk_base < (uintptr_t)s->pk_n << 12)
		return (long)((va - s->pk_base) >> 12);
	if (va >= s->fx_base && va - s->fx_base < (uintptr_t)s->fx_n << 12)
		return (long)(s->pk_n + ((va - s->fx_base) >> 12));
	if (va >= s->vm_base && va - s->vm_base < (uintptr_t)s->vm_n << 12)
		return (long)(s->pk_n + s->fx_n + ((va - s->vm_base) >> 12));
	return -1;
}

/* Fault injection: fail the call whose index (counted over every
 * mutating call) equals faults.fail_at, or every call of a kind. */
static int injected(struct sim *s, unsigned kind)
{
	uint64_t i = s->calls++;
	if (s->faults.fail_at && i + 1 == s->faults.fail_at &&
	    (s->faults.kinds & kind))
		return s->faults.err ? s->faults.err : -EIO;
	if (s->faults.always & kind)
		return s->faults.err ? s->faults.err : -EIO;
	return 0;
}

static int sim_set_pte(void *be, uintptr_t va, uint64_t pfn)
{
	struct sim *s = be;
	int r = 0;
	pthread_mutex_lock(&s->lock);
	long i = slot_of(s, va);
	if (i < 0 || pfn < s->pfn_offset || pfn - s->pfn_offset >= s->mem_bytes >> 12)
		r = -EINVAL;
	else if (!(r = injected(s, KM_SIM_FAULT_MAP))) {
		s->pte[i] = pfn + 1;
		if (s->tlb[i] && s->tlb[i] != pfn + 1)
			s->stale++;
		else
			s->tlb[i] = pfn + 1;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int sim_clear_ptes(void *be, uintptr_t va, unsigned nr)
{
	struct sim *s = be;
	int r = 0;
	pthread_mutex_lock(&s->lock);
	long i = slot_of(s, va), j = slot_of(s, va + ((uintptr_t)nr - 1) * 4096);
	if (i < 0 || j < 0 || j - i != (long)nr - 1)
		r = -EINVAL;
	else if (!(r = injected(s, KM_SIM_FAULT_CLEAR)))
		for (long x = i; x <= j; x++)
			s->pte[x] = 0;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int sim_flush_range(void *be, uintptr_t start, uintptr_t end)
{
	struct sim *s = be;
	int r;
	pthread_mutex_lock(&s->lock);
	if (!(r = injected(s, KM_SIM_FAULT_FLUSH)))
		for (uintptr_t va = start; va < end; va += 4096) {
			long i = slot_of(s, va);
			if (i >= 0)
				s->tlb[i] = 0;
		}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int sim_flush_one(void *be, uintptr_t va)
{
	struct sim *s = be;
	int r;
	pthread_mutex_lock(&s->lock);
	if (!(r = injected(s, KM_SIM_FAULT_FLUSH))) {
		long i = slot_of(s, va);
		if (i >= 0)
			s->tlb[i] = 0;
		s->flush_one++;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* The pfn @va translates to, filling the TLB as hardware would. */
static int translate(struct sim *s, uintptr_t va, uint64_t *pfn)
{
	if (va >= s->page_offset && va < s->high_memory) {
		*pfn = s->pfn_offset + ((va - s->page_offset) >> 12);
		return 0;
	}
	long i = slot_of(s, va);
	if (i < 0)
		return -EFAULT;
	if (s->tlb[i]) {
		if (s->tlb[i] != s->pte[i])
			s->stale++; /* the access sees a page that is no longer mapped */
		*pfn = s->tlb[i] - 1;
		return 0;
	}
	if (!s->pte[i])
		return -EFAULT;
	s->tlb[i] = s->pte[i];
	*pfn = s->pte[i] - 1;
	return 0;
}

static bool sim_mapped(void *be, uintptr_t va)
{
	struct sim *s = be;
	pthread_mutex_lock(&s->lock);
	long i = slot_of(s, va);
	bool r = (va >= s->page_offset && va < s->high_memory) ||
	         (i >= 0 && (s->tlb[i] || s->pte[i]));
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Bytes of physical memory at @pa (within one page); the lock held. */
static int phys_copy(struct sim *s, uint64_t pa, void *buf, size_t len,
                     int write)
{
	size_t c = (size_t)(pa >> CHUNK_SHIFT);
	size_t co = (size_t)(pa & (CHUNK_SIZE - 1));
	if (write) {
		if (!s->chunk[c])
			s->chunk[c] = calloc(1, CHUNK_SIZE);
		if (!s->chunk[c])
			return -ENOMEM;
		memcpy(s->chunk[c] + co, buf, len);
	} else if (s->chunk[c]) {
		memcpy(buf, s->chunk[c] + co, len);
	} else {
		memset(buf, 0, len);
	}
	return 0;
}

static int sim_access(void *be, uintptr_t va, void *buf, size_t len,
                      int write)
{
	struct sim *s = be;
	uint64_t pfn;
	size_t off = va & 4095;
	if (len > 4096 - off)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	int r = translate(s, va, &pfn);
	if (!r)
		r = phys_copy(s, ((pfn - s->pfn_offset) << 12) + off, buf, len,
		              write);
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* The copy helpers' way around the page tables: physical memory itself. */
static int sim_copy(void *be, uint64_t pfn, size_t off, void *buf,
                    size_t len, int write)
{
	struct sim *s = be;
	if (pfn < s->pfn_offset || pfn - s->pfn_offset >= s->mem_bytes >> 12 ||
	    off > 4096 || len > 4096 - off)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	int r = phys_copy(s, ((pfn - s->pfn_offset) << 12) + off, buf, len,
	                  write);
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int sim_read_pages(void *be, uint64_t pfn, unsigned n, void *buf)
{
	struct sim *s = be;
	uint64_t pages = s->mem_bytes >> 12;
	if (pfn < s->pfn_offset || pfn - s->pfn_offset >= pages ||
	    n > pages - (pfn - s->pfn_offset))
		return -EINVAL;
	int r = 0;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < n && !r; i++)
		r = phys_copy(s, (pfn - s->pfn_offset + i) << 12,
		              (char *)buf + ((size_t)i << 12), 4096, 0);
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int sim_check_pte(void *be, uintptr_t va, uint64_t pfn)
{
	struct sim *s = be;
	int r = 0;
	pthread_mutex_lock(&s->lock);
	long i = slot_of(s, va);
	uint64_t want = pfn == UINT64_MAX ? 0 : pfn + 1;
	if (i < 0 || s->pte[i] != want || (s->tlb[i] && s->tlb[i] != want))
		r = -KM_ECORRUPT;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static void sim_tlb_counts(void *be, uint64_t *flush_one, uint64_t *stale)
{
	struct sim *s = be;
	pthread_mutex_lock(&s->lock);
	*flush_one = s->flush_one;
	*stale = s->stale;
	pthread_mutex_unlock(&s->lock);
}

static void sim_destroy(void *be);

static int sim_create(struct km_core *k, const struct km_backend_params *p,
                      void **out)
{
	(void)p; /* no file, read-only or sequential mode here */
	struct sim *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->mem_bytes = k->mem_bytes;
	s->pfn_offset = k->pfn_offset;
	s->nr_chunks = (size_t)((k->mem_bytes + CHUNK_SIZE - 1) >> CHUNK_SHIFT);
	s->page_offset = k->page_offset;
	s->high_memory = (uintptr_t)k->high_memory;
	s->pk_base = k->pkmap_base;
	s->pk_n = k->last_pkmap;
	/* the kmap area of every cpu: from the last cpu's last slot up */
	s->fx_base = km__local_low(k, k->nr_cpus - 1);
	s->fx_n = (unsigned)((k->kmap_area[0] - s->fx_base) >> 12) + 1;
	s->vm_base = (uintptr_t)k->vmalloc_start;
	s->vm_n = k->vm_pages;
	size_t n = (size_t)s->pk_n + s->fx_n + s->vm_n;
	s->chunk = calloc(s->nr_chunks, sizeof(*s->chunk));
	s->pte = calloc(n, sizeof(uint64_t));
	s->tlb = calloc(n, sizeof(uint64_t));
	if (!s->chunk || !s->pte || !s->tlb) {
		sim_destroy(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

static void sim_destroy(void *be)
{
	struct sim *s = be;
	if (!s)
		return;
	if (s->chunk)
		for (size_t i = 0; i < s->nr_chunks; i++)
			free(s->chunk[i]);
	free(s->chunk);
	free(s->pte);
	free(s->tlb);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const struct km_backend_ops km__sim_ops = {
	.name = "sim",
	.create = sim_create,
	.destroy = sim_destroy,
	.set_pte = sim_set_pte,
	.clear_ptes = sim_clear_ptes,
	.flush_tlb_range = sim_flush_range,
	.flush_tlb_one = sim_flush_one,
	.access = sim_access,
	.mapped = sim_mapped,
	.copy = sim_copy,
	.read_pages = sim_read_pages,
	.check_pte = sim_check_pte,
	.tlb_counts = sim_tlb_counts,
};

void km__sim_set_faults(void *be, const struct km__sim_faults *f)
{
	struct sim *s = be;
	pthread_mutex_lock(&s->lock);
	s->faults = *f;
	s->calls = 0;
	pthread_mutex_unlock(&s->lock);
}

uint64_t km__sim_calls(void *be)
{
	struct sim *s = be;
	pthread_mutex_lock(&s->lock);
	uint64_t n = s->calls;
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint64_t km__sim_resident_bytes(void *be)
{
	struct sim *s = be;
	uint64_t n = 0;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nr_chunks; i++)
		n += s->chunk[i] ? CHUNK_SIZE : 0;
	pthread_mutex_unlock(&s->lock);
	return n;
}
