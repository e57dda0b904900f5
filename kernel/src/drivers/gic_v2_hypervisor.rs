//! GICv2 virtual interface control (GICH): list registers and the state of the calling CPU's
//! virtual CPU interface. The frame is banked: each CPU sees its own interface at one address.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite};

register_structs! {
    HypervisorInterfaceRegisters {
        (0x000 => control: ReadWrite<u32>),
        (0x004 => virtual_type: ReadOnly<u32>),
        (0x008 => virtual_machine_control: ReadWrite<u32>),
        (0x00C => _reserved0),
        (0x010 => maintenance_status: ReadOnly<u32>),
        (0x014 => _reserved1),
        (0x020 => end_of_interrupt_status: [ReadOnly<u32>; 2]),
        (0x028 => _reserved2),
        (0x030 => empty_list_register_status: [ReadOnly<u32>; 2]),
        (0x038 => _reserved3),
        (0x0F0 => active_priorities: ReadWrite<u32>),
        (0x0F4 => _reserved4),
        (0x100 => list_registers: [ReadWrite<u32>; 64]),
        (0x200 => @END),
    }
}

/// GICH_HCR.En: the virtual CPU interface works.
pub const CONTROL_ENABLE: u32 = 1 << 0;
/// GICH_HCR.UIE: maintenance interrupt when at most one list register holds an interrupt.
pub const CONTROL_UNDERFLOW_INTERRUPT: u32 = 1 << 1;

/// The GICv2 hypervisor interface.
pub struct GicV2HypervisorInterface {
    registers: &'static HypervisorInterfaceRegisters,
}

// SAFETY: the frame is banked per CPU, so concurrent use from several CPUs touches different
// hardware state; each access is a single MMIO access.
unsafe impl Sync for GicV2HypervisorInterface {}
// SAFETY: as above.
unsafe impl Send for GicV2HypervisorInterface {}

impl GicV2HypervisorInterface {
    /// The driver for the GICH frame at `base`.
    ///
    /// # Safety
    /// `base` must be the mapped GICH frame for the rest of the program.
    #[must_use]
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: forwarded from the caller.
        Self { registers: unsafe { &*(base as *const HypervisorInterfaceRegisters) } }
    }

    /// Number of list registers (GICH_VTR.ListRegs + 1).
    #[must_use]
    pub fn list_register_count(&self) -> usize {
        ((self.registers.virtual_type.get() & 0x3F) + 1) as usize
    }

    /// Reads list register `index`.
    #[must_use]
    pub fn list_register(&self, index: usize) -> u32 {
        self.registers.list_registers[index].get()
    }

    /// Writes list register `index`.
    pub fn set_list_register(&self, index: usize, value: u32) {
        self.registers.list_registers[index].set(value);
    }

    /// GICH_HCR.
    pub fn set_control(&self, value: u32) {
        self.registers.control.set(value);
    }

    /// GICH_VMCR.
    #[must_use]
    pub fn virtual_machine_control(&self) -> u32 {
        self.registers.virtual_machine_control.get()
    }

    /// Sets GICH_VMCR.
    pub fn set_virtual_machine_control(&self, value: u32) {
        self.registers.virtual_machine_control.set(value);
    }

    /// GICH_APR.
    #[must_use]
    pub fn active_priorities(&self) -> u32 {
        self.registers.active_priorities.get()
    }

    /// Sets GICH_APR.
    pub fn set_active_priorities(&self, value: u32) {
        self.registers.active_priorities.set(value);
    }

    /// GICH_EISR0/1 as one bit mask of list registers with an end of interrupt to report.
    #[must_use]
    pub fn end_of_interrupt_status(&self) -> u64 {
        let status = &self.registers.end_of_interrupt_status;
        u64::from(status[0].get()) | (u64::from(status[1].get()) << 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_offsets() {
        assert_eq!(core::mem::offset_of!(HypervisorInterfaceRegisters, virtual_machine_control), 0x8);
        assert_eq!(core::mem::offset_of!(HypervisorInterfaceRegisters, empty_list_register_status), 0x30);
        assert_eq!(core::mem::offset_of!(HypervisorInterfaceRegisters, active_priorities), 0xF0);
        assert_eq!(core::mem::offset_of!(HypervisorInterfaceRegisters, list_registers), 0x100);
    }

    #[test]
    fn list_register_count_from_vtr() {
        let mut frame = Box::new([0_u32; 0x80]);
        frame[1] = 0x9000_0003;
        // SAFETY: the box outlives the driver and covers the frame.
        let interface = unsafe { GicV2HypervisorInterface::new(frame.as_mut_ptr() as usize) };
        assert_eq!(interface.list_register_count(), 4);
        interface.set_list_register(2, 0x1000_001B);
        assert_eq!(frame[0x108 / 4], 0x1000_001B);
    }
}
