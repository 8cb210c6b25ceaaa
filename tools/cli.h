/* cli.h - shared by the kmap subcommands. */
#ifndef KMAP_CLI_H
#define KMAP_CLI_H

#include <kmap.h>
#include <stdint.h>
#include <stdio.h>

struct cli_cmd {
	const char *name;
	const char *help;
	int (*run)(int argc, char **argv);
};

int cmd_layout(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/*
 * Parse a size: decimal or 0x hex, with an optional K, M or G suffix
 * (powers of 1024). Returns 0, or -EINVAL (malformed) / -ERANGE (overflow).
 */
int cli_parse_size(const char *s, uint64_t *out);
/* Parse a plain number (decimal or 0x hex), no suffix. */
int cli_parse_u64(const char *s, uint64_t *out);
/* "887 MB"-style size for people, as the kernel's boot log prints. */
void cli_fmt_size(char *buf, size_t n, uint64_t bytes);

#endif
