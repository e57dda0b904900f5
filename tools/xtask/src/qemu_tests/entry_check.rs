//! Checks of how Somnus is entered: at the wrong exception level it must say why and stop before
//! anything else; booted as the raw `somnus.bin` (arm64 Image header) it must use the device tree
//! QEMU passes in x0, which QEMU then places after the image rather than at the start of RAM.

use crate::qemu_tests::boot_check::{Expected, boot_progress};
use crate::qemu_tests::kernel_log::KernelLog;
use crate::qemu_tests::runner::Progress;

/// Where QEMU `virt` leaves a device tree for an ELF image: the start of RAM.
const RAM_START_TREE: u64 = 0x4000_0000;

/// Entered at `level` (1 or 3): exactly one line `somnus: entered at EL<level>, but Somnus runs at
/// EL2: <advice>. Stopping.` and no other hypervisor line (no banner, no CPU, no ready line).
pub fn check_refused_level(level: u8, lines: &[String]) -> Progress {
    let expected = format!("somnus: entered at EL{level}, but Somnus runs at EL2: ");
    let log = KernelLog::new(lines);
    let mut refusals = Vec::new();
    for (_, line) in log.starting_with("somnus: ") {
        if !line.starts_with("somnus: entered at EL") {
            return Progress::Failed(format!("`{line}` after being entered at EL{level}: Somnus must stop first"));
        }
        if !line.starts_with(&expected) {
            return Progress::Failed(format!("`{line}`, expected `{expected}...`"));
        }
        if !line.ends_with(". Stopping.") {
            return Progress::Failed(format!("`{line}` does not end with `. Stopping.`"));
        }
        refusals.push(line);
    }
    match refusals.len() {
        0 => Progress::Waiting(format!("no `{expected}...` line")),
        1 => Progress::Done,
        n => Progress::Failed(format!("the refusal was printed {n} times")),
    }
}

/// A complete boot from the raw binary, whose banner names a device tree that is not the copy
/// at the start of RAM: the one QEMU passed in x0.
pub fn check_raw_binary_boot(expected: Expected, lines: &[String]) -> Progress {
    tree_progress(lines).then(|| boot_progress(expected, lines))
}

fn tree_progress(lines: &[String]) -> Progress {
    let log = KernelLog::new(lines);
    if let Some((_, line)) = log.starting_with("somnus: no device tree").next() {
        return Progress::Failed(format!("`{line}`: QEMU passes a device tree in x0 to an Image"));
    }
    let Some((_, line)) = log.starting_with("somnus: device tree at ").next() else {
        return Progress::Waiting("no `somnus: device tree at 0x...` line".to_owned());
    };
    if line.contains("unusable") {
        return Progress::Failed(format!("`{line}`"));
    }
    let address = line
        .strip_prefix("somnus: device tree at 0x")
        .and_then(|hex| u64::from_str_radix(hex.split_whitespace().next().unwrap_or(hex), 16).ok());
    match address {
        None => Progress::Failed(format!("`{line}`: no hexadecimal address")),
        Some(RAM_START_TREE) => Progress::Failed(format!(
            "`{line}`: the copy at the start of RAM, not the tree QEMU passed in x0 to the Image"
        )),
        Some(_) => Progress::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Board;
    use crate::machine::{GicVersion, Machine};

    fn owned(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|line| (*line).to_owned()).collect()
    }

    const EL1: &str = "somnus: entered at EL1, but Somnus runs at EL2: the boot loader dropped to EL1; with \
                       QEMU add virtualization=on to -M. Stopping.";

    #[test]
    fn a_single_refusal_is_done() {
        assert_eq!(check_refused_level(1, &owned(&["qemu noise", EL1])), Progress::Done);
        let el3 = EL1.replace("EL1,", "EL3,");
        assert_eq!(check_refused_level(3, &owned(&[&el3])), Progress::Done);
        let Progress::Waiting(reason) = check_refused_level(3, &owned(&["noise"])) else { panic!() };
        assert!(reason.contains("entered at EL3"), "{reason}");
    }

    #[test]
    fn anything_after_the_refusal_or_the_wrong_level_fails() {
        let ready = "somnus: ready board=qemu-virt gic=v2 cpus=1 domains=0";
        let Progress::Failed(reason) = check_refused_level(1, &owned(&[EL1, ready])) else { panic!() };
        assert!(reason.contains("Somnus must stop first"), "{reason}");
        let Progress::Failed(reason) = check_refused_level(3, &owned(&[EL1])) else { panic!() };
        assert!(reason.contains("expected `somnus: entered at EL3"), "{reason}");
        assert!(matches!(check_refused_level(1, &owned(&[EL1, EL1])), Progress::Failed(_)));
        let unfinished = EL1.replace(" Stopping.", "");
        assert!(matches!(check_refused_level(1, &owned(&[&unfinished])), Progress::Failed(_)));
    }

    fn raw_boot(tree_line: &str) -> Vec<String> {
        owned(&[
            tree_line,
            "somnus: cpu 0 online (mpidr 0x0), EL2 timer ticking",
            "somnus: ready board=qemu-virt gic=v2 cpus=1 domains=0",
        ])
    }

    fn expected() -> Expected {
        let machine = Machine::new(Board::QemuVirt, Some(GicVersion::V2), Some(1), None).unwrap();
        Expected { machine, domains: 0 }
    }

    #[test]
    fn the_raw_binary_uses_the_tree_from_x0() {
        assert_eq!(check_raw_binary_boot(expected(), &raw_boot("somnus: device tree at 0x48000000")), Progress::Done);
        let Progress::Failed(reason) =
            check_raw_binary_boot(expected(), &raw_boot("somnus: device tree at 0x40000000"))
        else {
            panic!()
        };
        assert!(reason.contains("not the tree QEMU passed in x0"), "{reason}");
        let fallback = raw_boot("somnus: no device tree; using qemu-virt constants");
        assert!(matches!(check_raw_binary_boot(expected(), &fallback), Progress::Failed(_)));
        let unusable = raw_boot("somnus: device tree at 0x48000000 unusable (bad magic); using qemu-virt constants");
        assert!(matches!(check_raw_binary_boot(expected(), &unusable), Progress::Failed(_)));
        let Progress::Waiting(_) = check_raw_binary_boot(expected(), &raw_boot("somnus: Somnus 0.1.0")[..1]) else {
            panic!()
        };
    }
}
