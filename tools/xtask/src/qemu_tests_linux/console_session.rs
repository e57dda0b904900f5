//! The Linux console test (`tests/linux/console-commands.{toml,init}`), driven over the serial
//! line's Unix socket like the pwrctl tests ([`Session`]): the test types the init's commands
//! and asks the hypervisor with `pwrctl` what became of the domain.
//!
//! 1. Linux boots (2 vCPUs, `quiet`); the test types an empty line each second until the init's
//!    prompt answers with `cpus online 0-1`, and `list --json` shows `linux` running with both
//!    vCPUs on, the second started by one CPU_ON. (A line printed while no connection is open is lost: the prompt, which carries
//!    what the test waits for, is asked for again.)
//! 2. `s`: Linux suspends to RAM with no alarm armed. `list` shows it `suspended` (vCPU 0
//!    `suspended`, vCPU 1 `off`; one more CPU_OFF and SYSTEM_SUSPEND counted), `show linux` says
//!    so, and for a second Linux prints nothing while the heartbeat beats. ([`SUSPEND_ATTEMPTS`] can allow
//!    more tries, as while a stale timer interrupt could resume it at once: fixed.)
//! 3. A keystroke (`w`) resumes it: `list` shows it running, one more resume, woken by the
//!    UART's interrupt (INTID 33); Linux's prompt reports both CPUs online and the key it read,
//!    vCPU 1 having come back with one more CPU_ON.
//! 4. `r`: `reboot -f`, PSCI SYSTEM_RESET. `show` names a new generation, and Linux boots again
//!    to its prompt.
//! 5. `o`: `poweroff -f`, PSCI SYSTEM_OFF. `list` shows `linux` off and `heartbeat` running;
//!    Linux prints nothing more while the heartbeat beats on.

use std::time::{Duration, Instant};

use crate::qemu_tests::pwrctl_tests::{Session, domain_json, field};

use super::markers::{self, Line, UART_INTID, VIRTUAL_TIMER_INTID};

/// The init's prompt, printed whenever it waits for a command.
pub const PROMPT: &str = "waiting for a command";

/// How often the test suspends Linux until it stays suspended.
pub const SUSPEND_ATTEMPTS: u32 = 1;

/// Heartbeat lines (every 100 ms) in a second while Linux sleeps or is off.
const BEATS_PER_SECOND: usize = 5;

/// How long Linux may take to boot to its prompt.
const BOOT_TIME: Duration = Duration::from_mins(1);

/// How long Linux may take to act on a command.
const COMMAND_TIME: Duration = Duration::from_secs(20);

/// The session and every console line it has seen, in order.
struct Console<'a> {
    session: &'a mut Session,
    lines: Vec<String>,
}

