//! The identification registers at the end of the GICD frame (and of each GICv3 RD_base frame):
//! PIDR4-7, PIDR0-3 and CIDR0-3, twelve words. PIDR2 carries the architecture revision in bits
//! [7:4], which Linux checks before it trusts a GICv3 distributor or redistributor.

use crate::limits::GicVersion;

/// Offset of PIDR4, the first identification register, in a GICv2 distributor.
pub const V2_IDENTIFICATION: u64 = 0x0FD0;
/// Offset of PIDR4 in a GICv3 distributor or RD_base frame.
pub const V3_IDENTIFICATION: u64 = 0xFFD0;
/// GICD_IIDR and GICR_IIDR: implementer Arm (JEP106 0x43B), product 0, variant 0, revision 0.
pub const IMPLEMENTER_IDENTIFICATION: u32 = 0x0000_043B;
/// The component identification CIDR0-3.
const COMPONENT_IDENTIFICATION: [u32; 4] = [0x0D, 0xF0, 0x05, 0xB1];

/// The identification register `offset` bytes past PIDR4 (a multiple of 4 below 0x30), or
/// `None` past them.
#[must_use]
pub fn identification_register(version: GicVersion, offset: u64) -> Option<u32> {
    let value = match offset {
        // PIDR4: 4 KiB count 0, JEP106 continuation code 4 (Arm).
        0x00 => 0x04,
        // PIDR5-7 and PIDR3 (no customer modification, revision 0).
        0x04 | 0x08 | 0x0C | 0x1C => 0,
        // PIDR0: part number [7:0].
        0x10 => 0x92,
        // PIDR1: part number [11:8] = 4, JEP106 identity [3:0] = 0xB.
        0x14 => 0xB4,
        // PIDR2: architecture revision [7:4], JEDEC assigned [3], JEP106 identity [6:4] = 3.
        0x18 => (version.architecture_revision() << 4) | 0b1011,
        0x20..=0x2C if offset.is_multiple_of(4) => COMPONENT_IDENTIFICATION[((offset - 0x20) / 4) as usize],
        _ => return None,
    };
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_revision_and_component_identification() {
        assert_eq!(identification_register(GicVersion::V2, 0x18), Some(0x2B));
        assert_eq!(identification_register(GicVersion::V3, 0x18), Some(0x3B));
        let component: [Option<u32>; 4] =
            core::array::from_fn(|index| identification_register(GicVersion::V3, 0x20 + 4 * index as u64));
        assert_eq!(component, [Some(0x0D), Some(0xF0), Some(0x05), Some(0xB1)]);
        assert_eq!(identification_register(GicVersion::V3, 0x30), None);
        assert_eq!(identification_register(GicVersion::V3, 0x22), None);
    }
}
