//! The size of the hypervisor image: `somnus.bin` (the raw binary that is loaded), and the ELF
//! sections it is made of.

use anyhow::{Context, Result};
use object::{Object, ObjectSection};

use crate::image::raw_binary::RawImage;

/// Sizes of one board's image, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageSize {
    /// `somnus.bin`.
    pub binary: u64,
    /// `.text`: code.
    pub text: u64,
    /// `.rodata`: constants.
    pub read_only_data: u64,
    /// `.data`: initialised variables (in the binary as well).
    pub data: u64,
    /// `.bss` and the stacks: zeroed at boot, not in the binary.
    pub zero_initialised: u64,
}

/// The sizes of the image whose ELF is `elf`.
pub fn measure(elf: &[u8]) -> Result<ImageSize> {
    let binary = RawImage::from_elf(elf)?.bytes.len() as u64;
    let file = object::File::parse(elf).context("parsing the hypervisor ELF")?;
    let mut size = ImageSize { binary, ..ImageSize::default() };
    for section in file.sections() {
        let name = section.name().unwrap_or_default();
        let bytes = section.size();
        match name {
            ".text" => size.text += bytes,
            ".rodata" => size.read_only_data += bytes,
            ".data" => size.data += bytes,
            ".bss" | ".stacks" => size.zero_initialised += bytes,
            _ => {}
        }
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use object::write::{Object as WriteObject, StandardSegment};
    use object::{Architecture, BinaryFormat, Endianness, SectionKind};

    use super::*;

    #[test]
    fn a_non_elf_is_refused() {
        assert!(measure(b"not an ELF file").is_err());
    }

    #[test]
    fn relocatable_objects_have_no_binary() {
        let mut object = WriteObject::new(BinaryFormat::Elf, Architecture::Aarch64, Endianness::Little);
        let text = object.add_section(
            object.segment_name(StandardSegment::Text).to_vec(),
            b".text".to_vec(),
            SectionKind::Text,
        );
        object.append_section_data(text, &[0; 16], 4);
        let bytes = object.write().unwrap();
        // No PT_LOAD segment: there is no raw binary to measure.
        assert!(measure(&bytes).is_err());
    }
}
