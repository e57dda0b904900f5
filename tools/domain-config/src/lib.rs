//! The Somnus domain configuration: reads a TOML domain file, checks it against the machine,
//! loads each domain's kernel and initrd, generates its device trees and writes the domain
//! bundle the hypervisor image carries (`somnus_abi::domain_bundle`).
//!
//! ```toml
//! [[domain]]
//! name = "linux"              # unique, 1..=32 of A-Z a-z 0-9 _ -
//! vcpus = 2                   # 1..=8
//! pcpus = [0, 1]              # optional: vCPU i runs on physical CPU pcpus[i]
//! memory_mib = 256            # at least 2, a multiple of 2
//! kernel = "images/Image"     # arm64 Linux Image, ELF64 AArch64, or raw binary
//! initrd = "images/initrd.gz" # optional
//! cmdline = "console=ttyAMA0" # optional: /chosen/bootargs
//! devices = ["rtc"]           # optional: devices by name (qemu-virt: rtc; zcu102: uart1)
//! ```
//!
//! Every refusal is a [`ConfigError`], one line naming the file, the domain and the field.

pub mod bundle_writer;
pub mod config_file;
pub mod device_tree;
pub mod devices;
pub mod domain_image;
pub mod error;
pub mod host;
pub mod kernel_image;
pub mod layout;
pub mod passthrough_nodes;
pub mod validate;

use std::path::Path;

pub use device_tree::GicVersion;
pub use domain_image::PreparedDomain;
pub use error::{ConfigError, DomainRef};
pub use host::{Board, Host};
pub use kernel_image::KernelFormat;
pub use validate::DomainSpec;

/// A written bundle and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    /// The bundle bytes, as the hypervisor image includes them.
    pub bytes: Vec<u8>,
    /// One line per domain, in bundle order, saying where everything was placed.
    pub summaries: Vec<String>,
}

impl Bundle {
    /// Number of domains in the bundle.
    #[must_use]
    pub fn domain_count(&self) -> usize {
        self.summaries.len()
    }
}

/// Reads and checks the configuration at `path` against `host`, reading the kernel and initrd
/// files it names (relative to the configuration's directory).
pub fn read_config(path: &Path, host: &Host) -> Result<Vec<DomainSpec>, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|error| ConfigError::file_wide("file", format!("cannot be read: {error}")).in_file(&file))?;
    let base_dir = path.parent().unwrap_or(Path::new("."));
    config_file::parse(&text)
        .and_then(|entries| validate::check(entries, host, base_dir))
        .map_err(|error| error.in_file(&file))
}

/// Loads, places and generates everything for the checked domains; `file` names the
/// configuration in refusals.
pub fn prepare_domains(specs: Vec<DomainSpec>, file: &str) -> Result<Vec<PreparedDomain>, ConfigError> {
    specs.into_iter().map(|spec| domain_image::prepare(spec).map_err(|error| error.in_file(file))).collect()
}

/// The whole pipeline: reads the configuration at `path`, checks it against `host`, and
/// returns the bundle bytes with a summary of each domain.
pub fn build_bundle(path: &Path, host: &Host) -> Result<Bundle, ConfigError> {
    let specs = read_config(path, host)?;
    let domains = prepare_domains(specs, &path.display().to_string())?;
    Ok(Bundle { bytes: bundle_writer::encode(&domains), summaries: domains.iter().map(ToString::to_string).collect() })
}
