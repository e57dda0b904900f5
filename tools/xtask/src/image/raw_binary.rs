//! Turning the hypervisor ELF into a raw binary (`somnus.bin`), as `objcopy -O binary` would:
//! the file bytes of every `PT_LOAD` segment placed at its physical address, starting at the
//! lowest one, with gaps filled by zeros.

use anyhow::{Context, Result, bail, ensure};
use object::Endianness;
use object::elf::{EM_AARCH64, FileHeader64, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};

/// A raw binary larger than this is a linker-script mistake (segments far apart), not an image.
const MAX_IMAGE_SIZE: u64 = 256 << 20;

/// A loadable image taken from an ELF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawImage {
    /// Physical address of the first byte (the lowest `PT_LOAD` physical address).
    pub load_address: u64,
    /// Physical address of the entry point.
    pub entry: u64,
    /// The image: segment file bytes at their offsets from `load_address`, gaps zeroed.
    pub bytes: Vec<u8>,
}

/// One `PT_LOAD` segment with file contents.
struct Segment<'data> {
    paddr: u64,
    vaddr: u64,
    memsz: u64,
    bytes: &'data [u8],
}

impl RawImage {
    /// Extracts the raw image of a 64-bit AArch64 ELF.
    ///
    /// The entry point (a virtual address) is translated to a physical one through the segment
    /// that contains it; the hypervisor is identity-mapped, so usually nothing changes.
    pub fn from_elf(data: &[u8]) -> Result<Self> {
        let header = FileHeader64::<Endianness>::parse(data).context("not a 64-bit ELF file")?;
        let endian = header.endian().context("ELF with unknown byte order")?;
        ensure!(header.e_machine(endian) == EM_AARCH64, "ELF is for machine {}, not AArch64", header.e_machine(endian));
        let segments = load_segments(header, endian, data)?;
        let Some(load_address) = segments.iter().map(|s| s.paddr).min() else {
            bail!("ELF has no PT_LOAD segment with file contents");
        };
        let end = segments.iter().map(|s| s.paddr + s.bytes.len() as u64).max().expect("at least one segment");
        let size = end - load_address;
        if size > MAX_IMAGE_SIZE {
            bail!(
                "raw image would span {size:#x} bytes from {load_address:#x}: PT_LOAD segments \
                 are too far apart (check the linker script)"
            );
        }
        let mut bytes = vec![0; usize::try_from(size)?];
        for segment in &segments {
            let offset = usize::try_from(segment.paddr - load_address)?;
            bytes[offset..offset + segment.bytes.len()].copy_from_slice(segment.bytes);
        }
        let entry = header.e_entry(endian);
        let entry = segments
            .iter()
            .find(|s| (s.vaddr..s.vaddr.saturating_add(s.memsz)).contains(&entry))
            .map_or(entry, |s| entry - s.vaddr + s.paddr);
        Ok(Self { load_address, entry, bytes })
    }
}

/// The `PT_LOAD` segments that have file bytes, checked against overflow and overlap.
fn load_segments<'data>(
    header: &FileHeader64<Endianness>,
    endian: Endianness,
    data: &'data [u8],
) -> Result<Vec<Segment<'data>>> {
    let mut segments = Vec::new();
    for program_header in header.program_headers(endian, data).context("bad program headers")? {
        if program_header.p_type(endian) != PT_LOAD || program_header.p_filesz(endian) == 0 {
            continue;
        }
        let bytes = program_header.data(endian, data).ok().context("PT_LOAD segment lies outside the file")?;
        let paddr = program_header.p_paddr(endian);
        ensure!(
            paddr.checked_add(bytes.len() as u64).is_some(),
            "PT_LOAD segment at {paddr:#x} overflows the address space"
        );
        segments.push(Segment {
            paddr,
            vaddr: program_header.p_vaddr(endian),
            memsz: program_header.p_memsz(endian),
            bytes,
        });
    }
    segments.sort_by_key(|s| s.paddr);
    for pair in segments.windows(2) {
        ensure!(
            pair[0].paddr + pair[0].bytes.len() as u64 <= pair[1].paddr,
            "PT_LOAD segments at {:#x} and {:#x} overlap",
            pair[0].paddr,
            pair[1].paddr
        );
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use object::elf::{ELFOSABI_NONE, ET_EXEC, FileFlags, Machine, PF_R, PF_W, PF_X};
    use object::write::elf::{FileHeader as WriteFileHeader, ProgramHeader as WriteProgramHeader, Writer};

    use super::*;

    /// A segment of a test ELF: physical and virtual address, contents, memory size.
    struct TestSegment {
        paddr: u64,
        vaddr: u64,
        data: Vec<u8>,
        memsz: u64,
    }

    /// Writes a minimal executable ELF with the given program headers.
    fn make_elf(machine: Machine, entry: u64, segments: &[TestSegment]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer = Writer::new(Endianness::Little, true, &mut out);
        writer.reserve_file_header();
        writer.reserve_program_headers(segments.len() as u32);
        let offsets: Vec<u64> = segments.iter().map(|s| writer.reserve(s.data.len() as u64, 16)).collect();
        writer
            .write_file_header(&WriteFileHeader {
                os_abi: ELFOSABI_NONE,
                abi_version: 0,
                e_type: ET_EXEC,
                e_machine: machine,
                e_entry: entry,
                e_flags: FileFlags(0),
            })
            .unwrap();
        writer.write_align_program_headers();
        for (segment, &offset) in segments.iter().zip(&offsets) {
            writer.write_program_header(&WriteProgramHeader {
                p_type: PT_LOAD,
                p_flags: PF_R | PF_W | PF_X,
                p_offset: offset,
                p_vaddr: segment.vaddr,
                p_paddr: segment.paddr,
                p_filesz: segment.data.len() as u64,
                p_memsz: segment.memsz,
                p_align: 16,
            });
        }
        for (segment, &offset) in segments.iter().zip(&offsets) {
            writer.pad_until(offset);
            writer.write(&segment.data);
        }
        drop(writer);
        assert!(out.len() > 64);
        out
    }

    fn segment(paddr: u64, data: &[u8]) -> TestSegment {
        TestSegment { paddr, vaddr: paddr, data: data.to_vec(), memsz: data.len() as u64 }
    }

    #[test]
    fn segments_are_placed_from_the_lowest_address_with_zero_gaps() {
        // Out of order on purpose; the second segment is followed by .bss (memsz > filesz).
        let mut data_segment = segment(0x4020_0010, &[5, 6]);
        data_segment.memsz = 0x1000;
        let elf = make_elf(
            EM_AARCH64,
            0x4020_0000,
            &[data_segment, segment(0x4020_0000, &[1, 2, 3, 4]), segment(0x4030_0000, &[])],
        );
        let image = RawImage::from_elf(&elf).unwrap();
        assert_eq!(image.load_address, 0x4020_0000);
        assert_eq!(image.entry, 0x4020_0000);
        let mut expected = vec![1, 2, 3, 4];
        expected.resize(0x10, 0);
        expected.extend([5, 6]);
        assert_eq!(image.bytes, expected, "trailing .bss and empty segments add nothing");
    }

    #[test]
    fn physical_addresses_are_used_and_the_entry_is_translated() {
        let elf = make_elf(
            EM_AARCH64,
            0xffff_0000_0000_0008,
            &[TestSegment { paddr: 0x8_0000, vaddr: 0xffff_0000_0000_0000, data: vec![7; 16], memsz: 16 }],
        );
        let image = RawImage::from_elf(&elf).unwrap();
        assert_eq!(image.load_address, 0x8_0000);
        assert_eq!(image.entry, 0x8_0008);
        assert_eq!(image.bytes, vec![7; 16]);
    }

    #[test]
    fn refuses_other_machines_empty_images_and_huge_gaps() {
        let x86 = make_elf(object::elf::EM_X86_64, 0, &[segment(0, &[1])]);
        assert!(RawImage::from_elf(&x86).unwrap_err().to_string().contains("not AArch64"));
        let empty = make_elf(EM_AARCH64, 0, &[segment(0x1000, &[])]);
        assert!(RawImage::from_elf(&empty).unwrap_err().to_string().contains("no PT_LOAD"));
        let far = make_elf(EM_AARCH64, 0, &[segment(0, &[1]), segment(0x1_0000_0000, &[2])]);
        assert!(RawImage::from_elf(&far).unwrap_err().to_string().contains("too far apart"));
        let overlap = make_elf(EM_AARCH64, 0, &[segment(0, &[1, 2]), segment(1, &[3])]);
        assert!(RawImage::from_elf(&overlap).unwrap_err().to_string().contains("overlap"));
        assert!(RawImage::from_elf(b"not an elf").is_err());
    }
}
