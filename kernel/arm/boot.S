/*
 * boot.S - the entry from qemu's Linux loader, the exception vectors, the
 * context switch.
 */
	.syntax unified
	.arm

	.section .text.boot, "ax"
	.global _start
/*
 * Entered as a Linux image is (Documentation/arm/booting.rst): MMU and
 * D-cache off, SVC mode, r0 = 0, r1 = the machine type, r2 = the physical
 * address of the device tree. Mask interrupts, zero .bss, take the boot
 * stack and go to C with the device tree's address.
 */
_start:
	cpsid	aif
	ldr	r4, =_bss_start
	ldr	r5, =_bss_end
	mov	r6, #0
1:	cmp	r4, r5
	strlo	r6, [r4], #4
	blo	1b
	ldr	sp, =boot_stack_top
	mov	r0, r2
	bl	arm_main
2:	wfi
	b	2b

/*
 * void km_switch_stack(uintptr_t *save_sp, uintptr_t next_sp): the context
 * switch of the cooperative scheduler. Saves the callee-saved registers
 * and the return address on the current stack, stores SP, loads the next
 * thread's and returns into it. A new thread's stack is laid out as if it
 * had called this (arm/main.c: arch_thread_stack).
 */
	.text
	.global km_switch_stack
km_switch_stack:
	push	{r4-r11, lr}
	str	sp, [r0]
	mov	sp, r1
	pop	{r4-r11, pc}

/*
 * The vectors (VBAR): every exception is a bug here (no interrupts are
 * enabled, semihosting's SVC is caught by qemu before it is taken). Each
 * stub takes the exception stack, saves r0-r12 and the exception's LR and
 * SPSR, and calls arm_exception(vector, regs), which does not return.
 */
	.align	5
	.global arm_vectors
arm_vectors:
	b	exc_reset
	b	exc_undef
	b	exc_svc
	b	exc_pabt
	b	exc_dabt
	b	exc_unused
	b	exc_irq
	b	exc_fiq

.macro EXC name, n
exc_\name:
	ldr	sp, =exc_stack_top
	push	{r0-r12}
	mrs	r0, spsr
	push	{r0, lr}
	mov	r0, #\n
	mov	r1, sp
	bl	arm_exception
3:	wfi
	b	3b
.endm
	EXC reset, 0
	EXC undef, 1
	EXC svc, 2
	EXC pabt, 3
	EXC dabt, 4
	EXC unused, 5
	EXC irq, 6
	EXC fiq, 7

	.bss
	.align	4
boot_stack:
	.skip	16384
boot_stack_top:
exc_stack:
	.skip	4096
exc_stack_top:
