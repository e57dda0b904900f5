//! The QEMU tests of the virtual PSCI (issue 5): the PSCI guests of `tests/guests` in the
//! configurations `tests/domains/psci-*.toml`, on qemu-virt with GICv2 and GICv3 and on zcu102,
//! with what their output must show.
//!
//! Domain `(d<N>)` is the N-th `[[domain]]` of the file. The guests check the answers and the
//! state at every entry point themselves and print `TEST FAIL` on the first surprise; the checks
//! here add what only the whole output shows: keys typed when lines appear, other domains that
//! keep running, a domain that prints nothing more after SYSTEM_OFF, boots counted across resets.
//!
//! Three faults of Somnus found by these tests are fixed, and the configurations keep guarding
//! them:
//! - A vCPU that trapped into the hypervisor just as SYSTEM_OFF or SYSTEM_RESET of its domain
//!   powered it off came back (the trap path marked it blocked over `Off`): `vcpu1=calls` in
//!   psci-system-off.toml and psci-system-reset.toml makes the running vCPU 1 call PSCI back to
//!   back, so the stop finds it trapping.
//! - A restarted domain's vCPU 0 ran before `DomainStarted` reached the services, so its first
//!   PSCI call could be answered NOT_SUPPORTED: `system-reset` now calls and prints at once.
//! - A pending SPI whose target changed (GICD_ITARGETSR, GICD_IROUTER) stayed with its old target:
//!   `suspend-wake` case (f) on qemu-virt (`case_f=reroute`) routes the UART's SPI, which resumed
//!   the domain while routed to the off vCPU 1, to vCPU 0 and must get it there; on zcu102 it
//!   starts vCPU 1 instead, which must take it.

use crate::board::Board;
use crate::machine::{CpuModel, GicVersion, Machine};
use crate::qemu_tests::boot_check::Expected;
use crate::qemu_tests::definitions::{Boot, QemuTest, boot, machine};
use crate::qemu_tests::guest_check::{FollowedBy, GuestExpectations, Pattern, check_guests};
use crate::qemu_tests::runner::{Progress, SerialInput};

use std::cell::RefCell;
use std::time::Duration;

/// The machines every test here runs on.
const EVERY_MACHINE: [(Board, GicVersion); 3] =
    [(Board::QemuVirt, GicVersion::V2), (Board::QemuVirt, GicVersion::V3), (Board::Zcu102, GicVersion::V2)];

/// `psci-functions` (2 vCPUs on CPUs 0 and 1) checks every function and error code itself, one
/// line each, and fails at the first wrong answer; these lines make sure the checks that matter
/// most ran: Linux's suspend-to-RAM probe, both conduits, the SMC32 garbage, every entry point.
const FUNCTIONS: GuestExpectations = GuestExpectations {
    domains: 1,
    required: &[
        Pattern::domain(1, "psci-functions: HVC PSCI_VERSION -> 1.1 (0x10001)"),
        Pattern::domain(1, "psci-functions: SMC PSCI_VERSION -> 1.1 (0x10001)"),
        Pattern::domain(1, "psci-functions: HVC PSCI_FEATURES(SYSTEM_SUSPEND_64) -> SUCCESS (0x0)"),
        Pattern::domain(1, "psci-functions: SMC PSCI_FEATURES(MIGRATE_64) -> NOT_SUPPORTED"),
        Pattern::domain(1, "psci-functions: HVC MIGRATE_INFO_TYPE -> 2"),
        Pattern::domain(1, "psci-functions: SMC CPU_ON(1) at an odd entry -> INVALID_ADDRESS"),
        Pattern::domain(1, "psci-functions: HVC SYSTEM_RESET2_64(vendor 1) -> NOT_SUPPORTED"),
        Pattern::domain(1, "psci-functions: SMC SYSTEM_RESET2_32(architectural 1) -> INVALID_PARAMETERS"),
        Pattern::domain(1, "psci-functions: vCPU 1 runs at the entry with x0 = 0x5053434900010001"),
        Pattern::domain(1, "psci-functions: vCPU 1 runs at the entry with x0 = 0x12345678"),
        Pattern::domain(1, "psci-functions: HVC SYSTEM_SUSPEND while vCPU 1 is on -> DENIED"),
        Pattern::domain(1, "psci-functions: vCPU 1 resumed from CPU_SUSPEND with x0 = 0x5053434900010002"),
        Pattern::domain(1, "psci-functions: HVC CPU_OFF on vCPU 1 -> it stopped, AFFINITY_INFO(1) = OFF"),
        Pattern::domain(1, "psci-functions: vCPU 0 started again with x0 = 0x5053434900000030"),
        Pattern::domain(1, "psci-functions: SMC CPU_SUSPEND(standby) -> SUCCESS"),
        Pattern::domain(1, "psci-functions: vCPU 0 entered with x0 = 0x5053434900000010 after "),
        Pattern::domain(1, "psci-functions: vCPU 0 entered with x0 = 0x87654321 after "),
        Pattern::domain(1, "psci-functions: vCPU 0 entered with x0 = 0x5053434900000020 after "),
        Pattern::domain(1, "psci-functions: vCPU 0 entered with x0 = 0x13579bdf after "),
        Pattern::domain(1, "psci-functions: HVC STAT_COUNT(0, power-down) -> 4"),
        Pattern::domain(1, "TEST PASS psci-functions"),
    ],
    forbidden: &[],
    followed_by: &[],
};

