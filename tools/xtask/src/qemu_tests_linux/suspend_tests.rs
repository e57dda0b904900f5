//! The Linux suspend tests: `tests/linux/suspend.toml` (Linux with 2 vCPUs beside `heartbeat`,
//! 20 suspend cycles woken by the virtual PL031's alarm, then `poweroff -f`) on qemu-virt with
//! GICv2 and GICv3 and on zcu102, and `suspend-smp4.toml` (4 vCPUs, 3 cycles) on qemu-virt with
//! GICv3; what they must show is [`suspend_check`]. The console test, driven over a socket, is
//! [`console_test`].
//!
//! [`suspend_check`]: super::suspend_check

use std::path::PathBuf;
use std::time::Duration;

use crate::board::Board;
use crate::machine::{CpuModel, GicVersion, Machine};
use crate::qemu_tests::QemuTest;
use crate::qemu_tests::definitions::{boot, machine};
use crate::qemu_tests::runner::Progress;

use super::console_session;
use super::soak;
use super::suspend_check::{self, SuspendExpectations};

/// The machines of the 2-vCPU tests: CPU count and GIC. Every domain has its virtual PL031, so
/// the RTC alarm wakes Linux on zcu102 too.
pub const TWO_VCPU_MACHINES: [(Board, GicVersion, u8); 3] =
    [(Board::QemuVirt, GicVersion::V2, 2), (Board::QemuVirt, GicVersion::V3, 2), (Board::Zcu102, GicVersion::V2, 4)];

/// Cycles of the 4-vCPU test (`somnus.cycles=` of `suspend-smp4.toml`).
pub const FOUR_VCPU_CYCLES: u32 = 3;

/// Time for QEMU to start and Linux to boot to its init, generously (about 5 s on qemu-virt and
/// 11 s on zcu102, with 2 host cores).
const BOOT_TIME: Duration = Duration::from_mins(1);

/// Time per suspend cycle, generously (the alarm is 1 to 2 s ahead, a cycle takes about 2 s).
const CYCLE_TIME: Duration = Duration::from_secs(4);

/// Time of the console test: two Linux boots and a few commands.
const CONSOLE_TIME: Duration = Duration::from_secs(150);

/// The suspend tests and the console test, in the order they run; `soak_cycles` replaces the
/// cycles of the 2-vCPU tests (see [`soak`]).
pub fn all(soak_cycles: Option<u32>) -> Vec<QemuTest> {
    let (two_vcpu_config, cycles) = match soak_cycles {
        Some(cycles) => (soak::soak_domain_path("suspend", cycles), cycles),
        None => (PathBuf::from("tests/linux/suspend.toml"), soak::TEST_CYCLES),
    };
    let mut tests: Vec<QemuTest> = TWO_VCPU_MACHINES
        .into_iter()
        .map(|(board, gic, smp)| {
            let on = machine(board, gic, smp, CpuModel::CortexA53);
            suspend_test("linux-2-vcpus-suspend", two_vcpu_config.clone(), on, SuspendExpectations { vcpus: 2, cycles })
        })
        .collect();
    let four = machine(Board::QemuVirt, GicVersion::V3, 4, CpuModel::CortexA53);
    let want = SuspendExpectations { vcpus: 4, cycles: FOUR_VCPU_CYCLES };
    tests.push(suspend_test("linux-4-vcpus-suspend", "tests/linux/suspend-smp4.toml".into(), four, want));
    tests.push(console_test());
    tests
}

/// `<name>-<machine>` booting `config`, checked by [`suspend_check::check`].
fn suspend_test(name: &str, config: PathBuf, on: Machine, want: SuspendExpectations) -> QemuTest {
    QemuTest {
        domains: Some(config),
        timeout: BOOT_TIME + CYCLE_TIME * want.cycles,
        check: Box::new(suspend_check::check(want)),
        ..boot(&format!("{name}-{}", machine_tag(on)), on.board, on.gic, on.smp, on.cpu)
    }
}

/// `linux-console-qemu-virt-gicv2-smp2`: [`console_session::drive`].
pub fn console_test() -> QemuTest {
    let on = machine(Board::QemuVirt, GicVersion::V2, 2, CpuModel::CortexA53);
    let never = |_, _: &[String]| Progress::Failed("driven over the console socket, not by the line check".into());
    QemuTest {
        domains: Some("tests/linux/console-commands.toml".into()),
        timeout: CONSOLE_TIME,
        check: Box::new(never),
        drive: Some(console_session::drive),
        ..boot(&format!("linux-console-{}", machine_tag(on)), on.board, on.gic, on.smp, on.cpu)
    }
}

/// `qemu-virt-gicv<g>-smp<n>` or `zcu102-smp4`, as in the other tests' names.
fn machine_tag(on: Machine) -> String {
    match on.board {
        Board::QemuVirt => format!("qemu-virt-gicv{}-smp{}", on.gic.number(), on.smp),
        Board::Zcu102 => format!("zcu102-smp{}", on.smp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suspend_tests_run_on_both_gics_and_zcu102() {
        let names: Vec<String> = all(None).into_iter().map(|test| test.name).collect();
        assert_eq!(
            names,
            [
                "linux-2-vcpus-suspend-qemu-virt-gicv2-smp2",
                "linux-2-vcpus-suspend-qemu-virt-gicv3-smp2",
                "linux-2-vcpus-suspend-zcu102-smp4",
                "linux-4-vcpus-suspend-qemu-virt-gicv3-smp4",
                "linux-console-qemu-virt-gicv2-smp2",
            ]
        );
    }

    #[test]
    fn time_limits_grow_with_the_cycles() {
        let tests = all(None);
        assert_eq!(tests[0].timeout, Duration::from_secs(60 + 4 * 20));
        let soak = all(Some(200));
        assert_eq!(soak[2].timeout, Duration::from_secs(60 + 4 * 200));
        assert_eq!(soak[2].domains.as_deref(), Some(soak::soak_domain_path("suspend", 200).as_path()));
        assert_eq!(tests[3].timeout, Duration::from_secs(60 + 4 * 3));
        assert!(tests[4].drive.is_some());
    }

    #[test]
    fn the_four_vcpu_file_has_its_cycles() {
        let text = std::fs::read_to_string(crate::paths::repo_root().join("tests/linux/suspend-smp4.toml")).unwrap();
        assert!(text.contains(&format!("somnus.cycles={FOUR_VCPU_CYCLES}\"")), "{text}");
        assert!(text.contains("vcpus = 4"), "{text}");
    }
}
