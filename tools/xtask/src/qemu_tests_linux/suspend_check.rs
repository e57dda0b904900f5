//! The check of the suspend scenario (`tests/linux/suspend.init`): Linux (domain 1) boots with
//! PSCI 1.1, every vCPU online and `[deep]` in `mem_sleep`; then, cycle by cycle, its secondary
//! CPUs go off (`psci: CPU<k> killed`), the hypervisor suspends the domain, `heartbeat`
//! (domain 2) beats while it sleeps, the RTC's interrupt resumes it and every CPU is online
//! again; after the last cycle Linux powers off and prints nothing more while the heartbeat goes
//! on. No Linux warning anywhere ([`kernel_warnings`]).
//!
//! A cycle resumed by anything but the RTC fails, the virtual timer included: Somnus once woke a
//! suspend at once with a timer expiry that was still pending in a list register after Linux had
//! stopped its tick (fixed: parking a vCPU drops a timer interrupt its timer no longer asserts;
//! `psci-stale-timer-*` guards it with a bare-metal guest). [`STALE_TIMER_WAKE_UP`] can tolerate
//! it again for a bisection.
//!
//! The runner asks after every line, so the check reads each line once ([`SuspendRun::feed`]) and
//! keeps its state between calls.
//!
//! [`kernel_warnings`]: super::kernel_warnings

use std::cell::RefCell;

use crate::qemu_tests::boot_check::{Expected, boot_progress};
use crate::qemu_tests::guest_check::ALWAYS_FORBIDDEN;
use crate::qemu_tests::runner::Progress;

use super::kernel_warnings;
use super::markers::{self, HEARTBEAT_DOMAIN, LINUX_DOMAIN, Line};

/// Heartbeat lines (every 100 ms) that must appear while Linux sleeps in a cycle woken by the
/// RTC: its alarm is armed 1 to 2 s ahead.
pub const BEATS_WHILE_ASLEEP: usize = 3;

/// Heartbeat lines that must follow Linux's power-down.
pub const BEATS_AFTER_POWER_DOWN: usize = 10;

/// Whether a resume by the virtual timer right after the suspend is tolerated (see the module
/// documentation), and how many heartbeat lines may come between the two hypervisor lines.
pub const STALE_TIMER_WAKE_UP: Option<usize> = None;

/// What a run of the suspend scenario must show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuspendExpectations {
    /// Linux's vCPUs: all must be online at boot and after every resume.
    pub vcpus: u8,
    /// Suspend cycles (`somnus.cycles=` of the domain file).
    pub cycles: u32,
}

/// What Linux must have shown before its first cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BootFact {
    /// Its init ran.
    InitReached,
    /// It found PSCI 1.1.
    PsciDetected,
    /// Every vCPU online.
    CpusOnline,
    /// Suspend to RAM selected.
    DeepSleep,
}

impl BootFact {
    const ALL: [Self; 4] = [Self::InitReached, Self::PsciDetected, Self::CpusOnline, Self::DeepSleep];

    /// What is missing while the fact was not seen; `online` is the expected CPU list.
    fn missing(self, online: &str) -> String {
        match self {
            Self::InitReached => "Linux's init has not run".to_owned(),
            Self::PsciDetected => format!("no `{}`", markers::PSCI_DETECTED),
            Self::CpusOnline => format!("no `{}{}{online}`", markers::MARKER, markers::CPUS_ONLINE),
            Self::DeepSleep => format!("no `{}{}`", markers::MARKER, markers::MEM_SLEEP),
        }
    }
}

/// Where a cycle is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Between cycles.
    Awake,
    /// The init announced the cycle; secondaries going off (bit k: `CPU<k> killed` seen).
    Suspending { killed: u64 },
    /// The hypervisor suspended the domain; heartbeat lines since.
    Asleep { beats: usize },
    /// An interrupt resumed it; the init's `resumed` marker is next.
    Resuming,
}

/// The state of one run, fed line by line.
#[derive(Clone, Debug)]
pub struct SuspendRun {
    want: SuspendExpectations,
    online: String,
    /// Lines fed so far.
    fed: usize,
    failure: Option<String>,
    /// Which [`BootFact`]s were seen.
    facts: [bool; BootFact::ALL.len()],
    /// The cycle under way or last completed (1-based).
    cycle: u32,
    completed: u32,
    phase: Phase,
    cycles_done: bool,
    /// Heartbeat lines since Linux powered off, once it has.
    beats_after_power_down: Option<usize>,
    /// Cycles resumed by a stale virtual timer interrupt.
    pub stale_timer_wake_ups: u32,
}

