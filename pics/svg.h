/*
 * svg.h - small helpers for the pictures kmap writes (`kmap layout --svg`,
 * `kmap replay --svg/--html`): escaped text, and the layout picture.
 */
#ifndef KMAP_SVG_H
#define KMAP_SVG_H

#include <kmap.h>
#include "fmt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* @s (@n bytes) escaped for XML/HTML text and attribute values. */
void svg_esc(FILE *f, const char *s, size_t n);
static inline void svg_escs(FILE *f, const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	svg_esc(f, s, n);
}

/* @s escaped for a JSON string inside an HTML <script> ("</" never appears). */
void json_esc(FILE *f, const char *s, size_t n);

/* The SVG prologue: XML declaration, <svg> with width, height and viewBox. */
void svg_begin(FILE *f, unsigned width, unsigned height, const char *title);
void svg_end(FILE *f);

/* Open @path for writing a picture; NULL after a message naming @who. */
FILE *pic_create(const char *who, const char *path);
/* Close it; 0, or -1 after a message when anything failed to be written. */
int pic_close(const char *who, const char *path, FILE *f);

/* The replay's observers (the pictures, --perfetto): a copy of @n bytes of
 * @s, NUL-terminated (NULL when memory is short); room for @need elements
 * of @elem bytes in *@v, of *@cap (false when memory is short, *@v kept). */
char *pic_dup(const char *s, size_t n);
bool pic_grow(void **v, size_t *cap, size_t need, size_t elem);
/* Slot @nr of @m's window is @count and @pfn, as an observer tracked it:
 * 0, or -1 after a message naming @what (the tracking went wrong). */
int pic_check_slot(km_machine *m, unsigned nr, int count, uint64_t pfn,
                   const char *what);

/*
 * layout_svg_write - `kmap layout --svg FILE`: physical memory and its
 * zones on the left, the kernel's 32-bit virtual space on the right, the
 * direct map and the pkmap/kmap_local mappings as arrows, into @f (from
 * pic_create(path)), which it closes. 0, or -1 after a message when the
 * file could not be written.
 */
int layout_svg_write(FILE *f, const char *path, const struct km_layout *l);

#endif
