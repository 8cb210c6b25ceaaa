/*
 * copy.c - the kernel's copy helpers (memcpy_to_page, memcpy_from_page,
 * memcpy_page, memset_page, memzero_page, copy_highpage), each through a
 * kmap_local_page of the pages, as include/linux/highmem.h does them.
 */
#include "user.h"
#include "core/util.h"

#include <string.h>

static bool in_page(size_t off, size_t len)
{
	return off <= PAGE_SIZE && len <= PAGE_SIZE - off;
}

int km_memcpy_to_page(km_machine *m, km_page *page, size_t off,
                      const void *from, size_t len)
{
	void *va;
	if (!in_page(off, len) || (!from && len))
		return km__refuse(m ? &m->k : NULL, -EINVAL, "memcpy_to_page");
	int r = km_kmap_local_page(m, page, &va);
	if (r)
		return r;
	r = km_write(m, (char *)va + off, from, len);
	int u = km_kunmap_local(m, va);
	return r ? r : u;
}

int km_memcpy_from_page(km_machine *m, void *to, km_page *page, size_t off,
                        size_t len)
{
	void *va;
	if (!in_page(off, len) || (!to && len))
		return km__refuse(m ? &m->k : NULL, -EINVAL, "memcpy_from_page");
	int r = km_kmap_local_page(m, page, &va);
	if (r)
		return r;
	r = km_read(m, (char *)va + off, to, len);
	int u = km_kunmap_local(m, va);
	return r ? r : u;
}

int km_memcpy_page(km_machine *m, km_page *dst, size_t dst_off, km_page *src,
                   size_t src_off, size_t len)
{
	char buf[PAGE_SIZE];
	/* both pages checked first: a bad source must not map the target */
	if (!in_page(dst_off, len) || !in_page(src_off, len) ||
	    km_page_to_pfn(m, src) == UINT64_MAX)
		return km__refuse(m ? &m->k : NULL, -EINVAL, "memcpy_page");
	void *d, *s;
	int r = km_kmap_local_page(m, dst, &d);
	if (r)
		return r;
	r = km_kmap_local_page(m, src, &s);
	if (r) {
		km_kunmap_local(m, d);
		return r;
	}
	r = km_read(m, (char *)s + src_off, buf, len);
	if (!r)
		r = km_write(m, (char *)d + dst_off, buf, len);
	int u1 = km_kunmap_local(m, s);
	int u2 = km_kunmap_local(m, d);
	return r ? r : u1 ? u1 : u2;
}

int km_memset_page(km_machine *m, km_page *page, size_t off, int val,
                   size_t len)
{
	char buf[PAGE_SIZE];
	if (!in_page(off, len))
		return km__refuse(m ? &m->k : NULL, -EINVAL, "memset_page");
	memset(buf, val, len);
	return km_memcpy_to_page(m, page, off, buf, len);
}

int km_memzero_page(km_machine *m, km_page *page, size_t off, size_t len)
{
	return km_memset_page(m, page, off, 0, len);
}

int km_copy_highpage(km_machine *m, km_page *to, km_page *from)
{
	return km_memcpy_page(m, to, 0, from, 0, PAGE_SIZE);
}
