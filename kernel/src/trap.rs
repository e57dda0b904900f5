//! Decoding of a guest exit's syndrome (ESR_EL2) into what the guest did.

/// The size and target of a load or store the hardware described (ISV = 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmioAccess {
    /// Bytes accessed: 1, 2, 4 or 8.
    pub size: u8,
    /// The general register transferred (31 = XZR for stores).
    pub register: u8,
    /// A store.
    pub is_write: bool,
    /// A load that sign-extends.
    pub sign_extend: bool,
    /// The register is 64 bits wide (otherwise a W register: the upper half is cleared).
    pub sixty_four_bit: bool,
}

impl MmioAccess {
    /// The register value after a load of `value`, as the instruction defines it.
    #[must_use]
    pub const fn loaded_value(&self, value: u64) -> u64 {
        let bits = self.size as u32 * 8;
        let truncated = if bits >= 64 { value } else { value & ((1 << bits) - 1) };
        let extended = if self.sign_extend && bits < 64 {
            let shift = 64 - bits;
            ((truncated << shift).cast_signed() >> shift).cast_unsigned()
        } else {
            truncated
        };
        if self.sixty_four_bit { extended } else { extended & 0xFFFF_FFFF }
    }

    /// The value a store of `register_value` writes.
    #[must_use]
    pub const fn stored_value(&self, register_value: u64) -> u64 {
        let bits = self.size as u32 * 8;
        if bits >= 64 { register_value } else { register_value & ((1 << bits) - 1) }
    }
}

/// What a synchronous guest exit was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trap {
    /// WFI (`false`) or WFE (`true`).
    WaitFor {
        /// WFE rather than WFI.
        event: bool,
    },
    /// HVC from AArch64; the PC already points past it.
    Hypervisor,
    /// SMC from AArch64; the PC still points at it.
    SecureMonitor,
    /// MSR/MRS/system instruction trapped by a control bit.
    SystemRegister {
        /// Op0, Op1, CRn, CRm, Op2 packed as the ESR's ISS encodes them.
        encoding: u32,
        /// The general register transferred.
        register: u8,
        /// MRS (a read).
        is_read: bool,
    },
    /// Data abort from the guest at stage 2 (an access outside its mapped memory).
    DataAbort {
        /// The access, if the hardware could describe it (ISV = 1 and not on a stage-1 walk).
        access: Option<MmioAccess>,
        /// The abort happened on the guest's own translation-table walk.
        on_table_walk: bool,
    },
    /// Instruction fetch from outside the guest's mapped memory.
    InstructionAbort,
    /// Anything else (unknown instruction, illegal state, ...), by exception class.
    Other {
        /// ESR_EL2.EC.
        class: u8,
    },
}

/// ESR_EL2.EC values used here.
pub mod exception_class {
    /// WFI or WFE.
    pub const WAIT_FOR: u8 = 0x01;
    /// HVC from AArch64.
    pub const HVC64: u8 = 0x16;
    /// SMC from AArch64.
    pub const SMC64: u8 = 0x17;
    /// MSR, MRS or system instruction from AArch64.
    pub const SYSTEM_REGISTER: u8 = 0x18;
    /// Instruction abort from a lower exception level.
    pub const INSTRUCTION_ABORT_LOWER: u8 = 0x20;
    /// Data abort from a lower exception level.
    pub const DATA_ABORT_LOWER: u8 = 0x24;
}

/// Decodes a synchronous guest exit's ESR_EL2.
#[must_use]
pub const fn decode(syndrome: u64) -> Trap {
    let class = ((syndrome >> 26) & 0x3F) as u8;
    let iss = syndrome & 0x1FF_FFFF;
    match class {
        exception_class::WAIT_FOR => Trap::WaitFor { event: iss & 1 != 0 },
        exception_class::HVC64 => Trap::Hypervisor,
        exception_class::SMC64 => Trap::SecureMonitor,
        exception_class::SYSTEM_REGISTER => Trap::SystemRegister {
            encoding: (iss & 0x3F_FC1E) as u32,
            register: ((iss >> 5) & 0x1F) as u8,
            is_read: iss & 1 != 0,
        },
        exception_class::DATA_ABORT_LOWER => {
            let on_table_walk = iss & (1 << 7) != 0;
            let valid = iss & (1 << 24) != 0;
            let access = if valid && !on_table_walk {
                Some(MmioAccess {
                    size: 1 << ((iss >> 22) & 0x3),
                    register: ((iss >> 16) & 0x1F) as u8,
                    is_write: iss & (1 << 6) != 0,
                    sign_extend: iss & (1 << 21) != 0,
                    sixty_four_bit: iss & (1 << 15) != 0,
                })
            } else {
                None
            };
            Trap::DataAbort { access, on_table_walk }
        }
        exception_class::INSTRUCTION_ABORT_LOWER => Trap::InstructionAbort,
        _ => Trap::Other { class },
    }
}

