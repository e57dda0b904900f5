//! What the hypervisor knows about the machine it runs on: RAM, CPUs, GIC, console UART, timer.
//!
//! Filled from the boot loader's device tree (see `device_tree`), or from a board's constants when
//! there is none. Fixed-size arrays keep it constructible in a `const` board descriptor.

use somnus_abi::PhysAddr;

/// Most physical CPUs the hypervisor brings up.
pub const MAX_CPUS: usize = 8;
/// Most distinct RAM ranges recorded.
pub const MAX_RAM_REGIONS: usize = 4;

/// A range of physical memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    /// First byte of the range.
    pub base: PhysAddr,
    /// Length in bytes.
    pub size: u64,
}

impl MemoryRegion {
    /// An empty region (used to fill unused slots).
    pub const EMPTY: Self = Self { base: PhysAddr(0), size: 0 };

    /// One past the last byte.
    #[must_use]
    pub const fn end(&self) -> u64 {
        self.base.0.saturating_add(self.size)
    }

    /// Whether `address` lies inside the region.
    #[must_use]
    pub const fn contains(&self, address: u64) -> bool {
        address >= self.base.0 && address < self.end()
    }
}

/// Which interrupt controller the machine has and where its frames are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GicInfo {
    /// GICv2 (GIC-400 and QEMU's `arm,cortex-a15-gic`).
    V2 {
        /// Distributor (GICD).
        distributor: PhysAddr,
        /// Physical CPU interface (GICC).
        cpu_interface: PhysAddr,
        /// Virtual interface control (GICH), when the GIC has virtualization extensions.
        hypervisor_interface: Option<PhysAddr>,
        /// Virtual CPU interface (GICV), when the GIC has virtualization extensions.
        virtual_cpu_interface: Option<PhysAddr>,
        /// Distance from a CPU interface's first 4 KiB page to its second (GICC_DIR, GICV_DIR):
        /// 0x1000 normally, 0x10000 where the SoC aliases each page over 64 KiB (ZynqMP), as a
        /// 128 KiB `reg` size announces.
        second_page_offset: u64,
    },
    /// GICv3 with system-register CPU interface.
    V3 {
        /// Distributor (GICD).
        distributor: PhysAddr,
        /// First redistributor frame (GICR, RD_base of CPU 0).
        redistributors: PhysAddr,
        /// Size of the redistributor region.
        redistributor_region_size: u64,
    },
}

impl GicInfo {
    /// The architecture version number, 2 or 3.
    #[must_use]
    pub const fn version(&self) -> u8 {
        match self {
            Self::V2 { .. } => 2,
            Self::V3 { .. } => 3,
        }
    }

    /// The distributor's physical address.
    #[must_use]
    pub const fn distributor(&self) -> PhysAddr {
        match self {
            Self::V2 { distributor, .. } | Self::V3 { distributor, .. } => *distributor,
        }
    }
}

/// The kind of console UART.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UartKind {
    /// Arm PrimeCell PL011 (QEMU `virt`).
    Pl011,
    /// Cadence UART (Xilinx ZynqMP UART0/1).
    Cadence,
}

/// The console UART.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UartInfo {
    /// Device type.
    pub kind: UartKind,
    /// Base address of its register frame.
    pub base: PhysAddr,
    /// Its interrupt (an SPI), for console input.
    pub intid: Option<u32>,
}

/// Everything the kernel needs to know about the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlatformInfo {
    /// RAM ranges; only the first `ram_count` are valid.
    pub ram: [MemoryRegion; MAX_RAM_REGIONS],
    /// Number of valid entries in `ram`.
    pub ram_count: usize,
    /// MPIDR affinity value of each CPU, in device-tree order; only `cpu_count` are valid.
    pub cpu_mpidrs: [u64; MAX_CPUS],
    /// Number of valid entries in `cpu_mpidrs`.
    pub cpu_count: usize,
    /// Interrupt controller.
    pub gic: GicInfo,
    /// Console UART.
    pub uart: UartInfo,
    /// INTID of the EL2 physical timer (PPI 10, INTID 26, on every known board).
    pub hypervisor_timer_intid: u32,
    /// INTID of the virtual timer (PPI 11, INTID 27).
    pub virtual_timer_intid: u32,
    /// INTID of the GIC virtualization maintenance interrupt (PPI 9, INTID 25).
    pub maintenance_intid: u32,
}

impl PlatformInfo {
    /// The valid RAM ranges.
    #[must_use]
    pub fn ram_regions(&self) -> &[MemoryRegion] {
        &self.ram[..self.ram_count]
    }

    /// The valid CPU MPIDR values.
    #[must_use]
    pub fn cpus(&self) -> &[u64] {
        &self.cpu_mpidrs[..self.cpu_count]
    }

    /// The index of the CPU whose MPIDR affinity fields equal `mpidr`'s.
    #[must_use]
    pub fn cpu_index_of(&self, mpidr: u64) -> Option<usize> {
        let affinity = mpidr & MPIDR_AFFINITY_MASK;
        self.cpus().iter().position(|&cpu| cpu & MPIDR_AFFINITY_MASK == affinity)
    }

    /// Whether `address` is in RAM.
    #[must_use]
    pub fn is_ram(&self, address: u64) -> bool {
        self.ram_regions().iter().any(|region| region.contains(address))
    }
}

/// The affinity fields Aff3..Aff0 of MPIDR_EL1.
pub const MPIDR_AFFINITY_MASK: u64 = 0xFF_00FF_FFFF;

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PlatformInfo {
        PlatformInfo {
            ram: [
                MemoryRegion { base: PhysAddr(0x4000_0000), size: 0x4000_0000 },
                MemoryRegion::EMPTY,
                MemoryRegion::EMPTY,
                MemoryRegion::EMPTY,
            ],
            ram_count: 1,
            cpu_mpidrs: [0, 1, 2, 3, 0, 0, 0, 0],
            cpu_count: 4,
            gic: GicInfo::V3 {
                distributor: PhysAddr(0x800_0000),
                redistributors: PhysAddr(0x80A_0000),
                redistributor_region_size: 0xF6_0000,
            },
            uart: UartInfo { kind: UartKind::Pl011, base: PhysAddr(0x900_0000), intid: Some(33) },
            hypervisor_timer_intid: 26,
            virtual_timer_intid: 27,
            maintenance_intid: 25,
        }
    }

    #[test]
    fn cpu_index_ignores_non_affinity_bits() {
        let platform = sample();
        assert_eq!(platform.cpu_index_of(0x8000_0002), Some(2));
        assert_eq!(platform.cpu_index_of(4), None);
    }

    #[test]
    fn ram_membership() {
        let platform = sample();
        assert!(platform.is_ram(0x4000_0000));
        assert!(platform.is_ram(0x7FFF_FFFF));
        assert!(!platform.is_ram(0x8000_0000));
        assert!(!platform.is_ram(0x900_0000));
        assert_eq!(platform.gic.version(), 3);
    }
}
