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

/// The domain configuration a board boots by default: `boards/<board>/domains.toml`.
pub fn default_domains(board: Board) -> PathBuf {
    repo_root().join("boards").join(board.name()).join("domains.toml")
}

/// Target directory of the in-tree test guests. Fixed below the repository root (not
/// `$CARGO_TARGET_DIR`), because domain files name the guests by paths relative to themselves.
pub fn test_guests_target_dir() -> PathBuf {
    repo_root().join("target").join("guests")
}

/// Directory of an image the QEMU tests boot: `target/images/tests/<board>[-<features>]`, plus
/// `-<config>` when it carries a domain configuration (its path below the repository root,
/// without extension, `/` replaced by `_`), so images with different bundles never collide.
pub fn test_image_dir(board: Board, features: &Features, domains: Option<&Path>) -> PathBuf {
    let mut name = image_dir_name(board, features);
    if let Some(config) = domains {
        let relative = config.strip_prefix(repo_root()).unwrap_or(config).with_extension("");
        let tag: String = relative
            .to_string_lossy()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        name.push('-');
        name.push_str(tag.trim_start_matches('_'));
    }
    target_dir().join("images").join("tests").join(name)
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

    #[test]
    fn test_images_are_kept_apart_by_domain_configuration() {
        let none = test_image_dir(Board::QemuVirt, &Features::none(), None);
        assert!(none.ends_with("images/tests/qemu-virt"), "{}", none.display());
        let config = repo_root().join("tests/guests/two-domains.toml");
        let with = test_image_dir(Board::QemuVirt, &Features::none(), Some(&config));
        assert!(with.ends_with("images/tests/qemu-virt-tests_guests_two-domains"), "{}", with.display());
        let outside = test_image_dir(Board::Zcu102, &Features::none(), Some(Path::new("/tmp/my.domains.toml")));
        assert!(outside.ends_with("images/tests/zcu102-tmp_my_domains"), "{}", outside.display());
    }

    #[test]
    fn default_domain_files_exist() {
        for board in Board::ALL {
            assert!(default_domains(board).is_file(), "{} is missing", default_domains(board).display());
        }
    }
}
