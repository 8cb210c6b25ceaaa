/*
 * fdt.c - what the kernel reads from the flattened device tree qemu's
 * Linux loader hands it (r2): the RAM (/memory), the command line and the
 * initrd, which holds the trace (/chosen), and the PL011's address.
 * The blob's format: the Devicetree Specification, chapter 5 (big-endian
 * header, a structure block of tokens, a strings block).
 */
#include "arch.h"
#include "fdt.h"

#include <string.h>

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE 2u
#define FDT_PROP 3u
#define FDT_NOP 4u
#define FDT_END 9u

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* A number of @cells 32-bit cells (1 or 2). */
static uint64_t cells(const uint8_t *p, unsigned cells)
{
	return cells == 2 ? (uint64_t)be32(p) << 32 | be32(p + 4) : be32(p);
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix)) &&
	       (s[strlen(prefix)] == 0 || s[strlen(prefix)] == '@');
}

const char *fdt_read(uint32_t addr, struct fdt_info *out)
{
	const uint8_t *b = kvirt(addr);
	*out = (struct fdt_info){ 0 };
	if (!addr || (addr & 3))
		return "no device tree (r2 is not a blob's address)";
	if (be32(b) != FDT_MAGIC)
		return "no device tree at r2 (bad magic)";
	uint32_t total = be32(b + 4), off_struct = be32(b + 8),
	         off_strings = be32(b + 12), size_struct = be32(b + 36);
	if (off_struct >= total || off_strings >= total ||
	    size_struct > total - off_struct)
		return "the device tree's header is inconsistent";
	out->size = total;
	const uint8_t *p = b + off_struct, *end = p + size_struct;
	const char *strings = (const char *)b + off_strings;
	unsigned depth = 0, acells = 2, scells = 1;
	enum { OTHER, MEMORY, CHOSEN, UART } node = OTHER;
	while (p + 4 <= end) {
		uint32_t tok = be32(p);
		p += 4;
		if (tok == FDT_BEGIN_NODE) {
			const char *name = (const char *)p;
			size_t n = strlen(name);
			p += (n + 4) & ~3u;
			depth++;
			node = OTHER;
			if (depth == 2 && starts(name, "memory"))
				node = MEMORY;
			else if (depth == 2 && starts(name, "chosen"))
				node = CHOSEN;
			else if (depth == 2 && starts(name, "pl011"))
				node = UART;
		} else if (tok == FDT_END_NODE) {
			if (!depth)
				return "the device tree's nodes do not nest";
			depth--;
			node = OTHER;
		} else if (tok == FDT_PROP) {
			if (p + 8 > end)
				return "the device tree ends inside a property";
			uint32_t len = be32(p), nameoff = be32(p + 4);
			const uint8_t *v = p + 8;
			p = v + ((len + 3) & ~3u);
			if (p > end || nameoff >= total - off_strings)
				return "a device tree property runs past the blob";
			const char *pn = strings + nameoff;
			if (depth == 1 && !strcmp(pn, "#address-cells") && len == 4)
				acells = be32(v);
			else if (depth == 1 && !strcmp(pn, "#size-cells") && len == 4)
				scells = be32(v);
			if (acells < 1 || acells > 2 || scells < 1 || scells > 2)
				return "the device tree's cell sizes are not 1 or 2";
			uint32_t entry = 4 * (acells + scells);
			if (node == MEMORY && !strcmp(pn, "reg")) {
				for (uint32_t o = 0; o + entry <= len &&
				     out->nmem < FDT_MAX_MEM; o += entry) {
					out->mem[out->nmem].base = cells(v + o, acells);
					out->mem[out->nmem].size = cells(v + o + 4 * acells,
					                                 scells);
					out->nmem++;
				}
			} else if (node == CHOSEN && !strcmp(pn, "bootargs") && len) {
				out->bootargs = (const char *)v;
				out->bootargs_len = len;
			} else if (node == CHOSEN && !strcmp(pn, "linux,initrd-start")) {
				out->initrd_start = cells(v, len == 8 ? 2 : 1);
				out->has_initrd_start = true;
			} else if (node == CHOSEN && !strcmp(pn, "linux,initrd-end")) {
				out->initrd_end = cells(v, len == 8 ? 2 : 1);
				out->has_initrd_end = true;
			} else if (node == UART && !strcmp(pn, "reg") && len >= entry &&
			           !out->uart) {
				out->uart = cells(v, acells);
			}
		} else if (tok == FDT_END) {
			break;
		} else if (tok != FDT_NOP) {
			return "an unknown token in the device tree";
		}
	}
	if (!out->nmem)
		return "the device tree names no memory";
	return NULL;
}
