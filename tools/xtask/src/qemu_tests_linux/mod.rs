//! The Linux guest tests (test tier 3): Debian's arm64 kernel, unchanged, booted as a Somnus
//! domain from the domain files of `tests/linux/`, its kernel and initramfs prepared by
//! [`crate::assets`]. [`all`] defines the tests for the QEMU test list: the early console
//! ([`earlycon`]), boot and suspend cycles on every machine ([`suspend_tests`],
//! [`suspend_check`]), and a keystroke wake-up, reboot and power-off driven over the console
//! ([`console_session`]). [`prepare`] fetches their assets just before they run, and when the
//! package archive cannot be reached drops them with a `SKIP <test>: could not fetch <what>:
//! <why>` line, counted neither as passed nor as failed. Also `cargo xtask fetch-linux`
//! ([`fetch_linux_command`]).

pub mod console_session;
pub mod demo;
pub mod earlycon;
pub mod kernel_warnings;
pub mod markers;
pub mod soak;
pub mod suspend_check;
pub mod suspend_tests;

use anyhow::Result;

use crate::assets::linux_scenarios::scenarios_dir;
use crate::assets::{FetchError, Refresh, prepare_linux};
use crate::paths;
use crate::process::Sink;
use crate::qemu_tests::QemuTest;
use crate::test_suite::report::Report;

/// File of the test log that holds the fetch's output.
const ASSETS_LOG: &str = "linux-assets.log";

/// Every Linux guest test, in the order they run; `SOMNUS_LINUX_SOAK` asks for a soak.
pub fn all() -> Vec<QemuTest> {
    let soak_cycles = soak::requested_cycles().unwrap_or_else(|warning| {
        eprintln!("warning: {warning}");
        None
    });
    all_with(soak_cycles)
}

/// Every Linux guest test, the 2-vCPU suspend tests with `soak_cycles` when given.
fn all_with(soak_cycles: Option<u32>) -> Vec<QemuTest> {
    let mut tests = vec![earlycon::earlycon()];
    tests.extend(suspend_tests::all(soak_cycles));
    tests.push(demo::demo());
    tests
}

/// Whether a test boots a domain file of `tests/linux/` (or its soak copy).
fn is_linux_test(test: &QemuTest) -> bool {
    test.domains_path()
        .is_some_and(|config| config.starts_with(scenarios_dir()) || config.starts_with(soak::soak_dir()))
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
    let prepared = Sink::log_file(&log).and_then(|sink| prepare_linux(&sink, Refresh::IfMissing)).and_then(|_| {
        if let Ok(Some(cycles)) = soak::requested_cycles() {
            soak::write_soak_domain_file("suspend", cycles)?;
        }
        Ok(())
    });
    let Err(error) = prepared else {
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
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn linux_tests_boot_the_domain_files_of_tests_linux() {
        let tests = all_with(None);
        assert!(tests.iter().all(is_linux_test));
        assert!(all_with(Some(3)).iter().all(is_linux_test));
        for test in &tests {
            let config = test.domains_path().unwrap();
            assert!(config.is_file(), "{}", config.display());
            assert!(test.name.starts_with("linux-"), "{}", test.name);
        }
        let other = QemuTest { domains: Some(PathBuf::from("tests/guests/x.toml")), ..earlycon::earlycon() };
        assert!(!is_linux_test(&other));
        assert!(!is_linux_test(&QemuTest { domains: None, ..earlycon::earlycon() }));
        let soaked = QemuTest { domains: Some(soak::soak_domain_path("suspend", 5)), ..earlycon::earlycon() };
        assert!(is_linux_test(&soaked));
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<String> = all_with(None).into_iter().map(|test| test.name).collect();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