/// `suspend-wake` (d1, 2 vCPUs on CPU 0, the second never started) suspends and must resume at its
/// entry point with its state checked, woken in turn by its timer, by a timer interrupt already
/// pending at the call, by the RTC alarm (passed through on qemu-virt, virtual on zcu102), by a key typed on its UART while a disabled
/// timer interrupt is asserted, and by a key whose interrupt is routed to the off vCPU 1; a key
/// received while the UART's interrupt is disabled must not wake it (its timer must). `heartbeat`
/// (d2, CPU 1) keeps beating.
const SUSPEND_WAKE_COMMON: [Pattern; 14] = [
    Pattern::domain(1, "suspend-wake: (a) suspending"),
    Pattern::domain(1, "suspend-wake: (a) resumed after "),
    Pattern::domain(1, "suspend-wake: (e) suspending"),
    Pattern::domain(1, "suspend-wake: (e) resumed after "),
    Pattern::domain(1, "suspend-wake: (c) suspending"),
    Pattern::domain(1, "suspend-wake: (c) resumed after "),
    Pattern::domain(1, "suspend-wake: (c) key 'c' received; the disabled timer interrupt never arrived"),
    Pattern::domain(1, "suspend-wake: (d) suspending"),
    Pattern::domain(1, "suspend-wake: (d) resumed after "),
    Pattern::domain(
        1,
        "suspend-wake: (d) the raised but disabled UART interrupt did not wake it; enabled, it gave key 'd'",
    ),
    Pattern::domain(1, "suspend-wake: (f) suspending"),
    Pattern::domain(1, "the interrupt routed to the off vCPU 1 resumed vCPU 0"),
    Pattern::domain(1, "TEST PASS suspend-wake"),
    Pattern::domain(2, "heartbeat: every 100 ms"),
];

/// The keys `suspend-wake` waits for.
const SUSPEND_WAKE_KEYS: &[SerialInput] = &[
    SerialInput { after: &[Pattern::domain(1, "suspend-wake: (c) suspending")], bytes: b"c" },
    SerialInput { after: &[Pattern::domain(1, "suspend-wake: (d) type a key")], bytes: b"d" },
    SerialInput { after: &[Pattern::domain(1, "suspend-wake: (f) suspending")], bytes: b"f" },
];

/// `suspend-cycles` (d1) and `heartbeat` (d2, every 50 ms) share CPU 0: 1000 cycles, every resume
/// accounted for, and the heartbeat beats between every two progress lines (100 cycles).
const SUSPEND_CYCLES: GuestExpectations = GuestExpectations {
    domains: 2,
    required: &[
        Pattern::domain(1, "suspend-cycles: GICv"),
        Pattern::domain(1, "suspend-cycles: 500 cycles, 500 resumes, 500 timer interrupts"),
        Pattern::domain(1, "suspend-cycles: done: 1000 cycles, 1000 resumes, 1000 timer interrupts"),
        Pattern::domain(1, "TEST PASS suspend-cycles"),
    ],
    forbidden: &[],
    followed_by: &[FollowedBy {
        after: Pattern::domain(1, "suspend-cycles: GICv"),
        count: 10,
        matching: Pattern::domain(2, "heartbeat "),
        before: Some(Pattern::domain(1, "TEST PASS suspend-cycles")),
    }],
};

