//! An EL1 vector table whose IRQ entries read the virtual counter (CNTVCT_EL0) into x10 as their
//! very first instruction, then continue in the runtime's own IRQ entry, which saves x10 with
//! everything else, runs the registered handler and restores x10 on return. Every other entry goes
//! straight to the runtime's table.
//!
//! x10 of the interrupted code is lost, so IRQs may only be unmasked inside the two waits below,
//! whose assembly gives x10 up and returns the timestamp it finds there.

use core::arch::{asm, global_asm};

global_asm!(
    r#"
.macro BENCH_FORWARD offset
    .balign 0x80
    b       somnus_vector_table + \offset
.endm

.macro BENCH_TIMESTAMP offset
    .balign 0x80
    mrs     x10, cntvct_el0
    b       somnus_vector_table + \offset
.endm

    .section .text.bench_vectors, "ax"
    .balign 0x800
bench_vector_table:
    BENCH_FORWARD 0x000
    BENCH_TIMESTAMP 0x080
    BENCH_FORWARD 0x100
    BENCH_FORWARD 0x180
    BENCH_FORWARD 0x200
    BENCH_TIMESTAMP 0x280
    BENCH_FORWARD 0x300
    BENCH_FORWARD 0x380
    BENCH_FORWARD 0x400
    BENCH_FORWARD 0x480
    BENCH_FORWARD 0x500
    BENCH_FORWARD 0x580
    BENCH_FORWARD 0x600
    BENCH_FORWARD 0x680
    BENCH_FORWARD 0x700
    BENCH_FORWARD 0x780
"#
);

unsafe extern "C" {
    /// The table above; only its address is used.
    fn bench_vector_table();
    /// The runtime's table (`somnus_test_guests`), restored by [`uninstall`].
    fn somnus_vector_table();
}

fn set_vector_base(table: unsafe extern "C" fn()) {
    // SAFETY: both tables are complete EL1 vector tables that save and restore the interrupted
    // context (x10 aside, see the module documentation).
    unsafe { asm!("msr vbar_el1, {}", "isb", in(reg) table as usize, options(nomem, nostack)) };
}

/// Makes this vCPU's IRQs go through the timestamping table.
pub fn install() {
    set_vector_base(bench_vector_table);
}

/// Gives this vCPU the runtime's vector table back.
pub fn uninstall() {
    set_vector_base(somnus_vector_table);
}

/// Unmasks IRQs and spins (no WFI: an idle wait would make QEMU's virtual time jump) until an IRQ
/// has been taken; returns the virtual counter at its first vector instruction, with IRQs masked
/// again. [`install`] must have been called.
#[must_use]
pub fn spin_until_interrupt() -> u64 {
    let timestamp: u64;
    // SAFETY: only x10 and the interrupt mask change; the vector table saves everything else. Not
    // `nomem`: the handler that runs meanwhile writes memory.
    unsafe {
        asm!(
            "mov x10, #0",
            "msr daifclr, #2",
            "2: cbz x10, 2b",
            "msr daifset, #2",
            out("x10") timestamp,
            options(nostack),
        );
    }
    timestamp
}

/// Unmasks IRQs and waits in WFI until an IRQ has been taken; returns the virtual counter at its
/// first vector instruction, with IRQs masked again. [`install`] must have been called.
#[must_use]
pub fn wait_until_interrupt() -> u64 {
    let timestamp: u64;
    // SAFETY: as in `spin_until_interrupt`.
    unsafe {
        asm!(
            "mov x10, #0",
            "msr daifclr, #2",
            "2: wfi",
            "cbz x10, 2b",
            "msr daifset, #2",
            out("x10") timestamp,
            options(nostack),
        );
    }
    timestamp
}
