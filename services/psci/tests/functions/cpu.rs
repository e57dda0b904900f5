//! CPU_ON, CPU_OFF, AFFINITY_INFO and CPU_SUSPEND: every result and error code, the order of
//! CPU_ON's checks, and the 32-bit forms ignoring the upper halves of their arguments.

use somnus_abi::ipc::Action;
use somnus_service_psci::power_state::{ResumePoint, VcpuPower};

use crate::common::{Bench, DOMAIN, ENTRY, MEMORY, POWER_DOWN, RAM, STANDBY, code, id, reply_of, vcpu};

const BOOT: somnus_abi::ids::VcpuId = vcpu(DOMAIN, 0);

#[test]
fn cpu_on_starts_the_target_at_its_entry_with_its_context_id() {
    for function in [id::CPU_ON_32, id::CPU_ON_64] {
        let mut bench = Bench::with_domain(4);
        let registers = [function, 2, ENTRY, 0x1234];
        let actions = bench.call(BOOT, registers);
        assert_eq!(
            actions,
            [
                Action::StartVcpu { target: vcpu(DOMAIN, 2), entry: ENTRY, context_id: 0x1234 },
                Action::Reply { target: BOOT, registers: [code::SUCCESS, 2, ENTRY, 0x1234] },
            ]
        );
        assert_eq!(bench.record(DOMAIN).vcpus[..4], [VcpuPower::On, VcpuPower::Off, VcpuPower::On, VcpuPower::Off]);
        assert_eq!(bench.x0(BOOT, [id::AFFINITY_INFO_64, 2, 0, 0]), 0);
    }
}

#[test]
fn cpu_on_of_a_vcpu_the_domain_does_not_have_is_invalid_parameters() {
    let mut bench = Bench::with_domain(4);
    for mpidr in [4, 0xFF, 0x100, 0x101, 0x1_0000, 0x1_0001, 0x1_0000_0000, 0xFF_0000_0000] {
        let actions = bench.call(BOOT, [id::CPU_ON_64, mpidr, ENTRY, 0]);
        assert_eq!(reply_of(BOOT, [id::CPU_ON_64, mpidr, ENTRY, 0], &actions), code::INVALID_PARAMETERS, "{mpidr:#x}");
    }
    assert_eq!(bench.record(DOMAIN).vcpus[1..4], [VcpuPower::Off; 3]);
}

#[test]
fn cpu_on_with_an_entry_outside_ram_or_with_bit_0_is_invalid_address() {
    let mut bench = Bench::with_domain(2);
    for entry in [0, RAM - 4, RAM + MEMORY, RAM + MEMORY + 0x1000, u64::MAX - 3, ENTRY | 1, RAM + 1] {
        assert_eq!(bench.x0(BOOT, [id::CPU_ON_64, 1, entry, 0]), code::INVALID_ADDRESS, "{entry:#x}");
    }
    assert_eq!(bench.record(DOMAIN).vcpus[1], VcpuPower::Off);
    // The first and the last word of RAM are fine.
    assert_eq!(bench.call(BOOT, [id::CPU_ON_64, 1, RAM, 0]).len(), 2);
    let mut bench = Bench::with_domain(2);
    assert_eq!(bench.call(BOOT, [id::CPU_ON_64, 1, RAM + MEMORY - 4, 0]).len(), 2);
}

#[test]
fn cpu_on_of_a_vcpu_that_is_on_or_powered_down_is_already_on() {
    let mut bench = Bench::with_domain(3);
    assert_eq!(bench.x0(BOOT, [id::CPU_ON_64, 0, ENTRY, 0]), code::ALREADY_ON, "itself");
    bench.call(BOOT, [id::CPU_ON_64, 1, ENTRY, 0]);
    assert_eq!(bench.x0(BOOT, [id::CPU_ON_64, 1, ENTRY, 0]), code::ALREADY_ON, "on");
    let actions = bench.call(vcpu(DOMAIN, 1), [id::CPU_SUSPEND_64, POWER_DOWN, ENTRY, 0]);
    assert_eq!(actions, [Action::PowerOffVcpu { target: vcpu(DOMAIN, 1) }]);
    assert_eq!(bench.x0(BOOT, [id::CPU_ON_64, 1, ENTRY, 0]), code::ALREADY_ON, "power-down");
}

#[test]
fn cpu_on_checks_the_target_then_the_address_then_the_state() {
    let mut bench = Bench::with_domain(2);
    assert_eq!(bench.x0(BOOT, [id::CPU_ON_64, 7, 0x10, 0]), code::INVALID_PARAMETERS);
    assert_eq!(bench.x0(BOOT, [id::CPU_ON_64, 0, 0x10, 0]), code::INVALID_ADDRESS, "on, but a bad address");
    assert_eq!(bench.x0(BOOT, [id::CPU_ON_64, 0, ENTRY | 1, 0]), code::INVALID_ADDRESS);
    assert_eq!(bench.x0(BOOT, [id::CPU_ON_64, 0, ENTRY, 0]), code::ALREADY_ON);
}

