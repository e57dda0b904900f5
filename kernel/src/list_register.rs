//! List register encodings of the GIC virtualization extensions (GICv2 GICH_LRn, 32 bits; GICv3
//! ICH_LR<n>_EL2, 64 bits). Pure logic, tested on the host.

use crate::virtual_interrupts::QueuedInterrupt;

/// The state field of a list register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListRegisterState {
    /// Empty.
    Invalid,
    /// Waiting for the guest to acknowledge it.
    Pending,
    /// Acknowledged, not yet ended.
    Active,
    /// Active and pending again.
    PendingAndActive,
}

impl ListRegisterState {
    const fn from_bits(bits: u64) -> Self {
        match bits & 0b11 {
            0 => Self::Invalid,
            1 => Self::Pending,
            2 => Self::Active,
            _ => Self::PendingAndActive,
        }
    }
}

/// GICv2 GICH_LRn for `interrupt`, pending, group 0: a GICv2 guest (like Linux on a GIC without
/// security extensions) leaves every interrupt in group 0 and enables it as IRQ.
#[must_use]
pub const fn encode_v2(interrupt: &QueuedInterrupt) -> u32 {
    const PENDING: u32 = 1 << 28;
    const HARDWARE: u32 = 1 << 31;
    const END_MAINTENANCE: u32 = 1 << 19;
    let priority = ((interrupt.priority >> 3) as u32) << 23;
    let common = PENDING | priority | (interrupt.intid & 0x1FFF);
    match interrupt.physical {
        Some(physical) => (common & !0x000F_FC00) | HARDWARE | ((physical & 0x3FF) << 10),
        None if interrupt.notify_end => common | END_MAINTENANCE,
        None => common,
    }
}

/// The interrupt a GICv2 list register holds, as it was queued.
#[must_use]
pub const fn decode_v2(value: u32) -> QueuedInterrupt {
    let hardware = value & (1 << 31) != 0;
    QueuedInterrupt {
        intid: intid_v2(value),
        priority: (((value >> 23) & 0x1F) << 3) as u8,
        physical: if hardware { Some((value >> 10) & 0x3FF) } else { None },
        notify_end: !hardware && value & (1 << 19) != 0,
    }
}

/// The interrupt a GICv3 list register holds, as it was queued.
#[must_use]
pub const fn decode_v3(value: u64) -> QueuedInterrupt {
    let hardware = value & (1 << 61) != 0;
    QueuedInterrupt {
        intid: intid_v3(value),
        priority: (value >> 48) as u8,
        physical: if hardware { Some(((value >> 32) & 0x1FFF) as u32) } else { None },
        notify_end: !hardware && value & (1 << 41) != 0,
    }
}

/// The virtual INTID (with a GICv2 SGI's source CPU bits) held by a GICv2 list register.
#[must_use]
pub const fn intid_v2(value: u32) -> u32 {
    if value & (1 << 31) != 0 { value & 0x3FF } else { value & 0x1FFF }
}

/// The state of a GICv2 list register.
#[must_use]
pub const fn state_v2(value: u32) -> ListRegisterState {
    ListRegisterState::from_bits((value >> 28) as u64)
}

/// GICv3 ICH_LR<n>_EL2 for `interrupt`, pending, group 1.
#[must_use]
pub const fn encode_v3(interrupt: &QueuedInterrupt) -> u64 {
    const PENDING: u64 = 1 << 62;
    const HARDWARE: u64 = 1 << 61;
    const GROUP1: u64 = 1 << 60;
    const END_MAINTENANCE: u64 = 1 << 41;
    let common = PENDING | GROUP1 | ((interrupt.priority as u64) << 48) | interrupt.intid as u64;
    match interrupt.physical {
        Some(physical) => common | HARDWARE | ((physical as u64 & 0x1FFF) << 32),
        None if interrupt.notify_end => common | END_MAINTENANCE,
        None => common,
    }
}

/// The virtual INTID held by a GICv3 list register.
#[must_use]
pub const fn intid_v3(value: u64) -> u32 {
    value as u32
}

/// The state of a GICv3 list register.
#[must_use]
pub const fn state_v3(value: u64) -> ListRegisterState {
    ListRegisterState::from_bits(value >> 62)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interrupt(intid: u32, priority: u8, physical: Option<u32>, notify_end: bool) -> QueuedInterrupt {
        QueuedInterrupt { intid, priority, physical, notify_end }
    }

    #[test]
    fn gicv2_software_interrupt() {
        let value = encode_v2(&interrupt(33, 0xA0, None, true));
        assert_eq!(value & 0x3FF, 33);
        assert_eq!((value >> 23) & 0x1F, 0xA0 >> 3);
        assert_eq!(state_v2(value), ListRegisterState::Pending);
        assert_ne!(value & (1 << 19), 0, "EOI maintenance requested");
        assert_eq!(value & (1 << 30), 0, "group 0");
        assert_eq!(value >> 31, 0);
        assert_eq!(intid_v2(value), 33);
    }

    #[test]
    fn gicv2_hardware_interrupt_and_sgi_source() {
        let value = encode_v2(&interrupt(27, 0x20, Some(27), false));
        assert_eq!(value >> 31, 1);
        assert_eq!((value >> 10) & 0x3FF, 27);
        assert_eq!(intid_v2(value), 27);
        let sgi = encode_v2(&interrupt(3 | (2 << 10), 0xA0, None, false));
        assert_eq!(intid_v2(sgi), 3 | (2 << 10), "the source CPU travels with the SGI");
        assert_eq!((sgi >> 10) & 0x7, 2);
    }

    #[test]
    fn decoding_gives_back_what_was_encoded() {
        for interrupt in
            [interrupt(33, 0xA0, None, true), interrupt(27, 0x20, Some(27), false), interrupt(40, 0x80, None, false)]
        {
            assert_eq!(decode_v2(encode_v2(&interrupt)), interrupt);
            assert_eq!(decode_v3(encode_v3(&interrupt)), interrupt);
        }
    }

    #[test]
    fn gicv3_encodings() {
        let value = encode_v3(&interrupt(27, 0x20, Some(27), false));
        assert_eq!(state_v3(value), ListRegisterState::Pending);
        assert_eq!((value >> 61) & 1, 1);
        assert_eq!((value >> 32) & 0x1FFF, 27);
        assert_eq!((value >> 48) & 0xFF, 0x20);
        assert_eq!(intid_v3(value), 27);
        let software = encode_v3(&interrupt(8200, 0xA0, None, true));
        assert_eq!(intid_v3(software), 8200, "INTIDs are not narrowed");
        assert_eq!((software >> 41) & 1, 1);
        assert_eq!(state_v3(0), ListRegisterState::Invalid);
        assert_eq!(state_v3(3 << 62), ListRegisterState::PendingAndActive);
    }
}
