/*
 * svg.c - helpers for the pictures, and `kmap layout --svg FILE`: the
 * machine drawn as the seeds draw it: physical memory and its zones on the
 * left, the kernel's 32-bit virtual address space on the right, the direct
 * map as a band from lowmem to PAGE_OFFSET, and arrows from highmem pages
 * to the pkmap window and to the kmap_local area of the fixmap.
 *
 * Heights are proportional to sizes, except that every region gets enough
 * height for its label (the picture says so): pkmap's 2 or 4 MiB would be
 * a hair in 4 GiB otherwise.
 */
#include "svg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */
/* ---------------------------------------------------------------------- */

void svg_esc(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if ((unsigned char)s[i] < 0x20)
				fputc('?', f); /* not allowed in XML 1.0 */
			else
				fputc(s[i], f);
		}
	}
}

void json_esc(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == '<' || c == '>' || c == '&')
			fprintf(f, "\\u%04x", c); /* never "</script>" in the page */
		else
			fputc(c, f);
	}
}

void svg_begin(FILE *f, unsigned width, unsigned height, const char *title)
{
	fprintf(f,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	        "xmlns:xlink=\"http://www.w3.org/1999/xlink\" version=\"1.1\" "
	        "width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\" "
	        "font-family=\"DejaVu Sans, Verdana, sans-serif\" font-size=\"12\">\n"
	        "<title>",
	        width, height, width, height);
	svg_escs(f, title);
	fprintf(f, "</title>\n<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" "
	           "fill=\"#ffffff\"/>\n", width, height);
}

void svg_end(FILE *f)
{
	fputs("</svg>\n", f);
}

FILE *pic_create(const char *who, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "%s: cannot create %s: %s\n", who, path,
		        strerror(errno));
	return f;
}

int pic_close(const char *who, const char *path, FILE *f)
{
	int bad = ferror(f);
	if (fclose(f) || bad) {
		fprintf(stderr, "%s: %s: cannot write the file\n", who, path);
		return -1;
	}
	return 0;
}

char *pic_dup(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

bool pic_grow(void **v, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap * 2 : 16;
	while (c < need)
		c *= 2;
	void *nv = realloc(*v, c * elem);
	if (!nv)
		return false;
	*v = nv;
	*cap = c;
	return true;
}

int pic_check_slot(km_machine *m, unsigned nr, int count, uint64_t pfn,
                   const char *what)
{
	struct km_slot s;
	if (km_pkmap_slot(m, nr, &s) || (s.count == count && s.pfn == pfn))
		return 0;
	fprintf(stderr, "kmap replay: %s: slot %u was tracked as count %d, pfn "
	        "%lld, but is %d, %lld\n", what, nr, count, (long long)pfn,
	        s.count, (long long)s.pfn);
	return -1;
}

/* ---------------------------------------------------------------------- */
/* The layout picture                                                      */
/* ---------------------------------------------------------------------- */

#define W          1180
#define BAR_TOP    96
#define BAR_H      600
#define PHYS_X     110
#define VIRT_X     620
#define BAR_W      190
#define MIN_NAMED  36
/* a gap is tall enough for the labels of both its bounds (addr_label) */
#define MIN_GAP    13

enum region_kind { R_USER, R_LOWMEM, R_VMALLOC, R_PKMAP, R_FIXMAP, R_LDT,
                   R_CEA, R_BTMAP, R_GAP };

struct region {
	enum region_kind kind;
	uint64_t start, end;
	double y0, y1;      /* y0: top (high address), y1: bottom */
};

/*
 * Share @total pixels among @n parts by size, each at least min[i]: parts
 * whose share falls short get their minimum, the rest share what is left,
 * until nothing changes.
 */
static void scale(const uint64_t *size, const double *min, int n,
                  double total, double *out)
{
	int fixed[16] = { 0 };
	for (int round = 0; round <= n; round++) {
		double left = total;
		long double sum = 0;
		for (int i = 0; i < n; i++) {
			if (fixed[i])
				left -= min[i];
			else
				sum += size[i];
		}
		int changed = 0;
		for (int i = 0; i < n; i++) {
			if (fixed[i])
				continue;
			out[i] = sum > 0 ? (double)((long double)size[i] / sum * left) : 0;
			if (out[i] < min[i]) {
				fixed[i] = 1;
				changed = 1;
			}
		}
		if (!changed)
			break;
	}
	for (int i = 0; i < n; i++)
		if (fixed[i])
			out[i] = min[i];
}

static void size_str(char *buf, size_t n, uint64_t bytes)
{
	if (bytes >= (1ull << 30) && !(bytes & ((1ull << 30) - 1)))
		snprintf(buf, n, "%llu GB", (unsigned long long)(bytes >> 30));
	else if (bytes >= (1ull << 20))
		snprintf(buf, n, "%llu MB", (unsigned long long)(bytes >> 20));
	else
		snprintf(buf, n, "%llu kB", (unsigned long long)(bytes >> 10));
}

static void text_attr(FILE *f, double x, double y, const char *attrs,
                      const char *s)
{
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attrs);
	svg_escs(f, s);
	fputs("</text>\n", f);
}