#[test]
fn cpu_on_32_ignores_the_upper_halves_of_its_arguments() {
    let mut bench = Bench::with_domain(2);
    let registers = [id::CPU_ON_32, 0xFFFF_FFFF_0000_0001, 0xFFFF_FFFF_4008_0000, 0xDEAD_BEEF_0000_0042];
    let actions = bench.call(BOOT, registers);
    assert_eq!(actions[0], Action::StartVcpu { target: vcpu(DOMAIN, 1), entry: 0x4008_0000, context_id: 0x42 });
    assert_eq!(reply_of(BOOT, registers, &actions[1..]), code::SUCCESS);
    // The 64-bit form takes them whole: Aff3 = 0xFF names no vCPU, and the entry is outside RAM.
    let mut bench = Bench::with_domain(2);
    let x0 = bench.x0(BOOT, [id::CPU_ON_64, 0xFFFF_FFFF_0000_0001, ENTRY, 0]);
    assert_eq!(x0, code::INVALID_PARAMETERS);
    assert_eq!(bench.x0(BOOT, [id::CPU_ON_64, 1, 0xFFFF_FFFF_4008_0000, 0]), code::INVALID_ADDRESS);
}

#[test]
fn cpu_off_powers_the_caller_off_without_a_reply() {
    let mut bench = Bench::with_domain(2);
    bench.call(BOOT, [id::CPU_ON_64, 1, ENTRY, 0]);
    assert_eq!(bench.call(BOOT, [id::CPU_OFF, 0, 0, 0]), [Action::PowerOffVcpu { target: BOOT }]);
    assert_eq!(bench.record(DOMAIN).vcpus[..2], [VcpuPower::Off, VcpuPower::On]);
    assert_eq!(bench.x0(vcpu(DOMAIN, 1), [id::AFFINITY_INFO_32, 0, 0, 0]), 1);
    // And it can be turned on again.
    let actions = bench.call(vcpu(DOMAIN, 1), [id::CPU_ON_64, 0, ENTRY, 9]);
    assert_eq!(actions[0], Action::StartVcpu { target: BOOT, entry: ENTRY, context_id: 9 });
}

#[test]
fn cpu_off_of_the_last_vcpu_that_is_on_is_denied() {
    let mut bench = Bench::with_domain(3);
    assert_eq!(bench.x0(BOOT, [id::CPU_OFF, 0, 0, 0]), code::DENIED);
    assert_eq!(bench.record(DOMAIN).vcpus[0], VcpuPower::On);
    // A vCPU in power-down is not off: it resumes on its own wake-up interrupt.
    bench.call(BOOT, [id::CPU_ON_64, 1, ENTRY, 0]);
    bench.call(vcpu(DOMAIN, 1), [id::CPU_SUSPEND_64, POWER_DOWN, ENTRY, 0]);
    assert_eq!(bench.call(BOOT, [id::CPU_OFF, 0, 0, 0]), [Action::PowerOffVcpu { target: BOOT }]);
}

#[test]
fn affinity_info_reports_on_and_off_at_every_level() {
    let mut bench = Bench::with_domain(3);
    bench.call(BOOT, [id::CPU_ON_64, 2, ENTRY, 0]);
    for function in [id::AFFINITY_INFO_32, id::AFFINITY_INFO_64] {
        assert_eq!(bench.x0(BOOT, [function, 0, 0, 0]), 0);
        assert_eq!(bench.x0(BOOT, [function, 1, 0, 0]), 1);
        assert_eq!(bench.x0(BOOT, [function, 2, 0, 0]), 0);
        // Levels 1..3 name the domain's single cluster; the fields below the level are ignored.
        for level in 1..=3 {
            assert_eq!(bench.x0(BOOT, [function, 0x7, level, 0]), 0, "level {level}");
        }
    }
    // A vCPU in power-down is on.
    bench.call(vcpu(DOMAIN, 2), [id::CPU_SUSPEND_64, POWER_DOWN, ENTRY, 0]);
    assert_eq!(bench.x0(BOOT, [id::AFFINITY_INFO_64, 2, 0, 0]), 0);
    // The 32-bit form ignores the upper half of the target.
    assert_eq!(bench.x0(BOOT, [id::AFFINITY_INFO_32, 0xFFFF_FFFF_0000_0001, 0, 0]), 1);
}

