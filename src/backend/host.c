/*
 * host.c - physical memory in a memfd or a file; lowmem mapped once;
 * the pkmap window reserved PROT_NONE and filled page by page with
 * mmap(MAP_FIXED | MAP_SHARED); cleared slots unmapped in contiguous runs
 * (replaced by a PROT_NONE reservation, so the addresses stay ours). The
 * copy helpers' other ways: pread and pwrite of the file (copy), and per
 * thread a run area where a scan's pages are mapped many at a time with
 * MAP_POPULATE (map_run), each run in place of the last, with one call.
 *
 * Unmapping at flush time is what makes a later mapping into an empty slot
 * cheap: the slot holds no translation, so installing one needs no TLB
 * shootdown on the other CPUs; the one shootdown is paid per run cleared.
 *
 * The vmalloc area is a second reservation, just below the window: a vmap
 * maps its pages there, a run of consecutive file pages with one mmap.
 * vunmap's clear is lazy as the kernel's TLB flush is: the pages stay
 * mapped until the core's purge flushes the range, and then every run of
 * lazily cleared pages goes with one mmap (guard pages and free pages
 * between them included, live areas never). Debug mode clears at once,
 * as the kernel's debug_pagealloc flushes at once.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64 /* page offsets beyond 4 GiB on 32-bit hosts */
#include "host.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int sys_memfd_create(const char *name, unsigned flags)
{
	return memfd_create(name, flags);
}
static int sys_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags, mode);
}

const struct km__host_sys km__host_sys_default = {
	.memfd_create = sys_memfd_create,
	.open = sys_open,
	.ftruncate = ftruncate,
	.mmap = mmap,
	.munmap = munmap,
	.mprotect = mprotect,
	.msync = msync,
	.fsync = fsync,
	.pread = pread,
	.pwrite = pwrite,
};

const struct km__host_sys *km__host_sys = &km__host_sys_default;

/* Every reservation: no access, no swap accounting, ours to map over. */
#define RESERVE_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

struct host {
	int fd;
	int prot;
	uint64_t mem_bytes;
	char *lowmem;
	size_t lowmem_len;
	char *window;
	size_t window_len;
	char *vm;               /* the vmalloc area, just below the window */
	size_t vm_len;
	uint8_t *vm_state;      /* [vm pages]: VM_NONE, VM_LIVE, VM_PENDING */
	unsigned nr_areas;
	unsigned areas_used;    /* 1 + the highest area ever made: the areas to
	                         * look through for an address */
	char **area;            /* [nr_areas]: base of area_pages pages, or NULL */
	unsigned area_pages;    /* a local-map area: KM_MAX_IDX slots a colour */
	char **run;             /* [nr_areas]: KM_RUN_PAGES pages, or NULL */
	unsigned *run_live;     /* [nr_areas]: pages of the run mapped now */
	uint8_t *area_live;     /* [nr_areas * area_pages]: local page mapped;
	                         * each area written by its one thread */
	/*
	 * [window pages]: the slot holds the page the core put there and is
	 * accessible (not closed by debug mode; not merely mapped ahead or
	 * left mapped for a remap in place). What host_access trusts: a copy
	 * through any other window address is -EFAULT, never a fault.
	 */
	uint8_t *win_live;
	pthread_mutex_t lock;   /* guards area[] and the counters */
	uint64_t maps, unmaps;
	/*
	 * The other way, for measuring (KMAP_HOST_REMAP=1): cleared window
	 * slots stay mapped and the next mapping replaces them in place.
	 * Each replacement of a live mapping costs a TLB shootdown when the
	 * process runs on another CPU; clearing in runs at flush time pays
	 * one per run instead. bench/README.md has both figures.
	 */
	bool remap_in_place;
	/*
	 * KM_SEQUENTIAL: when a page is mapped into the slot after the last
	 * one with the pfn after the last one, the next pages are mapped into
	 * the next free slots by the same mmap call: one call instead of up
	 * to RA_PAGES + 1. The core still sees those slots free; its later
	 * set_pte of the page already there costs nothing, of another page a
	 * replacement (never touched, so no TLB entry to shoot down).
	 */
	bool readahead;
	uint64_t *shadow;       /* [window pages]: pfn + 1 mapped there, or 0 */
	unsigned last_idx;
	uint64_t last_pfn;
	uint64_t ra_hits;
	bool debug;             /* registered for the SIGSEGV report */
	uint64_t pfn_offset;    /* the pfn of the memory's first page */
};

#define RA_PAGES 31

/* vm_state: reserved (PROT_NONE), mapped for an area, or mapped still
 * but cleared by the core (a vunmap) and waiting for the purge's flush */
