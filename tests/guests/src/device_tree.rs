//! The device tree the hypervisor passes in x0: validation and the few facts guests need.

use fdt::Fdt;

/// FDT header magic, big-endian at offset 0.
const FDT_MAGIC: u32 = 0xd00d_feed;

/// Parses the device tree at `address`, or `None` when there is no valid tree there.
///
/// The address must be 8-byte aligned (the arm64 boot protocol requires it) and start with the FDT
/// magic; only then is the rest of the header trusted.
#[must_use]
pub fn parse(address: u64) -> Option<Fdt<'static>> {
    if address == 0 || !address.is_multiple_of(8) {
        return None;
    }
    let magic_pointer = address as *const u32;
    // SAFETY: the address is non-zero and aligned; the boot protocol puts the device tree there, and on
    // the guest platform any other address in RAM or a device is readable (a stray one at worst aborts,
    // which the exception handler reports).
    let magic = u32::from_be(unsafe { magic_pointer.read_volatile() });
    if magic != FDT_MAGIC {
        return None;
    }
    // SAFETY: a header with the FDT magic is at `address`; `Fdt::from_ptr` checks the header's sizes and
    // the tree is never written while the guest runs, so the `'static` borrow stays valid.
    unsafe { Fdt::from_ptr(address as *const u8) }.ok()
}

/// Start and end (exclusive) of the first RAM region in the tree's memory node.
#[must_use]
pub fn ram_range(tree: &Fdt<'_>) -> Option<(u64, u64)> {
    let memory = tree.all_nodes().find(|node| node.name == "memory" || node.name.starts_with("memory@"))?;
    let region = memory.reg()?.next()?;
    let start = region.starting_address as u64;
    Some((start, start + region.size? as u64))
}

/// The kernel command line: `/chosen/bootargs`, if the tree has one.
#[must_use]
pub fn bootargs<'a>(tree: &Fdt<'a>) -> Option<&'a str> {
    tree.find_node("/chosen")?.property("bootargs")?.as_str()
}

/// The value of `key=value` in a command line of space-separated words (the first one wins).
#[must_use]
pub fn command_line_value<'a>(command_line: &'a str, key: &str) -> Option<&'a str> {
    command_line.split_ascii_whitespace().find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
}
