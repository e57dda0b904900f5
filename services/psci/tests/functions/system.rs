//! SYSTEM_OFF, SYSTEM_RESET, SYSTEM_RESET2 and SYSTEM_SUSPEND with the wake-ups that resume it.

use somnus_abi::ids::DomainId;
use somnus_abi::ipc::{Action, WAKE_BY_REQUEST};
use somnus_service_psci::power_state::{DomainPower, ResumePoint, VcpuPower};

use crate::common::{Bench, DOMAIN, ENTRY, MEMORY, POWER_DOWN, RAM, code, id, vcpu};

const BOOT: somnus_abi::ids::VcpuId = vcpu(DOMAIN, 0);

#[test]
fn system_off_stops_the_domain_without_a_reply() {
    let mut bench = Bench::with_domain(2);
    bench.call(BOOT, [id::CPU_ON_64, 1, ENTRY, 0]);
    assert_eq!(bench.call(BOOT, [id::SYSTEM_OFF, 0, 0, 0]), [Action::StopDomain { domain: DOMAIN }]);
    let record = bench.record(DOMAIN);
    assert_eq!(record.power, DomainPower::Off);
    assert_eq!(record.vcpus[..2], [VcpuPower::Off; 2]);
}

/// Regression: a call that was already in the mailbox when SYSTEM_OFF (or SYSTEM_RESET) took
/// effect used to be handled as if the domain still ran: CPU_ON started a vCPU of the stopped
/// domain, SYSTEM_SUSPEND suspended it (and a wake-up then started its caller again).
#[test]
fn calls_queued_behind_system_off_or_reset_start_nothing() {
    for stop in [[id::SYSTEM_OFF, 0, 0, 0], [id::SYSTEM_RESET, 0, 0, 0], [id::SYSTEM_RESET2_64, 0, 0, 0]] {
        let mut bench = Bench::with_domain(3);
        bench.call(BOOT, [id::CPU_ON_64, 1, ENTRY, 0]);
        assert_eq!(bench.call(BOOT, stop).len(), 1);
        let late = vcpu(DOMAIN, 1);
        for registers in [
            [id::CPU_ON_64, 2, ENTRY, 0],
            [id::CPU_ON_64, 0, ENTRY, 0],
            [id::SYSTEM_SUSPEND_64, ENTRY, 0, 0],
            [id::CPU_SUSPEND_64, POWER_DOWN, ENTRY, 0],
            [id::CPU_OFF, 0, 0, 0],
        ] {
            let actions = bench.call(late, registers);
            assert!(
                actions.iter().all(|action| matches!(action, Action::Reply { target, .. } if *target == late)),
                "{registers:#x?} after {stop:#x?}: {actions:?}"
            );
        }
        assert!(bench.wake(late, 27).is_empty());
        assert!(bench.wake(BOOT, 27).is_empty());
        let record = bench.record(DOMAIN);
        assert_eq!(record.power, DomainPower::Off);
        assert_eq!(record.vcpus[..3], [VcpuPower::Off; 3]);
    }
}

#[test]
fn system_reset_and_warm_reset2_reboot_the_domain() {
    for registers in
        [[id::SYSTEM_RESET, 0, 0, 0], [id::SYSTEM_RESET2_32, 0, 0x55, 0], [id::SYSTEM_RESET2_64, 0, 0x55, 0]]
    {
        let mut bench = Bench::with_domain(2);
        assert_eq!(bench.call(BOOT, registers), [Action::RebootDomain { domain: DOMAIN }], "{registers:#x?}");
        // The kernel rebuilds it as a new generation: vCPU 0 on, the rest off.
        let reborn = DomainId { generation: DOMAIN.generation + 1, ..DOMAIN };
        assert!(bench.start(reborn, 2).is_empty());
        assert_eq!(bench.record(reborn).vcpus[..2], [VcpuPower::On, VcpuPower::Off]);
        assert_eq!(bench.record(reborn).power, DomainPower::Running);
    }
}

#[test]
fn system_reset2_vendor_types_are_not_supported_and_others_invalid() {
    let mut bench = Bench::with_domain(1);
    for function in [id::SYSTEM_RESET2_32, id::SYSTEM_RESET2_64] {
        for reset_type in [0x8000_0000, 0x8000_0001, 0xFFFF_FFFF] {
            assert_eq!(bench.x0(BOOT, [function, reset_type, 0, 0]), code::NOT_SUPPORTED, "{reset_type:#x}");
        }
        for reset_type in [1, 2, 0x7FFF_FFFF] {
            assert_eq!(bench.x0(BOOT, [function, reset_type, 0, 0]), code::INVALID_PARAMETERS, "{reset_type:#x}");
        }
    }
    // reset_type is 32 bits wide in both forms.
    assert_eq!(bench.call(BOOT, [id::SYSTEM_RESET2_64, 0xFFFF_FFFF_0000_0000, 0, 0]).len(), 1);
    assert_eq!(bench.record(DOMAIN).power, DomainPower::Off);
}

