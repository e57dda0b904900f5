//! Helpers shared by the integration tests: fixture paths, the machines checked against,
//! scratch directories and small kernels built in memory.

#![allow(dead_code, reason = "each test binary uses a different part of the helpers")]

use std::path::{Path, PathBuf};

use object::elf;
use object::write::elf::{FileHeader, ProgramHeader, Writer};
use somnus_domain_config::{Board, Host};

/// `tests/fixtures/<relative>`.
pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
}

/// QEMU `virt` with four CPUs.
pub fn qemu_virt() -> Host {
    Host::new(Board::QemuVirt, 4)
}

/// The ZCU102.
pub fn zcu102() -> Host {
    Host::new(Board::Zcu102, 4)
}

/// A fresh, empty scratch directory for one test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("somnus-domain-config-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// An arm64 Linux Image: a 64-byte header with `text_offset` and `image_size`, then `body`.
pub fn linux_image(text_offset: u64, image_size: u64, body: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0_u8; 64];
    bytes[0x08..0x10].copy_from_slice(&text_offset.to_le_bytes());
    bytes[0x10..0x18].copy_from_slice(&image_size.to_le_bytes());
    bytes[0x38..0x3c].copy_from_slice(b"ARM\x64");
    bytes.extend_from_slice(body);
    bytes
}

/// One `PT_LOAD` segment of a test ELF.
pub struct TestSegment<'a> {
    /// Physical (and virtual) address.
    pub address: u64,
    /// File contents.
    pub bytes: &'a [u8],
    /// Memory size (at least the file size).
    pub memory_size: u64,
}

/// An ELF64 executable for `machine` with the given segments and entry point.
pub fn elf(machine: elf::Machine, entry: u64, segments: &[TestSegment<'_>]) -> Vec<u8> {
    let mut buffer = Vec::new();
    let mut writer = Writer::new(object::Endianness::Little, true, &mut buffer);
    writer.reserve_file_header();
    writer.reserve_program_headers(segments.len() as u32);
    let offsets: Vec<u64> = segments.iter().map(|segment| writer.reserve(segment.bytes.len() as u64, 16)).collect();
    writer
        .write_file_header(&FileHeader {
            os_abi: elf::ELFOSABI_NONE,
            abi_version: 0,
            e_type: elf::ET_EXEC,
            e_machine: machine,
            e_entry: entry,
            e_flags: elf::FileFlags(0),
        })
        .expect("write ELF header");
    writer.write_align_program_headers();
    for (segment, &offset) in segments.iter().zip(&offsets) {
        writer.write_program_header(&ProgramHeader {
            p_type: elf::PT_LOAD,
            p_flags: elf::PF_R | elf::PF_X,
            p_offset: offset,
            p_vaddr: segment.address,
            p_paddr: segment.address,
            p_filesz: segment.bytes.len() as u64,
            p_memsz: segment.memory_size,
            p_align: 16,
        });
    }
    for (segment, &offset) in segments.iter().zip(&offsets) {
        writer.pad_until(offset);
        writer.write(segment.bytes);
    }
    drop(writer);
    buffer
}
