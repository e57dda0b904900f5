//! Where things are: the repository root, cargo's target directory, images and test logs.

use std::path::{Path, PathBuf};

use crate::board::{BINARY_NAME, Board, HYPERVISOR_TARGET};
use crate::features::Features;

/// Root of the Somnus repository (two levels above this crate).
pub fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.ancestors().nth(2).expect("tools/xtask lies two levels below the repository root").to_path_buf()
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` if set, otherwise `<root>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { repo_root().join(dir) }
        }
        _ => repo_root().join("target"),
    }
}

/// The hypervisor ELF a release build of a board leaves in the target directory.
///
/// Every board's binary has the same name, so this file belongs to whichever board was built last.
pub fn built_elf() -> PathBuf {
    target_dir().join(HYPERVISOR_TARGET).join("release").join(BINARY_NAME)
}

/// Directory of a board's boot artifacts: `target/images/<board>[-<features>]/`.
pub fn image_dir(board: Board, features: &Features) -> PathBuf {
    target_dir().join("images").join(image_dir_name(board, features))
}

/// Name of the image directory of a board built with these features.
pub fn image_dir_name(board: Board, features: &Features) -> String {
    format!("{}{}", board.name(), features.dir_suffix())
}

/// Directory where `cargo xtask test` keeps the full output of each test.
pub fn test_log_dir() -> PathBuf {
    target_dir().join("test-logs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_holds_the_workspace_manifest() {
        assert!(repo_root().join("Cargo.toml").is_file());
        assert!(repo_root().join("tools/xtask/Cargo.toml").is_file());
    }

    #[test]
    fn test_builds_get_their_own_image_directory() {
        let normal = image_dir_name(Board::QemuVirt, &Features::none());
        let fault = image_dir_name(Board::QemuVirt, &Features::parse("el2-fault-test"));
        assert_eq!(normal, "qemu-virt");
        assert_eq!(fault, "qemu-virt-el2-fault-test");
        assert!(image_dir(Board::Zcu102, &Features::none()).ends_with("images/zcu102"));
    }
}
