/*
 * cli.c - what every subcommand says when its command line is wrong: one
 * style, so a user sees the cause (and the valid values) first, then the
 * one-line usage, not a screen of help that pushes the error away.
 */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "kmap %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\n'kmap %s --help' tells more.\n", usage,
	        cmd);
	return CLI_EXIT_USAGE;
}

const char *cli_value(int argc, char **argv, int *i)
{
	/* "--svg --json": the next option is not the file */
	if (*i + 1 >= argc || !strncmp(argv[*i + 1], "--", 2))
		return NULL;
	return argv[++*i];
}

void cli_list(char *buf, size_t size, const char *(*name)(unsigned))
{
	size_t o = 0;
	buf[0] = 0;
	for (unsigned i = 0; name(i) && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "",
		                      name(i));
}
