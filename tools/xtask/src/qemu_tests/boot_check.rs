//! Checks of a normal boot: every CPU reports `online` once its EL2 timer ticks, and the ready
//! line names the right board, GIC version, CPU count and number of domains, exactly once.

use crate::machine::Machine;
use crate::qemu_tests::kernel_log::{KernelLog, panic_line};
use crate::qemu_tests::runner::Progress;

/// What a boot must show: the machine QEMU emulates and the domains the image carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The machine booted.
    pub machine: Machine,
    /// Number of domains in the image's bundle (0 for an empty bundle).
    pub domains: usize,
}

/// The ready line the hypervisor must print.
pub fn ready_line(expected: Expected) -> String {
    let Expected { machine, domains } = expected;
    format!(
        "somnus: ready board={} gic=v{} cpus={} domains={domains}",
        machine.board.name(),
        machine.gic.number(),
        machine.smp
    )
}

/// A boot without any exception: see [`boot_progress`].
pub fn check_boot(expected: Expected, lines: &[String]) -> Progress {
    let log = KernelLog::new(lines);
    if let Some((_, line)) = log.starting_with("somnus: unexpected exception").next() {
        return Progress::Failed(format!("unexpected exception: `{line}`"));
    }
    boot_progress(expected, lines)
}

/// No panic, one `online` line per CPU with distinct MPIDRs, and exactly one ready line, which
/// must be the expected one.
pub fn boot_progress(expected: Expected, lines: &[String]) -> Progress {
    if let Some(line) = panic_line(lines) {
        return Progress::Failed(format!("kernel panic: `{}`", line.trim()));
    }
    let log = KernelLog::new(lines);
    ready_progress(expected, &log).then(|| online_progress(expected.machine, &log))
}

fn ready_progress(expected: Expected, log: &KernelLog<'_>) -> Progress {
    let expected = ready_line(expected);
    let ready: Vec<&str> = log.starting_with("somnus: ready ").map(|(_, line)| line).collect();
    match ready.as_slice() {
        [] => Progress::Waiting(format!("no ready line `{expected}`")),
        [line] if *line == expected => Progress::Done,
        [line] => Progress::Failed(format!("ready line `{line}`, expected `{expected}`")),
        many => Progress::Failed(format!("ready line printed {} times, expected once", many.len())),
    }
}

fn online_progress(machine: Machine, log: &KernelLog<'_>) -> Progress {
    let cpus = usize::from(machine.smp);
    let mut mpidrs: Vec<Option<&str>> = vec![None; cpus];
    for (_, line) in log.starting_with("somnus: cpu ") {
        let Some((cpu, mpidr)) = parse_online(line) else {
            continue;
        };
        if cpu >= cpus {
            return Progress::Failed(format!("`{line}`: only {cpus} CPUs were started"));
        }
        if let Some(other) = mpidrs.iter().position(|&seen| seen == Some(mpidr)).filter(|&other| other != cpu) {
            return Progress::Failed(format!("cpus {other} and {cpu} both report mpidr 0x{mpidr}"));
        }
        mpidrs[cpu] = Some(mpidr);
    }
    let missing: Vec<String> =
        mpidrs.iter().enumerate().filter(|(_, seen)| seen.is_none()).map(|(cpu, _)| cpu.to_string()).collect();
    if missing.is_empty() {
        Progress::Done
    } else {
        Progress::Waiting(format!(
            "no `somnus: cpu <i> online (mpidr 0x..), EL2 timer ticking` line for cpu {}",
            missing.join(", ")
        ))
    }
}

