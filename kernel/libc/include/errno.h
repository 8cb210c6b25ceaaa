/*
 * errno.h - the kernel's mini libc: Linux's errno numbers, the same ones
 * src/core/kerr.h gives the core in a freestanding build. There is no errno
 * variable: everything returns -errno.
 */
#ifndef KLIBC_ERRNO_H
#define KLIBC_ERRNO_H

#include "core/kerr.h"

#ifndef ERANGE
#define ERANGE 34
#endif
#ifndef EADDRINUSE
#define EADDRINUSE 98
#endif

#endif