#[test]
fn system_suspend_resumes_the_caller_at_its_entry_on_any_wake_up() {
    for (function, waker, intid) in
        [(id::SYSTEM_SUSPEND_32, 0, 27), (id::SYSTEM_SUSPEND_64, 1, 40), (id::SYSTEM_SUSPEND_64, 2, WAKE_BY_REQUEST)]
    {
        let mut bench = Bench::with_domain(3);
        let actions = bench.call_at(BOOT, [function, ENTRY, 0xC0DE, 0], 1_000);
        assert_eq!(actions, [Action::PowerOffVcpu { target: BOOT }]);
        let record = bench.record(DOMAIN);
        let resume = ResumePoint { entry: ENTRY, context_id: 0xC0DE };
        assert_eq!(record.power, DomainPower::Suspended { resumer: 0, resume, since_ns: 1_000 });
        assert_eq!(record.vcpus[..3], [VcpuPower::Off; 3]);
        let actions = bench.wake_at(vcpu(DOMAIN, waker), intid, 5_000);
        assert_eq!(actions, [Action::StartVcpu { target: BOOT, entry: ENTRY, context_id: 0xC0DE }]);
        assert!(bench.wake_at(vcpu(DOMAIN, waker), intid, 6_000).is_empty(), "a second wake-up does nothing");
        assert!(bench.wake_at(BOOT, 27, 7_000).is_empty());
        let record = bench.record(DOMAIN);
        assert_eq!(record.power, DomainPower::Running);
        assert_eq!(record.vcpus[..3], [VcpuPower::On, VcpuPower::Off, VcpuPower::Off]);
        assert_eq!((record.counters.suspend_count, record.counters.resume_count), (1, 1));
        assert_eq!(record.counters.last_wake_intid, Some(intid));
    }
}

#[test]
fn system_suspend_32_ignores_the_upper_halves_of_its_arguments() {
    let mut bench = Bench::with_domain(1);
    let registers = [id::SYSTEM_SUSPEND_32, 0xFFFF_FFFF_4008_0000, 0xFFFF_FFFF_0000_0002, 0];
    assert_eq!(bench.call(BOOT, registers), [Action::PowerOffVcpu { target: BOOT }]);
    assert_eq!(bench.wake(BOOT, 27), [Action::StartVcpu { target: BOOT, entry: 0x4008_0000, context_id: 2 }]);
}

#[test]
fn system_suspend_from_a_secondary_vcpu_resumes_that_vcpu() {
    let mut bench = Bench::with_domain(3);
    bench.call(BOOT, [id::CPU_ON_64, 2, ENTRY, 0]);
    bench.call(BOOT, [id::CPU_OFF, 0, 0, 0]);
    let caller = vcpu(DOMAIN, 2);
    assert_eq!(bench.call(caller, [id::SYSTEM_SUSPEND_64, ENTRY, 8, 0]), [Action::PowerOffVcpu { target: caller }]);
    assert_eq!(bench.wake(BOOT, 27), [Action::StartVcpu { target: caller, entry: ENTRY, context_id: 8 }]);
}

#[test]
fn system_suspend_is_denied_unless_every_other_vcpu_is_off() {
    let mut bench = Bench::with_domain(3);
    bench.call(BOOT, [id::CPU_ON_64, 1, ENTRY, 0]);
    for function in [id::SYSTEM_SUSPEND_32, id::SYSTEM_SUSPEND_64] {
        assert_eq!(bench.x0(BOOT, [function, ENTRY, 0, 0]), code::DENIED);
        // DENIED is decided before the entry point is looked at.
        assert_eq!(bench.x0(BOOT, [function, 0x10, 0, 0]), code::DENIED);
    }
    // A vCPU in power-down is not off either.
    bench.call(vcpu(DOMAIN, 1), [id::CPU_SUSPEND_64, POWER_DOWN, ENTRY, 0]);
    assert_eq!(bench.x0(BOOT, [id::SYSTEM_SUSPEND_64, ENTRY, 0, 0]), code::DENIED);
    assert_eq!(bench.record(DOMAIN).power, DomainPower::Running);
    assert_eq!(bench.record(DOMAIN).counters.suspend_count, 0);
}

#[test]
fn system_suspend_with_a_bad_entry_is_invalid_address() {
    let mut bench = Bench::with_domain(2);
    for function in [id::SYSTEM_SUSPEND_32, id::SYSTEM_SUSPEND_64] {
        for entry in [0, RAM - 4, RAM + MEMORY, ENTRY | 1] {
            assert_eq!(bench.x0(BOOT, [function, entry, 0, 0]), code::INVALID_ADDRESS, "{entry:#x}");
        }
    }
    assert_eq!(bench.record(DOMAIN).power, DomainPower::Running);
    assert_eq!(bench.record(DOMAIN).vcpus[0], VcpuPower::On);
}

#[test]
fn a_wake_up_for_a_domain_that_is_not_suspended_does_nothing() {
    let mut bench = Bench::with_domain(3);
    bench.call(BOOT, [id::CPU_ON_64, 1, ENTRY, 0]);
    for index in 0..3 {
        assert!(bench.wake(vcpu(DOMAIN, index), 27).is_empty());
    }
    let record = bench.record(DOMAIN);
    assert_eq!(record.vcpus[..3], [VcpuPower::On, VcpuPower::On, VcpuPower::Off]);
    assert_eq!((record.power, record.counters.resume_count), (DomainPower::Running, 0));
}

#[test]
fn suspend_resume_cycles_repeat() {
    let mut bench = Bench::with_domain(2);
    for cycle in 0..100_u64 {
        let entry = ENTRY + cycle * 8;
        assert_eq!(bench.call(BOOT, [id::SYSTEM_SUSPEND_64, entry, cycle, 0]).len(), 1);
        assert_eq!(bench.wake(vcpu(DOMAIN, 1), 27), [Action::StartVcpu { target: BOOT, entry, context_id: cycle }]);
    }
    let record = bench.record(DOMAIN);
    assert_eq!((record.counters.suspend_count, record.counters.resume_count), (100, 100));
}