impl SuspendRun {
    /// A run that has seen nothing yet.
    pub fn new(want: SuspendExpectations) -> Self {
        Self {
            want,
            online: markers::all_online(want.vcpus),
            fed: 0,
            failure: None,
            facts: [false; BootFact::ALL.len()],
            cycle: 0,
            completed: 0,
            phase: Phase::Awake,
            cycles_done: false,
            beats_after_power_down: None,
            stale_timer_wake_ups: 0,
        }
    }

    /// Takes the next console line; the first problem found stays the verdict.
    pub fn feed(&mut self, line: &str) {
        self.fed += 1;
        if self.failure.is_some() {
            return;
        }
        if let Err(problem) = self.take(line) {
            self.failure = Some(format!("line {}: `{}`: {problem}", self.fed, line.trim_end()));
        }
    }

    fn take(&mut self, line: &str) -> Result<(), String> {
        if let Some(pattern) = ALWAYS_FORBIDDEN.iter().find(|pattern| pattern.matches(line)) {
            return Err(format!("forbidden: {pattern}"));
        }
        match Line::parse(line) {
            Line::Domain(LINUX_DOMAIN, text) => self.take_linux(markers::without_timestamp(text)),
            Line::Domain(HEARTBEAT_DOMAIN, text) if text.starts_with(markers::HEARTBEAT) => {
                if let Phase::Asleep { beats } = &mut self.phase {
                    *beats += 1;
                }
                if let Some(beats) = &mut self.beats_after_power_down {
                    *beats += 1;
                }
                Ok(())
            }
            Line::Hypervisor(text) => self.take_hypervisor(text),
            _ => Ok(()),
        }
    }

    fn take_linux(&mut self, message: &str) -> Result<(), String> {
        if self.beats_after_power_down.is_some() {
            return Err("Linux printed after it powered off".to_owned());
        }
        if let Some(warning) = kernel_warnings::warning(message) {
            return Err(warning);
        }
        if message.starts_with("/init: ") || message.starts_with("sh: ") {
            return Err("the init script failed".to_owned());
        }
        if message.contains(markers::PSCI_DETECTED) {
            self.facts[BootFact::PsciDetected as usize] = true;
        } else if message.starts_with("psci: CPU") && message.contains(" killed ") {
            self.cpu_killed(message)?;
        } else if message.starts_with(markers::POWER_DOWN) {
            if !self.cycles_done {
                return Err(format!("Linux powered off after {} of {} cycles", self.completed, self.want.cycles));
            }
            self.beats_after_power_down = Some(0);
        } else if let Some(marker) = markers::marker(message) {
            self.take_marker(marker)?;
        }
        Ok(())
    }

    fn cpu_killed(&mut self, message: &str) -> Result<(), String> {
        let number = message.trim_start_matches("psci: CPU").split(' ').next().and_then(|n| n.parse::<u8>().ok());
        match (self.phase, number) {
            (Phase::Suspending { killed }, Some(cpu)) if cpu > 0 && cpu < self.want.vcpus && cpu < 64 => {
                self.phase = Phase::Suspending { killed: killed | 1 << cpu };
                Ok(())
            }
            _ => Err("a CPU went off outside a suspend".to_owned()),
        }
    }

    fn take_marker(&mut self, marker: &str) -> Result<(), String> {
        if marker == markers::INIT_REACHED {
            if self.facts[BootFact::InitReached as usize] {
                return Err("Linux booted a second time".to_owned());
            }
            self.facts[BootFact::InitReached as usize] = true;
        } else if let Some(online) = marker.strip_prefix(markers::CPUS_ONLINE) {
            if online != self.online {
                return Err(format!("expected cpus online {}", self.online));
            }
            self.facts[BootFact::CpusOnline as usize] = true;
        } else if let Some(states) = marker.strip_prefix(markers::MEM_SLEEP) {
            if !states.contains(markers::DEEP_SELECTED) {
                return Err(format!("suspend to RAM is not selected: no `{}`", markers::DEEP_SELECTED));
            }
            self.facts[BootFact::DeepSleep as usize] = true;
        } else if marker.contains(markers::FAILED) || marker.starts_with(markers::NO_RTC) {
            return Err("the init script could not suspend".to_owned());
        } else if marker == markers::CYCLES_DONE {
            if self.completed != self.want.cycles {
                return Err(format!("after {} of {} cycles", self.completed, self.want.cycles));
            }
            self.cycles_done = true;
        } else if let Some(count) = marker.strip_prefix(markers::SUSPEND) {
            self.start_cycle(count)?;
        } else if let Some(rest) = marker.strip_prefix(markers::RESUMED) {
            self.end_cycle(rest)?;
        }
        Ok(())
    }

