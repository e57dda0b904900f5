//! Booting Somnus the way a board does, through U-Boot: on qemu-virt, Debian's U-Boot
//! ([`crate::assets::u_boot_package`]) is QEMU's firmware and finds the boot partition
//! ([`boot_partition`]: the FIT image and the [`boot_script`]) on a FAT disk by itself
//! ([`qemu_firmware`]), as a ZCU102's U-Boot finds them on its SD card. Used by
//! `cargo xtask run --u-boot` and the QEMU test `u-boot-demo-qemu-virt-gicv2-smp4`.

pub mod boot_partition;
pub mod boot_script;
pub mod qemu_firmware;

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

use crate::assets::Refresh;
use crate::assets::debian_arm64_dir;
use crate::assets::package_cache::PackageCache;
use crate::assets::u_boot_package::fetch_u_boot;
use crate::board::Board;
use crate::machine::Machine;
use crate::process::Sink;
use crate::qemu::Serial;

/// Why `machine` cannot boot through U-Boot, if it cannot.
pub fn refusal(machine: Machine) -> Option<String> {
    (machine.board != Board::QemuVirt).then(|| {
        format!(
            "`--u-boot` boots qemu-virt only: Debian's u-boot-qemu has no U-Boot for QEMU's model of {} \
             (docs/BOOTING.md shows how the real board boots)",
            machine.board
        )
    })
}

/// Fetches (or reuses) Debian's U-Boot, writes the boot partition of the image `elf`/`bin` and
/// returns the QEMU command booting it; `extra` arguments are appended unchanged. A package that
/// cannot be fetched is a [`crate::assets::FetchError`].
pub fn qemu_command(
    sink: &Sink,
    machine: Machine,
    elf: &Path,
    bin: &Path,
    serial: &Serial,
    extra: &[OsString],
) -> Result<Command> {
    if let Some(refusal) = refusal(machine) {
        bail!(refusal);
    }
    let firmware = fetch_u_boot(&PackageCache::new(debian_arm64_dir()), sink, Refresh::IfMissing)?;
    let partition = boot_partition::make(sink, machine.board, elf, bin)?;
    Ok(qemu_firmware::u_boot_command(machine, &firmware.firmware, &partition.dir, serial, extra))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::GicVersion;

    #[test]
    fn only_qemu_virt_boots_through_u_boot() {
        let virt = Machine::new(Board::QemuVirt, Some(GicVersion::V3), Some(2), None).unwrap();
        assert_eq!(refusal(virt), None);
        let zcu102 = Machine::new(Board::Zcu102, None, None, None).unwrap();
        let refusal = refusal(zcu102).expect("zcu102 is refused");
        assert!(refusal.contains("qemu-virt only") && refusal.contains("model of zcu102"), "{refusal}");
    }
}
