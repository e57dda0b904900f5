//! The cargo invocations xtask drives: cross builds of the boards and the host-side checks.
//!
//! Board crates only build for the bare-metal target, so every host-side command that names the
//! whole workspace excludes them.

use std::process::Command;

use crate::board::{Board, HYPERVISOR_TARGET};
use crate::features::Features;
use crate::paths;

/// Package of the in-tree test guests (`tests/guests`).
pub const TEST_GUESTS_PACKAGE: &str = "somnus-test-guests";

/// Rust target of the test guests.
pub const GUEST_TARGET: &str = "aarch64-unknown-none";

/// `cargo` (the rustup proxy, so `rust-toolchain.toml` picks the toolchain) run at the
/// repository root.
pub fn cargo(subcommand: &str) -> Command {
    let mut command = Command::new("cargo");
    command.arg(subcommand).current_dir(paths::repo_root());
    command
}

/// `cargo build --release -p <board> --target aarch64-unknown-none-softfloat [--features F]`.
pub fn build_board(board: Board, features: &Features) -> Command {
    let mut command = cargo("build");
    command.args(["--release", "-p", board.package(), "--target", HYPERVISOR_TARGET]);
    command.args(features.cargo_args());
    command
}

/// `cargo build --release -p somnus-test-guests --target aarch64-unknown-none --target-dir
/// target/guests`: the in-tree test guests (hard-float EL1 programs), where domain files find them.
pub fn build_test_guests() -> Command {
    let mut command = cargo("build");
    command.args(["--release", "-p", TEST_GUESTS_PACKAGE, "--target", GUEST_TARGET, "--target-dir"]);
    command.arg(paths::test_guests_target_dir());
    command
}

/// `cargo clippy --release -p <board> --target aarch64-unknown-none-softfloat -- -D warnings`.
pub fn clippy_board(board: Board) -> Command {
    let mut command = cargo("clippy");
    command.args(["--release", "-p", board.package(), "--target", HYPERVISOR_TARGET]);
    command.args(["--", "-D", "warnings"]);
    command
}

/// `cargo test --workspace --exclude <boards>`: every host test.
pub fn test_host() -> Command {
    let mut command = cargo("test");
    command.args(host_workspace_args());
    command
}

/// `cargo clippy --workspace --exclude <boards> --all-targets -- -D warnings`.
pub fn clippy_host() -> Command {
    let mut command = cargo("clippy");
    command.args(host_workspace_args()).arg("--all-targets");
    command.args(["--", "-D", "warnings"]);
    command
}

/// `cargo fmt --all --check` (diffs without colour: they go to a log file).
pub fn fmt_check() -> Command {
    let mut command = cargo("fmt");
    command.args(["--all", "--check", "--", "--color", "never"]);
    command
}

/// `cargo clippy --release -p somnus-test-guests --target aarch64-unknown-none -- -D warnings`,
/// in the test guests' own target directory.
pub fn clippy_test_guests() -> Command {
    let mut command = cargo("clippy");
    command.args(["--release", "-p", TEST_GUESTS_PACKAGE, "--target", GUEST_TARGET, "--target-dir"]);
    command.arg(paths::test_guests_target_dir());
    command.args(["--", "-D", "warnings"]);
    command
}

/// Whether the in-tree test guests exist (`tests/guests`, a workspace member).
pub fn has_test_guests() -> bool {
    paths::repo_root().join("tests/guests/Cargo.toml").is_file()
}

/// `--workspace` minus the packages that only build for bare metal (the boards and the test
/// guests).
fn host_workspace_args() -> Vec<&'static str> {
    let mut args = vec!["--workspace"];
    for board in Board::ALL {
        args.extend(["--exclude", board.package()]);
    }
    if has_test_guests() {
        args.extend(["--exclude", TEST_GUESTS_PACKAGE]);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(command: &Command) -> Vec<String> {
        command.get_args().map(|arg| arg.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn board_build_is_a_release_cross_build() {
        let command = build_board(Board::Zcu102, &Features::parse("el2-fault-test"));
        assert_eq!(
            args(&command),
            [
                "build",
                "--release",
                "-p",
                "somnus-board-zcu102",
                "--target",
                "aarch64-unknown-none-softfloat",
                "--features",
                "el2-fault-test"
            ]
        );
    }

    #[test]
    fn test_guests_are_built_into_their_own_target_directory() {
        let command = build_test_guests();
        let args = args(&command);
        assert_eq!(args[..6], ["build", "--release", "-p", "somnus-test-guests", "--target", "aarch64-unknown-none"]);
        assert_eq!(args[6], "--target-dir");
        assert!(args[7].ends_with("target/guests"), "{args:?}");
    }

    #[test]
    fn host_commands_exclude_the_boards() {
        for command in [test_host(), clippy_host()] {
            let args = args(&command).join(" ");
            assert!(args.contains("--workspace"), "{args}");
            assert!(args.contains("--exclude somnus-board-qemu-virt"), "{args}");
            assert!(args.contains("--exclude somnus-board-zcu102"), "{args}");
            assert_eq!(args.contains("--exclude somnus-test-guests"), has_test_guests(), "{args}");
        }
        assert!(args(&clippy_host()).ends_with(&["--".to_owned(), "-D".to_owned(), "warnings".to_owned()]));
    }
}