#[test]
fn affinity_info_of_an_unknown_target_or_level_is_invalid_parameters() {
    let mut bench = Bench::with_domain(2);
    let cases: [(u64, u64, u64); 7] = [
        (id::AFFINITY_INFO_64, 2, 0),
        (id::AFFINITY_INFO_64, 0x100, 0),
        (id::AFFINITY_INFO_64, 0x1_0000_0000, 0),
        (id::AFFINITY_INFO_64, 0x100, 1),
        (id::AFFINITY_INFO_64, 0x1_0000, 2),
        (id::AFFINITY_INFO_64, 0x1_0000_0000, 3),
        (id::AFFINITY_INFO_64, 0, 4),
    ];
    for (function, target, level) in cases {
        let x0 = bench.x0(BOOT, [function, target, level, 0]);
        assert_eq!(x0, code::INVALID_PARAMETERS, "target {target:#x} level {level}");
    }
    assert_eq!(bench.x0(BOOT, [id::AFFINITY_INFO_32, 0, 0xFFFF_FFFF_0000_0004, 0]), code::INVALID_PARAMETERS);
}

#[test]
fn cpu_suspend_standby_replies_success_after_an_interrupt() {
    for function in [id::CPU_SUSPEND_32, id::CPU_SUSPEND_64] {
        let mut bench = Bench::with_domain(1);
        // Standby ignores the entry point and the context id.
        let registers = [function, STANDBY | 0x0100_0007, 0x10, 3];
        let actions = bench.call(BOOT, registers);
        assert_eq!(
            actions,
            [Action::ReplyAfterInterrupt { target: BOOT, registers: [code::SUCCESS, 0x0100_0007, 0x10, 3] }]
        );
        assert_eq!(bench.record(DOMAIN).vcpus[0], VcpuPower::On);
    }
}

#[test]
fn cpu_suspend_power_down_resumes_at_the_entry_on_a_wake_up() {
    for function in [id::CPU_SUSPEND_32, id::CPU_SUSPEND_64] {
        let mut bench = Bench::with_domain(2);
        let caller = vcpu(DOMAIN, 0);
        let actions = bench.call(caller, [function, POWER_DOWN | 0x0200_0005, ENTRY, 0x77]);
        assert_eq!(actions, [Action::PowerOffVcpu { target: caller }]);
        let resume = ResumePoint { entry: ENTRY, context_id: 0x77 };
        assert_eq!(bench.record(DOMAIN).vcpus[0], VcpuPower::Suspended(resume));
        assert!(bench.wake(vcpu(DOMAIN, 1), 27).is_empty(), "a wake-up for another vCPU");
        let actions = bench.wake(caller, 30);
        assert_eq!(actions, [Action::StartVcpu { target: caller, entry: ENTRY, context_id: 0x77 }]);
        assert!(bench.wake(caller, 30).is_empty(), "wake-ups are idempotent");
        assert_eq!(bench.record(DOMAIN).vcpus[0], VcpuPower::On);
    }
}

#[test]
fn cpu_suspend_32_ignores_the_upper_halves_of_its_arguments() {
    let mut bench = Bench::with_domain(1);
    let registers = [id::CPU_SUSPEND_32, 0xFFFF_FFFF_0001_0000, 0xFFFF_FFFF_4008_0000, 0xFFFF_FFFF_0000_0001];
    assert_eq!(bench.call(BOOT, registers), [Action::PowerOffVcpu { target: BOOT }]);
    let actions = bench.wake(BOOT, 27);
    assert_eq!(actions, [Action::StartVcpu { target: BOOT, entry: 0x4008_0000, context_id: 1 }]);
}

#[test]
fn cpu_suspend_with_reserved_bits_is_invalid_parameters() {
    let mut bench = Bench::with_domain(1);
    for bit in [17, 20, 23, 26, 30, 31] {
        for kind in [STANDBY, POWER_DOWN] {
            let power_state = kind | 1 << bit;
            let x0 = bench.x0(BOOT, [id::CPU_SUSPEND_64, power_state, ENTRY, 0]);
            assert_eq!(x0, code::INVALID_PARAMETERS, "power_state {power_state:#x}");
        }
    }
    assert_eq!(bench.record(DOMAIN).vcpus[0], VcpuPower::On);
}

#[test]
fn cpu_suspend_power_down_with_a_bad_entry_is_invalid_address() {
    let mut bench = Bench::with_domain(1);
    for entry in [0x10, RAM + MEMORY, ENTRY | 1] {
        assert_eq!(bench.x0(BOOT, [id::CPU_SUSPEND_64, POWER_DOWN, entry, 0]), code::INVALID_ADDRESS);
    }
    assert_eq!(bench.record(DOMAIN).vcpus[0], VcpuPower::On);
    assert_eq!(bench.record(DOMAIN).vcpu_counters[0].power_down_count, 0);
}
