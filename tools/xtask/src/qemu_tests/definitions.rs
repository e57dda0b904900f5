//! The QEMU integration tests: which machine each one boots, which build, and what it checks.

use crate::board::Board;
use crate::features::Features;
use crate::machine::{CpuModel, GicVersion, Machine};
use crate::qemu_tests::boot_check::check_boot;
use crate::qemu_tests::fault_check::check_el2_fault;
use crate::qemu_tests::runner::Progress;

/// One QEMU integration test.
pub struct QemuTest {
    /// Test name (also the log's file name).
    pub name: &'static str,
    /// The machine QEMU emulates.
    pub machine: Machine,
    /// Cargo features of the board build it boots.
    pub features: Features,
    /// What the serial output must show.
    pub check: fn(Machine, &[String]) -> Progress,
}

/// Every QEMU integration test, in the order they run.
pub fn all() -> Vec<QemuTest> {
    use Board::{QemuVirt, Zcu102};
    use CpuModel::{CortexA53, CortexA72};
    use GicVersion::{V2, V3};
    vec![
        boot("boot-qemu-virt-gicv2-smp1", QemuVirt, V2, 1, CortexA53),
        boot("boot-qemu-virt-gicv2-smp4", QemuVirt, V2, 4, CortexA53),
        boot("boot-qemu-virt-gicv3-smp8", QemuVirt, V3, 8, CortexA53),
        boot("boot-qemu-virt-gicv3-cortex-a72-smp2", QemuVirt, V3, 2, CortexA72),
        boot("boot-zcu102-smp4", Zcu102, V2, 4, CortexA53),
        QemuTest {
            name: "el2-fault-qemu-virt-gicv2-smp2",
            machine: machine(QemuVirt, V2, 2, CortexA53),
            features: Features::parse("el2-fault-test"),
            check: check_el2_fault,
        },
    ]
}

/// A normal build booted on `board`, checked for a complete boot.
fn boot(name: &'static str, board: Board, gic: GicVersion, smp: u8, cpu: CpuModel) -> QemuTest {
    QemuTest { name, machine: machine(board, gic, smp, cpu), features: Features::none(), check: check_boot }
}

fn machine(board: Board, gic: GicVersion, smp: u8, cpu: CpuModel) -> Machine {
    Machine::new(board, Some(gic), Some(smp), Some(cpu))
        .unwrap_or_else(|error| panic!("invalid QEMU test machine: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_machines_valid() {
        let tests = all();
        let mut names: Vec<&str> = tests.iter().map(|test| test.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), tests.len());
        assert!(tests.iter().any(|test| test.machine.board == Board::Zcu102));
        assert!(tests.iter().any(|test| test.machine.gic == GicVersion::V3 && test.machine.smp == 8));
    }
}
