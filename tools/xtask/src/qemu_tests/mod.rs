//! QEMU integration tests: boot each image on an emulated machine and check the hypervisor's
//! serial output. Definitions are in [`definitions`] and [`domain_tests`], the boot-and-wait
//! machinery in [`runner`].

pub mod boot_check;
pub mod definitions;
pub mod domain_tests;
pub mod entry_check;
pub mod fault_check;
pub mod guest_check;
pub mod kernel_log;
pub mod psci_tests;
pub mod pwrctl_tests;
pub mod runner;
pub mod u_boot_tests;
pub mod vgic_tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use definitions::{Artifact, QemuTest, all, with_domain_file};

use crate::board::Board;
use crate::domains;
use crate::features::Features;
use crate::host_tools;
use crate::image::{self, ImageRequest};
use crate::machine::Machine;
use crate::paths;
use crate::process::Sink;
use crate::qemu::{Serial, qemu_command_entering};
use crate::test_suite::report::Report;
use boot_check::Expected;
use runner::Limits;

/// How long to keep reading once a check is done, to catch lines that must not appear (a second
/// ready line, `TEST FAIL`, a vCPU that woke).
const SETTLE: Duration = Duration::from_secs(1);

/// A built test image: its files and the number of domains in its bundle.
#[derive(Clone, Debug)]
struct Built {
    elf: PathBuf,
    bin: PathBuf,
    domain_count: usize,
}

/// A built test image, or why it could not be built.
type BuiltImage = Result<Built, String>;

/// Runs the tests in order, building each image (board, features and domain configuration)
/// once. A test with a domain configuration first checks it against its own machine, so a
/// refusal fails that test alone.
pub fn run(tests: &[QemuTest], report: &mut Report) {
    if tests.is_empty() {
        return;
    }
    let log_dir = paths::test_log_dir();
    let setup_log = log_dir.join("qemu-setup.log");
    let setup = Sink::log_file(&setup_log).and_then(|sink| {
        host_tools::ensure(host_tools::QEMU, &sink)?;
        if tests.iter().any(|test| test.domains.is_some()) {
            domains::build_test_guests(&sink)?;
        }
        Ok(())
    });
    let mut images: HashMap<(Board, Features, Option<PathBuf>), BuiltImage> = HashMap::new();
    for test in tests {
        let name = test.name.as_str();
        let log = log_dir.join(format!("{name}.log"));
        if let Err(error) = &setup {
            report.fail(name, &format!("{error:#}"), Some(&setup_log));
            continue;
        }
        let config = test.domains_path();
        if let Some(config) = &config
            && let Err(refusal) = domains::check(config, test.machine)
        {
            report.fail(name, &refusal.to_string(), None);
            continue;
        }
        // The bundle does not depend on the CPU count, only its check does (done above).
        let key = (test.machine.board, test.features.clone(), config.clone());
        let built = images.entry(key).or_insert_with(|| build_image(test.machine, &test.features, config.as_deref()));
        let built = match built {
            Ok(built) => built.clone(),
            Err(reason) => {
                let image_log = image_log(test.machine, &test.features, config.as_deref());
                report.fail(name, &format!("image build failed: {reason}"), Some(&image_log));
                continue;
            }
        };
        let expected = Expected { machine: test.machine, domains: built.domain_count };
        let kernel = match test.boot.artifact {
            Artifact::Elf => &built.elf,
            Artifact::RawBinary | Artifact::UBootFit => &built.bin,
        };
        if let Some(drive) = test.drive {
            match pwrctl_tests::run(test, drive, kernel, &log) {
                Ok(()) => report.pass(name),
                Err(reason) => report.fail(name, &reason, Some(&log)),
            }
            continue;
        }
        let extra = test.boot.extra_args();
        let command = if test.boot.artifact == Artifact::UBootFit {
            let partition_log = log_dir.join(format!("{name}-boot-partition.log"));
            let command = Sink::log_file(&partition_log).and_then(|sink| {
                crate::u_boot::qemu_command(&sink, test.machine, &built.elf, &built.bin, &Serial::Stdout, &extra)
            });
            match command {
                Ok(command) => command,
                Err(error) => {
                    report.fail(name, &format!("preparing the boot partition: {error:#}"), Some(&partition_log));
                    continue;
                }
            }
        } else {
            qemu_command_entering(test.machine, test.boot.level, kernel, &Serial::Stdout, &extra)
        };
        let check = |lines: &[String]| (test.check)(expected, lines);
        let limits = Limits { timeout: test.timeout, settle: SETTLE };
        match runner::boot_and_watch(command, &log, limits, test.input, &check) {
            Ok(()) => report.pass(name),
            Err(reason) => report.fail(name, &reason, Some(&log)),
        }
    }
}

/// Makes the image with its output in `target/test-logs/image-<dir>.log`; returns the ELF and
/// the number of domains.
fn build_image(machine: Machine, features: &Features, config: Option<&Path>) -> BuiltImage {
    let dir = paths::test_image_dir(machine.board, features, config);
    let request = ImageRequest { machine, features, domains: config, dir };
    Sink::log_file(&image_log(machine, features, config))
        .and_then(|sink| image::make(&sink, &request))
        .map(|image| Built { elf: image.elf, bin: image.bin, domain_count: image.domain_count })
        .map_err(|error| format!("{error:#}"))
}

fn image_log(machine: Machine, features: &Features, config: Option<&Path>) -> PathBuf {
    let dir = paths::test_image_dir(machine.board, features, config);
    let name = dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    paths::test_log_dir().join(format!("image-{name}.log"))
}
