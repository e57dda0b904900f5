//! The QEMU tests of the management channel and `pwrctl` (issue 6): QEMU runs with its serial
//! line on a Unix socket in a temporary directory, and the test drives the hypervisor with the
//! `pwrctl` binary (built with `cargo build -p pwrctl`), one connection at a time: QEMU's socket
//! takes one client, so the test reads console text with its own connection only between `pwrctl`
//! runs, and runs `pwrctl` with `--show-console` to keep the text that arrives meanwhile.
//!
//! - `pwrctl-demo-*` (the bare-metal demo, `tests/domains/demo-bare-metal.toml`): `list --json` shows `hello` and
//!   `heartbeat` running; `reset hello` makes hello print its boot lines again; `off hello` leaves it
//!   `off` while `heartbeat` runs and beats on.
//! - `pwrctl-suspend-wake-*` (`tests/domains/psci-suspend-wake-virtual-rtc.toml`): `suspend-wake`
//!   stays suspended in its case (c), waiting for a key nobody types; `show` says `suspended` with
//!   the entry point and context id of `list --json`; `wake` resumes it (`resume_count` + 1, last
//!   wake `management`); `pause`/`unpause` stop and restart `heartbeat`'s lines; `reset heartbeat`
//!   prints its first line again and restarts its count; `off suspend-wake` leaves heartbeat
//!   running; a burst of requests while heartbeat prints every 100 ms leaves every console line
//!   intact.
//! - `pwrctl-watch-*` (`tests/domains/pwrctl-watch.toml`): `sleeper` naps 1 s at a time, woken by
//!   its virtual RTC's alarm; `watch --events 4` shows it go `running -> suspended` and back twice,
//!   each nap about 1 s of hypervisor time; `list --json` then counts the resumes and names INTID 34
//!   as the last wake-up.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::board::Board;
use crate::machine::{CpuModel, GicVersion};
use crate::paths;
use crate::qemu::{Serial, qemu_command_entering};
use crate::qemu_tests::definitions::{QemuTest, boot};
use crate::qemu_tests::runner::Progress;

/// Hard limit of one session (each `pwrctl` run has its own `--timeout`).
const SESSION_TIMEOUT: Duration = Duration::from_mins(1);
/// Hard limit of one `pwrctl` run (its requests time out after 5 s each).
const PWRCTL_LIMIT: Duration = Duration::from_secs(20);

/// What a session needs: the QEMU command pieces, its log and its temporary directory.
pub type Drive = fn(&mut Session) -> Result<(), String>;

/// The pwrctl tests.
pub fn all() -> Vec<QemuTest> {
    let never = |_, _: &[String]| Progress::Failed("driven by pwrctl, not by the line check".into());
    let mut demo = QemuTest {
        domains: Some("tests/domains/demo-bare-metal.toml".into()),
        timeout: SESSION_TIMEOUT,
        check: Box::new(never),
        ..boot("pwrctl-demo-qemu-virt-gicv2-smp4", Board::QemuVirt, GicVersion::V2, 4, CpuModel::CortexA53)
    };
    demo.drive = Some(drive_demo);
    let mut suspend = QemuTest {
        domains: Some("tests/domains/psci-suspend-wake-virtual-rtc.toml".into()),
        timeout: SESSION_TIMEOUT,
        check: Box::new(never),
        ..boot("pwrctl-suspend-wake-qemu-virt-gicv2-smp2", Board::QemuVirt, GicVersion::V2, 2, CpuModel::CortexA53)
    };
    suspend.drive = Some(drive_suspend_wake);
    let mut watch = QemuTest {
        domains: Some("tests/domains/pwrctl-watch.toml".into()),
        timeout: SESSION_TIMEOUT,
        check: Box::new(never),
        ..boot("pwrctl-watch-qemu-virt-gicv3-smp2", Board::QemuVirt, GicVersion::V3, 2, CpuModel::CortexA53)
    };
    watch.drive = Some(drive_watch);
    vec![demo, suspend, watch]
}

