//! Types shared by the Somnus kernel, its services and the host tools: addresses, the guest
//! platform, the domain bundle, messages and actions.
#![no_std]

pub mod address;
pub mod domain_bundle;
pub mod framing;
pub mod guest_platform;
pub mod ids;
pub mod ipc;
pub mod management;

pub use address::{GuestPhysAddr, PhysAddr, VirtAddr};

/// Version of this ABI; bumped whenever a message or action changes shape.
pub const ABI_VERSION: u32 = 1;
