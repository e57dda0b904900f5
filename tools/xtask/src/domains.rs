//! The domain bundle of an image: the configuration it comes from, the in-tree test guests a
//! configuration may name (built first, so they are always fresh), the check against the
//! machine, and the `domains.bundle` file the board's build script includes.
//!
//! A configuration that is refused yields a [`ConfigError`] (one line naming file, domain and
//! field); `main` prints it as it is.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use somnus_domain_config::{ConfigError, Host, build_bundle, read_config};

use crate::board::Board;
use crate::cargo;
use crate::machine::Machine;
use crate::process::Sink;

/// Environment variable naming the bundle for the board's build script (an absolute path).
pub const BUNDLE_VARIABLE: &str = "SOMNUS_DOMAIN_BUNDLE";

/// File name of the bundle in an image directory.
pub const BUNDLE_FILE: &str = "domains.bundle";

/// A bundle written for an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenBundle {
    /// Absolute path of the bundle file.
    pub path: PathBuf,
    /// Number of domains in it (what the ready line's `domains=` must say).
    pub domain_count: usize,
}

/// What a configuration is checked against on `machine`: its board, its CPU count and the
/// board's RAM minus the hypervisor's share.
pub fn host(machine: Machine) -> Host {
    let board = match machine.board {
        Board::QemuVirt => somnus_domain_config::Board::QemuVirt,
        Board::Zcu102 => somnus_domain_config::Board::Zcu102,
    };
    Host::new(board, machine.smp)
}

/// Builds the in-tree test guests (`tests/guests`) if the package exists.
pub fn build_test_guests(sink: &Sink) -> Result<()> {
    if cargo::has_test_guests() {
        sink.run(&mut cargo::build_test_guests())?;
    }
    Ok(())
}

/// Writes `dir/domains.bundle`: empty without a configuration; otherwise the configuration is
/// checked against `machine` and its bundle written (build the test guests first).
pub fn write_bundle(sink: &Sink, config: Option<&Path>, machine: Machine, dir: &Path) -> Result<WrittenBundle> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = std::path::absolute(dir.join(BUNDLE_FILE)).context("resolving the bundle path")?;
    let Some(config) = config else {
        std::fs::write(&path, []).with_context(|| format!("writing {}", path.display()))?;
        sink.note(&format!("{}: empty (no domains)", path.display()));
        return Ok(WrittenBundle { path, domain_count: 0 });
    };
    let bundle = build_bundle(config, &host(machine)).map_err(|error| named_for_the_user(error, config))?;
    std::fs::write(&path, &bundle.bytes).with_context(|| format!("writing {}", path.display()))?;
    sink.note(&format!(
        "{}: {} bytes, {} domain(s) from {}",
        path.display(),
        bundle.bytes.len(),
        bundle.domain_count(),
        display_name(config)
    ));
    for summary in &bundle.summaries {
        sink.note(&format!("  {summary}"));
    }
    Ok(WrittenBundle { path, domain_count: bundle.domain_count() })
}

/// Checks `config` against `machine` (kernel files included) without writing anything;
/// returns the number of domains.
pub fn check(config: &Path, machine: Machine) -> Result<usize, ConfigError> {
    read_config(config, &host(machine)).map(|domains| domains.len()).map_err(|error| named_for_the_user(error, config))
}

/// The refusal, naming the file as the user would: relative to the current directory when it
/// lies below it.
fn named_for_the_user(error: ConfigError, config: &Path) -> ConfigError {
    error.in_file(&display_name(config))
}

/// `path` relative to the current directory if it lies below it, as given otherwise.
pub fn display_name(path: &Path) -> String {
    let relative = std::env::current_dir().ok().and_then(|cwd| {
        let absolute = std::path::absolute(path).ok()?;
        absolute.strip_prefix(cwd).ok().map(Path::to_path_buf)
    });
    relative.unwrap_or_else(|| path.to_path_buf()).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::GicVersion;

    fn machine(board: Board, smp: Option<u8>) -> Machine {
        Machine::new(board, Some(GicVersion::V2), smp, None).unwrap()
    }

    #[test]
    fn host_follows_the_machine() {
        let qemu = host(machine(Board::QemuVirt, Some(2)));
        assert_eq!((qemu.board, qemu.cpus), (somnus_domain_config::Board::QemuVirt, 2));
        assert_eq!(qemu.guest_ram_bytes, (1024 - 16) << 20);
        let zcu102 = host(machine(Board::Zcu102, None));
        assert_eq!((zcu102.board, zcu102.cpus), (somnus_domain_config::Board::Zcu102, 4));
        assert_eq!(zcu102.guest_ram_bytes, (2048 - 16) << 20);
    }

    #[test]
    fn no_configuration_writes_an_empty_bundle() {
        let dir = std::env::temp_dir().join(format!("xtask-domains-empty-{}", std::process::id()));
        let written = write_bundle(&Sink::Terminal, None, machine(Board::QemuVirt, None), &dir).unwrap();
        assert_eq!(written.domain_count, 0);
        assert!(written.path.is_absolute() && written.path.ends_with("domains.bundle"));
        assert_eq!(std::fs::read(&written.path).unwrap(), Vec::<u8>::new());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn refusals_name_the_file_relative_to_the_current_directory() {
        let dir = std::env::temp_dir().join(format!("xtask-domains-refused-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("domains.toml");
        let text = "[[domain]]\nname = \"linux\"\nvcpus = 2\npcpus = [0, 5]\nmemory_mib = 16\nkernel = \"k\"\n";
        std::fs::write(&config, text).unwrap();
        let error = check(&config, machine(Board::QemuVirt, Some(4))).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{}: domain \"linux\": pcpus[1] = 5, but the machine has 4 CPUs", display_name(&config))
        );
        let error = write_bundle(&Sink::Terminal, Some(&config), machine(Board::QemuVirt, Some(8)), &dir).unwrap_err();
        let refusal = error.downcast_ref::<ConfigError>().expect("a configuration refusal");
        assert_eq!(refusal.field, "kernel");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn display_names_are_relative_below_the_current_directory() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(display_name(&cwd.join("boards/x/domains.toml")), "boards/x/domains.toml");
        assert_eq!(display_name(Path::new("/somewhere/else.toml")), "/somewhere/else.toml");
    }
}
