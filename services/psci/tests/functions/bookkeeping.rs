//! PSCI_STAT_COUNT and PSCI_STAT_RESIDENCY, stale domain generations, and two domains side by side.

use somnus_abi::ids::DomainId;
use somnus_abi::ipc::Action;
use somnus_service_psci::power_state::{DomainPower, VcpuPower};

use crate::common::{Bench, DOMAIN, ENTRY, POWER_DOWN, STANDBY, code, id, vcpu};

const BOOT: somnus_abi::ids::VcpuId = vcpu(DOMAIN, 0);

#[test]
fn stat_count_and_residency_follow_the_power_down_entries() {
    let mut bench = Bench::with_domain(2);
    let second = vcpu(DOMAIN, 1);
    bench.call_at(BOOT, [id::CPU_ON_64, 1, ENTRY, 0], 0);
    // Two stays in power-down: 2.5 ms and 0.75 ms.
    bench.call_at(second, [id::CPU_SUSPEND_64, POWER_DOWN, ENTRY, 0], 1_000_000);
    let stat = |bench: &mut Bench, function, time_ns| {
        let actions = bench.call_at(BOOT, [function, 1, POWER_DOWN, 0], time_ns);
        crate::common::reply_of(BOOT, [function, 1, POWER_DOWN, 0], &actions)
    };
    assert_eq!(stat(&mut bench, id::STAT_COUNT_64, 2_000_000), 1);
    assert_eq!(stat(&mut bench, id::STAT_RESIDENCY_64, 2_000_000), 1_000, "the ongoing stay counts");
    bench.wake_at(second, 27, 3_500_000);
    bench.call_at(second, [id::CPU_SUSPEND_32, POWER_DOWN, ENTRY, 0], 4_000_000);
    bench.wake_at(second, 27, 4_750_000);
    for (count, residency) in [(id::STAT_COUNT_32, id::STAT_RESIDENCY_32), (id::STAT_COUNT_64, id::STAT_RESIDENCY_64)] {
        assert_eq!(stat(&mut bench, count, 9_000_000), 2);
        assert_eq!(stat(&mut bench, residency, 9_000_000), 3_250);
    }
    // Standby states are not tracked; vCPU 0 was never powered down.
    assert_eq!(bench.x0(BOOT, [id::STAT_COUNT_64, 1, STANDBY, 0]), 0);
    assert_eq!(bench.x0(BOOT, [id::STAT_COUNT_64, 0, POWER_DOWN, 0]), 0);
    assert_eq!(bench.x0(BOOT, [id::STAT_RESIDENCY_64, 0, POWER_DOWN, 0]), 0);
}

#[test]
fn system_suspend_counts_as_a_power_down_entry_of_its_caller() {
    let mut bench = Bench::with_domain(1);
    bench.call_at(BOOT, [id::SYSTEM_SUSPEND_64, ENTRY, 0, 0], 10_000_000);
    bench.wake_at(BOOT, 27, 30_000_000);
    assert_eq!(bench.x0(BOOT, [id::STAT_COUNT_64, 0, POWER_DOWN, 0]), 1);
    assert_eq!(bench.x0(BOOT, [id::STAT_RESIDENCY_64, 0, POWER_DOWN, 0]), 20_000);
}

#[test]
fn stat_calls_with_a_bad_target_or_power_state_are_invalid_parameters() {
    let mut bench = Bench::with_domain(2);
    for function in [id::STAT_COUNT_32, id::STAT_COUNT_64, id::STAT_RESIDENCY_32, id::STAT_RESIDENCY_64] {
        assert_eq!(bench.x0(BOOT, [function, 2, POWER_DOWN, 0]), code::INVALID_PARAMETERS);
        assert_eq!(bench.x0(BOOT, [function, 0x100, POWER_DOWN, 0]), code::INVALID_PARAMETERS);
        assert_eq!(bench.x0(BOOT, [function, 1, POWER_DOWN | 1 << 20, 0]), code::INVALID_PARAMETERS);
    }
}

#[test]
fn a_stale_generation_is_answered_without_touching_the_current_one() {
    let mut bench = Bench::with_domain(2);
    let current = DomainId { generation: 2, ..DOMAIN };
    bench.start(current, 2);
    let stale = vcpu(DOMAIN, 0);
    let before = bench.record(current);
    for registers in [
        [id::CPU_ON_64, 1, ENTRY, 0],
        [id::SYSTEM_SUSPEND_64, ENTRY, 0, 0],
        [id::SYSTEM_OFF, 0, 0, 0],
        [id::SYSTEM_RESET, 0, 0, 0],
        [id::CPU_OFF, 0, 0, 0],
        [id::PSCI_VERSION, 0, 0, 0],
    ] {
        let actions = bench.call(stale, registers);
        assert_eq!(
            actions,
            [Action::Reply {
                target: stale,
                registers: [code::NOT_SUPPORTED, registers[1], registers[2], registers[3]]
            }]
        );
    }
    assert_eq!(bench.record(current), before);
    assert!(bench.service.table().get(DOMAIN).is_none());
    // A stale wake-up does not resume the current generation.
    bench.call(vcpu(current, 0), [id::SYSTEM_SUSPEND_64, ENTRY, 0, 0]);
    assert!(bench.wake(vcpu(DOMAIN, 0), 27).is_empty());
    assert!(matches!(bench.record(current).power, DomainPower::Suspended { .. }));
    assert_eq!(bench.wake(vcpu(current, 1), 27).len(), 1);
}

#[test]
fn two_domains_never_affect_each_other() {
    let other = DomainId { index: 5, generation: 3 };
    let mut bench = Bench::with_domain(2);
    bench.start(other, 2);
    // The same MPIDR names a vCPU of the caller's own domain.
    let actions = bench.call(vcpu(other, 0), [id::CPU_ON_64, 1, ENTRY, 4]);
    assert_eq!(actions[0], Action::StartVcpu { target: vcpu(other, 1), entry: ENTRY, context_id: 4 });
    assert_eq!(bench.record(DOMAIN).vcpus[1], VcpuPower::Off);
    assert_eq!(bench.x0(BOOT, [id::AFFINITY_INFO_64, 1, 0, 0]), 1);
    // One sleeps; the other's wake-ups and calls do not resume it, and its own do not disturb the other.
    bench.call(BOOT, [id::SYSTEM_SUSPEND_64, ENTRY, 1, 0]);
    assert!(bench.wake(vcpu(other, 1), 27).is_empty());
    assert_eq!(bench.x0(vcpu(other, 1), [id::SYSTEM_SUSPEND_64, ENTRY, 0, 0]), code::DENIED);
    assert!(matches!(bench.record(DOMAIN).power, DomainPower::Suspended { .. }));
    assert_eq!(bench.record(other).power, DomainPower::Running);
    // SYSTEM_OFF of the other leaves this one suspended and resumable.
    assert_eq!(bench.call(vcpu(other, 1), [id::SYSTEM_OFF, 0, 0, 0]), [Action::StopDomain { domain: other }]);
    assert_eq!(bench.wake(vcpu(DOMAIN, 1), 27), [Action::StartVcpu { target: BOOT, entry: ENTRY, context_id: 1 }]);
    assert_eq!(bench.record(other).power, DomainPower::Off);
    assert_eq!(bench.service.table().iter().count(), 2);
}
