//! Types shared by the Somnus kernel, its services and the host tools: addresses, messages, actions.
#![no_std]

pub mod address;

pub use address::{GuestPhysAddr, PhysAddr, VirtAddr};

/// Version of this ABI; bumped whenever a message or action changes shape.
pub const ABI_VERSION: u32 = 1;
