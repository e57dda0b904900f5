//! Reads the boot loader's flattened device tree into a [`PlatformInfo`]: RAM, CPUs, GIC, timer
//! interrupts and the console UART.
//!
//! Pure code, tested on the host. Malformed input yields an error, never a panic: the blob's
//! structure is checked (see `structure_check`) before the `fdt` crate walks it, and paths and
//! aliases are resolved here rather than by `fdt`, whose alias lookup can recurse without bound.

mod structure_check;

use core::fmt;

use fdt::Fdt;
use fdt::node::FdtNode;
use somnus_abi::PhysAddr;

use crate::platform::{GicInfo, MAX_CPUS, MAX_RAM_REGIONS, MemoryRegion, PlatformInfo, UartInfo, UartKind};

/// Largest device tree [`blob_at`] accepts.
pub const MAX_BLOB_SIZE: usize = 2 * 1024 * 1024;

/// GICv2 implementations with virtualization extensions.
const GIC_V2_COMPATIBLE: [&str; 4] = ["arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a7-gic", "arm,gic-v2"];
/// GICv3 (and GICv4, which uses the same binding).
const GIC_V3_COMPATIBLE: [&str; 1] = ["arm,gic-v3"];
/// The architected timer.
const TIMER_COMPATIBLE: [&str; 2] = ["arm,armv8-timer", "arm,armv7-timer"];
/// PL011 UARTs.
const PL011_COMPATIBLE: [&str; 1] = ["arm,pl011"];
/// Cadence UARTs (ZynqMP and Zynq-7000).
const CADENCE_UART_COMPATIBLE: [&str; 3] = ["cdns,uart-r1p12", "xlnx,xuartps", "cdns,uart-r1p8"];

/// The GIC binding's default `#interrupt-cells` (type, number, flags).
const DEFAULT_INTERRUPT_CELLS: usize = 3;
/// Interrupt specifier type cell of a private peripheral interrupt.
const PPI_TYPE: u32 = 1;
/// INTID of PPI 0.
const FIRST_PPI_INTID: u32 = 16;
/// PPI 9: GIC maintenance interrupt.
const DEFAULT_MAINTENANCE_INTID: u32 = 25;
/// PPI 10: EL2 physical timer.
const DEFAULT_HYPERVISOR_TIMER_INTID: u32 = 26;
/// PPI 11: virtual timer.
const DEFAULT_VIRTUAL_TIMER_INTID: u32 = 27;

/// Why a device tree could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceTreeError {
    /// The blob does not start with the FDT magic number.
    BadMagic,
    /// The blob is shorter than its header says.
    Truncated,
    /// The header or structure is inconsistent, or the version is unsupported.
    Malformed,
    /// No memory node with a non-empty range.
    NoMemory,
    /// No CPU node under `/cpus`.
    NoCpus,
    /// No supported GIC, or its `reg` lacks a required frame.
    NoGic,
    /// No supported UART (neither at `stdout-path` nor anywhere else).
    NoUart,
}

impl fmt::Display for DeviceTreeError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::BadMagic => "not a device tree (bad magic)",
            Self::Truncated => "device tree truncated",
            Self::Malformed => "malformed or unsupported device tree",
            Self::NoMemory => "device tree has no memory",
            Self::NoCpus => "device tree has no CPUs",
            Self::NoGic => "device tree has no supported GIC",
            Self::NoUart => "device tree has no supported UART",
        })
    }
}

