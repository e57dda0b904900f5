//! The QEMU runs of `cargo xtask bench`: which board configurations, the benchmark image of each
//! board (Somnus with the `bench` feature and the domain file `tests/domains/bench-paths.toml`),
//! the bare-metal run of the guest, and QEMU's instruction-counting options.

use std::cell::Cell;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use crate::bench::bench_line::{self, BenchLine};
use crate::board::Board;
use crate::features::Features;
use crate::image::{self, ImageRequest};
use crate::machine::{GicVersion, Machine};
use crate::paths;
use crate::process::Sink;
use crate::qemu::{EntryLevel, Serial, qemu_command_entering};
use crate::qemu_tests::runner::{self, Limits, Progress};

/// The domain file of the benchmark guest, relative to the repository root.
pub const DOMAIN_FILE: &str = "tests/domains/bench-paths.toml";

/// Cargo features of the benchmark builds: the kernel's idle timestamps (kernel/src/bench.rs).
pub const BENCH_FEATURES: &str = "somnus-kernel/bench";

/// QEMU counts instructions: one instruction is one nanosecond of virtual time, no real-time
/// sleeping, and the counter runs at 1 GHz, so one counter tick is one instruction.
pub const INSTRUCTION_COUNTING: [&str; 4] =
    ["-icount", "shift=0,sleep=off", "-global", "cortex-a53-arm-cpu.cntfrq=1000000000"];

/// Hard limit of one run: a full run takes a second or two.
const TIMEOUT: Duration = Duration::from_mins(2);

/// What the guest prints when it is done.
const DONE_LINE: &str = "TEST PASS bench-paths";

/// One measured board configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Configuration {
    /// The board.
    pub board: Board,
    /// The GIC version QEMU emulates.
    pub gic: GicVersion,
}

/// Every configuration, in report order.
pub const ALL: [Configuration; 3] = [
    Configuration { board: Board::QemuVirt, gic: GicVersion::V2 },
    Configuration { board: Board::QemuVirt, gic: GicVersion::V3 },
    Configuration { board: Board::Zcu102, gic: GicVersion::V2 },
];

/// The configurations `--board` and `--gic` select (each optional).
pub fn select(board: Option<Board>, gic: Option<GicVersion>) -> Result<Vec<Configuration>, String> {
    let selected: Vec<Configuration> = ALL
        .into_iter()
        .filter(|configuration| board.is_none_or(|board| configuration.board == board))
        .filter(|configuration| gic.is_none_or(|gic| configuration.gic == gic))
        .collect();
    if selected.is_empty() {
        return Err("board zcu102 has a GICv2 (GIC-400): `--gic 3` is not possible there".to_owned());
    }
    Ok(selected)
}

impl Configuration {
    /// The machine the hypervisor runs on: qemu-virt with one CPU; zcu102 always has four (the
    /// three without a vCPU only take their EL2 ticks).
    #[must_use]
    pub fn machine(self) -> Machine {
        let smp = (self.board == Board::QemuVirt).then_some(1);
        Machine::new(self.board, Some(self.gic), smp, None).expect("every configuration is a valid machine")
    }

    /// The machine of the bare-metal run: qemu-virt with this GIC version and one CPU. The guest
    /// platform is qemu-virt's, so zcu102 borrows qemu-virt's GICv2 (QEMU models both GICv2s alike).
    #[must_use]
    pub fn bare_metal_machine(self) -> Machine {
        Machine::new(Board::QemuVirt, Some(self.gic), Some(1), None).expect("qemu-virt takes either GIC")
    }

    /// `qemu-virt GICv2`, for messages.
    #[must_use]
    pub fn label(self) -> String {
        format!("{} GICv{}", self.board, self.gic.number())
    }
}

/// Where `cargo xtask bench` keeps its files: `target/bench/`.
#[must_use]
pub fn output_dir() -> PathBuf {
    paths::target_dir().join("bench")
}

/// The benchmark guest's ELF (built with the other test guests).
#[must_use]
pub fn guest_elf() -> PathBuf {
    paths::test_guests_target_dir().join("aarch64-unknown-none/release/bench-paths")
}

