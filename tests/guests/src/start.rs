//! Entry points: the cold `_start` of vCPU 0 and the warm entry used by PSCI CPU_ON and resume.
//!
//! Both run before any Rust code: their first instruction reads the physical counter (see
//! [`entry_count`]), then they pick the vCPU's stack by MPIDR_EL1 Aff0, enable FP/SIMD at EL1
//! (the hard-float target may use FP registers anywhere) and install the vector table. `_start` also
//! zeroes `.bss` when it runs on vCPU 0 and then calls the guest's `main` with x0 = device tree address;
//! the warm entry keeps `.bss` and calls the handler set with [`set_warm_handler`] with x0 = context id.
//! A vCPU whose Aff0 has no stack stops in a WFE loop without touching memory.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Highest number of vCPUs a guest can run (stacks are reserved for Aff0 = 0 up to this count - 1).
pub const MAX_CPUS: usize = 8;

/// Stack size of each vCPU, in bytes.
pub const STACK_SIZE: usize = 16 * 1024;

/// CPACR_EL1.FPEN = 0b11: FP/SIMD instructions do not trap at EL1 or EL0.
const CPACR_FP_ENABLED: u64 = 0b11 << 20;

core::arch::global_asm!(
    r#"
    .section .stacks, "aw", %nobits
    .balign 16
somnus_stacks:
    .space {stack_size} * {max_cpus}

    .section .text.entry, "ax"
    .global _start
    .global somnus_warm_entry

// Cold entry of vCPU 0: x0 = device tree address.
_start:
    mrs     x21, cntpct_el0
    mov     x19, x0
    mov     x20, #1
    b       somnus_common_entry

// Warm entry (PSCI CPU_ON, resume): x0 = context id.
somnus_warm_entry:
    mrs     x21, cntpct_el0
    mov     x19, x0
    mov     x20, #0

somnus_common_entry:
    msr     spsel, #1
    mrs     x1, mpidr_el1
    and     x1, x1, #0xff
    cmp     x1, #{max_cpus}
    b.hs    somnus_no_stack
    adrp    x2, somnus_stacks
    add     x2, x2, :lo12:somnus_stacks
    mov     x3, #{stack_size}
    madd    x2, x1, x3, x2
    add     sp, x2, x3
    // Only the cold entry on vCPU 0 zeroes .bss; other vCPUs start after it and share it.
    cbz     x20, 2f
    cbnz    x1, 2f
    adrp    x2, __bss_start
    add     x2, x2, :lo12:__bss_start
    adrp    x3, __bss_end
    add     x3, x3, :lo12:__bss_end
1:  cmp     x2, x3
    b.hs    2f
    stp     xzr, xzr, [x2], #16
    b       1b
    // After .bss is zeroed: the counter read at entry, by vCPU index (x1).
2:  adrp    x2, SOMNUS_ENTRY_COUNTS
    add     x2, x2, :lo12:SOMNUS_ENTRY_COUNTS
    str     x21, [x2, x1, lsl #3]
    mov     x2, #{cpacr_fp_enabled}
    msr     cpacr_el1, x2
    adrp    x2, somnus_vector_table
    add     x2, x2, :lo12:somnus_vector_table
    msr     vbar_el1, x2
    isb
    mov     x29, xzr
    mov     x30, xzr
    mov     x0, x19
    cbz     x20, 3f
    bl      somnus_guest_main
    b       somnus_no_stack
3:  bl      somnus_warm_main

somnus_no_stack:
    wfe
    b       somnus_no_stack
"#,
    stack_size = const STACK_SIZE,
    max_cpus = const MAX_CPUS,
    cpacr_fp_enabled = const CPACR_FP_ENABLED,
);

// SAFETY: `somnus_warm_entry` is defined in the assembly above; Rust only takes its address.
unsafe extern "C" {
    /// The warm entry point defined in the assembly above; only its address is used.
    fn somnus_warm_entry();
}

/// A function a vCPU runs after entering at the warm entry, given the context id from x0.
pub type WarmHandler = fn(u64) -> !;

/// The installed [`WarmHandler`] as an address; 0 when none is installed.
static WARM_HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Per vCPU (by Aff0), the physical counter (CNTPCT_EL0) read by the first instruction of its last
/// entry, cold or warm; written by the assembly above.
#[unsafe(no_mangle)]
static SOMNUS_ENTRY_COUNTS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The physical counter (CNTPCT_EL0) as the first instruction of this vCPU's last entry (`_start`
/// or the warm entry) read it: for timing a reset or a resume up to the guest's first instruction.
#[must_use]
pub fn entry_count() -> u64 {
    SOMNUS_ENTRY_COUNTS[crate::cpu::index() % MAX_CPUS].load(Ordering::Acquire)
}

/// Address to pass as entry point to PSCI CPU_ON, CPU_SUSPEND or SYSTEM_SUSPEND.
#[must_use]
pub fn warm_entry_address() -> u64 {
    somnus_warm_entry as *const () as u64
}

/// Sets the function that vCPUs entering at [`warm_entry_address`] run; call it before starting them.
pub fn set_warm_handler(handler: WarmHandler) {
    WARM_HANDLER.store(handler as usize, Ordering::Release);
}

/// Continues the warm entry in Rust: runs the installed handler with the context id.
#[unsafe(no_mangle)]
extern "C" fn somnus_warm_main(context_id: u64) -> ! {
    let address = WARM_HANDLER.load(Ordering::Acquire);
    if address == 0 {
        crate::fail!(
            "vCPU {} entered the warm entry (context id {context_id:#x}) but no handler is set",
            crate::cpu::index()
        );
    }
    // SAFETY: the only non-zero values stored in WARM_HANDLER come from `set_warm_handler`, which stores
    // a valid `WarmHandler`; function pointers and usize have the same size on AArch64.
    let handler = unsafe { core::mem::transmute::<usize, WarmHandler>(address) };
    handler(context_id)
}
