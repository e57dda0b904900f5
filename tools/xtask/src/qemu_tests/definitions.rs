//! The QEMU integration tests: which machine each one boots, which build, which domains, how
//! QEMU enters it, and what it checks. The tests with domains are in [`domain_tests`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::board::Board;
use crate::features::Features;
use crate::machine::{CpuModel, GicVersion, Machine};
use crate::qemu::EntryLevel;
use crate::qemu_tests::boot_check::{Expected, check_boot};
use crate::qemu_tests::domain_tests;
use crate::qemu_tests::entry_check::{check_raw_binary_boot, check_refused_level};
use crate::qemu_tests::fault_check::check_el2_fault;
use crate::qemu_tests::runner::{Progress, SerialInput};
use crate::qemu_tests::vgic_tests;

/// Hard limit of a test from QEMU's start to the verdict. Every test passes in a few seconds;
/// the limit only matters when one hangs.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// Hard limit of the tests that expect Somnus to refuse to run: it says why within milliseconds.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(5);

/// What a test concludes from the serial output, given the machine and the number of domains.
pub type Check = Box<dyn Fn(Expected, &[String]) -> Progress>;

/// Which artifact of the image QEMU's `-kernel` loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Artifact {
    /// `somnus.elf`: QEMU loads its segments and leaves a device tree at the start of RAM.
    Elf,
    /// `somnus.bin`: an arm64 Image, which QEMU boots with the device tree address in x0.
    RawBinary,
    /// `somnus.itb` on a boot partition that U-Boot, QEMU's firmware, finds and boots by itself
    /// (see [`crate::u_boot`]).
    UBootFit,
}

/// How QEMU boots the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Boot {
    /// The exception level QEMU enters the image at.
    pub level: EntryLevel,
    /// The file QEMU loads.
    pub artifact: Artifact,
    /// Further QEMU arguments, e.g. `-icount` for counter time that does not follow the host.
    pub extra: &'static [&'static str],
}

impl Boot {
    /// The normal boot: `somnus.elf` entered at EL2.
    pub const NORMAL: Self = Self { level: EntryLevel::El2, artifact: Artifact::Elf, extra: &[] };

    /// The extra QEMU arguments, ready for the command line.
    pub fn extra_args(&self) -> Vec<OsString> {
        self.extra.iter().map(OsString::from).collect()
    }
}

