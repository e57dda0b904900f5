//! `pwrctl console`: the serial line's text on standard output as it comes, keystrokes sent to
//! the line (standard input in raw mode when it is a terminal), and an escape key for power
//! states without leaving: Ctrl-] s prints a one-line summary from a `List` request, Ctrl-] q
//! quits, Ctrl-] Ctrl-] sends Ctrl-] itself, Ctrl-] ? lists the keys. A 0x00 keystroke
//! (Ctrl-@) is not sent, since it would open a management frame on the hypervisor's side.

use std::io::{self, Read, Write};
use std::sync::mpsc::{self, Sender};
use std::thread;
use std::time::Duration;

use somnus_abi::management::{Request, Response};

use crate::client::{Client, send_request};
use crate::error::PwrctlError;
use crate::link::Link;
use crate::render::summary_line;
use crate::terminal::TerminalMode;

/// The escape key, Ctrl-].
pub const ESCAPE: u8 = 0x1d;
/// How often the console checks for keyboard messages while the line is quiet.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Sequence numbers of the console's own `List` requests (far from the session's).
const STATUS_SEQUENCE_BASE: u32 = 0x8000_0000;
/// The keys, as Ctrl-] ? prints them.
const HELP: &str = "Ctrl-] s power states, Ctrl-] q quit, Ctrl-] Ctrl-] send Ctrl-]";

/// What one keystroke means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAction {
    /// Send this byte to the serial line.
    Send(u8),
    /// Print the power-state summary.
    Status,
    /// Leave the console.
    Quit,
    /// Print the keys.
    Help,
    /// Nothing (the escape key itself, an unknown command, a 0x00).
    Nothing,
}

/// Turns keystrokes into actions: Ctrl-] followed by a command key.
#[derive(Debug, Default)]
pub struct KeyDecoder {
    escaped: bool,
}

impl KeyDecoder {
    /// The action of the next keystroke.
    pub fn key(&mut self, byte: u8) -> KeyAction {
        if std::mem::take(&mut self.escaped) {
            return match byte {
                b's' | b'S' => KeyAction::Status,
                b'q' | b'Q' | b'.' => KeyAction::Quit,
                b'?' | b'h' | b'H' => KeyAction::Help,
                ESCAPE => KeyAction::Send(ESCAPE),
                _ => KeyAction::Nothing,
            };
        }
        match byte {
            ESCAPE => {
                self.escaped = true;
                KeyAction::Nothing
            }
            0 => KeyAction::Nothing,
            byte => KeyAction::Send(byte),
        }
    }
}

/// What the keyboard thread tells the console loop.
enum KeyboardMessage {
    Quit,
    Help,
    Failed(io::Error),
}

/// Runs the console on an open session until Ctrl-] q or the connection closes.
pub fn console(mut client: Client) -> Result<(), PwrctlError> {
    let writer = client.try_clone_writer().map_err(PwrctlError::ConnectionLost)?;
    let raw_mode = TerminalMode::raw_if_terminal().map_err(PwrctlError::Local)?;
    let mut stdout = io::stdout();
    let board = client.hello().board.clone();
    notice(&mut stdout, &format!("pwrctl: console on {board}; {HELP}"))?;
    client.set_text_sink(Box::new(io::stdout()));
    let (messages, inbox) = mpsc::channel();
    thread::spawn(move || forward_keys(writer, &messages));
    let result = loop {
        let mut stop = None;
        for message in inbox.try_iter() {
            match message {
                KeyboardMessage::Quit => stop = Some(Ok(())),
                KeyboardMessage::Help => notice(&mut stdout, &format!("pwrctl: {HELP}"))?,
                KeyboardMessage::Failed(error) => stop = Some(Err(PwrctlError::ConnectionLost(error))),
            }
        }
        if let Some(result) = stop {
            break result;
        }
        if let Err(error) = client.receive(POLL_INTERVAL) {
            break Err(error);
        }
        for frame in client.take_frames() {
            if let Response::Domains(domains) = frame.response {
                notice(&mut stdout, &format!("[pwrctl] {}", summary_line(&domains)))?;
            }
        }
    };
    drop(raw_mode);
    result
}

/// Prints a line of pwrctl's own between console text (CR LF: the terminal may be raw).
fn notice(out: &mut dyn Write, line: &str) -> Result<(), PwrctlError> {
    write!(out, "\r\n{line}\r\n").and_then(|()| out.flush()).map_err(PwrctlError::Local)
}

/// The keyboard thread: reads standard input, sends keystrokes and status requests. Ends on
/// Ctrl-] q (telling the console loop) or at the end of standard input (the console goes on
/// showing the line).
fn forward_keys(mut writer: Box<dyn Link>, messages: &Sender<KeyboardMessage>) {
    let mut decoder = KeyDecoder::default();
    let mut sequence = STATUS_SEQUENCE_BASE;
    let mut stdin = io::stdin();
    let mut keys = [0u8; 256];
    loop {
        let length = match stdin.read(&mut keys) {
            Ok(0) => return,
            Ok(length) => length,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let mut outgoing = Vec::with_capacity(length);
        for &key in &keys[..length] {
            let result = match decoder.key(key) {
                KeyAction::Send(byte) => {
                    outgoing.push(byte);
                    Ok(())
                }
                KeyAction::Status => {
                    sequence = sequence.wrapping_add(1).max(STATUS_SEQUENCE_BASE);
                    flush_keys(&mut writer, &mut outgoing)
                        .and_then(|()| send_request(&mut writer, sequence, Request::List))
                }
                KeyAction::Quit => {
                    let _ = flush_keys(&mut writer, &mut outgoing);
                    let _ = messages.send(KeyboardMessage::Quit);
                    return;
                }
                KeyAction::Help => {
                    let _ = messages.send(KeyboardMessage::Help);
                    Ok(())
                }
                KeyAction::Nothing => Ok(()),
            };
            if let Err(error) = result {
                let _ = messages.send(KeyboardMessage::Failed(error));
                return;
            }
        }
        if let Err(error) = flush_keys(&mut writer, &mut outgoing) {
            let _ = messages.send(KeyboardMessage::Failed(error));
            return;
        }
    }
}

/// Sends the keystrokes collected so far.
fn flush_keys(writer: &mut Box<dyn Link>, outgoing: &mut Vec<u8>) -> io::Result<()> {
    if outgoing.is_empty() {
        return Ok(());
    }
    writer.write_all(outgoing)?;
    outgoing.clear();
    writer.flush()
}
