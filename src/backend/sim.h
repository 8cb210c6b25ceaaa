/* sim.h - the simulated backend: page tables, a TLB model, sparse
 * physical memory (sim.c). */
#ifndef KMAP_BACKEND_SIM_H
#define KMAP_BACKEND_SIM_H

#include "core/core.h"

extern const struct km_backend_ops km__sim_ops;


/* Fault injection for tests: which kinds of call may fail. */
#define KM_SIM_FAULT_MAP 0x1u
#define KM_SIM_FAULT_CLEAR 0x2u
#define KM_SIM_FAULT_FLUSH 0x4u

struct km__sim_faults {
	uint64_t fail_at;  /* 1-based index of the mutating call to fail; 0 none */
	unsigned kinds;    /* kinds fail_at applies to */
	unsigned always;   /* kinds that always fail */
	int err;           /* the error to return; 0 = -EIO */
};

/* Set faults and restart the call count. */
void km__sim_set_faults(void *be, const struct km__sim_faults *f);
/* Mutating calls (map, clear, flush) made since the faults were set. */
uint64_t km__sim_calls(void *be);
/* Bytes of physical memory actually allocated (lazily, in 64 KiB chunks). */
uint64_t km__sim_resident_bytes(void *be);

#endif