enum { VM_NONE, VM_LIVE, VM_PENDING };

/* What host_open() needs: the machine's figures and the config's. */
struct host_params {
	const char *path;      /* NULL: an anonymous memfd */
	uint64_t mem_bytes;    /* 0 with a path: the file's size */
	uint64_t lowmem_bytes; /* mapped once, the direct map */
	uint64_t vmalloc_bytes;/* reserved for vmap, below the window */
	unsigned last_pkmap;
	unsigned nr_areas;     /* local-map areas (one per thread at a time) */
	unsigned colors;       /* a local slot per colour and index */
	bool rdonly;
	bool debug;
	bool sequential;       /* KM_SEQUENTIAL: map ahead in order */
};


/*
 * Open the file that holds memory, never blocking (a FIFO would wait for a
 * writer forever): only a regular file or a block device can hold memory.
 * A directory is -EISDIR, anything else -ENODEV (what mmap would answer).
 * *size: its size in bytes. On an error *fd is -1 when the open failed,
 * else still open, for the caller to close.
 */
static int mem_file_open(const char *path, int flags, int *fd, uint64_t *size)
{
	struct stat st;
	int r = 0;
	*fd = km__host_sys->open(path, flags | O_NONBLOCK | O_CLOEXEC, 0644);
	if (*fd < 0)
		return errno ? -errno : -EIO;
	if (fstat(*fd, &st))
		r = -errno;
	else if (S_ISDIR(st.st_mode))
		r = -EISDIR;
	else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		r = -ENODEV;
	else if (fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK))
		r = -errno;
	if (!r && S_ISBLK(st.st_mode)) {
		off_t end = lseek(*fd, 0, SEEK_END);
		if (end < 0)
			r = -errno;
		st.st_size = end;
	}
	if (!r)
		*size = (uint64_t)st.st_size;
	return r;
}

/* A file's size in whole pages: a tail past the last whole page is not
 * memory. */
static int host_mem_size(const struct km_backend_params *p, uint64_t *size)
{
	int fd;
	int r = mem_file_open(p->mem_path, O_RDONLY, &fd, size);
	if (fd >= 0)
		close(fd);
	if (!r)
		*size &= ~(uint64_t)(PAGE_SIZE - 1);
	return r;
}

static void host_destroy(void *be);
static void debug_unregister(struct host *be);

/* Open the memory, map lowmem, reserve the window; -errno with nothing
 * left behind (a file it created is removed, one it grew is emptied). */
