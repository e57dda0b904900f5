//! Device-tree parsing against QEMU's own trees and hand-written ones (see
//! `data/device-trees/README.md`), and against broken blobs, which must give errors, not panics.

use somnus_abi::PhysAddr;
use somnus_kernel::device_tree::{self, DeviceTreeError, MAX_BLOB_SIZE};
use somnus_kernel::platform::{GicInfo, MAX_CPUS, MAX_RAM_REGIONS, MemoryRegion, PlatformInfo, UartInfo, UartKind};

static GICV2_SMP1: &[u8] = include_bytes!("data/device-trees/qemu-virt-gicv2-a53-smp1-1g.dtb");
static GICV2_SMP4: &[u8] = include_bytes!("data/device-trees/qemu-virt-gicv2-a53-smp4-1g.dtb");
static GICV3_SMP8: &[u8] = include_bytes!("data/device-trees/qemu-virt-gicv3-a53-smp8-1g.dtb");
static GICV3_A72: &[u8] = include_bytes!("data/device-trees/qemu-virt-gicv3-a72-smp2-2g.dtb");
static GICV3_SMP10: &[u8] = include_bytes!("data/device-trees/qemu-virt-gicv3-a53-smp10-1g.dtb");
static ZYNQMP: &[u8] = include_bytes!("data/device-trees/zynqmp-console-on-uart1.dtb");
static UNUSUAL: &[u8] = include_bytes!("data/device-trees/unusual-but-valid.dtb");
static NO_MEMORY: &[u8] = include_bytes!("data/device-trees/no-memory.dtb");

const GIB: u64 = 1 << 30;

const QEMU_GICV2: GicInfo = GicInfo::V2 {
    distributor: PhysAddr(0x0800_0000),
    cpu_interface: PhysAddr(0x0801_0000),
    hypervisor_interface: Some(PhysAddr(0x0803_0000)),
    virtual_cpu_interface: Some(PhysAddr(0x0804_0000)),
    second_page_offset: 0x1000,
};

const QEMU_GICV3: GicInfo = GicInfo::V3 {
    distributor: PhysAddr(0x0800_0000),
    redistributors: PhysAddr(0x080A_0000),
    // QEMU sizes the first redistributor region for 123 CPUs of 128 KiB each.
    redistributor_region_size: 123 * 0x2_0000,
};

fn ram(regions: &[(u64, u64)]) -> [MemoryRegion; MAX_RAM_REGIONS] {
    let mut ram = [MemoryRegion::EMPTY; MAX_RAM_REGIONS];
    for (slot, &(base, size)) in ram.iter_mut().zip(regions) {
        *slot = MemoryRegion { base: PhysAddr(base), size };
    }
    ram
}

fn mpidrs(values: &[u64]) -> [u64; MAX_CPUS] {
    let mut mpidrs = [0; MAX_CPUS];
    mpidrs[..values.len()].copy_from_slice(values);
    mpidrs
}

/// What the kernel must learn from `qemu-system-aarch64 -M virt,virtualization=on`.
fn qemu_virt(gic: GicInfo, cpu_count: usize, ram_size: u64) -> PlatformInfo {
    let cpus: Vec<u64> = (0..cpu_count as u64).collect();
    PlatformInfo {
        ram: ram(&[(0x4000_0000, ram_size)]),
        ram_count: 1,
        cpu_mpidrs: mpidrs(&cpus),
        cpu_count,
        gic,
        uart: UartInfo { kind: UartKind::Pl011, base: PhysAddr(0x0900_0000), intid: Some(33) },
        hypervisor_timer_intid: 26,
        virtual_timer_intid: 27,
        maintenance_intid: 25,
    }
}

/// `blob` with every occurrence of `from` replaced by `to` (same length); at least one must exist.
fn patched(blob: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut copy = blob.to_vec();
    let mut replaced = 0;
    let mut index = 0;
    while index + from.len() <= copy.len() {
        if copy[index..].starts_with(from) {
            copy[index..index + from.len()].copy_from_slice(to);
            replaced += 1;
            index += from.len();
        } else {
            index += 1;
        }
    }
    assert!(replaced > 0, "{from:?} not found");
    copy
}

/// The big-endian word at byte `offset`.
fn word_at(blob: &[u8], offset: usize) -> usize {
    let bytes = blob[offset..offset + 4].try_into().unwrap();
    u32::from_be_bytes(bytes) as usize
}

/// Header field `index` (1: total size, 2: structure offset, 3: strings offset, 8: strings size).
fn header_word(blob: &[u8], index: usize) -> usize {
    word_at(blob, index * 4)
}

#[test]
fn qemu_virt_gicv2_one_cpu() {
    assert_eq!(device_tree::parse(GICV2_SMP1), Ok(qemu_virt(QEMU_GICV2, 1, GIB)));
}

#[test]
fn qemu_virt_gicv2_four_cpus() {
    assert_eq!(device_tree::parse(GICV2_SMP4), Ok(qemu_virt(QEMU_GICV2, 4, GIB)));
}

