/*
 * filesum.c - checksum the records of a file of any size from a 32-bit
 * process, through the kmap window.
 *
 *   example_filesum FILE [RECORD_BYTES]     through kmap
 *   example_filesum --pread FILE [RECORD_BYTES]   the same with pread(2)
 *
 * The file is the machine's physical memory (read-only): its pages are
 * mapped into a window of a few MiB one at a time with kmap, so a 32-bit
 * program reads a 10 GiB file with plain pointers, never holding more than
 * the window. Prints the number of records, the FNV-1a hash of the whole
 * file, and the XOR of every record's FNV-1a hash. The --pread mode is
 * there to check the answer.
 *
 * Building it: `make` builds it as build/example_filesum, `make m32` as
 * build32/example_filesum (32-bit). Against an installed kmap:
 *   make install-m32 && cc -m32 filesum.c -o filesum \
 *     $(PKG_CONFIG_PATH=/usr/local/lib32/pkgconfig pkg-config --cflags --libs kmap)
 * (or `make install` and plain `cc` for a 64-bit one).
 */
#define _FILE_OFFSET_BITS 64
#include <kmap.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096u

struct sums {
	uint64_t file, rec, xor_recs, records;
	uint64_t in_rec, rec_bytes;
};

static void add(struct sums *s, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		s->file = (s->file ^ p[i]) * 0x100000001b3ull;
		s->rec = (s->rec ^ p[i]) * 0x100000001b3ull;
		if (++s->in_rec == s->rec_bytes) {
			s->xor_recs ^= s->rec;
			s->records++;
			s->rec = 0xcbf29ce484222325ull;
			s->in_rec = 0;
		}
	}
}

/* Each failure says what failed, once, and returns -1. */
static int fail(const char *path, const char *what)
{
	fprintf(stderr, "filesum: %s: %s\n", path, what);
	return -1;
}

static int by_pread(const char *path, struct sums *s)
{
	unsigned char buf[1 << 16];
	int fd = open(path, O_RDONLY);
	ssize_t n;
	if (fd < 0)
		return fail(path, strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		add(s, buf, (size_t)n);
	int err = errno;
	close(fd);
	return n < 0 ? fail(path, strerror(err)) : 0;
}

static int by_kmap(const char *path, struct sums *s)
{
	struct stat st;
	if (stat(path, &st))
		return fail(path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(path, "not a regular file");
	uint64_t size = (uint64_t)st.st_size, whole = size & ~(uint64_t)(PAGE - 1);
	if (whole) {
		struct km_config cfg;
		km_machine *m;
		km_config_init(&cfg);
		cfg.backend = KM_BACKEND_HOST;
		cfg.profile = "x86-32-pae";   /* reaches 64 GiB */
		cfg.mem_path = path;
		cfg.mem_bytes = whole;
		cfg.lowmem_bytes = PAGE;      /* keep the address space free */
		cfg.flags = KM_RDONLY | KM_SEQUENTIAL;
		int r = km_machine_create(&cfg, &m);
		if (r)
			return fail(path, km_strerror(r));
		for (uint64_t pfn = 0; pfn < whole / PAGE; pfn++) {
			km_page *page = km_pfn_to_page(m, pfn);
			void *va;
			if ((r = km_kmap(m, page, &va))) {
				km_machine_destroy(m);
				return fail(path, km_strerror(r));
			}
			add(s, va, PAGE);
			km_kunmap(m, page);
		}
		km_machine_destroy(m);
	}
	if (size > whole) { /* the tail that is not a whole page */
		unsigned char tail[PAGE];
		int fd = open(path, O_RDONLY);
		ssize_t n = fd < 0 ? -1 : pread(fd, tail, size - whole, (off_t)whole);
		if (fd >= 0)
			close(fd);
		if (n != (ssize_t)(size - whole))
			return fail(path, "cannot read its last page");
		add(s, tail, (size_t)n);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int use_pread = argc > 1 && !strcmp(argv[1], "--pread");
	if (argc - use_pread < 2) {
		fprintf(stderr, "usage: example_filesum [--pread] FILE "
		                "[RECORD_BYTES]\n");
		return 2;
	}
	const char *path = argv[1 + use_pread];
	struct sums s = { .file = 0xcbf29ce484222325ull,
	                  .rec = 0xcbf29ce484222325ull, .rec_bytes = 128 };
	if (argc - use_pread > 2)
		s.rec_bytes = strtoull(argv[2 + use_pread], NULL, 0);
	if (!s.rec_bytes) {
		fprintf(stderr, "filesum: RECORD_BYTES must be at least 1\n");
		return 2;
	}
	if ((use_pread ? by_pread : by_kmap)(path, &s))
		return 1;
	printf("records %llu (of %llu bytes), file fnv1a %016llx, "
	       "records xor %016llx\n",
	       (unsigned long long)s.records, (unsigned long long)s.rec_bytes,
	       (unsigned long long)s.file, (unsigned long long)s.xor_recs);
	return 0;
}
