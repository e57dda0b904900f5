//! Test assets that are downloaded or generated, never committed (all below `target/assets/`):
//! Debian's arm64 Linux kernel and busybox, fetched with the distribution's package tools
//! ([`linux_packages`], cached by [`package_cache`]), and the initramfs images built from them
//! for the Linux test scenarios of `tests/linux/` ([`initramfs`], [`linux_scenarios`]), and Debian's
//! U-Boot for QEMU ([`u_boot_package`]).
//!
//! The directory is fixed below the repository root (not `$CARGO_TARGET_DIR`), because the
//! domain files in `tests/linux/` name the kernel and initramfs by paths relative to themselves.

pub mod cpio_newc;
#[cfg(test)]
pub mod cpio_reader;
pub mod debian_packages;
pub mod initramfs;
pub mod linux_packages;
pub mod linux_scenarios;
pub mod package_cache;
pub mod private_apt;
pub mod u_boot_package;

use std::path::PathBuf;

pub use linux_packages::{FetchError, Refresh};
pub use linux_scenarios::prepare_linux;

use crate::paths;

/// `target/assets/`: every downloaded or generated test asset.
pub fn assets_dir() -> PathBuf {
    paths::repo_root().join("target").join("assets")
}

/// `target/assets/debian-arm64/`: the package cache of Debian's arm64 packages.
pub fn debian_arm64_dir() -> PathBuf {
    assets_dir().join("debian-arm64")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_live_in_the_repository_target_directory() {
        assert_eq!(assets_dir(), paths::repo_root().join("target/assets"));
        assert_eq!(debian_arm64_dir(), paths::repo_root().join("target/assets/debian-arm64"));
    }
}
