//! Leaving and entering a guest. A lower-EL exception saves the guest's general registers, PC and
//! PSTATE straight into the running vCPU's `GuestRegisters` (found through the per-CPU data), runs
//! `somnus_guest_exit` on a fresh stack, and returns to whichever vCPU is current afterwards.

use crate::vcpu_context::GUEST_REGISTERS_PC_OFFSET;

core::arch::global_asm!(
    r#"
    .section .text.vectors, "ax"
    .global somnus_guest_exit_common
somnus_guest_exit_common:
    /* x0 and x1 of the guest are on the stack; x1 holds the vector number. */
    mrs     x0, tpidr_el2
    ldr     x0, [x0]
    stp     x2, x3, [x0, #16]
    stp     x4, x5, [x0, #32]
    stp     x6, x7, [x0, #48]
    stp     x8, x9, [x0, #64]
    stp     x10, x11, [x0, #80]
    stp     x12, x13, [x0, #96]
    stp     x14, x15, [x0, #112]
    stp     x16, x17, [x0, #128]
    stp     x18, x19, [x0, #144]
    stp     x20, x21, [x0, #160]
    stp     x22, x23, [x0, #176]
    stp     x24, x25, [x0, #192]
    stp     x26, x27, [x0, #208]
    stp     x28, x29, [x0, #224]
    str     x30, [x0, #240]
    mrs     x2, elr_el2
    mrs     x3, spsr_el2
    stp     x2, x3, [x0, #{pc}]
    ldp     x2, x3, [sp], #16
    stp     x2, x3, [x0, #0]
    mov     x0, x1
    bl      somnus_guest_exit

    .global somnus_return_to_guest
somnus_return_to_guest:
    mrs     x0, tpidr_el2
    ldr     x1, [x0, #8]
    mov     sp, x1
    ldr     x0, [x0]
    ldp     x1, x2, [x0, #{pc}]
    msr     elr_el2, x1
    msr     spsr_el2, x2
    ldp     x2, x3, [x0, #16]
    ldp     x4, x5, [x0, #32]
    ldp     x6, x7, [x0, #48]
    ldp     x8, x9, [x0, #64]
    ldp     x10, x11, [x0, #80]
    ldp     x12, x13, [x0, #96]
    ldp     x14, x15, [x0, #112]
    ldp     x16, x17, [x0, #128]
    ldp     x18, x19, [x0, #144]
    ldp     x20, x21, [x0, #160]
    ldp     x22, x23, [x0, #176]
    ldp     x24, x25, [x0, #192]
    ldp     x26, x27, [x0, #208]
    ldp     x28, x29, [x0, #224]
    ldr     x30, [x0, #240]
    ldp     x0, x1, [x0, #0]
    eret

    .global somnus_call_on_stack
somnus_call_on_stack:
    /* x0 = stack top, x1 = function, x2 = its argument. */
    mov     x9, sp
    mov     sp, x0
    stp     x9, x30, [sp, #-16]!
    mov     x0, x2
    blr     x1
    ldp     x9, x30, [sp], #16
    mov     sp, x9
    ret
"#,
    pc = const GUEST_REGISTERS_PC_OFFSET,
);

unsafe extern "C" {
    fn somnus_return_to_guest() -> !;
    fn somnus_call_on_stack(stack_top: u64, function: extern "C" fn(*mut u8), argument: *mut u8);
}

/// Enters the vCPU made current with `per_cpu::set_current_registers`, resetting the stack.
///
/// # Safety
/// A vCPU must be current and fully loaded (system registers, stage 2) on this CPU.
pub unsafe fn enter_current_guest() -> ! {
    // SAFETY: forwarded from the caller; the assembly only reads the per-CPU data.
    unsafe { somnus_return_to_guest() }
}

/// Runs `function(argument)` on the stack whose top is `stack_top`.
///
/// # Safety
/// `stack_top` must be the 16-byte aligned top of a stack nobody else uses meanwhile.
pub unsafe fn call_on_stack(stack_top: u64, function: extern "C" fn(*mut u8), argument: *mut u8) {
    // SAFETY: forwarded from the caller; the trampoline restores the original stack.
    unsafe { somnus_call_on_stack(stack_top, function, argument) }
}
