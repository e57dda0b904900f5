//! `pwrctl console` against the fake hypervisor, with standard input and output as pipes:
//! keystrokes reach the line as text, Ctrl-] s prints the power-state summary between the
//! console text, Ctrl-] q quits; and the escape-key decoder on its own.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{Behaviour, FakeHypervisor, sample_domains};
use pwrctl::console::{ESCAPE, KeyAction, KeyDecoder};
use pwrctl::render::summary_line;
use somnus_abi::management::{MANAGEMENT_VERSION, Request};

/// Waits until `output` contains `wanted`, for at most ten seconds.
fn wait_for(output: &Mutex<Vec<u8>>, wanted: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
        if text.contains(wanted) {
            return text;
        }
        assert!(Instant::now() < deadline, "no {wanted:?} in {text:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn console_sends_keys_and_shows_status() {
    let fake = FakeHypervisor::start(Behaviour::Normal);
    let mut child = Command::new(env!("CARGO_BIN_EXE_pwrctl"))
        .args(["--connect", &fake.connect_argument(), "console"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut child_stdout = child.stdout.take().unwrap();
    let collected = Arc::clone(&output);
    let reader = thread::spawn(move || {
        let mut chunk = [0u8; 512];
        while let Ok(length) = child_stdout.read(&mut chunk) {
            if length == 0 {
                break;
            }
            collected.lock().unwrap().extend_from_slice(&chunk[..length]);
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    wait_for(&output, "pwrctl: console on fake-board");
    // A 0x00 keystroke is never sent: it would open a frame on the hypervisor's side.
    stdin.write_all(b"ls\0 -l\r").unwrap();
    stdin.write_all(&[ESCAPE, b's']).unwrap();
    stdin.flush().unwrap();
    let summary = format!("\r\n[pwrctl] {}\r\n", summary_line(&sample_domains()));
    let text = wait_for(&output, &summary);
    assert!(text.contains("(d1) console text before\r\n(d2) between frames\r\n"), "{text:?}");
    stdin.write_all(&[ESCAPE, ESCAPE, b'x', ESCAPE, b'q']).unwrap();
    stdin.flush().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    reader.join().unwrap();
    let transcript = fake.finish();
    assert_eq!(transcript.text, b"ls -l\r\x1dx");
    assert_eq!(transcript.requests, [Request::Hello { version: MANAGEMENT_VERSION }, Request::List]);
}

#[test]
fn escape_key_commands() {
    let mut decoder = KeyDecoder::default();
    let keys = [b'a', ESCAPE, b's', ESCAPE, ESCAPE, 0, ESCAPE, b'?', ESCAPE, b'z', b'b', ESCAPE, b'q'];
    let actions: Vec<KeyAction> = keys.iter().map(|&key| decoder.key(key)).collect();
    assert_eq!(
        actions,
        [
            KeyAction::Send(b'a'),
            KeyAction::Nothing,
            KeyAction::Status,
            KeyAction::Nothing,
            KeyAction::Send(ESCAPE),
            KeyAction::Nothing,
            KeyAction::Nothing,
            KeyAction::Help,
            KeyAction::Nothing,
            KeyAction::Nothing,
            KeyAction::Send(b'b'),
            KeyAction::Nothing,
            KeyAction::Quit,
        ]
    );
}
