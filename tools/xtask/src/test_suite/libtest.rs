//! Reading the output of `cargo test`: libtest's `test result:` lines (summed over every test
//! binary and doc-test run) and the names of failed tests.

/// What a `cargo test` run reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Number of `test result:` lines (test binaries and doc-test runs that finished).
    pub suites: u64,
    /// Tests passed, summed.
    pub passed: u64,
    /// Tests failed, summed.
    pub failed: u64,
    /// Names of the failed tests (`test NAME ... FAILED`).
    pub failed_tests: Vec<String>,
}

/// Parses `cargo test` output.
pub fn parse(output: &str) -> Summary {
    let mut summary = Summary::default();
    for line in output.lines().map(str::trim) {
        if let Some(result) = line.strip_prefix("test result: ") {
            summary.suites += 1;
            summary.passed += count(result, "passed");
            summary.failed += count(result, "failed");
        } else if let Some(name) = line.strip_prefix("test ").and_then(|rest| rest.strip_suffix(" ... FAILED")) {
            summary.failed_tests.push(name.to_owned());
        }
    }
    summary
}

/// The number before `what` in `ok. 3 passed; 1 failed; 0 ignored; ...`.
fn count(result: &str, what: &str) -> u64 {
    result
        .split(';')
        .filter_map(|part| part.trim().rsplit_once(' '))
        .filter(|(_, word)| *word == what)
        .find_map(|(number, _)| number.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
   Compiling xtask v0.1.0
     Running unittests src/lib.rs (target/debug/deps/somnus_abi-0123)

running 3 tests
test address::tests::round_trip ... ok
test address::tests::overflow ... FAILED
test version ... ignored

failures:

---- address::tests::overflow stdout ----
thread 'address::tests::overflow' panicked at abi/src/address.rs:10:5

failures:
    address::tests::overflow

test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running unittests src/main.rs (target/debug/deps/xtask-4567)

running 12 tests
test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s

   Doc-tests somnus_abi

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
";

    #[test]
    fn sums_every_result_line() {
        let summary = parse(OUTPUT);
        assert_eq!(summary.suites, 3);
        assert_eq!(summary.passed, 13);
        assert_eq!(summary.failed, 1);
        assert_eq!(summary.failed_tests, ["address::tests::overflow"]);
    }

    #[test]
    fn no_result_line_means_nothing_ran() {
        assert_eq!(parse("error[E0425]: cannot find value `x`\nerror: could not compile `abi`\n"), Summary::default());
    }
}
