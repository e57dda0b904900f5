//! Decoding of SGI requests into target vCPUs of the requesting domain: GICv2's GICD_SGIR and
//! GICv3's ICC_SGI1R_EL1. Targets are always limited to the domain's own vCPUs; a request that
//! names another affinity level or a vCPU the domain does not have targets nobody there.

use crate::limits::vcpu_mask;

/// One SGI to raise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SgiRequest {
    /// The SGI (0 to 15).
    pub intid: u32,
    /// Bit n set: vCPU n of the domain is a target.
    pub targets: u8,
}

/// GICD_SGIR written by vCPU `source` of a domain with `vcpu_count` vCPUs: SGIINTID [3:0],
/// CPUTargetList [23:16], TargetListFilter [25:24] (0 the list, 1 all but the writer, 2 the
/// writer only, 3 reserved: no SGI).
#[must_use]
pub fn decode_distributor_sgi(value: u32, source: u8, vcpu_count: u8) -> Option<SgiRequest> {
    let domain = vcpu_mask(vcpu_count);
    let writer = 1_u32.checked_shl(u32::from(source)).unwrap_or(0) & domain;
    let targets = match (value >> 24) & 0b11 {
        0 => (value >> 16) & 0xFF,
        1 => !writer,
        2 => writer,
        _ => return None,
    } & domain;
    Some(SgiRequest { intid: value & 0xF, targets: targets as u8 })
}

/// ICC_SGI1R_EL1 written by vCPU `source`: TargetList [15:0], Aff1 [23:16], INTID [27:24],
/// Aff2 [39:32], IRM [40] (1: every vCPU but the writer), RS [47:44], Aff3 [55:48]. A vCPU's
/// affinity is 0.0.0.index, so a list reaches the domain only with Aff3, Aff2, Aff1 and RS zero.
#[must_use]
pub fn decode_system_register_sgi(value: u64, source: u8, vcpu_count: u8) -> SgiRequest {
    let domain = vcpu_mask(vcpu_count);
    let intid = ((value >> 24) & 0xF) as u32;
    let targets = if value & (1 << 40) != 0 {
        !1_u32.checked_shl(u32::from(source)).unwrap_or(0)
    } else {
        let aff1 = (value >> 16) & 0xFF;
        let aff2 = (value >> 32) & 0xFF;
        let range_selector = (value >> 44) & 0xF;
        let aff3 = (value >> 48) & 0xFF;
        if aff1 | aff2 | aff3 | range_selector == 0 { (value & 0xFFFF) as u32 } else { 0 }
    } & domain;
    SgiRequest { intid, targets: targets as u8 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributor_filters() {
        let list = 0b0000_0101 << 16 | 3;
        assert_eq!(decode_distributor_sgi(list, 0, 4), Some(SgiRequest { intid: 3, targets: 0b0101 }));
        assert_eq!(decode_distributor_sgi(0xF0 << 16, 0, 4), Some(SgiRequest { intid: 0, targets: 0 }), "outside");
        assert_eq!(decode_distributor_sgi(1 << 24 | 7, 1, 4), Some(SgiRequest { intid: 7, targets: 0b1101 }));
        assert_eq!(decode_distributor_sgi(2 << 24 | 15, 2, 4), Some(SgiRequest { intid: 15, targets: 0b0100 }));
        assert_eq!(decode_distributor_sgi(3 << 24 | 1, 0, 4), None);
        assert_eq!(decode_distributor_sgi(0xFFFF_FFF0 | 0xF, 0, 8), None, "filter 3");
        assert_eq!(decode_distributor_sgi(2 << 24, 9, 4), Some(SgiRequest { intid: 0, targets: 0 }), "no writer");
    }

    #[test]
    fn system_register_list_and_broadcast() {
        let list = 5 << 24 | 0b1010;
        assert_eq!(decode_system_register_sgi(list, 0, 4), SgiRequest { intid: 5, targets: 0b1010 });
        assert_eq!(decode_system_register_sgi(list | 0xFF00, 0, 8), SgiRequest { intid: 5, targets: 0b1010 });
        let broadcast = 1 << 40 | 2 << 24 | 0xFFFF;
        assert_eq!(decode_system_register_sgi(broadcast, 2, 4), SgiRequest { intid: 2, targets: 0b1011 });
        assert_eq!(decode_system_register_sgi(broadcast | 0x00FF_00FF_0000_0000, 0, 2).targets, 0b10);
    }

    #[test]
    fn system_register_other_affinities_target_nobody() {
        for other in [1 << 16, 1 << 32, 1 << 44, 1 << 48, 0xFF << 48] {
            assert_eq!(decode_system_register_sgi(other | 0xFF, 0, 8).targets, 0, "{other:#x}");
        }
    }
}