/// The device tree at `address`, if one is there: `totalsize` bytes starting with the magic
/// number, with `totalsize` at most [`MAX_BLOB_SIZE`]. Address 0 (what QEMU passes in x0 to an
/// ELF) gives `None`.
///
/// # Safety
/// Unless `address` is 0, its first 8 bytes must be readable. If they hold the FDT magic and a
/// plausible size, that many bytes from `address` must be readable memory that nothing writes
/// for the rest of the program, since the slice is returned as `'static`.
#[must_use]
pub unsafe fn blob_at(address: usize) -> Option<&'static [u8]> {
    if address == 0 {
        return None;
    }
    // SAFETY: the caller guarantees the first 8 bytes are readable; unaligned reads are allowed.
    let header = unsafe { core::ptr::read_unaligned(address as *const [u8; 8]) };
    let magic = structure_check::read_be_u32(&header, 0)?;
    let size = structure_check::read_be_u32(&header, 4)? as usize;
    let plausible = (structure_check::HEADER_SIZE..=MAX_BLOB_SIZE).contains(&size);
    if magic != structure_check::MAGIC || !plausible || address.checked_add(size).is_none() {
        return None;
    }
    // SAFETY: the caller guarantees `size` bytes from `address` are readable and left alone for
    // the rest of the program; the range does not wrap (checked above) and is far below
    // `isize::MAX`.
    Some(unsafe { core::slice::from_raw_parts(address as *const u8, size) })
}

/// The platform the device tree `blob` describes.
pub fn parse(blob: &[u8]) -> Result<PlatformInfo, DeviceTreeError> {
    let blob = structure_check::check_structure(blob)?;
    let tree = Fdt::new(blob).map_err(|_| DeviceTreeError::Malformed)?;
    let root = tree.all_nodes().next().ok_or(DeviceTreeError::Malformed)?;

    let (ram, ram_count) = memory(&tree)?;
    let (cpu_mpidrs, cpu_count) = cpus(root)?;

    let gic_node = tree
        .all_nodes()
        .find(|node| {
            is_available(*node)
                && (is_compatible(*node, &GIC_V2_COMPATIBLE) || is_compatible(*node, &GIC_V3_COMPATIBLE))
        })
        .ok_or(DeviceTreeError::NoGic)?;
    let gic = gic(gic_node)?;
    let interrupt_cells = gic_node.interrupt_cells().unwrap_or(DEFAULT_INTERRUPT_CELLS);
    let maintenance_intid = ppi_intid(gic_node, 0, interrupt_cells).unwrap_or(DEFAULT_MAINTENANCE_INTID);

    let timer = tree.all_nodes().find(|node| is_available(*node) && is_compatible(*node, &TIMER_COMPATIBLE));
    // Timer interrupts, in order: secure physical, non-secure physical, virtual, EL2 physical.
    let timer_intid = |index| timer.and_then(|node| ppi_intid(node, index, interrupt_cells));

    Ok(PlatformInfo {
        ram,
        ram_count,
        cpu_mpidrs,
        cpu_count,
        gic,
        uart: uart(&tree, root)?,
        hypervisor_timer_intid: timer_intid(3).unwrap_or(DEFAULT_HYPERVISOR_TIMER_INTID),
        virtual_timer_intid: timer_intid(2).unwrap_or(DEFAULT_VIRTUAL_TIMER_INTID),
        maintenance_intid,
    })
}

/// The node's string property `name`, without its terminating NUL.
fn string_property<'a>(node: FdtNode<'_, 'a>, name: &str) -> Option<&'a str> {
    node.property(name)?.as_str()
}

/// Whether the node is usable: no `status`, or `status` "okay"/"ok".
fn is_available(node: FdtNode<'_, '_>) -> bool {
    string_property(node, "status").is_none_or(|status| status == "okay" || status == "ok")
}

/// Whether one of the node's `compatible` strings is in `wanted`.
fn is_compatible(node: FdtNode<'_, '_>, wanted: &[&str]) -> bool {
    node.compatible().is_some_and(|compatible| compatible.all().any(|name| wanted.contains(&name)))
}

/// Whether a node called `name` answers to the path component `wanted` (a component without a
/// unit address matches any unit address).
fn name_matches(name: &str, wanted: &str) -> bool {
    name == wanted || (!wanted.contains('@') && name.split('@').next() == Some(wanted))
}

/// The node at the absolute `path`, walking down from `root`.
fn node_at_path<'b, 'a>(root: FdtNode<'b, 'a>, path: &str) -> Option<FdtNode<'b, 'a>> {
    let mut node = root;
    for component in path.split('/').filter(|component| !component.is_empty()) {
        node = node.children().find(|child| name_matches(child.name, component))?;
    }
    Some(node)
}