static int host_open(const struct host_params *p, void **out,
                     uint64_t *mem_bytes, uintptr_t *lowmem, uintptr_t *window)
{
	const struct km__host_sys *sys = km__host_sys;
	struct host *h = calloc(1, sizeof(*h));
	bool created = false, grown = false;
	int r = -ENOMEM;
	if (!h)
		return -ENOMEM;
	h->fd = -1;
	h->lowmem = h->vm = MAP_FAILED;
	h->prot = p->rdonly ? PROT_READ : PROT_READ | PROT_WRITE;
	const char *e = getenv("KMAP_HOST_REMAP");
	h->remap_in_place = e && *e == '1' && !p->debug;
	h->mem_bytes = p->mem_bytes;
	h->nr_areas = p->nr_areas;
	pthread_mutex_init(&h->lock, NULL);
	h->area = calloc(p->nr_areas, sizeof(char *));
	h->area_pages = KM_MAX_IDX * p->colors;
	h->run = calloc(p->nr_areas, sizeof(char *));
	h->run_live = calloc(p->nr_areas, sizeof(unsigned));
	h->area_live = calloc((size_t)p->nr_areas * h->area_pages, 1);
	if (!h->area || !h->run || !h->run_live || !h->area_live)
		goto fail;

	if (p->path) {
		struct stat before;
		uint64_t size;
		created = stat(p->path, &before) && errno == ENOENT;
		r = mem_file_open(p->path, p->rdonly ? O_RDONLY : O_RDWR | O_CREAT,
		                  &h->fd, &size);
		if (r) {
			if (h->fd < 0)
				created = false; /* the open failed: nothing made */
			goto fail;
		}
		if (!h->mem_bytes)
			h->mem_bytes = size & ~(uint64_t)(PAGE_SIZE - 1);
		if (size < h->mem_bytes) {
			/* a new (empty) file is grown; an existing one must fit */
			if (size || p->rdonly) {
				r = -EINVAL;
				goto fail;
			}
			if (sys->ftruncate(h->fd, (off_t)h->mem_bytes))
				goto fail_errno;
			grown = true;
		}
	} else {
		h->fd = sys->memfd_create("kmap-physical-memory", MFD_CLOEXEC);
		if (h->fd < 0)
			goto fail_errno;
		if (sys->ftruncate(h->fd, (off_t)h->mem_bytes))
			goto fail_errno;
	}
	if (h->mem_bytes < PAGE_SIZE) {
		r = -EINVAL;
		goto fail;
	}
	h->lowmem_len = (size_t)(p->lowmem_bytes < h->mem_bytes ?
	                         p->lowmem_bytes : h->mem_bytes);
	if (h->lowmem_len) {
		h->lowmem = sys->mmap(NULL, h->lowmem_len, h->prot, MAP_SHARED,
		                      h->fd, 0);
		if (h->lowmem == MAP_FAILED)
			goto fail_errno;
	}
	h->window_len = (size_t)p->last_pkmap * PAGE_SIZE;
	h->vm_len = (size_t)p->vmalloc_bytes;
	h->vm = sys->mmap(NULL, h->vm_len + h->window_len, PROT_NONE,
	                  RESERVE_FLAGS, -1, 0);
	if (h->vm == MAP_FAILED)
		goto fail_errno;
	h->window = h->vm + h->vm_len;
	h->vm_state = calloc(h->vm_len / PAGE_SIZE + 1, 1);
	if (!h->vm_state) {
		r = -ENOMEM;
		goto fail;
	}
	h->readahead = p->sequential && !p->debug;
	h->shadow = calloc(p->last_pkmap, sizeof(uint64_t));
	h->win_live = calloc(p->last_pkmap, 1);
	if (!h->shadow || !h->win_live) {
		r = -ENOMEM;
		goto fail;
	}
	h->last_idx = ~0u;
	*out = h;
	*mem_bytes = h->mem_bytes;
	*lowmem = h->lowmem_len ? (uintptr_t)h->lowmem : 0;
	*window = (uintptr_t)h->window;
	return 0;
fail_errno:
	r = -errno;
	if (!r)
		r = -EIO;
fail:
	/* leave the file as it was: not there, or empty */
	if (grown && h->fd >= 0 && ftruncate(h->fd, 0)) {
		/* nothing more to do: the error that matters is r */
	}
	if (created)
		unlink(p->path);
	host_destroy(h);
	return r;
}

