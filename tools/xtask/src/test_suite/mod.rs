//! `cargo xtask test`: every check in one command. Host checks first (host tests, fmt, clippy,
//! cross builds), then the QEMU integration tests and the quick benchmark check (`bench-check`);
//! one `PASS`/`FAIL` line per test and a closing `N passed, M failed` line. Full logs are in
//! `target/test-logs/`.

pub mod host_checks;
pub mod libtest;
pub mod report;

use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::TestArgs;
use crate::paths;
use crate::qemu_tests;
use report::Report;

/// Runs the selected tests and prints the report; the exit code is non-zero if any failed.
pub fn run(args: &TestArgs) -> Result<ExitCode> {
    let selected = |name: &str| args.filter.as_deref().is_none_or(|filter| name.contains(filter));
    let host: Vec<_> = if args.skip_host { Vec::new() } else { host_checks::all() };
    let host: Vec<_> = host.into_iter().filter(|check| selected(&check.name)).collect();
    let mut qemu: Vec<_> = if args.skip_qemu { Vec::new() } else { qemu_tests::all() };
    qemu.extend(crate::qemu_tests_linux::all().into_iter().filter(|_| !args.skip_qemu));
    if let Some(config) = args.domains.as_deref().filter(|_| !args.skip_qemu) {
        let config = std::path::absolute(config).with_context(|| format!("resolving {}", config.display()))?;
        qemu.extend(qemu_tests::with_domain_file(&config));
    }
    let qemu: Vec<_> = qemu.into_iter().filter(|test| selected(&test.name)).collect();
    let bench = !args.skip_qemu && selected(crate::bench::CHECK_NAME);
    if host.is_empty() && qemu.is_empty() && !bench {
        bail!(
            "no test selected{}{}{}",
            args.filter.as_deref().map(|f| format!(": none matches --filter {f:?}")).unwrap_or_default(),
            if args.skip_host { " (--skip-host)" } else { "" },
            if args.skip_qemu { " (--skip-qemu)" } else { "" },
        );
    }
    eprintln!(
        "running {} host checks and {} QEMU tests{}; logs in {}",
        host.len(),
        qemu.len(),
        if bench { " and the bench check" } else { "" },
        paths::test_log_dir().display()
    );

    let mut report = Report::default();
    for check in host {
        host_checks::run(check, &mut report);
    }
    let qemu = qemu_tests::u_boot_tests::prepare(qemu, &mut report);
    qemu_tests::run(&crate::qemu_tests_linux::prepare(qemu, &mut report), &mut report);
    if bench {
        crate::bench::check_for_test_suite(&mut report);
    }

    println!("{}", report.summary_line());
    Ok(if report.failed() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
