//! QEMU started through U-Boot instead of `-kernel`: U-Boot is the machine's firmware (`-bios`),
//! which QEMU starts at the highest exception level it emulates, EL2 with `virtualization=on`
//! (and no `secure=on`), and the boot partition is a read-only FAT disk made from its directory
//! (QEMU's `vvfat`) on a virtio-mmio block device, a disk U-Boot's distro boot scans
//! (`virtio0` among Debian's `boot_targets`).

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use crate::machine::Machine;
use crate::qemu::{EntryLevel, QEMU, Serial, machine_args};

/// QEMU's name of the boot partition's drive.
const DRIVE_ID: &str = "boot-partition";

/// The arguments that make `firmware` the firmware and `partition` its disk.
pub fn firmware_args(firmware: &Path, partition: &Path) -> Vec<OsString> {
    let mut drive = OsString::from(format!("if=none,id={DRIVE_ID},format=raw,readonly=on,file=fat:"));
    drive.push(escape_option_value(partition));
    vec![
        "-bios".into(),
        firmware.as_os_str().to_owned(),
        "-drive".into(),
        drive,
        "-device".into(),
        format!("virtio-blk-device,drive={DRIVE_ID}").into(),
    ]
}

/// The QEMU command booting `machine` through `firmware` from the boot partition `partition`,
/// with `extra` arguments appended unchanged.
pub fn u_boot_command(
    machine: Machine,
    firmware: &Path,
    partition: &Path,
    serial: &Serial,
    extra: &[OsString],
) -> Command {
    let mut command = Command::new(QEMU);
    command.args(machine_args(machine, EntryLevel::El2, serial)).args(firmware_args(firmware, partition)).args(extra);
    command
}

/// A path as the value of a QEMU option: QEMU splits options at commas and reads `,,` as one.
fn escape_option_value(path: &Path) -> OsString {
    path.to_string_lossy().replace(',', ",,").into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Board;
    use crate::machine::{CpuModel, GicVersion};

    fn line(command: &Command) -> String {
        command.get_args().map(|arg| arg.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn u_boot_is_the_firmware_and_the_partition_a_fat_disk() {
        let machine = Machine::new(Board::QemuVirt, Some(GicVersion::V2), Some(4), Some(CpuModel::CortexA53)).unwrap();
        let command = u_boot_command(
            machine,
            Path::new("/cache/u-boot.bin"),
            Path::new("/images/qemu-virt/boot-partition"),
            &Serial::Stdout,
            &[OsString::from("-s")],
        );
        assert_eq!(command.get_program(), QEMU);
        assert_eq!(
            line(&command),
            "-M virt,virtualization=on,gic-version=2 -cpu cortex-a53 -smp 4 -m 1G -nic none -display none \
             -monitor none -serial stdio -bios /cache/u-boot.bin -drive \
             if=none,id=boot-partition,format=raw,readonly=on,file=fat:/images/qemu-virt/boot-partition \
             -device virtio-blk-device,drive=boot-partition -s"
        );
        assert!(!line(&command).contains("-kernel"), "U-Boot loads the hypervisor");
    }

    #[test]
    fn commas_in_the_partition_path_are_doubled() {
        let args = firmware_args(Path::new("u-boot.bin"), Path::new("/home/a,b/boot-partition"));
        assert_eq!(
            args[3].to_string_lossy(),
            "if=none,id=boot-partition,format=raw,readonly=on,file=fat:/home/a,,b/boot-partition"
        );
    }
}
