//! The machine every domain sees, on every board: a QEMU-`virt`-compatible memory map.
//!
//! Build-time tools generate each guest's device tree from these constants; the hypervisor maps
//! and emulates devices at the same addresses.

use crate::GuestPhysAddr;

/// Start of guest RAM.
pub const RAM_BASE: GuestPhysAddr = GuestPhysAddr(0x4000_0000);
/// Where a raw kernel without an arm64 Image header is loaded (as QEMU's direct boot does).
pub const RAW_KERNEL_OFFSET: u64 = 0x8_0000;
/// GIC distributor.
pub const GIC_DISTRIBUTOR: GuestPhysAddr = GuestPhysAddr(0x0800_0000);
/// GICv2 CPU interface (backed by the hardware's virtual CPU interface).
pub const GICV2_CPU_INTERFACE: GuestPhysAddr = GuestPhysAddr(0x0801_0000);
/// Size of the GICv2 CPU interface region.
pub const GICV2_CPU_INTERFACE_SIZE: u64 = 0x2000;
/// First GICv3 redistributor.
pub const GICV3_REDISTRIBUTORS: GuestPhysAddr = GuestPhysAddr(0x080A_0000);
/// Bytes of redistributor space per vCPU (RD_base and SGI_base frames).
pub const GICV3_REDISTRIBUTOR_STRIDE: u64 = 0x2_0000;
/// Size of the GIC distributor region.
pub const GIC_DISTRIBUTOR_SIZE: u64 = 0x1_0000;
/// PL011 UART.
pub const UART: GuestPhysAddr = GuestPhysAddr(0x0900_0000);
/// PL031 real-time clock.
pub const RTC: GuestPhysAddr = GuestPhysAddr(0x0901_0000);
/// The ZynqMP's second Cadence UART (UART1), when a zcu102 domain is given it: at its address on
/// the SoC, far above the QEMU-`virt` device window and above any guest RAM (a zcu102 domain has
/// less than 2 GiB, so its RAM ends below 0xC000_0000).
pub const CADENCE_UART1: GuestPhysAddr = GuestPhysAddr(0xFF01_0000);
/// Size of one small device frame (UART, RTC).
pub const DEVICE_FRAME_SIZE: u64 = 0x1000;
/// SPI number (INTID - 32) of the UART.
pub const UART_SPI: u32 = 1;
/// SPI number (INTID - 32) of the RTC.
pub const RTC_SPI: u32 = 2;
/// SPI number (INTID - 32) of the ZynqMP's UART1, the same as on the SoC.
pub const CADENCE_UART1_SPI: u32 = 22;
/// PPI numbers (INTID - 16) of the timer in device-tree order: secure physical, non-secure
/// physical, virtual, hypervisor physical.
pub const TIMER_PPIS: [u32; 4] = [13, 14, 11, 10];
/// PPI number of the GIC maintenance interrupt.
pub const GIC_MAINTENANCE_PPI: u32 = 9;
/// Most vCPUs one domain may have.
pub const MAX_VCPUS: usize = 8;
