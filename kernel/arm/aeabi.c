/*
 * aeabi.c - the run-time helpers the ARM EABI has the compiler call
 * (Run-time ABI for the Arm Architecture): 64-bit division, which the
 * Cortex-A15's SDIV/UDIV do not do, and the memory helpers. There is no
 * libgcc or compiler-rt for armv7a-none-eabi among Debian's packages for
 * clang, so they are here.
 */
#include <stdint.h>
#include <string.h>

uint64_t km_udivmod64(uint64_t n, uint64_t d, uint64_t *rem);
int64_t km_divmod64(int64_t n, int64_t d, int64_t *rem);

/* Shift and subtract, a bit at a time: no division of its own. The
 * divisor is never 0 here (the callers check; C makes it undefined). */
uint64_t km_udivmod64(uint64_t n, uint64_t d, uint64_t *rem)
{
	uint64_t q = 0, r = 0;
	if (d && !(d >> 32) && !(n >> 32)) {
		/* both fit 32 bits: the hardware's UDIV */
		uint32_t q32 = (uint32_t)n / (uint32_t)d;
		*rem = (uint32_t)n - q32 * (uint32_t)d;
		return q32;
	}
	for (int i = 63; i >= 0; i--) {
		r = r << 1 | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= 1ull << i;
		}
	}
	*rem = r;
	return q;
}

/* Truncating, as C's: the remainder takes the dividend's sign. */
int64_t km_divmod64(int64_t n, int64_t d, int64_t *rem)
{
	uint64_t un = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
	uint64_t ud = d < 0 ? 0 - (uint64_t)d : (uint64_t)d;
	uint64_t ur, uq = km_udivmod64(un, ud, &ur);
	*rem = n < 0 ? (int64_t)(0 - ur) : (int64_t)ur;
	return (n < 0) != (d < 0) ? (int64_t)(0 - uq) : (int64_t)uq;
}

/*
 * __aeabi_uldivmod and __aeabi_ldivmod return the quotient in r0:r1 and
 * the remainder in r2:r3, which C cannot say: the remainder goes through
 * the stack, its address as the fifth argument word.
 */
__asm__(
	"	.text\n"
	"	.global __aeabi_uldivmod\n"
	"	.type __aeabi_uldivmod, %function\n"
	"__aeabi_uldivmod:\n"
	"	push	{r4, lr}\n"
	"	sub	sp, sp, #16\n"
	"	add	r4, sp, #8\n"
	"	str	r4, [sp]\n"
	"	bl	km_udivmod64\n"
	"	ldr	r2, [sp, #8]\n"
	"	ldr	r3, [sp, #12]\n"
	"	add	sp, sp, #16\n"
	"	pop	{r4, pc}\n"
	"	.global __aeabi_ldivmod\n"
	"	.type __aeabi_ldivmod, %function\n"
	"__aeabi_ldivmod:\n"
	"	push	{r4, lr}\n"
	"	sub	sp, sp, #16\n"
	"	add	r4, sp, #8\n"
	"	str	r4, [sp]\n"
	"	bl	km_divmod64\n"
	"	ldr	r2, [sp, #8]\n"
	"	ldr	r3, [sp, #12]\n"
	"	add	sp, sp, #16\n"
	"	pop	{r4, pc}\n");

/* The memory helpers: the n-byte forms and their aligned variants. */
void __aeabi_memcpy(void *d, const void *s, size_t n);
void __aeabi_memcpy4(void *d, const void *s, size_t n);
void __aeabi_memcpy8(void *d, const void *s, size_t n);
void __aeabi_memmove(void *d, const void *s, size_t n);
void __aeabi_memmove4(void *d, const void *s, size_t n);
void __aeabi_memmove8(void *d, const void *s, size_t n);
void __aeabi_memset(void *d, size_t n, int c);
void __aeabi_memset4(void *d, size_t n, int c);
void __aeabi_memset8(void *d, size_t n, int c);
void __aeabi_memclr(void *d, size_t n);
void __aeabi_memclr4(void *d, size_t n);
void __aeabi_memclr8(void *d, size_t n);

void __aeabi_memcpy(void *d, const void *s, size_t n) { memcpy(d, s, n); }
void __aeabi_memcpy4(void *d, const void *s, size_t n) { memcpy(d, s, n); }
void __aeabi_memcpy8(void *d, const void *s, size_t n) { memcpy(d, s, n); }
void __aeabi_memmove(void *d, const void *s, size_t n) { memmove(d, s, n); }
void __aeabi_memmove4(void *d, const void *s, size_t n) { memmove(d, s, n); }
void __aeabi_memmove8(void *d, const void *s, size_t n) { memmove(d, s, n); }
void __aeabi_memset(void *d, size_t n, int c) { memset(d, c, n); }
void __aeabi_memset4(void *d, size_t n, int c) { memset(d, c, n); }
void __aeabi_memset8(void *d, size_t n, int c) { memset(d, c, n); }
void __aeabi_memclr(void *d, size_t n) { memset(d, 0, n); }
void __aeabi_memclr4(void *d, size_t n) { memset(d, 0, n); }
void __aeabi_memclr8(void *d, size_t n) { memset(d, 0, n); }
