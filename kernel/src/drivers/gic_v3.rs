//! GICv3 distributor (GICD) and redistributors (GICR); the CPU interface is in
//! `arch::aarch64::gic_v3_cpu_interface` because it is made of system registers.
//!
//! The hypervisor runs with affinity routing enabled and every interrupt in non-secure group 1.

use tock_registers::interfaces::{ReadWriteable, Readable, Writeable};
use tock_registers::registers::{ReadOnly, ReadWrite};
use tock_registers::{register_bitfields, register_structs};

register_bitfields! {u32,
    /// GICD_CTLR, single security state (DS = 1) or its non-secure view.
    DISTRIBUTOR_CONTROL [
        ENABLE_GROUP0 OFFSET(0) NUMBITS(1) [],
        ENABLE_GROUP1 OFFSET(1) NUMBITS(1) [],
        AFFINITY_ROUTING_ENABLE OFFSET(4) NUMBITS(1) [],
        DISABLE_SECURITY OFFSET(6) NUMBITS(1) [],
        REGISTER_WRITE_PENDING OFFSET(31) NUMBITS(1) []
    ],
    /// GICD_TYPER.
    DISTRIBUTOR_TYPE [
        IT_LINES_NUMBER OFFSET(0) NUMBITS(5) []
    ],
    /// GICR_WAKER.
    REDISTRIBUTOR_WAKE [
        PROCESSOR_SLEEP OFFSET(1) NUMBITS(1) [],
        CHILDREN_ASLEEP OFFSET(2) NUMBITS(1) []
    ],
    /// GICR_CTLR.
    REDISTRIBUTOR_CONTROL [
        REGISTER_WRITE_PENDING OFFSET(3) NUMBITS(1) []
    ]
}

register_bitfields! {u64,
    /// GICR_TYPER.
    REDISTRIBUTOR_TYPE [
        LAST OFFSET(4) NUMBITS(1) [],
        PROCESSOR_NUMBER OFFSET(8) NUMBITS(16) [],
        AFFINITY_VALUE OFFSET(32) NUMBITS(32) []
    ]
}

register_structs! {
    /// The GICv3 distributor register frame (64 KiB).
    DistributorRegisters {
        (0x0000 => control: ReadWrite<u32, DISTRIBUTOR_CONTROL::Register>),
        (0x0004 => interrupt_controller_type: ReadOnly<u32, DISTRIBUTOR_TYPE::Register>),
        (0x0008 => implementer_id: ReadOnly<u32>),
        (0x000C => _reserved0),
        (0x0080 => group: [ReadWrite<u32>; 32]),
        (0x0100 => set_enable: [ReadWrite<u32>; 32]),
        (0x0180 => clear_enable: [ReadWrite<u32>; 32]),
        (0x0200 => set_pending: [ReadWrite<u32>; 32]),
        (0x0280 => clear_pending: [ReadWrite<u32>; 32]),
        (0x0300 => set_active: [ReadWrite<u32>; 32]),
        (0x0380 => clear_active: [ReadWrite<u32>; 32]),
        (0x0400 => priority: [ReadWrite<u32>; 255]),
        (0x07FC => _reserved1),
        (0x0C00 => configuration: [ReadWrite<u32>; 64]),
        (0x0D00 => group_modifier: [ReadWrite<u32>; 32]),
        (0x0D80 => _reserved2),
        (0x6100 => routing: [ReadWrite<u64>; 988]),
        (0x7FE0 => _reserved3),
        (0x10000 => @END),
    }
}

register_structs! {
    /// One redistributor: the RD_base frame followed by the SGI_base frame (2 × 64 KiB).
    RedistributorRegisters {
        (0x00000 => control: ReadWrite<u32, REDISTRIBUTOR_CONTROL::Register>),
        (0x00004 => implementer_id: ReadOnly<u32>),
        (0x00008 => redistributor_type: ReadOnly<u64, REDISTRIBUTOR_TYPE::Register>),
        (0x00010 => _reserved0),
        (0x00014 => wake: ReadWrite<u32, REDISTRIBUTOR_WAKE::Register>),
        (0x00018 => _reserved1),
        (0x10080 => group: ReadWrite<u32>),
        (0x10084 => _reserved2),
        (0x10100 => set_enable: ReadWrite<u32>),
        (0x10104 => _reserved3),
        (0x10180 => clear_enable: ReadWrite<u32>),
        (0x10184 => _reserved4),
        (0x10280 => clear_pending: ReadWrite<u32>),
        (0x10284 => _reserved5),
        (0x10300 => set_active: ReadWrite<u32>),
        (0x10304 => _reserved9),
        (0x10380 => clear_active: ReadWrite<u32>),
        (0x10384 => _reserved6),
        (0x10400 => priority: [ReadWrite<u32>; 8]),
        (0x10420 => _reserved7),
        (0x10D00 => group_modifier: ReadWrite<u32>),
        (0x10D04 => _reserved8),
        (0x20000 => @END),
    }
}

