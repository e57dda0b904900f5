//! The Linux guest tests (test tier 3): Debian's arm64 kernel, unchanged, booted as a Somnus
//! domain from the domain files of `tests/linux/`, its kernel and initramfs prepared by
//! [`crate::assets`]. [`all`] defines the tests for the QEMU test list; [`prepare`] fetches their
//! assets just before they run, and when the package archive cannot be reached drops them with a
//! `SKIP <test>: could not fetch <what>: <why>` line, counted neither as passed nor as failed.
//! Also `cargo xtask fetch-linux` ([`fetch_linux_command`]).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::assets::linux_scenarios::scenarios_dir;
use crate::assets::{FetchError, Refresh, prepare_linux};
use crate::board::Board;
use crate::machine::{CpuModel, GicVersion};
use crate::paths;
use crate::process::Sink;
use crate::qemu_tests::QemuTest;
use crate::qemu_tests::boot_check::{Expected, check_boot};
use crate::qemu_tests::definitions::boot;
use crate::qemu_tests::runner::Progress;
use crate::test_suite::report::Report;

/// Name of the early console test.
pub const EARLYCON_TEST: &str = "linux-earlycon";

/// What Linux must print early in its boot, through the domain's virtual UART.
pub const EARLYCON_LINES: &[&str] =
    &["Booting Linux on physical CPU", "Machine model: linux,dummy-virt", "psci: PSCIv1.1 detected in firmware"];

/// How the console marks the lines of the first domain.
pub const FIRST_DOMAIN_PREFIX: &str = "(d1) ";

/// Hard limit of a Linux boot: slower than the test guests.
const LINUX_TIMEOUT: Duration = Duration::from_secs(30);

/// File of the test log that holds the fetch's output.
const ASSETS_LOG: &str = "linux-assets.log";

/// Every Linux guest test, in the order they run.
pub fn all() -> Vec<QemuTest> {
    vec![earlycon()]
}

/// `linux-earlycon`: Debian's kernel as the only domain (1 vCPU, 256 MiB) on qemu-virt with
/// GICv2 and one CPU prints its early boot lines. Linux stops later, at the GIC distributor,
/// until the virtual GIC exists; only the early lines are checked.
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

/// Whether a test boots a domain file of `tests/linux/`.
fn is_linux_test(test: &QemuTest) -> bool {
    test.domains_path().is_some_and(|config| config.starts_with(scenarios_dir()))
}

/// Prepares the Linux assets when `tests` holds a Linux test (output in
/// `target/test-logs/linux-assets.log`) and returns the tests that can run: all of them, or
/// without the Linux tests when the archive could not be reached (a `SKIP` line each) or the
/// assets could not be prepared (a failure each).
pub fn prepare(mut tests: Vec<QemuTest>, report: &mut Report) -> Vec<QemuTest> {
    if !tests.iter().any(is_linux_test) {
        return tests;
    }
    let log = paths::test_log_dir().join(ASSETS_LOG);
    let Err(error) = Sink::log_file(&log).and_then(|sink| prepare_linux(&sink, Refresh::IfMissing)) else {
        return tests;
    };
    for test in tests.iter().filter(|test| is_linux_test(test)) {
        match error.downcast_ref::<FetchError>() {
            Some(fetch) => report.skip(&test.name, &fetch.to_string()),
            None => report.fail(&test.name, &format!("preparing the Linux assets: {error:#}"), Some(&log)),
        }
    }
    tests.retain(|test| !is_linux_test(test));
    tests
}

/// `cargo xtask fetch-linux [--refresh]`: prepares the Linux assets and says where they are.
pub fn fetch_linux_command(refresh: Refresh) -> Result<()> {
    let prepared = prepare_linux(&Sink::Terminal, refresh)?;
    let assets = &prepared.assets;
    let root = paths::repo_root();
    let show = |path: &std::path::Path| path.strip_prefix(&root).unwrap_or(path).display().to_string();
    println!("kernel   {} -> {}", show(&assets.image_link), show(&assets.image));
    println!("         ({})", assets.selection.kernel);
    println!("busybox  {} -> {}", show(&assets.busybox_link), show(&assets.busybox));
    println!("         ({})", assets.selection.busybox);
    for (scenario, initramfs) in &prepared.initramfs {
        println!(
            "initramfs {} (from {}, booted by {})",
            show(initramfs),
            show(&scenario.init_script),
            show(&scenario.domain_file())
        );
    }
    for test in all() {
        if let Some(config) = test.domains_path() {
            println!("test {} boots {}", test.name, show(&config));
        }
    }
    Ok(())
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

    #[test]
    fn linux_tests_boot_the_domain_files_of_tests_linux() {
        let tests = all();
        assert!(tests.iter().all(is_linux_test));
        for test in &tests {
            let config = test.domains_path().unwrap();
            assert!(config.is_file(), "{}", config.display());
            assert!(test.name.starts_with("linux-"), "{}", test.name);
        }
        let other = QemuTest { domains: Some(PathBuf::from("tests/guests/x.toml")), ..earlycon() };
        assert!(!is_linux_test(&other));
        assert!(!is_linux_test(&QemuTest { domains: None, ..earlycon() }));
    }
}
