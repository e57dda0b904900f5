//! `cargo xtask bench --check`: the figures of this run against the committed baseline
//! (`docs/bench-baseline.json`). A figure more than [`TOLERANCE_PERCENT`] worse (more
//! instructions) than its baseline fails the check; so does a baseline figure this run should
//! have measured but did not.

use std::fmt;

use crate::bench::figures::Figure;

/// How much worse than the baseline a figure may get, in percent.
pub const TOLERANCE_PERCENT: u64 = 5;

/// One figure compared with its baseline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// This run's figure.
    pub current: Figure,
    /// The baseline's instructions.
    pub baseline: u64,
}

impl Change {
    /// The change in tenths of a percent of the baseline (positive: worse), rounded towards
    /// zero; `i64::MAX` for a figure that grew from zero.
    #[must_use]
    pub fn permille(&self) -> i64 {
        let (current, baseline) = (i128::from(self.current.instructions), i128::from(self.baseline));
        if baseline == 0 {
            return if current == 0 { 0 } else { i64::MAX };
        }
        i64::try_from((current - baseline) * 1000 / baseline).unwrap_or(i64::MAX)
    }
}

impl fmt::Display for Change {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let figure = &self.current;
        let permille = self.permille();
        let sign = if figure.instructions < self.baseline { '-' } else { '+' };
        let (whole, tenths) = (permille.unsigned_abs() / 10, permille.unsigned_abs() % 10);
        write!(
            formatter,
            "{} on {} GICv{}: {} -> {} instructions ({sign}{whole}.{tenths} %)",
            figure.path,
            figure.board,
            figure.gic.number(),
            self.baseline,
            figure.instructions,
        )
    }
}

/// The outcome of a comparison.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Figures more than the tolerance worse.
    pub regressions: Vec<Change>,
    /// Figures better than the baseline (the baseline should be updated with them).
    pub improvements: Vec<Change>,
    /// Baseline figures of a measured configuration that this run lacks.
    pub missing: Vec<Figure>,
    /// Figures without a baseline.
    pub unknown: Vec<Figure>,
}

impl Comparison {
    /// Whether the check passes: nothing worse beyond the tolerance, nothing missing.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.regressions.is_empty() && self.missing.is_empty()
    }
}

/// Compares `current` with `baseline`. Baseline figures of configurations (board and GIC) this
/// run did not measure at all are ignored.
#[must_use]
pub fn compare(baseline: &[Figure], current: &[Figure]) -> Comparison {
    let mut comparison = Comparison::default();
    for figure in current {
        match baseline.iter().find(|old| old.key() == figure.key()) {
            None => comparison.unknown.push(figure.clone()),
            Some(old) => {
                let change = Change { current: figure.clone(), baseline: old.instructions };
                if figure.instructions * 100 > old.instructions * (100 + TOLERANCE_PERCENT) {
                    comparison.regressions.push(change);
                } else if figure.instructions < old.instructions {
                    comparison.improvements.push(change);
                }
            }
        }
    }
    let measured = |old: &Figure| current.iter().any(|figure| (figure.board, figure.gic) == (old.board, old.gic));
    comparison.missing = baseline
        .iter()
        .filter(|old| measured(old) && !current.iter().any(|figure| figure.key() == old.key()))
        .cloned()
        .collect();
    comparison
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Board;
    use crate::machine::GicVersion;

    fn figure(path: &str, gic: GicVersion, instructions: u64) -> Figure {
        Figure { path: path.into(), board: Board::QemuVirt, gic, instructions, iterations: 20 }
    }

    #[test]
    fn five_percent_worse_passes_more_fails() {
        let baseline = [figure("a", GicVersion::V2, 1000), figure("b", GicVersion::V2, 1000)];
        let current = [figure("a", GicVersion::V2, 1050), figure("b", GicVersion::V2, 1051)];
        let comparison = compare(&baseline, &current);
        assert!(!comparison.passed());
        assert_eq!(comparison.regressions.len(), 1);
        assert_eq!(comparison.regressions[0].current.path, "b");
        assert_eq!(comparison.regressions[0].to_string(), "b on qemu-virt GICv2: 1000 -> 1051 instructions (+5.1 %)");
    }

    #[test]
    fn improvements_and_new_paths_pass() {
        let baseline = [figure("a", GicVersion::V2, 1000)];
        let current = [figure("a", GicVersion::V2, 900), figure("new", GicVersion::V2, 5)];
        let comparison = compare(&baseline, &current);
        assert!(comparison.passed());
        assert_eq!(comparison.improvements[0].permille(), -100);
        assert!(comparison.improvements[0].to_string().ends_with("(-10.0 %)"));
        let slightly = Change { current: figure("a", GicVersion::V2, 99_999), baseline: 100_000 };
        assert!(slightly.to_string().ends_with("(-0.0 %)"), "{slightly}");
        assert_eq!(comparison.unknown, [figure("new", GicVersion::V2, 5)]);
    }

    #[test]
    fn missing_figures_fail_only_for_measured_configurations() {
        let baseline =
            [figure("a", GicVersion::V2, 10), figure("b", GicVersion::V2, 10), figure("a", GicVersion::V3, 10)];
        let comparison = compare(&baseline, &[figure("a", GicVersion::V2, 10)]);
        assert!(!comparison.passed());
        assert_eq!(comparison.missing, [figure("b", GicVersion::V2, 10)]);
    }

    #[test]
    fn zero_baselines_do_not_divide_by_zero() {
        let change = Change { current: figure("a", GicVersion::V2, 0), baseline: 0 };
        assert_eq!(change.permille(), 0);
        let change = Change { current: figure("a", GicVersion::V2, 1), baseline: 0 };
        assert_eq!(change.permille(), i64::MAX);
        assert!(!compare(&[figure("a", GicVersion::V2, 0)], &[figure("a", GicVersion::V2, 1)]).passed());
    }
}