/// Distance between consecutive redistributors (RD_base + SGI_base, no virtual LPI frames).
pub const REDISTRIBUTOR_STRIDE: usize = 0x2_0000;
/// The first shared peripheral interrupt.
pub const FIRST_SPI: u32 = 32;
/// INTIDs at and above this value are special.
pub const FIRST_SPECIAL_INTID: u32 = 1020;
/// Priority given to every interrupt the hypervisor uses.
pub const DEFAULT_PRIORITY: u8 = 0xA0;

/// Why a redistributor could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedistributorError {
    /// No redistributor in the region reports this CPU's affinity.
    NotFound,
}

/// A GICv3 distributor with its redistributor region.
pub struct GicV3 {
    distributor: &'static DistributorRegisters,
    redistributor_base: usize,
    redistributor_region_size: usize,
}

// SAFETY: the distributor is built for concurrent use by every CPU (each register access is a
// single MMIO access; only write-1-to-set/clear registers are used after set-up), and each CPU
// only touches its own redistributor.
unsafe impl Sync for GicV3 {}
// SAFETY: as above; the driver holds nothing tied to one CPU.
unsafe impl Send for GicV3 {}

impl GicV3 {
    /// Creates the driver for the distributor at `distributor` and the redistributors in
    /// `[redistributor_base, redistributor_base + redistributor_region_size)`.
    ///
    /// # Safety
    /// The ranges must be the GIC's mapped register frames for the rest of the program.
    #[must_use]
    pub const unsafe fn new(distributor: usize, redistributor_base: usize, redistributor_region_size: usize) -> Self {
        Self {
            // SAFETY: the caller guarantees `distributor` is the live, mapped GICD frame.
            distributor: unsafe { &*(distributor as *const DistributorRegisters) },
            redistributor_base,
            redistributor_region_size,
        }
    }

    /// Number of interrupt lines the distributor implements (a multiple of 32, at most 1020).
    #[must_use]
    pub fn line_count(&self) -> u32 {
        let lines = 32 * (self.distributor.interrupt_controller_type.read(DISTRIBUTOR_TYPE::IT_LINES_NUMBER) + 1);
        lines.min(FIRST_SPECIAL_INTID)
    }

    fn wait_for_distributor_writes(&self) {
        while self.distributor.control.is_set(DISTRIBUTOR_CONTROL::REGISTER_WRITE_PENDING) {
            core::hint::spin_loop();
        }
    }

    /// Once, on the boot CPU: every SPI disabled, in non-secure group 1, default priority,
    /// routed to the CPU with affinity `boot_affinity`; affinity routing and group 1 enabled.
    pub fn init_distributor(&self, boot_affinity: u64) {
        self.distributor.control.set(0);
        self.wait_for_distributor_writes();
        let lines = self.line_count();
        for register in (FIRST_SPI / 32)..lines.div_ceil(32) {
            let index = register as usize;
            self.distributor.clear_enable[index].set(u32::MAX);
            self.distributor.clear_pending[index].set(u32::MAX);
            self.distributor.clear_active[index].set(u32::MAX);
            self.distributor.group[index].set(u32::MAX);
            self.distributor.group_modifier[index].set(0);
        }
        for register in (FIRST_SPI / 4)..lines.div_ceil(4) {
            self.distributor.priority[register as usize].set(u32::from_ne_bytes([DEFAULT_PRIORITY; 4]));
        }
        for intid in FIRST_SPI..lines {
            self.distributor.routing[(intid - FIRST_SPI) as usize].set(routing_value(boot_affinity));
        }
        self.wait_for_distributor_writes();
        self.distributor
            .control
            .write(DISTRIBUTOR_CONTROL::AFFINITY_ROUTING_ENABLE::SET + DISTRIBUTOR_CONTROL::ENABLE_GROUP1::SET);
        self.wait_for_distributor_writes();
    }

