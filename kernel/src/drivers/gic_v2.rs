//! GICv2 distributor (GICD) and physical CPU interface (GICC), as on GIC-400 and QEMU `virt`.
//!
//! The hypervisor owns the physical GIC: it enables the distributor, routes every SPI to one CPU
//! with a middle priority, and acknowledges interrupts through the CPU interface at EL2.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};
use tock_registers::{register_bitfields, register_structs};

register_bitfields! {u32,
    /// GICD_CTLR without security extensions (or its non-secure view).
    DISTRIBUTOR_CONTROL [
        ENABLE_GROUP0 OFFSET(0) NUMBITS(1) [],
        ENABLE_GROUP1 OFFSET(1) NUMBITS(1) []
    ],
    /// GICD_TYPER.
    DISTRIBUTOR_TYPE [
        IT_LINES_NUMBER OFFSET(0) NUMBITS(5) [],
        CPU_NUMBER OFFSET(5) NUMBITS(3) [],
        SECURITY_EXTENSIONS OFFSET(10) NUMBITS(1) []
    ],
    /// GICD_SGIR.
    SOFTWARE_GENERATED_INTERRUPT [
        INTERRUPT_ID OFFSET(0) NUMBITS(4) [],
        CPU_TARGET_LIST OFFSET(16) NUMBITS(8) [],
        TARGET_LIST_FILTER OFFSET(24) NUMBITS(2) [
            UseList = 0,
            AllButSelf = 1,
            SelfOnly = 2
        ]
    ],
    /// GICC_CTLR.
    CPU_INTERFACE_CONTROL [
        ENABLE_GROUP0 OFFSET(0) NUMBITS(1) [],
        ENABLE_GROUP1 OFFSET(1) NUMBITS(1) [],
        FIQ_ENABLE OFFSET(3) NUMBITS(1) [],
        EOI_MODE OFFSET(9) NUMBITS(1) []
    ],
    /// GICC_IAR and GICC_EOIR.
    INTERRUPT_ACKNOWLEDGE [
        INTERRUPT_ID OFFSET(0) NUMBITS(10) [],
        CPU_ID OFFSET(10) NUMBITS(3) []
    ]
}

register_structs! {
    /// The GICv2 distributor register frame.
    DistributorRegisters {
        (0x000 => control: ReadWrite<u32, DISTRIBUTOR_CONTROL::Register>),
        (0x004 => interrupt_controller_type: ReadOnly<u32, DISTRIBUTOR_TYPE::Register>),
        (0x008 => implementer_id: ReadOnly<u32>),
        (0x00C => _reserved0),
        (0x080 => group: [ReadWrite<u32>; 32]),
        (0x100 => set_enable: [ReadWrite<u32>; 32]),
        (0x180 => clear_enable: [ReadWrite<u32>; 32]),
        (0x200 => set_pending: [ReadWrite<u32>; 32]),
        (0x280 => clear_pending: [ReadWrite<u32>; 32]),
        (0x300 => set_active: [ReadWrite<u32>; 32]),
        (0x380 => clear_active: [ReadWrite<u32>; 32]),
        (0x400 => priority: [ReadWrite<u32>; 255]),
        (0x7FC => _reserved1),
        (0x800 => targets: [ReadWrite<u32>; 255]),
        (0xBFC => _reserved2),
        (0xC00 => configuration: [ReadWrite<u32>; 64]),
        (0xD00 => _reserved3),
        (0xF00 => software_generated_interrupt: WriteOnly<u32, SOFTWARE_GENERATED_INTERRUPT::Register>),
        (0xF04 => _reserved4),
        (0x1000 => @END),
    }
}

register_structs! {
    /// The GICv2 physical CPU interface register frame (the first 4 KiB page).
    CpuInterfaceRegisters {
        (0x000 => control: ReadWrite<u32, CPU_INTERFACE_CONTROL::Register>),
        (0x004 => priority_mask: ReadWrite<u32>),
        (0x008 => binary_point: ReadWrite<u32>),
        (0x00C => interrupt_acknowledge: ReadOnly<u32, INTERRUPT_ACKNOWLEDGE::Register>),
        (0x010 => end_of_interrupt: WriteOnly<u32, INTERRUPT_ACKNOWLEDGE::Register>),
        (0x014 => running_priority: ReadOnly<u32>),
        (0x018 => highest_pending: ReadOnly<u32>),
        (0x01C => _reserved0),
        (0x0FC => interface_id: ReadOnly<u32>),
        (0x100 => @END),
    }
}

/// INTIDs at and above this value are special (1020..1023), 1023 meaning "no interrupt pending".
pub const FIRST_SPECIAL_INTID: u32 = 1020;
/// The first shared peripheral interrupt.
pub const FIRST_SPI: u32 = 32;
/// Priority given to every interrupt the hypervisor uses (lower value is more urgent).
pub const DEFAULT_PRIORITY: u8 = 0xA0;
/// Priority mask letting every priority above the lowest through.
pub const PRIORITY_MASK_ALL: u32 = 0xF0;

