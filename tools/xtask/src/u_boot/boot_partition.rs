//! The boot partition U-Boot boots Somnus from, laid out as the FAT partition of a ZCU102's SD
//! card: the FIT image `somnus.itb`, the boot script `boot.scr` and its source `boot.cmd`, in
//! `boot-partition/` next to the image's other artifacts. Made again from the image every time.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::board::Board;
use crate::host_tools;
use crate::image::fit::{self, FitKernel};
use crate::image::raw_binary::RawImage;
use crate::process::Sink;
use crate::u_boot::boot_script::{self, BootScript};

/// Directory of the boot partition, inside the image directory.
pub const DIRECTORY: &str = "boot-partition";

/// The FIT image on the partition.
pub const FIT_FILE: &str = "somnus.itb";

/// The boot script's source on the partition.
pub const SCRIPT_SOURCE: &str = "boot.cmd";

/// The compiled boot script, the name U-Boot's distro boot looks for.
pub const SCRIPT_FILE: &str = "boot.scr";

/// Source of the partition's FIT image, in the image directory (next to the `somnus.bin` it
/// includes; kept off the partition).
const FIT_SOURCE: &str = "boot-partition.its";

/// Alignment of the FIT image's load address: the 2 MiB blocks the hypervisor maps RAM with.
const FIT_ALIGNMENT: u64 = 2 << 20;

/// Where an arm64 Image header keeps its magic number and its `image_size`.
const IMAGE_MAGIC_OFFSET: usize = 0x38;
const IMAGE_SIZE_OFFSET: usize = 0x10;

/// A written boot partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootPartition {
    /// The directory.
    pub dir: PathBuf,
    /// Where its boot script loads the FIT image.
    pub fit_address: u64,
}

/// Writes `boot-partition/` next to `bin` for the image `elf`/`bin` of `board`.
pub fn make(sink: &Sink, board: Board, elf: &Path, bin: &Path) -> Result<BootPartition> {
    host_tools::ensure(host_tools::FIT_TOOLS, sink)?;
    let elf_bytes = std::fs::read(elf).with_context(|| format!("reading {}", elf.display()))?;
    let raw = RawImage::from_elf(&elf_bytes).with_context(|| format!("reading {}", elf.display()))?;
    let size = image_size(&raw.bytes).with_context(|| format!("reading the Image header of {}", bin.display()))?;
    let fit_address = fit_address(raw.load_address, size);

    let (Some(image_dir), Some(bin_name)) = (bin.parent(), bin.file_name().and_then(|name| name.to_str())) else {
        bail!("{} is not a file in a directory", bin.display());
    };
    let dir = image_dir.join(DIRECTORY);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    let description = format!("Somnus hypervisor ({board})");
    let its = fit::its_text(&FitKernel {
        description: &description,
        data_file: bin_name,
        load: raw.load_address,
        entry: raw.entry,
    });
    fit::make_itb(sink, image_dir, &its, FIT_SOURCE, &format!("{DIRECTORY}/{FIT_FILE}"))?;

    let script = BootScript { fit_file: FIT_FILE, configuration: fit::CONFIGURATION, fit_address };
    let source = dir.join(SCRIPT_SOURCE);
    std::fs::write(&source, boot_script::text(&script)).with_context(|| format!("writing {}", source.display()))?;
    boot_script::compile(sink, &dir, SCRIPT_SOURCE, SCRIPT_FILE)?;
    sink.note(&format!("{}: {FIT_FILE} and {SCRIPT_FILE}, FIT loaded at {fit_address:#x}", dir.display()));
    Ok(BootPartition { dir, fit_address })
}

/// The memory an arm64 Image occupies from its load address, zero-initialised data included:
/// the header's `image_size`.
pub fn image_size(image: &[u8]) -> Result<u64> {
    let magic = image.get(IMAGE_MAGIC_OFFSET..IMAGE_MAGIC_OFFSET + 4);
    if magic != Some(b"ARM\x64".as_slice()) {
        bail!("no arm64 Image header (magic ARM\\x64 at {IMAGE_MAGIC_OFFSET:#x})");
    }
    let field = image.get(IMAGE_SIZE_OFFSET..IMAGE_SIZE_OFFSET + 8).context("truncated header")?;
    let size = u64::from_le_bytes(field.try_into().context("truncated header")?);
    if size == 0 {
        bail!("the header's image_size is 0");
    }
    Ok(size)
}

/// The FIT image's load address: the first 2 MiB boundary at or above the end of the image.
pub fn fit_address(load: u64, image_size: u64) -> u64 {
    load.saturating_add(image_size).next_multiple_of(FIT_ALIGNMENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(image_size: u64) -> Vec<u8> {
        let mut bytes = vec![0_u8; 0x40];
        bytes[IMAGE_SIZE_OFFSET..IMAGE_SIZE_OFFSET + 8].copy_from_slice(&image_size.to_le_bytes());
        bytes[IMAGE_MAGIC_OFFSET..IMAGE_MAGIC_OFFSET + 4].copy_from_slice(b"ARM\x64");
        bytes
    }

    #[test]
    fn image_size_from_the_header() {
        assert_eq!(image_size(&header(0x1f_2000)).unwrap(), 0x1f_2000);
        let error = image_size(&[0; 0x40]).unwrap_err().to_string();
        assert!(error.contains("no arm64 Image header"), "{error}");
        assert!(image_size(&header(0)).unwrap_err().to_string().contains("image_size is 0"));
        assert!(image_size(&header(1)[..0x20]).is_err(), "too short for the magic");
    }

    #[test]
    fn the_fit_goes_above_the_whole_image() {
        // The demo on qemu-virt: 0x40200000..0x403f2000 with its stacks and zeroed data.
        assert_eq!(fit_address(0x4020_0000, 0x1f_2000), 0x4040_0000);
        assert_eq!(fit_address(0x4020_0000, 0x20_0000), 0x4040_0000, "an image ending on a boundary");
        assert_eq!(fit_address(0x4020_0000, 0x20_0001), 0x4060_0000);
        // A Linux domain in the bundle makes the image tens of MiB long.
        assert_eq!(fit_address(0x20_0000, 0x240_0000), 0x260_0000);
    }
}
