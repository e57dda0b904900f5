//! Fetching Debian's arm64 Linux kernel and busybox: the current kernel ABI is found with
//! `apt-cache` under a private arm64 package list, `linux-image-<abi>-arm64` and `busybox-static`
//! are downloaded with `apt-get download`, extracted with `dpkg-deb -x` into the package cache and
//! recorded as selected. Once both trees exist, later calls reuse them without any network
//! (unless asked to refresh). Failures to reach the archive are [`FetchError`]s naming what could
//! not be fetched.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::assets::debian_packages::{
    BUSYBOX_PACKAGE, KERNEL_META_PACKAGE, KERNEL_PACKAGE_PREFIX, PackageVersion, kernel_package, newest_kernel_abi,
    shown_versions,
};
use crate::assets::package_cache::{PackageCache, Selection, downloaded_deb};
use crate::assets::private_apt::PrivateApt;
use crate::process::{Sink, find_in_path};

/// Programs the fetch needs, all from Debian's `apt` and `dpkg` packages.
const PACKAGE_TOOLS: &[&str] = &["apt-get", "apt-cache", "dpkg-deb"];

/// Stable name of the kernel Image in the cache (domain files point at it).
pub const IMAGE_LINK: &str = "Image";

/// Stable name of the busybox binary in the cache.
pub const BUSYBOX_LINK: &str = "busybox";

/// Whether to ask the archive again when a selection is already cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// Reuse the cached selection if both of its trees exist (no network).
    IfMissing,
    /// Update the package lists and select the current versions again.
    Always,
}

/// Something could not be fetched from the package archive: tests turn this into a skip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchError {
    /// What could not be fetched, e.g. `linux-image-6.1.0-56-arm64 6.1.192-2`.
    pub what: String,
    /// Why, in one line.
    pub reason: String,
}

impl fmt::Display for FetchError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "could not fetch {}: {}", self.what, self.reason)
    }
}

impl std::error::Error for FetchError {}

/// Debian's arm64 Linux kernel and busybox, extracted and ready to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinuxAssets {
    /// The package versions in use.
    pub selection: Selection,
    /// The kernel's raw arm64 `Image` (the package's `/boot/vmlinuz-<abi>-arm64`).
    pub image: PathBuf,
    /// The statically linked arm64 busybox (the package's `/bin/busybox`).
    pub busybox: PathBuf,
    /// `target/assets/debian-arm64/Image`, a link to `image` that domain files can name.
    pub image_link: PathBuf,
    /// `target/assets/debian-arm64/busybox`, a link to `busybox`.
    pub busybox_link: PathBuf,
}

/// Fetches (or reuses) the kernel and busybox in `cache`; see the module documentation.
pub fn fetch_linux(cache: &PackageCache, sink: &Sink, refresh: Refresh) -> Result<LinuxAssets> {
    let cached = cache.selection().filter(|selection| selection.packages().iter().all(|package| cache.has(package)));
    if let (Refresh::IfMissing, Some(selection)) = (refresh, cached) {
        sink.note(&format!("reusing {} and {} from {}", selection.kernel, selection.busybox, cache.root().display()));
        return locate(cache, selection);
    }
    let everything = format!("{KERNEL_META_PACKAGE} and {BUSYBOX_PACKAGE} for arm64");
    if let Some(missing) = PACKAGE_TOOLS.iter().find(|tool| find_in_path(tool).is_none()) {
        return Err(fetch_error(&everything, &format!("`{missing}` is not installed (needs Debian's apt and dpkg)")));
    }
    let apt = PrivateApt::new(cache.apt_dir());
    let update = apt.update(sink);
    if !apt.has_lists() {
        let reason = match update {
            Err(error) => format!("{error:#}"),
            Ok(()) => "`apt-get update` fetched no arm64 package index from the machine's apt sources".to_owned(),
        };
        return Err(fetch_error(&format!("the arm64 package lists (for {everything})"), &reason));
    }
    if let Err(error) = update {
        sink.note(&format!("apt-get update failed ({error:#}); using the package lists of an earlier update"));
    }
    let selection = resolve(&apt, sink)?;
    let missing: Vec<&PackageVersion> =
        selection.packages().into_iter().filter(|package| !cache.has(package)).collect();
    if !missing.is_empty() {
        let downloads = cache.downloads_dir();
        let names = missing.iter().map(ToString::to_string).collect::<Vec<_>>().join(" and ");
        apt.download(sink, &missing, &downloads).map_err(|error| fetch_error(&names, &format!("{error:#}")))?;
        for package in missing {
            let deb = downloaded_deb(&downloads, package).ok_or_else(|| {
                fetch_error(&package.to_string(), &format!("apt-get left no .deb in {}", downloads.display()))
            })?;
            cache.extract(sink, &deb, package)?;
            std::fs::remove_file(&deb).with_context(|| format!("removing {}", deb.display()))?;
        }
    }
    cache.record_selection(&selection)?;
    locate(cache, selection)
}