/* Text along the path @id, @dy above (<0) or below it, from its start. */
static void path_text(FILE *f, const char *id, int dy, const char *attrs,
                      const char *s)
{
	fprintf(f, "<text dy=\"%d\" %s><textPath xlink:href=\"#%s\" "
	           "startOffset=\"4%%\">", dy, attrs, id);
	svg_escs(f, s);
	fputs("</textPath></text>\n", f);
}

static const char *region_name(enum region_kind k)
{
	switch (k) {
	case R_USER: return "user space";
	case R_LOWMEM: return "lowmem: the direct map";
	case R_VMALLOC: return "vmalloc";
	case R_PKMAP: return "pkmap: the kmap window";
	case R_FIXMAP: return "fixmap";
	case R_LDT: return "LDT remap";
	case R_CEA: return "CPU entry area";
	case R_BTMAP: return "fixmap: boot-time";
	case R_GAP: return "";
	}
	return "";
}

static const char *region_fill(enum region_kind k)
{
	switch (k) {
	case R_USER: return "#eeeeee";
	case R_LOWMEM: return "#c7e9c0";
	case R_VMALLOC: return "#dadaeb";
	case R_PKMAP: return "#fdd0a2";
	case R_FIXMAP: return "#c6dbef";
	case R_LDT: case R_CEA: case R_BTMAP: return "#e7e1ef";
	case R_GAP: return "#ffffff";
	}
	return "#ffffff";
}

static const char *zone_fill(const struct km_zone_info *z)
{
	if (z->highmem)
		return "#fdd0a2";
	return z->type == KM_ZONE_DMA || z->type == KM_ZONE_DMA32 ? "#a1d99b" :
	                                                             "#c7e9c0";
}

/* A bracket beside the physical bar from @bot up to @top, labelled with
 * @what and its size, turned to run along it. */
static void bracket(FILE *f, double bot, double top, const char *colour,
                    const char *what, uint64_t bytes)
{
	char a[32], t[64];
	fprintf(f, "<path d=\"M%d,%.1f h-8 V%.1f h8\" fill=\"none\" "
	           "stroke=\"%s\" stroke-width=\"2\"/>\n",
	        PHYS_X - 80, bot - 1, top + 1, colour);
	size_str(a, sizeof(a), bytes);
	snprintf(t, sizeof(t), "%s %s", what, a);
	fprintf(f, "<text transform=\"translate(%d,%.1f) rotate(-90)\" "
	           "text-anchor=\"middle\" fill=\"%s\">",
	        PHYS_X - 92, (bot + top) / 2, colour);
	svg_escs(f, t);
	fputs("</text>\n", f);
}

/*
 * An address label at @y beside the bar, with the kernel's name for it
 * (@name, may be NULL), unless it would overlap the last one.
 */
static void addr_label(FILE *f, double x, double y, const char *anchor,
                       uint64_t a, const char *name, double *last_y, int wide)
{
	char buf[32];
	if (*last_y - y < 12 && *last_y >= 0)
		return;
	if (wide)
		snprintf(buf, sizeof(buf), "0x%09llx", (unsigned long long)a);
	else
		snprintf(buf, sizeof(buf), "0x%08llx", (unsigned long long)a);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" "
	           "font-family=\"DejaVu Sans Mono, monospace\" font-size=\"11\">%s",
	        x, y + 4, anchor, buf);
	if (name)
		fprintf(f, "<tspan dx=\"6\" font-family=\"DejaVu Sans, sans-serif\" "
		           "font-size=\"10\" font-style=\"italic\">%s</tspan>", name);
	fputs("</text>\n", f);
	*last_y = y;
}

/* The kernel's name for a boundary of the virtual layout, or NULL. */
static const char *vname(const struct km_layout *l, uint64_t a)
{
	if (a == l->page_offset)
		return "PAGE_OFFSET";
	if (a == l->high_memory)
		return "high_memory";
	if (a == l->vmalloc_start)
		return "VMALLOC_START";
	if (a == l->vmalloc_end)
		return "VMALLOC_END";
	if (a == l->pkmap_base)
		return "PKMAP_BASE";
	if (a == l->fixaddr_start)
		return "FIXADDR_START";
	return NULL;
}

/*
 * The 32-bit page->flags word as the kernel's page-flags-layout.h draws
 * it: from bit 31 down, the section (SPARSEMEM), the node (none here),
 * the zone, then the page flags; 20 px a bit.
 */
