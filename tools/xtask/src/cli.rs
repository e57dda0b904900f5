//! Command-line interface of `cargo xtask`: subcommands, options and their validation.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::assets::Refresh;
use crate::board::Board;
use crate::features::Features;
use crate::machine::{CpuModel, GicVersion, MAX_SMP, Machine};
use crate::paths;

/// Build, image, boot and test the Somnus hypervisor.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `cargo xtask`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Cross-compile a board's hypervisor binary (release profile), without domains.
    Build(BuildArgs),
    /// Write the domain bundle, build and write the boot artifacts to target/images/<board>/
    /// (domains.bundle, somnus.elf, somnus.bin, and somnus.itb for zcu102).
    Image(ImageArgs),
    /// Build the image and boot it under QEMU, serial line on the terminal or a Unix socket.
    Run(RunArgs),
    /// Run every check: host tests, fmt, clippy, cross builds and QEMU integration tests.
    Test(TestArgs),
    /// Measure the hot paths in instructions under QEMU (-icount) on every board configuration:
    /// a table on stdout, target/bench/bench.json; --check compares with docs/bench-baseline.json.
    Bench(BenchArgs),
    /// Download Debian's arm64 Linux kernel and busybox with the distribution's package tools into
    /// target/assets/debian-arm64/ (reused when present) and write the initramfs of every scenario
    /// in tests/linux/.
    FetchLinux(FetchLinuxArgs),
}

/// Which board to build, with which cargo features.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Board crate to build.
    #[arg(long, value_enum, default_value_t = Board::QemuVirt)]
    pub board: Board,
    /// Cargo features of the board crate (comma-separated), e.g. `el2-fault-test`. Images built
    /// with features go to target/images/<board>-<features>/.
    #[arg(long, value_name = "FEATURES")]
    pub features: Option<String>,
}

impl BuildArgs {
    /// The selected features, normalised.
    pub fn features(&self) -> Features {
        self.features.as_deref().map(Features::parse).unwrap_or_default()
    }
}

/// Options of `cargo xtask image`.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Board and features to build.
    #[command(flatten)]
    pub build: BuildArgs,
    /// Domain configuration (TOML) [default: boards/<board>/domains.toml].
    #[arg(long, value_name = "FILE")]
    pub domains: Option<PathBuf>,
    /// Number of CPUs the configuration's `pcpus` are checked against (qemu-virt: 1..=8,
    /// default 4; zcu102: always 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=i64::from(MAX_SMP)))]
    pub smp: Option<u8>,
}

impl ImageArgs {
    /// The machine the image is checked for, with the board's defaults applied.
    pub fn machine(&self) -> Result<Machine, String> {
        Machine::new(self.build.board, None, self.smp, None)
    }

    /// The domain configuration: `--domains` or the board's default.
    pub fn domains(&self) -> PathBuf {
        self.domains.clone().unwrap_or_else(|| paths::default_domains(self.build.board))
    }
}

/// Options of `cargo xtask run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Board and features to build.
    #[command(flatten)]
    pub build: BuildArgs,
    /// GIC version QEMU emulates (zcu102: 2 only) [default: 2].
    #[arg(long, value_enum)]
    pub gic: Option<GicVersion>,
    /// Number of CPUs (qemu-virt: 1..=8, default 4; zcu102: always 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=i64::from(MAX_SMP)))]
    pub smp: Option<u8>,
    /// CPU model (zcu102: cortex-a53 only) [default: cortex-a53].
    #[arg(long, value_enum)]
    pub cpu: Option<CpuModel>,
    /// Domain configuration (TOML) [default: boards/<board>/domains.toml].
    #[arg(long, value_name = "FILE")]
    pub domains: Option<PathBuf>,
    /// Put the board's serial line on a Unix socket server instead of the terminal.
    #[arg(long, value_name = "unix:PATH", value_parser = parse_console)]
    pub console: Option<Console>,
    /// Boot through Debian's U-Boot (u-boot-qemu, fetched into target/assets/) as QEMU's
    /// firmware: it finds boot.scr and somnus.itb on a FAT disk made of
    /// target/images/<board>/boot-partition/ and boots them by itself, as a ZCU102 boots from its
    /// SD card (qemu-virt only).
    #[arg(long)]
    pub u_boot: bool,
    /// Extra QEMU arguments, appended unchanged (e.g. `-- -s -S`).
    #[arg(last = true, value_name = "EXTRA-QEMU-ARGS")]
    pub qemu_args: Vec<OsString>,
}

