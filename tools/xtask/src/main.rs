//! `cargo xtask`: the Somnus developer tool.
//!
//! - `cargo xtask build [--board B] [--features F]`: cross-compile a board (release).
//! - `cargo xtask image [--board B] [--features F]`: write `target/images/<board>/` (somnus.elf,
//!   somnus.bin, and somnus.itb for zcu102).
//! - `cargo xtask run [--board B] [--gic 2|3] [--smp N] [--cpu C] [--console unix:PATH] [-- ARGS]`:
//!   boot the image under QEMU.
//! - `cargo xtask test [--filter S] [--skip-host] [--skip-qemu]`: every check, ending with
//!   `N passed, M failed`.

mod board;
mod cargo;
mod cli;
mod features;
mod host_tools;
mod image;
mod machine;
mod paths;
mod process;
mod qemu;
mod qemu_tests;
mod run;
mod test_suite;

use std::process::ExitCode;

use anyhow::Result;

use cli::{Cli, Command};
use process::Sink;

fn main() -> ExitCode {
    let cli = Cli::try_parse_validated(std::env::args_os()).unwrap_or_else(|error| error.exit());
    match dispatch(&cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
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
            let image = image::make(&Sink::Terminal, args.board, &args.features())?;
            eprintln!("image written to {}:", image.dir.display());
            for file in image.files() {
                eprintln!("  {}", file.display());
            }
        }
        Command::Run(args) => run::run(args)?,
        Command::Test(args) => return test_suite::run(args),
    }
    Ok(ExitCode::SUCCESS)
}
