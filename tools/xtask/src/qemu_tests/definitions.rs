//! The QEMU integration tests: which machine each one boots, which build, which domains, and
//! what it checks.

use std::path::{Path, PathBuf};

use crate::board::Board;
use crate::features::Features;
use crate::machine::{CpuModel, GicVersion, Machine};
use crate::qemu_tests::boot_check::{Expected, check_boot};
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
    /// Domain configuration of the image, relative to the repository root (or absolute);
    /// `None` boots an image without domains.
    pub domains: Option<PathBuf>,
    /// What the serial output must show, given the machine and the number of domains.
    pub check: fn(Expected, &[String]) -> Progress,
}

impl QemuTest {
    /// The domain configuration as an absolute path.
    pub fn domains_path(&self) -> Option<PathBuf> {
        self.domains.as_deref().map(|config| crate::paths::repo_root().join(config))
    }
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
            domains: None,
            check: check_el2_fault,
        },
    ]
}

/// Tests that boot the user's domain configuration (`cargo xtask test --domains FILE`) on every
/// board's default machine and check that every domain starts.
pub fn with_domain_file(config: &Path) -> Vec<QemuTest> {
    use Board::{QemuVirt, Zcu102};
    use CpuModel::CortexA53;
    use GicVersion::{V2, V3};
    [
        ("domains-file-qemu-virt-gicv2-smp4", QemuVirt, V2),
        ("domains-file-qemu-virt-gicv3-smp4", QemuVirt, V3),
        ("domains-file-zcu102-smp4", Zcu102, V2),
    ]
    .into_iter()
    .map(|(name, board, gic)| QemuTest { domains: Some(config.to_path_buf()), ..boot(name, board, gic, 4, CortexA53) })
    .collect()
}

/// A normal build without domains booted on `board`, checked for a complete boot.
fn boot(name: &'static str, board: Board, gic: GicVersion, smp: u8, cpu: CpuModel) -> QemuTest {
    QemuTest {
        name,
        machine: machine(board, gic, smp, cpu),
        features: Features::none(),
        domains: None,
        check: check_boot,
    }
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

    #[test]
    fn domain_file_tests_boot_the_file_on_every_board() {
        let tests = with_domain_file(Path::new("/tmp/mine.toml"));
        assert_eq!(tests.len(), 3);
        for test in &tests {
            assert!(test.name.starts_with("domains-file-"), "{}", test.name);
            assert_eq!(test.domains_path().as_deref(), Some(Path::new("/tmp/mine.toml")));
        }
        assert!(all().iter().all(|test| test.domains.is_none()), "the boot tests boot without domains");
        let relative = QemuTest {
            domains: Some(PathBuf::from("tests/guests/x.toml")),
            ..boot("x", Board::QemuVirt, GicVersion::V2, 1, CpuModel::CortexA53)
        };
        assert_eq!(relative.domains_path(), Some(crate::paths::repo_root().join("tests/guests/x.toml")));
    }
}
