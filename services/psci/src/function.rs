//! Decoding of SMCCC function identifiers into the calls this service knows, and the return codes.

use smccc::psci;

/// SMCCC_VERSION.
pub const SMCCC_VERSION: u32 = 0x8000_0000;
/// SMCCC_ARCH_FEATURES.
pub const SMCCC_ARCH_FEATURES: u32 = 0x8000_0001;

/// The PSCI version this service implements: 1.1.
pub const PSCI_VERSION_1_1: u64 = 0x0001_0001;
/// The SMC Calling Convention version this service implements: 1.1.
pub const SMCCC_VERSION_1_1: u64 = 0x0001_0001;

/// PSCI return codes as register values.
pub mod return_code {
    const fn code(value: i64) -> u64 {
        value.cast_unsigned()
    }
    /// SUCCESS.
    pub const SUCCESS: u64 = 0;
    /// NOT_SUPPORTED (-1).
    pub const NOT_SUPPORTED: u64 = code(-1);
    /// INVALID_PARAMETERS (-2).
    pub const INVALID_PARAMETERS: u64 = code(-2);
    /// DENIED (-3).
    pub const DENIED: u64 = code(-3);
    /// ALREADY_ON (-4).
    pub const ALREADY_ON: u64 = code(-4);
    /// INVALID_ADDRESS (-9).
    pub const INVALID_ADDRESS: u64 = code(-9);
}

/// NOT_SUPPORTED (-1) as a register value.
pub const NOT_SUPPORTED: u64 = return_code::NOT_SUPPORTED;

/// A call this service recognises; `wide` is true for the SMC64/HVC64 form (0xC4…).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// PSCI_VERSION.
    PsciVersion,
    /// PSCI_FEATURES.
    PsciFeatures,
    /// CPU_SUSPEND.
    CpuSuspend {
        /// 64-bit form.
        wide: bool,
    },
    /// CPU_OFF.
    CpuOff,
    /// CPU_ON.
    CpuOn {
        /// 64-bit form.
        wide: bool,
    },
    /// AFFINITY_INFO.
    AffinityInfo {
        /// 64-bit form.
        wide: bool,
    },
    /// MIGRATE_INFO_TYPE.
    MigrateInfoType,
    /// SYSTEM_OFF.
    SystemOff,
    /// SYSTEM_RESET.
    SystemReset,
    /// SYSTEM_RESET2.
    SystemReset2 {
        /// 64-bit form.
        wide: bool,
    },
    /// SYSTEM_SUSPEND.
    SystemSuspend {
        /// 64-bit form.
        wide: bool,
    },
    /// PSCI_STAT_RESIDENCY.
    StatResidency {
        /// 64-bit form.
        wide: bool,
    },
    /// PSCI_STAT_COUNT.
    StatCount {
        /// 64-bit form.
        wide: bool,
    },
    /// SMCCC_VERSION.
    SmcccVersion,
    /// SMCCC_ARCH_FEATURES.
    SmcccArchFeatures,
}

impl Function {
    /// The call `function_id` (W0 of the caller) names, if this service implements it.
    #[must_use]
    pub const fn decode(function_id: u32) -> Option<Self> {
        Some(match function_id {
            psci::PSCI_VERSION => Self::PsciVersion,
            psci::PSCI_FEATURES => Self::PsciFeatures,
            psci::PSCI_CPU_SUSPEND_32 => Self::CpuSuspend { wide: false },
            psci::PSCI_CPU_SUSPEND_64 => Self::CpuSuspend { wide: true },
            psci::PSCI_CPU_OFF => Self::CpuOff,
            psci::PSCI_CPU_ON_32 => Self::CpuOn { wide: false },
            psci::PSCI_CPU_ON_64 => Self::CpuOn { wide: true },
            psci::PSCI_AFFINITY_INFO_32 => Self::AffinityInfo { wide: false },
            psci::PSCI_AFFINITY_INFO_64 => Self::AffinityInfo { wide: true },
            psci::PSCI_MIGRATE_INFO_TYPE => Self::MigrateInfoType,
            psci::PSCI_SYSTEM_OFF => Self::SystemOff,
            psci::PSCI_SYSTEM_RESET => Self::SystemReset,
            psci::PSCI_SYSTEM_RESET2_32 => Self::SystemReset2 { wide: false },
            psci::PSCI_SYSTEM_RESET2_64 => Self::SystemReset2 { wide: true },
            psci::PSCI_SYSTEM_SUSPEND_32 => Self::SystemSuspend { wide: false },
            psci::PSCI_SYSTEM_SUSPEND_64 => Self::SystemSuspend { wide: true },
            psci::PSCI_STAT_RESIDENCY_32 => Self::StatResidency { wide: false },
            psci::PSCI_STAT_RESIDENCY_64 => Self::StatResidency { wide: true },
            psci::PSCI_STAT_COUNT_32 => Self::StatCount { wide: false },
            psci::PSCI_STAT_COUNT_64 => Self::StatCount { wide: true },
            SMCCC_VERSION => Self::SmcccVersion,
            SMCCC_ARCH_FEATURES => Self::SmcccArchFeatures,
            _ => return None,
        })
    }

    /// Whether the call takes 64-bit arguments (else only their low 32 bits count).
    #[must_use]
    pub const fn is_wide(self) -> bool {
        matches!(
            self,
            Self::CpuSuspend { wide: true }
                | Self::CpuOn { wide: true }
                | Self::AffinityInfo { wide: true }
                | Self::SystemReset2 { wide: true }
                | Self::SystemSuspend { wide: true }
                | Self::StatResidency { wide: true }
                | Self::StatCount { wide: true }
        )
    }

    /// A short stable index for per-function counters.
    #[must_use]
    pub const fn counter_index(self) -> usize {
        match self {
            Self::PsciVersion => 0,
            Self::PsciFeatures => 1,
            Self::CpuSuspend { .. } => 2,
            Self::CpuOff => 3,
            Self::CpuOn { .. } => 4,
            Self::AffinityInfo { .. } => 5,
            Self::MigrateInfoType => 6,
            Self::SystemOff => 7,
            Self::SystemReset => 8,
            Self::SystemReset2 { .. } => 9,
            Self::SystemSuspend { .. } => 10,
            Self::StatResidency { .. } => 11,
            Self::StatCount { .. } => 12,
            Self::SmcccVersion => 13,
            Self::SmcccArchFeatures => 14,
        }
    }
}

/// Number of distinct `counter_index` values, plus one for unknown functions.
pub const FUNCTION_COUNTERS: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_known_and_refuses_unknown() {
        assert_eq!(Function::decode(0x8400_0000), Some(Function::PsciVersion));
        assert_eq!(Function::decode(0x8400_000A), Some(Function::PsciFeatures));
        assert_eq!(Function::decode(0xC400_000E), Some(Function::SystemSuspend { wide: true }));
        assert_eq!(Function::decode(0x8400_000E), Some(Function::SystemSuspend { wide: false }));
        assert_eq!(Function::decode(0x8000_0000), Some(Function::SmcccVersion));
        assert_eq!(Function::decode(0x8400_00FF), None);
        assert_eq!(Function::decode(0xC400_0000), None, "PSCI_VERSION has no 64-bit form");
        assert_eq!(Function::decode(0xC400_0002), None, "CPU_OFF has no 64-bit form");
        assert_eq!(Function::decode(0x8400_0005), None, "MIGRATE is not implemented");
    }

    #[test]
    fn return_codes() {
        assert_eq!(return_code::INVALID_ADDRESS.cast_signed(), -9);
        assert_eq!(return_code::ALREADY_ON.cast_signed(), -4);
    }
}
