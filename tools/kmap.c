/*
 * kmap.c - the command-line tool: one subcommand a file, this one
 * dispatches. Uses only the public API (kmap.h).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const struct cli_cmd cmds[] = {
	{ "layout", "print a machine's virtual memory layout and zones", cmd_layout },
	{ "replay", "run a trace on the simulated machine", cmd_replay },
	{ "import", "make a trace from a real kernel's kprobe trace", cmd_import },
	{ "demo", "show the mechanism at work", cmd_demo },
	{ "bench", "time kmap against the alternatives", cmd_bench },
};

#define NR_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: kmap COMMAND [ARGS]\n\n"
	           "kmap %s: Linux's highmem mapping (kmap/kunmap, kmap_local) "
	           "as a library and a tool.\n\ncommands:\n", km_version());
	for (size_t i = 0; i < NR_CMDS; i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n'kmap COMMAND --help' explains each one.\n\n"
	           "Exit status, for every command: 0 success; 1 the run found\n"
	           "something wrong (replay: error records, deadlocks, leaks;\n"
	           "demo: pages that came back wrong; bench: failed operations);\n"
	           "2 the command line or the input is wrong, and nothing ran;\n"
	           "3 the system failed (memory, a file that could not be written).\n");
}

/* "kmap: CAUSE", the commands, and where to read more */
static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "kmap: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (commands:");
	for (size_t i = 0; i < NR_CMDS; i++)
		fprintf(stderr, " %s", cmds[i].name);
	fprintf(stderr, ")\nusage: kmap COMMAND [ARGS]\n"
	                "'kmap --help' tells more.\n");
	return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("no command given%s", "");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("kmap %s\n", km_version());
		return 0;
	}
	for (size_t i = 0; i < NR_CMDS; i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].run(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", argv[1]);
}