/// A GICv2: distributor and the calling CPU's banked CPU interface.
pub struct GicV2 {
    distributor: &'static DistributorRegisters,
    cpu_interface: &'static CpuInterfaceRegisters,
    /// GICC_DIR, in the CPU interface's second page.
    deactivate: &'static WriteOnly<u32>,
}

// SAFETY: the distributor is built for concurrent use by every CPU (each register access is a
// single MMIO access; read-modify-write is only done on write-1-to-set/clear registers), and the
// CPU interface frame is banked: each CPU reaching it sees its own.
unsafe impl Sync for GicV2 {}
// SAFETY: as above; the driver holds nothing tied to one CPU.
unsafe impl Send for GicV2 {}

impl GicV2 {
    /// Creates the driver for the frames at `distributor` and `cpu_interface`.
    ///
    /// # Safety
    /// Both addresses must be the GIC's mapped register frames, used by nothing else that
    /// assumes exclusive ownership, for the rest of the program.
    /// `second_page_offset` locates the CPU interface's second page (GICC_DIR).
    #[must_use]
    pub const unsafe fn new(distributor: usize, cpu_interface: usize, second_page_offset: usize) -> Self {
        // SAFETY: the caller guarantees the addresses are valid, mapped, live register frames.
        unsafe {
            Self {
                distributor: &*(distributor as *const DistributorRegisters),
                cpu_interface: &*(cpu_interface as *const CpuInterfaceRegisters),
                deactivate: &*((cpu_interface + second_page_offset) as *const WriteOnly<u32>),
            }
        }
    }

    /// Number of interrupt lines the distributor implements (a multiple of 32, at most 1020).
    #[must_use]
    pub fn line_count(&self) -> u32 {
        let lines = 32 * (self.distributor.interrupt_controller_type.read(DISTRIBUTOR_TYPE::IT_LINES_NUMBER) + 1);
        lines.min(FIRST_SPECIAL_INTID)
    }

    /// Once, on the boot CPU: every SPI disabled and cleared, left in group 0 (signalled as IRQ
    /// since FIQ is not enabled), given the default priority and CPU interface 0; then the
    /// distributor enabled.
    pub fn init_distributor(&self) {
        self.distributor.control.set(0);
        let lines = self.line_count();
        for register in (FIRST_SPI / 32)..lines.div_ceil(32) {
            let index = register as usize;
            self.distributor.clear_enable[index].set(u32::MAX);
            self.distributor.clear_pending[index].set(u32::MAX);
            self.distributor.clear_active[index].set(u32::MAX);
        }
        for register in (FIRST_SPI / 4)..lines.div_ceil(4) {
            let index = register as usize;
            self.distributor.priority[index].set(replicate_byte(DEFAULT_PRIORITY));
            self.distributor.targets[index].set(replicate_byte(1));
        }
        self.distributor
            .control
            .write(DISTRIBUTOR_CONTROL::ENABLE_GROUP0::SET + DISTRIBUTOR_CONTROL::ENABLE_GROUP1::SET);
    }

    /// On every CPU: banked SGIs/PPIs disabled with default priority, CPU interface enabled.
    pub fn init_cpu_interface(&self) {
        self.distributor.clear_enable[0].set(u32::MAX);
        self.distributor.clear_pending[0].set(u32::MAX);
        for index in 0..(FIRST_SPI / 4) as usize {
            self.distributor.priority[index].set(replicate_byte(DEFAULT_PRIORITY));
        }
        self.cpu_interface.priority_mask.set(PRIORITY_MASK_ALL);
        self.cpu_interface.binary_point.set(0);
        // EOI mode 1: writing GICC_EOIR only drops the priority; GICC_DIR deactivates. The
        // interrupts forwarded to guests are deactivated by the guest's own EOI instead.
        self.cpu_interface.control.write(
            CPU_INTERFACE_CONTROL::ENABLE_GROUP0::SET
                + CPU_INTERFACE_CONTROL::ENABLE_GROUP1::SET
                + CPU_INTERFACE_CONTROL::EOI_MODE::SET,
        );
    }

    /// Enables interrupt `intid` (for SGIs and PPIs: on the calling CPU only).
    pub fn enable(&self, intid: u32) {
        if intid < FIRST_SPECIAL_INTID {
            self.distributor.set_enable[(intid / 32) as usize].set(1 << (intid % 32));
        }
    }

    /// Acknowledges the highest-priority pending interrupt; `None` when nothing is pending.
    /// The returned value is the raw GICC_IAR (source CPU included) to hand back at EOI.
    #[must_use]
    pub fn acknowledge(&self) -> Option<u32> {
        let raw = self.cpu_interface.interrupt_acknowledge.get();
        (raw & 0x3FF < FIRST_SPECIAL_INTID).then_some(raw)
    }

    /// Drops the running priority of the interrupt whose raw acknowledge value is `raw`.
    pub fn drop_priority(&self, raw: u32) {
        self.cpu_interface.end_of_interrupt.set(raw);
    }

