//! Decoding of a guest's load or store when the hardware could not describe it (ESR_EL2.ISV = 0),
//! which is the case for the pre- and post-indexed forms compilers like to use in loops. Only
//! single general-register loads and stores are decoded; anything else stays refused.

use crate::trap::MmioAccess;

/// A decoded load or store, with the base-register update a writeback form makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodedAccess {
    /// What is transferred.
    pub access: MmioAccess,
    /// For pre- and post-indexed forms: the base register (31 = SP) and what is added to it.
    pub writeback: Option<(u8, i64)>,
}

/// Decodes the A64 instruction `instruction` if it is LDR/STR (and their byte, halfword and
/// signed variants) of a general register, in any of the immediate or register-offset forms.
#[must_use]
pub const fn decode(instruction: u32) -> Option<DecodedAccess> {
    let load_store_register = (instruction >> 27) & 0b111 == 0b111;
    let vector = (instruction >> 26) & 1 == 1;
    if !load_store_register || vector {
        return None;
    }
    let size = (instruction >> 30) & 0b11;
    let opc = (instruction >> 22) & 0b11;
    let class = (instruction >> 24) & 0b11;
    let register = (instruction & 0x1F) as u8;
    let base = ((instruction >> 5) & 0x1F) as u8;
    let writeback = match class {
        // Unsigned immediate offset.
        0b01 => None,
        0b00 => {
            let register_offset = (instruction >> 21) & 1 == 1;
            let mode = (instruction >> 10) & 0b11;
            match (register_offset, mode) {
                // Register offset; unscaled immediate; unprivileged.
                (true, 0b10) | (false, 0b00 | 0b10) => None,
                // Post-indexed, pre-indexed: the base moves by the signed 9-bit immediate.
                (false, 0b01 | 0b11) => {
                    let immediate = ((instruction >> 12) & 0x1FF) as i64;
                    Some((base, (immediate << 55) >> 55))
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    let (is_write, sign_extend, sixty_four_bit) = match (opc, size) {
        (0b00, _) => (true, false, size == 3),
        (0b01, _) => (false, false, size == 3),
        // LDRSB/LDRSH/LDRSW into an X register (size 3 with opc 2 is PRFM: not an access).
        (0b10, 0..=2) => (false, true, true),
        // LDRSB/LDRSH into a W register.
        (0b11, 0..=1) => (false, true, false),
        _ => return None,
    };
    let access = MmioAccess { size: 1 << size, register, is_write, sign_extend, sixty_four_bit };
    Some(DecodedAccess { access, writeback })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_indexed_byte_store() {
        // strb w17, [x3], #1
        let decoded = decode(0x3800_1471).unwrap();
        assert_eq!(
            decoded.access,
            MmioAccess { size: 1, register: 17, is_write: true, sign_extend: false, sixty_four_bit: false }
        );
        assert_eq!(decoded.writeback, Some((3, 1)));
    }

    #[test]
    fn pre_indexed_word_load_with_negative_offset() {
        // ldr w0, [x1, #-4]!
        let decoded = decode(0xB85F_CC20).unwrap();
        assert_eq!(
            decoded.access,
            MmioAccess { size: 4, register: 0, is_write: false, sign_extend: false, sixty_four_bit: false }
        );
        assert_eq!(decoded.writeback, Some((1, -4)));
    }

    #[test]
    fn plain_forms_have_no_writeback() {
        // str w14, [x18] (unsigned offset 0)
        assert_eq!(decode(0xB900_024E).unwrap().writeback, None);
        // ldr x2, [x3, x4] (register offset)
        let decoded = decode(0xF864_6862).unwrap();
        assert_eq!(decoded.access.size, 8);
        assert!(decoded.access.sixty_four_bit);
        assert_eq!(decoded.writeback, None);
    }

    #[test]
    fn signed_loads() {
        // ldrsb w0, [x1]
        let byte = decode(0x39C0_0020).unwrap().access;
        assert!(byte.sign_extend && !byte.sixty_four_bit && byte.size == 1);
        // ldrsw x0, [x1]
        let word = decode(0xB980_0020).unwrap().access;
        assert!(word.sign_extend && word.sixty_four_bit && word.size == 4);
    }

    #[test]
    fn other_instructions_are_refused() {
        // stp x0, x1, [sp, #-16]!
        assert_eq!(decode(0xA9BF_07E0), None);
        // str q0, [x0]
        assert_eq!(decode(0x3D80_0000), None);
        // prfm pldl1keep, [x0]
        assert_eq!(decode(0xF980_0000), None);
        // nop
        assert_eq!(decode(0xD503_201F), None);
    }
}
