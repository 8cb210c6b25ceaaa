/*
 * kmapdrive: runs inside a real 32-bit Linux 6.1 guest (i386 or armhf) and
 * makes the kernel call kmap_high() on known highmem pages in a known order.
 *
 * The lever: a read of /proc/PID/mem goes through __access_remote_vm(),
 * which kmap()s each page of the target process it copies from and
 * kunmap()s it after the copy. A page of anonymous user memory comes from
 * ZONE_HIGHMEM while there is any, so one 4 KiB read of such a page is one
 * kmap_high() and one kunmap_high().
 *
 *   kmapdrive NPAGES NREP NRAND SEED
 *
 * A child fills NPAGES heap pages, each with its own tag. The parent prints
 * the pfn of each page (from /proc/CHILD/pagemap, so the host can relate
 * the kernel's struct page pointers to pfns), then reads the child's pages
 * in three phases, each announced through trace_marker:
 *   seq     pages 0 .. NPAGES-1 once: with NPAGES above the window's size,
 *           the window wraps and flushes;
 *   repeat  pages 0 .. NREP-1 twice in a row: the second kmap finds the
 *           page mapped already;
 *   rand    NRAND pages from a fixed-seed generator.
 * Every page read must hold its tag. The last line says how many reads
 * were done and how many were wrong; the exit status is 0 only if none.
 *
 * No libc: the program talks to the kernel through raw system calls, so
 * clang builds it for both guests with nothing but its own linker
 * (tests/linux/run.sh does, -ffreestanding -nostdlib -static).
 */

typedef unsigned int u32;
typedef unsigned long long u64;

#define PAGE_SIZE 4096u

/* The same numbers on i386 and on ARM EABI. */
enum {
	SYS_exit = 1,
	SYS_fork = 2,
	SYS_read = 3,
	SYS_write = 4,
	SYS_open = 5,
	SYS_close = 6,
	SYS_pipe = 42,
	SYS_brk = 45,
	SYS_wait4 = 114,
	SYS_llseek = 140,
};

#if defined(__i386__)
static long syscall5(long nr, long a, long b, long c, long d, long e)
{
	long ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
			 : "memory");
	return ret;
}

/* The kernel enters with the stack holding argc, argv[]: hand that to
 * main_(), on a 16-byte aligned stack as the i386 ABI wants. */
__asm__(".text\n.globl _start\n_start:\n"
	"	xorl %ebp, %ebp\n"
	"	movl %esp, %eax\n"
	"	andl $-16, %esp\n"
	"	subl $12, %esp\n"
	"	pushl %eax\n"
	"	call main_\n"
	"	hlt\n");
#elif defined(__arm__)
static long syscall5(long nr, long a, long b, long c, long d, long e)
{
	register long r7 __asm__("r7") = nr;
	register long r0 __asm__("r0") = a;
	register long r1 __asm__("r1") = b;
	register long r2 __asm__("r2") = c;
	register long r3 __asm__("r3") = d;
	register long r4 __asm__("r4") = e;

	__asm__ volatile("svc #0"
			 : "+r"(r0)
			 : "r"(r7), "r"(r1), "r"(r2), "r"(r3), "r"(r4)
			 : "memory");
	return r0;
}

__asm__(".text\n.globl _start\n_start:\n"
	"	mov fp, #0\n"
	"	mov r0, sp\n"
	"	bic sp, sp, #7\n"
	"	bl main_\n"
	"	b .\n");
#else
#error "kmapdrive runs on i386 or 32-bit ARM guests only"
#endif

#define sys1(nr, a) syscall5(nr, (long)(a), 0, 0, 0, 0)
#define sys3(nr, a, b, c) syscall5(nr, (long)(a), (long)(b), (long)(c), 0, 0)

/* clang may turn loops into calls of these two */
void *memset(void *dst, int c, unsigned long n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memcpy(void *dst, const void *src, unsigned long n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

/* ---- text output: a line is built in a buffer, then written whole ---- */

struct line {
	char buf[256];
	u32 len;
};

static void put_str(struct line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf))
		l->buf[l->len++] = *s++;
}

