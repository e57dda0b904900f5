//! The host-side checks of `cargo xtask test`: host tests, formatting, clippy on the host, and
//! the cross build and clippy of every board and of the in-tree test guests. Each one's output
//! goes to `target/test-logs/<name>.log`.

use std::process::Command;

use crate::board::Board;
use crate::cargo;
use crate::features::Features;
use crate::paths;
use crate::process::Sink;
use crate::test_suite::libtest;
use crate::test_suite::report::Report;

/// One host-side check.
pub struct HostCheck {
    /// Test name (also the log's file name).
    pub name: String,
    /// The command it runs.
    command: Command,
    /// Whether the command is `cargo test`, whose individual tests are counted.
    counts_libtest: bool,
}

/// Every host-side check, in the order they run.
pub fn all() -> Vec<HostCheck> {
    let mut checks = vec![
        HostCheck { name: "host-tests".into(), command: cargo::test_host(), counts_libtest: true },
        HostCheck { name: "fmt".into(), command: cargo::fmt_check(), counts_libtest: false },
        HostCheck { name: "clippy-host".into(), command: cargo::clippy_host(), counts_libtest: false },
    ];
    for board in Board::ALL {
        checks.push(HostCheck {
            name: format!("build-{board}"),
            command: cargo::build_board(board, &Features::none()),
            counts_libtest: false,
        });
        checks.push(HostCheck {
            name: format!("clippy-{board}"),
            command: cargo::clippy_board(board),
            counts_libtest: false,
        });
    }
    if cargo::has_test_guests() {
        checks.push(HostCheck {
            name: "build-test-guests".into(),
            command: cargo::build_test_guests(),
            counts_libtest: false,
        });
        checks.push(HostCheck {
            name: "clippy-test-guests".into(),
            command: cargo::clippy_test_guests(),
            counts_libtest: false,
        });
    }
    checks
}

/// Runs one check and records its result.
pub fn run(mut check: HostCheck, report: &mut Report) {
    let log = paths::test_log_dir().join(format!("{}.log", check.name));
    let status = Sink::log_file(&log).and_then(|sink| sink.status(&mut check.command));
    let status = match status {
        Ok(status) => status,
        Err(error) => return report.fail(&check.name, &format!("{error:#}"), Some(&log)),
    };
    if !check.counts_libtest {
        if status.success() {
            report.pass(&check.name);
        } else {
            report.fail(
                &check.name,
                &format!("`{}` exited with {status}", crate::process::describe(&check.command)),
                Some(&log),
            );
        }
        return;
    }
    let output = std::fs::read(&log).unwrap_or_default();
    let summary = libtest::parse(&String::from_utf8_lossy(&output));
    if summary.suites == 0 {
        if status.success() {
            report.pass(&check.name);
        } else {
            report.fail(
                &check.name,
                &format!("cargo test ran no test and exited with {status} (build error?)"),
                Some(&log),
            );
        }
        return;
    }
    // A test binary that crashed prints no result line: count the run itself as a failure.
    let unexplained = u64::from(!status.success() && summary.failed == 0);
    let reason = if summary.failed_tests.is_empty() {
        format!("{} tests failed, cargo test exited with {status}", summary.failed)
    } else {
        format!("{} failed: {}", summary.failed, summary.failed_tests.join(", "))
    };
    report.add_many(&check.name, summary.passed, summary.failed + unexplained, &reason, &log);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_run_host_first_then_each_board() {
        let names: Vec<String> = all().into_iter().map(|check| check.name).collect();
        let mut expected = vec![
            "host-tests",
            "fmt",
            "clippy-host",
            "build-qemu-virt",
            "clippy-qemu-virt",
            "build-zcu102",
            "clippy-zcu102",
        ];
        if cargo::has_test_guests() {
            expected.extend(["build-test-guests", "clippy-test-guests"]);
        }
        assert_eq!(names, expected);
    }
}
