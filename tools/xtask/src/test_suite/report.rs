//! The test suite's output: one `PASS name` / `FAIL name: reason` line per test, the tail of the
//! log of a failed test, and the closing `N passed, M failed` line.

use std::path::Path;

/// Lines of a failed test's log shown under its `FAIL` line.
const TAIL_LINES: usize = 40;

/// Counts of passed and failed tests, printing each result as it is recorded.
#[derive(Debug, Default)]
pub struct Report {
    passed: u64,
    failed: u64,
    skipped: u64,
}

impl Report {
    /// Records one passed test.
    pub fn pass(&mut self, name: &str) {
        self.passed += 1;
        println!("PASS {name}");
    }

    /// Records one failed test and shows the end of its log, if it has one.
    pub fn fail(&mut self, name: &str, reason: &str, log: Option<&Path>) {
        self.failed += 1;
        println!("FAIL {name}: {}", one_line(reason));
        if let Some(log) = log {
            print_tail(log);
        }
    }

    /// Records a test that could not run here, and why (never counted as passed).
    pub fn skip(&mut self, name: &str, reason: &str) {
        self.skipped += 1;
        println!("SKIP {name}: {}", one_line(reason));
    }

    /// Records a step that ran many tests (libtest): `passed` and `failed` are added to the
    /// totals; `reason` explains the failures, if any.
    pub fn add_many(&mut self, name: &str, passed: u64, failed: u64, reason: &str, log: &Path) {
        self.passed += passed;
        self.failed += failed;
        if failed == 0 {
            println!("PASS {name} ({passed} tests)");
        } else {
            println!("FAIL {name}: {}", one_line(reason));
            print_tail(log);
        }
    }

    /// Number of failed tests so far.
    pub const fn failed(&self) -> u64 {
        self.failed
    }

    /// The closing line: `N passed, M failed`, with `, K skipped` when tests were skipped.
    pub fn summary_line(&self) -> String {
        if self.skipped == 0 {
            format!("{} passed, {} failed", self.passed, self.failed)
        } else {
            format!("{} passed, {} failed, {} skipped", self.passed, self.failed, self.skipped)
        }
    }
}

/// Joins a multi-line reason into one line.
fn one_line(reason: &str) -> String {
    reason.split('\n').map(str::trim).filter(|part| !part.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Prints the last lines of a log, indented, and where the whole log is.
fn print_tail(log: &Path) {
    let Ok(text) = std::fs::read(log) else {
        println!("    (no log at {})", log.display());
        return;
    };
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    println!("    --- last {} lines of {} ---", lines.len() - start, log.display());
    for line in &lines[start..] {
        println!("    | {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up() {
        let mut report = Report::default();
        report.pass("a");
        report.add_many("host-tests", 10, 0, "", Path::new("/nonexistent"));
        report.fail("b", "timed out\nafter 30 s", Some(Path::new("/nonexistent/log")));
        assert_eq!(report.summary_line(), "11 passed, 1 failed");
        assert_eq!(report.failed(), 1);
    }

    #[test]
    fn reasons_become_one_line() {
        assert_eq!(
            one_line("qemu not found. Install it with:\n    apt-get install x\n"),
            "qemu not found. Install it with: apt-get install x"
        );
    }
}
