/* cmd_replay.c - `kmap replay` (being written). */
#include "cli.h"
int cmd_replay(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "kmap replay: not yet\n");
	return 2;
}
