//! `cargo xtask bench`: instruction-exact costs of the hypervisor's hot paths on every board
//! configuration, against their targets (docs/PERFORMANCE.md).
//!
//! Each board's benchmark image (Somnus with the `bench` feature, one domain running the guest
//! `bench-paths` with both vCPUs on CPU 0) boots under QEMU with `-icount shift=0,sleep=off` and a
//! 1 GHz counter, so one counter tick is one executed instruction; the guest prints a `BENCH` line
//! per path. The guest also runs once per GIC version on QEMU without a hypervisor, for the
//! bare-metal cost of a timer interrupt. The results go to stdout (a Markdown table) and
//! `target/bench/bench.json`; `--check` compares them with `docs/bench-baseline.json`.

pub mod baseline;
pub mod bench_line;
pub mod calendar;
pub mod catalogue;
pub mod figures;
pub mod image_size;
pub mod json_report;
pub mod runs;
pub mod source_lines;
pub mod table;

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

use crate::board::Board;
use crate::cli::BenchArgs;
use crate::host_tools;
use crate::paths;
use crate::process::Sink;
use crate::qemu::{EntryLevel, QEMU};
use crate::test_suite::report::Report;
use baseline::Comparison;
use json_report::BenchReport;
use runs::Configuration;

/// Iterations per path of a full run.
pub const FULL_ITERATIONS: u16 = 1000;

/// Iterations per path with `--quick` (and in `cargo xtask test`): the counts are deterministic,
/// the median of a few iterations is the same.
pub const QUICK_ITERATIONS: u16 = 50;

/// The committed baseline, relative to the repository root.
pub const BASELINE: &str = "docs/bench-baseline.json";

/// What one bench run does.
#[derive(Clone, Debug)]
pub struct Options {
    /// The configurations measured.
    pub configurations: Vec<Configuration>,
    /// Iterations per path.
    pub iterations: u16,
    /// Whether to measure image sizes and count source lines too.
    pub sizes: bool,
}

/// `cargo xtask bench`: measures, prints the table, writes `target/bench/bench.json` and, with
/// `--check`, fails on a regression against the baseline.
pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    let configurations = runs::select(args.board, args.gic).map_err(anyhow::Error::msg)?;
    let iterations = args.iterations.unwrap_or(if args.quick { QUICK_ITERATIONS } else { FULL_ITERATIONS });
    let options = Options { configurations, iterations, sizes: !args.quick };
    // Builds and QEMU runs write to logs; stdout carries the table only.
    let build_log = runs::output_dir().join("logs").join("build.log");
    let sink = Sink::log_file(&build_log)?;
    eprintln!("bench: build output in {}", build_log.display());
    let report = measure(&options, &sink, &|line| eprintln!("{line}"))?;
    print!("{}", table::markdown(&report.figures));
    print_sizes(&report);
    let written = write_report(&report)?;
    eprintln!("results written to {}", written.display());
    if !args.check {
        return Ok(ExitCode::SUCCESS);
    }
    let comparison = compare_with_baseline(&report)?;
    print!("{}", describe(&comparison));
    Ok(if comparison.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Name of the check `cargo xtask test` runs.
pub const CHECK_NAME: &str = "bench-check";

/// The check of `cargo xtask test` ([`CHECK_NAME`]): every configuration in quick mode against
/// the baseline; the table and comparison go to the test's log.
pub fn check_for_test_suite(report: &mut Report) {
    const NAME: &str = CHECK_NAME;
    let log = paths::test_log_dir().join(format!("{NAME}.log"));
    let outcome = Sink::log_file(&log).and_then(|sink| {
        let options = Options { configurations: runs::ALL.to_vec(), iterations: QUICK_ITERATIONS, sizes: false };
        let measured = measure(&options, &sink, &|line| sink.note(line))?;
        sink.note(&table::markdown(&measured.figures));
        let comparison = compare_with_baseline(&measured)?;
        sink.note(&describe(&comparison));
        Ok(comparison)
    });
    match outcome {
        Ok(comparison) if comparison.passed() => report.pass(NAME),
        Ok(comparison) => {
            let reason = comparison
                .regressions
                .iter()
                .map(ToString::to_string)
                .chain(
                    comparison.missing.iter().map(|figure| format!("{} on {} not measured", figure.path, figure.board)),
                )
                .collect::<Vec<_>>()
                .join("; ");
            report.fail(NAME, &format!("worse than {BASELINE}: {reason}"), Some(&log));
        }
        Err(error) => report.fail(NAME, &format!("{error:#}"), Some(&log)),
    }
}

/// Builds, boots and measures everything `options` asks for; commands print to `sink`, each step
/// is announced to `progress`.
pub fn measure(options: &Options, sink: &Sink, progress: &dyn Fn(&str)) -> Result<BenchReport> {
    host_tools::ensure(host_tools::QEMU, sink)?;
    let output = runs::output_dir();
    let logs = output.join("logs");
    let domains = runs::write_domain_file(options.iterations, &output.join("domains"))?;
    let mut images: BTreeMap<Board, PathBuf> = BTreeMap::new();
    for configuration in &options.configurations {
        if let Entry::Vacant(entry) = images.entry(configuration.board) {
            progress(&format!("bench: building the benchmark image of {}", configuration.board));
            entry.insert(runs::build_bench_image(configuration.board, &domains, sink)?);
        }
    }
    let mut bare_metal = BTreeMap::new();
    for configuration in &options.configurations {
        let machine = configuration.bare_metal_machine();
        if bare_metal.contains_key(&machine.gic.number()) {
            continue;
        }
        progress(&format!("bench: bare metal, qemu-virt GICv{}", machine.gic.number()));
        let log = logs.join(format!("bare-metal-gicv{}.log", machine.gic.number()));
        let lines = runs::run(machine, EntryLevel::El1, &runs::guest_elf(), &log)?;
        bare_metal.insert(machine.gic.number(), lines);
    }
    let mut report = BenchReport { date: calendar::today(), qemu_version: qemu_version()?, ..BenchReport::default() };
    for configuration in &options.configurations {
        progress(&format!("bench: {} ({} iterations)", configuration.label(), options.iterations));
        let log = logs.join(format!("{}-gicv{}.log", configuration.board, configuration.gic.number()));
        let lines = runs::run(configuration.machine(), EntryLevel::El2, &images[&configuration.board], &log)?;
        let bare = &bare_metal[&configuration.bare_metal_machine().gic.number()];
        let figures = figures::figures_of(configuration.board, configuration.gic, &lines, bare)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("{}, see {}", configuration.label(), log.display()))?;
        report.figures.extend(figures);
    }
    if options.sizes {
        for board in options.configurations.iter().map(|configuration| configuration.board).collect::<Vec<_>>() {
            if report.image_sizes.iter().any(|(measured, _)| *measured == board) {
                continue;
            }
            progress(&format!("bench: building the image of {board} without domains, for its size"));
            let elf = runs::build_plain_image(board, sink)?;
            let bytes = std::fs::read(&elf).with_context(|| format!("reading {}", elf.display()))?;
            report.image_sizes.push((board, image_size::measure(&bytes)?));
        }
        for (name, tree) in source_lines::TREES {
            report.source_lines.push((name.to_owned(), source_lines::count_tree(&paths::repo_root().join(tree))?));
        }
    }
    Ok(report)
}

