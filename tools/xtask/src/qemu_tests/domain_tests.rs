//! The QEMU tests with domains: test guests (`tests/guests`) in the configurations of
//! `tests/domains/`, and the bare-metal demo (`tests/domains/demo-bare-metal.toml`, what `cargo xtask
//! run` boots when Debian's Linux packages cannot be fetched), each
//! on qemu-virt with GICv2 and GICv3 and on zcu102, with what their output must show.
//!
//! Domain `(d<N>)` is the N-th `[[domain]]` of the file.

use crate::board::Board;
use crate::machine::{CpuModel, GicVersion, Machine};
use crate::qemu_tests::definitions::{Boot, QemuTest, boot, machine};
use crate::qemu_tests::guest_check::{FollowedBy, GuestExpectations, Pattern, check_guests};

/// `isolation` (d1) touches three addresses outside its RAM and every device, reading and writing
/// each: every access must be a synchronous external abort taken by its own handler (EC 0x25,
/// DFSC 0x10, WnR for writes) with FAR = the address; `heartbeat` (d2, on another CPU) must keep
/// beating afterwards. `unknown-calls` (d3) gets NOT_SUPPORTED for unassigned HVC and SMC function
/// IDs and carries on; `hello` (d4) parses the device tree it got in x0.
const ISOLATION_CALLS_HELLO: GuestExpectations = GuestExpectations {
    domains: 4,
    required: &[
        Pattern::domain(1, "isolation: read 0x100000000 aborted: ESR=0x96000010 FAR=0x100000000 (synchronous"),
        Pattern::domain(1, "isolation: write 0x100000000 aborted: ESR=0x96000050 FAR=0x100000000 (synchronous"),
        Pattern::domain(1, "isolation: read 0xc000000 aborted: ESR=0x96000010 FAR=0xc000000 (synchronous"),
        Pattern::domain(1, "isolation: write 0xc000000 aborted: ESR=0x96000050 FAR=0xc000000 (synchronous"),
        Pattern::domain(1, "isolation: read 0x41000000 aborted: ESR=0x96000010 FAR=0x41000000 (synchronous"),
        Pattern::domain(1, "isolation: write 0x41000000 aborted: ESR=0x96000050 FAR=0x41000000 (synchronous"),
        Pattern::domain(1, "TEST PASS isolation"),
        Pattern::domain(2, "heartbeat: every 100 ms"),
        Pattern::domain(3, "unknown-calls: HVC 0x86000000 -> x0=0xffffffffffffffff (NOT_SUPPORTED)"),
        Pattern::domain(3, "unknown-calls: HVC 0x840000ff -> x0=0xffffffffffffffff (NOT_SUPPORTED)"),
        Pattern::domain(3, "unknown-calls: HVC PSCI_VERSION -> 0x10001 (PSCI 1.1)"),
        Pattern::domain(3, "unknown-calls: SMC 0x86000000 -> x0=0xffffffffffffffff (NOT_SUPPORTED)"),
        Pattern::domain(3, "unknown-calls: SMC 0x840000ff -> x0=0xffffffffffffffff (NOT_SUPPORTED)"),
        Pattern::domain(3, "unknown-calls: SMC PSCI_VERSION -> 0x10001 (PSCI 1.1)"),
        Pattern::domain(3, "TEST PASS unknown-calls"),
        Pattern::domain(4, "hello from hello at EL1"),
        Pattern::domain(4, "hello: device tree of "),
        Pattern::domain(4, "hello: RAM 0x40000000..0x41000000"),
        Pattern::domain(4, "TEST PASS hello"),
    ],
    forbidden: &[],
    followed_by: &[FollowedBy {
        after: Pattern::domain(1, "TEST PASS isolation"),
        count: 10,
        matching: Pattern::domain(2, "heartbeat "),
        before: None,
    }],
};

/// `wfi-block` (d1) waits in WFI with nothing that could wake it, on the same CPU as
/// `steal-detector` (d2), which must lose no more than 10 % of 2 s to other vCPUs; the blocked vCPU
/// must never return from WFI.
const WFI_IDLE: GuestExpectations = GuestExpectations {
    domains: 2,
    required: &[
        Pattern::domain(1, "wfi-block: waiting"),
        Pattern::domain(2, "steal-detector: lost "),
        Pattern::domain(2, "TEST PASS steal-detector"),
    ],
    forbidden: &[Pattern::anywhere("wfi-block: woke")],
    followed_by: &[],
};

/// Two `register-pattern` domains time-sliced on one CPU for 3 s: both keep their registers, and
/// each reports progress at least twice while the other still runs (they really shared the CPU).
const CONTEXT_SWITCH: GuestExpectations = GuestExpectations {
    domains: 2,
    required: &[
        Pattern::domain(1, "register-pattern: seed "),
        Pattern::domain(2, "register-pattern: seed "),
        Pattern::domain(1, "TEST PASS register-pattern"),
        Pattern::domain(2, "TEST PASS register-pattern"),
    ],
    forbidden: &[],
    followed_by: &[
        FollowedBy {
            after: Pattern::domain(1, "register-pattern: seed "),
            count: 2,
            matching: Pattern::domain(2, " checks ok"),
            before: Some(Pattern::domain(1, "TEST PASS register-pattern")),
        },
        FollowedBy {
            after: Pattern::domain(2, "register-pattern: seed "),
            count: 2,
            matching: Pattern::domain(1, " checks ok"),
            before: Some(Pattern::domain(2, "TEST PASS register-pattern")),
        },
    ],
};

