//! External programs xtask needs (QEMU, mkimage, ...): found in `$PATH`, installed with apt-get
//! when running as root on Debian/Ubuntu, otherwise reported with the command that installs them.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

use crate::process::{Sink, find_in_path};

/// A program and the Debian package that provides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requirement {
    /// Executable looked up in `$PATH`.
    pub program: &'static str,
    /// Debian/Ubuntu package providing it.
    pub package: &'static str,
}

/// What `run` and the QEMU tests need.
pub const QEMU: &[Requirement] = &[Requirement { program: "qemu-system-aarch64", package: "qemu-system-arm" }];

/// What a FIT image (`somnus.itb`) needs: mkimage compiles the `.its` with dtc.
pub const FIT_TOOLS: &[Requirement] = &[
    Requirement { program: "mkimage", package: "u-boot-tools" },
    Requirement { program: "dumpimage", package: "u-boot-tools" },
    Requirement { program: "dtc", package: "device-tree-compiler" },
];

/// Makes sure every required program is in `$PATH`, installing the missing packages when that is
/// possible without asking (root on Debian/Ubuntu); otherwise fails with the command to run.
pub fn ensure(requirements: &[Requirement], sink: &Sink) -> Result<()> {
    let packages = missing_packages(requirements);
    if packages.is_empty() {
        return Ok(());
    }
    let programs = missing_programs(requirements).join(", ");
    if can_install_with_apt() {
        sink.note(&format!("{programs} not found: installing {}", packages.join(" ")));
        sink.run(Command::new("apt-get").args(["update"]).env("DEBIAN_FRONTEND", "noninteractive"))?;
        sink.run(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends"])
                .args(&packages)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        let still_missing = missing_programs(requirements);
        if !still_missing.is_empty() {
            bail!("{} still not found after installing {}", still_missing.join(", "), packages.join(" "));
        }
        return Ok(());
    }
    let sudo = if effective_uid() == Some(0) { "" } else { "sudo " };
    bail!(
        "{programs} not found. Install it with:\n    {}\n(Debian/Ubuntu package names; elsewhere \
         install QEMU for aarch64, U-Boot's mkimage/dumpimage and dtc)",
        install_command(sudo, &packages)
    )
}

/// The shell command that installs these packages.
pub fn install_command(sudo: &str, packages: &[&str]) -> String {
    format!("{sudo}apt-get update && {sudo}apt-get install -y --no-install-recommends {}", packages.join(" "))
}

fn missing_programs(requirements: &[Requirement]) -> Vec<&'static str> {
    requirements.iter().filter(|r| find_in_path(r.program).is_none()).map(|r| r.program).collect()
}

fn missing_packages(requirements: &[Requirement]) -> Vec<&'static str> {
    let mut packages: Vec<&'static str> = Vec::new();
    for requirement in requirements.iter().filter(|r| find_in_path(r.program).is_none()) {
        if !packages.contains(&requirement.package) {
            packages.push(requirement.package);
        }
    }
    packages
}

/// Root on Debian or a derivative, with apt-get available.
fn can_install_with_apt() -> bool {
    effective_uid() == Some(0) && Path::new("/etc/debian_version").exists() && find_in_path("apt-get").is_some()
}

/// The effective user id of this process, from `/proc/self/status`.
fn effective_uid() -> Option<u32> {
    parse_effective_uid(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// Reads the effective uid (second field of the `Uid:` line) from `/proc/<pid>/status` text.
fn parse_effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|line| line.strip_prefix("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_uid_is_the_second_field() {
        let status = "Name:\tcat\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(parse_effective_uid(status), Some(0));
        assert_eq!(parse_effective_uid("Name:\tcat\n"), None);
    }

    #[test]
    fn install_command_names_the_packages() {
        assert_eq!(
            install_command("sudo ", &["qemu-system-arm"]),
            "sudo apt-get update && sudo apt-get install -y --no-install-recommends qemu-system-arm"
        );
    }

    #[test]
    fn present_programs_need_nothing() {
        let present = [Requirement { program: "sh", package: "dash" }];
        assert!(missing_packages(&present).is_empty());
        assert!(ensure(&present, &Sink::Terminal).is_ok());
        let absent = [
            Requirement { program: "no-such-tool-a", package: "pkg" },
            Requirement { program: "no-such-tool-b", package: "pkg" },
        ];
        assert_eq!(missing_packages(&absent), ["pkg"]);
    }
}