/* 32-bit values only: no 64-bit division, so no libgcc/compiler-rt */
static void put_dec(struct line *l, u32 v)
{
	char t[11];
	int i = 10;

	t[i] = 0;
	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put_str(l, t + i);
}

static void put_hex(struct line *l, u32 v)
{
	char t[11] = "0x";
	int i;

	for (i = 0; i < 8; i++)
		t[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
	t[10] = 0;
	put_str(l, t);
}

static void emit(int fd, struct line *l)
{
	u32 off = 0;

	while (off < l->len) {
		long r = sys3(SYS_write, fd, l->buf + off, l->len - off);
		if (r <= 0)
			break;
		off += (u32)r;
	}
	l->len = 0;
}

static void fail(const char *what, long err)
{
	struct line l = { .len = 0 };

	put_str(&l, "kmapdrive: error: ");
	put_str(&l, what);
	put_str(&l, " (errno ");
	put_dec(&l, (u32)-err);
	put_str(&l, ")\n");
	emit(1, &l);
	sys1(SYS_exit, 1);
	for (;;)
		;
}

static u32 parse_u32(const char *s)
{
	u32 v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (u32)(*s++ - '0');
	return v;
}

/* "/proc/PID/LEAF" */
static void proc_path(char *out, u32 pid, const char *leaf)
{
	struct line l = { .len = 0 };
	u32 i;

	put_str(&l, "/proc/");
	put_dec(&l, pid);
	put_str(&l, "/");
	put_str(&l, leaf);
	for (i = 0; i < l.len; i++)
		out[i] = l.buf[i];
	out[i] = 0;
}

static void seek_to(int fd, u64 off)
{
	u64 result;
	long r = syscall5(SYS_llseek, fd, (long)(u32)(off >> 32), (long)(u32)off,
			  (long)&result, 0 /* SEEK_SET */);
	if (r < 0)
		fail("llseek", r);
}

/* ---- the work ---- */

/* The first word of page i, so that a read of the wrong page shows. */
static u32 tag(u32 i)
{
	return 0x6b6d0000u ^ i;
}

static int trace_fd = -1;

/* "kmapdrive phase=NAME n=N" in the ftrace buffer, between the events */
static void phase(const char *name, u32 n)
{
	struct line l = { .len = 0 };

	if (trace_fd < 0)
		return;
	put_str(&l, "kmapdrive phase=");
	put_str(&l, name);
	put_str(&l, " n=");
	put_dec(&l, n);
	put_str(&l, "\n");
	emit(trace_fd, &l);
}

struct reader {
	int fd;      /* /proc/CHILD/mem */
	u32 base;    /* the child's first page */
	u32 reads;
	u32 wrong;
	u32 page[PAGE_SIZE / 4];
};

/* One read of page i of the child: one kmap_high, one kunmap_high. */
static void read_page(struct reader *rd, u32 i)
{
	long r;

	seek_to(rd->fd, (u64)rd->base + (u64)i * PAGE_SIZE);
	r = sys3(SYS_read, rd->fd, rd->page, PAGE_SIZE);
	if (r != (long)PAGE_SIZE)
		fail("read of /proc/CHILD/mem", r < 0 ? r : -5);
	rd->reads++;
	if (rd->page[0] != tag(i))
		rd->wrong++;
}

/* The child: NPAGES tagged pages, their address sent up the pipe, then
 * wait for the parent to close its end. */
static void child(u32 npages, int up, int down)
{
	u32 base = ((u32)sys1(SYS_brk, 0) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	u32 end = base + npages * PAGE_SIZE;
	u32 i;
	char c;

	if ((u32)sys1(SYS_brk, end) < end)
		fail("brk", -12);
	for (i = 0; i < npages; i++)
		*(volatile u32 *)(base + i * PAGE_SIZE) = tag(i);
	sys3(SYS_write, up, &base, sizeof(base));
	while (sys3(SYS_read, down, &c, 1) > 0)
		;
	sys1(SYS_exit, 0);
}

/* "kmapdrive: pfns FIRST PFN PFN ...", 16 pages a line; 0 = not present */
static void print_pfns(u32 pid, u32 base, u32 npages)
{
	struct line l = { .len = 0 };
	char path[32];
	u32 i;
	int fd;

	proc_path(path, pid, "pagemap");
	fd = (int)sys3(SYS_open, path, 0, 0);
	if (fd < 0)
		fail("open of /proc/CHILD/pagemap", fd);
	for (i = 0; i < npages; i++) {
		u64 entry = 0;

		/* one 64-bit entry a page: bit 63 present, bits 0-54 the pfn */
		seek_to(fd, ((u64)(base / PAGE_SIZE) + i) * 8);
		if (sys3(SYS_read, fd, &entry, 8) != 8)
			entry = 0;
		if (i % 16 == 0) {
			put_str(&l, "kmapdrive: pfns ");
			put_dec(&l, i);
		}
		put_str(&l, " ");
		put_hex(&l, (entry >> 63) ? (u32)(entry & 0x7fffffffffffffull) : 0);
		if (i % 16 == 15 || i == npages - 1) {
			put_str(&l, "\n");
			emit(1, &l);
		}
	}
	sys1(SYS_close, fd);
}

int main_(long *sp)
{
	char **argv = (char **)(sp + 1);
	struct line l = { .len = 0 };
	static struct reader rd;
	u32 npages, nrep, nrand, seed, i, x;
	int up[2], down[2];
	char path[32];
	long pid;

	if (sp[0] != 5) {
		put_str(&l, "usage: kmapdrive NPAGES NREP NRAND SEED\n");
		emit(2, &l);
		sys1(SYS_exit, 2);
	}
	npages = parse_u32(argv[1]);
	nrep = parse_u32(argv[2]);
	nrand = parse_u32(argv[3]);
	seed = parse_u32(argv[4]);
	if (npages == 0 || nrep > npages)
		fail("NPAGES must be at least 1 and NREP at most NPAGES", -22);

	if (sys1(SYS_pipe, up) < 0 || sys1(SYS_pipe, down) < 0)
		fail("pipe", -24);
	pid = sys1(SYS_fork, 0);
	if (pid < 0)
		fail("fork", pid);
	if (pid == 0) {
		sys1(SYS_close, up[0]);
		sys1(SYS_close, down[1]);
		child(npages, up[1], down[0]);
	}
	sys1(SYS_close, up[1]);
	sys1(SYS_close, down[0]);
	if (sys3(SYS_read, up[0], &rd.base, sizeof(rd.base)) != (long)sizeof(rd.base))
		fail("the child did not start", -5);

	put_str(&l, "kmapdrive: child ");
	put_dec(&l, (u32)pid);
	put_str(&l, " base ");
	put_hex(&l, rd.base);
	put_str(&l, " npages ");
	put_dec(&l, npages);
	put_str(&l, "\n");
	emit(1, &l);
	print_pfns((u32)pid, rd.base, npages);

	trace_fd = (int)sys3(SYS_open, "/sys/kernel/tracing/trace_marker", 1, 0);
	proc_path(path, (u32)pid, "mem");
	rd.fd = (int)sys3(SYS_open, path, 0, 0);
	if (rd.fd < 0)
		fail("open of /proc/CHILD/mem", rd.fd);

	phase("seq", npages);
	for (i = 0; i < npages; i++)
		read_page(&rd, i);
	phase("repeat", nrep);
	for (i = 0; i < nrep; i++) {
		read_page(&rd, i);
		read_page(&rd, i);
	}
	phase("rand", nrand);
	for (i = 0, x = seed; i < nrand; i++) {
		/* an LCG; its high 16 bits scaled to 0 .. npages-1 */
		x = x * 1103515245u + 12345u;
		read_page(&rd, (u32)(((u64)(x >> 16) * npages) >> 16));
	}
	phase("end", rd.reads);

	sys1(SYS_close, rd.fd);
	sys1(SYS_close, up[0]);
	sys1(SYS_close, down[1]); /* the child's read returns 0: it exits */
	syscall5(SYS_wait4, pid, 0, 0, 0, 0);

	put_str(&l, "kmapdrive: reads ");
	put_dec(&l, rd.reads);
	put_str(&l, " wrong ");
	put_dec(&l, rd.wrong);
	put_str(&l, "\n");
	emit(1, &l);
	sys1(SYS_exit, rd.wrong ? 3 : 0);
	return 0;
}
