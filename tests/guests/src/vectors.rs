//! The EL1 vector table: every entry saves the interrupted context and calls the Rust dispatcher.
//!
//! The stack frame is an [`ExceptionFrame`](crate::exceptions::ExceptionFrame) (x0..x30, ELR_EL1,
//! SPSR_EL1, ESR_EL1, FAR_EL1, vector number) followed by q0..q31, FPCR and FPSR, so a handler written
//! in Rust may use any register. On return ELR_EL1, SPSR_EL1 and x0..x30 are reloaded from the frame,
//! which lets a handler skip the faulting instruction or change the interrupted registers.

use crate::exceptions::{FRAME_SIZE, GENERAL_FRAME_SIZE};

core::arch::global_asm!(
    r#"
.macro SOMNUS_VECTOR number
    .balign 0x80
    sub     sp, sp, #{frame_size}
    stp     x0, x1, [sp, #0]
    mov     x0, #\number
    b       somnus_exception_common
.endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global somnus_vector_table
somnus_vector_table:
    SOMNUS_VECTOR 0
    SOMNUS_VECTOR 1
    SOMNUS_VECTOR 2
    SOMNUS_VECTOR 3
    SOMNUS_VECTOR 4
    SOMNUS_VECTOR 5
    SOMNUS_VECTOR 6
    SOMNUS_VECTOR 7
    SOMNUS_VECTOR 8
    SOMNUS_VECTOR 9
    SOMNUS_VECTOR 10
    SOMNUS_VECTOR 11
    SOMNUS_VECTOR 12
    SOMNUS_VECTOR 13
    SOMNUS_VECTOR 14
    SOMNUS_VECTOR 15

// x0 = vector number; x0 and x1 of the interrupted context are already at [sp].
somnus_exception_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x1, elr_el1
    stp     x30, x1, [sp, #240]
    mrs     x2, spsr_el1
    mrs     x3, esr_el1
    stp     x2, x3, [sp, #256]
    mrs     x4, far_el1
    stp     x4, x0, [sp, #272]
    add     x5, sp, #{general_frame_size}
    stp     q0, q1, [x5, #0]
    stp     q2, q3, [x5, #32]
    stp     q4, q5, [x5, #64]
    stp     q6, q7, [x5, #96]
    stp     q8, q9, [x5, #128]
    stp     q10, q11, [x5, #160]
    stp     q12, q13, [x5, #192]
    stp     q14, q15, [x5, #224]
    stp     q16, q17, [x5, #256]
    stp     q18, q19, [x5, #288]
    stp     q20, q21, [x5, #320]
    stp     q22, q23, [x5, #352]
    stp     q24, q25, [x5, #384]
    stp     q26, q27, [x5, #416]
    stp     q28, q29, [x5, #448]
    stp     q30, q31, [x5, #480]
    mrs     x6, fpcr
    mrs     x7, fpsr
    add     x8, x5, #512
    stp     x6, x7, [x8]

    mov     x0, sp
    bl      somnus_handle_exception

    add     x5, sp, #{general_frame_size}
    add     x8, x5, #512
    ldp     x6, x7, [x8]
    msr     fpcr, x6
    msr     fpsr, x7
    ldp     q0, q1, [x5, #0]
    ldp     q2, q3, [x5, #32]
    ldp     q4, q5, [x5, #64]
    ldp     q6, q7, [x5, #96]
    ldp     q8, q9, [x5, #128]
    ldp     q10, q11, [x5, #160]
    ldp     q12, q13, [x5, #192]
    ldp     q14, q15, [x5, #224]
    ldp     q16, q17, [x5, #256]
    ldp     q18, q19, [x5, #288]
    ldp     q20, q21, [x5, #320]
    ldp     q22, q23, [x5, #352]
    ldp     q24, q25, [x5, #384]
    ldp     q26, q27, [x5, #416]
    ldp     q28, q29, [x5, #448]
    ldp     q30, q31, [x5, #480]
    ldp     x30, x1, [sp, #240]
    msr     elr_el1, x1
    ldr     x2, [sp, #256]
    msr     spsr_el1, x2
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    add     sp, sp, #{frame_size}
    eret
"#,
    frame_size = const FRAME_SIZE,
    general_frame_size = const GENERAL_FRAME_SIZE,
);
