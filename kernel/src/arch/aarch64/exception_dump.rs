//! The register dump printed when the hypervisor itself takes an exception it did not expect.

use super::vectors::{ExceptionFrame, VectorKind};
use crate::console::write_fmt_forcibly;

/// Prints everything known about an unexpected exception on the calling CPU.
pub fn report(frame: &ExceptionFrame, kind: VectorKind) {
    let cpu = super::cpu::index();
    let (source, type_name) = kind.describe();
    let syndrome = frame.syndrome;
    let class = (syndrome >> 26) & 0x3F;
    write_fmt_forcibly(format_args!(
        "somnus: unexpected exception on cpu {cpu}: {type_name}, {source}\n\
         \x20 ESR_EL2  {syndrome:#018x} (class {class:#04x}: {})\n\
         \x20 FAR_EL2  {:#018x}\n\
         \x20 ELR_EL2  {:#018x}\n\
         \x20 SPSR_EL2 {:#018x}\n\
         \x20 SP       {:#018x}\n",
        exception_class_name(class),
        frame.fault_address,
        frame.exception_link,
        frame.saved_program_status,
        frame.stack_pointer,
    ));
    for row in frame.registers.chunks(4).enumerate() {
        let (row_index, values) = row;
        let mut line: heapless::String<128> = heapless::String::new();
        for (column, value) in values.iter().enumerate() {
            let register = row_index * 4 + column;
            // The line is long enough for four registers.
            let _ = core::fmt::write(&mut line, format_args!("  x{register:02} {value:#018x}"));
        }
        write_fmt_forcibly(format_args!("{line}\n"));
    }
    write_fmt_forcibly(format_args!("somnus: cpu {cpu} stopped\n"));
}

/// A short name for the exception class field of ESR_EL2.
#[must_use]
pub const fn exception_class_name(class: u64) -> &'static str {
    match class {
        0x00 => "unknown reason",
        0x01 => "WFI/WFE",
        0x07 => "FP/SIMD access",
        0x0E => "illegal execution state",
        0x15 => "SVC from AArch64",
        0x16 => "HVC from AArch64",
        0x17 => "SMC from AArch64",
        0x18 => "system register access",
        0x20 => "instruction abort from lower EL",
        0x21 => "instruction abort, same EL",
        0x22 => "PC alignment fault",
        0x24 => "data abort from lower EL",
        0x25 => "data abort, same EL",
        0x26 => "SP alignment fault",
        0x2F => "SError",
        0x3C => "BRK instruction",
        _ => "other",
    }
}
