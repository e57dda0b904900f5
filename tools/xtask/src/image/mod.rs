//! `cargo xtask image`: build a board and write its boot artifacts to
//! `target/images/<board>[-<features>]/`: `somnus.elf`, `somnus.bin` and, for boards booted by
//! U-Boot (zcu102), the FIT image `somnus.itb` with its source `somnus.its`.

pub mod fit;
pub mod raw_binary;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::board::Board;
use crate::cargo;
use crate::features::Features;
use crate::host_tools;
use crate::paths;
use crate::process::Sink;
use fit::FitKernel;
use raw_binary::RawImage;

/// The boot artifacts of one board build.
#[derive(Clone, Debug)]
pub struct Image {
    /// Directory holding them.
    pub dir: PathBuf,
    /// The hypervisor ELF (what QEMU's `-kernel` loads).
    pub elf: PathBuf,
    /// Raw binary of the ELF's loadable segments.
    pub bin: PathBuf,
    /// U-Boot FIT image, for boards that boot through U-Boot.
    pub itb: Option<PathBuf>,
}

/// Builds the board and writes its artifacts.
pub fn make(sink: &Sink, board: Board, features: &Features) -> Result<Image> {
    if board.wants_fit_image() {
        // Checked first, so a missing tool is reported before a long build.
        host_tools::ensure(host_tools::FIT_TOOLS, sink)?;
    }
    sink.run(&mut cargo::build_board(board, features))?;

    let dir = paths::image_dir(board, features);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let built = paths::built_elf();
    let elf_bytes = std::fs::read(&built).with_context(|| format!("reading {}", built.display()))?;
    let elf = dir.join("somnus.elf");
    std::fs::write(&elf, &elf_bytes).with_context(|| format!("writing {}", elf.display()))?;

    let raw = RawImage::from_elf(&elf_bytes).with_context(|| format!("extracting {}", built.display()))?;
    let bin = dir.join("somnus.bin");
    std::fs::write(&bin, &raw.bytes).with_context(|| format!("writing {}", bin.display()))?;
    sink.note(&format!(
        "{}: {} bytes, load {:#x}, entry {:#x}",
        bin.display(),
        raw.bytes.len(),
        raw.load_address,
        raw.entry
    ));

    let itb = if board.wants_fit_image() {
        let description = format!("Somnus hypervisor ({board})");
        let its = fit::its_text(&FitKernel {
            description: &description,
            data_file: "somnus.bin",
            load: raw.load_address,
            entry: raw.entry,
        });
        fit::make_itb(sink, &dir, &its, "somnus.its", "somnus.itb")?;
        Some(dir.join("somnus.itb"))
    } else {
        None
    };
    Ok(Image { dir, elf, bin, itb })
}

impl Image {
    /// Every file written, ELF first.
    pub fn files(&self) -> Vec<&Path> {
        [Some(&self.elf), Some(&self.bin), self.itb.as_ref()].into_iter().flatten().map(PathBuf::as_path).collect()
    }
}