#[test]
fn qemu_virt_gicv3_eight_cpus() {
    let platform = device_tree::parse(GICV3_SMP8).unwrap();
    assert_eq!(platform, qemu_virt(QEMU_GICV3, 8, GIB));
    assert_eq!(platform.gic.version(), 3);
}

#[test]
fn qemu_virt_gicv3_cortex_a72_two_gib() {
    assert_eq!(device_tree::parse(GICV3_A72), Ok(qemu_virt(QEMU_GICV3, 2, 2 * GIB)));
}

#[test]
fn more_cpus_than_supported_keeps_the_first() {
    assert_eq!(device_tree::parse(GICV3_SMP10), Ok(qemu_virt(QEMU_GICV3, MAX_CPUS, GIB)));
}

#[test]
fn zynqmp_console_is_found_through_an_alias_with_options() {
    let expected = PlatformInfo {
        ram: ram(&[(0, 0x7FF0_0000), (0x8_0000_0000, 0x8000_0000)]),
        ram_count: 2,
        cpu_mpidrs: mpidrs(&[0, 1, 2, 3]),
        cpu_count: 4,
        gic: GicInfo::V2 {
            distributor: PhysAddr(0xF901_0000),
            cpu_interface: PhysAddr(0xF902_0000),
            hypervisor_interface: Some(PhysAddr(0xF904_0000)),
            virtual_cpu_interface: Some(PhysAddr(0xF906_0000)),
            second_page_offset: 0x1_0000,
        },
        // UART1: the first Cadence UART in the tree is UART0, which is not the console.
        uart: UartInfo { kind: UartKind::Cadence, base: PhysAddr(0xFF01_0000), intid: Some(54) },
        hypervisor_timer_intid: 26,
        virtual_timer_intid: 27,
        maintenance_intid: 25,
    };
    assert_eq!(device_tree::parse(ZYNQMP), Ok(expected));
}

#[test]
fn unusual_but_valid_tree() {
    let expected = PlatformInfo {
        // Empty and disabled ranges skipped; the fifth usable range does not fit.
        ram: ram(&[
            (0x8000_0000, 0x1000_0000),
            (0xA000_0000, 0x1000_0000),
            (0x8_8000_0000, 0x4000_0000),
            (0x9_0000_0000, 0x1000),
        ]),
        ram_count: MAX_RAM_REGIONS,
        // The failed CPU is skipped; the disabled one can still be started.
        cpu_mpidrs: mpidrs(&[0x1_0000_0000, 0x1_0000_0100]),
        cpu_count: 2,
        gic: GicInfo::V3 {
            distributor: PhysAddr(0x2F00_0000),
            redistributors: PhysAddr(0x2F10_0000),
            redistributor_region_size: 0x20_0000,
        },
        uart: UartInfo { kind: UartKind::Pl011, base: PhysAddr(0x1C0A_0000), intid: None },
        hypervisor_timer_intid: 31,
        virtual_timer_intid: 28,
        maintenance_intid: 24,
    };
    assert_eq!(device_tree::parse(UNUSUAL), Ok(expected));
}

#[test]
fn tree_without_a_timer_node_gets_the_usual_timer_interrupts() {
    let blob = patched(GICV3_SMP8, b"arm,armv8-timer\0", b"arm,armv8-timex\0");
    let blob = patched(&blob, b"arm,armv7-timer\0", b"arm,armv7-timex\0");
    assert_eq!(device_tree::parse(&blob), Ok(qemu_virt(QEMU_GICV3, 8, GIB)));
}

#[test]
fn missing_parts_are_reported() {
    assert_eq!(device_tree::parse(NO_MEMORY), Err(DeviceTreeError::NoMemory));
    let no_cpus = patched(GICV2_SMP4, b"\0\0\0\x01cpus\0", b"\0\0\0\x01cpuz\0");
    assert_eq!(device_tree::parse(&no_cpus), Err(DeviceTreeError::NoCpus));
    let no_gic = patched(GICV2_SMP4, b"arm,cortex-a15-gic\0", b"arm,cortex-a15-gix\0");
    assert_eq!(device_tree::parse(&no_gic), Err(DeviceTreeError::NoGic));
    // stdout-path still names the node, but it is no longer a supported UART.
    let no_uart = patched(GICV2_SMP4, b"arm,pl011\0", b"arm,pl012\0");
    assert_eq!(device_tree::parse(&no_uart), Err(DeviceTreeError::NoUart));
}

#[test]
fn truncated_blobs_are_refused() {
    let total_size = header_word(ZYNQMP, 1);
    assert_eq!(total_size, ZYNQMP.len());
    for length in [0, 3, 8, 39, 40, total_size / 2, total_size - 1] {
        assert_eq!(device_tree::parse(&ZYNQMP[..length]), Err(DeviceTreeError::Truncated));
    }
    assert_eq!(device_tree::parse(&GICV2_SMP1[..GICV2_SMP1.len() - 1]), Err(DeviceTreeError::Truncated));
}

#[test]
fn bad_magic_is_refused() {
    let mut blob = GICV2_SMP1.to_vec();
    blob[0] = 0xD1;
    assert_eq!(device_tree::parse(&blob), Err(DeviceTreeError::BadMagic));
    assert_eq!(device_tree::parse(b"this is not a device tree at all, just text"), Err(DeviceTreeError::BadMagic));
}