impl RunArgs {
    /// The machine to boot, with the board's defaults applied and its limits checked.
    pub fn machine(&self) -> Result<Machine, String> {
        Machine::new(self.build.board, self.gic, self.smp, self.cpu)
    }

    /// The domain configuration: `--domains` or the board's default.
    pub fn domains(&self) -> PathBuf {
        self.domains.clone().unwrap_or_else(|| paths::default_domains(self.build.board))
    }

    /// Why these options cannot run, if they cannot: a machine the board refuses, or `--u-boot`
    /// on a board it cannot boot.
    fn refusal(&self) -> Option<String> {
        match self.machine() {
            Err(message) => Some(message),
            Ok(machine) => self.u_boot.then(|| crate::u_boot::refusal(machine)).flatten(),
        }
    }
}

/// Where the board's serial line goes when it is not the terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Console {
    /// A Unix socket server at this path (QEMU listens; `pwrctl` or `socat` connect).
    Unix(PathBuf),
}

/// Parses `--console`: `unix:PATH`.
fn parse_console(value: &str) -> Result<Console, String> {
    match value.strip_prefix("unix:") {
        Some("") => Err("`unix:` needs a socket path, e.g. `unix:/tmp/somnus.sock`".to_owned()),
        Some(path) => Ok(Console::Unix(PathBuf::from(path))),
        None => Err(format!(
            "expected `unix:PATH` (e.g. `unix:/tmp/somnus.sock`), got `{value}`; \
             without --console the serial line is the terminal"
        )),
    }
}

/// Options of `cargo xtask test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Run only the tests whose name contains this text.
    #[arg(long, value_name = "SUBSTRING")]
    pub filter: Option<String>,
    /// Skip the host-side checks (host tests, fmt, clippy, cross builds).
    #[arg(long)]
    pub skip_host: bool,
    /// Skip the QEMU integration tests.
    #[arg(long)]
    pub skip_qemu: bool,
    /// Also boot this domain configuration (TOML) on every board and check that all of its
    /// domains start (tests `domains-file-*`).
    #[arg(long, value_name = "FILE")]
    pub domains: Option<PathBuf>,
}

/// Options of `cargo xtask bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Only this board [default: every board].
    #[arg(long, value_enum)]
    pub board: Option<Board>,
    /// Only this GIC version [default: both on qemu-virt, 2 on zcu102].
    #[arg(long, value_enum)]
    pub gic: Option<GicVersion>,
    /// Iterations per path (1..=4096) [default: 1000, or 50 with --quick].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub iterations: Option<u16>,
    /// Fail if a path is more than 5 % worse than docs/bench-baseline.json.
    #[arg(long)]
    pub check: bool,
    /// Few iterations, no image sizes or line counts (what `cargo xtask test` runs).
    #[arg(long)]
    pub quick: bool,
}

/// Options of `cargo xtask fetch-linux`.
#[derive(Debug, Args)]
pub struct FetchLinuxArgs {
    /// Ask the package archive for the current versions even when a cached selection exists.
    #[arg(long)]
    pub refresh: bool,
}

impl FetchLinuxArgs {
    /// Whether to ask the archive again.
    pub const fn refresh(&self) -> Refresh {
        if self.refresh { Refresh::Always } else { Refresh::IfMissing }
    }
}