/// The `reg` ranges of the node, as (base, size); a missing size reads as 0.
fn reg_ranges<'a>(node: FdtNode<'_, 'a>) -> impl Iterator<Item = (PhysAddr, u64)> + 'a {
    node.reg()
        .into_iter()
        .flatten()
        .map(|region| (PhysAddr(region.starting_address.addr() as u64), region.size.unwrap_or(0) as u64))
}

/// The `reg` range at `index`.
fn reg_range(node: FdtNode<'_, '_>, index: usize) -> Option<(PhysAddr, u64)> {
    reg_ranges(node).nth(index)
}

/// INTID of the PPI in the node's `interrupts` specifier `index`, in the GIC binding (type cell
/// 1 = PPI, then the PPI number). `None` if the specifier is missing or is not a PPI.
fn ppi_intid(node: FdtNode<'_, '_>, index: usize, interrupt_cells: usize) -> Option<u32> {
    if interrupt_cells < 2 {
        return None;
    }
    let value = node.property("interrupts")?.value;
    let start = index.checked_mul(interrupt_cells)?.checked_mul(4)?;
    let end = start.checked_add(interrupt_cells.checked_mul(4)?)?;
    let specifier = value.get(start..end)?;
    let kind = structure_check::read_be_u32(specifier, 0)?;
    let number = structure_check::read_be_u32(specifier, 4)?;
    (kind == PPI_TYPE && number < 16).then(|| FIRST_PPI_INTID + number)
}

/// Every non-empty range of every available `device_type = "memory"` node, up to
/// [`MAX_RAM_REGIONS`] (later ones are left out).
fn memory(tree: &Fdt<'_>) -> Result<([MemoryRegion; MAX_RAM_REGIONS], usize), DeviceTreeError> {
    let mut ram = [MemoryRegion::EMPTY; MAX_RAM_REGIONS];
    let ranges = tree
        .all_nodes()
        .filter(|node| string_property(*node, "device_type") == Some("memory"))
        .filter(|node| is_available(*node))
        .flat_map(reg_ranges)
        .filter(|&(_, size)| size > 0);
    let mut count = 0;
    for (slot, (base, size)) in ram.iter_mut().zip(ranges) {
        *slot = MemoryRegion { base, size };
        count += 1;
    }
    if count == 0 {
        return Err(DeviceTreeError::NoMemory);
    }
    Ok((ram, count))
}

/// The MPIDR (`reg`) of each `device_type = "cpu"` node under `/cpus`, in tree order, up to
/// [`MAX_CPUS`] (later ones are left out). CPUs marked failed are skipped.
fn cpus(root: FdtNode<'_, '_>) -> Result<([u64; MAX_CPUS], usize), DeviceTreeError> {
    let mut mpidrs = [0; MAX_CPUS];
    let cpus_node = node_at_path(root, "/cpus").ok_or(DeviceTreeError::NoCpus)?;
    let found = cpus_node
        .children()
        .filter(|node| name_matches(node.name, "cpu"))
        .filter(|node| string_property(*node, "device_type") == Some("cpu"))
        .filter(|node| !string_property(*node, "status").is_some_and(|s| s.starts_with("fail")))
        .filter_map(|node| reg_range(node, 0).map(|(mpidr, _)| mpidr.0));
    let mut count = 0;
    for (slot, mpidr) in mpidrs.iter_mut().zip(found) {
        *slot = mpidr;
        count += 1;
    }
    if count == 0 {
        return Err(DeviceTreeError::NoCpus);
    }
    Ok((mpidrs, count))
}

