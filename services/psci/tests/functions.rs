//! The PSCI service against every function and error code of its conformance list (issue 5,
//! "Tests / Host"), driven only through the `Service` trait. This file covers discovery
//! (PSCI_VERSION, PSCI_FEATURES, SMCCC, MIGRATE_INFO_TYPE, unimplemented functions and conduits);
//! the modules below cover the per-vCPU functions, the system functions and the bookkeeping.

#[path = "functions/bookkeeping.rs"]
mod bookkeeping;
mod common;
#[path = "functions/cpu.rs"]
mod cpu;
#[path = "functions/system.rs"]
mod system;

use common::{Bench, DOMAIN, code, id, vcpu};
use somnus_abi::ipc::{Action, Conduit};

/// Every function the service implements, in every form it has.
const IMPLEMENTED: [u64; 21] = [
    id::PSCI_VERSION,
    id::CPU_SUSPEND_32,
    id::CPU_SUSPEND_64,
    id::CPU_OFF,
    id::CPU_ON_32,
    id::CPU_ON_64,
    id::AFFINITY_INFO_32,
    id::AFFINITY_INFO_64,
    id::MIGRATE_INFO_TYPE,
    id::SYSTEM_OFF,
    id::SYSTEM_RESET,
    id::PSCI_FEATURES,
    id::SYSTEM_SUSPEND_32,
    id::SYSTEM_SUSPEND_64,
    id::STAT_RESIDENCY_32,
    id::STAT_RESIDENCY_64,
    id::STAT_COUNT_32,
    id::STAT_COUNT_64,
    id::SYSTEM_RESET2_32,
    id::SYSTEM_RESET2_64,
    id::SMCCC_VERSION,
];

/// PSCI functions the service does not implement, function IDs that do not exist, and
/// SMCCC_ARCH_FEATURES (not a PSCI function: PSCI_FEATURES does not describe it).
const NOT_IMPLEMENTED: [u64; 22] = [
    id::MIGRATE_32,
    id::MIGRATE_64,
    id::MIGRATE_INFO_UP_CPU_32,
    id::MIGRATE_INFO_UP_CPU_64,
    id::CPU_FREEZE,
    id::CPU_DEFAULT_SUSPEND_32,
    id::CPU_DEFAULT_SUSPEND_64,
    id::NODE_HW_STATE_32,
    id::NODE_HW_STATE_64,
    id::SET_SUSPEND_MODE,
    id::MEM_PROTECT,
    id::MEM_PROTECT_CHECK_RANGE_32,
    id::MEM_PROTECT_CHECK_RANGE_64,
    id::SYSTEM_OFF2_32,
    id::SYSTEM_OFF2_64,
    // No 64-bit forms of these.
    0xC400_0000,
    0xC400_0002,
    0xC400_000A,
    // Past the end of the PSCI range, and outside it.
    0x8400_001F,
    0x8400_00FF,
    0x1234_5678,
    id::SMCCC_ARCH_FEATURES,
];

#[test]
fn psci_version_is_1_1_and_smccc_version_is_1_1() {
    let mut bench = Bench::with_domain(1);
    let caller = vcpu(DOMAIN, 0);
    assert_eq!(bench.x0(caller, [id::PSCI_VERSION, 0, 0, 0]), 0x0001_0001);
    assert_eq!(bench.x0(caller, [id::SMCCC_VERSION, 0, 0, 0]), 0x0001_0001);
    // W0 is the function identifier: the upper half of x0 does not count.
    assert_eq!(bench.x0(caller, [0xFFFF_FFFF_0000_0000 | id::PSCI_VERSION, 0, 0, 0]), 0x0001_0001);
}

#[test]
fn psci_features_is_zero_for_every_implemented_function() {
    let mut bench = Bench::with_domain(1);
    for function in IMPLEMENTED {
        let x0 = bench.x0(vcpu(DOMAIN, 0), [id::PSCI_FEATURES, function, 0, 0]);
        assert_eq!(x0, code::SUCCESS, "PSCI_FEATURES({function:#x})");
    }
}

#[test]
fn psci_features_is_not_supported_for_the_rest() {
    let mut bench = Bench::with_domain(1);
    for function in NOT_IMPLEMENTED {
        let x0 = bench.x0(vcpu(DOMAIN, 0), [id::PSCI_FEATURES, function, 0, 0]);
        assert_eq!(x0, code::NOT_SUPPORTED, "PSCI_FEATURES({function:#x})");
    }
}

