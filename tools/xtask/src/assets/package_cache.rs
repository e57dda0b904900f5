//! The cache of extracted Debian packages, `target/assets/debian-arm64/`:
//!
//! ```text
//! apt/                                      private apt state (package lists, caches)
//! downloads/                                .deb files, removed once extracted
//! <name>_<version>/                         `dpkg-deb -x` of one package version (':' as %3a)
//! selected                                  the versions in use, one `name version` a line
//! Image -> <kernel tree>/boot/vmlinuz-*     stable names for domain files
//! busybox -> <busybox tree>/bin/busybox
//! ```
//!
//! A tree is extracted into `<name>_<version>.partial` and renamed when complete, so a tree that
//! exists is whole and is reused without any network.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::assets::debian_packages::PackageVersion;
use crate::assets::private_apt::ARCHITECTURE;
use crate::process::Sink;

/// File naming the selected versions.
const SELECTION_FILE: &str = "selected";

/// The packages a Linux test domain is made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// The kernel image package, e.g. `linux-image-6.1.0-56-arm64`.
    pub kernel: PackageVersion,
    /// `busybox-static`.
    pub busybox: PackageVersion,
}

impl Selection {
    /// Both packages.
    pub fn packages(&self) -> [&PackageVersion; 2] {
        [&self.kernel, &self.busybox]
    }

    /// The `selected` file's text.
    pub fn to_text(&self) -> String {
        format!(
            "# Written by `cargo xtask fetch-linux`: the package versions in use.\nkernel {}\nbusybox {}\n",
            self.kernel, self.busybox
        )
    }

    /// Reads the `selected` file's text; `None` if it is incomplete or malformed.
    pub fn parse(text: &str) -> Option<Self> {
        let mut kernel = None;
        let mut busybox = None;
        for line in text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')) {
            let mut words = line.split_whitespace();
            let (Some(role), Some(name), Some(version), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return None;
            };
            let slot = match role {
                "kernel" => &mut kernel,
                "busybox" => &mut busybox,
                _ => return None,
            };
            *slot = Some(PackageVersion::new(name, version));
        }
        Some(Self { kernel: kernel?, busybox: busybox? })
    }
}

/// Directory name of an extracted package: `<name>_<version>` with the epoch's ':' written
/// `%3a`, as apt names its `.deb` files.
pub fn tree_name(package: &PackageVersion) -> String {
    format!("{}_{}", package.name, package.version.replace(':', "%3a"))
}

/// The cache rooted at one directory.
pub struct PackageCache {
    root: PathBuf,
}

impl PackageCache {
    /// A cache at `root` (created when something is written).
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The cache's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Private apt state directory.
    pub fn apt_dir(&self) -> PathBuf {
        self.root.join("apt")
    }

    /// Where `.deb` files are downloaded.
    pub fn downloads_dir(&self) -> PathBuf {
        self.root.join("downloads")
    }

    /// The extracted tree of a package version.
    pub fn tree(&self, package: &PackageVersion) -> PathBuf {
        self.root.join(tree_name(package))
    }

    /// Whether the package version is extracted (completely: partial trees have another name).
    pub fn has(&self, package: &PackageVersion) -> bool {
        self.tree(package).is_dir()
    }

    /// The selection recorded by the last fetch, if there is a readable one.
    pub fn selection(&self) -> Option<Selection> {
        std::fs::read_to_string(self.root.join(SELECTION_FILE)).ok().as_deref().and_then(Selection::parse)
    }

    /// Records the selection.
    pub fn record_selection(&self, selection: &Selection) -> Result<()> {
        write_file(&self.root.join(SELECTION_FILE), selection.to_text().as_bytes())
    }

    /// Extracts a downloaded `.deb` with `dpkg-deb -x` into the package's tree, checking first that
    /// the file holds that package and version.
    pub fn extract(&self, sink: &Sink, deb: &Path, package: &PackageVersion) -> Result<PathBuf> {
        let fields = sink.output(Command::new("dpkg-deb").arg("--field").arg(deb).args(["Package", "Version"]))?;
        let found: Vec<&str> =
            fields.lines().filter_map(|line| line.split_once(": ").map(|(_, value)| value)).collect();
        if found != [package.name.as_str(), package.version.as_str()] {
            bail!("{} holds {}, expected {package}", deb.display(), found.join(" "));
        }
        let tree = self.tree(package);
        let partial = with_suffix(&tree, ".partial");
        for stale in [&partial, &tree] {
            if stale.exists() {
                std::fs::remove_dir_all(stale).with_context(|| format!("removing {}", stale.display()))?;
            }
        }
        sink.run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&partial))?;
        std::fs::rename(&partial, &tree)
            .with_context(|| format!("renaming {} to {}", partial.display(), tree.display()))?;
        Ok(tree)
    }

    /// Points the stable name `root/<name>` at `target` (a path inside the cache) with a relative
    /// symbolic link, replacing an older link.
    pub fn link(&self, name: &str, target: &Path) -> Result<PathBuf> {
        let link = self.root.join(name);
        let relative = target.strip_prefix(&self.root).unwrap_or(target);
        if link.symlink_metadata().is_ok() {
            std::fs::remove_file(&link).with_context(|| format!("removing {}", link.display()))?;
        }
        std::os::unix::fs::symlink(relative, &link)
            .with_context(|| format!("linking {} to {}", link.display(), relative.display()))?;
        Ok(link)
    }
}

