//! Decoding of SMCCC function identifiers into the calls this service knows.

use smccc::psci;

/// SMCCC_VERSION.
pub const SMCCC_VERSION: u32 = 0x8000_0000;
/// SMCCC_ARCH_FEATURES.
pub const SMCCC_ARCH_FEATURES: u32 = 0x8000_0001;

/// The PSCI version this service implements: 1.1.
pub const PSCI_VERSION_1_1: u64 = 0x0001_0001;
/// The SMC Calling Convention version this service implements: 1.1.
pub const SMCCC_VERSION_1_1: u64 = 0x0001_0001;

/// NOT_SUPPORTED (-1) as a register value.
pub const NOT_SUPPORTED: u64 = (-1_i64).cast_unsigned();

/// A call this service recognises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// PSCI_VERSION.
    PsciVersion,
    /// PSCI_FEATURES.
    PsciFeatures,
    /// SMCCC_VERSION.
    SmcccVersion,
    /// SMCCC_ARCH_FEATURES.
    SmcccArchFeatures,
}

impl Function {
    /// The call `function_id` (W0 of the caller) names, if this service implements it.
    #[must_use]
    pub const fn decode(function_id: u32) -> Option<Self> {
        match function_id {
            psci::PSCI_VERSION => Some(Self::PsciVersion),
            psci::PSCI_FEATURES => Some(Self::PsciFeatures),
            SMCCC_VERSION => Some(Self::SmcccVersion),
            SMCCC_ARCH_FEATURES => Some(Self::SmcccArchFeatures),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_known_and_refuses_unknown() {
        assert_eq!(Function::decode(0x8400_0000), Some(Function::PsciVersion));
        assert_eq!(Function::decode(0x8400_000A), Some(Function::PsciFeatures));
        assert_eq!(Function::decode(0x8000_0000), Some(Function::SmcccVersion));
        assert_eq!(Function::decode(0x8400_00FF), None);
        assert_eq!(Function::decode(0xC400_0000), None, "PSCI_VERSION has no 64-bit form");
    }
}