static void host_destroy(void *be)
{
	struct host *h = be;
	if (!h)
		return;
	if (h->debug)
		debug_unregister(h);
	const struct km__host_sys *sys = km__host_sys;
	for (unsigned i = 0; h->area && i < h->nr_areas; i++)
		if (h->area[i])
			sys->munmap(h->area[i], (size_t)h->area_pages * PAGE_SIZE);
	for (unsigned i = 0; h->run && i < h->nr_areas; i++)
		if (h->run[i])
			sys->munmap(h->run[i], (size_t)KM_RUN_PAGES * PAGE_SIZE);
	if (h->vm != MAP_FAILED)
		sys->munmap(h->vm, h->vm_len + h->window_len);
	if (h->lowmem != MAP_FAILED && h->lowmem_len)
		sys->munmap(h->lowmem, h->lowmem_len);
	if (h->fd >= 0)
		close(h->fd);
	free(h->area);
	free(h->run);
	free(h->run_live);
	free(h->area_live);
	free(h->shadow);
	free(h->win_live);
	free(h->vm_state);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static void count(struct host *h, uint64_t *c)
{
	pthread_mutex_lock(&h->lock);
	(*c)++;
	pthread_mutex_unlock(&h->lock);
}

/* The window page of @va, or -1 for a local-map area. */
static long window_idx(const struct host *h, uintptr_t va)
{
	uintptr_t w = (uintptr_t)h->window;
	return va >= w && va - w < h->window_len ? (long)((va - w) / PAGE_SIZE) : -1;
}

/* The page of the vmalloc area at @va, or -1. */
static long vm_idx(const struct host *h, uintptr_t va)
{
	uintptr_t b = (uintptr_t)h->vm;
	return va >= b && va - b < h->vm_len ? (long)((va - b) / PAGE_SIZE) : -1;
}

/* The index in area_live of a local-map page @va, or -1. */
static long area_idx(const struct host *h, uintptr_t va)
{
	unsigned n = __atomic_load_n(&h->areas_used, __ATOMIC_ACQUIRE);
	for (unsigned c = 0; c < n; c++) {
		uintptr_t b = (uintptr_t)__atomic_load_n(&h->area[c], __ATOMIC_RELAXED);
		if (b && va >= b && va - b < (uintptr_t)h->area_pages * PAGE_SIZE)
			return (long)(c * h->area_pages + h->area_pages - 1 -
			              (va - b) / PAGE_SIZE);
	}
	return -1;
}

static void area_mark(struct host *h, uintptr_t va, unsigned nr, uint8_t live)
{
	for (unsigned i = 0; i < nr; i++) {
		long a = area_idx(h, va + (uintptr_t)i * PAGE_SIZE);
		if (a >= 0)
			__atomic_store_n(&h->area_live[a], live, __ATOMIC_RELAXED);
	}
}

/*
 * Window pages are set and cleared under the kmap lock, so the shadow
 * needs no lock of its own; local areas belong to one thread each.
 */
static int host_set_pte(void *be, uintptr_t va, uint64_t pfn)
{
	struct host *h = be;
	uint64_t npages = h->mem_bytes / PAGE_SIZE;
	/* the file holds RAM from PHYS_OFFSET: its page pfn - pfn_offset */
	uint64_t fpage = pfn - h->pfn_offset;
	if (pfn < h->pfn_offset || fpage >= npages)
		return -EINVAL;
	long idx = window_idx(h, va);
	if (idx >= 0 && h->shadow[idx] == pfn + 1) {
		h->ra_hits++; /* mapped ahead: nothing to do */
		h->last_idx = (unsigned)idx;
		h->last_pfn = pfn;
		__atomic_store_n(&h->win_live[idx], 1, __ATOMIC_RELEASE);
		return 0;
	}
	size_t n = 1;
	if (idx >= 0 && h->readahead && (unsigned)idx == h->last_idx + 1 &&
	    pfn == h->last_pfn + 1)
		while (n <= RA_PAGES && (size_t)idx + n < h->window_len / PAGE_SIZE &&
		       !h->shadow[idx + n] && fpage + n < npages)
			n++;
	void *p = km__host_sys->mmap((void *)va, n * PAGE_SIZE, h->prot,
	                             MAP_SHARED | MAP_FIXED, h->fd,
	                             (off_t)(fpage * PAGE_SIZE));
	if (p == MAP_FAILED)
		return -errno;
	long v = vm_idx(h, va);
	if (v >= 0) {
		h->vm_state[v] = VM_LIVE;
	} else if (idx >= 0) {
		for (size_t i = 0; i < n; i++)
			h->shadow[idx + (long)i] = pfn + 1 + i;
		h->last_idx = (unsigned)idx;
		h->last_pfn = pfn;
		__atomic_store_n(&h->win_live[idx], 1, __ATOMIC_RELEASE);
	} else {
		area_mark(h, va, 1, 1);
	}
	count(h, &h->maps);
	return 0;
}

static void win_dead(struct host *h, long idx, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++)
		__atomic_store_n(&h->win_live[idx + (long)i], 0, __ATOMIC_RELEASE);
}

/* A vmap's run of consecutive pages: one mmap. */
static int host_map_range(void *be, uintptr_t va, uint64_t pfn, unsigned nr)
{
	struct host *h = be;
	long v = vm_idx(h, va);
	uint64_t fpage = pfn - h->pfn_offset;
	if (v < 0 || (size_t)v + nr > h->vm_len / PAGE_SIZE ||
	    pfn < h->pfn_offset || fpage + nr > h->mem_bytes / PAGE_SIZE)
		return -EINVAL;
	void *p = km__host_sys->mmap((void *)va, (size_t)nr * PAGE_SIZE, h->prot,
	                             MAP_SHARED | MAP_FIXED, h->fd,
	                             (off_t)(fpage * PAGE_SIZE));
	if (p == MAP_FAILED)
		return -errno;
	memset(&h->vm_state[v], VM_LIVE, nr);
	count(h, &h->maps);
	return 0;
}

