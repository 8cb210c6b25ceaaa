/* input.c - reading a command's input file or standard input whole. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

char *cli_read_all(const char *path, size_t *size, bool *mapped)
{
	*mapped = false;
	int fd = strcmp(path, "-") ? open(path, O_RDONLY) : 0;
	if (fd < 0)
		return NULL;
	struct stat sb;
	if (fd && !fstat(fd, &sb) && S_ISREG(sb.st_mode) && sb.st_size > 0) {
		void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE,
		               fd, 0);
		if (p != MAP_FAILED) {
			close(fd);
			*size = (size_t)sb.st_size;
			*mapped = true;
			return p;
		}
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		ssize_t got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(buf);
			buf = NULL;
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	int saved = errno;
	if (fd)
		close(fd);
	errno = saved;
	*size = n;
	return buf;
}

void cli_release_input(char *buf, size_t size, bool mapped)
{
	if (mapped)
		munmap(buf, size);
	else
		free(buf);
}
