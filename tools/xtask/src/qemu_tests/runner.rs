//! Boot QEMU and wait for patterns: spawn it, read its serial output line by line in threads,
//! ask a check function after every line, type on its serial input when given lines appear,
//! enforce a hard timeout, always kill QEMU, and save the whole output to a log.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::describe;
use crate::qemu_tests::guest_check::Pattern;

/// What a check concludes from the lines seen so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Not there yet; the text says what is still missing.
    Waiting(String),
    /// Everything expected has appeared.
    Done,
    /// Something wrong appeared; waiting longer cannot help.
    Failed(String),
}

impl Progress {
    /// Combines two checks: a failure of either wins, then the first one still waiting.
    #[must_use]
    pub fn then(self, next: impl FnOnce() -> Self) -> Self {
        match self {
            Self::Failed(reason) => Self::Failed(reason),
            Self::Done => next(),
            Self::Waiting(reason) => match next() {
                Self::Failed(failure) => Self::Failed(failure),
                _ => Self::Waiting(reason),
            },
        }
    }
}

/// Time limits of one boot.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Hard limit from start until the check is done.
    pub timeout: Duration,
    /// How long to keep reading once the check is done, to catch lines that must not repeat.
    pub settle: Duration,
}

/// Bytes typed on QEMU's serial input (its standard input, with `-serial stdio`) once every
/// line of `after` has appeared. The inputs of a test are typed in order, each at most once:
/// the second waits until the first was typed, and so on.
#[derive(Clone, Copy, Debug)]
pub struct SerialInput {
    /// Lines that must all have appeared (anywhere in the output so far, in any order).
    pub after: &'static [Pattern],
    /// What to type.
    pub bytes: &'static [u8],
}

/// Types a test's [`SerialInput`]s into QEMU's standard input as their lines appear.
struct Typist<'a> {
    inputs: &'a [SerialInput],
    /// The next input to type.
    next: usize,
    /// Which of the next input's `after` patterns have appeared.
    seen: Vec<bool>,
    /// QEMU's standard input; `None` when the test types nothing.
    stdin: Option<ChildStdin>,
}

impl<'a> Typist<'a> {
    fn new(inputs: &'a [SerialInput], stdin: Option<ChildStdin>) -> Self {
        let seen = inputs.first().map_or_else(Vec::new, |input| vec![false; input.after.len()]);
        Self { inputs, next: 0, seen, stdin }
    }

    /// Notes the newest line of `lines` and types every input whose lines have all appeared.
    fn on_line(&mut self, lines: &[String], log: &mut File) -> Result<(), String> {
        let Some(line) = lines.last() else { return Ok(()) };
        if let Some(input) = self.inputs.get(self.next) {
            for (seen, pattern) in self.seen.iter_mut().zip(input.after) {
                *seen |= pattern.matches(line);
            }
        }
        while let Some(input) = self.inputs.get(self.next) {
            if !self.seen.iter().all(|&seen| seen) {
                break;
            }
            let stdin = self.stdin.as_mut().ok_or("QEMU's standard input is not a pipe")?;
            stdin
                .write_all(input.bytes)
                .and_then(|()| stdin.flush())
                .map_err(|error| format!("typing on QEMU's serial input: {error}"))?;
            let _ = writeln!(log, "[typed] \"{}\"", input.bytes.escape_ascii());
            self.next += 1;
            // The next input's lines may have appeared already.
            self.seen = self.inputs.get(self.next).map_or_else(Vec::new, |input| {
                input.after.iter().map(|pattern| lines.iter().any(|line| pattern.matches(line))).collect()
            });
        }
        Ok(())
    }

    /// What the next input still waits for, if anything is left to type.
    fn pending(&self) -> Option<String> {
        let input = self.inputs.get(self.next)?;
        let missing: Vec<String> = input
            .after
            .iter()
            .zip(&self.seen)
            .filter(|(_, seen)| !**seen)
            .map(|(pattern, _)| pattern.to_string())
            .collect();
        Some(format!("\"{}\" not typed, waiting for {}", input.bytes.escape_ascii(), missing.join(", ")))
    }
}

