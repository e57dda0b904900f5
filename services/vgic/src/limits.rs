//! What the virtual GIC supports: the GIC version, how many domains, vCPUs and interrupts, and
//! how an INTID splits into SGIs, PPIs and SPIs.

pub use somnus_abi::guest_platform::MAX_VCPUS;

/// Most domains the service keeps state for (a domain's index must be below this).
pub const MAX_DOMAINS: usize = 8;
/// Software-generated interrupts: INTIDs 0 to 15, banked per vCPU.
pub const SGI_COUNT: u32 = 16;
/// SGIs and PPIs: INTIDs 0 to 31, banked per vCPU.
pub const PRIVATE_COUNT: u32 = 32;
/// Shared peripheral interrupts a domain sees: INTIDs 32 to 191. This covers every SPI of the
/// ZynqMP's GIC-400 (160) and all the devices of QEMU's `virt` machine that a domain gets, so
/// every interrupt a board can pass through fits.
pub const SPI_COUNT: u32 = 160;
/// First INTID past the supported ones; everything from here on is RAZ/WI.
pub const INTID_LIMIT: u32 = PRIVATE_COUNT + SPI_COUNT;
/// 32-bit words of one-bit-per-INTID state for the SPIs.
pub const SPI_WORDS: usize = (SPI_COUNT / 32) as usize;
/// GICD_TYPER.ITLinesNumber: the supported INTIDs are `32 * (N + 1)`.
pub const IT_LINES_NUMBER: u32 = INTID_LIMIT / 32 - 1;
/// Priority bits implemented (the top five, as the list registers carry them).
pub const PRIORITY_MASK: u8 = 0xF8;

/// The GIC architecture the guests see; the same for every domain (the machine's version, as the
/// hardware virtualization of the CPU interface is used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GicVersion {
    /// GICv2: a distributor with ITARGETSR routing and GICD_SGIR.
    V2,
    /// GICv3: affinity routing (IROUTER), redistributors and ICC_SGI1R_EL1.
    V3,
}

impl GicVersion {
    /// The architecture revision in PIDR2 bits [7:4].
    #[must_use]
    pub const fn architecture_revision(self) -> u32 {
        match self {
            Self::V2 => 2,
            Self::V3 => 3,
        }
    }
}

/// Whether `intid` is an SGI.
#[must_use]
pub const fn is_sgi(intid: u32) -> bool {
    intid < SGI_COUNT
}

/// Whether `intid` is an SGI or a PPI (banked per vCPU).
#[must_use]
pub const fn is_private(intid: u32) -> bool {
    intid < PRIVATE_COUNT
}

/// The index of SPI `intid` in the shared state, if it is a supported SPI.
#[must_use]
pub const fn spi_index(intid: u32) -> Option<usize> {
    if intid >= PRIVATE_COUNT && intid < INTID_LIMIT { Some((intid - PRIVATE_COUNT) as usize) } else { None }
}

/// Bit mask of the vCPU indices `0..vcpu_count`.
#[must_use]
pub const fn vcpu_mask(vcpu_count: u8) -> u32 {
    if vcpu_count as usize >= MAX_VCPUS { (1 << MAX_VCPUS) - 1 } else { (1 << vcpu_count) - 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupt_classes() {
        assert!(is_sgi(15) && !is_sgi(16));
        assert!(is_private(31) && !is_private(32));
        assert_eq!(spi_index(31), None);
        assert_eq!(spi_index(32), Some(0));
        assert_eq!(spi_index(INTID_LIMIT - 1), Some(SPI_COUNT as usize - 1));
        assert_eq!(spi_index(INTID_LIMIT), None);
        assert_eq!(spi_index(u32::MAX), None);
        assert_eq!(IT_LINES_NUMBER, 5);
    }

    #[test]
    fn vcpu_masks() {
        assert_eq!(vcpu_mask(0), 0);
        assert_eq!(vcpu_mask(1), 1);
        assert_eq!(vcpu_mask(8), 0xFF);
        assert_eq!(vcpu_mask(200), 0xFF);
    }
}
