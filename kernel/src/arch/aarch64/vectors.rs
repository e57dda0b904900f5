//! The EL2 exception vector table: every entry saves the interrupted registers into an
//! `ExceptionFrame` on the stack and calls `somnus_exception` with the vector's number.

use aarch64_cpu::registers::VBAR_EL2;
use tock_registers::interfaces::Writeable;

/// Registers saved on exception entry, in the order the assembly stores them.
#[derive(Debug)]
#[repr(C)]
pub struct ExceptionFrame {
    /// General registers x0..x30.
    pub registers: [u64; 31],
    /// ELR_EL2: where the exception was taken.
    pub exception_link: u64,
    /// SPSR_EL2: the interrupted PSTATE.
    pub saved_program_status: u64,
    /// ESR_EL2: the syndrome.
    pub syndrome: u64,
    /// FAR_EL2: the faulting virtual address (for aborts).
    pub fault_address: u64,
    /// The stack pointer before the frame was pushed.
    pub stack_pointer: u64,
}

const FRAME_SIZE: usize = core::mem::size_of::<ExceptionFrame>().next_multiple_of(16);

/// Which of the sixteen vectors was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VectorKind(pub u64);

impl VectorKind {
    /// IRQ taken from EL2 itself (SP_EL2 in use).
    pub const CURRENT_IRQ: Self = Self(5);

    /// Human-readable source and type of the exception.
    #[must_use]
    pub const fn describe(self) -> (&'static str, &'static str) {
        let source = match self.0 / 4 {
            0 => "current EL with SP_EL0",
            1 => "current EL with SP_EL2",
            2 => "lower EL, AArch64",
            _ => "lower EL, AArch32",
        };
        let kind = match self.0 % 4 {
            0 => "synchronous",
            1 => "IRQ",
            2 => "FIQ",
            _ => "SError",
        };
        (source, kind)
    }
}

macro_rules! vector_entry {
    ($number:literal) => {
        concat!(
            ".balign 0x80\n",
            "sub sp, sp, #{frame_size}\n",
            "stp x0, x1, [sp, #0]\n",
            "mov x0, #",
            stringify!($number),
            "\n",
            "b somnus_exception_common\n"
        )
    };
}

macro_rules! guest_vector_entry {
    ($number:literal) => {
        concat!(
            ".balign 0x80\n",
            "stp x0, x1, [sp, #-16]!\n",
            "mov x1, #",
            stringify!($number),
            "\n",
            "b somnus_guest_exit_common\n"
        )
    };
}

core::arch::global_asm!(
    ".section .text.vectors, \"ax\"",
    ".balign 0x800",
    ".global somnus_exception_vectors",
    "somnus_exception_vectors:",
    vector_entry!(0), vector_entry!(1), vector_entry!(2), vector_entry!(3),
    vector_entry!(4), vector_entry!(5), vector_entry!(6), vector_entry!(7),
    guest_vector_entry!(8), guest_vector_entry!(9), guest_vector_entry!(10), guest_vector_entry!(11),
    guest_vector_entry!(12), guest_vector_entry!(13), guest_vector_entry!(14), guest_vector_entry!(15),
    r#"
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
    mrs     x1, elr_el2
    stp     x30, x1, [sp, #240]
    mrs     x1, spsr_el2
    mrs     x2, esr_el2
    stp     x1, x2, [sp, #256]
    mrs     x1, far_el2
    add     x2, sp, #{frame_size}
    stp     x1, x2, [sp, #272]
    mov     x1, x0
    mov     x0, sp
    bl      somnus_exception
    ldp     x30, x1, [sp, #240]
    msr     elr_el2, x1
    ldr     x1, [sp, #256]
    msr     spsr_el2, x1
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
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #{frame_size}
    eret
"#,
    frame_size = const FRAME_SIZE,
);

unsafe extern "C" {
    static somnus_exception_vectors: u8;
}

/// Points VBAR_EL2 at the vector table on the calling CPU.
pub fn install() {
    // Only the address of the vector table symbol is taken, never its contents.
    let base = &raw const somnus_exception_vectors as u64;
    VBAR_EL2.set(base);
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
}

/// Called by the assembly for every exception.
#[unsafe(no_mangle)]
extern "C" fn somnus_exception(frame: &mut ExceptionFrame, vector: u64) {
    let kind = VectorKind(vector);
    if kind == VectorKind::CURRENT_IRQ {
        crate::interrupts::handle_irq();
        return;
    }
    super::exception_dump::report(frame, kind);
    crate::boot::mark_stopped(super::cpu::index());
    super::cpu::stop();
}