/// A line QEMU wrote.
enum Event {
    /// A line of standard output (the serial line).
    Stdout(String),
    /// A line of standard error (QEMU's own messages).
    Stderr(String),
    /// One of the two streams ended.
    Closed,
}

/// Kills QEMU when dropped, whatever happened.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        // Already-exited children make kill fail harmlessly; wait reaps them.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Boots QEMU with `command` (whose serial line must be its standard output and input) and
/// feeds every serial line to `check` until it is done (then reads on for the settle time and
/// asks again), fails, the time is up, or QEMU exits, typing each of `input` when its lines have
/// appeared. Returns the failure reason, if any. The full output, QEMU's stderr and what was
/// typed included, is written to `log_path`.
pub fn boot_and_watch(
    mut command: Command,
    log_path: &Path,
    limits: Limits,
    input: &[SerialInput],
    check: &dyn Fn(&[String]) -> Progress,
) -> Result<(), String> {
    let mut log = open_log(log_path)?;
    let _ = writeln!(log, "$ {}", describe(&command));
    // Without input to type, QEMU reads end-of-file at once.
    let stdin = if input.is_empty() { Stdio::null() } else { Stdio::piped() };
    let child = command
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start `{}`: {error}", describe(&command)))?;
    let mut guard = Guard(child);
    let mut typist = Typist::new(input, guard.0.stdin.take());
    let (sender, receiver) = mpsc::channel();
    spawn_reader(guard.0.stdout.take().expect("stdout is piped"), sender.clone(), Event::Stdout);
    spawn_reader(guard.0.stderr.take().expect("stderr is piped"), sender, Event::Stderr);

    let (result, mut open_streams) = watch(&receiver, &mut log, limits, &mut typist, check);
    let exit = if open_streams == 0 { exit_status(&mut guard.0) } else { None };
    let exit = exit.map_or_else(|| "QEMU killed".to_owned(), |status| format!("QEMU exited by itself ({status})"));
    drop(guard);
    // Lines that arrived while QEMU was being killed still belong in the log.
    let drain_until = Instant::now() + Duration::from_secs(1);
    while open_streams > 0 {
        match receiver.recv_timeout(drain_until.saturating_duration_since(Instant::now())) {
            Ok(Event::Closed) => open_streams -= 1,
            Ok(event) => log_event(&mut log, &event),
            Err(_) => break,
        }
    }
    let verdict = match &result {
        Ok(()) => "PASS".to_owned(),
        Err(reason) => format!("FAIL: {reason}"),
    };
    let _ = writeln!(log, "--- {exit}; {verdict}");
    result
}

/// The exit status of a child that closed its output, waiting a little for it to be reaped.
fn exit_status(child: &mut Child) -> Option<std::process::ExitStatus> {
    let until = Instant::now() + Duration::from_secs(2);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < until => thread::sleep(Duration::from_millis(10)),
            _ => return None,
        }
    }
}