/// One QEMU integration test.
pub struct QemuTest {
    /// Test name (also the log's file name).
    pub name: String,
    /// The machine QEMU emulates.
    pub machine: Machine,
    /// Cargo features of the board build it boots.
    pub features: Features,
    /// Domain configuration of the image, relative to the repository root (or absolute);
    /// `None` boots an image without domains.
    pub domains: Option<PathBuf>,
    /// How QEMU boots it.
    pub boot: Boot,
    /// Hard time limit.
    pub timeout: Duration,
    /// What is typed on the serial line, and when; most tests type nothing.
    pub input: &'static [SerialInput],
    /// What the serial output must show.
    pub check: Check,
    /// A test that drives QEMU over a Unix socket itself (see [`pwrctl_tests`]) instead of
    /// watching its output with `check`.
    ///
    /// [`pwrctl_tests`]: crate::qemu_tests::pwrctl_tests
    pub drive: Option<crate::qemu_tests::pwrctl_tests::Drive>,
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
    let mut tests = vec![
        boot("boot-qemu-virt-gicv2-smp1", QemuVirt, V2, 1, CortexA53),
        boot("boot-qemu-virt-gicv2-smp4", QemuVirt, V2, 4, CortexA53),
        boot("boot-qemu-virt-gicv3-smp8", QemuVirt, V3, 8, CortexA53),
        boot("boot-qemu-virt-gicv3-cortex-a72-smp2", QemuVirt, V3, 2, CortexA72),
        boot("boot-zcu102-smp4", Zcu102, V2, 4, CortexA53),
        QemuTest {
            boot: Boot { artifact: Artifact::RawBinary, ..Boot::NORMAL },
            check: Box::new(check_raw_binary_boot),
            ..boot("boot-raw-binary-qemu-virt-gicv2-smp4", QemuVirt, V2, 4, CortexA53)
        },
        refused_level(EntryLevel::El1, 1),
        refused_level(EntryLevel::El3, 3),
        QemuTest {
            features: Features::parse("el2-fault-test"),
            check: Box::new(check_el2_fault),
            ..boot("el2-fault-qemu-virt-gicv2-smp2", QemuVirt, V2, 2, CortexA53)
        },
    ];
    tests.extend(domain_tests::all());
    tests.extend(vgic_tests::all());
    tests.extend(crate::qemu_tests::psci_tests::all());
    tests.extend(crate::qemu_tests::pwrctl_tests::all());
    tests.extend(crate::qemu_tests::u_boot_tests::all());
    tests
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
pub fn boot(name: &str, board: Board, gic: GicVersion, smp: u8, cpu: CpuModel) -> QemuTest {
    QemuTest {
        name: name.to_owned(),
        machine: machine(board, gic, smp, cpu),
        features: Features::none(),
        domains: None,
        boot: Boot::NORMAL,
        timeout: TIMEOUT,
        input: &[],
        check: Box::new(check_boot),
        drive: None,
    }
}

/// The normal build entered at EL1 or EL3 on qemu-virt: it must refuse to run.
fn refused_level(level: EntryLevel, number: u8) -> QemuTest {
    let name = format!("entered-at-el{number}-qemu-virt-gicv2-smp1");
    QemuTest {
        boot: Boot { level, ..Boot::NORMAL },
        timeout: REFUSAL_TIMEOUT,
        check: Box::new(move |_, lines: &[String]| check_refused_level(number, lines)),
        ..boot(&name, Board::QemuVirt, GicVersion::V2, 1, CpuModel::CortexA53)
    }
}

/// A machine the tests boot; the definitions only use valid ones.
pub fn machine(board: Board, gic: GicVersion, smp: u8, cpu: CpuModel) -> Machine {
    Machine::new(board, Some(gic), Some(smp), Some(cpu))
        .unwrap_or_else(|error| panic!("invalid QEMU test machine: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_machines_valid() {
        let tests = all();
        let mut names: Vec<&str> = tests.iter().map(|test| test.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), tests.len());
        assert!(tests.iter().any(|test| test.machine.board == Board::Zcu102));
        assert!(tests.iter().any(|test| test.machine.gic == GicVersion::V3 && test.machine.smp == 8));
    }

    #[test]
    fn foundation_tests_choose_entry_level_and_artifact() {
        let tests = all();
        let find = |name: &str| tests.iter().find(|test| test.name == name).unwrap();
        assert_eq!(find("entered-at-el1-qemu-virt-gicv2-smp1").boot.level, EntryLevel::El1);
        assert_eq!(find("entered-at-el3-qemu-virt-gicv2-smp1").boot.level, EntryLevel::El3);
        let raw = find("boot-raw-binary-qemu-virt-gicv2-smp4");
        assert_eq!((raw.boot.artifact, raw.boot.level), (Artifact::RawBinary, EntryLevel::El2));
        assert_eq!(find("boot-zcu102-smp4").boot, Boot::NORMAL);
    }

    #[test]
    fn domain_file_tests_boot_the_file_on_every_board() {
        let tests = with_domain_file(Path::new("/tmp/mine.toml"));
        assert_eq!(tests.len(), 3);
        for test in &tests {
            assert!(test.name.starts_with("domains-file-"), "{}", test.name);
            assert_eq!(test.domains_path().as_deref(), Some(Path::new("/tmp/mine.toml")));
        }
        assert!(
            all().iter().filter(|test| test.name.starts_with("boot-")).all(|test| test.domains.is_none()),
            "the boot tests boot without domains"
        );
        let relative = QemuTest {
            domains: Some(PathBuf::from("tests/guests/x.toml")),
            ..boot("x", Board::QemuVirt, GicVersion::V2, 1, CpuModel::CortexA53)
        };
        assert_eq!(relative.domains_path(), Some(crate::paths::repo_root().join("tests/guests/x.toml")));
    }
}
