/*
 * run.c - what the kernel does once its architecture's boot has found
 * the RAM, the trace and the command line (x86/main.c, arm/main.c): check
 * the trace, build its machine on real page tables (kapi.c, mem.c),
 * replay it with its tasks as kernel threads (replay.c) and power off
 * with the replay's exit status.
 *
 * Command line: check=0 turns off the invariant check (km__core_check and
 * the local-map PTEs) after every line, check=all keeps it on every line
 * of a long trace too; tlb=noflush (a debugging aid) skips every TLB
 * flush, to show what they are for.
 */
#include "kernel.h"
#include "engine.h"

#include <string.h>

bool cmdline_has(const char *cmd, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = cmd; p && *p;) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		if ((size_t)(e - p) == n && !memcmp(p, word, n))
			return true;
		p = e;
	}
	return false;
}

void kernel_replay(const char *name, const char *trace, size_t size,
                   const char *cmdline)
{
	struct rp_header h;
	int rc = replay_check(name, trace, size, &h);
	if (rc)
		kexit(rc);
	struct km_config cfg;
	km_config_init(&cfg);
	rp_header_config(&h, &cfg);
	mm_vmalloc = h.vmaps > 0;
	km_machine *m;
	if (km_machine_create(&cfg, &m))
		kpanic(KEXIT_TRACE, "the machine line does not make a machine");
	int check = cmdline_has(cmdline, "check=0") ? 0 :
	            cmdline_has(cmdline, "check=all") ? 1 : 2;
	if (cmdline_has(cmdline, "tlb=noflush")) {
		mm_tlb_noflush = true;
		klog("tlb=noflush: TLB flushes are SKIPPED; stale translations "
		     "will show as wrong bytes");
	}
	klog("replaying%s", check == 1 ? ", checking the invariants after every "
	     "line" : check ? ", checking the invariants after every line (every "
	     "64th past 5000)" : "");
	rc = replay_run(m, h.policy, trace, size, check);
	mm_log_stats();
	kexit(rc);
}
