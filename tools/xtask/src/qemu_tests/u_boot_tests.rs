//! The QEMU test of the real boot chain: Debian's U-Boot, QEMU's firmware on qemu-virt at EL2,
//! finds `boot.scr` on the boot partition by itself, loads and verifies the FIT image and boots
//! Somnus with the device tree it relocated, whose address Somnus must take from x0, and Somnus
//! boots the demo domains. [`prepare`] fetches U-Boot before the tests run and, when the package
//! archive cannot be reached, drops the test with a `SKIP <test>: could not fetch <what>: <why>`
//! line, counted neither as passed nor as failed.

use std::path::PathBuf;
use std::time::Duration;

use crate::assets::debian_arm64_dir;
use crate::assets::package_cache::PackageCache;
use crate::assets::u_boot_package::fetch_u_boot;
use crate::assets::{FetchError, Refresh};
use crate::board::Board;
use crate::image::fit;
use crate::machine::{CpuModel, GicVersion};
use crate::paths;
use crate::process::Sink;
use crate::qemu_tests::boot_check::Expected;
use crate::qemu_tests::definitions::{Artifact, Boot, QemuTest, boot};
use crate::qemu_tests::domain_tests::DEMO;
use crate::qemu_tests::guest_check::check_guests;
use crate::qemu_tests::kernel_log::KernelLog;
use crate::qemu_tests::runner::Progress;
use crate::test_suite::report::Report;
use crate::u_boot::boot_partition::FIT_FILE;
use crate::u_boot::boot_script::LOADING_MESSAGE;

/// The demo booted through U-Boot.
pub const U_BOOT_DEMO_TEST: &str = "u-boot-demo-qemu-virt-gicv2-smp4";

/// Hard limit: U-Boot waits 2 s for a key before it boots, then scans its devices.
const TIMEOUT: Duration = Duration::from_secs(40);

/// File of the test log that holds the fetch's output.
const PACKAGE_LOG: &str = "u-boot-package.log";

/// What U-Boot prints when a boot script it ran returned: it did not boot.
const SCRIPT_FAILED: &str = "SCRIPT FAILED";

/// U-Boot's line naming where it put the device tree it passes (`Loading Device Tree to
/// 000000007dca8000, end 000000007ddaafff ... OK`).
const DEVICE_TREE_LOADED: &str = "Loading Device Tree to ";

/// Somnus's line naming the device tree it read.
const DEVICE_TREE_READ: &str = "somnus: device tree at ";

/// Every test that boots through U-Boot, in the order they run.
pub fn all() -> Vec<QemuTest> {
    vec![QemuTest {
        domains: Some(PathBuf::from("tests/domains/demo-bare-metal.toml")),
        boot: Boot { artifact: Artifact::UBootFit, ..Boot::NORMAL },
        timeout: TIMEOUT,
        check: Box::new(check_u_boot_demo),
        ..boot(U_BOOT_DEMO_TEST, Board::QemuVirt, GicVersion::V2, 4, CpuModel::CortexA53)
    }]
}

/// What U-Boot must print, in this order, before Somnus runs: its banner, the script it found on
/// the virtio disk, the script's own line, the FIT configuration with its hash checked, the
/// device tree it passes and the jump.
pub fn u_boot_lines() -> Vec<String> {
    vec![
        "U-Boot 20".to_owned(),
        "Found U-Boot script /boot.scr".to_owned(),
        format!("{LOADING_MESSAGE}/{FIT_FILE} from virtio 0:1 to 0x"),
        format!("Using '{}' configuration", fit::CONFIGURATION),
        "Verifying Hash Integrity ... sha256+ OK".to_owned(),
        DEVICE_TREE_LOADED.to_owned(),
        "Starting kernel ...".to_owned(),
    ]
}

/// U-Boot's lines in order, the device tree handed over, then the demo's boot and output.
pub fn check_u_boot_demo(expected: Expected, lines: &[String]) -> Progress {
    if let Some(line) = lines.iter().find(|line| line.contains(SCRIPT_FAILED)) {
        return Progress::Failed(format!("U-Boot: `{}`: boot.scr did not boot Somnus", line.trim()));
    }
    u_boot_progress(lines).then(|| device_tree_progress(lines)).then(|| check_guests(expected, &DEMO, lines))
}

