//! Address newtypes, so a host physical, guest physical and virtual address can never be mixed up.

use core::fmt;

use serde::{Deserialize, Serialize};

macro_rules! address_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[repr(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The raw address value.
            #[must_use]
            pub const fn as_u64(self) -> u64 {
                self.0
            }

            /// This address plus `offset` bytes, or `None` on overflow.
            #[must_use]
            pub const fn checked_add(self, offset: u64) -> Option<Self> {
                match self.0.checked_add(offset) {
                    Some(value) => Some(Self(value)),
                    None => None,
                }
            }

            /// Whether the address is a multiple of `alignment` (a power of two).
            #[must_use]
            pub const fn is_aligned(self, alignment: u64) -> bool {
                self.0 & (alignment - 1) == 0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "{}({:#x})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "{:#x}", self.0)
            }
        }
    };
}

address_type!(
    /// A host physical address (what the hypervisor's own translation maps to).
    PhysAddr
);
address_type!(
    /// A guest physical (intermediate physical) address, translated by stage 2.
    GuestPhysAddr
);
address_type!(
    /// A virtual address in the hypervisor's EL2 translation regime.
    VirtAddr
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_add_detects_overflow() {
        assert_eq!(PhysAddr(0x1000).checked_add(0x10), Some(PhysAddr(0x1010)));
        assert_eq!(PhysAddr(u64::MAX).checked_add(1), None);
    }

    #[test]
    fn alignment() {
        assert!(GuestPhysAddr(0x4000_0000).is_aligned(0x20_0000));
        assert!(!GuestPhysAddr(0x4000_1000).is_aligned(0x20_0000));
    }

    #[test]
    fn formats_as_hex() {
        extern crate std;
        use std::format;
        assert_eq!(format!("{}", PhysAddr(0x900_0000)), "0x9000000");
        assert_eq!(format!("{:?}", VirtAddr(0x10)), "VirtAddr(0x10)");
    }
}
