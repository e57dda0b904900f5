//! The meaning of each domain entry, checked against the machine: names, vCPU and pCPU counts,
//! memory sizes, kernel and initrd files, devices and their interrupts, and the RAM total.

use std::path::{Path, PathBuf};

use somnus_abi::guest_platform::MAX_VCPUS;

use crate::config_file::{DomainEntry, is_valid_name};
use crate::devices::{self, DeviceInfo};
use crate::error::{ConfigError, DomainRef};
use crate::host::{Host, MIB};

/// A file named by the configuration, read into memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputFile {
    /// The path as written in the configuration.
    pub written: String,
    /// The path it resolves to.
    pub path: PathBuf,
    /// Its contents.
    pub bytes: Vec<u8>,
}

/// A domain whose entry passed every check that does not need its kernel's contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainSpec {
    /// How messages refer to it.
    pub reference: DomainRef,
    /// Unique name, 1..=32 bytes of `A-Z a-z 0-9 _ -`.
    pub name: String,
    /// Number of vCPUs, 1..=8.
    pub vcpus: u8,
    /// Physical CPU of each vCPU, or empty when not pinned.
    pub pcpus: Vec<u8>,
    /// RAM in bytes, a multiple of 2 MiB.
    pub memory_bytes: u64,
    /// The kernel file.
    pub kernel: InputFile,
    /// The initial RAM disk file, if any.
    pub initrd: Option<InputFile>,
    /// The kernel command line, if any.
    pub cmdline: Option<String>,
    /// Devices given besides the standard ones.
    pub devices: Vec<&'static DeviceInfo>,
}

/// Checks every entry, in file order; file paths are relative to `base_dir`.
pub fn check(
    entries: Vec<(DomainRef, DomainEntry)>,
    host: &Host,
    base_dir: &Path,
) -> Result<Vec<DomainSpec>, ConfigError> {
    let mut specs: Vec<DomainSpec> = Vec::with_capacity(entries.len());
    let mut total_mib: u64 = 0;
    for (reference, entry) in entries {
        let spec = check_entry(&reference, entry, host, base_dir, &specs)?;
        total_mib += spec.memory_bytes / MIB;
        if total_mib > host.guest_ram_bytes / MIB {
            return Err(ConfigError::domain(
                &reference,
                "memory_mib",
                format!(
                    "= {} brings the domains' total to {total_mib} MiB, but board {} has {} MiB of RAM for guests",
                    spec.memory_bytes / MIB,
                    host.board.name(),
                    host.guest_ram_bytes / MIB
                ),
            ));
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// Checks one entry against the machine and the domains before it.
fn check_entry(
    reference: &DomainRef,
    entry: DomainEntry,
    host: &Host,
    base_dir: &Path,
    earlier: &[DomainSpec],
) -> Result<DomainSpec, ConfigError> {
    let fail = |field: &str, problem: String| Err(ConfigError::domain(reference, field, problem));
    let name = entry.name;
    if !is_valid_name(&name) {
        return fail("name", format!("= {name:?} is not a valid name: use 1 to 32 letters, digits, `_` or `-`"));
    }
    if let Some(other) = earlier.iter().position(|spec| spec.name == name) {
        return fail("name", format!("= {name:?} is already the name of domain #{}; names must be unique", other + 1));
    }
    let vcpus = match u8::try_from(entry.vcpus) {
        Ok(vcpus) if (1..=MAX_VCPUS).contains(&usize::from(vcpus)) => vcpus,
        _ => return fail("vcpus", format!("= {}, but a domain has 1 to {MAX_VCPUS} vCPUs", entry.vcpus)),
    };
    let pcpus = check_pcpus(reference, entry.pcpus.as_deref(), vcpus, host)?;
    let memory_bytes = check_memory(reference, entry.memory_mib)?;
    let kernel = read_input(reference, "kernel", &entry.kernel, base_dir)?;
    let initrd = entry.initrd.map(|written| read_input(reference, "initrd", &written, base_dir)).transpose()?;
    let devices = check_devices(reference, entry.devices.as_deref().unwrap_or_default(), host, earlier)?;
    Ok(DomainSpec {
        reference: reference.clone(),
        name,
        vcpus,
        pcpus,
        memory_bytes,
        kernel,
        initrd,
        cmdline: entry.cmdline,
        devices,
    })
}

fn check_pcpus(reference: &DomainRef, pcpus: Option<&[u64]>, vcpus: u8, host: &Host) -> Result<Vec<u8>, ConfigError> {
    let Some(pcpus) = pcpus else {
        return Ok(Vec::new());
    };
    if pcpus.len() != usize::from(vcpus) {
        return Err(ConfigError::domain(
            reference,
            "pcpus",
            format!(
                "has {} entr{}, but vcpus = {vcpus}: give one physical CPU per vCPU",
                pcpus.len(),
                if pcpus.len() == 1 { "y" } else { "ies" }
            ),
        ));
    }
    pcpus
        .iter()
        .enumerate()
        .map(|(index, &pcpu)| {
            u8::try_from(pcpu).ok().filter(|&pcpu| pcpu < host.cpus).ok_or_else(|| {
                let cpus = host.cpus;
                let plural = if cpus == 1 { "" } else { "s" };
                ConfigError::domain(
                    reference,
                    format!("pcpus[{index}]"),
                    format!("= {pcpu}, but the machine has {cpus} CPU{plural}"),
                )
            })
        })
        .collect()
}

fn check_memory(reference: &DomainRef, memory_mib: u64) -> Result<u64, ConfigError> {
    let problem = if memory_mib < 2 {
        format!("= {memory_mib}, but a domain needs at least 2 MiB")
    } else if !memory_mib.is_multiple_of(2) {
        format!("= {memory_mib} is not a multiple of 2 (guest RAM is mapped in 2 MiB blocks)")
    } else {
        return memory_mib
            .checked_mul(MIB)
            .ok_or_else(|| ConfigError::domain(reference, "memory_mib", format!("= {memory_mib} is far too large")));
    };
    Err(ConfigError::domain(reference, "memory_mib", problem))
}

/// Reads a file named by `field`, relative to `base_dir`.
fn read_input(reference: &DomainRef, field: &str, written: &str, base_dir: &Path) -> Result<InputFile, ConfigError> {
    let path = base_dir.join(written);
    let fail = |problem: String| Err(ConfigError::domain(reference, field, format!("= {written:?}: {problem}")));
    if written.is_empty() {
        return fail("no file named".to_owned());
    }
    match std::fs::metadata(&path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return fail(format!("no such file ({})", path.display()));
        }
        Err(error) => return fail(format!("cannot be read ({}): {error}", path.display())),
        Ok(metadata) if !metadata.is_file() => return fail(format!("is not a regular file ({})", path.display())),
        Ok(_) => {}
    }
    match std::fs::read(&path) {
        Ok(bytes) if bytes.is_empty() => fail(format!("is empty ({})", path.display())),
        Ok(bytes) => Ok(InputFile { written: written.to_owned(), path, bytes }),
        Err(error) => fail(format!("cannot be read ({}): {error}", path.display())),
    }
}

/// Every device must exist on the board, be listed once, and bring an interrupt no earlier
/// domain has.
fn check_devices(
    reference: &DomainRef,
    names: &[String],
    host: &Host,
    earlier: &[DomainSpec],
) -> Result<Vec<&'static DeviceInfo>, ConfigError> {
    let board = host.board;
    let mut granted: Vec<&'static DeviceInfo> = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let fail = |problem: String| Err(ConfigError::domain(reference, format!("devices[{index}]"), problem));
        let device = match devices::find(name) {
            Some(device) if device.boards.contains(&board) => device,
            Some(device) => {
                return fail(format!(
                    "= {name:?}: device {name:?} is not available on board {} (only on {})",
                    board.name(),
                    device.board_names()
                ));
            }
            None => {
                let known = devices::names_on(board);
                let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
                return fail(format!("= {name:?}: no such device on board {} (known: {known})", board.name()));
            }
        };
        if granted.contains(&device) {
            return fail(format!("= {name:?} is listed twice"));
        }
        if let Some(owner) = earlier.iter().find(|spec| spec.devices.iter().any(|other| other.spi == device.spi)) {
            return fail(format!(
                "= {name:?}: its interrupt (SPI {}) is already given to {}",
                device.spi, owner.reference
            ));
        }
        granted.push(device);
    }
    Ok(granted)
}