/// Done when every line of [`u_boot_lines`] appeared, each after the one before.
fn u_boot_progress(lines: &[String]) -> Progress {
    let mut from = 0;
    for wanted in u_boot_lines() {
        match lines[from..].iter().position(|line| line.contains(&wanted)) {
            Some(offset) => from += offset + 1,
            None => return Progress::Waiting(format!("no U-Boot line `{wanted}` (in order)")),
        }
    }
    Progress::Done
}

/// Somnus must read the device tree where U-Boot put it: the address in x0.
fn device_tree_progress(lines: &[String]) -> Progress {
    let passed = lines.iter().find_map(|line| {
        let (_, rest) = line.split_once(DEVICE_TREE_LOADED)?;
        u64::from_str_radix(rest.split(',').next()?.trim(), 16).ok()
    });
    let Some(passed) = passed else {
        return Progress::Waiting(format!("no U-Boot line `{DEVICE_TREE_LOADED}<address>, ...`"));
    };
    let log = KernelLog::new(lines);
    if let Some((_, line)) = log.starting_with("somnus: no device tree").next() {
        return Progress::Failed(format!("`{line}`, but U-Boot passed one at {passed:#x}"));
    }
    let Some((_, line)) = log.starting_with(DEVICE_TREE_READ).next() else {
        return Progress::Waiting(format!("no `{DEVICE_TREE_READ}{passed:#x}` line"));
    };
    let rest = &line[DEVICE_TREE_READ.len()..];
    let read = rest.split_whitespace().next().and_then(|word| u64::from_str_radix(word.strip_prefix("0x")?, 16).ok());
    match read {
        Some(read) if read == passed && rest.contains("unusable") => {
            Progress::Failed(format!("`{line}`: Somnus could not use the device tree U-Boot passed"))
        }
        Some(read) if read == passed => Progress::Done,
        _ => Progress::Failed(format!("`{line}`, but U-Boot passed the device tree at {passed:#x}")),
    }
}

/// Whether a test boots through U-Boot.
fn uses_u_boot(test: &QemuTest) -> bool {
    test.boot.artifact == Artifact::UBootFit
}