/// The first line of `qemu-system-aarch64 --version`.
fn qemu_version() -> Result<String> {
    let output = Command::new(QEMU).arg("--version").output().with_context(|| format!("running {QEMU} --version"))?;
    Ok(String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or_default().trim().to_owned())
}

/// Writes `target/bench/bench.json`; returns its path.
fn write_report(report: &BenchReport) -> Result<PathBuf> {
    let path = runs::output_dir().join("bench.json");
    std::fs::write(&path, json_report::to_json(report)).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// This run against the committed baseline.
fn compare_with_baseline(report: &BenchReport) -> Result<Comparison> {
    let path = paths::repo_root().join(BASELINE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let baseline = json_report::figures_from_json(&text).with_context(|| format!("in {}", path.display()))?;
    Ok(baseline::compare(&baseline, &report.figures))
}

/// The comparison, one line per change, and the verdict.
fn describe(comparison: &Comparison) -> String {
    let mut text = String::new();
    for change in &comparison.regressions {
        let _ = writeln!(text, "WORSE {change}");
    }
    for figure in &comparison.missing {
        let _ = writeln!(text, "MISSING {} on {} GICv{}", figure.path, figure.board, figure.gic.number());
    }
    for change in &comparison.improvements {
        let _ = writeln!(text, "better {change}: update {BASELINE}");
    }
    for figure in &comparison.unknown {
        let _ =
            writeln!(text, "new {} on {} GICv{}: not in {BASELINE}", figure.path, figure.board, figure.gic.number());
    }
    let verdict = if comparison.passed() { "passed" } else { "FAILED" };
    let _ = writeln!(
        text,
        "check against {BASELINE} {verdict} (a figure may be at most {} % worse)",
        baseline::TOLERANCE_PERCENT
    );
    text
}

/// Prints the image sizes and source line counts, when measured.
fn print_sizes(report: &BenchReport) {
    for (board, size) in &report.image_sizes {
        println!(
            "image {board}: somnus.bin {} bytes (target 65,536): .text {}, .rodata {}, .data {}; .bss and stacks {} \
             (not in the binary)",
            table::grouped(size.binary),
            table::grouped(size.text),
            table::grouped(size.read_only_data),
            table::grouped(size.data),
            table::grouped(size.zero_initialised)
        );
    }
    for (tree, count) in &report.source_lines {
        println!(
            "source {tree}: {} lines outside tests, {} of them code",
            table::grouped(count.lines),
            table::grouped(count.code)
        );
    }
}