    /// The redistributor whose affinity equals `mpidr`'s.
    fn redistributor_of(&self, mpidr: u64) -> Result<&'static RedistributorRegisters, RedistributorError> {
        let wanted = affinity_value(mpidr);
        let mut offset = 0;
        while offset + REDISTRIBUTOR_STRIDE <= self.redistributor_region_size {
            // SAFETY: `offset` stays inside the redistributor region the caller of `new`
            // guaranteed to be mapped; each frame is REDISTRIBUTOR_STRIDE bytes.
            let frame = unsafe { &*((self.redistributor_base + offset) as *const RedistributorRegisters) };
            let found = frame.redistributor_type.read(REDISTRIBUTOR_TYPE::AFFINITY_VALUE);
            if found == wanted as u64 {
                return Ok(frame);
            }
            if frame.redistributor_type.is_set(REDISTRIBUTOR_TYPE::LAST) {
                break;
            }
            offset += REDISTRIBUTOR_STRIDE;
        }
        Err(RedistributorError::NotFound)
    }

    /// On every CPU: wakes its redistributor and puts its SGIs/PPIs in group 1, disabled, with the
    /// default priority.
    pub fn init_redistributor(&self, mpidr: u64) -> Result<(), RedistributorError> {
        let redistributor = self.redistributor_of(mpidr)?;
        redistributor.wake.modify(REDISTRIBUTOR_WAKE::PROCESSOR_SLEEP::CLEAR);
        while redistributor.wake.is_set(REDISTRIBUTOR_WAKE::CHILDREN_ASLEEP) {
            core::hint::spin_loop();
        }
        redistributor.clear_enable.set(u32::MAX);
        redistributor.clear_pending.set(u32::MAX);
        redistributor.clear_active.set(u32::MAX);
        redistributor.group.set(u32::MAX);
        redistributor.group_modifier.set(0);
        for priority in &redistributor.priority {
            priority.set(u32::from_ne_bytes([DEFAULT_PRIORITY; 4]));
        }
        while redistributor.control.is_set(REDISTRIBUTOR_CONTROL::REGISTER_WRITE_PENDING) {
            core::hint::spin_loop();
        }
        Ok(())
    }

    /// Disables interrupt `intid`; SGIs and PPIs on the CPU with affinity `mpidr`.
    pub fn disable(&self, intid: u32, mpidr: u64) -> Result<(), RedistributorError> {
        if intid < FIRST_SPI {
            self.redistributor_of(mpidr)?.clear_enable.set(1 << intid);
        } else if intid < FIRST_SPECIAL_INTID {
            self.distributor.clear_enable[(intid / 32) as usize].set(1 << (intid % 32));
        }
        Ok(())
    }

    /// Whether the private interrupt `intid` of the CPU with affinity `mpidr` is active.
    pub fn is_active(&self, intid: u32, mpidr: u64) -> Result<bool, RedistributorError> {
        Ok(intid < FIRST_SPI && self.redistributor_of(mpidr)?.set_active.get() & (1 << intid) != 0)
    }

    /// Sets or clears the active state of private interrupt `intid` of the CPU `mpidr`.
    pub fn set_active(&self, intid: u32, mpidr: u64, active: bool) -> Result<(), RedistributorError> {
        if intid < FIRST_SPI {
            let redistributor = self.redistributor_of(mpidr)?;
            let register = if active { &redistributor.set_active } else { &redistributor.clear_active };
            register.set(1 << intid);
        }
        Ok(())
    }

    /// Routes SPI `intid` to the CPU with affinity `mpidr`.
    pub fn route(&self, intid: u32, mpidr: u64) {
        if (FIRST_SPI..self.line_count()).contains(&intid) {
            self.distributor.routing[(intid - FIRST_SPI) as usize].set(routing_value(mpidr));
        }
    }

    /// Enables interrupt `intid`; SGIs and PPIs on the CPU with affinity `mpidr`.
    pub fn enable(&self, intid: u32, mpidr: u64) -> Result<(), RedistributorError> {
        if intid < FIRST_SPI {
            self.redistributor_of(mpidr)?.set_enable.set(1 << intid);
        } else if intid < FIRST_SPECIAL_INTID {
            self.distributor.set_enable[(intid / 32) as usize].set(1 << (intid % 32));
        }
        Ok(())
    }
}