/// The GIC's frames from its `reg`: GICv2 [GICD, GICC, GICH?, GICV?], GICv3 [GICD, GICR, ...].
fn gic(node: FdtNode<'_, '_>) -> Result<GicInfo, DeviceTreeError> {
    let frame = |index| reg_range(node, index).ok_or(DeviceTreeError::NoGic);
    if is_compatible(node, &GIC_V3_COMPATIBLE) {
        let (redistributors, redistributor_region_size) = frame(1)?;
        return Ok(GicInfo::V3 { distributor: frame(0)?.0, redistributors, redistributor_region_size });
    }
    let (cpu_interface, cpu_interface_size) = frame(1)?;
    Ok(GicInfo::V2 {
        distributor: frame(0)?.0,
        cpu_interface,
        second_page_offset: if cpu_interface_size >= 0x2_0000 { 0x1_0000 } else { 0x1000 },
        hypervisor_interface: frame(2).ok().map(|(base, _)| base),
        virtual_cpu_interface: frame(3).ok().map(|(base, _)| base),
    })
}

/// The UART the node describes, if it is a supported one with a `reg`.
fn uart_of(node: FdtNode<'_, '_>) -> Option<UartInfo> {
    let kind = if is_compatible(node, &PL011_COMPATIBLE) {
        UartKind::Pl011
    } else if is_compatible(node, &CADENCE_UART_COMPATIBLE) {
        UartKind::Cadence
    } else {
        return None;
    };
    let interrupt_cells = interrupt_parent_cells(node);
    Some(UartInfo { kind, base: reg_range(node, 0)?.0, intid: spi_intid(node, 0, interrupt_cells) })
}

/// `#interrupt-cells` of the interrupt controller a node's interrupts go to (the GIC; 3 when
/// the tree does not say).
fn interrupt_parent_cells(node: FdtNode<'_, '_>) -> usize {
    node.interrupt_parent().and_then(FdtNode::interrupt_cells).unwrap_or(DEFAULT_INTERRUPT_CELLS)
}

/// INTID of the SPI in the node's `interrupts` specifier `index` (type cell 0 = SPI).
fn spi_intid(node: FdtNode<'_, '_>, index: usize, interrupt_cells: usize) -> Option<u32> {
    if interrupt_cells < 2 {
        return None;
    }
    let value = node.property("interrupts")?.value;
    let start = index.checked_mul(interrupt_cells)?.checked_mul(4)?;
    let specifier = value.get(start..start.checked_add(interrupt_cells.checked_mul(4)?)?)?;
    let kind = structure_check::read_be_u32(specifier, 0)?;
    let number = structure_check::read_be_u32(specifier, 4)?;
    (kind == 0 && number < 988).then(|| 32 + number)
}

/// The node `/chosen/stdout-path` names: a path or an alias, either followed by `:options`.
fn stdout_node<'b, 'a>(root: FdtNode<'b, 'a>) -> Option<FdtNode<'b, 'a>> {
    let chosen = node_at_path(root, "/chosen")?;
    let target = string_property(chosen, "stdout-path")?.split(':').next()?;
    let path = if target.starts_with('/') { target } else { string_property(node_at_path(root, "/aliases")?, target)? };
    // An alias must name a path; one naming another alias is not followed.
    if !path.starts_with('/') {
        return None;
    }
    node_at_path(root, path)
}

/// The console UART: the one at `stdout-path` if it is supported, otherwise the first available
/// supported UART in the tree.
fn uart<'b, 'a: 'b>(tree: &'b Fdt<'a>, root: FdtNode<'b, 'a>) -> Result<UartInfo, DeviceTreeError> {
    stdout_node(root)
        .and_then(uart_of)
        .or_else(|| tree.all_nodes().filter(|node| is_available(*node)).find_map(uart_of))
        .ok_or(DeviceTreeError::NoUart)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_components_match_with_or_without_unit_address() {
        assert!(name_matches("cpu@0", "cpu"));
        assert!(name_matches("cpu@0", "cpu@0"));
        assert!(!name_matches("cpu@0", "cpu@1"));
        assert!(!name_matches("cpu-map", "cpu"));
        assert!(name_matches("chosen", "chosen"));
    }

    #[test]
    fn errors_display_as_sentences() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(DeviceTreeError::NoGic.to_string(), "device tree has no supported GIC");
        assert_eq!(DeviceTreeError::BadMagic.to_string(), "not a device tree (bad magic)");
    }
}
