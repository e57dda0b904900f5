//! Somnus for the QEMU `virt` machine: memory map constants used when no device tree is found.
#![no_std]
#![no_main]

use somnus_abi::PhysAddr;
use somnus_abi::domain_bundle::DeviceGrant;
use somnus_abi::guest_platform;
use somnus_kernel::BoardDescriptor;
use somnus_kernel::board::PassthroughDevice;
use somnus_kernel::platform::{GicInfo, MemoryRegion, PlatformInfo, UartInfo, UartKind};

mod services;
mod wall_clock;

somnus_kernel::declare_board!(BoardDescriptor {
    name: "qemu-virt",
    // QEMU leaves its device tree at the start of RAM when it starts an ELF image with x0 = 0.
    device_tree_probe: Some(PhysAddr(0x4000_0000)),
    fallback_platform: PlatformInfo {
        ram: [
            MemoryRegion { base: PhysAddr(0x4000_0000), size: 0x4000_0000 },
            MemoryRegion::EMPTY,
            MemoryRegion::EMPTY,
            MemoryRegion::EMPTY,
        ],
        ram_count: 1,
        cpu_mpidrs: [0, 1, 2, 3, 4, 5, 6, 7],
        cpu_count: 1,
        gic: GicInfo::V2 {
            distributor: PhysAddr(0x0800_0000),
            cpu_interface: PhysAddr(0x0801_0000),
            hypervisor_interface: Some(PhysAddr(0x0803_0000)),
            virtual_cpu_interface: Some(PhysAddr(0x0804_0000)),
            second_page_offset: 0x1000,
        },
        uart: UartInfo { kind: UartKind::Pl011, base: PhysAddr(0x0900_0000), intid: Some(33) },
        hypervisor_timer_intid: 26,
        virtual_timer_intid: 27,
        maintenance_intid: 25,
    },
    domain_bundle: include_bytes!(concat!(env!("OUT_DIR"), "/domains.bundle")),
    register_services: services::register,
    passthrough_devices: &[PassthroughDevice {
        grant: DeviceGrant::Rtc,
        host_frame: PhysAddr(0x0901_0000),
        guest_frame: guest_platform::RTC,
        intid: 32 + guest_platform::RTC_SPI,
    }],
});