impl Console<'_> {
    /// Types `bytes` and reads for `time`.
    fn type_text(&mut self, bytes: &[u8], time: Duration) -> Result<(), String> {
        let lines = self.session.type_and_read(bytes, time)?;
        self.lines.extend(lines);
        Ok(())
    }

    /// `pwrctl ARGS`, required to succeed; console text that arrived meanwhile is kept.
    fn pwrctl(&mut self, args: &[&str]) -> Result<String, String> {
        let output = self.session.pwrctl(args)?;
        self.lines.extend(output.stderr.lines().filter(|line| line.starts_with("(d")).map(str::to_owned));
        if output.code != 0 {
            return Err(format!("`pwrctl {}` exited {}: {}", args.join(" "), output.code, output.stderr.trim()));
        }
        Ok(output.stdout)
    }

    /// `linux`'s object in `list --json`.
    fn linux(&mut self) -> Result<String, String> {
        let json = self.pwrctl(&["list", "--json"])?;
        domain_json(&json, "linux").map(str::to_owned).ok_or_else(|| format!("linux not listed: {json}"))
    }

    /// Polls `list --json` until `linux`'s object satisfies `ready`; returns it.
    fn wait_for(&mut self, what: &str, within: Duration, ready: impl Fn(&str) -> bool) -> Result<String, String> {
        let until = Instant::now() + within;
        loop {
            let linux = self.linux()?;
            if ready(&linux) {
                return Ok(linux);
            }
            if Instant::now() > until {
                return Err(format!("linux not {what} after {} s: {linux}", within.as_secs()));
            }
            self.type_text(&[], Duration::from_millis(200))?;
        }
    }

    /// Reads (typing `ping` each time) until a Linux line from index `from` on contains `text`.
    fn wait_for_linux_line(&mut self, from: usize, text: &str, ping: &[u8], within: Duration) -> Result<(), String> {
        let until = Instant::now() + within;
        while !linux_lines(&self.lines[from.min(self.lines.len())..]).any(|line| line.contains(text)) {
            if Instant::now() > until {
                return Err(format!("no Linux line with `{text}` within {} s", within.as_secs()));
            }
            self.type_text(ping, Duration::from_secs(1))?;
        }
        Ok(())
    }

    /// The domain generation `show linux` names.
    fn generation(&mut self) -> Result<u32, String> {
        let show = self.pwrctl(&["show", "linux"])?;
        show.lines()
            .find_map(|line| line.split_once("(generation ")?.1.strip_suffix(')')?.parse().ok())
            .ok_or_else(|| format!("no generation in `show linux`: {show}"))
    }
}

/// The text of Linux's lines among `lines`.
fn linux_lines(lines: &[String]) -> impl Iterator<Item = &str> {
    lines.iter().filter_map(|line| match Line::parse(line) {
        Line::Domain(markers::LINUX_DOMAIN, text) => Some(text),
        _ => None,
    })
}

/// Heartbeat lines among `lines`.
fn heartbeats(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|line| {
            matches!(Line::parse(line), Line::Domain(markers::HEARTBEAT_DOMAIN, text) if text.starts_with(markers::HEARTBEAT))
        })
        .count()
}

/// The PSCI calls of a domain that show how Linux suspends: secondaries off with CPU_OFF, the
/// boot vCPU's SYSTEM_SUSPEND, the secondaries on again with CPU_ON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PsciCalls {
    cpu_on: u64,
    cpu_off: u64,
    system_suspend: u64,
}

/// The counts of `psci_calls` in a `list --json` object.
fn psci_calls(object: &str) -> Result<PsciCalls, String> {
    let (_, calls) = object.split_once("\"psci_calls\":").ok_or_else(|| format!("no psci_calls in {object}"))?;
    Ok(PsciCalls {
        cpu_on: number(calls, "CPU_ON")?,
        cpu_off: number(calls, "CPU_OFF")?,
        system_suspend: number(calls, "SYSTEM_SUSPEND")?,
    })
}

/// A number field of a `list --json` object.
fn number(object: &str, key: &str) -> Result<u64, String> {
    field(object, key).and_then(|value| value.parse().ok()).ok_or_else(|| format!("no number {key} in {object}"))
}

/// `lines` show a second of a domain that stays quiet beside a heartbeat that beats.
fn quiet_beside_heartbeat(lines: &[String], what: &str) -> Result<(), String> {
    if let Some(line) = linux_lines(lines).next() {
        return Err(format!("Linux printed `{line}` while {what}"));
    }
    let beats = heartbeats(lines);
    if beats < BEATS_PER_SECOND {
        return Err(format!("only {beats} heartbeat lines in a second while Linux was {what}: {lines:?}"));
    }
    Ok(())
}

