//! `cargo xtask image`: write the domain bundle, build a board around it and write its boot
//! artifacts to `target/images/<board>[-<features>]/`: `domains.bundle`, `somnus.elf`,
//! `somnus.bin` and, for boards booted by U-Boot (zcu102), the FIT image `somnus.itb` with its
//! source `somnus.its`.

pub mod fit;
pub mod raw_binary;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cargo;
use crate::domains::{self, BUNDLE_VARIABLE};
use crate::features::Features;
use crate::host_tools;
use crate::machine::Machine;
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
    /// The domain bundle linked into the image.
    pub bundle: PathBuf,
    /// Number of domains in the bundle.
    pub domain_count: usize,
}

/// What to build and where to put it.
#[derive(Clone, Debug)]
pub struct ImageRequest<'a> {
    /// The board, and the CPU count a domain configuration's `pcpus` are checked against.
    pub machine: Machine,
    /// Cargo features of the board crate.
    pub features: &'a Features,
    /// Domain configuration; `None` builds an image without domains (an empty bundle).
    pub domains: Option<&'a Path>,
    /// Directory of the artifacts.
    pub dir: PathBuf,
}

impl<'a> ImageRequest<'a> {
    /// The image `cargo xtask image` and `run` write: to `target/images/<board>[-<features>]/`.
    pub fn standard(machine: Machine, features: &'a Features, domains: &'a Path) -> Self {
        Self { machine, features, domains: Some(domains), dir: paths::image_dir(machine.board, features) }
    }
}

/// Writes the bundle (building the in-tree test guests first when a configuration is given),
/// builds the board around it and writes the artifacts.
pub fn make(sink: &Sink, request: &ImageRequest<'_>) -> Result<Image> {
    let board = request.machine.board;
    if board.wants_fit_image() {
        // Checked first, so a missing tool is reported before a long build.
        host_tools::ensure(host_tools::FIT_TOOLS, sink)?;
    }
    if request.domains.is_some() {
        domains::build_test_guests(sink)?;
    }
    let dir = request.dir.clone();
    let bundle = domains::write_bundle(sink, request.domains, request.machine, &dir)?;
    sink.run(cargo::build_board(board, request.features).env(BUNDLE_VARIABLE, &bundle.path))?;

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
    Ok(Image { dir, elf, bin, itb, bundle: bundle.path, domain_count: bundle.domain_count })
}

impl Image {
    /// Every file written, ELF first.
    pub fn files(&self) -> Vec<&Path> {
        [Some(&self.elf), Some(&self.bin), self.itb.as_ref(), Some(&self.bundle)]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
            .collect()
    }
}
