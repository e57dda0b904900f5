//! Debian's U-Boot for QEMU: the package `u-boot-qemu` (architecture `all`), downloaded with the
//! private arm64 apt state of [`crate::assets::private_apt`] into the package cache and extracted
//! there; its `qemu_arm64` build is QEMU's `-bios` for the `virt` machine. The version in use is
//! recorded in `selected-u-boot`, apart from the Linux selection, and reused without any network
//! once extracted. The package lists of an earlier update are used as they are; they are updated
//! only when there are none, when asked to refresh, or when they name a version the archive no
//! longer has. Failures to reach the archive are [`FetchError`]s naming what could not be fetched.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::assets::debian_packages::{PackageVersion, shown_versions};
use crate::assets::linux_packages::{FetchError, Refresh};
use crate::assets::package_cache::{PackageCache, downloaded_deb, write_file};
use crate::assets::private_apt::PrivateApt;
use crate::process::{Sink, find_in_path};

/// The Debian package with U-Boot builds for QEMU's machines.
pub const U_BOOT_PACKAGE: &str = "u-boot-qemu";

/// U-Boot for QEMU's arm64 `virt` machine inside the package.
pub const FIRMWARE_IN_PACKAGE: &str = "usr/lib/u-boot/qemu_arm64/u-boot.bin";

/// Stable name of the firmware in the cache.
pub const FIRMWARE_LINK: &str = "u-boot-qemu_arm64.bin";

/// File naming the version in use.
const SELECTION_FILE: &str = "selected-u-boot";

/// Programs the fetch needs, all from Debian's `apt` and `dpkg` packages.
const PACKAGE_TOOLS: &[&str] = &["apt-get", "apt-cache", "dpkg-deb"];

/// Debian's U-Boot for QEMU `virt`, extracted and ready to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UBootFirmware {
    /// The package version in use.
    pub package: PackageVersion,
    /// `u-boot.bin` of its `qemu_arm64` build.
    pub firmware: PathBuf,
    /// `target/assets/debian-arm64/u-boot-qemu_arm64.bin`, a link to `firmware`.
    pub link: PathBuf,
}

/// Fetches (or reuses) `u-boot-qemu` in `cache`; see the module documentation.
pub fn fetch_u_boot(cache: &PackageCache, sink: &Sink, refresh: Refresh) -> Result<UBootFirmware> {
    let cached = recorded(cache).filter(|package| cache.has(package));
    if let (Refresh::IfMissing, Some(package)) = (refresh, cached) {
        sink.note(&format!("reusing {package} from {}", cache.root().display()));
        return locate(cache, package);
    }
    if let Some(missing) = PACKAGE_TOOLS.iter().find(|tool| find_in_path(tool).is_none()) {
        return Err(fetch_error(
            U_BOOT_PACKAGE,
            &format!("`{missing}` is not installed (needs Debian's apt and dpkg)"),
        ));
    }
    let apt = PrivateApt::new(cache.apt_dir());
    let mut updated = false;
    if refresh == Refresh::Always || !apt.has_lists() {
        update(&apt, sink)?;
        updated = true;
    }
    let package = match download(cache, &apt, sink) {
        Ok(package) => package,
        Err(error) if !updated => {
            sink.note(&format!("{error:#}; updating the package lists and trying again"));
            update(&apt, sink)?;
            download(cache, &apt, sink)?
        }
        Err(error) => return Err(error),
    };
    write_file(&cache.root().join(SELECTION_FILE), selection_text(&package).as_bytes())?;
    locate(cache, package)
}

/// `apt-get update`; without package lists afterwards, a [`FetchError`].
fn update(apt: &PrivateApt, sink: &Sink) -> Result<()> {
    let update = apt.update(sink);
    if !apt.has_lists() {
        let reason = match update {
            Err(error) => format!("{error:#}"),
            Ok(()) => "`apt-get update` fetched no arm64 package index from the machine's apt sources".to_owned(),
        };
        return Err(fetch_error(&format!("the arm64 package lists (for {U_BOOT_PACKAGE})"), &reason));
    }
    if let Err(error) = update {
        sink.note(&format!("apt-get update failed ({error:#}); using the package lists of an earlier update"));
    }
    Ok(())
}

/// The candidate version in the lists, downloaded and extracted unless it already is.
fn download(cache: &PackageCache, apt: &PrivateApt, sink: &Sink) -> Result<PackageVersion> {
    let shown = apt.query(sink, &["show", "--no-all-versions", U_BOOT_PACKAGE]).unwrap_or_default();
    let package = shown_versions(&shown)
        .into_iter()
        .find(|package| package.name == U_BOOT_PACKAGE)
        .ok_or_else(|| fetch_error(U_BOOT_PACKAGE, "the arm64 package lists have no version of it"))?;
    if cache.has(&package) {
        return Ok(package);
    }
    let downloads = cache.downloads_dir();
    apt.download(sink, &[&package], &downloads)
        .map_err(|error| fetch_error(&package.to_string(), &format!("{error:#}")))?;
    let deb = downloaded_deb(&downloads, &package).ok_or_else(|| {
        fetch_error(&package.to_string(), &format!("apt-get left no .deb in {}", downloads.display()))
    })?;
    cache.extract(sink, &deb, &package)?;
    std::fs::remove_file(&deb).with_context(|| format!("removing {}", deb.display()))?;
    Ok(package)
}

