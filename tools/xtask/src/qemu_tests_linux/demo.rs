//! `linux-demo-qemu-virt-gicv2-smp4`: the demo `cargo xtask run` boots (tests/linux/demo.toml,
//! the same domains as boards/qemu-virt/domains.toml) reaches its shell, and the commands the
//! README gives suspend Linux to RAM and have its RTC alarm resume it 3 s later, back at the
//! shell, while `sleeper` naps beside it.

use std::path::PathBuf;
use std::time::Duration;

use crate::board::Board;
use crate::machine::{CpuModel, GicVersion};
use crate::qemu_tests::QemuTest;
use crate::qemu_tests::definitions::boot;
use crate::qemu_tests::guest_check::{FollowedBy, GuestExpectations, Pattern, check_guests};
use crate::qemu_tests::runner::SerialInput;

/// Name of the demo test.
pub const DEMO_TEST: &str = "linux-demo-qemu-virt-gicv2-smp4";

/// Boot, one suspend of at least 3 s and the resume.
const TIMEOUT: Duration = Duration::from_mins(1);

/// The line ash prints just before its first prompt.
const SHELL_STARTED: Pattern = Pattern::domain(1, "Enter 'help' for a list of built-in commands.");

/// The first line of the shell's two-line prompt: ash prints it once its line editor took the
/// terminal, so what is typed from then on reaches the editor (typed earlier, it would race with
/// the editor's switch of terminal modes).
const PROMPT: Pattern = Pattern::domain(1, "[linux] /");

/// The README's commands, and a marker the echo of the command line cannot show (the shell
/// computes it).
const TYPED: &[SerialInput] = &[SerialInput {
    after: &[SHELL_STARTED, PROMPT],
    bytes: b"echo +3 > /sys/class/rtc/rtc0/wakealarm; echo mem > /sys/power/state; echo demo-$((40+2))-back\r",
}];

const SUSPENDED: Pattern = Pattern::anywhere("somnus: domain 1 suspended, resume at ");
const RESUMED_BY_RTC: Pattern = Pattern::anywhere("somnus: domain 1 resumed by interrupt 34");
const BACK: Pattern = Pattern::domain(1, "demo-42-back");

/// What the demo must show.
const DEMO: GuestExpectations = GuestExpectations {
    domains: 2,
    required: &[
        Pattern::domain(1, "somnus-linux: demo shell ready, cpus online 0-1"),
        SHELL_STARTED,
        SUSPENDED,
        RESUMED_BY_RTC,
        BACK,
        Pattern::domain(2, "sleeper: nap 0: suspending"),
    ],
    forbidden: &[Pattern::anywhere("somnus: domain 1 resumed by interrupt 27")],
    followed_by: &[
        FollowedBy { after: SUSPENDED, count: 1, matching: RESUMED_BY_RTC, before: None },
        FollowedBy { after: RESUMED_BY_RTC, count: 1, matching: BACK, before: None },
    ],
};

/// The demo test.
pub fn demo() -> QemuTest {
    QemuTest {
        domains: Some(PathBuf::from("tests/linux/demo.toml")),
        timeout: TIMEOUT,
        input: TYPED,
        check: Box::new(|expected, lines: &[String]| check_guests(expected, &DEMO, lines)),
        ..boot(DEMO_TEST, Board::QemuVirt, GicVersion::V2, 4, CpuModel::CortexA53)
    }
}
