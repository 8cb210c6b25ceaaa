/* backend_host.h - real memory: a memfd or a file, reached through mmap. */
#ifndef KMAP_BACKEND_HOST_H
#define KMAP_BACKEND_HOST_H

#include "core/core.h"

#include <sys/types.h>

/* The table below passes file offsets: every user must agree on their
 * size (define _FILE_OFFSET_BITS 64 before any include on 32-bit). */
_Static_assert(sizeof(off_t) == 8, "build with _FILE_OFFSET_BITS=64");

extern const struct km_backend_ops km__host_ops;

/*
 * The system calls the host backend makes, through one table so tests can
 * make any of them fail (fault injection through the backend contract).
 */
struct km__host_sys {
	int (*memfd_create)(const char *name, unsigned flags);
	int (*open)(const char *path, int flags, mode_t mode);
	int (*ftruncate)(int fd, off_t len);
	void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd,
	              off_t off);
	int (*munmap)(void *addr, size_t len);
	int (*mprotect)(void *addr, size_t len, int prot);
	int (*msync)(void *addr, size_t len, int flags);
	int (*fsync)(int fd);
};

/* The table in use; tests may point it elsewhere (never concurrently). */
extern const struct km__host_sys *km__host_sys;
extern const struct km__host_sys km__host_sys_default;

struct km__host_params {
	const char *path;      /* NULL: an anonymous memfd */
	uint64_t mem_bytes;    /* 0 with a path: the file's size */
	uint64_t lowmem_bytes; /* mapped once, the direct map */
	unsigned last_pkmap;
	unsigned nr_areas;     /* local-map areas (one per thread at a time) */
	bool rdonly;
	bool debug;
	bool sequential;       /* KM_SEQUENTIAL: map ahead in order */
};

/*
 * km__host_create - open the memory, map lowmem, reserve the window.
 * On success *mem_bytes is the memory's size, and the addresses of the
 * direct map and the window are in *lowmem and *window. -errno on failure,
 * with nothing left behind.
 */
int km__host_create(const struct km__host_params *p, void **out,
                    uint64_t *mem_bytes, uintptr_t *lowmem, uintptr_t *window);
void km__host_destroy(void *be);
/* the size of a file given by path, for mem_bytes 0 (-errno) */
int km__host_file_size(const char *path, uint64_t *size);
/* msync the direct map and fsync the file */
int km__host_sync(void *be);
/* debug mode: make a window page inaccessible (or accessible again) */
int km__host_protect(void *be, uintptr_t va, int accessible);
/* mmap and munmap calls made so far */
void km__host_counts(void *be, uint64_t *maps, uint64_t *unmaps);
/*
 * Debug mode: register the machine's window so that a SIGSEGV inside it is
 * reported as a use after kunmap (pkmap_page_table gives the pfn; a slot
 * whose count says it has users is a live mapping, not a use after
 * kunmap). -EMFILE when MAX_DEBUG machines are registered already.
 */
int km__host_debug_register(void *be, const uint64_t *pkmap_page_table,
                            const int *pkmap_count);
void km__host_debug_unregister(void *be);

#endif
