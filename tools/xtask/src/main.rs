//! `cargo xtask`: the Somnus developer tool.
//!
//! - `cargo xtask build [--board B] [--features F]`: cross-compile a board (release).
//! - `cargo xtask image [--board B] [--features F] [--domains FILE] [--smp N]`: write
//!   `target/images/<board>/` (domains.bundle, somnus.elf, somnus.bin, and somnus.itb for zcu102).
//! - `cargo xtask run [--board B] [--gic 2|3] [--smp N] [--cpu C] [--domains FILE]
//!   [--console unix:PATH] [--u-boot] [-- ARGS]`: boot the image under QEMU (`--u-boot`: through
//!   Debian's U-Boot, which finds the FIT image on a FAT disk as a board finds it on its SD card).
//! - `cargo xtask test [--filter S] [--skip-host] [--skip-qemu] [--domains FILE]`: every check,
//!   ending with `N passed, M failed`.
//! - `cargo xtask bench [--board B] [--gic 2|3] [--iterations N] [--check] [--quick]`: the hot
//!   paths in instructions (QEMU `-icount`), a table on stdout and `target/bench/bench.json`;
//!   `--check` fails on a regression against `docs/bench-baseline.json`.
//! - `cargo xtask fetch-linux [--refresh]`: download Debian's arm64 kernel and busybox into
//!   `target/assets/` and write the initramfs of the Linux test scenarios (`tests/linux/`).
//!
//! The domain configuration defaults to `boards/<board>/domains.toml`; a refused one is reported
//! in one line naming the file, the domain and the field, and xtask exits non-zero.

mod assets;
mod bench;
mod board;
mod cargo;
mod cli;
mod demo_domains;
mod domains;
mod features;
mod host_tools;
mod image;
mod machine;
mod paths;
mod process;
mod qemu;
mod qemu_tests;
mod qemu_tests_linux;
mod run;
mod test_suite;
mod u_boot;

use std::process::ExitCode;

use anyhow::Result;
use somnus_domain_config::ConfigError;

use cli::{Cli, Command};
use image::ImageRequest;
use process::Sink;

fn main() -> ExitCode {
    let cli = Cli::try_parse_validated(std::env::args_os()).unwrap_or_else(|error| error.exit());
    match dispatch(&cli.command) {
        Ok(code) => code,
        Err(error) => {
            match error.downcast_ref::<ConfigError>() {
                Some(refusal) => eprintln!("{refusal}"),
                None => eprintln!("error: {error:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

/// Runs one subcommand.
fn dispatch(command: &Command) -> Result<ExitCode> {
    match command {
        Command::Build(args) => {
            Sink::Terminal.run(&mut cargo::build_board(args.board, &args.features()))?;
            eprintln!("built {}", paths::built_elf().display());
        }
        Command::Image(args) => {
            let machine = args.machine().map_err(anyhow::Error::msg)?;
            let features = args.build.features();
            let domains = demo_domains::usable(&args.domains(), args.domains.is_some(), &Sink::Terminal)?;
            let image = image::make(&Sink::Terminal, &ImageRequest::standard(machine, &features, &domains))?;
            eprintln!("image written to {}:", image.dir.display());
            for file in image.files() {
                eprintln!("  {}", file.display());
            }
        }
        Command::Run(args) => run::run(args)?,
        Command::Test(args) => return test_suite::run(args),
        Command::Bench(args) => return bench::run(args),
        Command::FetchLinux(args) => qemu_tests_linux::fetch_linux_command(args.refresh())?,
    }
    Ok(ExitCode::SUCCESS)
}
