//! `pwrctl watch`: the current states, then one timestamped line per power-state transition as
//! the hypervisor reports it, until Ctrl-C (or `q`) or the connection closes. On a terminal,
//! Ctrl-C arrives as a key, so `watch` asks the hypervisor to stop sending events before it
//! leaves (exit status 0).
//!
//! A line reads `14:03:22.117Z  hv 12.345678s  1 linux  running -> suspended`: the host's UTC
//! time of day when the event arrived, the hypervisor's clock when the state changed, the domain
//! and the transition.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use somnus_abi::ids::DomainId;
use somnus_abi::management::{DomainState, DomainStatus, Request, Response};

use crate::client::{Client, expect_done, refusal};
use crate::error::PwrctlError;
use crate::render::{domain_number, domain_state_name, seconds_text};
use crate::terminal::TerminalMode;

/// What `watch` knows of each domain slot: its name and last state.
#[derive(Debug, Default)]
pub struct Transitions {
    domains: BTreeMap<u8, (String, DomainState)>,
}

impl Transitions {
    /// Starts from a `List` answer.
    #[must_use]
    pub fn new(domains: &[DomainStatus]) -> Self {
        let domains = domains.iter().map(|domain| (domain.id.index, (domain.name.as_str().to_owned(), domain.state)));
        Self { domains: domains.collect() }
    }

    /// Records an event and returns its line (without the host time).
    pub fn record(&mut self, domain: DomainId, state: DomainState, time_ns: u64) -> String {
        let number = u16::from(domain.index) + 1;
        let entry = self.domains.entry(domain.index).or_insert_with(|| (format!("domain{number}"), state));
        let previous = std::mem::replace(&mut entry.1, state);
        format!(
            "hv {}  {number} {}  {} -> {}",
            seconds_text(time_ns, 6),
            entry.0,
            domain_state_name(previous),
            domain_state_name(state)
        )
    }
}

/// The UTC time of day of `time`: `14:03:22.117Z`.
#[must_use]
pub fn utc_time_of_day(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs() % 86_400;
    format!("{:02}:{:02}:{:02}.{:03}Z", seconds / 3600, seconds / 60 % 60, seconds % 60, since_epoch.subsec_millis())
}

/// How often `watch` checks for Ctrl-C while no event arrives.
const KEY_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Ctrl-C, as a terminal in key mode delivers it.
const CONTROL_C: u8 = 0x03;

/// Runs `watch` on an open session, printing to `out`, until Ctrl-C or `q` (on a terminal),
/// `events` transitions if given, the end of the connection, or an output error; then asks the
/// hypervisor to stop the events.
pub fn watch(client: &mut Client, events: Option<u64>, out: &mut dyn Write) -> Result<(), PwrctlError> {
    let domains = match client.request(Request::List)? {
        Response::Domains(domains) => domains,
        other => return Err(refusal(other, "list", "-")),
    };
    let keys = TerminalMode::keys_if_terminal().map_err(PwrctlError::Local)?;
    let stop = Arc::new(AtomicBool::new(false));
    if keys.is_some() {
        let stop = Arc::clone(&stop);
        thread::spawn(move || wait_for_stop_key(&stop));
    }
    let now = utc_time_of_day(SystemTime::now());
    let board = client.hello().board.clone();
    let mut lines = vec![format!("{now}  watching {} domain(s) on {board}; Ctrl-C ends", domains.len())];
    for domain in &domains {
        let since = seconds_text(domain.since_ns, 6);
        let state = domain_state_name(domain.state);
        lines.push(format!("{now}  hv {since}  {} {}  {state}", domain_number(domain), domain.name));
    }
    print_lines(out, &lines)?;
    expect_done(client.request(Request::Watch(true))?, "watch", "-")?;
    let mut transitions = Transitions::new(&domains);
    let mut seen = 0_u64;
    let result = loop {
        if stop.load(Ordering::Relaxed) || events.is_some_and(|limit| seen >= limit) {
            break Ok(());
        }
        match client.next_event(Some(KEY_POLL_INTERVAL)) {
            Ok(Some(Response::Event { domain, state, time_ns })) => {
                let line = transitions.record(domain, state, time_ns);
                seen += 1;
                if let Err(error) = print_lines(out, &[format!("{}  {line}", utc_time_of_day(SystemTime::now()))]) {
                    break Err(error);
                }
            }
            Ok(_) => {}
            Err(error) => break Err(error),
        }
    };
    if !matches!(result, Err(PwrctlError::ConnectionLost(_))) {
        // Best effort: the line may carry plain console traffic after pwrctl leaves.
        let _ = client.request(Request::Watch(false));
    }
    drop(keys);
    result
}

/// Writes and flushes lines of output.
fn print_lines(out: &mut dyn Write, lines: &[String]) -> Result<(), PwrctlError> {
    for line in lines {
        writeln!(out, "{line}").map_err(PwrctlError::Local)?;
    }
    out.flush().map_err(PwrctlError::Local)
}

/// Reads keys until Ctrl-C or `q`, then raises `stop`.
fn wait_for_stop_key(stop: &AtomicBool) {
    let mut keys = [0u8; 16];
    loop {
        match io::stdin().read(&mut keys) {
            Ok(0) | Err(_) => return,
            Ok(length) => {
                if keys[..length].iter().any(|&key| key == CONTROL_C || key == b'q') {
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
            }
        }
    }
}