/// `psci-races` (4 vCPUs, one per CPU): every round type ran its rounds consistently.
const RACES: GuestExpectations = GuestExpectations {
    domains: 1,
    required: &[
        Pattern::domain(1, "psci-races: concurrent CPU_ON: 150 rounds of 3 callers, exactly one SUCCESS each"),
        Pattern::domain(1, "psci-races: CPU_ON against CPU_OFF: 150 rounds"),
        Pattern::domain(1, "psci-races: SYSTEM_SUSPEND while vCPU 1 is on: 500 calls, all DENIED"),
        Pattern::domain(1, "psci-races: SYSTEM_SUSPEND against the last CPU_OFFs: 80 rounds"),
        Pattern::domain(1, "TEST PASS psci-races"),
    ],
    forbidden: &[],
    followed_by: &[],
};

/// Two `system-reset` domains (d1 SYSTEM_RESET, d2 SYSTEM_RESET2 warm reset), `heartbeat` (d3).
const SYSTEM_RESET: GuestExpectations = GuestExpectations {
    domains: 3,
    required: &[Pattern::domain(3, "heartbeat: every 50 ms")],
    forbidden: &[Pattern::anywhere("could not be restarted")],
    followed_by: &[FollowedBy {
        after: Pattern::domain(1, "system-reset: calling SYSTEM_RESET with vCPU 1 running"),
        count: 10,
        matching: Pattern::domain(3, "heartbeat "),
        before: None,
    }],
};

/// How many boots of each resetting domain the test waits for.
const BOOTS: u32 = 4;

/// `system-off` (d1, 2 vCPUs) and `heartbeat` (d2, on d1's first CPU, every 20 ms).
const SYSTEM_OFF: GuestExpectations = GuestExpectations {
    domains: 2,
    required: &[
        Pattern::domain(1, "system-off: vCPU 1 tick 2"),
        Pattern::domain(1, "system-off: calling SYSTEM_OFF with vCPU 1 running"),
    ],
    forbidden: &[Pattern::domain(1, "still running"), Pattern::anywhere("restarted")],
    followed_by: &[FollowedBy {
        after: Pattern::domain(1, "system-off: calling SYSTEM_OFF"),
        count: 25,
        matching: Pattern::domain(2, "heartbeat "),
        before: None,
    }],
};

/// `stale-timer-suspend` (d1) lets its virtual timer expire with IRQs masked, stops the timer and
/// suspends with its RTC alarm 2 s ahead, three times: each suspend must last until the RTC's
/// alarm (INTID 34), never be resumed at once by the timer interrupt the timer no longer asserts.
const STALE_TIMER: GuestExpectations = GuestExpectations {
    domains: 1,
    required: &[
        Pattern::domain(1, "stale-timer-suspend: round 2: resumed after "),
        Pattern::domain(1, "TEST PASS stale-timer-suspend"),
    ],
    forbidden: &[Pattern::anywhere("somnus: domain 1 resumed by interrupt 27")],
    followed_by: &[],
};