/// The whole session; see the module documentation.
pub fn drive(session: &mut Session) -> Result<(), String> {
    let mut console = Console { session, lines: Vec::new() };
    let online = format!("{}0-1", markers::CPUS_ONLINE);

    // 1. Booted to the prompt, both vCPUs on.
    console.wait_for_linux_line(0, &online, b"\r", BOOT_TIME)?;
    let linux = console.linux()?;
    if field(&linux, "state") != Some("running") || linux.matches("\"state\":\"on\"").count() != 2 {
        return Err(format!("linux is not running with both vCPUs on: {linux}"));
    }
    let started = psci_calls(&linux)?;
    if started.cpu_on != 1 {
        return Err(format!("Linux started its second vCPU with {} CPU_ON calls, expected 1: {linux}", started.cpu_on));
    }

    // 2. Suspended, as the hypervisor sees it, until a key is typed.
    let suspended = suspend(&mut console)?;
    if !suspended.contains("\"vcpus\":[{\"id\":0,\"state\":\"suspended\"")
        || !suspended.contains("{\"id\":1,\"state\":\"off\"")
    {
        return Err(format!("expected vCPU 0 suspended and vCPU 1 off: {suspended}"));
    }
    let calls = psci_calls(&suspended)?;
    if calls.cpu_off <= started.cpu_off || calls.system_suspend <= started.system_suspend {
        return Err(format!("no CPU_OFF of vCPU 1 and SYSTEM_SUSPEND of vCPU 0 counted: {suspended}"));
    }
    let show = console.pwrctl(&["show", "linux"])?;
    if !show.lines().any(|line| line.split_whitespace().eq(["state", "suspended"])) {
        return Err(format!("`show linux` does not say suspended:\n{show}"));
    }
    let quiet_from = console.lines.len();
    console.type_text(&[], Duration::from_secs(1))?;
    quiet_beside_heartbeat(&console.lines[quiet_from..], "suspended")?;
    let suspended = console.linux()?;
    if field(&suspended, "state") != Some("suspended") {
        return Err(format!("linux woke up by itself: {suspended}"));
    }

    // 3. A key resumes it.
    let resumes = number(&suspended, "resume_count")?;
    let typed_at = console.lines.len();
    console.type_text(b"w\r", Duration::from_secs(1))?;
    let linux = console.wait_for("running", COMMAND_TIME, |linux| field(linux, "state") == Some("running"))?;
    if number(&linux, "resume_count")? != resumes + 1
        || field(&linux, "last_wake_interrupt") != Some(UART_INTID.to_string().as_str())
    {
        return Err(format!("expected one more resume, by the UART's interrupt {UART_INTID}: {linux}"));
    }
    console.wait_for_linux_line(typed_at, &format!("{online}, last key 'w'"), b"\r", COMMAND_TIME)?;
    let after_key = console.linux()?;
    if psci_calls(&after_key)?.cpu_on <= calls.cpu_on {
        return Err(format!("vCPU 1 came back without CPU_ON: {after_key}"));
    }

    // 4. reboot -f: a new generation boots to the prompt again.
    let generation = console.generation()?;
    console.type_text(b"r\r", Duration::from_secs(1))?;
    let until = Instant::now() + COMMAND_TIME;
    while console.generation()? <= generation {
        if Instant::now() > until {
            return Err(format!("linux was not restarted after `reboot -f` (generation {generation})"));
        }
        console.type_text(&[], Duration::from_millis(500))?;
    }
    let restarted_at = console.lines.len();
    console.wait_for_linux_line(restarted_at, &format!("{online}, last key 'none'"), b"\r", BOOT_TIME)?;

    // 5. poweroff -f: off, for good, beside the heartbeat.
    console.type_text(b"o\r", Duration::from_millis(300))?;
    console.wait_for("off", COMMAND_TIME, |linux| field(linux, "state") == Some("off"))?;
    let off_from = console.lines.len();
    console.type_text(&[], Duration::from_millis(1500))?;
    quiet_beside_heartbeat(&console.lines[off_from..], "off")?;
    let json = console.pwrctl(&["list", "--json"])?;
    match domain_json(&json, "heartbeat").and_then(|heartbeat| field(heartbeat, "state")) {
        Some("running") => Ok(()),
        other => Err(format!("heartbeat is {other:?} after linux powered off: {json}")),
    }
}

