//! `pwrctl`: see and drive every Somnus domain's power state from the host, over the serial line
//! the hypervisor's console uses (management frames and console text share it; see
//! `somnus_abi::framing`).
//!
//! ```text
//! pwrctl --connect <unix:PATH|tcp:HOST:PORT|/dev/ttyX> [--baud N] [--timeout SECONDS]
//!        [--show-console] <list [--json] | show D | watch | wake D | pause D | unpause D |
//!        reset D | off D | console>
//! ```
//! `D` is a domain's name or number (from 1). pwrctl says `Hello` first and refuses another
//! protocol version. Console text that arrives while it waits for an answer is dropped, or
//! copied to standard error with `--show-console` (which also reports how many malformed frames
//! were skipped).
//!
//! Errors print one line `pwrctl: ...` on standard error and exit with:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | other error (unexpected answer, terminal or output error) |
//! | 2 | usage error (bad arguments, bad `--connect`) |
//! | 3 | cannot connect, or the connection was lost |
//! | 4 | unknown domain |
//! | 5 | protocol version mismatch |
//! | 6 | timeout waiting for the hypervisor (`--timeout`, default 5 s) |
//! | 7 | request invalid in the domain's state (e.g. `wake` of a running domain) |
//! | 8 | hypervisor busy; try again |

pub mod cli;
pub mod client;
pub mod console;
pub mod error;
pub mod json;
pub mod link;
pub mod render;
pub mod terminal;
pub mod watch;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use somnus_abi::management::{Request, Response};

use crate::cli::{Cli, Command};
use crate::client::{Client, expect_done, refusal};
use crate::error::PwrctlError;

/// Parses the command line, runs the command and turns the outcome into an exit status.
#[must_use]
pub fn main_with_arguments(arguments: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = Cli::parse_from(arguments);
    match run(cli, &mut io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pwrctl: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs one command, printing its output to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<(), PwrctlError> {
    let link = link::open(&cli.connect, cli.baud, cli.timeout)?;
    let text_sink: Box<dyn Write + Send> = if cli.show_console { Box::new(io::stderr()) } else { Box::new(io::sink()) };
    let mut client = Client::connect(link, cli.timeout, text_sink)?;
    let frequency = client.hello().timer_frequency;
    let output = match cli.command {
        Command::List { json } => match client.request(Request::List)? {
            Response::Domains(domains) if json => json::domain_list_json(&domains) + "\n",
            Response::Domains(domains) => render::domain_table(&domains, frequency),
            other => return Err(refusal(other, "list", "-")),
        },
        Command::Show { domain } => {
            let name = domain.to_string();
            match client.request(Request::Show(domain.0))? {
                Response::Domain(status) => render::domain_report(&status, frequency),
                other => return Err(refusal(other, "show", &name)),
            }
        }
        Command::Watch { events } => return watch::watch(&mut client, events, out),
        Command::Console => return console::console(client),
        Command::Wake { domain } => change(&mut client, Request::Wake(domain.0.clone()), &domain.to_string())?,
        Command::Pause { domain } => change(&mut client, Request::Pause(domain.0.clone()), &domain.to_string())?,
        Command::Unpause { domain } => change(&mut client, Request::Unpause(domain.0.clone()), &domain.to_string())?,
        Command::Reset { domain } => change(&mut client, Request::Reset(domain.0.clone()), &domain.to_string())?,
        Command::Off { domain } => change(&mut client, Request::Off(domain.0.clone()), &domain.to_string())?,
    };
    out.write_all(output.as_bytes()).and_then(|()| out.flush()).map_err(PwrctlError::Local)?;
    if cli.show_console && client.malformed_frames() > 0 {
        eprintln!("pwrctl: skipped {} malformed frame(s)", client.malformed_frames());
    }
    Ok(())
}

/// Sends a state-changing request; returns the confirmation line.
fn change(client: &mut Client, request: Request, domain: &str) -> Result<String, PwrctlError> {
    let command = client::request_name(&request);
    expect_done(client.request(request)?, command, domain)?;
    Ok(format!("{command} {domain}: done\n"))
}
