//! Kernel formats a domain can boot, told apart by their first bytes: an arm64 Linux `Image`
//! (loaded at RAM + text_offset), an ELF64 AArch64 file (each `PT_LOAD` at its physical
//! address) or a raw binary (loaded at RAM + 0x8_0000, as QEMU's direct boot does).

use std::fmt;

use object::Endianness;
use object::elf::{ELFCLASS64, ELFMAG, EM_AARCH64, FileHeader64, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use somnus_abi::guest_platform::{RAM_BASE, RAW_KERNEL_OFFSET};

/// Offset of the magic number in an arm64 Image header.
pub const IMAGE_MAGIC_OFFSET: usize = 0x38;
/// The arm64 Image magic number, `ARM\x64`.
pub const IMAGE_MAGIC: [u8; 4] = *b"ARM\x64";
/// Size of the arm64 Image header.
pub const IMAGE_HEADER_SIZE: usize = 0x40;
/// text_offset to assume when the header's image_size is zero (kernels before Linux 3.17).
pub const LEGACY_TEXT_OFFSET: u64 = 0x8_0000;

/// How a kernel file was recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelFormat {
    /// arm64 Linux `Image` (header with the `ARM\x64` magic).
    LinuxImage,
    /// ELF64 for AArch64.
    Elf,
    /// Anything else: raw bytes.
    RawBinary,
}

impl fmt::Display for KernelFormat {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::LinuxImage => "arm64 Linux Image",
            Self::Elf => "ELF",
            Self::RawBinary => "raw binary",
        })
    }
}

/// Bytes to place at a guest physical address, followed by zeros.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Guest physical address of the first byte.
    pub address: u64,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Zero bytes after them (an ELF segment's memory size beyond its file size, or an
    /// Image's image_size beyond the file).
    pub zero_fill: u64,
}

impl Segment {
    /// Bytes of guest memory the segment covers.
    #[must_use]
    pub fn memory_size(&self) -> u64 {
        self.bytes.len() as u64 + self.zero_fill
    }

    /// First guest physical address after the segment (saturating, so a wrap is caught as
    /// running past RAM).
    #[must_use]
    pub fn end(&self) -> u64 {
        self.address.saturating_add(self.memory_size())
    }
}

/// A kernel ready to load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelImage {
    /// How the file was recognised.
    pub format: KernelFormat,
    /// What to place in guest memory, in file order.
    pub segments: Vec<Segment>,
    /// Where vCPU 0 starts.
    pub entry: u64,
}

/// Recognises and loads a kernel file; the error completes the sentence "kernel = ...: ".
pub fn load(bytes: &[u8]) -> Result<KernelImage, String> {
    if bytes.starts_with(&ELFMAG) {
        load_elf(bytes)
    } else if bytes.len() >= IMAGE_HEADER_SIZE && bytes[IMAGE_MAGIC_OFFSET..IMAGE_MAGIC_OFFSET + 4] == IMAGE_MAGIC {
        Ok(load_linux_image(bytes))
    } else {
        let address = RAM_BASE.as_u64() + RAW_KERNEL_OFFSET;
        let segment = Segment { address, bytes: bytes.to_vec(), zero_fill: 0 };
        Ok(KernelImage { format: KernelFormat::RawBinary, segments: vec![segment], entry: address })
    }
}

/// An arm64 Image: loaded at RAM + text_offset, with zeros up to image_size.
fn load_linux_image(bytes: &[u8]) -> KernelImage {
    let field = |offset: usize| u64::from_le_bytes(bytes[offset..offset + 8].try_into().expect("eight bytes"));
    let (text_offset, image_size) = match field(0x10) {
        0 => (LEGACY_TEXT_OFFSET, 0),
        image_size => (field(0x08), image_size),
    };
    let address = RAM_BASE.as_u64().saturating_add(text_offset);
    let zero_fill = image_size.saturating_sub(bytes.len() as u64);
    let segment = Segment { address, bytes: bytes.to_vec(), zero_fill };
    KernelImage { format: KernelFormat::LinuxImage, segments: vec![segment], entry: address }
}

/// An ELF64 AArch64 file: every `PT_LOAD` with a memory size, at its physical address.
fn load_elf(bytes: &[u8]) -> Result<KernelImage, String> {
    if bytes.get(4) != Some(&ELFCLASS64.0) {
        return Err("is a 32-bit ELF file; AArch64 kernels are ELF64".to_owned());
    }
    let header =
        FileHeader64::<Endianness>::parse(bytes).map_err(|error| format!("is not a valid ELF file: {error}"))?;
    let endian = header.endian().map_err(|error| format!("is not a valid ELF file: {error}"))?;
    let machine = header.e_machine(endian);
    if machine != EM_AARCH64 {
        return Err(format!("is an ELF file for machine {machine}, not AArch64 ({EM_AARCH64})"));
    }
    let program_headers =
        header.program_headers(endian, bytes).map_err(|error| format!("has bad ELF program headers: {error}"))?;
    let mut segments = Vec::new();
    for (index, program_header) in program_headers.iter().enumerate() {
        if program_header.p_type(endian) != PT_LOAD || program_header.p_memsz(endian) == 0 {
            continue;
        }
        let address = program_header.p_paddr(endian);
        let data = program_header
            .data(endian, bytes)
            .map_err(|()| format!("has ELF program header {index} pointing outside the file"))?;
        let memory_size = program_header.p_memsz(endian);
        let zero_fill = memory_size
            .checked_sub(data.len() as u64)
            .ok_or_else(|| format!("has ELF program header {index} with a file size larger than its memory size"))?;
        segments.push(Segment { address, bytes: data.to_vec(), zero_fill });
    }
    if segments.is_empty() {
        return Err("is an ELF file without a PT_LOAD segment".to_owned());
    }
    Ok(KernelImage { format: KernelFormat::Elf, segments, entry: header.e_entry(endian) })
}