/// Op0 of a trapped system register encoding (2 is the debug space).
#[must_use]
pub const fn system_register_op0(encoding: u32) -> u32 {
    (encoding >> 20) & 0x3
}

/// The faulting guest physical address of a stage-2 abort, from HPFAR_EL2 and FAR_EL2.
#[must_use]
pub const fn fault_ipa(hpfar: u64, far: u64) -> u64 {
    ((hpfar & 0x0FFF_FFFF_FFF0) << 8) | (far & 0xFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syndrome(class: u8, iss: u64) -> u64 {
        (u64::from(class) << 26) | (1 << 25) | iss
    }

    #[test]
    fn decodes_calls_and_waits() {
        assert_eq!(decode(syndrome(0x16, 0)), Trap::Hypervisor);
        assert_eq!(decode(syndrome(0x17, 0)), Trap::SecureMonitor);
        assert_eq!(decode(syndrome(0x01, 0)), Trap::WaitFor { event: false });
        assert_eq!(decode(syndrome(0x01, 1)), Trap::WaitFor { event: true });
        assert_eq!(decode(syndrome(0x00, 0)), Trap::Other { class: 0 });
    }

    #[test]
    fn decodes_a_word_store() {
        // ISV, SAS = 2 (word), SRT = 3, WnR.
        let iss = (1 << 24) | (2 << 22) | (3 << 16) | (1 << 6);
        let Trap::DataAbort { access: Some(access), on_table_walk: false } = decode(syndrome(0x24, iss)) else {
            panic!("not decoded as an MMIO access");
        };
        assert_eq!(
            access,
            MmioAccess { size: 4, register: 3, is_write: true, sign_extend: false, sixty_four_bit: false }
        );
        assert_eq!(access.stored_value(0xFFFF_FFFF_1234_5678), 0x1234_5678);
    }

    #[test]
    fn table_walk_aborts_are_not_emulated() {
        let iss = (1 << 24) | (1 << 7);
        assert_eq!(decode(syndrome(0x24, iss)), Trap::DataAbort { access: None, on_table_walk: true });
        assert_eq!(decode(syndrome(0x24, 0)), Trap::DataAbort { access: None, on_table_walk: false });
    }

    #[test]
    fn load_extension_rules() {
        let byte_signed_into_w =
            MmioAccess { size: 1, register: 0, is_write: false, sign_extend: true, sixty_four_bit: false };
        assert_eq!(byte_signed_into_w.loaded_value(0x180), 0xFFFF_FF80);
        let half_signed_into_x = MmioAccess { size: 2, sixty_four_bit: true, ..byte_signed_into_w };
        assert_eq!(half_signed_into_x.loaded_value(0x8001), 0xFFFF_FFFF_FFFF_8001);
        let word_into_x = MmioAccess { size: 4, sign_extend: false, sixty_four_bit: true, ..byte_signed_into_w };
        assert_eq!(word_into_x.loaded_value(0xDEAD_BEEF_8000_0001), 0x8000_0001);
        let double = MmioAccess { size: 8, ..word_into_x };
        assert_eq!(double.loaded_value(u64::MAX), u64::MAX);
    }

    #[test]
    fn fault_address_combines_page_and_offset() {
        assert_eq!(fault_ipa((0x0900_0000 >> 12) << 4, 0xFFFF_0000_0000_0123), 0x0900_0123);
        assert_eq!(fault_ipa((0x1_0000_0000_u64 >> 12) << 4, 0x10), 0x1_0000_0010);
    }
}
