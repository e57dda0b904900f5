//! The first Linux test, `linux-earlycon`: Debian's kernel prints its early boot lines through
//! the domain's virtual PL011 (`earlycon` finds it from `/chosen`). Only those lines are checked;
//! the suspend tests check the rest of a boot.

use std::path::PathBuf;
use std::time::Duration;

use crate::board::Board;
use crate::machine::{CpuModel, GicVersion};
use crate::qemu_tests::QemuTest;
use crate::qemu_tests::boot_check::{Expected, check_boot};
use crate::qemu_tests::definitions::boot;
use crate::qemu_tests::runner::Progress;

/// Name of the early console test.
pub const EARLYCON_TEST: &str = "linux-earlycon";

/// What Linux must print early in its boot, through the domain's virtual UART.
pub const EARLYCON_LINES: &[&str] =
    &["Booting Linux on physical CPU", "Machine model: linux,dummy-virt", "psci: PSCIv1.1 detected in firmware"];

/// How the console marks the lines of the first domain.
pub const FIRST_DOMAIN_PREFIX: &str = "(d1) ";

/// Hard limit of a Linux boot: slower than the test guests.
const LINUX_TIMEOUT: Duration = Duration::from_secs(30);

/// `linux-earlycon`: Debian's kernel as the only domain (1 vCPU, 256 MiB) on qemu-virt with
/// GICv2 and one CPU prints its early boot lines.
pub fn earlycon() -> QemuTest {
    QemuTest {
        domains: Some(PathBuf::from("tests/linux/earlycon.toml")),
        timeout: LINUX_TIMEOUT,
        check: Box::new(check_earlycon),
        ..boot(EARLYCON_TEST, Board::QemuVirt, GicVersion::V2, 1, CpuModel::CortexA53)
    }
}

/// A normal boot with one domain, and every line of [`EARLYCON_LINES`] printed by domain 1.
pub fn check_earlycon(expected: Expected, lines: &[String]) -> Progress {
    check_boot(expected, lines).then(|| domain_lines_progress(lines, FIRST_DOMAIN_PREFIX, EARLYCON_LINES))
}

/// Done when, for every wanted text, some line has `prefix` followed by text containing it.
fn domain_lines_progress(lines: &[String], prefix: &str, wanted: &[&str]) -> Progress {
    let printed =
        |text: &str| lines.iter().any(|line| line.split_once(prefix).is_some_and(|(_, rest)| rest.contains(text)));
    let missing: Vec<String> = wanted.iter().filter(|text| !printed(text)).map(|text| format!("`{text}`")).collect();
    if missing.is_empty() {
        Progress::Done
    } else {
        Progress::Waiting(format!("no `{prefix}` line with {}", missing.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(items: &[&str]) -> Vec<String> {
        items.iter().map(|line| (*line).to_owned()).collect()
    }

    fn expected() -> Expected {
        Expected { machine: earlycon().machine, domains: 1 }
    }

    const BOOT: &[&str] = &[
        "somnus: cpu 0 online (mpidr 0x0), EL2 timer ticking",
        "somnus: ready board=qemu-virt gic=v2 cpus=1 domains=1",
    ];

    #[test]
    fn the_early_linux_lines_of_domain_one_are_needed() {
        let mut log = lines(BOOT);
        log.push("(d1) [    0.000000] Booting Linux on physical CPU 0x0000000000 [0x410fd034]".into());
        log.push("(d1) [    0.000000] Machine model: linux,dummy-virt".into());
        let Progress::Waiting(reason) = check_earlycon(expected(), &log) else { panic!("not waiting") };
        assert_eq!(reason, "no `(d1) ` line with `psci: PSCIv1.1 detected in firmware`");
        log.push("(d1) [    0.000000] psci: PSCIv1.1 detected in firmware.".into());
        assert_eq!(check_earlycon(expected(), &log), Progress::Done);
    }

    #[test]
    fn lines_of_another_domain_or_the_hypervisor_do_not_count() {
        let mut log = lines(BOOT);
        for text in EARLYCON_LINES {
            log.push(format!("(d2) {text}"));
            log.push(format!("somnus: {text}"));
        }
        assert!(matches!(check_earlycon(expected(), &log), Progress::Waiting(_)));
    }

    #[test]
    fn the_hypervisor_must_boot_with_one_domain() {
        let mut log = lines(&["somnus: cpu 0 online (mpidr 0x0), EL2 timer ticking"]);
        log.extend(EARLYCON_LINES.iter().map(|text| format!("(d1) {text}")));
        let Progress::Waiting(reason) = check_earlycon(expected(), &log) else { panic!("not waiting") };
        assert!(reason.contains("no ready line"), "{reason}");
        log.push("somnus: ready board=qemu-virt gic=v2 cpus=1 domains=0".into());
        assert!(matches!(check_earlycon(expected(), &log), Progress::Failed(_)));
    }
}
