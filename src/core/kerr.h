/*
 * kerr.h - errno values for the freestanding core.
 *
 * Hosted builds take them from <errno.h>. A freestanding build (the
 * project's i386 kernel) has no libc, so it gets Linux's numbers
 * (include/uapi/asm-generic/errno-base.h and errno.h) for the values the
 * core and the kernel return; kmap's own codes are kmap.h's KM_E*. The
 * kernel's strerror() (kernel/libc/string.c) has a text for each.
 */
#ifndef KMAP_KERR_H
#define KMAP_KERR_H

#if !defined(__STDC_HOSTED__) || __STDC_HOSTED__
#include <errno.h>
#else
#define EIO 5
#define ENXIO 6
#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define ENODEV 19
#define EINVAL 22
#define ENOSPC 28
#define ENOSYS 38
#define EOPNOTSUPP 95
#define ETIMEDOUT 110
#endif

#endif
