/*
 * kerr.h - errno values for the freestanding core.
 *
 * Hosted builds take them from <errno.h>. A freestanding build (the
 * project's i386 kernel) has no libc, so it gets Linux's numbers
 * (include/uapi/asm-generic/errno-base.h and errno.h).
 */
#ifndef KMAP_KERR_H
#define KMAP_KERR_H

#if !defined(__STDC_HOSTED__) || __STDC_HOSTED__
#include <errno.h>
#else
#define EPERM 1
#define ENOENT 2
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
#define EDEADLK 35
#define EILSEQ 84
#define EOVERFLOW 75
#define EPROTO 71
#define EALREADY 114
#define EINPROGRESS 115
#define ETIMEDOUT 110
#define EUCLEAN 117
#endif

#endif
