//! The distribution's package tools, pointed at arm64 and at private state: `apt-get` and
//! `apt-cache` read the machine's configured sources (`/etc/apt/sources.list*`) but keep their
//! package lists, caches and (empty) status file under `target/assets/debian-arm64/apt/`, so the
//! host's own apt state is never touched and no mirror is named here. Packages are downloaded,
//! never installed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::assets::debian_packages::PackageVersion;
use crate::process::Sink;

/// The architecture whose packages are fetched.
pub const ARCHITECTURE: &str = "arm64";

/// `apt-get` and `apt-cache` with a private arm64 state directory.
pub struct PrivateApt {
    root: PathBuf,
}

impl PrivateApt {
    /// Private apt state below `root` (created on first use).
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The `-o` options that make apt look at arm64 only and keep its state below the root.
    pub fn options(&self) -> Vec<OsString> {
        let mut options: Vec<OsString> = vec![
            format!("-oAPT::Architecture={ARCHITECTURE}").into(),
            format!("-oAPT::Architectures={ARCHITECTURE}").into(),
        ];
        for (option, path) in [
            ("Dir::State::Lists", self.lists_dir()),
            ("Dir::Cache", self.root.join("cache")),
            ("Dir::State::status", self.status_file()),
        ] {
            let mut argument = OsString::from(format!("-o{option}="));
            argument.push(path.as_os_str());
            options.push(argument);
        }
        // As root apt downloads as the `_apt` user, which cannot write below target/.
        options.push("-oAPT::Sandbox::User=root".into());
        options
    }

    /// `apt-get update` into the private package lists.
    pub fn update(&self, sink: &Sink) -> Result<()> {
        self.create_state()?;
        sink.run(self.command("apt-get").arg("update"))
    }

    /// Whether the private lists hold at least one package index (`apt-get update` succeeds
    /// even when it could fetch nothing, and leaves a lock file behind).
    pub fn has_lists(&self) -> bool {
        std::fs::read_dir(self.lists_dir()).is_ok_and(|entries| {
            entries.filter_map(Result::ok).any(|entry| entry.file_name().to_string_lossy().contains("_Packages"))
        })
    }

    /// `apt-cache ARGS` under the private state; its standard output.
    pub fn query(&self, sink: &Sink, arguments: &[&str]) -> Result<String> {
        self.create_state()?;
        sink.output(self.command("apt-cache").args(arguments))
    }

    /// `apt-get download NAME=VERSION...` into `directory`; the `.deb` files land there under
    /// apt's own names (`<name>_<version, ':' as %3a>_arm64.deb`).
    pub fn download(&self, sink: &Sink, packages: &[&PackageVersion], directory: &Path) -> Result<()> {
        self.create_state()?;
        std::fs::create_dir_all(directory).with_context(|| format!("creating {}", directory.display()))?;
        let mut command = self.command("apt-get");
        command.arg("download").current_dir(directory);
        command.args(packages.iter().map(|package| format!("{}={}", package.name, package.version)));
        sink.run(&mut command)
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        // apt's messages, and so the output parsed here, in one language.
        command.args(self.options()).env("LC_ALL", "C").env("DEBIAN_FRONTEND", "noninteractive");
        command
    }

    fn lists_dir(&self) -> PathBuf {
        self.root.join("lists")
    }

    fn status_file(&self) -> PathBuf {
        self.root.join("status")
    }

    /// The directories apt expects to exist, and an empty status file (nothing is installed).
    fn create_state(&self) -> Result<()> {
        for directory in [self.lists_dir().join("partial"), self.root.join("cache").join("archives").join("partial")] {
            std::fs::create_dir_all(&directory).with_context(|| format!("creating {}", directory.display()))?;
        }
        let status = self.status_file();
        if !status.exists() {
            std::fs::write(&status, "").with_context(|| format!("writing {}", status.display()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_keep_every_piece_of_state_private() {
        let apt = PrivateApt::new(PathBuf::from("/cache/apt"));
        let options: Vec<String> = apt.options().iter().map(|option| option.to_string_lossy().into_owned()).collect();
        assert_eq!(
            options,
            [
                "-oAPT::Architecture=arm64",
                "-oAPT::Architectures=arm64",
                "-oDir::State::Lists=/cache/apt/lists",
                "-oDir::Cache=/cache/apt/cache",
                "-oDir::State::status=/cache/apt/status",
                "-oAPT::Sandbox::User=root",
            ]
        );
        assert!(!apt.has_lists(), "no lists below a directory that does not exist");
    }

    #[test]
    fn only_package_indexes_count_as_lists() {
        let root = std::env::temp_dir().join(format!("xtask-private-apt-{}", std::process::id()));
        let apt = PrivateApt::new(root.clone());
        apt.create_state().unwrap();
        std::fs::write(root.join("lists/lock"), "").unwrap();
        assert!(!apt.has_lists(), "a lock file and partial/ are no lists");
        std::fs::write(root.join("lists/mirror_debian_dists_bookworm_main_binary-arm64_Packages"), "").unwrap();
        assert!(apt.has_lists());
        std::fs::remove_dir_all(root).unwrap();
    }
}