#[test]
fn psci_features_answers_system_suspend_64_as_linux_needs() {
    let mut bench = Bench::with_domain(1);
    let caller = vcpu(DOMAIN, 0);
    assert_eq!(bench.x0(caller, [id::PSCI_FEATURES, id::SYSTEM_SUSPEND_64, 0, 0]), code::SUCCESS);
    // PSCI_FEATURES is an SMC32 call: the upper half of its argument does not count.
    assert_eq!(bench.x0(caller, [id::PSCI_FEATURES, 0xFFFF_FFFF_C400_000E, 0, 0]), code::SUCCESS);
    // CPU_SUSPEND: original power_state format, platform-coordinated mode only (no flags).
    assert_eq!(bench.x0(caller, [id::PSCI_FEATURES, id::CPU_SUSPEND_64, 0, 0]), 0);
}

#[test]
fn unimplemented_functions_return_not_supported_and_change_nothing() {
    let mut bench = Bench::with_domain(2);
    let before = bench.record(DOMAIN).vcpus;
    for function in NOT_IMPLEMENTED {
        let x0 = bench.x0(vcpu(DOMAIN, 0), [function, 1, common::ENTRY, 7]);
        assert_eq!(x0, code::NOT_SUPPORTED, "{function:#x}");
    }
    // An SMCCC workaround call is not offered either.
    assert_eq!(bench.x0(vcpu(DOMAIN, 0), [id::SMCCC_ARCH_WORKAROUND_1, 0, 0, 0]), code::NOT_SUPPORTED);
    assert_eq!(bench.record(DOMAIN).vcpus, before);
    // Counted as unknown (the last counter): all of them but SMCCC_ARCH_FEATURES, plus the workaround.
    assert_eq!(bench.record(DOMAIN).counters.calls.last().copied(), Some(NOT_IMPLEMENTED.len() as u64));
}

#[test]
fn smccc_arch_features() {
    let mut bench = Bench::with_domain(1);
    let caller = vcpu(DOMAIN, 0);
    assert_eq!(bench.x0(caller, [id::SMCCC_ARCH_FEATURES, id::SMCCC_VERSION, 0, 0]), code::SUCCESS);
    assert_eq!(bench.x0(caller, [id::SMCCC_ARCH_FEATURES, id::SMCCC_ARCH_FEATURES, 0, 0]), code::SUCCESS);
    // No SMCCC_ARCH_WORKAROUND_1/2/3 and no SOC_ID.
    for function in [id::SMCCC_ARCH_WORKAROUND_1, 0x8000_7FFF, 0x8000_3FFF, 0x8000_0002, id::PSCI_VERSION] {
        let x0 = bench.x0(caller, [id::SMCCC_ARCH_FEATURES, function, 0, 0]);
        assert_eq!(x0, code::NOT_SUPPORTED, "SMCCC_ARCH_FEATURES({function:#x})");
    }
}

#[test]
fn migrate_info_type_is_2() {
    let mut bench = Bench::with_domain(1);
    assert_eq!(bench.x0(vcpu(DOMAIN, 0), [id::MIGRATE_INFO_TYPE, 0, 0, 0]), 2);
}

#[test]
fn hvc_and_smc_give_the_same_answers() {
    let calls: [[u64; 4]; 6] = [
        [id::PSCI_VERSION, 0, 0, 0],
        [id::PSCI_FEATURES, id::SYSTEM_SUSPEND_64, 0, 0],
        [id::CPU_ON_64, 1, common::ENTRY, 5],
        [id::AFFINITY_INFO_64, 1, 0, 0],
        [id::CPU_ON_64, 1, common::ENTRY, 5],
        [id::MIGRATE_64, 0, 0, 0],
    ];
    let mut hvc = Bench::with_domain(2);
    let mut smc = Bench::with_domain(2);
    for registers in calls {
        let by_hvc = hvc.call_via(Conduit::Hvc, vcpu(DOMAIN, 0), registers);
        let by_smc = smc.call_via(Conduit::Smc, vcpu(DOMAIN, 0), registers);
        assert_eq!(by_hvc, by_smc, "{registers:#x?}");
        assert!(!by_hvc.is_empty());
    }
    assert_eq!(hvc.record(DOMAIN), smc.record(DOMAIN));
}

#[test]
fn an_unknown_domain_is_answered_not_supported() {
    let mut bench = Bench::default();
    let stranger = vcpu(somnus_abi::ids::DomainId { index: 3, generation: 1 }, 0);
    let actions = bench.call(stranger, [id::CPU_ON_64, 1, common::ENTRY, 0]);
    assert_eq!(actions, [Action::Reply { target: stranger, registers: [code::NOT_SUPPORTED, 1, common::ENTRY, 0] }]);
    assert!(bench.wake(stranger, 27).is_empty());
    assert_eq!(bench.service.table().iter().count(), 0);
}
