//! The GICv2 CPU interface (GICC at 0x0801_0000): one banked frame that each vCPU uses for itself.
//!
//! The guest platform's GICv2 has no security extensions, so, as Linux does, a guest leaves every
//! interrupt in group 0 and enables it with GICC_CTLR bit 0 (EnableGrp0, signalled as IRQ because FIQEn
//! is clear). Under a hypervisor this frame is the GICV virtual CPU interface with the same layout.

use core::sync::atomic::{AtomicU8, Ordering};

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

use crate::start::MAX_CPUS;

/// Guest physical address of the GICv2 CPU interface on the guest platform.
pub const CPU_INTERFACE_BASE: usize = 0x0801_0000;

/// GICC_CTLR bit 0: signal group 0 interrupts.
const ENABLE_GROUP0: u32 = 1;

register_structs! {
    /// The GICC registers this driver uses.
    pub CpuInterfaceRegisters {
        /// GICC_CTLR.
        (0x00 => pub control: ReadWrite<u32>),
        /// GICC_PMR: only interrupts with a lower (more urgent) priority value are signalled.
        (0x04 => pub priority_mask: ReadWrite<u32>),
        /// GICC_BPR.
        (0x08 => pub binary_point: ReadWrite<u32>),
        /// GICC_IAR: INTID in bits 9:0, the source CPU interface of an SGI in bits 12:10.
        (0x0C => pub acknowledge: ReadOnly<u32>),
        /// GICC_EOIR: takes the value read from GICC_IAR.
        (0x10 => pub end_of_interrupt: WriteOnly<u32>),
        (0x14 => @END),
    }
}

/// CPU interface bit masks of the vCPUs by index (GICD_ITARGETSR0 as each one reads it), 0 if unknown.
static INTERFACE_MASKS: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(0) }; MAX_CPUS];

fn registers() -> &'static CpuInterfaceRegisters {
    // SAFETY: on a GICv2 guest platform a CPU interface is at CPU_INTERFACE_BASE (device memory, never
    // RAM); this module is used only after detecting GICv2 and every access is a volatile MMIO access.
    unsafe { &*(CPU_INTERFACE_BASE as *const CpuInterfaceRegisters) }
}

/// Records the CPU interface mask of vCPU `cpu` as read from its banked GICD_ITARGETSR0 (a GIC with one
/// CPU interface reads 0 there; then the mask is taken as `1 << cpu`).
pub fn record_interface_mask(cpu: usize, own_targets: u8) {
    let mask = if own_targets == 0 { 1 << (cpu % 8) } else { own_targets };
    INTERFACE_MASKS[cpu].store(mask, Ordering::Release);
}

/// CPU interface mask of vCPU `cpu` (as recorded by its own initialisation, else `1 << cpu`).
#[must_use]
pub fn interface_mask(cpu: usize) -> u8 {
    match INTERFACE_MASKS.get(cpu).map(|mask| mask.load(Ordering::Acquire)) {
        Some(mask) if mask != 0 => mask,
        _ => 1 << (cpu % 8),
    }
}

/// The vCPU index whose CPU interface number is `interface` (from GICC_IAR of an SGI).
#[must_use]
pub fn cpu_of_interface(interface: u32) -> usize {
    (0..MAX_CPUS).find(|&cpu| interface_mask(cpu) == 1 << interface).unwrap_or(interface as usize)
}

/// Sets up this vCPU's CPU interface: priority mask `priority_mask`, group 0 signalled.
pub fn init(priority_mask: u8) {
    let registers = registers();
    registers.priority_mask.set(u32::from(priority_mask));
    registers.control.set(ENABLE_GROUP0);
}

/// Reads GICC_IAR (acknowledging the most urgent pending interrupt).
#[must_use]
pub fn acknowledge() -> u32 {
    registers().acknowledge.get()
}

/// Writes `acknowledged` (a value read from GICC_IAR) to GICC_EOIR.
pub fn end_of_interrupt(acknowledged: u32) {
    registers().end_of_interrupt.set(acknowledged);
}
