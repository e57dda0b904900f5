//! The description a board crate hands to the kernel: its name and what to assume without a device tree.

use somnus_abi::domain_bundle::DeviceGrant;
use somnus_abi::{GuestPhysAddr, PhysAddr};

use crate::platform::PlatformInfo;
use crate::service_host::ServiceRegistry;

/// A board, as the kernel sees it. Boards are the composition root: the kernel names none of them.
#[derive(Debug)]
pub struct BoardDescriptor {
    /// Short name printed in the ready line (`qemu-virt`, `zcu102`).
    pub name: &'static str,
    /// Where a boot loader may have left a device tree when it passed none in x0
    /// (QEMU's `virt` does so for ELF images: at the start of RAM).
    pub device_tree_probe: Option<PhysAddr>,
    /// The machine description used when no device tree is found.
    pub fallback_platform: PlatformInfo,
    /// The domains to start, as `cargo xtask` bundled them (empty: none).
    pub domain_bundle: &'static [u8],
    /// Creates the board's services and registers them with their routes, for this machine.
    pub register_services: fn(&mut ServiceRegistry, &PlatformInfo),
    /// The board's devices that a domain can be given, with where they are.
    pub passthrough_devices: &'static [PassthroughDevice],
}

/// A device of the board that a domain's configuration can name, passed through to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassthroughDevice {
    /// The name a domain configuration uses for it.
    pub grant: DeviceGrant,
    /// Its 4 KiB register frame on the machine.
    pub host_frame: PhysAddr,
    /// Where the guest sees the frame.
    pub guest_frame: GuestPhysAddr,
    /// Its interrupt (the same INTID for the machine and the guest).
    pub intid: u32,
}

/// Defines the board a hypervisor image is built for; use once, in the board crate.
#[macro_export]
macro_rules! declare_board {
    ($descriptor:expr $(,)?) => {
        /// The board this image runs on, read by the kernel at boot.
        #[unsafe(no_mangle)]
        static SOMNUS_BOARD: $crate::BoardDescriptor = $descriptor;
    };
}
