//! The first instructions: an arm64 Image header (so the image boots like a Linux kernel from QEMU
//! or U-Boot's `booti`/`bootm`), then per-CPU stack set-up and the jump into Rust.

use crate::platform::MAX_CPUS;

/// Bytes of stack per physical CPU.
pub const STACK_SIZE: usize = 0x2_0000;

/// The stacks of all CPUs, CPU n's top at `(n + 1) * STACK_SIZE`. Not zeroed at boot.
#[repr(C, align(4096))]
pub struct Stacks([u8; STACK_SIZE * MAX_CPUS]);

#[unsafe(link_section = ".stacks")]
#[unsafe(no_mangle)]
static mut SOMNUS_STACKS: Stacks = Stacks([0; STACK_SIZE * MAX_CPUS]);

core::arch::global_asm!(
    r#"
    .section .text.boot, "ax"
    .global _start
_start:
    /* arm64 Image header (Documentation/arch/arm64/booting.rst layout). */
    b       2f                          /* code0: jump over the header */
    .long   0                           /* code1 */
    .quad   __image_text_offset         /* text_offset: where to load above a 2 MiB aligned RAM base */
    .quad   __image_size                /* image_size, including zero-initialised data and stacks */
    .quad   0x2                         /* flags: little endian, 4 KiB pages, placed near RAM start */
    .quad   0
    .quad   0
    .quad   0
    .ascii  "ARM\x64"                   /* magic */
    .long   0

2:  /* Boot CPU. x0 = device tree address (0 when QEMU starts an ELF directly). */
    msr     daifset, #0xf
    mov     x19, x0
    mrs     x20, CurrentEL
    ubfx    x20, x20, #2, #2
    cmp     x20, #2
    b.ne    3f
    /* EL2 only: at EL1 these registers do not exist. */
    msr     tpidr_el2, xzr
    msr     spsel, #1
3:  adrp    x1, {stacks}
    add     x1, x1, :lo12:{stacks}
    mov     x2, #{stack_size}
    add     sp, x1, x2
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
4:  cmp     x1, x2
    b.hs    5f
    stp     xzr, xzr, [x1], #16
    b       4b
5:  mov     x0, x19
    mov     x1, x20
    bl      somnus_primary_main
6:  wfe
    b       6b

    .section .text.boot, "ax"
    .global somnus_secondary_entry
somnus_secondary_entry:
    /* Secondary CPU started by the firmware's PSCI CPU_ON; x0 = our CPU index (context id). */
    msr     daifset, #0xf
    msr     spsel, #1
    msr     tpidr_el2, xzr
    cmp     x0, #{max_cpus}
    b.hs    6b
    adrp    x1, {stacks}
    add     x1, x1, :lo12:{stacks}
    mov     x2, #{stack_size}
    madd    x1, x0, x2, x1
    add     sp, x1, x2
    bl      somnus_secondary_main
    b       6b
"#,
    stacks = sym SOMNUS_STACKS,
    stack_size = const STACK_SIZE,
    max_cpus = const MAX_CPUS,
);

unsafe extern "C" {
    /// Entry point of secondary CPUs, defined in the assembly above.
    pub fn somnus_secondary_entry();
}

/// Address of the first CPU's stack (the lowest address of all stacks).
#[must_use]
pub fn stacks_base() -> u64 {
    // Only the address is taken, never the contents.
    (&raw const SOMNUS_STACKS) as u64
}
