/* host.h - the host backend: real memory, a memfd or a file, reached
 * through mmap (host.c). */
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
	ssize_t (*pread)(int fd, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(int fd, const void *buf, size_t len, off_t off);
};

/* The table in use; tests may point it elsewhere (never concurrently). */
extern const struct km__host_sys *km__host_sys;
extern const struct km__host_sys km__host_sys_default;

/* mmap and munmap calls made so far */
void km__host_counts(void *be, uint64_t *maps, uint64_t *unmaps);

#endif