    /// `<i> of <n>`: cycle `i` must be the next one, `n` the expected count.
    fn start_cycle(&mut self, count: &str) -> Result<(), String> {
        let expected = format!("{} of {}", self.completed + 1, self.want.cycles);
        if self.phase != Phase::Awake || count != expected {
            return Err(format!("expected `suspend {expected}` after {} completed cycles", self.completed));
        }
        self.cycle = self.completed + 1;
        self.phase = Phase::Suspending { killed: 0 };
        Ok(())
    }

    /// `<i> of <n>, cpus online <list>`, after the hypervisor resumed the domain.
    fn end_cycle(&mut self, rest: &str) -> Result<(), String> {
        let expected = format!("{} of {}, {}{}", self.cycle, self.want.cycles, markers::CPUS_ONLINE, self.online);
        if self.phase != Phase::Resuming {
            return Err("Linux resumed, but the hypervisor never said it resumed the domain".to_owned());
        }
        if rest != expected {
            return Err(format!("expected `resumed {expected}`"));
        }
        self.completed = self.cycle;
        self.phase = Phase::Awake;
        Ok(())
    }

    fn take_hypervisor(&mut self, text: &str) -> Result<(), String> {
        if text.starts_with(markers::DOMAIN_SUSPENDED) {
            let Phase::Suspending { killed } = self.phase else {
                return Err("domain 1 suspended outside a suspend cycle".to_owned());
            };
            let secondaries = (1u64 << self.want.vcpus.min(63)) - 2;
            if killed != secondaries {
                return Err("domain 1 suspended before Linux saw every secondary CPU go off".to_owned());
            }
            self.phase = Phase::Asleep { beats: 0 };
        } else if let Some(intid) = markers::resumed_by(text) {
            let Phase::Asleep { beats } = self.phase else {
                return Err("domain 1 resumed, but it was not suspended".to_owned());
            };
            match intid {
                markers::RTC_INTID if beats >= BEATS_WHILE_ASLEEP => {}
                markers::RTC_INTID => {
                    return Err(format!(
                        "only {beats} heartbeat lines while Linux slept, expected {BEATS_WHILE_ASLEEP}"
                    ));
                }
                markers::VIRTUAL_TIMER_INTID if STALE_TIMER_WAKE_UP.is_some_and(|most| beats <= most) => {
                    self.stale_timer_wake_ups += 1;
                }
                other => return Err(format!("cycle {} resumed by interrupt {other}, not the RTC's", self.cycle)),
            }
            self.phase = Phase::Resuming;
        } else if text.starts_with("somnus: domain 1 ") && text.contains("resumed by") {
            return Err("domain 1 resumed by something else than an interrupt".to_owned());
        }
        Ok(())
    }

    /// What the lines fed so far show.
    pub fn progress(&self) -> Progress {
        if let Some(failure) = &self.failure {
            return Progress::Failed(failure.clone());
        }
        if let Some(fact) = BootFact::ALL.into_iter().find(|fact| !self.facts[*fact as usize]) {
            return Progress::Waiting(fact.missing(&self.online));
        }
        if !self.cycles_done {
            return Progress::Waiting(format!(
                "{} of {} suspend cycles completed, cycle {} {:?}",
                self.completed,
                self.want.cycles,
                self.completed + 1,
                self.phase
            ));
        }
        match self.beats_after_power_down {
            None => Progress::Waiting(format!("Linux has not powered off (`{}`)", markers::POWER_DOWN)),
            Some(beats) if beats < BEATS_AFTER_POWER_DOWN => Progress::Waiting(format!(
                "{beats} of {BEATS_AFTER_POWER_DOWN} heartbeat lines after Linux powered off"
            )),
            Some(_) => Progress::Done,
        }
    }
}