/// The `.deb` file apt downloaded for a package into `directory`: apt's usual name
/// `<tree name>_arm64.deb`, else any `<name>_*.deb` (`extract` checks what it holds).
pub fn downloaded_deb(directory: &Path, package: &PackageVersion) -> Option<PathBuf> {
    let expected = directory.join(format!("{}_{ARCHITECTURE}.deb", tree_name(package)));
    if expected.is_file() {
        return Some(expected);
    }
    let prefix = format!("{}_", package.name);
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(directory)
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name().and_then(|name| name.to_str()).is_some_and(|name| {
                name.starts_with(&prefix) && Path::new(name).extension().is_some_and(|extension| extension == "deb")
            })
        })
        .collect();
    candidates.sort();
    candidates.pop()
}

/// Writes a file through a temporary name, creating its directory.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(directory) = path.parent() {
        std::fs::create_dir_all(directory).with_context(|| format!("creating {}", directory.display()))?;
    }
    let temporary = with_suffix(path, ".writing");
    std::fs::write(&temporary, bytes).with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("renaming {} to {}", temporary.display(), path.display()))
}

/// `path` with `suffix` appended to its last component (`a_6.1-2` → `a_6.1-2.partial`; unlike
/// `with_extension`, which would cut the version at its last dot).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection() -> Selection {
        Selection {
            kernel: PackageVersion::new("linux-image-6.1.0-56-arm64", "6.1.192-2"),
            busybox: PackageVersion::new("busybox-static", "1:1.35.0-4+deb12u1+b1"),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-package-cache-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn trees_are_keyed_by_package_and_version() {
        let cache = PackageCache::new(PathBuf::from("/t/assets/debian-arm64"));
        let selection = selection();
        assert_eq!(tree_name(&selection.kernel), "linux-image-6.1.0-56-arm64_6.1.192-2");
        assert_eq!(tree_name(&selection.busybox), "busybox-static_1%3a1.35.0-4+deb12u1+b1");
        assert_eq!(
            cache.tree(&selection.kernel),
            Path::new("/t/assets/debian-arm64/linux-image-6.1.0-56-arm64_6.1.192-2")
        );
        assert_eq!(cache.apt_dir(), Path::new("/t/assets/debian-arm64/apt"));
        assert_eq!(cache.downloads_dir(), Path::new("/t/assets/debian-arm64/downloads"));
        assert_eq!(
            with_suffix(&cache.tree(&selection.kernel), ".partial"),
            Path::new("/t/assets/debian-arm64/linux-image-6.1.0-56-arm64_6.1.192-2.partial")
        );
        let newer = PackageVersion::new("linux-image-6.1.0-56-arm64", "6.1.192-3");
        assert_ne!(cache.tree(&selection.kernel), cache.tree(&newer));
    }

    #[test]
    fn selection_round_trip_and_refusals() {
        let selection = selection();
        assert_eq!(Selection::parse(&selection.to_text()), Some(selection.clone()));
        assert_eq!(Selection::parse("kernel linux-image-6.1.0-56-arm64 6.1.192-2\n"), None, "busybox missing");
        assert_eq!(Selection::parse("kernel a 1\nbusybox b 2 extra\n"), None);
        assert_eq!(Selection::parse("kernel a 1\nbusybox b 2\nshell c 3\n"), None);
        assert_eq!(Selection::parse(""), None);
    }

    #[test]
    fn cache_state_on_disk() {
        let root = scratch("state");
        let cache = PackageCache::new(root.clone());
        let selection = selection();
        assert_eq!(cache.selection(), None);
        assert!(!cache.has(&selection.kernel));
        cache.record_selection(&selection).unwrap();
        assert_eq!(cache.selection(), Some(selection.clone()));
        std::fs::create_dir_all(cache.tree(&selection.kernel).join("boot")).unwrap();
        std::fs::create_dir_all(with_suffix(&cache.tree(&selection.busybox), ".partial")).unwrap();
        assert!(cache.has(&selection.kernel));
        assert!(!cache.has(&selection.busybox), "only a complete tree counts");
        let target = cache.tree(&selection.kernel).join("boot/vmlinuz-6.1.0-56-arm64");
        std::fs::write(&target, b"image").unwrap();
        let link = cache.link("Image", &target).unwrap();
        let link_again = cache.link("Image", &target).unwrap();
        assert_eq!(link, link_again);
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new("linux-image-6.1.0-56-arm64_6.1.192-2/boot/vmlinuz-6.1.0-56-arm64")
        );
        assert_eq!(std::fs::read(&link).unwrap(), b"image");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn finds_the_downloaded_deb() {
        let dir = scratch("downloads");
        std::fs::create_dir_all(&dir).unwrap();
        let busybox = selection().busybox;
        assert_eq!(downloaded_deb(&dir, &busybox), None);
        for name in ["busybox_1%3a1.35.0-4_arm64.deb", "busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb"] {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        assert_eq!(downloaded_deb(&dir, &busybox), Some(dir.join("busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb")));
        let other = PackageVersion::new("busybox-static", "1:1.36.0-1");
        assert_eq!(downloaded_deb(&dir, &other), Some(dir.join("busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb")));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