/// Fetches Debian's U-Boot when `tests` holds a test that boots through it (output in
/// `target/test-logs/u-boot-package.log`) and returns the tests that can run: all of them, or
/// without those tests when the archive could not be reached (a `SKIP` line each) or the package
/// could not be used (a failure each).
pub fn prepare(mut tests: Vec<QemuTest>, report: &mut Report) -> Vec<QemuTest> {
    if !tests.iter().any(uses_u_boot) {
        return tests;
    }
    let log = paths::test_log_dir().join(PACKAGE_LOG);
    let cache = PackageCache::new(debian_arm64_dir());
    let Err(error) = Sink::log_file(&log).and_then(|sink| fetch_u_boot(&cache, &sink, Refresh::IfMissing)) else {
        return tests;
    };
    for test in tests.iter().filter(|test| uses_u_boot(test)) {
        match error.downcast_ref::<FetchError>() {
            Some(fetch) => report.skip(&test.name, &fetch.to_string()),
            None => report.fail(&test.name, &format!("preparing U-Boot: {error:#}"), Some(&log)),
        }
    }
    tests.retain(|test| !uses_u_boot(test));
    tests
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected() -> Expected {
        Expected { machine: all().remove(0).machine, domains: 2 }
    }

    /// A whole boot as Debian's U-Boot 2023.01 and Somnus print it, trimmed.
    fn boot_log() -> Vec<String> {
        [
            "U-Boot 2023.01+dfsg-2+deb12u3 (Jun 22 2026 - 08:38:07 +0000)",
            "Hit any key to stop autoboot:  2  1  0 ",
            "Scanning virtio 0:1...",
            "Found U-Boot script /boot.scr",
            "## Executing script at 40200000",
            "boot.scr: loading /somnus.itb from virtio 0:1 to 0x40400000",
            "## Loading kernel from FIT Image at 40400000 ...",
            "   Using 'config-1' configuration",
            "   Verifying Hash Integrity ... OK",
            "   Verifying Hash Integrity ... sha256+ OK",
            "   Loading Device Tree to 000000007dca8000, end 000000007ddaafff ... OK",
            "Starting kernel ...",
            "somnus: Somnus 0.1.0 on qemu-virt, EL2, firmware PSCI 1.1",
            "somnus: device tree at 0x7dca8000",
            "somnus: cpu 0 online (mpidr 0x0), EL2 timer ticking",
            "somnus: cpu 1 online (mpidr 0x1), EL2 timer ticking",
            "somnus: cpu 2 online (mpidr 0x2), EL2 timer ticking",
            "somnus: cpu 3 online (mpidr 0x3), EL2 timer ticking",
            "somnus: ready board=qemu-virt gic=v2 cpus=4 domains=2",
            "(d1) hello: device tree of 1517 bytes, 1 cpus",
            "(d1) hello: bootargs \"console=ttyAMA0 greeting=demo\"",
            "(d1) TEST PASS hello",
            "(d2) heartbeat: every 1000 ms, counter at 62500000 Hz",
            "(d2) heartbeat 0",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn a_whole_boot_through_u_boot_passes() {
        assert_eq!(check_u_boot_demo(expected(), &boot_log()), Progress::Done);
    }

    #[test]
    fn u_boot_lines_must_come_in_order() {
        let mut log = boot_log();
        log.swap(3, 5);
        let Progress::Waiting(reason) = check_u_boot_demo(expected(), &log) else { panic!("not waiting") };
        assert!(reason.contains("boot.scr: loading /somnus.itb"), "{reason}");
        let without_hash: Vec<String> = boot_log().into_iter().filter(|line| !line.contains("sha256+")).collect();
        let Progress::Waiting(reason) = check_u_boot_demo(expected(), &without_hash) else { panic!("not waiting") };
        assert!(reason.contains("sha256+ OK"), "{reason}");
    }

    #[test]
    fn a_failed_script_fails_at_once() {
        let mut log = boot_log()[..6].to_vec();
        log.push("Could not find configuration node".to_owned());
        log.push("SCRIPT FAILED: continuing...".to_owned());
        let Progress::Failed(reason) = check_u_boot_demo(expected(), &log) else { panic!("not failed") };
        assert!(reason.contains("boot.scr did not boot Somnus"), "{reason}");
    }

    #[test]
    fn somnus_must_read_the_device_tree_u_boot_passed() {
        let replace = |from: &str, to: &str| -> Vec<String> {
            boot_log().into_iter().map(|line| if line == from { to.to_owned() } else { line }).collect()
        };
        let elsewhere = replace("somnus: device tree at 0x7dca8000", "somnus: device tree at 0x40000000");
        let Progress::Failed(reason) = check_u_boot_demo(expected(), &elsewhere) else { panic!("not failed") };
        assert!(reason.contains("U-Boot passed the device tree at 0x7dca8000"), "{reason}");
        let none = replace("somnus: device tree at 0x7dca8000", "somnus: no device tree; using qemu-virt constants");
        assert!(matches!(check_u_boot_demo(expected(), &none), Progress::Failed(_)));
        let unusable = replace(
            "somnus: device tree at 0x7dca8000",
            "somnus: device tree at 0x7dca8000 unusable (device tree has no CPUs); using qemu-virt constants",
        );
        let Progress::Failed(reason) = check_u_boot_demo(expected(), &unusable) else { panic!("not failed") };
        assert!(reason.contains("could not use"), "{reason}");
    }

    #[test]
    fn the_demo_must_run_after_the_hand_over() {
        let log: Vec<String> = boot_log().into_iter().filter(|line| !line.contains("TEST PASS")).collect();
        assert!(matches!(check_u_boot_demo(expected(), &log), Progress::Waiting(_)));
    }

    #[test]
    fn the_test_boots_the_demo_through_u_boot() {
        let tests = all();
        assert_eq!(tests.len(), 1);
        let test = &tests[0];
        assert_eq!(test.name, U_BOOT_DEMO_TEST);
        assert!(uses_u_boot(test));
        assert!(test.domains_path().unwrap().is_file());
        assert!(!test.name.starts_with("boot-"), "the boot-* tests boot without domains");
    }

    #[test]
    fn tests_without_u_boot_need_no_package() {
        let mut report = Report::default();
        let other = QemuTest { boot: Boot::NORMAL, ..all().remove(0) };
        let kept = prepare(vec![other], &mut report);
        assert_eq!(kept.len(), 1);
        assert_eq!(report.summary_line(), "0 passed, 0 failed");
    }
}