/// The Aff3.Aff2.Aff1.Aff0 value GICR_TYPER reports for the CPU with `mpidr`.
#[must_use]
pub const fn affinity_value(mpidr: u64) -> u32 {
    (((mpidr >> 32) & 0xFF) << 24 | (mpidr & 0xFF_FFFF)) as u32
}

/// ICC_SGI1R_EL1 value sending SGI `sgi` to the one CPU with `mpidr`.
#[must_use]
pub const fn sgi1r_value(sgi: u32, mpidr: u64) -> u64 {
    let affinity0 = mpidr & 0xFF;
    let affinity1 = (mpidr >> 8) & 0xFF;
    let affinity2 = (mpidr >> 16) & 0xFF;
    let affinity3 = (mpidr >> 32) & 0xFF;
    (affinity3 << 48)
        | ((affinity0 / 16) << 44)
        | (affinity2 << 32)
        | (((sgi & 0xF) as u64) << 24)
        | (affinity1 << 16)
        | (1 << (affinity0 % 16))
}

/// GICD_IROUTER value routing an SPI to the CPU with `mpidr` (Interrupt_Routing_Mode = 0).
#[must_use]
pub const fn routing_value(mpidr: u64) -> u64 {
    mpidr & 0xFF_00FF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_offsets() {
        assert_eq!(core::mem::offset_of!(DistributorRegisters, routing), 0x6100);
        assert_eq!(core::mem::offset_of!(DistributorRegisters, group_modifier), 0xD00);
        assert_eq!(core::mem::offset_of!(RedistributorRegisters, wake), 0x14);
        assert_eq!(core::mem::offset_of!(RedistributorRegisters, set_enable), 0x1_0100);
        assert_eq!(core::mem::size_of::<RedistributorRegisters>(), REDISTRIBUTOR_STRIDE);
    }

    #[test]
    fn sgi_encoding() {
        assert_eq!(sgi1r_value(0, 0), 1);
        assert_eq!(sgi1r_value(3, 0x0000_0012_0003_0405), 0x0012_0003_0304_0020);
        assert_eq!(sgi1r_value(1, 17), (1 << 44) | (1 << 24) | 2);
    }

    #[test]
    fn affinity_encodings() {
        assert_eq!(affinity_value(0x0000_00AB_8001_0203), 0xAB01_0203);
        assert_eq!(routing_value(0x0000_00AB_8001_0203), 0x0000_00AB_0001_0203);
    }

    #[test]
    fn finds_redistributor_by_affinity() {
        // Three redistributors with affinities 0, 1, 2; the last one flagged Last.
        let words = 3 * REDISTRIBUTOR_STRIDE / 8;
        let mut region = vec![0_u64; words];
        for cpu in 0..3_usize {
            let typer = (cpu as u64) << 32 | if cpu == 2 { 1 << 4 } else { 0 };
            region[cpu * REDISTRIBUTOR_STRIDE / 8 + 1] = typer;
        }
        let base = region.as_mut_ptr() as usize;
        let mut distributor = vec![0_u64; 0x10000 / 8];
        // SAFETY: both vectors outlive the driver and cover the frames it touches.
        let gic = unsafe { GicV3::new(distributor.as_mut_ptr() as usize, base, region.len() * 8) };
        assert!(gic.init_redistributor(2).is_ok());
        assert_eq!(gic.init_redistributor(3), Err(RedistributorError::NotFound));
        assert!(gic.enable(27, 1).is_ok());
        // SGI_base ISENABLER0 of redistributor 1.
        let set_enable_word = (REDISTRIBUTOR_STRIDE + 0x1_0100) / 8;
        assert_eq!(region[set_enable_word] & 0xFFFF_FFFF, 1 << 27);
        assert!(gic.enable(40, 0).is_ok());
        assert_eq!(distributor[0x100 / 8] >> 32, 1 << 8, "GICD_ISENABLER1 bit 8");
    }
}
