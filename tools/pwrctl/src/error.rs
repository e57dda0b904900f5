//! What can go wrong, the one-line message for each, and the exit code it gives.

use std::fmt;
use std::io;

use somnus_abi::management::DomainState;

use crate::render::domain_state_name;

/// Exit status for success.
pub const EXIT_SUCCESS: u8 = 0;
/// Exit status for an error no other code describes.
pub const EXIT_OTHER: u8 = 1;
/// Exit status for bad arguments (clap's own).
pub const EXIT_USAGE: u8 = 2;
/// Exit status when the serial line cannot be opened or was closed.
pub const EXIT_CANNOT_CONNECT: u8 = 3;
/// Exit status for a domain that does not exist.
pub const EXIT_UNKNOWN_DOMAIN: u8 = 4;
/// Exit status when the hypervisor speaks another protocol version.
pub const EXIT_VERSION_MISMATCH: u8 = 5;
/// Exit status when no answer came in time.
pub const EXIT_TIMEOUT: u8 = 6;
/// Exit status for a request that makes no sense in the domain's state.
pub const EXIT_INVALID_STATE: u8 = 7;
/// Exit status when the hypervisor had no room for the request.
pub const EXIT_BUSY: u8 = 8;

/// Why pwrctl stopped.
#[derive(Debug)]
pub enum PwrctlError {
    /// Opening the connection failed.
    CannotConnect {
        /// The `--connect` target.
        target: String,
        /// What the system said.
        source: io::Error,
    },
    /// The connection was closed or failed after it was opened.
    ConnectionLost(io::Error),
    /// No domain has that name or number.
    UnknownDomain(String),
    /// The hypervisor speaks another protocol version.
    VersionMismatch {
        /// Ours.
        ours: u32,
        /// The hypervisor's.
        theirs: u32,
    },
    /// No answer within the timeout.
    Timeout {
        /// What was waited for.
        waiting_for: String,
        /// How long, in seconds.
        seconds: f64,
    },
    /// The request makes no sense in the domain's current state.
    InvalidState {
        /// The command (`wake`, `pause`, ...).
        command: &'static str,
        /// The domain as given.
        domain: String,
        /// Its state.
        state: DomainState,
    },
    /// The hypervisor is out of room for the request.
    Busy,
    /// An answer of the wrong kind.
    UnexpectedAnswer(String),
    /// Writing output or setting up the terminal failed.
    Local(io::Error),
}

impl PwrctlError {
    /// The process exit status for this error.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::CannotConnect { .. } | Self::ConnectionLost(_) => EXIT_CANNOT_CONNECT,
            Self::UnknownDomain(_) => EXIT_UNKNOWN_DOMAIN,
            Self::VersionMismatch { .. } => EXIT_VERSION_MISMATCH,
            Self::Timeout { .. } => EXIT_TIMEOUT,
            Self::InvalidState { .. } => EXIT_INVALID_STATE,
            Self::Busy => EXIT_BUSY,
            Self::UnexpectedAnswer(_) | Self::Local(_) => EXIT_OTHER,
        }
    }
}

impl fmt::Display for PwrctlError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CannotConnect { target, source } => write!(formatter, "cannot connect to {target}: {source}"),
            Self::ConnectionLost(source) => write!(formatter, "connection to the hypervisor lost: {source}"),
            Self::UnknownDomain(domain) => write!(formatter, "unknown domain `{domain}`"),
            Self::VersionMismatch { ours, theirs } => write!(
                formatter,
                "protocol version mismatch: pwrctl speaks version {ours}, the hypervisor version {theirs}"
            ),
            Self::Timeout { waiting_for, seconds } => {
                write!(formatter, "timeout: no answer to {waiting_for} within {seconds} s")
            }
            Self::InvalidState { command, domain, state } => {
                write!(formatter, "cannot {command} domain `{domain}` while it is {}", domain_state_name(*state))
            }
            Self::Busy => write!(formatter, "the hypervisor is busy; try again"),
            Self::UnexpectedAnswer(what) => write!(formatter, "unexpected answer from the hypervisor: {what}"),
            Self::Local(source) => write!(formatter, "{source}"),
        }
    }
}

impl std::error::Error for PwrctlError {}
