//! Somnus for the Xilinx ZCU102 (ZynqMP): memory map constants used when no device tree is passed
//! (QEMU's `xlnx-zcu102` passes none; U-Boot on the real board does), and the SoC's second UART,
//! which a domain can be given (`devices = ["uart1"]`).
#![no_std]
#![no_main]

use somnus_abi::PhysAddr;
use somnus_abi::domain_bundle::DeviceGrant;
use somnus_abi::guest_platform;
use somnus_kernel::BoardDescriptor;
use somnus_kernel::board::PassthroughDevice;
use somnus_kernel::platform::{GicInfo, MemoryRegion, PlatformInfo, UartInfo, UartKind};

#[path = "../../qemu-virt/src/services.rs"]
mod services;
mod wall_clock;

somnus_kernel::declare_board!(BoardDescriptor {
    name: "zcu102",
    device_tree_probe: None,
    fallback_platform: PlatformInfo {
        ram: [
            // The low 2 GiB of DDR; the upper DDR at 0x8_0000_0000 is left to a device tree.
            MemoryRegion { base: PhysAddr(0), size: 0x8000_0000 },
            MemoryRegion::EMPTY,
            MemoryRegion::EMPTY,
            MemoryRegion::EMPTY,
        ],
        ram_count: 1,
        cpu_mpidrs: [0, 1, 2, 3, 0, 0, 0, 0],
        cpu_count: 4,
        gic: GicInfo::V2 {
            distributor: PhysAddr(0xF901_0000),
            cpu_interface: PhysAddr(0xF902_0000),
            hypervisor_interface: Some(PhysAddr(0xF904_0000)),
            virtual_cpu_interface: Some(PhysAddr(0xF906_0000)),
            // ZynqMP aliases each 4 KiB GIC page over 64 KiB.
            second_page_offset: 0x1_0000,
        },
        uart: UartInfo { kind: UartKind::Cadence, base: PhysAddr(0xFF00_0000), intid: Some(53) },
        hypervisor_timer_intid: 26,
        virtual_timer_intid: 27,
        maintenance_intid: 25,
    },
    domain_bundle: include_bytes!(concat!(env!("OUT_DIR"), "/domains.bundle")),
    register_services: services::register,
    // Guests get a virtual PL031 (services.rs): the ZynqMP RTC is not the device they expect.
    // UART1 (UART0 is the console) is the device a domain can have: its frame and SPI 22.
    passthrough_devices: &[PassthroughDevice {
        grant: DeviceGrant::Uart1,
        host_frame: PhysAddr(0xFF01_0000),
        guest_frame: guest_platform::CADENCE_UART1,
        intid: 32 + guest_platform::CADENCE_UART1_SPI,
    }],
});