/// Parses `somnus: cpu <i> online (mpidr 0x<hex>), EL2 timer ticking` into `(i, hex)`.
pub fn parse_online(line: &str) -> Option<(usize, &str)> {
    let rest = line.strip_prefix("somnus: cpu ")?;
    let (cpu, rest) = rest.split_once(" online (mpidr 0x")?;
    let mpidr = rest.strip_suffix("), EL2 timer ticking")?;
    let valid = !mpidr.is_empty() && mpidr.chars().all(|c| c.is_ascii_hexdigit());
    Some((cpu.parse().ok()?, mpidr)).filter(|_| valid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Board;
    use crate::machine::GicVersion;

    fn machine(smp: u8) -> Expected {
        let machine = Machine::new(Board::QemuVirt, Some(GicVersion::V3), Some(smp), None).unwrap();
        Expected { machine, domains: 0 }
    }

    fn online(cpu: u8) -> String {
        format!("somnus: cpu {cpu} online (mpidr 0x{:x}), EL2 timer ticking", 0x8000_0000_u32 + u32::from(cpu))
    }

    fn lines(items: &[&str]) -> Vec<String> {
        items.iter().map(|line| (*line).to_owned()).collect()
    }

    #[test]
    fn complete_boot_is_done() {
        let m = machine(2);
        let log = vec![online(1), "noise".into(), online(0), ready_line(m)];
        assert_eq!(check_boot(m, &log), Progress::Done);
        assert_eq!(ready_line(m), "somnus: ready board=qemu-virt gic=v3 cpus=2 domains=0");
    }

    #[test]
    fn the_domain_count_comes_from_the_bundle() {
        let two = Expected { domains: 2, ..machine(1) };
        assert_eq!(ready_line(two), "somnus: ready board=qemu-virt gic=v3 cpus=1 domains=2");
        assert_eq!(check_boot(two, &[online(0), ready_line(two)]), Progress::Done);
        let Progress::Failed(reason) = check_boot(two, &[online(0), ready_line(machine(1))]) else {
            panic!("a ready line with domains=0 passed for a bundle of two")
        };
        assert!(reason.ends_with("domains=2`"), "{reason}");
    }

    #[test]
    fn waits_for_missing_cpus_and_ready_line() {
        let m = machine(4);
        let Progress::Waiting(reason) = check_boot(m, &[online(0), online(2)]) else { panic!("not waiting") };
        assert!(reason.contains("no ready line"), "{reason}");
        let Progress::Waiting(reason) = check_boot(m, &[online(0), online(2), ready_line(m)]) else {
            panic!("not waiting")
        };
        assert!(reason.ends_with("for cpu 1, 3"), "{reason}");
    }

    #[test]
    fn wrong_or_repeated_ready_line_fails() {
        let m = machine(1);
        let wrong = lines(&["somnus: ready board=qemu-virt gic=v2 cpus=1 domains=0"]);
        let Progress::Failed(reason) = check_boot(m, &wrong) else { panic!("not failed") };
        assert!(reason.contains("expected `somnus: ready board=qemu-virt gic=v3 cpus=1"), "{reason}");
        let twice = vec![online(0), ready_line(m), ready_line(m)];
        assert_eq!(check_boot(m, &twice), Progress::Failed("ready line printed 2 times, expected once".into()));
    }

    #[test]
    fn extra_cpus_duplicate_mpidrs_exceptions_and_panics_fail() {
        let m = machine(2);
        assert!(matches!(check_boot(m, &[online(2)]), Progress::Failed(_)));
        let same = lines(&[
            "somnus: cpu 0 online (mpidr 0x80000000), EL2 timer ticking",
            "somnus: cpu 1 online (mpidr 0x80000000), EL2 timer ticking",
        ]);
        assert!(matches!(check_boot(m, &same), Progress::Failed(r) if r.contains("both report")));
        let exception = lines(&["somnus: unexpected exception on cpu 0: sync"]);
        assert!(matches!(check_boot(m, &exception), Progress::Failed(_)));
        let panic = lines(&["somnus: panicked at kernel/src/lib.rs:3:5: oops"]);
        assert!(matches!(check_boot(m, &panic), Progress::Failed(r) if r.contains("panic")));
    }

    #[test]
    fn online_line_format() {
        assert_eq!(parse_online(&online(3)), Some((3, "80000003")));
        assert_eq!(parse_online("somnus: cpu 3 online (mpidr 0xzz), EL2 timer ticking"), None);
        assert_eq!(parse_online("somnus: cpu 3 stopped"), None);
        assert_eq!(parse_online("somnus: cpu x online (mpidr 0x1), EL2 timer ticking"), None);
    }
}