#[test]
fn inconsistent_header_is_refused() {
    let mut blob = ZYNQMP.to_vec();
    blob[36..40].copy_from_slice(&0x10_0000_u32.to_be_bytes()); // structure block size
    assert_eq!(device_tree::parse(&blob), Err(DeviceTreeError::Malformed));
}

#[test]
fn extra_bytes_after_the_tree_are_ignored() {
    let mut blob = ZYNQMP.to_vec();
    blob.extend_from_slice(&[0xFF; 64]);
    assert_eq!(device_tree::parse(&blob), device_tree::parse(ZYNQMP));
}

/// Replacement values for a word: tokens, zero, all ones, and nearby lengths and offsets.
fn awkward_values(word: u32) -> [u32; 10] {
    [0, 1, 2, 3, 4, 9, 0x7F7F_7F7F, u32::MAX, word.wrapping_add(4), word.wrapping_sub(4)]
}

/// Overwrites each word at `offsets` in turn with each of `values(word)`; the parser may accept
/// or refuse the result but must not panic.
fn corrupt_words<const N: usize>(blob: &[u8], offsets: impl IntoIterator<Item = usize>, values: fn(u32) -> [u32; N]) {
    let mut copy = blob.to_vec();
    for offset in offsets {
        let original: [u8; 4] = copy[offset..offset + 4].try_into().unwrap();
        for value in values(u32::from_be_bytes(original)) {
            copy[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
            let _ = device_tree::parse(&copy);
        }
        copy[offset..offset + 4].copy_from_slice(&original);
    }
}

/// Offsets of the words that give the tree its shape: header, tokens, node names, property
/// lengths and name offsets, and the strings block (property values left out).
fn structural_word_offsets(blob: &[u8]) -> Vec<usize> {
    let structure = header_word(blob, 2);
    let strings = header_word(blob, 3);
    let mut offsets: Vec<usize> = (0..40).step_by(4).collect();
    let mut offset = structure;
    loop {
        offsets.push(offset);
        let token = word_at(blob, offset);
        offset += 4;
        match token {
            1 => {
                let name_length = blob[offset..].iter().position(|&byte| byte == 0).unwrap() + 1;
                offsets.extend((offset..offset + name_length).step_by(4));
                offset += name_length.next_multiple_of(4);
            }
            3 => {
                offsets.extend([offset, offset + 4]);
                offset += 8 + word_at(blob, offset).next_multiple_of(4);
            }
            2 => {}
            _ => break,
        }
    }
    offsets.extend((strings..strings + header_word(blob, 8) - 3).step_by(4));
    offsets
}

#[test]
fn corrupting_any_word_of_a_small_tree_never_panics() {
    for blob in [ZYNQMP, UNUSUAL] {
        corrupt_words(blob, (0..blob.len() - 3).step_by(4), awkward_values);
    }
}

#[test]
fn corrupting_the_shape_of_a_qemu_tree_never_panics() {
    let offsets = structural_word_offsets(GICV2_SMP4);
    assert!(offsets.len() > 500, "the walk covers the whole tree");
    // Fewer values than for the small trees: each parse of this tree is slower.
    corrupt_words(GICV2_SMP4, offsets, |word| [0, 2, 9, u32::MAX, word.wrapping_add(4)]);
}

#[test]
fn blob_at_finds_a_tree_in_memory() {
    // SAFETY: a static holds the whole blob, readable and never written.
    let found = unsafe { device_tree::blob_at(GICV2_SMP4.as_ptr() as usize) };
    assert_eq!(found.map(<[u8]>::len), Some(GICV2_SMP4.len()), "the header's totalsize");
    assert_eq!(found.map(device_tree::parse), Some(Ok(qemu_virt(QEMU_GICV2, 4, GIB))));
    // SAFETY: as above; the slice starts at the header.
    let found = unsafe { device_tree::blob_at(ZYNQMP.as_ptr() as usize) };
    assert_eq!(found, Some(ZYNQMP));
}

#[test]
fn blob_at_refuses_what_is_not_a_tree() {
    static TEXT: [u8; 8] = *b"no tree!";
    // SAFETY: address 0 is never read.
    assert_eq!(unsafe { device_tree::blob_at(0) }, None);
    // SAFETY: the first 8 bytes are a readable static and have no magic, so nothing more is read.
    assert_eq!(unsafe { device_tree::blob_at(TEXT.as_ptr() as usize) }, None);
    for size in [0_u32, 39, MAX_BLOB_SIZE as u32 + 1, u32::MAX] {
        let mut header = [0_u8; 8];
        header[..4].copy_from_slice(&0xD00D_FEED_u32.to_be_bytes());
        header[4..].copy_from_slice(&size.to_be_bytes());
        // SAFETY: 8 readable bytes on the stack; the size is implausible, so nothing more is read.
        assert_eq!(unsafe { device_tree::blob_at(header.as_ptr() as usize) }, None);
    }
}