/// Every PSCI test, in the order they run.
pub fn all() -> Vec<QemuTest> {
    let mut tests = Vec::new();
    for (board, gic) in EVERY_MACHINE {
        // zcu102 always has 4 CPUs; on qemu-virt each test gets the CPUs its domains are pinned to.
        let smp_of = |smp: u8| if board == Board::Zcu102 { crate::machine::ZCU102_CPUS } else { smp };
        let psci = |name: &str, smp: u8| (name.to_owned(), machine(board, gic, smp_of(smp), CpuModel::CortexA53));
        let (name, on) = psci("psci-functions", 2);
        tests.push(test(&name, "psci-functions", on, 15, &[], move |expected, lines| {
            check_guests(expected, &FUNCTIONS, lines)
        }));
        let (name, on) = psci("psci-suspend-wake", 2);
        // qemu-virt passes its PL031 through and case (f) moves the pending interrupt to vCPU 0;
        // zcu102 has no PL031 (the domain uses its virtual one) and case (f) starts vCPU 1.
        let qemu_virt = board == Board::QemuVirt;
        let config = if qemu_virt { "psci-suspend-wake" } else { "psci-suspend-wake-virtual-rtc" };
        tests.push(test(&name, config, on, 20, SUSPEND_WAKE_KEYS, move |expected, lines| {
            check_suspend_wake(expected, qemu_virt, lines)
        }));
        let (name, on) = psci("psci-suspend-cycles", 1);
        tests.push(test(
            &name,
            "psci-suspend-cycles",
            on,
            45,
            &[],
            skipping_noise(move |expected, lines| {
                check_guests(expected, &SUSPEND_CYCLES, lines).then(|| heartbeat_between_progress(lines))
            }),
        ));
        let (name, on) = psci("psci-stale-timer", 1);
        tests.push(test(&name, "stale-timer-suspend", on, 20, &[], move |expected, lines| {
            check_guests(expected, &STALE_TIMER, lines)
        }));
        let (name, on) = psci("psci-races", 4);
        tests
            .push(test(&name, "psci-races", on, 60, &[], move |expected, lines| check_guests(expected, &RACES, lines)));
        let (name, on) = psci("psci-system-reset", 4);
        tests.push(test(&name, "psci-system-reset", on, 20, &[], move |expected, lines| {
            check_guests(expected, &SYSTEM_RESET, lines)
                .then(|| boots(lines, 1, "reset", "SYSTEM_RESET"))
                .then(|| boots(lines, 2, "reset2", "SYSTEM_RESET2(warm reset)"))
        }));
        let (name, on) = psci("psci-system-off", 2);
        tests.push(test(&name, "psci-system-off", on, 15, &[], move |expected, lines| {
            check_guests(expected, &SYSTEM_OFF, lines).then(|| silent_after_off(lines))
        }));
    }
    tests
}

/// `tests/domains/<config>.toml` on `machine` with at most `timeout_seconds`, typed on as `input`
/// says; named `<name>-<machine>`.
fn test(
    name: &str,
    config: &str,
    machine: Machine,
    timeout_seconds: u64,
    input: &'static [SerialInput],
    check: impl Fn(Expected, &[String]) -> Progress + 'static,
) -> QemuTest {
    QemuTest {
        domains: Some(format!("tests/domains/{config}.toml").into()),
        boot: Boot::NORMAL,
        timeout: Duration::from_secs(timeout_seconds),
        input,
        check: Box::new(check),
        ..boot(&format!("{name}-{}", machine_tag(machine)), machine.board, machine.gic, machine.smp, machine.cpu)
    }
}

/// `check`, but not run again for a line that cannot change its verdict: a heartbeat or the PSCI
/// service's log of a suspend or resume of domain 1. The runner checks the whole output after
/// every line, and `suspend-cycles` prints over 2000 lines, so checking each of them costs more than
/// the test itself. A call with no new line (the last one, at the end of the settle time or the
/// time limit) always checks.
fn skipping_noise(check: impl Fn(Expected, &[String]) -> Progress) -> impl Fn(Expected, &[String]) -> Progress {
    let last: RefCell<(usize, Progress)> = RefCell::new((0, Progress::Waiting(String::new())));
    move |expected, lines| {
        let mut last = last.borrow_mut();
        let noise = lines.last().is_some_and(|line| {
            line.starts_with("(d2) heartbeat ")
                || line.starts_with("somnus: domain 1 suspended, resume at ")
                || line.starts_with("somnus: domain 1 resumed by ")
        });
        if noise && last.0 > 0 && lines.len() == last.0 + 1 && !matches!(last.1, Progress::Failed(_)) {
            last.0 = lines.len();
            return last.1.clone();
        }
        let verdict = check(expected, lines);
        *last = (lines.len(), verdict.clone());
        verdict
    }
}

