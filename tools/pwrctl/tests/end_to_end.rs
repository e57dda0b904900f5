//! The `pwrctl` binary against a fake hypervisor on a Unix socket: answers come wrapped in
//! console text, a malformed frame, an undecodable frame and a stale answer, all of which pwrctl
//! must skip; errors give their one-line message and exit code.

mod common;

use std::process::{Command, Output};

use common::{Behaviour, FakeHypervisor, sample_domains};
use pwrctl::error::{
    EXIT_CANNOT_CONNECT, EXIT_INVALID_STATE, EXIT_TIMEOUT, EXIT_UNKNOWN_DOMAIN, EXIT_USAGE, EXIT_VERSION_MISMATCH,
};
use somnus_abi::management::{DomainSelector, MANAGEMENT_VERSION, Request};

fn pwrctl(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pwrctl")).args(arguments).output().unwrap()
}

/// Runs pwrctl against a fresh fake; returns its output and the requests the fake received.
fn against_fake(behaviour: Behaviour, arguments: &[&str]) -> (Output, Vec<Request>) {
    let fake = FakeHypervisor::start(behaviour);
    let connect = fake.connect_argument();
    let mut full = vec!["--connect", connect.as_str(), "--timeout", "2"];
    full.extend_from_slice(arguments);
    let output = pwrctl(&full);
    (output, fake.finish().requests)
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn name(text: &str) -> DomainSelector {
    DomainSelector::Name(heapless::String::try_from(text).unwrap())
}

#[test]
fn list_json_skips_console_text_and_bad_frames() {
    let (output, requests) = against_fake(Behaviour::Normal, &["list", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), pwrctl::json::domain_list_json(&sample_domains()) + "\n");
    assert_eq!(stderr(&output), "");
    assert_eq!(requests, [Request::Hello { version: MANAGEMENT_VERSION }, Request::List]);
}

#[test]
fn list_over_tcp() {
    let fake = FakeHypervisor::start_tcp(Behaviour::Normal);
    let output = pwrctl(&["--connect", &fake.connect_argument(), "list", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), pwrctl::json::domain_list_json(&sample_domains()) + "\n");
    assert_eq!(fake.finish().requests.len(), 2);
}

#[test]
fn list_prints_the_table() {
    let (output, _) = against_fake(Behaviour::Normal, &["list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), pwrctl::render::domain_table(&sample_domains(), common::TIMER_FREQUENCY));
}

#[test]
fn show_console_copies_the_text_to_stderr() {
    let (output, _) = against_fake(Behaviour::Normal, &["--show-console", "show", "2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("domain 2 \"heartbeat\" (generation 0)\n"));
    let before = "(d1) console text before\r\n(d2) between frames\r\n";
    let after = "(d1) console text after\r\n";
    // Around both answers (hello, show); pwrctl may exit before the text after the last one.
    assert!(stderr(&output).starts_with(&format!("{before}{after}{before}")), "{:?}", stderr(&output));
    // Per answer: one frame that is not COBS, one that is no `ResponseFrame`.
    assert!(stderr(&output).ends_with("\npwrctl: skipped 4 malformed frame(s)\n"), "{:?}", stderr(&output));
}

#[test]
fn wake_by_name_is_done() {
    let (output, requests) = against_fake(Behaviour::Normal, &["wake", "linux"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "wake linux: done\n");
    assert_eq!(requests[1], Request::Wake(name("linux")));
}

#[test]
fn every_state_change_reaches_the_hypervisor() {
    for (command, request) in [
        ("pause", Request::Pause(DomainSelector::Number(3))),
        ("unpause", Request::Unpause(DomainSelector::Number(3))),
        ("reset", Request::Reset(DomainSelector::Number(3))),
        ("off", Request::Off(DomainSelector::Number(3))),
    ] {
        let (output, requests) = against_fake(Behaviour::Normal, &[command, "3"]);
        assert!(output.status.success(), "{command}: {}", stderr(&output));
        assert_eq!(stdout(&output), format!("{command} 3: done\n"));
        assert_eq!(requests[1], request);
    }
}

#[test]
fn wake_of_a_running_domain_is_refused() {
    let (output, _) = against_fake(Behaviour::Normal, &["wake", "heartbeat"]);
    assert_eq!(output.status.code(), Some(i32::from(EXIT_INVALID_STATE)));
    assert_eq!(stderr(&output), "pwrctl: cannot wake domain `heartbeat` while it is running\n");
    assert_eq!(stdout(&output), "");
}

#[test]
fn unknown_domain_is_refused() {
    let (output, _) = against_fake(Behaviour::Normal, &["show", "windows"]);
    assert_eq!(output.status.code(), Some(i32::from(EXIT_UNKNOWN_DOMAIN)));
    assert_eq!(stderr(&output), "pwrctl: unknown domain `windows`\n");
    let (output, _) = against_fake(Behaviour::Normal, &["off", "7"]);
    assert_eq!(output.status.code(), Some(i32::from(EXIT_UNKNOWN_DOMAIN)));
    assert_eq!(stderr(&output), "pwrctl: unknown domain `7`\n");
}

#[test]
fn version_mismatch_is_refused() {
    let (output, requests) = against_fake(Behaviour::WrongVersion, &["list"]);
    assert_eq!(output.status.code(), Some(i32::from(EXIT_VERSION_MISMATCH)));
    let expected = format!(
        "pwrctl: protocol version mismatch: pwrctl speaks version {MANAGEMENT_VERSION}, the hypervisor version {}\n",
        MANAGEMENT_VERSION + 1
    );
    assert_eq!(stderr(&output), expected);
    assert_eq!(requests, [Request::Hello { version: MANAGEMENT_VERSION }]);
}

#[test]
fn silence_times_out() {
    let fake = FakeHypervisor::start(Behaviour::Silent);
    let connect = fake.connect_argument();
    let output = pwrctl(&["--connect", &connect, "--timeout", "0.3", "list"]);
    assert_eq!(output.status.code(), Some(i32::from(EXIT_TIMEOUT)));
    assert_eq!(stderr(&output), "pwrctl: timeout: no answer to hello within 0.3 s\n");
}

#[test]
fn missing_socket_cannot_connect() {
    let output = pwrctl(&["--connect", "unix:/nonexistent/pwrctl-test.sock", "list"]);
    assert_eq!(output.status.code(), Some(i32::from(EXIT_CANNOT_CONNECT)));
    let message = stderr(&output);
    assert!(message.starts_with("pwrctl: cannot connect to unix:/nonexistent/pwrctl-test.sock: "), "{message}");
    assert_eq!(message.lines().count(), 1);
}

#[test]
fn bad_connect_is_a_usage_error() {
    let output = pwrctl(&["--connect", "serial:ttyUSB0", "list"]);
    assert_eq!(output.status.code(), Some(i32::from(EXIT_USAGE)));
    let message = stderr(&output);
    assert!(
        message.contains("`serial:ttyUSB0` is not a connection; expected unix:PATH, tcp:HOST:PORT or a serial device"),
        "{message}"
    );
}

#[test]
fn watch_with_an_event_limit_stops_after_that_many_transitions() {
    let (output, requests) = against_fake(Behaviour::Normal, &["watch", "--events", "1"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(requests[1..3], [Request::List, Request::Watch(true)]);
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[4].ends_with("  hv 20.000000s  1 linux  suspended -> running"), "{}", lines[4]);
}

#[test]
fn watch_prints_transitions_until_the_line_closes() {
    let (output, requests) = against_fake(Behaviour::Normal, &["watch"]);
    assert_eq!(output.status.code(), Some(i32::from(EXIT_CANNOT_CONNECT)), "{}", stderr(&output));
    assert_eq!(requests[1..], [Request::List, Request::Watch(true)]);
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    // Each line starts with the host's time of day, `HH:MM:SS.mmmZ`.
    for line in &lines {
        assert_eq!(line.as_bytes()[12], b'Z', "{line}");
    }
    assert!(lines[0].ends_with("watching 3 domain(s) on fake-board; Ctrl-C ends"));
    assert!(lines[1].ends_with("  hv 12.345678s  1 linux  suspended"));
    assert!(lines[2].ends_with("  hv 0.000000s  2 heartbeat  running"));
    assert!(lines[3].ends_with("  hv 3.000000s  3 rtos  paused"));
    assert!(lines[4].ends_with("  hv 20.000000s  1 linux  suspended -> running"), "{}", lines[4]);
    assert!(lines[5].ends_with("  hv 21.500000s  1 linux  running -> suspended"), "{}", lines[5]);
    assert!(stderr(&output).starts_with("pwrctl: connection to the hypervisor lost: "));
}