/// The receive loop: returns when the check is settled, fails, times out or QEMU exits, with
/// the number of output streams still open.
fn watch(
    receiver: &Receiver<Event>,
    log: &mut File,
    limits: Limits,
    typist: &mut Typist<'_>,
    check: &dyn Fn(&[String]) -> Progress,
) -> (Result<(), String>, u8) {
    let start = Instant::now();
    let deadline = start + limits.timeout;
    let mut settle_until: Option<Instant> = None;
    let mut lines: Vec<String> = Vec::new();
    let mut open_streams: u8 = 2;
    loop {
        let until = settle_until.unwrap_or(deadline);
        let event = match receiver.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => {
                let result = match check(&lines) {
                    Progress::Done => Ok(()),
                    Progress::Failed(reason) => Err(reason),
                    Progress::Waiting(reason) => {
                        let typing = typist.pending().map(|pending| format!(" ({pending})")).unwrap_or_default();
                        Err(format!("timed out after {} s: {reason}{typing}", limits.timeout.as_secs()))
                    }
                };
                return (result, open_streams);
            }
            Err(RecvTimeoutError::Disconnected) => Event::Closed,
        };
        log_event(log, &event);
        match event {
            Event::Stdout(line) => {
                lines.push(line);
                if let Err(reason) = typist.on_line(&lines, log) {
                    return (Err(reason), open_streams);
                }
                match check(&lines) {
                    Progress::Failed(reason) => return (Err(reason), open_streams),
                    Progress::Done if settle_until.is_none() => {
                        settle_until = Some(Instant::now() + limits.settle);
                    }
                    _ => {}
                }
            }
            Event::Stderr(_) => {}
            Event::Closed => {
                open_streams -= 1;
                if open_streams == 0 {
                    let result = match check(&lines) {
                        Progress::Done => Ok(()),
                        Progress::Failed(reason) => Err(reason),
                        Progress::Waiting(reason) => Err(format!("QEMU exited early: {reason}")),
                    };
                    return (result, 0);
                }
            }
        }
    }
}

fn open_log(path: &Path) -> Result<File, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))
}

fn log_event(log: &mut File, event: &Event) {
    let _ = match event {
        Event::Stdout(line) => writeln!(log, "{line}"),
        Event::Stderr(line) => writeln!(log, "[qemu stderr] {line}"),
        Event::Closed => Ok(()),
    };
}

