/* cli.h - shared by the kmap subcommands. */
#ifndef KMAP_CLI_H
#define KMAP_CLI_H

#include <kmap.h>
#include "fmt.h"
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

#endif