/// `suspend-wake`'s cases, the RTC alarm case included, during which the heartbeat must beat at
/// least 5 times (the domain sleeps about a second). Case (f) ends as `rerouted` says: the
/// pending interrupt moved to vCPU 0 with its new target, or taken by vCPU 1 once started.
fn check_suspend_wake(expected: Expected, rerouted: bool, lines: &[String]) -> Progress {
    const WITH_RTC: [Pattern; 3] = [
        Pattern::domain(1, "suspend-wake: (b) suspending at RTC "),
        Pattern::domain(1, "suspend-wake: (b) resumed after "),
        Pattern::domain(1, "; PL031 present; "),
    ];
    const RTC_BEATS: [FollowedBy; 1] = [FollowedBy {
        after: Pattern::domain(1, "suspend-wake: (b) suspending at RTC "),
        count: 5,
        matching: Pattern::domain(2, "heartbeat "),
        before: Some(Pattern::domain(1, "suspend-wake: (b) resumed after ")),
    }];
    const REROUTED: Pattern = Pattern::domain(
        1,
        "suspend-wake: (f) the interrupt routed to the off vCPU 1 resumed vCPU 0; routed to vCPU 0, it gave key 'f'",
    );
    const STARTED: Pattern =
        Pattern::domain(1, "resumed vCPU 0, which did not take it; vCPU 1, started, took it: key 'f'");
    const REQUIRED_REROUTED: [Pattern; 18] =
        concat(SUSPEND_WAKE_COMMON, [WITH_RTC[0], WITH_RTC[1], WITH_RTC[2], REROUTED]);
    const REQUIRED_STARTED: [Pattern; 18] =
        concat(SUSPEND_WAKE_COMMON, [WITH_RTC[0], WITH_RTC[1], WITH_RTC[2], STARTED]);
    let required: &[Pattern] = if rerouted { &REQUIRED_REROUTED } else { &REQUIRED_STARTED };
    let want = GuestExpectations { domains: 2, required, forbidden: &[], followed_by: &RTC_BEATS };
    check_guests(expected, &want, lines)
}

/// `a` followed by `b`, at compile time.
const fn concat<const A: usize, const B: usize, const C: usize>(a: [Pattern; A], b: [Pattern; B]) -> [Pattern; C] {
    assert!(A + B == C);
    let mut out = [Pattern::anywhere(""); C];
    let mut index = 0;
    while index < A {
        out[index] = a[index];
        index += 1;
    }
    while index < C {
        out[index] = b[index - A];
        index += 1;
    }
    out
}

/// Between every two progress lines of `suspend-cycles` (100 cycles each) the heartbeat sharing
/// its CPU beat at least once: the other domain kept running while this one suspended and resumed.
fn heartbeat_between_progress(lines: &[String]) -> Progress {
    let progress = Pattern::domain(1, " cycles, ");
    let beat = Pattern::domain(2, "heartbeat ");
    let mut previous: Option<usize> = None;
    let mut beats_since = 0;
    for (index, line) in lines.iter().enumerate() {
        if beat.matches(line) {
            beats_since += 1;
        } else if progress.matches(line) && !line.contains("done: ") {
            if let Some(previous) = previous
                && beats_since == 0
            {
                return Progress::Failed(format!(
                    "no heartbeat between lines {} and {} while the suspend cycles ran",
                    previous + 1,
                    index + 1
                ));
            }
            previous = Some(index);
            beats_since = 0;
        }
    }
    Progress::Done
}

