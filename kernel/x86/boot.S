/*
 * boot.S - multiboot entry, the boot page directory, the jump to the
 * higher half, the paging switch, context switches and exception stubs.
 */
#ifndef KERNEL_VBASE
#define KERNEL_VBASE 0xF8800000     /* kernel/x86/arch.h */
#endif
#define BOOT_MAP_MB 96              /* phys [0, 96M) at KERNEL_VBASE */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003         /* page-aligned modules, memory map */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .boot.data, "aw"
	.align 4096
boot_pd:                                    /* zeroed again at entry */
	.skip 4096

	.section .boot.text, "ax"
	.code32
	.global _start
/*
 * Entered by the loader with paging off, EAX = the multiboot magic and
 * EBX = the physical address of the multiboot information. Zero .bss, map
 * the first 4 MiB 1:1 (this code) and the first BOOT_MAP_MB MiB at
 * KERNEL_VBASE with 4 MiB pages (PSE), turn paging on and jump up.
 */
_start:
	cli
	cld
	movl %eax, %esi
	movl %ebx, %edi

	movl $(_bss_start - KERNEL_VBASE), %edx
	movl $(_bss_end - KERNEL_VBASE), %ecx
	subl %edx, %ecx
	shrl $2, %ecx
	movl %edi, %ebx
	movl %edx, %edi
	xorl %eax, %eax
	rep stosl
	movl %ebx, %edi

	movl $boot_pd, %edx
	movl $1024, %ecx
1:	movl $0, -4(%edx,%ecx,4)
	loop 1b
	movl $0x83, (%edx)                   /* 0-4M: present, writable, 4M */
	movl $0x83, %eax
	movl $(KERNEL_VBASE >> 22), %ecx
	movl $(BOOT_MAP_MB / 4), %ebx
2:	movl %eax, (%edx,%ecx,4)
	addl $0x400000, %eax
	incl %ecx
	decl %ebx
	jnz 2b

	movl %cr4, %eax
	orl $0x10, %eax                       /* CR4.PSE */
	movl %eax, %cr4
	movl %edx, %cr3
	movl %cr0, %eax
	orl $0x80010000, %eax                 /* CR0.PG | CR0.WP */
	movl %eax, %cr0
	movl $higher_half, %eax
	jmp *%eax

/*
 * void km_paging_switch(uint32_t cr3, uint32_t cr4): turn paging off, load
 * CR4 (PAE on or off, PGE) and CR3, turn it on again. Called at its
 * physical address, which both the old and the new tables map 1:1; the
 * stack is not touched while paging is off.
 */
	.global km_paging_switch
km_paging_switch:
	movl 4(%esp), %ecx
	movl 8(%esp), %edx
	movl %cr0, %eax
	andl $0x7fffffff, %eax
	movl %eax, %cr0
	movl %edx, %cr4
	movl %ecx, %cr3
	orl $0x80000000, %eax
	movl %eax, %cr0
	jmp 3f
3:	ret

	.text
higher_half:
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movl $boot_stack_top, %esp
	xorl %ebp, %ebp
	pushl %edi                             /* multiboot info (physical) */
	pushl %esi                             /* magic */
	call kernel_main
4:	cli
	hlt
	jmp 4b

/*
 * void km_switch_stack(uintptr_t *save_sp, uintptr_t next_sp): the context
 * switch of the cooperative scheduler. Saves the callee-saved registers on
 * the current stack, stores ESP, loads the next thread's and returns into
 * it. A new thread's stack is laid out as if it had called this.
 */
	.global km_switch_stack
km_switch_stack:
	movl 4(%esp), %eax
	movl 8(%esp), %edx
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, (%eax)
	movl %edx, %esp
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

/* Exception stubs: push a dummy error code where the CPU pushes none. */
.macro EXC_NOERR n
	.global km_exc\n
km_exc\n:
	pushl $0
	pushl $\n
	jmp exc_common
.endm
.macro EXC_ERR n
	.global km_exc\n
km_exc\n:
	pushl $\n
	jmp exc_common
.endm
EXC_NOERR 0
EXC_NOERR 1
EXC_NOERR 2
EXC_NOERR 3
EXC_NOERR 4
EXC_NOERR 5
EXC_NOERR 6
EXC_NOERR 7
EXC_ERR 8
EXC_NOERR 9
EXC_ERR 10
EXC_ERR 11
EXC_ERR 12
EXC_ERR 13
EXC_ERR 14
EXC_NOERR 15
EXC_NOERR 16
EXC_ERR 17
EXC_NOERR 18
EXC_NOERR 19

exc_common:
	pusha
	pushl %esp                             /* struct km_regs * */
	call km_exception
5:	cli
	hlt
	jmp 5b

	.data
	.align 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff               /* 0x08: flat code, ring 0 */
	.quad 0x00cf92000000ffff               /* 0x10: flat data, ring 0 */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt

	.bss
	.align 16
boot_stack:
	.skip 16384
boot_stack_top:
