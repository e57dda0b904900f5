//! What the Debian archive's answers mean: the kernel ABI that is current (named by the
//! `linux-image-arm64` meta-package in `apt-cache depends` output, or failing that the newest
//! `linux-image-<abi>-arm64` in a list of names), the candidate version of each package (from
//! `apt-cache show`), and Debian's version order (`dpkg --compare-versions`), so that the newest
//! ABI wins when several are offered.

use std::cmp::Ordering;
use std::fmt;

/// The meta-package that depends on the distribution's current arm64 kernel.
pub const KERNEL_META_PACKAGE: &str = "linux-image-arm64";

/// Prefix of every kernel image package name (also the `apt-cache pkgnames` query).
pub const KERNEL_PACKAGE_PREFIX: &str = "linux-image-";

/// Suffix of the kernel packages for generic 64-bit Arm machines.
pub const KERNEL_PACKAGE_SUFFIX: &str = "-arm64";

/// The statically linked busybox package.
pub const BUSYBOX_PACKAGE: &str = "busybox-static";

/// A binary package at one version, as the archive names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PackageVersion {
    /// Package name, e.g. `linux-image-6.1.0-56-arm64`.
    pub name: String,
    /// Debian version, epoch included, e.g. `1:1.35.0-4+deb12u1+b1`.
    pub version: String,
}

impl PackageVersion {
    /// A package at a version.
    pub fn new(name: &str, version: &str) -> Self {
        Self { name: name.to_owned(), version: version.to_owned() }
    }
}

impl fmt::Display for PackageVersion {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} {}", self.name, self.version)
    }
}

/// The kernel package of an ABI: `6.1.0-56` → `linux-image-6.1.0-56-arm64`.
pub fn kernel_package(abi: &str) -> String {
    format!("{KERNEL_PACKAGE_PREFIX}{abi}{KERNEL_PACKAGE_SUFFIX}")
}

/// The ABI of a generic arm64 kernel package name: `linux-image-6.1.0-56-arm64` → `6.1.0-56`.
/// Flavours (`-cloud-arm64`, `-rt-arm64`), debug and unsigned variants and meta-packages
/// without a version give `None`.
pub fn kernel_abi(package: &str) -> Option<&str> {
    let abi = package.strip_prefix(KERNEL_PACKAGE_PREFIX)?.strip_suffix(KERNEL_PACKAGE_SUFFIX)?;
    let every_part_numbered = abi.split('-').all(|part| part.starts_with(|c: char| c.is_ascii_digit()));
    every_part_numbered.then_some(abi)
}

/// The newest kernel ABI among the generic arm64 kernel packages named anywhere in `output`
/// (`apt-cache depends linux-image-arm64`, `apt-cache pkgnames linux-image-`, or a search).
pub fn newest_kernel_abi(output: &str) -> Option<&str> {
    output
        .split_whitespace()
        .map(|token| token.trim_matches(|c: char| matches!(c, '<' | '>' | '|' | ',' | ':')))
        .filter_map(kernel_abi)
        .max_by(|left, right| compare_versions(left, right))
}

/// The packages and versions of `apt-cache show` output, one per stanza, in order.
pub fn shown_versions(output: &str) -> Vec<PackageVersion> {
    let mut found = Vec::new();
    let mut package: Option<&str> = None;
    for line in output.lines() {
        if line.trim().is_empty() {
            package = None;
        } else if let Some(name) = line.strip_prefix("Package:") {
            package = Some(name.trim());
        } else if let (Some(name), Some(version)) = (package, line.strip_prefix("Version:")) {
            found.push(PackageVersion::new(name, version.trim()));
            package = None;
        }
    }
    found
}

/// Debian's order of two versions `[epoch:]upstream[-revision]`, as `dpkg --compare-versions`.
pub fn compare_versions(left: &str, right: &str) -> Ordering {
    let (left_epoch, left_upstream, left_revision) = split_version(left);
    let (right_epoch, right_upstream, right_revision) = split_version(right);
    left_epoch
        .cmp(&right_epoch)
        .then_with(|| compare_parts(left_upstream, right_upstream))
        .then_with(|| compare_parts(left_revision, right_revision))
}

/// `[epoch:]upstream[-revision]` → (epoch, upstream, revision); a bad epoch counts as 0.
fn split_version(version: &str) -> (u64, &str, &str) {
    let (epoch, rest) = match version.split_once(':') {
        Some((epoch, rest)) => (epoch.parse().unwrap_or(0), rest),
        None => (0, version),
    };
    let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
    (epoch, upstream, revision)
}

/// dpkg's `verrevcmp`: alternating runs of non-digits (compared character by character, `~`
/// before the end, letters before other characters) and digits (compared as numbers).
fn compare_parts(left: &str, right: &str) -> Ordering {
    let (mut left, mut right) = (left.as_bytes(), right.as_bytes());
    while !left.is_empty() || !right.is_empty() {
        while left.first().is_some_and(|c| !c.is_ascii_digit()) || right.first().is_some_and(|c| !c.is_ascii_digit()) {
            let order = character_order(left.first()).cmp(&character_order(right.first()));
            if order != Ordering::Equal {
                return order;
            }
            left = left.get(1..).unwrap_or_default();
            right = right.get(1..).unwrap_or_default();
        }
        let (left_number, left_rest) = split_digits(left);
        let (right_number, right_rest) = split_digits(right);
        let order = left_number.len().cmp(&right_number.len()).then_with(|| left_number.cmp(right_number));
        if order != Ordering::Equal {
            return order;
        }
        (left, right) = (left_rest, right_rest);
    }
    Ordering::Equal
}

