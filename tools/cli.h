/* cli.h - shared by the kmap subcommands. */
#ifndef KMAP_CLI_H
#define KMAP_CLI_H

#include <kmap.h>
#include "fmt.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cli_cmd {
	const char *name;
	const char *help;
	int (*run)(int argc, char **argv);
};

/*
 * Exit statuses, the same for every subcommand (kmap(1)): 0 success; 1 the
 * run found something wrong (replay's error records, deadlocks or leaks,
 * demo's mismatches, bench's failed operations); 2 the command line or
 * the input is wrong and nothing ran; 3 the system failed (memory, a file
 * that could not be written).
 */
#define CLI_EXIT_FOUND 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_SYSTEM 3

/*
 * cli_usage_error - a wrong command line, on stderr: "kmap CMD: " and the
 * cause, then @usage (one line) and where to read more. Returns
 * CLI_EXIT_USAGE.
 */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The value after option argv[*i] (advancing *i), or NULL when there is
 * none: the end of the line, or another option. */
const char *cli_value(int argc, char **argv, int *i);
/* "a, b, c": every name(i) until NULL (km_profile_name, km_policy_name) */
void cli_list(char *buf, size_t size, const char *(*name)(unsigned));

int cmd_layout(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_import(int argc, char **argv);

/*
 * cli_read_all - the whole of @path ("-": standard input): a regular file
 * is mapped, anything else (a pipe) read into memory; *mapped says which,
 * for cli_release_input(). NULL with errno set on failure.
 */
char *cli_read_all(const char *path, size_t *size, bool *mapped);
void cli_release_input(char *buf, size_t size, bool mapped);

#endif
