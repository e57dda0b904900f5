//! Command-line arguments: where to connect and what to do.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Parser, Subcommand};
use heapless::String as BoundedString;
use somnus_abi::domain_bundle::MAX_NAME_LENGTH;
use somnus_abi::management::DomainSelector;

/// Text after the options in `pwrctl --help`.
const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  other error (unexpected answer, terminal or output error)
  2  usage error (bad arguments, bad --connect)
  3  cannot connect, or the connection was lost
  4  unknown domain
  5  protocol version mismatch
  6  timeout waiting for the hypervisor
  7  request invalid in the domain's state (e.g. wake of a running domain)
  8  hypervisor busy; try again

In `pwrctl console`, Ctrl-] s prints the power states, Ctrl-] q quits, Ctrl-] Ctrl-] sends Ctrl-].";

/// See and drive every Somnus domain's power state over the hypervisor's serial line.
#[derive(Debug, Parser)]
#[command(name = "pwrctl", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// The serial line: unix:PATH, tcp:HOST:PORT, or a device such as /dev/ttyUSB0.
    #[arg(long, value_name = "TARGET")]
    pub connect: Target,
    /// Baud rate of a serial device.
    #[arg(long, value_name = "N", default_value_t = 115_200)]
    pub baud: u32,
    /// Seconds to wait for each answer.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// Show console text that arrives while waiting for an answer (on stderr).
    #[arg(long)]
    pub show_console: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Every domain's power state, as a table or as JSON.
    List {
        /// Print JSON (`{"domains":[...]}`) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Everything known about one domain.
    Show {
        /// Domain name or number.
        domain: DomainArgument,
    },
    /// Print power-state transitions as they happen, with timestamps (Ctrl-C ends it).
    Watch {
        /// Stop after this many transitions (for scripts).
        #[arg(long, value_name = "N")]
        events: Option<u64>,
    },
    /// Resume a suspended domain, as its wake-up interrupt would.
    Wake {
        /// Domain name or number.
        domain: DomainArgument,
    },
    /// Stop running a domain's vCPUs, keeping their state.
    Pause {
        /// Domain name or number.
        domain: DomainArgument,
    },
    /// Run a paused domain again.
    Unpause {
        /// Domain name or number.
        domain: DomainArgument,
    },
    /// Restart a domain from its image, as SYSTEM_RESET.
    Reset {
        /// Domain name or number.
        domain: DomainArgument,
    },
    /// Turn a domain off, as SYSTEM_OFF.
    Off {
        /// Domain name or number.
        domain: DomainArgument,
    },
    /// Interactive console: the serial line's text, your keystrokes sent (Ctrl-] s: power
    /// states, Ctrl-] q: quit).
    Console,
}

/// Where the hypervisor's serial line is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A Unix socket (`cargo xtask run --console unix:PATH`).
    Unix(PathBuf),
    /// A TCP socket, `HOST:PORT`.
    Tcp(String),
    /// A serial device.
    Serial(PathBuf),
}

impl FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = "expected unix:PATH, tcp:HOST:PORT or a serial device path such as /dev/ttyUSB0";
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(format!("`{text}` names no socket path; {usage}"));
            }
            Ok(Self::Unix(PathBuf::from(path)))
        } else if let Some(address) = text.strip_prefix("tcp:") {
            let Some((host, port)) = address.rsplit_once(':') else {
                return Err(format!("`{text}` has no port; {usage}"));
            };
            if host.is_empty() || port.parse::<u16>().is_err() {
                return Err(format!("`{text}` is not HOST:PORT with a port number; {usage}"));
            }
            Ok(Self::Tcp(address.to_owned()))
        } else if text.starts_with('/') {
            Ok(Self::Serial(PathBuf::from(text)))
        } else {
            Err(format!("`{text}` is not a connection; {usage}"))
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) => write!(formatter, "unix:{}", path.display()),
            Self::Tcp(address) => write!(formatter, "tcp:{address}"),
            Self::Serial(path) => write!(formatter, "{}", path.display()),
        }
    }
}

/// A domain as named on the command line: its number (from 1) or its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainArgument(pub DomainSelector);

impl FromStr for DomainArgument {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
            return match text.parse::<u8>() {
                Ok(number) if number > 0 => Ok(Self(DomainSelector::Number(number))),
                _ => Err(format!("domain numbers go from 1 to 255, not {text}")),
            };
        }
        if text.is_empty() {
            return Err("a domain name or number is needed".to_owned());
        }
        let name = BoundedString::try_from(text)
            .map_err(|_| format!("domain names are at most {MAX_NAME_LENGTH} bytes long"))?;
        Ok(Self(DomainSelector::Name(name)))
    }
}

impl fmt::Display for DomainArgument {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            DomainSelector::Number(number) => write!(formatter, "{number}"),
            DomainSelector::Name(name) => write!(formatter, "{name}"),
        }
    }
}

/// Parses `--timeout`: positive seconds, fractions allowed.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds.is_finite() && seconds < 1e9 => Ok(Duration::from_secs_f64(seconds)),
        _ => Err(format!("`{text}` is not a positive number of seconds")),
    }
}
