//! Checks of the `el2-fault-test` build: after a normal boot the last CPU takes a deliberate EL2
//! data abort at 0x0000dead00000000, dumps its registers, stops, and CPU 0 carries on.

use crate::qemu_tests::boot_check::{Expected, boot_progress};
use crate::qemu_tests::kernel_log::{KernelLog, contains_word, register_value};
use crate::qemu_tests::runner::Progress;

/// Exception class of a data abort taken without a change of exception level (ESR_EL2.EC).
const EC_DATA_ABORT_SAME_EL: u64 = 0x25;

/// Faulting address the test build uses.
const FAULT_ADDRESS: u64 = 0x0000_dead_0000_0000;

/// A full boot, then the dump of the deliberate fault on the last CPU, then CPU 0 still running.
pub fn check_el2_fault(expected: Expected, lines: &[String]) -> Progress {
    let cpu = usize::from(expected.machine.smp) - 1;
    boot_progress(expected, lines).then(|| fault_progress(cpu, lines))
}

fn fault_progress(cpu: usize, lines: &[String]) -> Progress {
    let log = KernelLog::new(lines);
    let exceptions: Vec<(usize, &str)> = log.starting_with("somnus: unexpected exception on cpu ").collect();
    let (start, line) = match exceptions.as_slice() {
        [] => {
            return Progress::Waiting(format!("no `somnus: unexpected exception on cpu {cpu}: ...` line"));
        }
        [only] => *only,
        many => return Progress::Failed(format!("{} exception dumps, expected one", many.len())),
    };
    let expected_start = format!("somnus: unexpected exception on cpu {cpu}: ");
    if !line.starts_with(&expected_start) {
        return Progress::Failed(format!("`{line}`: expected the last CPU, {cpu}, to fault"));
    }
    if let Some((ready, _)) = log.starting_with("somnus: ready ").next().filter(|&(ready, _)| ready > start) {
        return Progress::Failed(format!("the fault (line {start}) came before the ready line (line {ready})"));
    }
    let stopped = format!("somnus: cpu {cpu} stopped");
    let Some(end) = log.find_after(start, &stopped) else {
        return Progress::Waiting(format!("no `{stopped}` line after the exception dump"));
    };
    let dump: Vec<&str> = log.between(start, end).collect();
    if let Err(reason) = check_dump(&dump.join("\n")) {
        return Progress::Failed(reason);
    }
    let running = format!("somnus: fault-test: cpu 0 still running after cpu {cpu} stopped");
    if log.find_after(end, &running).is_none() {
        return Progress::Waiting(format!("no `{running}` line"));
    }
    Progress::Done
}