/// Domain `domain` ("name" in the domain file) boots [`BOOTS`] times: each boot prints its line,
/// then calls the reset; the hypervisor prints `restarted (generation <g>)` for each call (before
/// or after the new life's first line), g counting up by one; the domain prints nothing else
/// between its call and its next boot line.
fn boots(lines: &[String], domain: u8, name: &str, function: &str) -> Progress {
    let boot = Pattern::domain(domain, "system-reset: boot: image pristine, RAM zeroed, vCPU 1 off");
    let call = format!("system-reset: calling {function} with vCPU 1 running");
    let restarted = format!("somnus: domain {domain} \"{name}\" restarted (generation ");
    let own = Pattern::domain(domain, "");
    let (mut boots, mut calls, mut restarts) = (0_u32, 0_u32, 0_u32);
    let mut generation: Option<u32> = None;
    for (index, line) in lines.iter().enumerate() {
        let at = || format!("line {}: `{line}`", index + 1);
        if let Some((_, rest)) = line.split_once(&restarted) {
            if restarts >= calls {
                return Progress::Failed(format!("{}: domain {domain} restarted without calling {function}", at()));
            }
            let number: u32 = rest.trim_end_matches(')').parse().unwrap_or(0);
            if let Some(previous) = generation
                && number != previous + 1
            {
                return Progress::Failed(format!("{}: generation {number} after {previous}", at()));
            }
            generation = Some(number);
            restarts += 1;
        } else if boot.matches(line) {
            if boots != calls || restarts + 1 < calls {
                return Progress::Failed(format!(
                    "{}: boot {} after {calls} calls of {function} and {restarts} restarts",
                    at(),
                    boots + 1
                ));
            }
            boots += 1;
        } else if own.matches(line) {
            if boots == calls {
                return Progress::Failed(format!("{}: domain {domain} printed after calling {function}", at()));
            }
            if line.contains(&call) {
                calls += 1;
            }
        }
    }
    if boots >= BOOTS && restarts + 1 >= BOOTS {
        Progress::Done
    } else {
        Progress::Waiting(format!("domain {domain} booted {boots} of {BOOTS} times ({restarts} restarts)"))
    }
}

/// Nothing of `system-off` after its SYSTEM_OFF call.
fn silent_after_off(lines: &[String]) -> Progress {
    let call = Pattern::domain(1, "system-off: calling SYSTEM_OFF");
    let Some(called) = lines.iter().position(|line| call.matches(line)) else {
        return Progress::Waiting("no SYSTEM_OFF call yet".to_owned());
    };
    let own = Pattern::domain(1, "");
    match lines.iter().enumerate().skip(called + 1).find(|(_, line)| own.matches(line)) {
        Some((index, line)) => Progress::Failed(format!("line {}: `{line}` after SYSTEM_OFF", index + 1)),
        None => Progress::Done,
    }
}