/// The firmware inside the extracted package, checked, with its stable link.
fn locate(cache: &PackageCache, package: PackageVersion) -> Result<UBootFirmware> {
    let firmware = cache.tree(&package).join(FIRMWARE_IN_PACKAGE);
    if !std::fs::metadata(&firmware).is_ok_and(|metadata| metadata.is_file() && metadata.len() > 0) {
        bail!("{package} has no /{FIRMWARE_IN_PACKAGE}");
    }
    let link = cache.link(FIRMWARE_LINK, &firmware)?;
    Ok(UBootFirmware { package, firmware, link })
}

/// The version the last fetch recorded.
fn recorded(cache: &PackageCache) -> Option<PackageVersion> {
    std::fs::read_to_string(cache.root().join(SELECTION_FILE)).ok().as_deref().and_then(parse_selection)
}

/// The `selected-u-boot` file's text.
fn selection_text(package: &PackageVersion) -> String {
    format!("# Written by cargo xtask: the {U_BOOT_PACKAGE} version in use.\n{package}\n")
}

/// Reads the `selected-u-boot` text: one `u-boot-qemu <version>` line besides comments.
fn parse_selection(text: &str) -> Option<PackageVersion> {
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'));
    let (line, None) = (lines.next()?, lines.next()) else { return None };
    let mut words = line.split_whitespace();
    let (Some(U_BOOT_PACKAGE), Some(version), None) = (words.next(), words.next(), words.next()) else {
        return None;
    };
    Some(PackageVersion::new(U_BOOT_PACKAGE, version))
}

fn fetch_error(what: &str, reason: &str) -> anyhow::Error {
    let reason = reason.split('\n').map(str::trim).filter(|part| !part.is_empty()).collect::<Vec<_>>().join(" ");
    FetchError { what: what.to_owned(), reason }.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERSION: &str = "2023.01+dfsg-2+deb12u3";

    fn scratch(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("xtask-u-boot-package-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        root
    }

    #[test]
    fn selection_round_trip_and_refusals() {
        let package = PackageVersion::new(U_BOOT_PACKAGE, VERSION);
        assert_eq!(parse_selection(&selection_text(&package)), Some(package));
        assert_eq!(parse_selection(""), None);
        assert_eq!(parse_selection("busybox-static 1:1.35\n"), None, "another package");
        assert_eq!(parse_selection("u-boot-qemu\n"), None, "no version");
        assert_eq!(parse_selection("u-boot-qemu 1 2\n"), None);
        assert_eq!(parse_selection("u-boot-qemu 1\nu-boot-qemu 2\n"), None);
    }

    #[test]
    fn a_cached_package_is_reused_without_apt() {
        let root = scratch("cached");
        let cache = PackageCache::new(root.clone());
        let package = PackageVersion::new(U_BOOT_PACKAGE, VERSION);
        let firmware = cache.tree(&package).join(FIRMWARE_IN_PACKAGE);
        std::fs::create_dir_all(firmware.parent().unwrap()).unwrap();
        std::fs::write(&firmware, b"u-boot").unwrap();
        write_file(&root.join(SELECTION_FILE), selection_text(&package).as_bytes()).unwrap();
        let sink = Sink::log_file(&root.join("fetch.log")).unwrap();
        let fetched = fetch_u_boot(&cache, &sink, Refresh::IfMissing).unwrap();
        assert_eq!(fetched.package, package);
        assert_eq!(fetched.firmware, firmware);
        assert_eq!(fetched.link, root.join(FIRMWARE_LINK));
        let target = std::fs::canonicalize(&fetched.link).unwrap();
        assert_eq!(target, std::fs::canonicalize(&firmware).unwrap(), "the link points into the cache");
        assert_eq!(std::fs::read(&fetched.link).unwrap(), b"u-boot");
        assert!(std::fs::read_to_string(root.join("fetch.log")).unwrap().contains("reusing u-boot-qemu"));
        std::fs::write(&firmware, b"").unwrap();
        let error = fetch_u_boot(&cache, &sink, Refresh::IfMissing).unwrap_err();
        assert!(error.downcast_ref::<FetchError>().is_none(), "an empty firmware is a failure, not a skip");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn fetch_errors_name_the_package_in_one_line() {
        let error = fetch_error("u-boot-qemu 2023.01", "`apt-get download` failed\n  (exit status: 100)");
        assert_eq!(error.downcast_ref::<FetchError>().map(|fetch| fetch.what.as_str()), Some("u-boot-qemu 2023.01"));
        assert_eq!(
            error.to_string(),
            "could not fetch u-boot-qemu 2023.01: `apt-get download` failed (exit status: 100)"
        );
    }
}