static void flags_word(FILE *f, const struct km_layout *l, double x, double y)
{
	struct { const char *name, *fill; unsigned lo, width; } fld[3];
	unsigned n = 0;
	char t[160];
	if (l->sections_width)
		fld[n++] = (typeof(fld[0])){ "section", "#bcbddc",
		                             l->sections_pgshift, l->sections_width };
	fld[n++] = (typeof(fld[0])){ "zone", "#a1d99b", l->zones_pgshift,
	                             l->zones_width };
	fld[n++] = (typeof(fld[0])){ "flags", "#f0f0f0", 0, l->zones_pgshift };
	snprintf(t, sizeof(t), "page->flags, %s: %s", l->memory_model,
	         l->sections_width ? "SECTIONS | ZONES | flags (no NODES: one "
	         "node)" : "ZONES | flags (no SECTIONS, no NODES: one node)");
	text_attr(f, x, y, "font-size=\"12\"", t);
	for (unsigned i = 0; i < n; i++) {
		double x0 = x + (31 - (fld[i].lo + fld[i].width - 1)) * 20.0;
		double w = fld[i].width * 20.0;
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"26\" "
		           "fill=\"%s\" stroke=\"#555555\"><title>%s: bits %u-%u</title>"
		           "</rect>\n", x0, y + 8, w, fld[i].fill, fld[i].name,
		        fld[i].lo, fld[i].lo + fld[i].width - 1);
		if (fld[i].width >= 3)
			snprintf(t, sizeof(t), "%s (%u)", fld[i].name, fld[i].width);
		else
			snprintf(t, sizeof(t), "%s", fld[i].name);
		text_attr(f, x0 + w / 2, y + 26, "text-anchor=\"middle\" "
		          "font-size=\"11\"", t);
		snprintf(t, sizeof(t), "%u", fld[i].lo + fld[i].width - 1);
		text_attr(f, x0 + 2, y + 48, "font-size=\"9\"", t);
	}
	text_attr(f, x + 32 * 20.0 - 8, y + 48, "font-size=\"9\"", "0");
	snprintf(t, sizeof(t), "SECTIONS_PGSHIFT %u, NODES_PGSHIFT %u, "
	         "ZONES_PGSHIFT %u; SECTION_SIZE_BITS %u", l->sections_pgshift,
	         l->nodes_pgshift, l->zones_pgshift, l->section_size_bits);
	text_attr(f, x, y + 64, "font-size=\"10\"", t);
}

