//! The Linux test scenarios of `tests/linux/`: each `<name>.init` is the `/init` script of
//! `target/assets/initramfs-<name>.cpio.gz`, and `<name>.toml` the domain file that boots Debian's
//! kernel (`target/assets/debian-arm64/Image`) with it. [`prepare_linux`] makes all of them usable.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::assets::initramfs::{self, InitramfsSpec};
use crate::assets::linux_packages::{LinuxAssets, Refresh, fetch_linux};
use crate::assets::package_cache::PackageCache;
use crate::assets::{assets_dir, debian_arm64_dir};
use crate::paths;
use crate::process::Sink;

/// Extension of a scenario's `/init` script.
const INIT_EXTENSION: &str = "init";

/// `tests/linux/`.
pub fn scenarios_dir() -> PathBuf {
    paths::repo_root().join("tests").join("linux")
}

/// One scenario: its name and its `/init` script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// The file stem, e.g. `earlycon`.
    pub name: String,
    /// `tests/linux/<name>.init`.
    pub init_script: PathBuf,
}

impl Scenario {
    /// The domain file of the scenario, `tests/linux/<name>.toml`.
    pub fn domain_file(&self) -> PathBuf {
        self.init_script.with_extension("toml")
    }
}

/// The scenarios in `directory` (every `*.init`), by name.
pub fn scenarios(directory: &Path) -> Result<Vec<Scenario>> {
    let entries = std::fs::read_dir(directory).with_context(|| format!("reading {}", directory.display()))?;
    let mut found: Vec<Scenario> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == INIT_EXTENSION))
        .filter_map(|path| {
            let name = path.file_stem()?.to_str()?.to_owned();
            Some(Scenario { name, init_script: path })
        })
        .collect();
    found.sort_by(|left, right| left.name.cmp(&right.name));
    Ok(found)
}

/// The fetched packages and the initramfs of every scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedLinux {
    /// Kernel Image and busybox.
    pub assets: LinuxAssets,
    /// The scenarios and the initramfs written for each.
    pub initramfs: Vec<(Scenario, PathBuf)>,
}

/// Fetches (or reuses) the kernel and busybox and writes the initramfs of every scenario in
/// `tests/linux/`. A failure to reach the archive is a [`crate::assets::FetchError`].
pub fn prepare_linux(sink: &Sink, refresh: Refresh) -> Result<PreparedLinux> {
    let assets = fetch_linux(&PackageCache::new(debian_arm64_dir()), sink, refresh)?;
    let mut written = Vec::new();
    for scenario in scenarios(&scenarios_dir())? {
        let script = std::fs::read_to_string(&scenario.init_script)
            .with_context(|| format!("reading {}", scenario.init_script.display()))?;
        let spec = InitramfsSpec { name: &scenario.name, init_script: &script, busybox: &assets.busybox };
        let path = initramfs::build(&assets_dir(), &spec)?;
        sink.note(&format!("{}: initramfs of {}", path.display(), scenario.init_script.display()));
        written.push((scenario, path));
    }
    Ok(PreparedLinux { assets, initramfs: written })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of `key = "..."` in a domain file, resolved against the file's directory.
    fn path_value(file: &Path, key: &str) -> PathBuf {
        let text = std::fs::read_to_string(file).unwrap();
        let prefix = format!("{key} = \"");
        let line = text.lines().find(|line| line.starts_with(&prefix)).unwrap_or_else(|| panic!("no {key}"));
        let value = line[prefix.len()..].split('"').next().unwrap();
        std::path::absolute(file.parent().unwrap().join(value)).unwrap()
    }

    fn normalise(path: &Path) -> PathBuf {
        let mut normal = PathBuf::new();
        for component in path.components() {
            match component {
                std::path::Component::ParentDir => {
                    normal.pop();
                }
                other => normal.push(other),
            }
        }
        normal
    }

    #[test]
    fn every_scenario_has_a_domain_file_booting_its_assets() {
        let found = scenarios(&scenarios_dir()).unwrap();
        assert!(found.iter().any(|scenario| scenario.name == "earlycon"), "{found:?}");
        for scenario in &found {
            let domain_file = scenario.domain_file();
            assert!(domain_file.is_file(), "{} has no {}", scenario.name, domain_file.display());
            assert_eq!(normalise(&path_value(&domain_file, "kernel")), debian_arm64_dir().join("Image"));
            assert_eq!(
                normalise(&path_value(&domain_file, "initrd")),
                initramfs::initramfs_path(&assets_dir(), &scenario.name)
            );
            let script = std::fs::read_to_string(&scenario.init_script).unwrap();
            assert!(script.starts_with("#!/bin/sh\n"), "{}", scenario.init_script.display());
        }
    }

    #[test]
    fn scenarios_are_the_init_files_by_name() {
        let dir = std::env::temp_dir().join(format!("xtask-linux-scenarios-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["b.init", "a.init", "a.toml", "README.md"] {
            std::fs::write(dir.join(name), "").unwrap();
        }
        let found = scenarios(&dir).unwrap();
        let names: Vec<&str> = found.iter().map(|scenario| scenario.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(found[0].domain_file(), dir.join("a.toml"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