/* Replace a run of pages by a reservation: one call, one shootdown. */
static int host_clear_ptes(void *be, uintptr_t va, unsigned nr)
{
	struct host *h = be;
	long idx = window_idx(h, va);
	if (h->remap_in_place && idx >= 0) {
		win_dead(h, idx, nr);
		return 0; /* left mapped: set_pte will replace it */
	}
	long v = vm_idx(h, va);
	if (v >= 0 && !h->debug) {
		/* the purge's flush unmaps them, with its neighbours */
		memset(&h->vm_state[v], VM_PENDING, nr);
		return 0;
	}
	void *p = km__host_sys->mmap((void *)va, (size_t)nr * PAGE_SIZE,
	                             PROT_NONE, RESERVE_FLAGS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (v >= 0) {
		memset(&h->vm_state[v], VM_NONE, nr);
	} else if (idx >= 0) {
		win_dead(h, idx, nr);
		memset(&h->shadow[idx], 0, nr * sizeof(uint64_t));
	} else
		area_mark(h, va, nr, 0);
	count(h, &h->unmaps);
	return 0;
}

/*
 * The window's flush: the kernel did it when the mapping went. The vmalloc
 * area's (a purge): unmap the pages lazily cleared in [start, end), each
 * run between live pages with one call.
 */
static int host_flush_range(void *be, uintptr_t start, uintptr_t end)
{
	struct host *h = be;
	long a = vm_idx(h, start);
	if (a < 0)
		return 0;
	size_t b = (end - (uintptr_t)h->vm) / PAGE_SIZE;
	if (b > h->vm_len / PAGE_SIZE)
		b = h->vm_len / PAGE_SIZE;
	for (size_t i = (size_t)a; i < b;) {
		if (h->vm_state[i] != VM_PENDING) {
			i++;
			continue;
		}
		size_t j = i, last = i;
		for (; j < b && h->vm_state[j] != VM_LIVE; j++)
			if (h->vm_state[j] == VM_PENDING)
				last = j;
		void *p = km__host_sys->mmap(h->vm + i * PAGE_SIZE,
		                             (last + 1 - i) * PAGE_SIZE, PROT_NONE,
		                             RESERVE_FLAGS | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		memset(&h->vm_state[i], VM_NONE, last + 1 - i);
		count(h, &h->unmaps);
		i = j;
	}
	return 0;
}

static int host_flush_one(void *be, uintptr_t va)
{
	(void)be;
	(void)va;
	return 0;
}

/* The area whose run maps @va now, or -1. */
static long run_idx(const struct host *h, uintptr_t va)
{
	unsigned n = __atomic_load_n(&h->areas_used, __ATOMIC_ACQUIRE);
	for (unsigned c = 0; c < n; c++) {
		uintptr_t b = (uintptr_t)__atomic_load_n(&h->run[c], __ATOMIC_ACQUIRE);
		uintptr_t live = __atomic_load_n(&h->run_live[c], __ATOMIC_ACQUIRE);
		if (b && va >= b && va - b < live * PAGE_SIZE)
			return (long)c;
	}
	return -1;
}

/*
 * Does [va, va + len), within one page, have a translation here: lowmem,
 * a live window slot, a live page of a local-map area or of a scan's
 * run, a page of a live vmap area? What the backend knows, no fault
 * taken: a copy through anything else would crash, and a lazily freed
 * vmap page is a use after vunmap even while the host still maps it.
 */
static inline bool host_mapped(const struct host *h, uintptr_t va,
                               size_t len)
{
	uintptr_t off = va - (uintptr_t)h->window;
	if (off < h->window_len)
		return __atomic_load_n(&h->win_live[off / PAGE_SIZE],
		                       __ATOMIC_ACQUIRE);
	off = va - (uintptr_t)h->lowmem; /* lowmem_len 0: never below */
	if (off < h->lowmem_len)
		return len <= h->lowmem_len - off;
	off = va - (uintptr_t)h->vm;
	if (off < h->vm_len)
		return __atomic_load_n(&h->vm_state[off / PAGE_SIZE],
		                       __ATOMIC_ACQUIRE) == VM_LIVE;
	long a = area_idx(h, va);
	if (a >= 0)
		return __atomic_load_n(&h->area_live[a], __ATOMIC_ACQUIRE);
	return run_idx(h, va) >= 0;
}

static bool host_page_mapped(void *be, uintptr_t va)
{
	return host_mapped(be, va & ~(uintptr_t)(PAGE_SIZE - 1), 1);
}

static int host_access(void *be, uintptr_t va, void *buf, size_t len,
                       int write)
{
	struct host *h = be;
	if (!host_mapped(h, va, len))
		return -EFAULT;
	if (write && !(h->prot & PROT_WRITE))
		return -EROFS;
	if (write)
		memcpy((void *)va, buf, len);
	else
		memcpy(buf, (const void *)va, len);
	return 0;
}

/* pread or pwrite of @len bytes of the memory's file at @pos, whole (a
 * signal may cut one call short). */
static int file_io(struct host *h, off_t pos, char *p, size_t len, int write)
{
	while (len) {
		ssize_t n = write ? km__host_sys->pwrite(h->fd, p, len, pos) :
		                    km__host_sys->pread(h->fd, p, len, pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file was cut short under us */
		p += n;
		pos += n;
		len -= (size_t)n;
	}
	return 0;
}

static int host_copy(void *be, uint64_t pfn, size_t off, void *buf,
                     size_t len, int write)
{
	struct host *h = be;
	uint64_t fpage = pfn - h->pfn_offset; /* as set_pte: the file's page */
	if (pfn < h->pfn_offset || fpage >= h->mem_bytes / PAGE_SIZE ||
	    off > PAGE_SIZE || len > PAGE_SIZE - off)
		return -EINVAL;
	if (write && !(h->prot & PROT_WRITE))
		return -EROFS;
	return file_io(h, (off_t)(fpage * PAGE_SIZE + off), buf, len, write);
}

static int host_read_pages(void *be, uint64_t pfn, unsigned n, void *buf)
{
	struct host *h = be;
	uint64_t fpage = pfn - h->pfn_offset, pages = h->mem_bytes / PAGE_SIZE;
	if (pfn < h->pfn_offset || fpage >= pages || n > pages - fpage)
		return -EINVAL;
	return file_io(h, (off_t)(fpage * PAGE_SIZE), buf,
	               (size_t)n * PAGE_SIZE, 0);
}

static int host_map_run(void *be, unsigned cpu, uint64_t pfn, unsigned n,
                        uintptr_t *va)
{
	struct host *h = be;
	const size_t len = (size_t)KM_RUN_PAGES * PAGE_SIZE;
	uint64_t fpage = pfn - h->pfn_offset;
	if (cpu >= h->nr_areas || !n || n > KM_RUN_PAGES || pfn < h->pfn_offset ||
	    fpage > h->mem_bytes / PAGE_SIZE - n)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	char *run = h->run[cpu];
	if (!run) {
		run = km__host_sys->mmap(NULL, len, PROT_NONE, RESERVE_FLAGS, -1, 0);
		if (run == MAP_FAILED) {
			int r = -errno;
			pthread_mutex_unlock(&h->lock);
			return r;
		}
		__atomic_store_n(&h->run[cpu], run, __ATOMIC_RELEASE);
		if (cpu >= h->areas_used) /* where host_mapped looks */
			__atomic_store_n(&h->areas_used, cpu + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&h->lock);
	/* a failed mmap may leave the area half mapped: none of it trusted */
	__atomic_store_n(&h->run_live[cpu], 0, __ATOMIC_RELEASE);
	void *p = km__host_sys->mmap(run, (size_t)n * PAGE_SIZE, h->prot,
	                             MAP_SHARED | MAP_FIXED | MAP_POPULATE, h->fd,
	                             (off_t)(fpage * PAGE_SIZE));
	if (p == MAP_FAILED)
		return -errno;
	__atomic_store_n(&h->run_live[cpu], n, __ATOMIC_RELEASE);
	count(h, &h->maps);
	*va = (uintptr_t)run;
	return 0;
}

/* The host's page tables belong to the kernel: trust the mmap results. */
static int host_check_pte(void *be, uintptr_t va, uint64_t pfn)
{
	(void)be;
	(void)va;
	(void)pfn;
	return 0;
}

static void host_tlb_counts(void *be, uint64_t *flush_one, uint64_t *stale)
{
	(void)be;
	*flush_one = 0;
	*stale = 0;
}

static int host_local_area(void *be, unsigned cpu, uintptr_t *top)
{
	struct host *h = be;
	int r = 0;
	pthread_mutex_lock(&h->lock);
	if (cpu >= h->nr_areas) {
		r = -EINVAL;
	} else if (!h->area[cpu]) {
		void *p = km__host_sys->mmap(NULL, (size_t)h->area_pages * PAGE_SIZE,
		                             PROT_NONE, RESERVE_FLAGS, -1, 0);
		if (p == MAP_FAILED)
			r = -errno;
		else
			__atomic_store_n(&h->area[cpu], (char *)p, __ATOMIC_RELAXED);
		if (!r && cpu >= h->areas_used)
			__atomic_store_n(&h->areas_used, cpu + 1, __ATOMIC_RELEASE);
	}
	if (!r) /* index 0 at the top, growing down, as the fixmap does */
		*top = (uintptr_t)h->area[cpu] + (h->area_pages - 1) * PAGE_SIZE;
	pthread_mutex_unlock(&h->lock);
	return r;
}

static void host_local_area_release(void *be, unsigned cpu)
{
	struct host *h = be;
	pthread_mutex_lock(&h->lock);
	if (cpu < h->nr_areas && h->area[cpu]) {
		km__host_sys->munmap(h->area[cpu], (size_t)h->area_pages * PAGE_SIZE);
		__atomic_store_n(&h->area[cpu], NULL, __ATOMIC_RELAXED);
		memset(&h->area_live[cpu * h->area_pages], 0, h->area_pages);
	}
	if (cpu < h->nr_areas && h->run[cpu]) {
		__atomic_store_n(&h->run_live[cpu], 0, __ATOMIC_RELEASE);
		km__host_sys->munmap(h->run[cpu], (size_t)KM_RUN_PAGES * PAGE_SIZE);
		__atomic_store_n(&h->run[cpu], NULL, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&h->lock);
}

static int host_sync(void *be)
{
	struct host *h = be;
	if (h->lowmem_len && km__host_sys->msync(h->lowmem, h->lowmem_len, MS_SYNC))
		return -errno;
	if (km__host_sys->fsync(h->fd))
		return -errno;
	return 0;
}

/* debug mode: make a window page inaccessible (or accessible again) */
static int host_protect(void *be, uintptr_t va, bool accessible)
{
	struct host *h = be;
	long idx = window_idx(h, va);
	if (km__host_sys->mprotect((void *)va, PAGE_SIZE,
	                           accessible ? h->prot : PROT_NONE))
		return -errno;
	if (idx >= 0)
		__atomic_store_n(&h->win_live[idx], accessible, __ATOMIC_RELEASE);
	return 0;
}

void km__host_counts(void *be, uint64_t *maps, uint64_t *unmaps)
{
	struct host *h = be;
	pthread_mutex_lock(&h->lock);
	*maps = h->maps;
	*unmaps = h->unmaps;
	pthread_mutex_unlock(&h->lock);
}

/* ---------------------------------------------------------------------- */
/* Debug mode: a fault in a window is a use after kunmap                  */
/* ---------------------------------------------------------------------- */

#define MAX_DEBUG 64

static struct debug_ent {
	struct host *h;
	const uint64_t *ptes;
	const int *counts;
} debug_tab[MAX_DEBUG];
static pthread_mutex_t debug_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction old_segv;
static int debug_users;

/* Async-signal-safe output: a string, or a decimal number. */
static void say(const char *s) { (void)!write(2, s, strlen(s)); }
static void say_num(uint64_t v)
{
	char b[24];
	int n = 0;
	do {
		b[sizeof(b) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	(void)!write(2, b + sizeof(b) - n, (size_t)n);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	for (int i = 0; i < MAX_DEBUG; i++) {
		struct host *h = __atomic_load_n(&debug_tab[i].h, __ATOMIC_ACQUIRE);
		if (!h)
			continue;
		uintptr_t w = (uintptr_t)h->window;
		if (a >= w && a - w < h->window_len) {
			unsigned slot = (unsigned)((a - w) / PAGE_SIZE);
			/* a slot with users: a real fault (a write to read-only
			 * memory, say), not a use after kunmap */
			if (__atomic_load_n(&debug_tab[i].counts[slot],
			                    __ATOMIC_RELAXED) >= 2)
				goto chain;
			uint64_t pte = debug_tab[i].ptes[slot];
			say("kmap: use after kunmap");
			if (pte) {
				say(" of pfn ");
				say_num(pte - 1);
			}
			say(" (slot ");
			say_num(slot);
			say(")\n");
			goto die;
		}
		uintptr_t vb = (uintptr_t)h->vm;
		if (a >= vb && a - vb < h->vm_len) {
			size_t page = (a - vb) / PAGE_SIZE;
			if (__atomic_load_n(&h->vm_state[page], __ATOMIC_RELAXED) ==
			    VM_LIVE)
				goto chain; /* a live area: a real fault */
			say("kmap: use after vunmap, or outside any vmap area "
			    "(vmalloc page ");
			say_num(page);
			say(")\n");
			goto die;
		}
		for (unsigned c = 0; c < h->nr_areas; c++) {
			uintptr_t b = (uintptr_t)h->area[c];
			if (b && a >= b && a - b < (uintptr_t)h->area_pages * PAGE_SIZE) {
				unsigned idx = (unsigned)(h->area_pages - 1 -
				                          (a - b) / PAGE_SIZE);
				if (__atomic_load_n(&h->area_live[c * h->area_pages + idx],
				                    __ATOMIC_RELAXED))
					goto chain; /* live: a real fault */
				say("kmap: use after kunmap_local (local slot ");
				say_num(h->area_pages - 1 - (a - b) / PAGE_SIZE);
				say(")\n");
				goto die;
			}
		}
	}
chain:
	/* not ours: whoever handled it before */
	if (old_segv.sa_flags & SA_SIGINFO && old_segv.sa_sigaction) {
		old_segv.sa_sigaction(sig, si, uc);
		return;
	}
	if (old_segv.sa_handler != SIG_DFL && old_segv.sa_handler != SIG_IGN &&
	    old_segv.sa_handler) {
		old_segv.sa_handler(sig);
		return;
	}
die:
	/* die of the fault: the default action on the re-executed access */
	signal(SIGSEGV, SIG_DFL);
}

static int debug_register(struct host *be, const uint64_t *ptes,
                          const int *counts)
{
	int r = -EMFILE;
	pthread_mutex_lock(&debug_lock);
	for (int i = 0; i < MAX_DEBUG; i++)
		if (!debug_tab[i].h) {
			debug_tab[i].ptes = ptes;
			debug_tab[i].counts = counts;
			__atomic_store_n(&debug_tab[i].h, be, __ATOMIC_RELEASE);
			r = 0;
			break;
		}
	if (!r && !debug_users++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_segv;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSEGV, &sa, &old_segv);
	}
	pthread_mutex_unlock(&debug_lock);
	return r;
}

static void debug_unregister(struct host *be)
{
	pthread_mutex_lock(&debug_lock);
	for (int i = 0; i < MAX_DEBUG; i++)
		if (debug_tab[i].h == be) {
			__atomic_store_n(&debug_tab[i].h, NULL, __ATOMIC_RELEASE);
			if (!--debug_users)
				sigaction(SIGSEGV, &old_segv, NULL);
		}
	pthread_mutex_unlock(&debug_lock);
}

/* ---------------------------------------------------------------------- */
/* The contract                                                            */
/* ---------------------------------------------------------------------- */

/* 64 MiB of lowmem, the direct map, when the config says 0: room for a
 * program's own kernel-like data without taking much address space */
#define HOST_LOWMEM_DEFAULT (64ull << 20)
/* Local-map areas: one a thread at a time, 64 threads */
#define HOST_NR_CPUS_DEFAULT 64
/* The vmalloc area when the config says 0: address space only */
#define HOST_VMALLOC_DEFAULT (64ull << 20)

/*
 * Real addresses replace the profile's: the direct map, the window; local
 * areas come per thread (kmap_area 0 until then). Debug mode registers the
 * window for the SIGSEGV report.
 */
static int host_create(struct km_core *k, const struct km_backend_params *bp,
                       void **out)
{
	struct host_params hp = {
		.path = bp->mem_path, .mem_bytes = k->mem_bytes,
		.lowmem_bytes = (k->max_low_pfn - k->pfn_offset) << PAGE_SHIFT,
		.vmalloc_bytes = (uint64_t)k->vm_pages << PAGE_SHIFT,
		.last_pkmap = k->last_pkmap, .nr_areas = k->nr_cpus,
		.colors = k->colors,
		.rdonly = bp->rdonly, .debug = k->flags & KM_DEBUG,
		.sequential = bp->sequential,
	};
	uint64_t got;
	uintptr_t low, win;
	int r = host_open(&hp, out, &got, &low, &win);
	if (r)
		return r;
	struct host *h = *out;
	h->pfn_offset = k->pfn_offset;
	if (hp.debug) {
		r = debug_register(h, k->pkmap_page_table, k->pkmap_count);
		if (r) {
			host_destroy(h);
			return r;
		}
		h->debug = true;
	}
	k->page_offset = low;
	k->high_memory = low + ((k->max_low_pfn - k->pfn_offset) << PAGE_SHIFT);
	k->pkmap_base = win;
	k->vmalloc_start = (uintptr_t)h->vm;
	k->vmalloc_end = k->vmalloc_start + h->vm_len;
	k->fixaddr_start = k->fixaddr_top = 0;
	for (unsigned c = 0; c < k->nr_cpus; c++)
		k->kmap_area[c] = 0;
	return 0;
}

const struct km_backend_ops km__host_ops = {
	.name = "host",
	.caps = KM_BE_FILE | KM_BE_RDONLY | KM_BE_DEBUG | KM_BE_REAL,
	.default_lowmem = HOST_LOWMEM_DEFAULT,
	.default_nr_cpus = HOST_NR_CPUS_DEFAULT,
	.default_vmalloc = HOST_VMALLOC_DEFAULT,
	/* real memory: a mapping costs 10 to 25 copies, so slots go only to
	 * the pages the admission rule counts most (bench/README.md) */
	.default_policy = "tinylfu",
	.mem_size = host_mem_size,
	.create = host_create,
	.destroy = host_destroy,
	.sync = host_sync,
	.set_pte = host_set_pte,
	.map_range = host_map_range,
	.clear_ptes = host_clear_ptes,
	.flush_tlb_range = host_flush_range,
	.flush_tlb_one = host_flush_one,
	.access = host_access,
	.mapped = host_page_mapped,
	.copy = host_copy,
	.read_pages = host_read_pages,
	.map_run = host_map_run,
	.local_area = host_local_area,
	.local_area_release = host_local_area_release,
	.check_pte = host_check_pte,
	.tlb_counts = host_tlb_counts,
	.protect = host_protect,
};