impl Cli {
    /// Parses the arguments (the first one is the program name) and checks the combinations
    /// clap cannot express, such as options a board refuses; errors are clap errors with usage.
    pub fn try_parse_validated<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let cli = Self::try_parse_from(args)?;
        let refusal = match &cli.command {
            Command::Run(run) => run.refusal().map(|message| ("run", message)),
            Command::Image(image) => image.machine().err().map(|message| ("image", message)),
            Command::Build(_) | Command::Test(_) | Command::Bench(_) | Command::FetchLinux(_) => None,
        };
        if let Some((name, message)) = refusal {
            let mut command = Self::command();
            command.build();
            let subcommand = command.find_subcommand_mut(name).expect("a subcommand");
            return Err(subcommand.error(ErrorKind::ArgumentConflict, message));
        }
        Ok(cli)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_validated(std::iter::once("xtask").chain(args.iter().copied()))
    }

    fn run_args(args: &[&str]) -> RunArgs {
        match parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}")).command {
            Command::Run(run) => run,
            other => panic!("expected run, got {other:?}"),
        }
    }

    #[test]
    fn run_defaults() {
        let run = run_args(&["run"]);
        assert_eq!(run.build.board, Board::QemuVirt);
        assert!(run.build.features().is_empty());
        assert_eq!(run.console, None);
        assert!(run.qemu_args.is_empty());
        let machine = run.machine().unwrap();
        assert_eq!((machine.gic, machine.smp, machine.cpu), (GicVersion::V2, 4, CpuModel::CortexA53));
    }

    #[test]
    fn build_and_image_defaults() {
        let Command::Build(args) = parse(&["build"]).unwrap().command else { panic!("not build") };
        assert_eq!(args.board, Board::QemuVirt);
        assert!(args.features().is_empty());
        let Command::Image(args) = parse(&["image"]).unwrap().command else { panic!("not image") };
        assert_eq!(args.build.board, Board::QemuVirt);
        assert!(args.build.features().is_empty());
        assert_eq!(args.domains(), paths::default_domains(Board::QemuVirt));
        assert_eq!(args.machine().unwrap().smp, 4);
        let cli = parse(&["image", "--board", "zcu102", "--features", "el2-fault-test"]).unwrap();
        let Command::Image(args) = cli.command else { panic!("not image") };
        assert_eq!(args.build.board, Board::Zcu102);
        assert_eq!(args.build.features().dir_suffix(), "-el2-fault-test");
        assert_eq!(args.domains(), paths::default_domains(Board::Zcu102));
    }

    #[test]
    fn domains_option_on_image_run_and_test() {
        let cli = parse(&["image", "--domains", "my.toml", "--smp", "8"]).unwrap();
        let Command::Image(args) = cli.command else { panic!("not image") };
        assert_eq!((args.domains(), args.machine().unwrap().smp), (PathBuf::from("my.toml"), 8));
        let run = run_args(&["run", "--board", "zcu102", "--domains", "d/x.toml"]);
        assert_eq!(run.domains(), PathBuf::from("d/x.toml"));
        assert_eq!(run_args(&["run"]).domains(), paths::default_domains(Board::QemuVirt));
        let Command::Test(args) = parse(&["test", "--domains", "t.toml"]).unwrap().command else { panic!("not test") };
        assert_eq!(args.domains, Some(PathBuf::from("t.toml")));
        let err = parse(&["image", "--board", "zcu102", "--smp", "2"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
    }

    #[test]
    fn run_accepts_every_option() {
        let run = run_args(&["run", "--board", "qemu-virt", "--gic", "3", "--smp", "8", "--cpu", "cortex-a72"]);
        let machine = run.machine().unwrap();
        assert_eq!((machine.gic, machine.smp, machine.cpu), (GicVersion::V3, 8, CpuModel::CortexA72));
    }

    #[test]
    fn unknown_gic_version_is_refused() {
        let err = parse(&["run", "--gic", "4"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidValue);
    }

    #[test]
    fn zcu102_refuses_gic_v3_and_other_cpu_counts() {
        let err = parse(&["run", "--board", "zcu102", "--gic", "3"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
        assert!(err.to_string().contains("GICv2"), "{err}");
        let err = parse(&["run", "--board", "zcu102", "--smp", "2"]).unwrap_err();
        assert!(err.to_string().contains("always has 4 CPUs"), "{err}");
        let run = run_args(&["run", "--board", "zcu102", "--smp", "4", "--gic", "2"]);
        assert_eq!(run.machine().unwrap().smp, 4);
    }

    #[test]
    fn smp_bounds() {
        assert_eq!(parse(&["run", "--smp", "0"]).unwrap_err().kind(), ErrorKind::ValueValidation);
        assert_eq!(parse(&["run", "--smp", "9"]).unwrap_err().kind(), ErrorKind::ValueValidation);
        assert_eq!(run_args(&["run", "--smp", "1"]).machine().unwrap().smp, 1);
        assert_eq!(run_args(&["run", "--smp", "8"]).machine().unwrap().smp, 8);
    }

    #[test]
    fn arguments_after_double_dash_pass_through() {
        let run = run_args(&["run", "--smp", "2", "--", "-s", "-S", "--gic", "-icount", "shift=0"]);
        assert_eq!(run.qemu_args, ["-s", "-S", "--gic", "-icount", "shift=0"]);
        assert_eq!(run.machine().unwrap().smp, 2);
    }

    #[test]
    fn u_boot_on_qemu_virt_only() {
        assert!(!run_args(&["run"]).u_boot);
        let run = run_args(&["run", "--u-boot", "--gic", "3", "--", "-s"]);
        assert!(run.u_boot);
        assert_eq!(run.qemu_args, ["-s"]);
        let err = parse(&["run", "--board", "zcu102", "--u-boot"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
        assert!(err.to_string().contains("qemu-virt only"), "{err}");
    }

    #[test]
    fn console_unix_socket() {
        let run = run_args(&["run", "--console", "unix:/tmp/somnus.sock"]);
        assert_eq!(run.console, Some(Console::Unix(PathBuf::from("/tmp/somnus.sock"))));
    }

    #[test]
    fn bad_console_is_refused_with_a_clear_message() {
        let err = parse(&["run", "--console", "tcp:1234"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueValidation);
        assert!(err.to_string().contains("expected `unix:PATH`"), "{err}");
        let err = parse(&["run", "--console", "unix:"]).unwrap_err();
        assert!(err.to_string().contains("needs a socket path"), "{err}");
    }

    #[test]
    fn unknown_board_is_refused() {
        assert_eq!(parse(&["build", "--board", "rpi4"]).unwrap_err().kind(), ErrorKind::InvalidValue);
    }

    #[test]
    fn test_options() {
        let cli = parse(&["test", "--filter", "gicv3", "--skip-host"]).unwrap();
        let Command::Test(args) = cli.command else { panic!("not test") };
        assert_eq!(args.filter.as_deref(), Some("gicv3"));
        assert!(args.skip_host);
        assert!(!args.skip_qemu);
    }

    #[test]
    fn bench_options() {
        let Command::Bench(args) = parse(&["bench"]).unwrap().command else { panic!("not bench") };
        assert_eq!((args.board, args.gic, args.iterations, args.check, args.quick), (None, None, None, false, false));
        let cli = parse(&["bench", "--board", "zcu102", "--gic", "2", "--iterations", "50", "--check", "--quick"]);
        let Command::Bench(args) = cli.unwrap().command else { panic!("not bench") };
        assert_eq!((args.board, args.gic, args.iterations), (Some(Board::Zcu102), Some(GicVersion::V2), Some(50)));
        assert!(args.check && args.quick);
        assert_eq!(parse(&["bench", "--iterations", "0"]).unwrap_err().kind(), ErrorKind::ValueValidation);
        assert_eq!(parse(&["bench", "--iterations", "4097"]).unwrap_err().kind(), ErrorKind::ValueValidation);
    }

    #[test]
    fn fetch_linux_reuses_the_cache_unless_asked_to_refresh() {
        let Command::FetchLinux(args) = parse(&["fetch-linux"]).unwrap().command else { panic!("not fetch-linux") };
        assert_eq!(args.refresh(), Refresh::IfMissing);
        let Command::FetchLinux(args) = parse(&["fetch-linux", "--refresh"]).unwrap().command else {
            panic!("not fetch-linux")
        };
        assert_eq!(args.refresh(), Refresh::Always);
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
