//! QEMU command lines for each board, with the serial line on the terminal, a Unix socket, or
//! QEMU's standard output (for the integration tests).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::board::Board;
use crate::machine::Machine;

/// The QEMU binary for every board.
pub const QEMU: &str = "qemu-system-aarch64";

/// Where the board's (first) serial line goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Serial {
    /// Interactive: the serial line and QEMU's monitor share the terminal (`Ctrl-A X` quits).
    Terminal,
    /// A Unix socket server at this path; no monitor, no display.
    UnixSocket(PathBuf),
    /// QEMU's standard output, read by a program; no monitor, no display.
    Stdout,
}

/// The exception level QEMU's direct kernel boot enters the image at, chosen by the machine's
/// `virtualization` and `secure` options. Somnus needs EL2; the others exist to test its refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryLevel {
    /// EL1: no virtualization extensions (`virtualization` left off).
    El1,
    /// EL2: `virtualization=on`, what every board boots with.
    El2,
    /// EL3: `secure=on,virtualization=on`, no firmware loaded.
    El3,
}

impl EntryLevel {
    /// The options after the machine name in `-M`, with their leading comma.
    const fn machine_options(self) -> &'static str {
        match self {
            Self::El1 => "",
            Self::El2 => ",virtualization=on",
            Self::El3 => ",secure=on,virtualization=on",
        }
    }
}

/// QEMU's arguments to boot `kernel` (an ELF, or a raw binary with an arm64 Image header) on
/// `machine`, entering it at `level`.
pub fn qemu_args(machine: Machine, level: EntryLevel, kernel: &Path, serial: &Serial) -> Vec<OsString> {
    let mut args = machine_args(machine, level, serial);
    args.push("-kernel".into());
    args.push(kernel.as_os_str().to_owned());
    args
}

/// QEMU's arguments for `machine` started at `level` with its serial line on `serial`, without
/// anything to boot (`-kernel`, or firmware such as U-Boot's `-bios`).
pub fn machine_args(machine: Machine, level: EntryLevel, serial: &Serial) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |items: &[&str]| args.extend(items.iter().map(OsString::from));
    let options = level.machine_options();
    match machine.board {
        Board::QemuVirt => {
            let gic = machine.gic.number();
            push(&["-M", &format!("virt{options},gic-version={gic}")]);
            push(&["-cpu", machine.cpu.qemu_name(), "-smp", &machine.smp.to_string(), "-m", "1G"]);
        }
        // Four Cortex-A53 and a GIC-400, fixed by the machine model.
        Board::Zcu102 => push(&["-M", &format!("xlnx-zcu102{options}"), "-m", "2G"]),
    }
    let serial_args: Vec<String> = match (serial, machine.board) {
        (Serial::Terminal, Board::QemuVirt) => vec!["-nographic".into()],
        (Serial::Terminal, Board::Zcu102) => {
            vec!["-nographic".into(), "-serial".into(), "mon:stdio".into()]
        }
        (Serial::UnixSocket(path), _) => vec![
            "-display".into(),
            "none".into(),
            "-monitor".into(),
            "none".into(),
            "-serial".into(),
            format!("unix:{},server=on,wait=off", path.display()),
        ],
        (Serial::Stdout, _) => ["-display", "none", "-monitor", "none", "-serial", "stdio"].map(String::from).to_vec(),
    };
    // Without `-nic none` QEMU looks for a network boot ROM that may not be installed.
    push(&["-nic", "none"]);
    if machine.board == Board::Zcu102 {
        push(&["-audiodev", "none,id=a"]);
    }
    args.extend(serial_args.into_iter().map(OsString::from));
    args
}

/// The QEMU command booting `kernel` on `machine` at EL2, with `extra` arguments appended
/// unchanged.
pub fn qemu_command(machine: Machine, kernel: &Path, serial: &Serial, extra: &[OsString]) -> Command {
    qemu_command_entering(machine, EntryLevel::El2, kernel, serial, extra)
}

/// [`qemu_command`] entering the image at `level`.
pub fn qemu_command_entering(
    machine: Machine,
    level: EntryLevel,
    kernel: &Path,
    serial: &Serial,
    extra: &[OsString],
) -> Command {
    let mut command = Command::new(QEMU);
    command.args(qemu_args(machine, level, kernel, serial)).args(extra);
    command
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{CpuModel, GicVersion};

    fn line(machine: Machine, serial: &Serial) -> String {
        let args = qemu_args(machine, EntryLevel::El2, Path::new("target/images/x/somnus.elf"), serial);
        args.iter().map(|arg| arg.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn qemu_virt_terminal() {
        let machine = Machine::new(Board::QemuVirt, Some(GicVersion::V3), Some(8), Some(CpuModel::CortexA72)).unwrap();
        assert_eq!(
            line(machine, &Serial::Terminal),
            "-M virt,virtualization=on,gic-version=3 -cpu cortex-a72 -smp 8 -m 1G -nic none -nographic \
             -kernel target/images/x/somnus.elf"
        );
    }

    #[test]
    fn zcu102_terminal() {
        let machine = Machine::new(Board::Zcu102, None, None, None).unwrap();
        assert_eq!(
            line(machine, &Serial::Terminal),
            "-M xlnx-zcu102,virtualization=on -m 2G -nic none -audiodev none,id=a -nographic \
             -serial mon:stdio -kernel target/images/x/somnus.elf"
        );
    }

    #[test]
    fn unix_socket_console_replaces_the_terminal() {
        for board in Board::ALL {
            let machine = Machine::new(board, None, None, None).unwrap();
            let line = line(machine, &Serial::UnixSocket(PathBuf::from("/tmp/s.sock")));
            assert!(line.contains("-display none -monitor none -serial unix:/tmp/s.sock,server=on,wait=off"), "{line}");
            assert!(!line.contains("-nographic") && !line.contains("stdio"), "{line}");
        }
    }

    #[test]
    fn test_serial_is_stdout() {
        let machine = Machine::new(Board::QemuVirt, None, Some(1), None).unwrap();
        let line = line(machine, &Serial::Stdout);
        assert!(line.contains("-display none -monitor none -serial stdio"), "{line}");
        assert!(line.contains("-smp 1 "), "{line}");
    }

    #[test]
    fn entry_level_sets_the_machine_options() {
        let virt = Machine::new(Board::QemuVirt, Some(GicVersion::V3), Some(2), None).unwrap();
        let machine_option = |machine, level| {
            let args = qemu_args(machine, level, Path::new("k"), &Serial::Stdout);
            args[1].to_string_lossy().into_owned()
        };
        assert_eq!(machine_option(virt, EntryLevel::El1), "virt,gic-version=3");
        assert_eq!(machine_option(virt, EntryLevel::El2), "virt,virtualization=on,gic-version=3");
        assert_eq!(machine_option(virt, EntryLevel::El3), "virt,secure=on,virtualization=on,gic-version=3");
        let zcu102 = Machine::new(Board::Zcu102, None, None, None).unwrap();
        assert_eq!(machine_option(zcu102, EntryLevel::El1), "xlnx-zcu102");
        assert_eq!(machine_option(zcu102, EntryLevel::El2), "xlnx-zcu102,virtualization=on");
    }

    #[test]
    fn extra_arguments_come_last_unchanged() {
        let machine = Machine::new(Board::QemuVirt, None, None, None).unwrap();
        let extra = [OsString::from("-s"), OsString::from("-S")];
        let command = qemu_command(machine, Path::new("k.elf"), &Serial::Terminal, &extra);
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(&args[args.len() - 4..], ["-kernel", "k.elf", "-s", "-S"]);
    }
}