/// Boots `kernel` for `test` with the serial line on a Unix socket and runs its drive function;
/// QEMU is always killed and the temporary directory removed. The transcript goes to `log`.
pub fn run(test: &QemuTest, drive: Drive, kernel: &Path, log: &Path) -> Result<(), String> {
    let mut log_file = File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
    let pwrctl = build_pwrctl(&mut log_file)?;
    let dir = std::env::temp_dir().join(format!("somnus-{}-{}", std::process::id(), test.name));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let socket = dir.join("s.sock");
    let extra = test.boot.extra_args();
    let mut command =
        qemu_command_entering(test.machine, test.boot.level, kernel, &Serial::UnixSocket(socket.clone()), &extra);
    let _ = writeln!(log_file, "$ {}", crate::process::describe(&command));
    let stderr = log_file.try_clone().map_err(|e| e.to_string())?;
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start QEMU: {e}"))?;
    let mut session = Session {
        qemu: child,
        socket,
        pwrctl,
        log: log_file,
        deadline: Instant::now() + test.timeout,
        console: Vec::new(),
    };
    let result =
        session.wait_for_socket().and_then(|()| drive(&mut session)).and_then(|()| session.check_console_intact());
    let _ = session.qemu.kill();
    let _ = session.qemu.wait();
    let verdict = match &result {
        Ok(()) => "PASS".to_owned(),
        Err(reason) => format!("FAIL: {reason}"),
    };
    let _ = writeln!(session.log, "--- QEMU killed; {verdict}");
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// `cargo build -p pwrctl`; returns the binary.
fn build_pwrctl(log: &mut File) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "-q", "-p", "pwrctl"])
        .current_dir(paths::repo_root())
        .output()
        .map_err(|e| format!("cannot run cargo build -p pwrctl: {e}"))?;
    let _ = log.write_all(&output.stderr);
    if !output.status.success() {
        return Err(format!("cargo build -p pwrctl failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    Ok(paths::target_dir().join("debug").join("pwrctl"))
}

/// What one `pwrctl` run printed.
#[derive(Debug)]
pub struct PwrctlOutput {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error: error lines and, with `--show-console`, console text.
    pub stderr: String,
}

/// A QEMU session driven over its serial socket.
pub struct Session {
    qemu: Child,
    socket: PathBuf,
    pwrctl: PathBuf,
    log: File,
    deadline: Instant,
    /// Every complete console line read (by the test or copied by `pwrctl --show-console`).
    console: Vec<String>,
}

impl Session {
    fn check_time(&self) -> Result<(), String> {
        if Instant::now() > self.deadline { Err("session timed out".into()) } else { Ok(()) }
    }

    fn wait_for_socket(&mut self) -> Result<(), String> {
        while !self.socket.exists() {
            if let Ok(Some(status)) = self.qemu.try_wait() {
                return Err(format!("QEMU exited early ({status})"));
            }
            self.check_time()?;
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Runs `pwrctl --connect unix:SOCKET --show-console ARGS`.
    pub fn pwrctl(&mut self, args: &[&str]) -> Result<PwrctlOutput, String> {
        self.pwrctl_within(args, PWRCTL_LIMIT)
    }

    /// Runs pwrctl as [`Self::pwrctl`] does, killed if it runs longer than `limit` (for `watch`,
    /// which ends only after its events).
    pub fn pwrctl_within(&mut self, args: &[&str], limit: Duration) -> Result<PwrctlOutput, String> {
        self.check_time()?;
        let connect = format!("unix:{}", self.socket.display());
        let mut child = Command::new(&self.pwrctl)
            .args(["--connect", &connect, "--timeout", "5", "--show-console"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.pwrctl.display()))?;
        let until = Instant::now() + limit;
        while child.try_wait().map_err(|e| e.to_string())?.is_none() {
            if Instant::now() > until {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = child.wait_with_output().map_err(|e| format!("waiting for pwrctl: {e}"))?;
        let result = PwrctlOutput {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        let _ = writeln!(
            self.log,
            "[pwrctl {}] exit {}\n[stdout] {}\n[stderr] {}",
            args.join(" "),
            result.code,
            result.stdout.trim_end(),
            result.stderr.trim_end()
        );
        let lines = complete_lines(result.stderr.as_bytes());
        self.console.extend(lines.into_iter().filter(|line| line.starts_with("(d")));
        Ok(result)
    }

    /// Runs pwrctl and requires exit code 0; returns its standard output.
    pub fn pwrctl_ok(&mut self, args: &[&str]) -> Result<String, String> {
        let output = self.pwrctl(args)?;
        if output.code != 0 {
            return Err(format!("`pwrctl {}` exited {}: {}", args.join(" "), output.code, output.stderr.trim()));
        }
        Ok(output.stdout)
    }

    /// `pwrctl list --json`, required to succeed.
    pub fn list(&mut self) -> Result<String, String> {
        self.pwrctl_ok(&["list", "--json"])
    }

    /// Reads console text for `time` on the test's own connection; returns the complete lines
    /// (the first and last, possibly cut by the connection's start and end, are left out).
    pub fn read_console(&mut self, time: Duration) -> Result<Vec<String>, String> {
        self.type_and_read(&[], time)
    }

    /// Types `bytes` on the console (they go to the domain with the input focus), then reads
    /// console text for `time` on the same connection, as [`Self::read_console`] does.
    pub fn type_and_read(&mut self, bytes: &[u8], time: Duration) -> Result<Vec<String>, String> {
        self.check_time()?;
        let mut stream = UnixStream::connect(&self.socket).map_err(|e| format!("connecting to the console: {e}"))?;
        stream.set_read_timeout(Some(Duration::from_millis(50))).map_err(|e| e.to_string())?;
        if !bytes.is_empty() {
            stream.write_all(bytes).map_err(|e| format!("typing on the console: {e}"))?;
            let _ = writeln!(self.log, "[typed] \"{}\"", bytes.escape_ascii());
        }
        let until = Instant::now() + time;
        let mut bytes = Vec::new();
        let mut buffer = [0u8; 4096];
        while Instant::now() < until {
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => bytes.extend_from_slice(&buffer[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(format!("reading the console: {e}")),
            }
        }
        drop(stream);
        if bytes.contains(&0) {
            return Err(format!(
                "a frame (0x00) reached the console while no request was open: {:?}",
                bytes.escape_ascii().to_string()
            ));
        }
        let lines = complete_lines(&bytes);
        let _ = writeln!(self.log, "[console {} ms]", time.as_millis());
        for line in &lines {
            let _ = writeln!(self.log, "{line}");
        }
        self.console.extend(lines.iter().cloned());
        Ok(lines)
    }

    /// Polls `list --json` until `ready` accepts domain `name`'s entry.
    pub fn wait_for_domain(&mut self, name: &str, what: &str, ready: impl Fn(&str) -> bool) -> Result<String, String> {
        loop {
            let json = self.list()?;
            if let Some(domain) = domain_json(&json, name)
                && ready(domain)
            {
                return Ok(domain.to_owned());
            }
            if Instant::now() > self.deadline {
                return Err(format!("{name} never {what}; last list: {json}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every console line seen must be whole: one domain's line, `(dN) text` with no second `(d`
    /// prefix inside it, or one hypervisor line, `somnus: text`; no control characters and no
    /// replacement characters.
    fn check_console_intact(&self) -> Result<(), String> {
        for line in &self.console {
            if let Some(text) = line.strip_prefix("somnus: ") {
                if text.contains("(d") || text.contains('\u{fffd}') || text.chars().any(char::is_control) {
                    return Err(format!("console line garbled: {line:?}"));
                }
                continue;
            }
            let body = line.strip_prefix("(d").and_then(|rest| rest.split_once(") ")).map(|(_, text)| text);
            let whole = body.is_some_and(|text| {
                !text.contains("(d") && !text.contains('\u{fffd}') && !text.chars().any(char::is_control)
            });
            let heartbeat_ok = body.is_none_or(|text| {
                text.strip_prefix("heartbeat ").is_none_or(|n| n.starts_with("every") || n.parse::<u64>().is_ok())
            });
            if !whole || !heartbeat_ok {
                return Err(format!("console line garbled: {line:?}"));
            }
        }
        Ok(())
    }
}

/// The complete lines of `bytes`, `\r` dropped: the text between the first and the last `\n`
/// (a line cut by a connection's start or end is left out; so is everything before the first).
fn complete_lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes).replace('\r', "");
    let Some(first) = text.find('\n') else { return Vec::new() };
    let Some(last) = text.rfind('\n') else { return Vec::new() };
    if first == last {
        return Vec::new();
    }
    text[first + 1..last].lines().map(str::to_owned).collect()
}

/// The object of domain `name` in `list --json` output (up to the next domain's), without its
/// leading `{"id":`.
pub fn domain_json<'a>(json: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"name\":\"{name}\"");
    let at = json.find(&key)?;
    let start = json[..at].rfind("{\"id\":")? + "{\"id\":".len();
    let end = json[at + key.len()..]
        .find(",\"name\":\"")
        .and_then(|next| json[..at + key.len() + next].rfind("{\"id\":"))
        .unwrap_or(json.len());
    Some(&json[start..end])
}

/// The first value of `"key":` in `object`, quotes removed.
pub fn field<'a>(object: &'a str, key: &str) -> Option<&'a str> {
    let (_, rest) = object.split_once(&format!("\"{key}\":"))?;
    let end = rest.find([',', '}', ']']).unwrap_or(rest.len());
    Some(rest[..end].trim_matches('"'))
}

fn expect_field(object: &str, key: &str, want: &str) -> Result<(), String> {
    match field(object, key) {
        Some(value) if value == want => Ok(()),
        other => Err(format!("expected {key} {want}, got {other:?} in {object}")),
    }
}

fn count(object: &str, key: &str) -> Result<u64, String> {
    field(object, key).and_then(|v| v.parse().ok()).ok_or_else(|| format!("no {key} in {object}"))
}

fn heartbeats(lines: &[String], domain: u8) -> Vec<u64> {
    let prefix = format!("(d{domain}) heartbeat ");
    lines.iter().filter_map(|line| line.strip_prefix(&prefix)?.parse().ok()).collect()
}

/// The demo: list, reset, off.
fn drive_demo(session: &mut Session) -> Result<(), String> {
    // (1) Both domains listed, running.
    let hello = session.wait_for_domain("hello", "ran", |d| field(d, "state") == Some("running"))?;
    let json = session.list()?;
    let heartbeat = domain_json(&json, "heartbeat").ok_or_else(|| format!("heartbeat not listed: {json}"))?;
    expect_field(heartbeat, "state", "running")?;
    if !hello.starts_with("1,") || !heartbeat.starts_with("2,") {
        return Err(format!("hello and heartbeat are not domains 1 and 2: {json}"));
    }
    if json.matches("\"name\":").count() != 2 {
        return Err(format!("expected 2 domains: {json}"));
    }
    // (4) reset: hello's first line again.
    let out = session.pwrctl(&["reset", "hello"])?;
    if out.code != 0 {
        return Err(format!("reset hello exited {}: {}", out.code, out.stderr.trim()));
    }
    let after = session.read_console(Duration::from_millis(1500))?;
    // The new generation prints its lines again; its first ones may come while no connection is
    // open (between pwrctl's exit and the test's reading), and are then lost, so any of them
    // counts, up to its last.
    let reborn = ["(d1) hello from hello at EL1", "(d1) hello: device tree at ", "(d1) TEST PASS hello"];
    let printed = |line: &str| reborn.iter().any(|start| line.starts_with(start));
    if !out.stderr.lines().any(printed) && !after.iter().any(|line| printed(line)) {
        return Err(format!("hello printed nothing after reset hello; console: {after:?}; pwrctl: {}", out.stderr));
    }
    let json = session.list()?;
    expect_field(domain_json(&json, "hello").unwrap_or_default(), "state", "running")?;
    // (4) off: hello off, heartbeat still running and beating.
    session.pwrctl_ok(&["off", "hello"])?;
    let json = session.list()?;
    expect_field(domain_json(&json, "hello").unwrap_or_default(), "state", "off")?;
    expect_field(domain_json(&json, "heartbeat").unwrap_or_default(), "state", "running")?;
    let lines = session.read_console(Duration::from_millis(2500))?;
    if heartbeats(&lines, 2).is_empty() {
        return Err(format!("heartbeat silent after off hello: {lines:?}"));
    }
    if lines.iter().any(|line| line.starts_with("(d1)")) {
        return Err(format!("hello printed after off: {lines:?}"));
    }
    // A second off makes no sense: exit code 7.
    let again = session.pwrctl(&["off", "hello"])?;
    if again.code != 7 {
        return Err(format!("second off hello exited {} (7 expected): {}", again.code, again.stderr.trim()));
    }
    Ok(())
}

/// sleeper naps 1 s at a time: `watch --events 4` shows two naps begin and end, each ending
/// about a second (of the hypervisor's clock) after it began; then `list --json` has counted
/// them, with the RTC's interrupt as the last wake-up.
fn drive_watch(session: &mut Session) -> Result<(), String> {
    session.wait_for_domain("sleeper", "napped once", |d| {
        field(d, "suspend_count").and_then(|count| count.parse::<u64>().ok()).is_some_and(|count| count >= 1)
    })?;
    let output = session.pwrctl_within(&["watch", "--events", "4"], Duration::from_secs(15))?;
    if output.code != 0 {
        return Err(format!("watch exited {}: {}\n{}", output.code, output.stderr.trim(), output.stdout));
    }
    let transitions = watch_transitions(&output.stdout, "sleeper");
    let states: Vec<(&str, &str)> = transitions.iter().map(|t| (t.from.as_str(), t.to.as_str())).collect();
    let expected_pairs = [("running", "suspended"), ("suspended", "running")];
    if states.len() != 4
        || !states.chunks(2).all(|pair| pair == expected_pairs || pair == [expected_pairs[1], expected_pairs[0]])
    {
        return Err(format!("watch did not show sleeper suspend and resume twice:\n{}", output.stdout));
    }
    for pair in transitions.windows(2) {
        let nap = pair[1].seconds - pair[0].seconds;
        if pair[0].to == "suspended" && !(0.5..=2.5).contains(&nap) {
            return Err(format!("a 1 s nap lasted {nap:.3} s of hypervisor time:\n{}", output.stdout));
        }
        if nap < 0.0 {
            return Err(format!("hypervisor timestamps go backwards:\n{}", output.stdout));
        }
    }
    let json = session.list()?;
    let sleeper = domain_json(&json, "sleeper").ok_or_else(|| format!("sleeper not listed: {json}"))?;
    if count(sleeper, "resume_count")? < 2 {
        return Err(format!("fewer than 2 resumes counted: {sleeper}"));
    }
    let last_wake = field(sleeper, "last_wake_interrupt").unwrap_or_default();
    if !last_wake.starts_with("34") {
        return Err(format!("last wake-up {last_wake}, expected the RTC's INTID 34: {sleeper}"));
    }
    expect_field(domain_json(&json, "heartbeat").unwrap_or_default(), "state", "running")
}

/// One transition line of `pwrctl watch`.
#[derive(Debug, PartialEq)]
pub struct WatchTransition {
    /// The hypervisor's clock, in seconds.
    pub seconds: f64,
    /// State before.
    pub from: String,
    /// State after.
    pub to: String,
}

/// The transitions of domain `name` in `watch` output (`<time>  hv <s>s  <n> <name>  <from> -> <to>`).
pub fn watch_transitions(output: &str, name: &str) -> Vec<WatchTransition> {
    output
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once("  hv ")?;
            let (seconds, rest) = rest.split_once("s  ")?;
            let (domain, change) = rest.split_once("  ")?;
            let (_, domain_name) = domain.split_once(' ')?;
            let (from, to) = change.split_once(" -> ")?;
            if domain_name != name {
                return None;
            }
            Some(WatchTransition {
                seconds: seconds.parse().ok()?,
                from: from.trim().to_owned(),
                to: to.trim().to_owned(),
            })
        })
        .collect()
}

/// suspend-wake: show and wake, then pause/unpause, reset, off and a burst of requests.
fn drive_suspend_wake(session: &mut Session) -> Result<(), String> {
    // (2) Case (c), its fourth suspend after (a), (e) and (b), has only a key as wake-up: it
    // stays suspended.
    let suspended = session.wait_for_domain("suspend-wake", "suspended in case (c)", |d| {
        field(d, "state") == Some("suspended") && field(d, "suspend_count") == Some("4")
    })?;
    let entry = field(&suspended, "suspend_entry").unwrap_or_default().to_owned();
    let context = field(&suspended, "context_id").unwrap_or_default().to_owned();
    if !entry.starts_with("0x") || !context.starts_with("0x") {
        return Err(format!("no entry point or context id: {suspended}"));
    }
    let resumes_before = count(&suspended, "resume_count")?;
    let show = session.pwrctl_ok(&["show", "suspend-wake"])?;
    for (label, value) in [("state", "suspended"), ("suspend entry", entry.as_str()), ("context id", context.as_str())]
    {
        if !show.lines().any(|line| line.trim_start().starts_with(label) && line.trim_end().ends_with(value)) {
            return Err(format!("`show suspend-wake` lacks `{label} {value}`:\n{show}"));
        }
    }
    // A request that makes no sense: waking the running heartbeat, exit code 7.
    let bad = session.pwrctl(&["wake", "heartbeat"])?;
    if bad.code != 7 {
        return Err(format!("wake heartbeat exited {} (7 expected): {}", bad.code, bad.stderr.trim()));
    }
    session.pwrctl_ok(&["wake", "suspend-wake"])?;
    let woken = session.wait_for_domain("suspend-wake", "resumed", |d| {
        field(d, "resume_count").and_then(|v| v.parse::<u64>().ok()) == Some(resumes_before + 1)
    })?;
    expect_field(&woken, "last_wake_interrupt", "management")?;

    // (3) pause / unpause heartbeat (d2, every 100 ms).
    let before = session.read_console(Duration::from_millis(600))?;
    if heartbeats(&before, 2).is_empty() {
        return Err(format!("heartbeat silent before pause: {before:?}"));
    }
    session.pwrctl_ok(&["pause", "heartbeat"])?;
    let json = session.list()?;
    expect_field(domain_json(&json, "heartbeat").unwrap_or_default(), "state", "paused")?;
    let paused = session.read_console(Duration::from_secs(1))?;
    if !heartbeats(&paused, 2).is_empty() {
        return Err(format!("heartbeat beat while paused: {paused:?}"));
    }
    session.pwrctl_ok(&["unpause", "heartbeat"])?;
    let json = session.list()?;
    expect_field(domain_json(&json, "heartbeat").unwrap_or_default(), "state", "running")?;
    let resumed = heartbeats(&session.read_console(Duration::from_millis(800))?, 2);
    let last_before = heartbeats(&before, 2).last().copied().unwrap_or(0);
    if resumed.is_empty() || resumed[0] <= last_before {
        return Err(format!("heartbeat did not go on after unpause (last {last_before} before): {resumed:?}"));
    }

    // (4) reset heartbeat: its first line again and the count restarts.
    let out = session.pwrctl(&["reset", "heartbeat"])?;
    if out.code != 0 {
        return Err(format!("reset heartbeat exited {}: {}", out.code, out.stderr.trim()));
    }
    let after = session.read_console(Duration::from_millis(800))?;
    let first = "(d2) heartbeat: every 100 ms";
    let restarted = heartbeats(&after, 2);
    let first_again = out.stderr.contains(first) || after.iter().any(|line| line.starts_with(first));
    if !first_again && restarted.first().is_none_or(|&n| n > 10) {
        return Err(format!("heartbeat did not restart after reset: {after:?}; pwrctl: {}", out.stderr));
    }
    if restarted.first().is_none_or(|&n| n >= resumed.last().copied().unwrap_or(u64::MAX)) {
        return Err(format!("heartbeat count did not restart after reset: {restarted:?} (before {resumed:?})"));
    }

    // (4) off suspend-wake; heartbeat runs on.
    session.pwrctl_ok(&["off", "suspend-wake"])?;
    let json = session.list()?;
    expect_field(domain_json(&json, "suspend-wake").unwrap_or_default(), "state", "off")?;
    expect_field(domain_json(&json, "heartbeat").unwrap_or_default(), "state", "running")?;

    // (5) A burst of requests while heartbeat prints: every line copied by --show-console and
    // every line read between requests must be whole (checked at the end of the session).
    for _ in 0..30 {
        session.list()?;
        session.pwrctl_ok(&["show", "heartbeat"])?;
    }
    let lines = session.read_console(Duration::from_millis(500))?;
    if heartbeats(&lines, 2).is_empty() {
        return Err(format!("heartbeat silent after the burst: {lines:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"domains":[{"id":1,"name":"a","state":"suspended","vcpus":[{"id":0,"state":"on","pcpu":0}],"suspend_entry":"0x4008000c","resume_count":2,"last_wake_interrupt":"management"},{"id":2,"name":"b","state":"running","suspend_entry":null,"vcpus":[{"id":0}]}]}"#;

    #[test]
    fn watch_lines_parse() {
        let output = "14:03:22.117Z  watching 2 domain(s) on qemu-virt; Ctrl-C ends\n\
                      14:03:22.117Z  hv 1.000000s  1 sleeper  running\n\
                      14:03:23.001Z  hv 2.500000s  1 sleeper  running -> suspended\n\
                      14:03:24.001Z  hv 3.500000s  2 other  running -> off\n";
        let transitions = watch_transitions(output, "sleeper");
        assert_eq!(transitions, [WatchTransition { seconds: 2.5, from: "running".into(), to: "suspended".into() }]);
    }

    #[test]
    fn json_fields() {
        let a = domain_json(JSON, "a").unwrap();
        assert_eq!(field(a, "state"), Some("suspended"));
        assert_eq!(field(a, "suspend_entry"), Some("0x4008000c"));
        assert_eq!(field(a, "resume_count"), Some("2"));
        assert_eq!(field(a, "last_wake_interrupt"), Some("management"));
        let b = domain_json(JSON, "b").unwrap();
        assert_eq!(field(b, "state"), Some("running"));
        assert_eq!(field(b, "suspend_entry"), Some("null"));
        assert!(domain_json(JSON, "c").is_none());
        assert!(!a.contains("\"b\"") && a.starts_with("1,") && b.starts_with("2,"));
    }

    #[test]
    fn only_complete_lines() {
        assert_eq!(
            complete_lines(b"eat 1\r\n(d2) heartbeat 2\r\n(d2) heartbeat 3\r\n(d2) he"),
            ["(d2) heartbeat 2", "(d2) heartbeat 3"]
        );
        assert!(complete_lines(b"x\n").is_empty());
    }

    #[test]
    fn tests_are_driven() {
        assert!(all().iter().all(|test| test.drive.is_some() && test.name.starts_with("pwrctl-")));
    }
}