/// `qemu-virt-gicv<g>-smp<n>` or `zcu102-smp4`, as in the other tests' names.
fn machine_tag(machine: Machine) -> String {
    match machine.board {
        Board::QemuVirt => format!("qemu-virt-gicv{}-smp{}", machine.gic.number(), machine.smp),
        Board::Zcu102 => format!("zcu102-smp{}", machine.smp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths;

    #[test]
    fn every_test_runs_on_both_gics_and_zcu102() {
        let names: Vec<String> = all().into_iter().map(|test| test.name).collect();
        for prefix in [
            "psci-functions-",
            "psci-suspend-wake-",
            "psci-suspend-cycles-",
            "psci-stale-timer-",
            "psci-races-",
            "psci-system-reset-",
            "psci-system-off-",
        ] {
            let on: Vec<&String> = names.iter().filter(|name| name.starts_with(prefix)).collect();
            assert_eq!(on.len(), 3, "{prefix}: {on:?}");
            assert!(on.iter().any(|name| name.contains("gicv2")) && on.iter().any(|name| name.contains("gicv3")));
            assert!(on.iter().any(|name| name.ends_with("zcu102-smp4")), "{on:?}");
        }
    }

    #[test]
    fn configurations_exist_and_only_suspend_wake_types() {
        for test in all() {
            let config = test.domains_path().expect("every test here has domains");
            assert!(config.is_file(), "{}: {} is missing", test.name, config.display());
            assert!(config.starts_with(paths::repo_root()), "{}", config.display());
            assert_eq!(!test.input.is_empty(), test.name.starts_with("psci-suspend-wake-"), "{}", test.name);
        }
    }

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|line| (*line).to_owned()).collect()
    }

    #[test]
    fn boots_follow_calls_and_restarts() {
        let call = "(d1) system-reset: calling SYSTEM_RESET with vCPU 1 running";
        let boot = "(d1) system-reset: boot: image pristine, RAM zeroed, vCPU 1 off and silent for 5 ms";
        let restart = |g: u32| format!("somnus: domain 1 \"reset\" restarted (generation {g})");
        let mut good = vec![boot.to_owned()];
        for generation in 1..=3 {
            good.extend([call.to_owned(), restart(generation), boot.to_owned()]);
        }
        assert_eq!(
            boots(&good[..good.len() - 1], 1, "reset", "SYSTEM_RESET"),
            Progress::Waiting("domain 1 booted 3 of 4 times (3 restarts)".into())
        );
        let early = lines(&[boot, call, boot, &restart(2), call, &restart(3), boot, call, boot, &restart(4)]);
        assert_eq!(boots(&early, 1, "reset", "SYSTEM_RESET"), Progress::Done);
        assert_eq!(boots(&good, 1, "reset", "SYSTEM_RESET"), Progress::Done);
        let chatty = lines(&[boot, call, "(d1) something", &restart(1)]);
        assert!(matches!(boots(&chatty, 1, "reset", "SYSTEM_RESET"), Progress::Failed(_)));
        let skipped = lines(&[boot, call, &restart(2), boot, call, &restart(4)]);
        let verdict = boots(&skipped, 1, "reset", "SYSTEM_RESET");
        assert!(matches!(&verdict, Progress::Failed(reason) if reason.contains("generation 4 after 2")), "{verdict:?}");
        let unasked = lines(&[boot, &restart(1)]);
        assert!(matches!(boots(&unasked, 1, "reset", "SYSTEM_RESET"), Progress::Failed(_)));
    }

    #[test]
    fn noise_lines_skip_the_check_but_a_repeated_call_does_not() {
        use std::cell::Cell;
        use std::rc::Rc;
        let calls = Rc::new(Cell::new(0));
        let counted = Rc::clone(&calls);
        let check = skipping_noise(move |_, lines: &[String]| {
            counted.set(counted.get() + 1);
            if lines.iter().any(|line| line.contains("done")) { Progress::Done } else { Progress::Waiting("x".into()) }
        });
        let expected =
            Expected { machine: machine(Board::QemuVirt, GicVersion::V2, 1, CpuModel::CortexA53), domains: 2 };
        let mut seen = lines(&["(d1) start"]);
        assert!(matches!(check(expected, &seen), Progress::Waiting(_)));
        seen.push("(d2) heartbeat 1".to_owned());
        seen.push("somnus: domain 1 resumed by interrupt 27".to_owned());
        assert!(matches!(check(expected, &seen[..2]), Progress::Waiting(_)));
        assert!(matches!(check(expected, &seen), Progress::Waiting(_)));
        assert_eq!(calls.get(), 1, "noise lines are not checked");
        seen.push("(d1) done".to_owned());
        assert_eq!(check(expected, &seen), Progress::Done);
        assert_eq!(check(expected, &seen), Progress::Done);
        assert_eq!(calls.get(), 3, "a new line of the guest and a repeated call are checked");
    }

    #[test]
    fn nothing_after_system_off_and_beats_between_progress() {
        let off = lines(&["(d1) system-off: calling SYSTEM_OFF with vCPU 1 running", "(d2) heartbeat 1"]);
        assert_eq!(silent_after_off(&off), Progress::Done);
        let mut late = off.clone();
        late.push("(d1) system-off: vCPU 1 tick 9".to_owned());
        assert!(matches!(silent_after_off(&late), Progress::Failed(_)));
        let beats = lines(&[
            "(d1) suspend-cycles: 100 cycles, x",
            "(d2) heartbeat 3",
            "(d1) suspend-cycles: 200 cycles, x",
            "(d1) suspend-cycles: done: 200 cycles, x",
        ]);
        assert_eq!(heartbeat_between_progress(&beats), Progress::Done);
        let stalled = lines(&["(d1) suspend-cycles: 100 cycles, x", "(d1) suspend-cycles: 200 cycles, x"]);
        assert!(matches!(heartbeat_between_progress(&stalled), Progress::Failed(_)));
    }
}