    /// Deactivates the interrupt whose raw acknowledge value is `raw`.
    pub fn deactivate(&self, raw: u32) {
        self.deactivate.set(raw);
    }

    /// Disables interrupt `intid` (SGIs and PPIs: on the calling CPU).
    pub fn disable(&self, intid: u32) {
        if intid < FIRST_SPECIAL_INTID {
            self.distributor.clear_enable[(intid / 32) as usize].set(1 << (intid % 32));
        }
    }

    /// Whether `intid` is active (SGIs and PPIs: on the calling CPU).
    #[must_use]
    pub fn is_active(&self, intid: u32) -> bool {
        intid < FIRST_SPECIAL_INTID
            && self.distributor.set_active[(intid / 32) as usize].get() & (1 << (intid % 32)) != 0
    }

    /// Sets or clears the active state of `intid` (SGIs and PPIs: on the calling CPU).
    pub fn set_active(&self, intid: u32, active: bool) {
        if intid < FIRST_SPECIAL_INTID {
            let registers = if active { &self.distributor.set_active } else { &self.distributor.clear_active };
            registers[(intid / 32) as usize].set(1 << (intid % 32));
        }
    }

    /// Routes SPI `intid` to the CPU interfaces in `target_mask`.
    pub fn route(&self, intid: u32, target_mask: u8) {
        if (FIRST_SPI..FIRST_SPECIAL_INTID).contains(&intid) {
            let register = &self.distributor.targets[(intid / 4) as usize];
            let shift = (intid % 4) * 8;
            register.set((register.get() & !(0xFF << shift)) | (u32::from(target_mask) << shift));
        }
    }

    /// The calling CPU's own CPU interface mask (GICD_ITARGETSR0 is banked and reads as it).
    #[must_use]
    pub fn own_target_mask(&self) -> u8 {
        (self.distributor.targets[0].get() & 0xFF) as u8
    }

    /// Sends SGI `sgi` (0..16) to the CPU interfaces in `target_list` (bit n = interface n).
    pub fn send_sgi(&self, sgi: u32, target_list: u8) {
        self.distributor.software_generated_interrupt.set(sgir_value(sgi, target_list));
    }
}

/// The INTID in a raw acknowledge value.
#[must_use]
pub const fn intid_of(raw_acknowledge: u32) -> u32 {
    raw_acknowledge & 0x3FF
}

/// GICD_SGIR value sending `sgi` to the interfaces in `target_list`.
#[must_use]
pub const fn sgir_value(sgi: u32, target_list: u8) -> u32 {
    ((target_list as u32) << 16) | (sgi & 0xF)
}

const fn replicate_byte(byte: u8) -> u32 {
    u32::from_ne_bytes([byte; 4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_offsets() {
        assert_eq!(core::mem::offset_of!(DistributorRegisters, targets), 0x800);
        assert_eq!(core::mem::offset_of!(DistributorRegisters, software_generated_interrupt), 0xF00);
        assert_eq!(core::mem::offset_of!(CpuInterfaceRegisters, interrupt_acknowledge), 0xC);
        assert_eq!(core::mem::offset_of!(CpuInterfaceRegisters, end_of_interrupt), 0x10);
        assert_eq!(core::mem::size_of::<DistributorRegisters>(), 0x1000);
    }

    #[test]
    fn sgir_encoding() {
        assert_eq!(sgir_value(3, 0b0000_0110), 0x0006_0003);
        assert_eq!(sgir_value(17, 1), 0x0001_0001, "SGI number is 4 bits");
    }

    #[test]
    fn driver_programs_distributor() {
        let mut distributor = Box::new([0_u32; 0x400]);
        let mut cpu_interface = Box::new([0_u32; 0x40]);
        distributor[1] = 2; // ITLinesNumber 2: 96 lines
        // SAFETY: both boxes outlive the driver and are at least as large as the frames.
        let gic = unsafe { GicV2::new(distributor.as_mut_ptr() as usize, cpu_interface.as_mut_ptr() as usize, 0x80) };
        assert_eq!(gic.line_count(), 96);
        gic.init_distributor();
        gic.init_cpu_interface();
        gic.enable(26);
        gic.enable(40);
        assert_eq!(distributor[0], 0b11, "both groups enabled");
        assert_eq!(distributor[0x100 / 4], 1 << 26);
        assert_eq!(distributor[0x104 / 4], 1 << 8);
        assert_eq!(distributor[0x800 / 4 + 8], 0x0101_0101, "SPIs 32..36 target CPU 0");
        assert_eq!(distributor[0x400 / 4 + 10], 0xA0A0_A0A0);
        assert_eq!(cpu_interface[0], 0b11 | (1 << 9), "both groups, EOI mode 1");
        gic.route(41, 0b10);
        assert_eq!(distributor[0x800 / 4 + 10] >> 8 & 0xFF, 0b10);
        gic.deactivate(27);
        assert_eq!(cpu_interface[0x80 / 4], 27, "GICC_DIR in the second page");
        assert_eq!(cpu_interface[1], PRIORITY_MASK_ALL);
    }
}