/// The current kernel package (the ABI `linux-image-arm64` depends on, else the newest in the
/// lists) and busybox, at their candidate versions.
fn resolve(apt: &PrivateApt, sink: &Sink) -> Result<Selection> {
    let depends = apt.query(sink, &["depends", KERNEL_META_PACKAGE]).unwrap_or_default();
    let names = if newest_kernel_abi(&depends).is_some() {
        depends
    } else {
        apt.query(sink, &["pkgnames", KERNEL_PACKAGE_PREFIX]).unwrap_or_default()
    };
    let Some(abi) = newest_kernel_abi(&names) else {
        return Err(fetch_error(
            &format!("{KERNEL_PACKAGE_PREFIX}<abi>-arm64"),
            &format!("the arm64 package lists name neither {KERNEL_META_PACKAGE} nor any such package"),
        ));
    };
    Ok(Selection {
        kernel: candidate(apt, sink, &kernel_package(abi))?,
        busybox: candidate(apt, sink, BUSYBOX_PACKAGE)?,
    })
}

/// The candidate version of a package in the private lists.
fn candidate(apt: &PrivateApt, sink: &Sink, name: &str) -> Result<PackageVersion> {
    let shown = apt.query(sink, &["show", "--no-all-versions", name]).unwrap_or_default();
    shown_versions(&shown)
        .into_iter()
        .find(|package| package.name == name)
        .ok_or_else(|| fetch_error(&format!("{name} for arm64"), "the arm64 package lists have no version of it"))
}

/// The kernel Image and busybox inside the selected trees, checked, with their stable links.
fn locate(cache: &PackageCache, selection: Selection) -> Result<LinuxAssets> {
    let boot = cache.tree(&selection.kernel).join("boot");
    let image = std::fs::read_dir(&boot)
        .with_context(|| format!("reading {}", boot.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .find(|path| path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("vmlinuz-")))
        .with_context(|| format!("{} has no vmlinuz-* in /boot", selection.kernel))?;
    check_arm64_image(&image)?;
    let busybox = cache.tree(&selection.busybox).join("bin").join("busybox");
    if !busybox.is_file() {
        bail!("{} has no /bin/busybox", selection.busybox);
    }
    let image_link = cache.link(IMAGE_LINK, &image)?;
    let busybox_link = cache.link(BUSYBOX_LINK, &busybox)?;
    Ok(LinuxAssets { selection, image, busybox, image_link, busybox_link })
}

/// Fails unless the file starts with an arm64 Image header (magic `ARM\x64` at 0x38).
fn check_arm64_image(path: &Path) -> Result<()> {
    let mut header = [0_u8; 0x40];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut header))
        .with_context(|| format!("reading {}", path.display()))?;
    if header[0x38..0x3c] != *b"ARM\x64" {
        bail!("{} is not a raw arm64 Image (no ARM\\x64 magic at 0x38)", path.display());
    }
    Ok(())
}

fn fetch_error(what: &str, reason: &str) -> anyhow::Error {
    let reason = reason.split('\n').map(str::trim).filter(|part| !part.is_empty()).collect::<Vec<_>>().join(" ");
    FetchError { what: what.to_owned(), reason }.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_errors_name_what_could_not_be_fetched_in_one_line() {
        let error =
            fetch_error("linux-image-6.1.0-56-arm64 6.1.192-2", "`apt-get download` failed\n  (exit status: 100)");
        let fetch = error.downcast_ref::<FetchError>().expect("a FetchError");
        assert_eq!(fetch.what, "linux-image-6.1.0-56-arm64 6.1.192-2");
        assert_eq!(
            error.to_string(),
            "could not fetch linux-image-6.1.0-56-arm64 6.1.192-2: `apt-get download` failed (exit status: 100)"
        );
    }

    #[test]
    fn a_complete_cached_selection_is_reused_without_apt() {
        let root = std::env::temp_dir().join(format!("xtask-linux-packages-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let cache = PackageCache::new(root.clone());
        let selection = Selection {
            kernel: PackageVersion::new("linux-image-6.1.0-56-arm64", "6.1.192-2"),
            busybox: PackageVersion::new("busybox-static", "1:1.35.0-4+deb12u1+b1"),
        };
        let boot = cache.tree(&selection.kernel).join("boot");
        std::fs::create_dir_all(&boot).unwrap();
        let mut header = vec![0_u8; 0x40];
        header[0x38..0x3c].copy_from_slice(b"ARM\x64");
        std::fs::write(boot.join("vmlinuz-6.1.0-56-arm64"), &header).unwrap();
        std::fs::create_dir_all(cache.tree(&selection.busybox).join("bin")).unwrap();
        std::fs::write(cache.tree(&selection.busybox).join("bin/busybox"), b"busybox").unwrap();
        cache.record_selection(&selection).unwrap();
        let sink = Sink::log_file(&root.join("fetch.log")).unwrap();
        let assets = fetch_linux(&cache, &sink, Refresh::IfMissing).unwrap();
        assert_eq!(assets.selection, selection);
        assert_eq!(assets.image, boot.join("vmlinuz-6.1.0-56-arm64"));
        assert_eq!(assets.image_link, root.join("Image"));
        assert_eq!(std::fs::read(&assets.busybox_link).unwrap(), b"busybox");
        assert!(
            std::fs::read_to_string(root.join("fetch.log")).unwrap().contains("reusing linux-image-6.1.0-56-arm64")
        );
        std::fs::write(boot.join("vmlinuz-6.1.0-56-arm64"), [0x1f, 0x8b, 0, 0]).unwrap();
        let error = fetch_linux(&cache, &sink, Refresh::IfMissing).unwrap_err();
        assert!(error.downcast_ref::<FetchError>().is_none(), "a bad Image is a failure, not a skip");
        std::fs::remove_dir_all(root).unwrap();
    }
}