int layout_svg_write(FILE *f, const char *path, const struct km_layout *l)
{
	const char *who = "kmap layout";
	char t[256], a[32], b[32];
	const uint64_t TOP = 1ull << 32;

	/* ---- the virtual regions, bottom (0) to top (4G), gaps between ---- */
	struct region raw[8];
	int nraw = 0;
	uint64_t user_end = l->page_offset;
	if (l->pkmap_base < l->page_offset)
		user_end = l->pkmap_base;
	raw[nraw++] = (struct region){ R_USER, 0, user_end, 0, 0 };
	raw[nraw++] = (struct region){ R_LOWMEM, l->page_offset, l->high_memory, 0, 0 };
	raw[nraw++] = (struct region){ R_VMALLOC, l->vmalloc_start, l->vmalloc_end, 0, 0 };
	raw[nraw++] = (struct region){ R_PKMAP, l->pkmap_base, l->pkmap_end, 0, 0 };
	raw[nraw++] = (struct region){ R_FIXMAP, l->fixaddr_start, l->fixmap_end, 0, 0 };
	/* x86 since 4.15: the CPU entry area and the LDT remap between the
	 * window and the fixmap (empty on ARM: skipped below) */
	raw[nraw++] = (struct region){ R_LDT, l->ldt_start, l->ldt_end, 0, 0 };
	raw[nraw++] = (struct region){ R_CEA, l->cpu_entry_area_start,
	                               l->cpu_entry_area_end, 0, 0 };
	if (l->cpu_entry_area_start)
		raw[nraw++] = (struct region){ R_BTMAP, l->fixaddr_tot_start,
		                               l->fixaddr_start, 0, 0 };
	/* sort by start (a handful: insertion sort) */
	for (int i = 1; i < nraw; i++)
		for (int j = i; j > 0 && raw[j].start < raw[j - 1].start; j--) {
			struct region tmp = raw[j];
			raw[j] = raw[j - 1];
			raw[j - 1] = tmp;
		}
	struct region reg[16];
	int nreg = 0;
	uint64_t at = 0;
	for (int i = 0; i < nraw; i++) {
		if (raw[i].end <= raw[i].start)
			continue;
		if (raw[i].start > at)
			reg[nreg++] = (struct region){ R_GAP, at, raw[i].start, 0, 0 };
		if (raw[i].start < at)
			raw[i].start = at; /* never overlap */
		reg[nreg++] = raw[i];
		at = raw[i].end;
	}
	if (at < TOP)
		reg[nreg++] = (struct region){ R_GAP, at, TOP, 0, 0 };
	uint64_t vsize[16] = { 0 };
	double vmin[16] = { 0 }, vh[16];
	for (int i = 0; i < nreg; i++) {
		vsize[i] = reg[i].end - reg[i].start;
		vmin[i] = reg[i].kind == R_GAP ? MIN_GAP : MIN_NAMED;
	}
	scale(vsize, vmin, nreg, BAR_H, vh);
	double y = BAR_TOP + BAR_H;
	for (int i = 0; i < nreg; i++) {
		reg[i].y1 = y;
		y -= vh[i];
		reg[i].y0 = y;
	}

	/* ---- the physical zones, bottom (0) to top (mem end) ---- */
	const struct km_zone_info *zs[KM_MAX_ZONES];
	int nz = 0;
	for (unsigned i = 0; i < l->nr_zones; i++)
		if (l->zones[i].end_pfn > l->zones[i].start_pfn)
			zs[nz++] = &l->zones[i];
	uint64_t psize[KM_MAX_ZONES] = { 0 };
	double pmin[KM_MAX_ZONES] = { 0 }, ph[KM_MAX_ZONES], py0[KM_MAX_ZONES],
	       py1[KM_MAX_ZONES];
	for (int i = 0; i < nz; i++) {
		psize[i] = (zs[i]->end_pfn - zs[i]->start_pfn) << l->page_shift;
		pmin[i] = MIN_NAMED;
	}
	scale(psize, pmin, nz, BAR_H, ph);
	y = BAR_TOP + BAR_H;
	double low_top = y, high_bot = -1, high_top = -1;
	for (int i = 0; i < nz; i++) {
		py1[i] = y;
		y -= ph[i];
		py0[i] = y;
		if (!zs[i]->highmem) {
			low_top = py0[i];
		} else {
			if (high_bot < 0)
				high_bot = py1[i];
			high_top = py0[i];
		}
	}

	/* the figures, the flags word; a line more for the holes */
	unsigned H = BAR_TOP + BAR_H + 212 + (l->nr_holes ? 18 : 0);
	snprintf(t, sizeof(t), "kmap layout: %s, %llu MiB of physical memory",
	         l->profile, (unsigned long long)(l->mem_bytes >> 20));
	svg_begin(f, W, H, t);
	fputs("<defs>\n"
	      "<marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
	      "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
	      "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#d94801\"/></marker>\n"
	      "<marker id=\"arrow-local\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
	      "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
	      "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#2171b5\"/></marker>\n"
	      "<marker id=\"arrow-direct\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
	      "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
	      "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#238b45\"/></marker>\n"
	      "</defs>\n", f);
	if (l->nr_holes)
		fputs("<defs><pattern id=\"hole\" width=\"6\" height=\"6\" "
		      "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
		      "<rect width=\"6\" height=\"6\" fill=\"#ffffff\"/>"
		      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#888888\" "
		      "stroke-width=\"2\"/></pattern></defs>\n", f);

	/* title */
	size_str(a, sizeof(a), l->lowmem_bytes);
	size_str(b, sizeof(b), l->highmem_bytes);
	if (!l->highmem_bytes)
		snprintf(b, sizeof(b), "no");
	snprintf(t, sizeof(t), "%s: %llu MiB of memory, %s lowmem + %s highmem; "
	         "PAGE_OFFSET 0x%08llx", l->profile,
	         (unsigned long long)(l->mem_bytes >> 20), a, b,
	         (unsigned long long)l->page_offset);
	text_attr(f, 20, 28, "font-size=\"17\" font-weight=\"bold\"", t);
	snprintf(t, sizeof(t), "The machine of %s. Heights follow sizes, "
	         "except that small regions are drawn tall enough to read.",
	         l->kernel);
	text_attr(f, 20, 48, "fill=\"#555555\"", t);
	text_attr(f, PHYS_X + BAR_W / 2.0, BAR_TOP - 22,
	          "text-anchor=\"middle\" font-weight=\"bold\"", "Physical memory");
	snprintf(t, sizeof(t), "%llu pages of %u bytes%s",
	         (unsigned long long)(l->max_pfn - l->min_pfn), l->page_size,
	         l->nr_holes ? ", holes hatched" : "");
	text_attr(f, PHYS_X + BAR_W / 2.0, BAR_TOP - 8,
	          "text-anchor=\"middle\" fill=\"#555555\" font-size=\"11\"", t);
	text_attr(f, VIRT_X + BAR_W / 2.0, BAR_TOP - 22,
	          "text-anchor=\"middle\" font-weight=\"bold\"",
	          "Kernel virtual address space");
	text_attr(f, VIRT_X + BAR_W / 2.0, BAR_TOP - 8,
	          "text-anchor=\"middle\" fill=\"#555555\" font-size=\"11\"",
	          "32 bits: 0 to 4 GB");

	/* ---- the direct map band, under everything ---- */
	const struct region *low = NULL, *pk = NULL, *fix = NULL;
	for (int i = 0; i < nreg; i++) {
		if (reg[i].kind == R_LOWMEM)
			low = &reg[i];
		else if (reg[i].kind == R_PKMAP)
			pk = &reg[i];
		else if (reg[i].kind == R_FIXMAP)
			fix = &reg[i];
	}
	double pbot = BAR_TOP + BAR_H;
	if (low && low_top < pbot) {
		fprintf(f, "<path d=\"M%d,%.1f L%d,%.1f C%d,%.1f %d,%.1f %d,%.1f "
		           "L%d,%.1f C%d,%.1f %d,%.1f %d,%.1f Z\" fill=\"#74c476\" "
		           "fill-opacity=\"0.28\" stroke=\"#238b45\" "
		           "stroke-opacity=\"0.5\"/>\n",
		        PHYS_X + BAR_W, low_top, PHYS_X + BAR_W, pbot,
		        PHYS_X + BAR_W + 150, pbot, VIRT_X - 150, low->y1, VIRT_X,
		        low->y1, VIRT_X, low->y0, VIRT_X - 150, low->y0,
		        PHYS_X + BAR_W + 150, low_top, PHYS_X + BAR_W, low_top);
		double my0 = (low_top + pbot) / 2, my1 = (low->y0 + low->y1) / 2;
		fprintf(f, "<path id=\"direct-arrow\" d=\"M%d,%.1f C%d,%.1f %d,%.1f "
		           "%d,%.1f\" fill=\"none\" stroke=\"#238b45\" "
		           "stroke-width=\"2\" marker-end=\"url(#arrow-direct)\"/>\n",
		        PHYS_X + BAR_W + 4, my0, PHYS_X + BAR_W + 150, my0,
		        VIRT_X - 150, my1, VIRT_X - 4, my1);
		/* __va(p) = p - PHYS_OFFSET + PAGE_OFFSET */
		snprintf(t, sizeof(t), "direct map (__va): virtual = physical + "
		         "0x%08llx", (unsigned long long)((l->page_offset -
		                                           l->phys_offset) &
		                                          (TOP - 1)));
		path_text(f, "direct-arrow", -6, "fill=\"#00441b\" font-weight=\"bold\"",
		          t);
		path_text(f, "direct-arrow", 14, "fill=\"#00441b\" font-size=\"11\"",
		          "every lowmem page, mapped once at boot");
	}

	/* ---- physical bar ---- */
	int wide = l->mem_bytes > TOP;
	double last = -1;
	for (int i = 0; i < nz; i++)
		fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" "
		           "fill=\"%s\" stroke=\"#333333\"/>\n",
		        PHYS_X, py0[i], BAR_W, py1[i] - py0[i], zone_fill(zs[i]));
	/* the holes: hatched over their zones, each zone's pfns drawn
	 * evenly over its height */
	for (unsigned h = 0; h < l->nr_holes; h++)
		for (int i = 0; i < nz; i++) {
			const struct km_zone_info *z = zs[i];
			uint64_t a0 = l->holes[h].start_pfn, a1 = l->holes[h].end_pfn;
			a0 = a0 > z->start_pfn ? a0 : z->start_pfn;
			a1 = a1 < z->end_pfn ? a1 : z->end_pfn;
			if (a0 >= a1)
				continue;
			double per = (py1[i] - py0[i]) /
			             (double)(z->end_pfn - z->start_pfn);
			double hy1 = py1[i] - per * (double)(a0 - z->start_pfn);
			double hy0 = py1[i] - per * (double)(a1 - z->start_pfn);
			if (hy1 - hy0 < 2)
				hy0 = hy1 - 2; /* a small hole still shows */
			fprintf(f, "<rect class=\"hole\" x=\"%d\" y=\"%.1f\" "
			           "width=\"%d\" height=\"%.1f\" fill=\"url(#hole)\" "
			           "stroke=\"#555555\"/>\n",
			        PHYS_X + 1, hy0, BAR_W - 2, hy1 - hy0);
		}
	/* the zones' names over the holes */
	for (int i = 0; i < nz; i++) {
		const struct km_zone_info *z = zs[i];
		size_str(a, sizeof(a), psize[i]);
		snprintf(t, sizeof(t), "ZONE_%s", z->type == KM_ZONE_HIGHMEM ?
		         "HIGHMEM" : z->type == KM_ZONE_NORMAL ? "NORMAL" :
		         z->type == KM_ZONE_DMA ? "DMA" : z->type == KM_ZONE_DMA32 ?
		         "DMA32" : "MOVABLE");
		double cy = (py0[i] + py1[i]) / 2;
		text_attr(f, PHYS_X + BAR_W / 2.0, cy - 2,
		          "text-anchor=\"middle\" font-weight=\"bold\"", t);
		snprintf(t, sizeof(t), "%s, pfn %llu-%llu", a,
		         (unsigned long long)z->start_pfn,
		         (unsigned long long)z->end_pfn - 1);
		text_attr(f, PHYS_X + BAR_W / 2.0, cy + 12,
		          "text-anchor=\"middle\" font-size=\"10\"", t);
	}
	/* physical addresses, bottom up: RAM starts at PHYS_OFFSET */
	addr_label(f, PHYS_X - 6, pbot, "end", l->phys_offset, NULL, &last, wide);
	for (int i = 0; i < nz; i++)
		addr_label(f, PHYS_X - 6, py0[i], "end",
		           zs[i]->end_pfn << l->page_shift, NULL, &last, wide);
	/* lowmem / highmem brackets */
	if (low_top < pbot)
		bracket(f, pbot, low_top, "#238b45", "lowmem", l->lowmem_bytes);
	if (high_top >= 0)
		bracket(f, high_bot, high_top, "#d94801", "highmem",
		        l->highmem_bytes);

	/* ---- virtual bar ---- */
	for (int i = 0; i < nreg; i++) {
		const struct region *r = &reg[i];
		double h = r->y1 - r->y0;
		fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" "
		           "fill=\"%s\" stroke=\"#333333\"%s/>\n",
		        VIRT_X, r->y0, BAR_W, h, region_fill(r->kind),
		        r->kind == R_GAP ? " stroke-dasharray=\"3,2\"" : "");
		size_str(a, sizeof(a), r->end - r->start);
		double cy = (r->y0 + r->y1) / 2;
		if (r->kind == R_GAP) {
			if (h >= 13) {
				snprintf(t, sizeof(t), "unused, %s", a);
				text_attr(f, VIRT_X + BAR_W / 2.0, cy + 4,
				          "text-anchor=\"middle\" font-size=\"10\" "
				          "fill=\"#777777\"", t);
			}
			continue;
		}
		if (r->kind == R_FIXMAP && l->kmap_local_end > l->kmap_local_start) {
			/* the kmap_local area inside the fixmap, as a band at its
			 * left, where the arrow comes in without crossing the name */
			double span = r->end - r->start;
			double ly0 = r->y1 - h * (double)(l->kmap_local_end - r->start) / span;
			double ly1 = r->y1 - h * (double)(l->kmap_local_start - r->start) / span;
			if (ly1 - ly0 < 10) {
				double c = (ly0 + ly1) / 2;
				ly0 = c - 5;
				ly1 = c + 5;
			}
			fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" "
			           "fill=\"#6baed6\" stroke=\"#2171b5\"/>\n",
			        VIRT_X + 6, ly0, 40, ly1 - ly0);
			/* its name inside it, or under it when it is thin */
			text_attr(f, VIRT_X + 26, ly1 - ly0 >= 14 ? (ly0 + ly1) / 2 + 3 :
			          ly1 + 11, "text-anchor=\"middle\" font-size=\"9\" "
			          "fill=\"#08306b\"", "local");
		}
		const char *name = region_name(r->kind);
		if (r->kind == R_USER) {
			snprintf(t, sizeof(t), "user space, %s", a);
			text_attr(f, VIRT_X + BAR_W / 2.0, cy, "text-anchor=\"middle\" "
			          "fill=\"#555555\"", t);
			text_attr(f, VIRT_X + BAR_W / 2.0, cy + 14,
			          "text-anchor=\"middle\" font-size=\"10\" fill=\"#555555\"",
			          "(each process's own)");
			continue;
		}
		double nx = VIRT_X + (r->kind == R_FIXMAP ? 50 + (BAR_W - 50) / 2.0 :
		                                           BAR_W / 2.0);
		text_attr(f, nx, cy - 2, "text-anchor=\"middle\" font-weight=\"bold\"",
		          name);
		if (r->kind == R_PKMAP)
			snprintf(t, sizeof(t), "%s: %u slots", a, l->last_pkmap);
		else if (r->kind == R_FIXMAP)
			snprintf(t, sizeof(t), "%s", a);
		else if (r->kind == R_LOWMEM)
			snprintf(t, sizeof(t), "%s: all of lowmem", a);
		else
			snprintf(t, sizeof(t), "%s", a);
		text_attr(f, nx, cy + 12, "text-anchor=\"middle\" font-size=\"10\"", t);
	}
	/* virtual addresses: named regions' bounds, bottom up */
	last = -1;
	double vx = VIRT_X + BAR_W + 6;
	addr_label(f, vx, BAR_TOP + BAR_H, "start", 0, NULL, &last, 0);
	for (int i = 0; i < nreg; i++) {
		const struct region *r = &reg[i];
		if (r->kind == R_GAP && i + 1 < nreg)
			continue;
		if (i && reg[i - 1].kind == R_GAP && r->kind != R_GAP)
			addr_label(f, vx, r->y1, "start", r->start,
			           vname(l, r->start), &last, 0);
		if (r->kind != R_GAP || i + 1 == nreg)
			addr_label(f, vx, r->y0, "start", r->end,
			           vname(l, r->end), &last, 0);
	}

	/* ---- highmem -> pkmap arrows, highmem -> local ---- */
	if (high_top >= 0 && pk) {
		double hh = high_bot - high_top;
		double py = (pk->y0 + pk->y1) / 2;
		static const double at_f[3] = { 0.85, 0.55, 0.2 };
		for (int i = 0; i < 3; i++) {
			double sy = high_bot - hh * at_f[i];
			double ty = py - 6 + 6 * i;
			fprintf(f, "<path id=\"kmap-arrow-%d\" d=\"M%d,%.1f C%d,%.1f "
			           "%d,%.1f %d,%.1f\" fill=\"none\" stroke=\"#d94801\" "
			           "stroke-width=\"1.6\" marker-end=\"url(#arrow)\"/>\n",
			        i, PHYS_X + BAR_W + 3, sy, PHYS_X + BAR_W + 170, sy,
			        VIRT_X - 170, ty, VIRT_X - 3, ty);
			fprintf(f, "<circle cx=\"%d\" cy=\"%.1f\" r=\"3\" fill=\"#d94801\"/>\n",
			        PHYS_X + BAR_W, sy);
		}
		snprintf(t, sizeof(t), "kmap(): into one of %u slots",
		         l->last_pkmap);
		path_text(f, "kmap-arrow-0", -6, "fill=\"#8c2d04\" font-weight=\"bold\" "
		          "font-size=\"11\"", t);
	}
	if (high_top >= 0 && fix && l->kmap_local_end > l->kmap_local_start) {
		double span = fix->end - fix->start, h = fix->y1 - fix->y0;
		double ty = fix->y1 - h * ((double)(l->kmap_local_start +
		            l->kmap_local_end) / 2 - fix->start) / span;
		double sy = high_top + (high_bot - high_top) * 0.06;
		fprintf(f, "<path id=\"local-arrow\" d=\"M%d,%.1f C%d,%.1f %d,%.1f "
		           "%d,%.1f\" fill=\"none\" stroke=\"#2171b5\" "
		           "stroke-width=\"1.4\" stroke-dasharray=\"5,3\" "
		           "marker-end=\"url(#arrow-local)\"/>\n",
		        PHYS_X + BAR_W + 3, sy, PHYS_X + BAR_W + 200, sy,
		        VIRT_X - 100, ty, VIRT_X + 4, ty);
		fprintf(f, "<circle cx=\"%d\" cy=\"%.1f\" r=\"3\" fill=\"#2171b5\"/>\n",
		        PHYS_X + BAR_W, sy);
		snprintf(t, sizeof(t), "kmap_local_page(), kmap_atomic(): %u slots "
		         "a CPU", l->km_max_idx - 1);
		path_text(f, "local-arrow", -5, "fill=\"#08306b\" font-size=\"11\"", t);
	}

	/* ---- the pkmap window, zoomed ---- */
	if (pk) {
		const int ZX = 990, ZW = 170;
		double zy0 = BAR_TOP + 10, row = 22;
		unsigned show[6];
		int ns = 0;
		unsigned n = l->last_pkmap;
		if (n <= 6) {
			for (unsigned i = 0; i < n; i++)
				show[ns++] = i;
		} else {
			show[ns++] = n - 1;
			show[ns++] = n - 2;
			show[ns++] = ~0u; /* ... */
			show[ns++] = 2;
			show[ns++] = 1;
			show[ns++] = 0;
		}
		double zy1 = zy0 + row * ns;
		/* from the window's middle (the address labels sit at its
		 * bounds) across to a bracket along the zoomed slots */
		double pm = (pk->y0 + pk->y1) / 2;
		const int BX = ZX - 12;
		fprintf(f, "<path d=\"M%d,%.1f H%d M%d,%.1f V%.1f M%d,%.1f H%d "
		           "M%d,%.1f H%d\" stroke=\"#d94801\" stroke-dasharray=\"2,2\" "
		           "fill=\"none\"/>\n",
		        VIRT_X + BAR_W, pm, BX, BX, zy0, zy1, BX, zy0, ZX, BX, zy1, ZX);
		for (int i = 0; i < ns; i++) {
			double yy = zy0 + row * i;
			fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" "
			           "fill=\"%s\" stroke=\"#8c2d04\"/>\n", ZX, yy, ZW, row,
			        show[i] == ~0u ? "#ffffff" : "#fdd0a2");
			if (show[i] == ~0u) {
				text_attr(f, ZX + ZW / 2.0, yy + 15, "text-anchor=\"middle\"",
				          "...");
				continue;
			}
			snprintf(t, sizeof(t), "slot %u", show[i]);
			text_attr(f, ZX + 6, yy + 15, "font-size=\"11\"", t);
			snprintf(t, sizeof(t), "0x%08llx", (unsigned long long)
			         (l->pkmap_base + (uint64_t)show[i] * l->page_size));
			text_attr(f, ZX + ZW - 6, yy + 15, "text-anchor=\"end\" "
			          "font-size=\"11\" font-family=\"DejaVu Sans Mono, "
			          "monospace\"", t);
		}
		double ty = zy1 + 18;
		static const char *const lines[] = {
			"PKMAP_ADDR(nr) =",
			"    PKMAP_BASE + nr * PAGE_SIZE",
			"pkmap_count[nr]: 0 free,",
			"    1 free but still mapped,",
			"    n in use by n - 1 users",
			NULL,
		};
		for (int i = 0; lines[i]; i++, ty += 14) {
			int ind = lines[i][0] == ' ';
			text_attr(f, ZX + (ind ? 14 : 0), ty, "font-size=\"10\"",
			          lines[i] + (ind ? 4 : 0));
		}
		snprintf(t, sizeof(t), "pkmap_page_table: %u PTEs x %u B",
		         l->last_pkmap, l->pte_size);
		text_attr(f, ZX, ty, "font-size=\"10\"", t);
		ty += 14;
		snprintf(t, sizeof(t), "page_address_htable: %u buckets",
		         l->pa_hash_size);
		text_attr(f, ZX, ty, "font-size=\"10\"", t);
		ty += 14;
		if (l->colors > 1) {
			snprintf(t, sizeof(t), "%u cache colours", l->colors);
			text_attr(f, ZX, ty, "font-size=\"10\"", t);
		}
	}

	/* ---- the figures at the bottom ---- */
	double fy = BAR_TOP + BAR_H + 34;
	size_str(a, sizeof(a), l->lowmem_limit);
	snprintf(t, sizeof(t), "The %s split leaves room for at most %s of lowmem "
	         "(MAXMEM); memory above it is highmem and has no address of its "
	         "own.", l->profile, a);
	text_attr(f, 20, fy, "", t);
	/* the model's cost: FLATMEM's mem_map covers the RAM's pfns (holes
	 * included), SPARSEMEM's memmap whole present sections */
	if (l->present_sections)
		snprintf(t, sizeof(t), "memmap: %llu sections x %llu pages x %u B "
		         "= %.1f MiB of lowmem for the struct pages; the pkmap page "
		         "table: %llu bytes.",
		         (unsigned long long)l->present_sections,
		         (unsigned long long)(1ull << (l->section_size_bits -
		                                       l->page_shift)),
		         l->struct_page_size, (double)l->mem_map_bytes / (1 << 20),
		         (unsigned long long)l->pkmap_pgtable_bytes);
	else
		snprintf(t, sizeof(t), "mem_map: %llu pages x %u B = %.1f MiB of "
		         "lowmem for the struct pages; the pkmap page table: %llu "
		         "bytes.", (unsigned long long)(l->max_pfn - l->min_pfn),
		         l->struct_page_size, (double)l->mem_map_bytes / (1 << 20),
		         (unsigned long long)l->pkmap_pgtable_bytes);
	text_attr(f, 20, fy + 18, "", t);
	if (l->nr_holes) {
		size_str(a, sizeof(a), l->ram_pages << l->page_shift);
		snprintf(t, sizeof(t), "%u hole%s (hatched): %s of RAM in %llu "
		         "pages; %s", l->nr_holes, l->nr_holes == 1 ? "" : "s", a,
		         (unsigned long long)l->ram_pages, l->present_sections ?
		         "a section with no RAM has no memmap." :
		         "mem_map spans the holes, their pages reserved.");
		text_attr(f, 20, fy + 142, "", t);
	}
	snprintf(t, sizeof(t), "page->flags holds the zone in bits %u-%u "
	         "(ZONES_PGSHIFT %u); %u CPU%s, each with %u kmap_local slots.",
	         l->zones_pgshift, l->zones_pgshift + l->zones_width - 1,
	         l->zones_pgshift, l->nr_cpus, l->nr_cpus == 1 ? "" : "s",
	         l->km_max_idx - 1);
	text_attr(f, 20, fy + 36, "", t);
	flags_word(f, l, 20, fy + 58);
	text_attr(f, 20, fy + 142 + (l->nr_holes ? 18 : 0),
	          "font-size=\"10\" fill=\"#777777\"",
	          "kmap layout --svg: the same figures as `kmap layout`, drawn.");
	svg_end(f);
	return pic_close(who, path, f);
}
