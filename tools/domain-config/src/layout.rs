//! Where everything goes in a domain's RAM: the kernel where its format says, the device tree
//! in the last 64 KiB of RAM, the initrd page-aligned just below it. Nothing may overlap or run
//! past the RAM; a refusal names what collides.

use std::ops::Range;

use somnus_abi::domain_bundle::MAX_LOAD_CHUNKS;
use somnus_abi::guest_platform::RAM_BASE;

use crate::error::ConfigError;
use crate::kernel_image::KernelImage;
use crate::validate::DomainSpec;

/// Bytes at the top of every domain's RAM reserved for its device tree. Inside the last 2 MiB
/// block and 8-byte aligned, as the arm64 Linux boot protocol wants.
pub const DEVICE_TREE_RESERVE: u64 = 0x1_0000;

/// Alignment of the initrd.
pub const INITRD_ALIGNMENT: u64 = 0x1000;

/// The placement of one domain's initrd and device tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainLayout {
    /// The domain's RAM.
    pub ram: Range<u64>,
    /// Where the device tree is copied (x0 at entry).
    pub device_tree_address: u64,
    /// Where the initrd lies, if there is one.
    pub initrd: Option<Range<u64>>,
}

impl DomainLayout {
    /// The range reserved for the device tree.
    #[must_use]
    pub fn device_tree(&self) -> Range<u64> {
        self.device_tree_address..self.ram.end
    }
}

/// Places the initrd and the device tree, and checks that the kernel fits beside them.
pub fn place(spec: &DomainSpec, kernel: &KernelImage) -> Result<DomainLayout, ConfigError> {
    let ram = RAM_BASE.as_u64()..RAM_BASE.as_u64() + spec.memory_bytes;
    let device_tree_address = ram.end - DEVICE_TREE_RESERVE;
    let device_tree = device_tree_address..ram.end;
    let written = &spec.kernel.written;
    let kernel_error =
        |problem: String| ConfigError::domain(&spec.reference, "kernel", format!("= {written:?}: {problem}"));

    let mut kernel_ranges: Vec<Range<u64>> = Vec::new();
    for segment in &kernel.segments {
        let range = segment.address..segment.end();
        if !ram.contains(&range.start) {
            return Err(kernel_error(format!(
                "{} segment {} lies outside the domain's RAM {}",
                kernel.format,
                show(&range),
                show(&ram)
            )));
        }
        if range.end > ram.end {
            return Err(kernel_error(format!(
                "{} is too large for the domain's memory: it needs {}, past the end of RAM at {:#x} (memory_mib = {})",
                kernel.format,
                show(&range),
                ram.end,
                spec.memory_bytes >> 20
            )));
        }
        if overlaps(&range, &device_tree) {
            return Err(kernel_error(format!(
                "{} overlaps the device tree at {} (the last {} KiB of RAM)",
                show(&range),
                show(&device_tree),
                DEVICE_TREE_RESERVE / 1024
            )));
        }
        if let Some(other) = kernel_ranges.iter().find(|other| overlaps(other, &range)) {
            return Err(kernel_error(format!("segments {} and {} overlap", show(other), show(&range))));
        }
        kernel_ranges.push(range);
    }
    if !ram.contains(&kernel.entry) {
        return Err(kernel_error(format!(
            "entry point {:#x} lies outside the domain's RAM {}",
            kernel.entry,
            show(&ram)
        )));
    }
    let chunks = kernel.segments.len() + usize::from(spec.initrd.is_some());
    if chunks > MAX_LOAD_CHUNKS {
        return Err(kernel_error(format!(
            "has {} loadable segments; a domain takes at most {MAX_LOAD_CHUNKS} with its initrd",
            kernel.segments.len()
        )));
    }
    let initrd = match &spec.initrd {
        None => None,
        Some(file) => {
            Some(place_initrd(spec, &file.written, file.bytes.len() as u64, &ram, device_tree_address, &kernel_ranges)?)
        }
    };
    Ok(DomainLayout { ram, device_tree_address, initrd })
}

/// The initrd ends just below the device tree, starting on a page boundary.
fn place_initrd(
    spec: &DomainSpec,
    written: &str,
    length: u64,
    ram: &Range<u64>,
    device_tree_address: u64,
    kernel_ranges: &[Range<u64>],
) -> Result<Range<u64>, ConfigError> {
    let fail =
        |problem: String| Err(ConfigError::domain(&spec.reference, "initrd", format!("= {written:?}: {problem}")));
    let start = device_tree_address
        .checked_sub(length)
        .map(|start| start & !(INITRD_ALIGNMENT - 1))
        .filter(|&start| start >= ram.start);
    let Some(start) = start else {
        return fail(format!(
            "{} KiB do not fit in the domain's RAM below the device tree at {device_tree_address:#x} (memory_mib = {})",
            length.div_ceil(1024),
            spec.memory_bytes >> 20
        ));
    };
    let range = start..start + length;
    if let Some(kernel) = kernel_ranges.iter().find(|kernel| overlaps(kernel, &range)) {
        return fail(format!(
            "placed at {} below the device tree, it overlaps the kernel at {}; give the domain more memory",
            show(&range),
            show(kernel)
        ));
    }
    Ok(range)
}

/// Whether two half-open ranges share a byte.
fn overlaps(first: &Range<u64>, second: &Range<u64>) -> bool {
    first.start < second.end && second.start < first.end && !first.is_empty() && !second.is_empty()
}

/// A range as `0x40080000..0x40100000`.
fn show(range: &Range<u64>) -> String {
    format!("{:#x}..{:#x}", range.start, range.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_is_half_open() {
        assert!(overlaps(&(0..10), &(9..11)));
        assert!(!overlaps(&(0..10), &(10..11)));
        assert!(!overlaps(&(0..10), &(5..5)));
        assert_eq!(show(&(0x4000_0000..0x4020_0000)), "0x40000000..0x40200000");
    }
}
