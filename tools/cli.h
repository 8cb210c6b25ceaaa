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
