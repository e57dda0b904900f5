//! QEMU integration tests: boot each image on an emulated machine and check the hypervisor's
//! serial output. Definitions are in [`definitions`], the boot-and-wait machinery in [`runner`].

pub mod boot_check;
pub mod definitions;
pub mod fault_check;
pub mod kernel_log;
pub mod runner;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

pub use definitions::{QemuTest, all};

use crate::board::Board;
use crate::features::Features;
use crate::host_tools;
use crate::image;
use crate::paths;
use crate::process::Sink;
use crate::qemu::{Serial, qemu_command};
use crate::test_suite::report::Report;
use runner::Limits;

/// Time limits of every QEMU test.
const LIMITS: Limits = Limits { timeout: Duration::from_secs(30), settle: Duration::from_secs(1) };

/// Runs the tests in order, building each image (board and features) once.
pub fn run(tests: &[QemuTest], report: &mut Report) {
    if tests.is_empty() {
        return;
    }
    let log_dir = paths::test_log_dir();
    let setup_log = log_dir.join("qemu-setup.log");
    let qemu_ready = Sink::log_file(&setup_log).and_then(|sink| host_tools::ensure(host_tools::QEMU, &sink));
    let mut images: HashMap<(Board, Features), Result<PathBuf, String>> = HashMap::new();
    for test in tests {
        let log = log_dir.join(format!("{}.log", test.name));
        if let Err(error) = &qemu_ready {
            report.fail(test.name, &format!("{error:#}"), Some(&setup_log));
            continue;
        }
        let key = (test.machine.board, test.features.clone());
        let elf = images.entry(key).or_insert_with(|| build_image(test.machine.board, &test.features));
        let elf = match elf {
            Ok(elf) => elf.clone(),
            Err(reason) => {
                let image_log = image_log(test.machine.board, &test.features);
                report.fail(test.name, &format!("image build failed: {reason}"), Some(&image_log));
                continue;
            }
        };
        let command = qemu_command(test.machine, &elf, &Serial::Stdout, &[]);
        let check = |lines: &[String]| (test.check)(test.machine, lines);
        match runner::boot_and_watch(command, &log, LIMITS, &check) {
            Ok(()) => report.pass(test.name),
            Err(reason) => report.fail(test.name, &reason, Some(&log)),
        }
    }
}

/// Makes the image with its output in `target/test-logs/image-<dir>.log`; returns the ELF.
fn build_image(board: Board, features: &Features) -> Result<PathBuf, String> {
    Sink::log_file(&image_log(board, features))
        .and_then(|sink| image::make(&sink, board, features))
        .map(|image| image.elf)
        .map_err(|error| format!("{error:#}"))
}

fn image_log(board: Board, features: &Features) -> PathBuf {
    paths::test_log_dir().join(format!("image-{}.log", paths::image_dir_name(board, features)))
}