/// Types `s` until Linux stays suspended for a second (see [`SUSPEND_ATTEMPTS`]); returns
/// `linux`'s object of `list --json` while it is.
fn suspend(console: &mut Console<'_>) -> Result<String, String> {
    for attempt in 1..=SUSPEND_ATTEMPTS {
        let before = console.linux()?;
        let (suspends, resumes) = (number(&before, "suspend_count")?, number(&before, "resume_count")?);
        console.type_text(b"s\r", Duration::from_millis(300))?;
        console.wait_for("suspended once more", COMMAND_TIME, |linux| {
            number(linux, "suspend_count").is_ok_and(|count| count > suspends)
        })?;
        console.type_text(&[], Duration::from_secs(1))?;
        let now = console.linux()?;
        if field(&now, "state") == Some("suspended") {
            return Ok(now);
        }
        let woken_by = field(&now, "last_wake_interrupt").unwrap_or_default().to_owned();
        if woken_by != VIRTUAL_TIMER_INTID.to_string() || number(&now, "resume_count")? != resumes + 1 {
            return Err(format!("linux resumed by {woken_by} before a key was typed: {now}"));
        }
        if attempt < SUSPEND_ATTEMPTS {
            let from = console.lines.len();
            console.wait_for_linux_line(from, PROMPT, b"\r", COMMAND_TIME)?;
        }
    }
    Err(format!("the stale timer interrupt resumed linux at each of {SUSPEND_ATTEMPTS} suspends"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(items: &[&str]) -> Vec<String> {
        items.iter().map(|line| (*line).to_owned()).collect()
    }

    #[test]
    fn a_quiet_second_has_heartbeats_and_no_linux_line() {
        let beats: Vec<String> = (0..5).map(|beat| format!("(d2) heartbeat {beat}")).collect();
        assert_eq!(quiet_beside_heartbeat(&beats, "off"), Ok(()));
        let mut noisy = beats.clone();
        noisy.push("(d1) somnus-linux: init reached".to_owned());
        assert_eq!(
            quiet_beside_heartbeat(&noisy, "off"),
            Err("Linux printed `somnus-linux: init reached` while off".to_owned())
        );
        let few = lines(&["(d2) heartbeat 1", "(d2) heartbeat: every 100 ms", "somnus: heartbeat 2"]);
        assert!(quiet_beside_heartbeat(&few, "suspended").unwrap_err().starts_with("only 1 heartbeat lines"));
    }

    #[test]
    fn linux_lines_are_those_of_domain_one() {
        let all = lines(&["(d1) a", "(d2) b", "somnus: c", "(d1) "]);
        assert_eq!(linux_lines(&all).collect::<Vec<_>>(), ["a", ""]);
    }

    #[test]
    fn numbers_of_the_list() {
        let object = r#"1,"name":"linux","state":"suspended","resume_count":2,"last_wake_interrupt":33}"#;
        assert_eq!(number(object, "resume_count"), Ok(2));
        assert!(number(object, "state").is_err());
        let listed = r#"1,"name":"linux","psci_calls":{"PSCI_VERSION":1,"CPU_SUSPEND":0,"CPU_OFF":3,"CPU_ON":4,"SYSTEM_SUSPEND":3}}"#;
        assert_eq!(psci_calls(listed), Ok(PsciCalls { cpu_on: 4, cpu_off: 3, system_suspend: 3 }));
        assert!(psci_calls(object).is_err());
    }

    #[test]
    fn the_console_script_answers_as_the_session_expects() {
        let path = crate::paths::repo_root().join("tests/linux/console-commands.init");
        let script = std::fs::read_to_string(&path).unwrap();
        assert!(script.contains(&format!("say \"{PROMPT} ")), "{}", path.display());
        assert!(script.contains("\"cpus online $(cat /sys/devices/system/cpu/online), last key '$key'\""));
        assert!(script.contains("key=none"));
        for command in ["s)", "r)", "o)", "\"\") ;;"] {
            assert!(script.contains(command), "{command}");
        }
    }
}