/// Weight of one character in a non-digit run (`None` is the end of the run).
fn character_order(character: Option<&u8>) -> i32 {
    match character {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(*c),
        Some(c) => i32::from(*c) + 256,
    }
}

/// The leading digits without their leading zeros, and the rest.
fn split_digits(text: &[u8]) -> (&[u8], &[u8]) {
    let end = text.iter().position(|c| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, rest) = text.split_at(end);
    let first_significant = digits.iter().position(|&c| c != b'0').unwrap_or(digits.len());
    (&digits[first_significant..], rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_abis_of_generic_packages_only() {
        assert_eq!(kernel_abi("linux-image-6.1.0-56-arm64"), Some("6.1.0-56"));
        assert_eq!(kernel_abi("linux-image-6.12.117+deb12-arm64"), Some("6.12.117+deb12"));
        assert_eq!(kernel_abi("linux-image-6.1.0-56-cloud-arm64"), None);
        assert_eq!(kernel_abi("linux-image-6.1.0-56-rt-arm64"), None);
        assert_eq!(kernel_abi("linux-image-6.1.0-56-arm64-dbg"), None);
        assert_eq!(kernel_abi("linux-image-6.1.0-56-arm64-unsigned"), None);
        assert_eq!(kernel_abi("linux-image-arm64"), None);
        assert_eq!(kernel_abi("linux-image-rt-arm64"), None);
        assert_eq!(kernel_abi("linux-headers-6.1.0-56-arm64"), None);
        assert_eq!(kernel_package("6.1.0-56"), "linux-image-6.1.0-56-arm64");
    }

    #[test]
    fn the_meta_package_names_the_current_abi() {
        let depends = "linux-image-arm64\n  Depends: linux-image-6.1.0-56-arm64\n";
        assert_eq!(newest_kernel_abi(depends), Some("6.1.0-56"));
        let alternatives =
            "linux-image-arm64\n |Depends: linux-image-6.1.0-9-arm64\n  Depends: <linux-image-6.1.0-10-arm64>\n";
        assert_eq!(newest_kernel_abi(alternatives), Some("6.1.0-10"));
        assert_eq!(newest_kernel_abi("linux-image-arm64\n"), None);
        assert_eq!(newest_kernel_abi(""), None);
    }

    #[test]
    fn the_newest_abi_of_a_package_list_wins() {
        let names = "linux-image-6.1.0-9-arm64\nlinux-image-6.1.0-56-cloud-arm64\nlinux-image-6.1.0-56-arm64\n\
                     linux-image-6.1.0-56-arm64-dbg\nlinux-image-6.1.0-47-arm64\nlinux-image-arm64\n";
        assert_eq!(newest_kernel_abi(names), Some("6.1.0-56"));
        let search = "linux-image-6.1.0-56-arm64 - Linux 6.1 for 64-bit ARMv8 machines (signed)\n\
                      linux-image-6.12.117+deb12-arm64 - Linux 6.12 for 64-bit ARMv8 machines (signed)\n\
                      linux-image-6.12.9+deb12-arm64 - Linux 6.12 for 64-bit ARMv8 machines (signed)\n";
        assert_eq!(newest_kernel_abi(search), Some("6.12.117+deb12"));
    }

    #[test]
    fn candidate_versions_from_apt_cache_show() {
        let output = "Package: linux-image-6.1.0-56-arm64\nSource: linux-signed-arm64 (6.1.192+2)\n\
                      Version: 6.1.192-2\nInstalled-Size: 360000\n\n\
                      Package: busybox-static\nVersion: 1:1.35.0-4+deb12u1+b1\nDescription: x\n Version: 9\n";
        assert_eq!(
            shown_versions(output),
            [
                PackageVersion::new("linux-image-6.1.0-56-arm64", "6.1.192-2"),
                PackageVersion::new("busybox-static", "1:1.35.0-4+deb12u1+b1"),
            ]
        );
        assert!(shown_versions("N: Unable to locate package nothing\n").is_empty());
        assert_eq!(PackageVersion::new("a", "1:2-3").to_string(), "a 1:2-3");
    }

    #[test]
    fn debian_version_order() {
        let less = [
            ("6.1.0-9", "6.1.0-56"),
            ("6.1.0-56", "6.12.9+deb12"),
            ("6.12.9+deb12", "6.12.117+deb12"),
            ("1.0~rc1", "1.0"),
            ("1.0", "1.0+b1"),
            ("1.0-1", "1.0-1+deb12u1"),
            ("9.9", "1:0.1"),
            ("1.0a", "1.0b"),
            ("1.0", "1.0a"),
            ("1.0-2", "1.0-10"),
        ];
        for (left, right) in less {
            assert_eq!(compare_versions(left, right), Ordering::Less, "{left} < {right}");
            assert_eq!(compare_versions(right, left), Ordering::Greater, "{right} > {left}");
        }
        assert_eq!(compare_versions("1.01", "1.1"), Ordering::Equal);
        assert_eq!(compare_versions("0:1.0-1", "1.0-1"), Ordering::Equal);
    }
}