/// The runner's check for `want`: a complete boot of the hypervisor with two domains, then what
/// [`SuspendRun`] requires. Each line is read once.
pub fn check(want: SuspendExpectations) -> impl Fn(Expected, &[String]) -> Progress {
    let run = RefCell::new((SuspendRun::new(want), false));
    move |expected: Expected, lines: &[String]| {
        let mut state = run.borrow_mut();
        let (run, booted) = &mut *state;
        for line in lines.iter().skip(run.fed) {
            run.feed(line);
        }
        if expected.domains != 2 {
            return Progress::Failed(format!("the image carries {} domains, the test expects 2", expected.domains));
        }
        // The hypervisor's boot lines come before any domain's, so once complete they stay so.
        let boot = if *booted { Progress::Done } else { boot_progress(expected, lines) };
        *booted = boot == Progress::Done;
        boot.then(|| run.progress())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Board;
    use crate::machine::{GicVersion, Machine};

    const TWO: SuspendExpectations = SuspendExpectations { vcpus: 2, cycles: 2 };

    fn expected() -> Expected {
        let machine = Machine::new(Board::QemuVirt, Some(GicVersion::V2), Some(2), None).unwrap();
        Expected { machine, domains: 2 }
    }

    fn boot() -> Vec<String> {
        [
            "somnus: cpu 0 online (mpidr 0x0), EL2 timer ticking",
            "somnus: cpu 1 online (mpidr 0x1), EL2 timer ticking",
            "somnus: ready board=qemu-virt gic=v2 cpus=2 domains=2",
            "(d2) heartbeat: every 100 ms, counter at 62500000 Hz",
            "(d1) [    0.000000] psci: PSCIv1.1 detected in firmware.",
            "(d1) [    0.160279] CPU: All CPU(s) started at EL1",
            "(d1) somnus-linux: init reached",
            "(d1) somnus-linux: cpus online 0-1",
            "(d1) somnus-linux: mem_sleep s2idle [deep]",
        ]
        .iter()
        .map(|line| (*line).to_owned())
        .collect()
    }

    /// Cycle `number` of 2, woken by `intid` after `beats` heartbeat lines.
    fn cycle(number: u32, intid: u32, beats: usize) -> Vec<String> {
        let mut lines = vec![
            format!("(d1) somnus-linux: suspend {number} of 2"),
            "(d1) [    1.633652] PM: suspend entry (deep)".to_owned(),
            "(d1) [    1.674088] psci: CPU1 killed (polled 0 ms)".to_owned(),
            "somnus: domain 1 suspended, resume at 0x40cfd038".to_owned(),
        ];
        lines.extend((0..beats).map(|beat| format!("(d2) heartbeat {beat}")));
        lines.push(format!("somnus: domain 1 resumed by interrupt {intid}"));
        lines.push("(d1) [    1.694451] CPU1 is up".to_owned());
        lines.push(format!("(d1) somnus-linux: resumed {number} of 2, cpus online 0-1"));
        lines
    }

    fn power_down(beats: usize) -> Vec<String> {
        let mut lines = vec![
            "(d1) somnus-linux: suspend cycles done".to_owned(),
            "(d1) somnus-linux: powering off".to_owned(),
            "(d1) [    1.890191] reboot: Power down".to_owned(),
        ];
        lines.extend((0..beats).map(|beat| format!("(d2) heartbeat {beat}")));
        lines
    }

    fn full(first_wake: u32, first_beats: usize) -> Vec<String> {
        [boot(), cycle(1, first_wake, first_beats), cycle(2, 34, 5), power_down(10)].concat()
    }

    /// The check's verdict after each line, as the runner asks.
    fn verdicts(lines: &[String]) -> Vec<Progress> {
        let check = check(TWO);
        (1..=lines.len()).map(|count| check(expected(), &lines[..count])).collect()
    }

    fn last(lines: &[String]) -> Progress {
        verdicts(lines).pop().unwrap()
    }

    fn failure(lines: &[String]) -> String {
        match last(lines) {
            Progress::Failed(reason) => reason,
            other => panic!("not failed: {other:?}"),
        }
    }

    #[test]
    fn a_complete_run_is_done_only_at_the_end() {
        let lines = full(34, 5);
        let verdicts = verdicts(&lines);
        assert_eq!(verdicts.last(), Some(&Progress::Done));
        let first_done = verdicts.iter().position(|verdict| *verdict == Progress::Done).unwrap();
        assert_eq!(first_done, lines.len() - 1, "done with the 10th heartbeat after the power-down");
        assert!(verdicts.iter().all(|verdict| !matches!(verdict, Progress::Failed(_))));
    }

    #[test]
    fn waiting_says_what_is_missing() {
        let Progress::Waiting(reason) = last(&boot()[..6]) else { panic!() };
        assert_eq!(reason, "Linux's init has not run");
        let lines = [boot(), cycle(1, 34, 4)].concat();
        let Progress::Waiting(reason) = last(&lines) else { panic!() };
        assert_eq!(reason, "1 of 2 suspend cycles completed, cycle 2 Awake");
        let lines = [boot(), cycle(1, 34, 4), cycle(2, 34, 4), power_down(3)].concat();
        let Progress::Waiting(reason) = last(&lines) else { panic!() };
        assert_eq!(reason, "3 of 10 heartbeat lines after Linux powered off");
    }

    #[test]
    fn a_timer_wake_up_is_not_tolerated_any_more() {
        assert_eq!(STALE_TIMER_WAKE_UP, None);
        for beats in 0..3 {
            assert!(failure(&full(27, beats)).contains("cycle 1 resumed by interrupt 27, not the RTC's"));
        }
    }

    #[test]
    fn the_rtc_must_wake_it_after_the_heartbeat_beat() {
        assert!(failure(&full(34, 2)).contains("only 2 heartbeat lines while Linux slept, expected 3"));
        assert!(failure(&full(33, 5)).contains("resumed by interrupt 33, not the RTC's"));
    }

    #[test]
    fn boot_facts_are_checked() {
        let mut lines = boot();
        lines[7] = "(d1) somnus-linux: cpus online 0".to_owned();
        assert_eq!(failure(&lines), "line 8: `(d1) somnus-linux: cpus online 0`: expected cpus online 0-1");
        let mut lines = boot();
        lines[8] = "(d1) somnus-linux: mem_sleep [s2idle]".to_owned();
        assert!(failure(&lines).contains("suspend to RAM is not selected"));
    }

    #[test]
    fn every_cpu_must_come_back() {
        let mut lines = full(34, 5);
        let resumed = lines.iter().position(|line| line.contains("resumed 1 of 2")).unwrap();
        lines[resumed] = "(d1) somnus-linux: resumed 1 of 2, cpus online 0".to_owned();
        assert!(failure(&lines).contains("expected `resumed 1 of 2, cpus online 0-1`"));
    }

    #[test]
    fn the_secondaries_must_go_off_before_the_suspend() {
        let mut lines = full(34, 5);
        lines.retain(|line| !line.contains("killed"));
        assert!(failure(&lines).contains("before Linux saw every secondary CPU go off"));
    }

    #[test]
    fn cycles_must_come_in_order_and_complete() {
        let lines = [boot(), cycle(2, 34, 5)].concat();
        assert!(failure(&lines).contains("expected `suspend 1 of 2` after 0 completed cycles"));
        let lines = [boot(), cycle(1, 34, 5), power_down(10)].concat();
        assert!(failure(&lines).contains("after 1 of 2 cycles"));
        let mut lines = full(34, 5);
        lines.retain(|line| !line.contains("resumed by interrupt"));
        assert!(failure(&lines).contains("the hypervisor never said it resumed the domain"));
    }

    #[test]
    fn nothing_after_the_power_down_and_no_warning() {
        let mut lines = full(34, 5);
        lines.push("(d1) [    2.0] something".to_owned());
        assert!(failure(&lines).contains("Linux printed after it powered off"));
        let mut lines = full(34, 5);
        lines.insert(5, "(d1) [    0.2] WARNING: CPU: 1 PID: 0 at kernel/x.c:1 y".to_owned());
        assert_eq!(
            failure(&lines),
            "line 6: `(d1) [    0.2] WARNING: CPU: 1 PID: 0 at kernel/x.c:1 y`: Linux printed `WARNING:`"
        );
        let mut lines = full(34, 5);
        lines.insert(12, "(d1) /init: line 30: can't create /sys/power/state: nonexistent directory".to_owned());
        assert!(failure(&lines).contains("the init script failed"));
        let mut lines = full(34, 5);
        lines.insert(12, "(d1) somnus-linux: suspend 1 failed".to_owned());
        assert!(failure(&lines).contains("the init script could not suspend"));
    }

    #[test]
    fn the_hypervisor_must_boot_with_two_domains() {
        let mut lines = full(34, 5);
        lines[2] = "somnus: ready board=qemu-virt gic=v2 cpus=2 domains=1".to_owned();
        assert!(failure(&lines).contains("ready line"));
        let mut lines = full(34, 5);
        lines.insert(3, "somnus: unexpected exception on cpu 1".to_owned());
        assert!(failure(&lines).contains("forbidden"));
    }
}
