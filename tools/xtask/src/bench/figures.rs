//! A benchmark figure (one path on one board configuration) and how the figures of one
//! configuration follow from the guest's `BENCH` lines.

use crate::bench::bench_line::BenchLine;
use crate::bench::catalogue::{PATHS, Source};
use crate::board::Board;
use crate::machine::GicVersion;

/// One path's cost on one board configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figure {
    /// The path (see [`PATHS`]).
    pub path: String,
    /// The board.
    pub board: Board,
    /// The GIC version QEMU emulated.
    pub gic: GicVersion,
    /// Instructions.
    pub instructions: u64,
    /// Iterations it was measured over (the fewer of two for a figure made of two).
    pub iterations: u64,
}

impl Figure {
    /// What identifies a figure across runs: path, board and GIC version.
    #[must_use]
    pub fn key(&self) -> (String, Board, GicVersion) {
        (self.path.clone(), self.board, self.gic)
    }
}

/// Every path's figure for `board` with `gic`, from the guest's lines under the hypervisor and
/// without it (the bare-metal run); the error names what is missing or inconsistent.
pub fn figures_of(
    board: Board,
    gic: GicVersion,
    hypervisor: &[BenchLine],
    bare_metal: &[BenchLine],
) -> Result<Vec<Figure>, String> {
    let find = |lines: &[BenchLine], name: &str, run: &str| {
        lines.iter().find(|line| line.path == name).cloned().ok_or_else(|| format!("no `BENCH {name}` line {run}"))
    };
    let mut figures = Vec::new();
    for path in PATHS {
        let (instructions, iterations) = match path.source {
            Source::Measured(name) => {
                let line = find(hypervisor, name, "under the hypervisor")?;
                (line.instructions, line.iterations)
            }
            Source::Difference { whole, part } => {
                let (whole_line, part_line) =
                    (find(hypervisor, whole, "under the hypervisor")?, find(hypervisor, part, "under the hypervisor")?);
                let difference = whole_line.instructions.checked_sub(part_line.instructions).ok_or_else(|| {
                    format!(
                        "{}: {whole} ({}) is cheaper than {part} ({})",
                        path.name, whole_line.instructions, part_line.instructions
                    )
                })?;
                (difference, whole_line.iterations.min(part_line.iterations))
            }
            Source::LessBareMetal(name) => {
                let (measured, bare) =
                    (find(hypervisor, name, "under the hypervisor")?, find(bare_metal, name, "on bare metal")?);
                (measured.instructions.saturating_sub(bare.instructions), measured.iterations.min(bare.iterations))
            }
        };
        figures.push(Figure { path: path.name.to_owned(), board, gic, instructions, iterations });
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(path: &str, instructions: u64, iterations: u64) -> BenchLine {
        BenchLine { path: path.to_owned(), instructions, iterations, minimum: None, maximum: None }
    }

    fn hypervisor_lines() -> Vec<BenchLine> {
        vec![
            line("reset-to-guest", 200_000, 1),
            line("null-hvc", 300, 1000),
            line("psci-version", 310, 1000),
            line("trapped-register", 120, 1000),
            line("gicd-read", 340, 1000),
            line("gicd-write", 345, 1000),
            line("virtual-timer-raw", 361, 1000),
            line("virtual-ipi", 530, 1000),
            line("system-suspend", 700, 20),
            line("resume", 900, 20),
        ]
    }

    #[test]
    fn derives_differences_and_subtracts_bare_metal() {
        let figures =
            figures_of(Board::QemuVirt, GicVersion::V3, &hypervisor_lines(), &[line("virtual-timer-raw", 1, 500)])
                .unwrap();
        let get = |name: &str| figures.iter().find(|figure| figure.path == name).unwrap();
        assert_eq!(figures.len(), PATHS.len());
        assert_eq!((get("service-round-trip").instructions, get("service-round-trip").iterations), (180, 1000));
        assert_eq!((get("virtual-timer").instructions, get("virtual-timer").iterations), (360, 500));
        assert_eq!((get("resume").instructions, get("resume").iterations), (900, 20));
        assert!(figures.iter().all(|figure| figure.board == Board::QemuVirt && figure.gic == GicVersion::V3));
    }

    #[test]
    fn missing_lines_are_named() {
        let error = figures_of(Board::Zcu102, GicVersion::V2, &hypervisor_lines(), &[]).unwrap_err();
        assert_eq!(error, "no `BENCH virtual-timer-raw` line on bare metal");
        let mut lines = hypervisor_lines();
        lines.retain(|line| line.path != "resume");
        let error = figures_of(Board::Zcu102, GicVersion::V2, &lines, &[line("virtual-timer-raw", 1, 1)]).unwrap_err();
        assert_eq!(error, "no `BENCH resume` line under the hypervisor");
    }

    #[test]
    fn a_negative_difference_is_refused() {
        let mut lines = hypervisor_lines();
        lines.retain(|line| line.path != "trapped-register");
        lines.push(line("trapped-register", 400, 1000));
        let error =
            figures_of(Board::QemuVirt, GicVersion::V2, &lines, &[line("virtual-timer-raw", 1, 1)]).unwrap_err();
        assert!(error.contains("cheaper than trapped-register"), "{error}");
    }
}