/// The demo: `hello` (d1) shows the device tree and the command line of its domain file and
/// passes; `heartbeat` (d2) takes its one-second interval from its command line and beats.
pub const DEMO: GuestExpectations = GuestExpectations {
    domains: 2,
    required: &[
        Pattern::domain(1, "hello: device tree of "),
        Pattern::domain(1, "hello: bootargs \"console=ttyAMA0 greeting=demo\""),
        Pattern::domain(1, "TEST PASS hello"),
        Pattern::domain(2, "heartbeat: every 1000 ms"),
        Pattern::domain(2, "heartbeat 0"),
    ],
    forbidden: &[],
    followed_by: &[],
};

/// Virtual counter time follows executed instructions (16 ns each), not the host: a host that
/// deschedules QEMU for milliseconds (common on a loaded machine) cannot look like steal time, and
/// the tests that run for seconds of counter time finish in about a third of that. Each of the
/// 50 000-iteration spins of `register-pattern` then spans several 1 ms time slices, so the switch
/// happens while the pattern is live in the registers.
///
/// With `-icount` QEMU runs all CPUs in one thread, taking turns, and the counter can move on by
/// whole turns of the other CPUs while CPU 0's vCPU waits for its own (measured on qemu-virt with
/// a second, idle CPU: up to half of the time; with one CPU: none). So on qemu-virt these tests
/// use one CPU, which is all they need (every vCPU is pinned to CPU 0); zcu102 always has four.
const ICOUNT: &[&str] = &["-icount", "shift=4"];

/// Every test with domains, in the order they run.
pub fn all() -> Vec<QemuTest> {
    let mut tests = Vec::new();
    let mut on_every_machine =
        |name: &str, config: &str, smp: u8, want: GuestExpectations, extra: &'static [&'static str]| {
            for (board, gic) in
                [(Board::QemuVirt, GicVersion::V2), (Board::QemuVirt, GicVersion::V3), (Board::Zcu102, GicVersion::V2)]
            {
                let smp = if board == Board::Zcu102 { crate::machine::ZCU102_CPUS } else { smp };
                tests.push(with_domains(name, config, machine(board, gic, smp, CpuModel::CortexA53), want, extra));
            }
        };
    on_every_machine(
        "isolation-calls-hello",
        "tests/domains/isolation-calls-hello.toml",
        4,
        ISOLATION_CALLS_HELLO,
        &[],
    );
    on_every_machine("wfi-idle", "tests/domains/wfi-idle.toml", 1, WFI_IDLE, ICOUNT);
    on_every_machine("context-switch", "tests/domains/context-switch.toml", 1, CONTEXT_SWITCH, ICOUNT);
    for board in Board::ALL {
        let default = machine(board, GicVersion::V2, 4, CpuModel::CortexA53);
        tests.push(with_domains("demo", "tests/domains/demo-bare-metal.toml", default, DEMO, &[]));
    }
    tests
}

/// `config` booted on `machine` and checked against `want`; named `<name>-<machine>`.
fn with_domains(
    name: &str,
    config: &str,
    machine: Machine,
    want: GuestExpectations,
    extra: &'static [&'static str],
) -> QemuTest {
    let name = format!("{name}-{}", machine_tag(machine));
    QemuTest {
        domains: Some(config.into()),
        boot: Boot { extra, ..Boot::NORMAL },
        check: Box::new(move |expected, lines: &[String]| check_guests(expected, &want, lines)),
        ..boot(&name, machine.board, machine.gic, machine.smp, machine.cpu)
    }
}

/// `qemu-virt-gicv<g>-smp<n>` or `zcu102-smp4`, as in the other tests' names.
fn machine_tag(machine: Machine) -> String {
    match machine.board {
        Board::QemuVirt => format!("qemu-virt-gicv{}-smp{}", machine.gic.number(), machine.smp),
        Board::Zcu102 => format!("zcu102-smp{}", machine.smp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths;

    #[test]
    fn every_configuration_runs_on_both_gics_and_zcu102() {
        let names: Vec<String> = all().into_iter().map(|test| test.name).collect();
        for prefix in ["isolation-calls-hello", "wfi-idle", "context-switch"] {
            let on: Vec<&String> = names.iter().filter(|name| name.starts_with(prefix)).collect();
            assert_eq!(on.len(), 3, "{prefix}: {on:?}");
            assert!(on.iter().any(|name| name.contains("gicv2")) && on.iter().any(|name| name.contains("gicv3")));
            assert!(on.iter().any(|name| name.ends_with("zcu102-smp4")), "{on:?}");
        }
        assert!(names.contains(&"demo-qemu-virt-gicv2-smp4".to_owned()), "{names:?}");
        assert!(names.contains(&"demo-zcu102-smp4".to_owned()), "{names:?}");
        assert!(names.contains(&"wfi-idle-qemu-virt-gicv3-smp1".to_owned()), "{names:?}");
    }

    #[test]
    fn configurations_exist_and_the_timed_tests_use_icount() {
        for test in all() {
            let config = test.domains_path().expect("every test here has domains");
            assert!(config.is_file(), "{}: {} is missing", test.name, config.display());
            assert!(config.starts_with(paths::repo_root()), "{}", config.display());
            let timed = test.name.starts_with("wfi-idle") || test.name.starts_with("context-switch");
            assert_eq!(test.boot.extra == ICOUNT, timed, "{}", test.name);
        }
    }
}