/// The dump (every output line from the exception line to the stopped line) must show an EL2
/// data abort at the test address, the exception registers and every general register
/// `x00`..`x30`.
fn check_dump(dump: &str) -> Result<(), String> {
    let mut missing: Vec<String> = ["ESR_EL2", "FAR_EL2", "ELR_EL2", "SPSR_EL2"]
        .into_iter()
        .filter(|name| register_value(dump, name).is_none())
        .map(|name| format!("`{name} 0x...`"))
        .collect();
    missing.extend((0..=30).map(|n| format!("x{n:02}")).filter(|reg| !contains_word(dump, reg)));
    if !missing.is_empty() {
        return Err(format!("register dump lacks {}", missing.join(", ")));
    }
    let far = register_value(dump, "FAR_EL2").unwrap_or_default();
    if far != FAULT_ADDRESS {
        return Err(format!("FAR_EL2 {far:#018x}, expected {FAULT_ADDRESS:#018x}"));
    }
    let esr = register_value(dump, "ESR_EL2").unwrap_or_default();
    let class = (esr >> 26) & 0x3f;
    if class != EC_DATA_ABORT_SAME_EL {
        return Err(format!(
            "ESR_EL2 {esr:#x} has exception class {class:#x}, expected \
             {EC_DATA_ABORT_SAME_EL:#x} (data abort at EL2)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Board;
    use crate::machine::{GicVersion, Machine};

    fn machine() -> Expected {
        let machine = Machine::new(Board::QemuVirt, Some(GicVersion::V2), Some(2), None).unwrap();
        Expected { machine, domains: 0 }
    }

    /// A complete, correct fault-test log, as the kernel prints it.
    fn good_log() -> Vec<String> {
        let text = "\
somnus: device tree at 0x40000000
somnus: cpu 0 online (mpidr 0x0), EL2 timer ticking
somnus: cpu 1 online (mpidr 0x1), EL2 timer ticking
somnus: ready board=qemu-virt gic=v2 cpus=2 domains=0
somnus: unexpected exception on cpu 1: synchronous, current EL with SP_EL2
  ESR_EL2  0x0000000097c88004 (class 0x25: data abort, same EL)
  FAR_EL2  0x0000dead00000000
  ELR_EL2  0x000000004020653c
  SPSR_EL2 0x00000000600003c9
  SP       0x0000000040220d40
  x00 0x0000000040208b68  x01 0x0000000040220da0  x02 0x0000000040220ff0  x03 0x0000000000000000
  x04 0x0000000000000000  x05 0x0000000000000000  x06 0x0000000000000000  x07 0x0000000000000000
  x08 0x0000dead00000000  x09 0x0000000000000002  x10 0x0000000000000003  x11 0x0000000000000000
  x12 0x0000000008000400  x13 0x00000000ffffffff  x14 0x0000000000000000  x15 0x0000000000000000
  x16 0x0000000000000000  x17 0x0000000000000000  x18 0x0000000000000000  x19 0x0000000040220e50
  x20 0x0000000040210000  x21 0x000000004020817a  x22 0x000000004020a000  x23 0x0000000000000002
  x24 0x000000000000001a  x25 0x000000000000001a  x26 0x000000004020a000  x27 0x00000000402023e0
  x28 0xffffffffffffe3fb  x29 0x0000000000000001  x30 0x0000000040200ff4
somnus: cpu 1 stopped
somnus: fault-test: cpu 0 still running after cpu 1 stopped
";
        text.lines().map(str::to_owned).collect()
    }

    /// `good_log` with `from` replaced by `to` in every line.
    fn edited(from: &str, to: &str) -> Vec<String> {
        good_log().into_iter().map(|line| line.replace(from, to)).collect()
    }

    #[test]
    fn complete_dump_is_done() {
        assert_eq!(check_el2_fault(machine(), &good_log()), Progress::Done);
    }

    #[test]
    fn waits_until_stopped_and_still_running_lines() {
        let log = good_log();
        let Progress::Waiting(reason) = check_el2_fault(machine(), &log[..log.len() - 2]) else { panic!() };
        assert!(reason.contains("somnus: cpu 1 stopped"), "{reason}");
        let Progress::Waiting(reason) = check_el2_fault(machine(), &log[..log.len() - 1]) else { panic!() };
        assert!(reason.contains("still running"), "{reason}");
        let Progress::Waiting(reason) = check_el2_fault(machine(), &log[..4]) else { panic!() };
        assert!(reason.contains("unexpected exception on cpu 1"), "{reason}");
    }

    #[test]
    fn incomplete_dump_fails() {
        let mut log = edited("x17 ", "y17 ");
        log.retain(|line| !line.contains("SPSR_EL2"));
        let Progress::Failed(reason) = check_el2_fault(machine(), &log) else { panic!() };
        assert_eq!(reason, "register dump lacks `SPSR_EL2 0x...`, x17");
    }

    #[test]
    fn wrong_fault_address_class_or_cpu_fails() {
        let log = edited("FAR_EL2  0x0000dead00000000", "FAR_EL2  0x0000000000000000");
        let Progress::Failed(reason) = check_el2_fault(machine(), &log) else { panic!() };
        assert_eq!(reason, "FAR_EL2 0x0000000000000000, expected 0x0000dead00000000");
        let log = edited("0x0000000097c88004", "0x0000000002000000");
        let Progress::Failed(reason) = check_el2_fault(machine(), &log) else { panic!() };
        assert!(reason.contains("exception class 0x0"), "{reason}");
        let log = edited("on cpu 1:", "on cpu 0:");
        let Progress::Failed(reason) = check_el2_fault(machine(), &log) else { panic!() };
        assert!(reason.contains("expected the last CPU, 1"), "{reason}");
    }

    #[test]
    fn fault_before_ready_fails() {
        let mut log = good_log();
        let ready = log.remove(3);
        log.push(ready);
        assert!(matches!(check_el2_fault(machine(), &log), Progress::Failed(r) if r.contains("before the ready line")));
    }
}