/// Reads a stream line by line (invalid UTF-8 replaced, `\r` dropped) into the channel.
/// The thread is not joined: it ends when the stream does.
fn spawn_reader(stream: impl Read + Send + 'static, sender: Sender<Event>, wrap: fn(String) -> Event) {
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buffer).replace('\r', "");
                    let line = line.strip_suffix('\n').unwrap_or(&line).to_owned();
                    if sender.send(wrap(line)).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = sender.send(Event::Closed);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    fn log_path(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("xtask-runner-{}-{name}.log", std::process::id()))
    }

    fn wants_ready(lines: &[String]) -> Progress {
        match lines.iter().filter(|line| *line == "ready").count() {
            0 => Progress::Waiting("no ready line".into()),
            1 => Progress::Done,
            n => Progress::Failed(format!("ready printed {n} times")),
        }
    }

    const QUICK: Limits = Limits { timeout: Duration::from_secs(5), settle: Duration::from_millis(200) };

    #[test]
    fn done_when_the_pattern_appears_and_the_process_is_killed() {
        let log = log_path("done");
        let started = Instant::now();
        let result = boot_and_watch(
            shell("echo boot; printf 'ready\\r\\n'; echo warn >&2; exec sleep 30"),
            &log,
            QUICK,
            &[],
            &wants_ready,
        );
        assert_eq!(result, Ok(()));
        assert!(started.elapsed() < Duration::from_secs(4), "the sleeping child was killed");
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.starts_with("$ sh -c"), "{text}");
        assert!(text.lines().any(|line| line == "ready"), "carriage return dropped: {text}");
        assert!(text.find("boot").unwrap() < text.find("ready").unwrap(), "{text}");
        assert!(text.contains("[qemu stderr] warn"), "{text}");
        assert!(text.contains("QEMU killed; PASS"), "{text}");
        std::fs::remove_file(log).unwrap();
    }

    #[test]
    fn repeats_during_the_settle_time_fail() {
        let log = log_path("repeat");
        let result =
            boot_and_watch(shell("echo ready; sleep 0.05; echo ready; exec sleep 30"), &log, QUICK, &[], &wants_ready);
        assert_eq!(result, Err("ready printed 2 times".to_owned()));
        std::fs::remove_file(log).unwrap();
    }

    #[test]
    fn timeout_reports_what_is_missing() {
        let log = log_path("timeout");
        let limits = Limits { timeout: Duration::from_millis(300), settle: Duration::ZERO };
        let result = boot_and_watch(shell("echo booting; exec sleep 30"), &log, limits, &[], &wants_ready);
        assert_eq!(result, Err("timed out after 0 s: no ready line".to_owned()));
        std::fs::remove_file(log).unwrap();
    }

    #[test]
    fn early_exit_is_reported() {
        let log = log_path("exit");
        let result = boot_and_watch(shell("echo booting; exit 1"), &log, QUICK, &[], &wants_ready);
        assert_eq!(result, Err("QEMU exited early: no ready line".to_owned()));
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("QEMU exited by itself"), "{text}");
        std::fs::remove_file(log).unwrap();
    }

    #[test]
    fn missing_program_is_reported() {
        let log = log_path("missing");
        let result = boot_and_watch(Command::new("no-such-qemu-here"), &log, QUICK, &[], &wants_ready);
        assert!(result.unwrap_err().contains("cannot start"));
        std::fs::remove_file(log).unwrap();
    }

    /// A check done once a line equal to `text` appeared.
    fn wants_line(text: &'static str) -> impl Fn(&[String]) -> Progress {
        move |lines: &[String]| {
            if lines.iter().any(|line| line == text) {
                Progress::Done
            } else {
                Progress::Waiting(format!("no `{text}` line"))
            }
        }
    }

    #[test]
    fn input_is_typed_in_order_when_its_lines_appear() {
        const INPUT: &[SerialInput] = &[
            SerialInput { after: &[Pattern::anywhere("second"), Pattern::anywhere("first")], bytes: b"xy" },
            SerialInput { after: &[Pattern::anywhere("got xy")], bytes: b"\x01zz" },
        ];
        let log = log_path("typed");
        let script = "echo first; echo second; a=$(head -c 2); echo \"got $a\"; b=$(head -c 3); echo \"got $b\"; \
                      exec sleep 30";
        let result = boot_and_watch(shell(script), &log, QUICK, INPUT, &wants_line("got \u{1}zz"));
        assert_eq!(result, Ok(()));
        let text = std::fs::read_to_string(&log).unwrap();
        let typed_first = text.find("[typed] \"xy\"").expect("first input logged");
        assert!(text.find("second").unwrap() < typed_first, "{text}");
        assert!(typed_first < text.find("got xy").unwrap(), "{text}");
        assert!(text.contains("[typed] \"\\x01zz\""), "{text}");
        std::fs::remove_file(log).unwrap();
    }

    #[test]
    fn input_waits_for_all_its_lines() {
        const INPUT: &[SerialInput] =
            &[SerialInput { after: &[Pattern::anywhere("first"), Pattern::domain(1, "never")], bytes: b"x" }];
        let log = log_path("untyped");
        let limits = Limits { timeout: Duration::from_millis(500), settle: Duration::ZERO };
        let script = "echo first; echo never; x=$(head -c 1); echo \"got $x\"; exec sleep 30";
        let result = boot_and_watch(shell(script), &log, limits, INPUT, &wants_line("got x"));
        assert_eq!(
            result,
            Err("timed out after 0 s: no `got x` line (\"x\" not typed, waiting for `(d1) ...never`)".to_owned())
        );
        std::fs::remove_file(log).unwrap();
    }

    #[test]
    fn progress_combination() {
        let waiting = || Progress::Waiting("a".into());
        let failed = || Progress::Failed("b".into());
        assert_eq!(Progress::Done.then(waiting), waiting());
        assert_eq!(waiting().then(failed), failed());
        assert_eq!(waiting().then(|| Progress::Waiting("c".into())), waiting());
        assert_eq!(failed().then(|| Progress::Done), failed());
        assert_eq!(Progress::Done.then(|| Progress::Done), Progress::Done);
    }
}