/// Writes the domain file the runs boot: [`DOMAIN_FILE`] with `iterations=<n>` as every domain's
/// command line and its kernel paths made absolute (the copy lives elsewhere). Returns its path.
pub fn write_domain_file(iterations: u16, directory: &Path) -> Result<PathBuf> {
    let original = paths::repo_root().join(DOMAIN_FILE);
    let text = std::fs::read_to_string(&original).with_context(|| format!("reading {}", original.display()))?;
    let copy = with_iterations(&text, iterations, original.parent().unwrap_or(Path::new(".")))
        .with_context(|| format!("in {}", original.display()))?;
    std::fs::create_dir_all(directory).with_context(|| format!("creating {}", directory.display()))?;
    let path = directory.join("bench-paths.toml");
    std::fs::write(&path, copy).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The domain file `text` (whose relative paths start at `base`) with `iterations=<n>` as every
/// domain's command line and absolute kernel paths.
pub fn with_iterations(text: &str, iterations: u16, base: &Path) -> Result<String> {
    let mut document: toml::Table = toml::from_str(text).context("not a domain file")?;
    let domains = document.get_mut("domain").and_then(toml::Value::as_array_mut).context("no [[domain]]")?;
    for domain in domains {
        let table = domain.as_table_mut().context("a [[domain]] that is not a table")?;
        let kernel = table.get("kernel").and_then(toml::Value::as_str).context("a domain without kernel")?;
        let kernel = base.join(kernel);
        table.insert("kernel".into(), toml::Value::String(kernel.to_string_lossy().into_owned()));
        table.insert("cmdline".into(), toml::Value::String(format!("iterations={iterations}")));
    }
    Ok(toml::to_string(&document)?)
}

/// Builds `board`'s benchmark image around `domains` into `target/bench/images/<board>/`; returns
/// the ELF.
pub fn build_bench_image(board: Board, domains: &Path, sink: &Sink) -> Result<PathBuf> {
    let machine = Configuration { board, gic: GicVersion::V2 }.machine();
    let features = Features::parse(BENCH_FEATURES);
    let dir = output_dir().join("images").join(board.name());
    let request = ImageRequest { machine, features: &features, domains: Some(domains), dir };
    Ok(image::make(sink, &request)?.elf)
}

/// Builds `board`'s normal image without domains into `target/bench/images/<board>-plain/`;
/// returns the ELF.
pub fn build_plain_image(board: Board, sink: &Sink) -> Result<PathBuf> {
    let machine = Configuration { board, gic: GicVersion::V2 }.machine();
    let features = Features::none();
    let dir = output_dir().join("images").join(format!("{}-plain", board.name()));
    let request = ImageRequest { machine, features: &features, domains: None, dir };
    Ok(image::make(sink, &request)?.elf)
}

/// Boots `kernel` on `machine` at `level` with instruction counting until the guest passes;
/// returns its `BENCH` lines. The whole output is in `log`.
pub fn run(machine: Machine, level: EntryLevel, kernel: &Path, log: &Path) -> Result<Vec<BenchLine>> {
    let extra: Vec<OsString> = INSTRUCTION_COUNTING.iter().map(OsString::from).collect();
    let command = qemu_command_entering(machine, level, kernel, &Serial::Stdout, &extra);
    let finished = Cell::new(false);
    let check = |lines: &[String]| {
        let last = lines.last().map_or("", String::as_str);
        if last.contains("TEST FAIL") || last.contains("panicked") {
            return Progress::Failed(last.to_owned());
        }
        finished.set(finished.get() || last.contains(DONE_LINE));
        if finished.get() { Progress::Done } else { Progress::Waiting(format!("no `{DONE_LINE}` yet")) }
    };
    let limits = Limits { timeout: TIMEOUT, settle: Duration::ZERO };
    runner::boot_and_watch(command, log, limits, &[], &check)
        .map_err(|reason| anyhow!("{reason}; see {}", log.display()))?;
    let text = std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let parsed = bench_line::parse_all(&lines);
    if parsed.is_empty() {
        bail!("the guest printed no BENCH line; see {}", log.display());
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_follow_the_options() {
        assert_eq!(select(None, None).unwrap(), ALL);
        assert_eq!(select(Some(Board::Zcu102), None).unwrap(), [ALL[2]]);
        assert_eq!(select(None, Some(GicVersion::V3)).unwrap(), [ALL[1]]);
        assert_eq!(select(Some(Board::QemuVirt), Some(GicVersion::V2)).unwrap(), [ALL[0]]);
        assert!(select(Some(Board::Zcu102), Some(GicVersion::V3)).unwrap_err().contains("GICv2"));
    }

    #[test]
    fn machines_use_one_cpu_where_the_board_allows() {
        assert_eq!(ALL[1].machine().smp, 1);
        assert_eq!(ALL[1].machine().gic, GicVersion::V3);
        assert_eq!(ALL[2].machine().smp, 4);
        let bare = ALL[2].bare_metal_machine();
        assert_eq!((bare.board, bare.gic, bare.smp), (Board::QemuVirt, GicVersion::V2, 1));
        assert_eq!(ALL[2].label(), "zcu102 GICv2");
    }

    #[test]
    fn the_domain_file_copy_sets_iterations_and_absolute_kernels() {
        let text = "# comment\n[[domain]]\nname = \"bench-paths\"\nvcpus = 2\nkernel = \"../guests/g\"\n\
                    cmdline = \"iterations=1000\"\n";
        let copy = with_iterations(text, 20, Path::new("/repo/tests/domains")).unwrap();
        let parsed: toml::Table = toml::from_str(&copy).unwrap();
        let domain = &parsed["domain"].as_array().unwrap()[0];
        assert_eq!(domain["kernel"].as_str(), Some("/repo/tests/domains/../guests/g"));
        assert_eq!(domain["cmdline"].as_str(), Some("iterations=20"));
        assert_eq!(domain["vcpus"].as_integer(), Some(2));
        assert!(with_iterations("x = 1", 20, Path::new("/")).is_err());
    }

    #[test]
    fn the_committed_domain_file_can_be_copied() {
        let original = paths::repo_root().join(DOMAIN_FILE);
        let text = std::fs::read_to_string(&original).unwrap();
        let copy = with_iterations(&text, 7, original.parent().unwrap()).unwrap();
        assert!(copy.contains("iterations=7") && copy.contains("bench-paths"), "{copy}");
    }
}
