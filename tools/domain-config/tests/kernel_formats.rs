//! Kernel format detection and loading: arm64 Linux Image, ELF64 AArch64 and raw binary, and
//! the refusals of ELF files that cannot run in a domain.

mod common;

use common::{TestSegment, elf, linux_image};
use object::elf::{EM_AARCH64, EM_X86_64};
use somnus_domain_config::kernel_image::{KernelFormat, Segment, load};
use somnus_domain_config::{ConfigError, build_bundle};

#[test]
fn linux_image_is_loaded_at_text_offset_with_zeros_up_to_image_size() {
    let bytes = linux_image(0x8_0000, 0x10_0000, &[0xaa; 100]);
    let kernel = load(&bytes).unwrap();
    assert_eq!(kernel.format, KernelFormat::LinuxImage);
    assert_eq!(kernel.entry, 0x4008_0000);
    assert_eq!(kernel.segments, [Segment { address: 0x4008_0000, bytes, zero_fill: 0x10_0000 - 164 }]);
}

#[test]
fn linux_image_with_text_offset_zero_starts_at_ram_base() {
    let kernel = load(&linux_image(0, 0x4_0000, &[])).unwrap();
    assert_eq!(
        (kernel.format, kernel.entry, kernel.segments[0].address),
        (KernelFormat::LinuxImage, 0x4000_0000, 0x4000_0000)
    );
    assert_eq!(kernel.segments[0].zero_fill, 0x4_0000 - 64);
}

#[test]
fn linux_image_without_image_size_uses_the_legacy_text_offset() {
    let bytes = linux_image(0x1234_5000, 0, &[1, 2, 3]);
    let kernel = load(&bytes).unwrap();
    assert_eq!(kernel.format, KernelFormat::LinuxImage);
    assert_eq!(kernel.segments, [Segment { address: 0x4008_0000, bytes, zero_fill: 0 }]);
    assert_eq!(kernel.entry, 0x4008_0000);
}

#[test]
fn elf_segments_go_to_their_physical_addresses() {
    let code = [0x1f, 0x20, 0x03, 0xd5, 0x00, 0x00, 0x00, 0x14];
    let data = [7_u8; 16];
    let bytes = elf(
        EM_AARCH64,
        0x4008_0004,
        &[
            TestSegment { address: 0x4008_0000, bytes: &code, memory_size: 8 },
            TestSegment { address: 0x4010_0000, bytes: &data, memory_size: 0x1000 },
            TestSegment { address: 0x4020_0000, bytes: &[], memory_size: 0 },
        ],
    );
    let kernel = load(&bytes).unwrap();
    assert_eq!(kernel.format, KernelFormat::Elf);
    assert_eq!(kernel.entry, 0x4008_0004);
    assert_eq!(
        kernel.segments,
        [
            Segment { address: 0x4008_0000, bytes: code.to_vec(), zero_fill: 0 },
            Segment { address: 0x4010_0000, bytes: data.to_vec(), zero_fill: 0x1000 - 16 },
        ],
        "memory beyond the file size is zero fill; empty segments are dropped"
    );
}

#[test]
fn anything_else_is_a_raw_binary_at_ram_plus_0x80000() {
    let mut misplaced_magic = vec![0_u8; 64];
    misplaced_magic[0x30..0x34].copy_from_slice(b"ARM\x64");
    let short_header = linux_image(0, 0x1000, &[])[..0x3c].to_vec();
    for bytes in [b"\x00\x00\xa0\xe1 raw".to_vec(), misplaced_magic, short_header] {
        let kernel = load(&bytes).unwrap();
        assert_eq!(kernel.format, KernelFormat::RawBinary);
        assert_eq!(kernel.entry, 0x4008_0000);
        assert_eq!(kernel.segments, [Segment { address: 0x4008_0000, bytes, zero_fill: 0 }]);
    }
}

#[test]
fn elf_files_that_cannot_run_are_refused() {
    let x86 = elf(EM_X86_64, 0x4008_0000, &[TestSegment { address: 0x4008_0000, bytes: &[1], memory_size: 1 }]);
    assert!(load(&x86).unwrap_err().contains("not AArch64"));
    let mut elf32 = x86.clone();
    elf32[4] = 1;
    assert!(load(&elf32).unwrap_err().contains("32-bit"));
    let empty = elf(EM_AARCH64, 0x4008_0000, &[]);
    assert!(load(&empty).unwrap_err().contains("without a PT_LOAD segment"));
    assert!(load(b"\x7fELF\x02").unwrap_err().contains("not a valid ELF file"));
}

/// Builds a one-domain configuration around `kernel` in a scratch directory.
fn bundle_with_kernel(test: &str, kernel: &[u8], memory_mib: u32) -> Result<usize, ConfigError> {
    let dir = common::scratch_dir(test);
    std::fs::write(dir.join("kernel.elf"), kernel).unwrap();
    let toml = format!("[[domain]]\nname = \"e\"\nvcpus = 1\nmemory_mib = {memory_mib}\nkernel = \"kernel.elf\"\n");
    std::fs::write(dir.join("domains.toml"), toml).unwrap();
    let result = build_bundle(&dir.join("domains.toml"), &common::qemu_virt()).map(|bundle| bundle.domain_count());
    std::fs::remove_dir_all(dir).unwrap();
    result
}

#[test]
fn elf_segments_and_entry_must_lie_in_the_domains_ram() {
    let low = elf(EM_AARCH64, 0x4008_0000, &[TestSegment { address: 0x8_0000, bytes: &[1; 4], memory_size: 4 }]);
    let error = bundle_with_kernel("elf-low", &low, 4).unwrap_err();
    assert_eq!(error.field, "kernel");
    assert!(
        error.problem.contains("ELF segment 0x80000..0x80004 lies outside the domain's RAM 0x40000000..0x40400000"),
        "{error}"
    );

    let entry = elf(EM_AARCH64, 0x8_0000, &[TestSegment { address: 0x4008_0000, bytes: &[1; 4], memory_size: 4 }]);
    let error = bundle_with_kernel("elf-entry", &entry, 4).unwrap_err();
    assert!(error.problem.contains("entry point 0x80000 lies outside"), "{error}");

    let bss =
        elf(EM_AARCH64, 0x4008_0000, &[TestSegment { address: 0x4008_0000, bytes: &[1; 4], memory_size: 0x40_0000 }]);
    let error = bundle_with_kernel("elf-bss", &bss, 4).unwrap_err();
    assert!(error.problem.contains("ELF is too large for the domain's memory"), "{error}");
    assert_eq!(bundle_with_kernel("elf-fits", &bss, 8), Ok(1));

    let overlapping = elf(
        EM_AARCH64,
        0x4008_0000,
        &[
            TestSegment { address: 0x4008_0000, bytes: &[1; 4], memory_size: 0x100 },
            TestSegment { address: 0x4008_0080, bytes: &[2; 4], memory_size: 4 },
        ],
    );
    let error = bundle_with_kernel("elf-overlap", &overlapping, 4).unwrap_err();
    assert!(error.problem.contains("segments 0x40080000..0x40080100 and 0x40080080..0x40080084 overlap"), "{error}");
}
