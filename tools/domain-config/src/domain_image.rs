//! One domain made ready for the bundle: its kernel loaded, its initrd and device tree placed,
//! and its two device trees (GICv2 and GICv3 hosts) generated.

use std::fmt;
use std::ops::Range;

use somnus_abi::domain_bundle::DeviceGrant;

use crate::device_tree::{self, GicVersion, GuestTree};
use crate::devices;
use crate::error::ConfigError;
use crate::kernel_image::{self, KernelFormat, Segment};
use crate::layout::{self, DEVICE_TREE_RESERVE};
use crate::validate::DomainSpec;

/// A domain with everything the bundle records about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedDomain {
    /// Unique name.
    pub name: String,
    /// Number of vCPUs.
    pub vcpus: u8,
    /// Physical CPU of each vCPU, or empty when not pinned.
    pub pcpus: Vec<u8>,
    /// RAM in bytes.
    pub memory_bytes: u64,
    /// How the kernel file was recognised.
    pub kernel_format: KernelFormat,
    /// Where vCPU 0 starts.
    pub entry: u64,
    /// Kernel segments, then the initrd.
    pub loads: Vec<Segment>,
    /// Where the initrd lies, if there is one.
    pub initrd: Option<Range<u64>>,
    /// Where the device tree is copied.
    pub device_tree_address: u64,
    /// The device tree for a GICv2 host.
    pub device_tree_gicv2: Vec<u8>,
    /// The device tree for a GICv3 host.
    pub device_tree_gicv3: Vec<u8>,
    /// Devices granted besides the standard ones.
    pub devices: Vec<DeviceGrant>,
}

/// Loads the kernel, places the initrd and the device tree, and generates both trees.
pub fn prepare(spec: DomainSpec) -> Result<PreparedDomain, ConfigError> {
    let kernel = kernel_image::load(&spec.kernel.bytes).map_err(|problem| {
        ConfigError::domain(&spec.reference, "kernel", format!("= {:?} {problem}", spec.kernel.written))
    })?;
    let layout = layout::place(&spec, &kernel)?;
    let devices: Vec<DeviceGrant> = spec.devices.iter().map(|device| device.grant).collect();
    let tree = GuestTree {
        vcpus: spec.vcpus,
        ram: layout.ram.clone(),
        cmdline: spec.cmdline.as_deref(),
        initrd: layout.initrd.clone(),
        devices: &devices,
    };
    let generate = |gic| {
        let blob = device_tree::generate(&tree, gic).map_err(|error| {
            ConfigError::domain(&spec.reference, "cmdline", format!("cannot be written into the device tree: {error}"))
        })?;
        if blob.len() as u64 > DEVICE_TREE_RESERVE {
            return Err(ConfigError::domain(
                &spec.reference,
                "cmdline",
                format!(
                    "makes the device tree {} bytes long, more than the {} KiB reserved for it",
                    blob.len(),
                    DEVICE_TREE_RESERVE / 1024
                ),
            ));
        }
        Ok(blob)
    };
    let device_tree_gicv2 = generate(GicVersion::V2)?;
    let device_tree_gicv3 = generate(GicVersion::V3)?;
    let mut loads = kernel.segments;
    if let (Some(file), Some(range)) = (spec.initrd, &layout.initrd) {
        loads.push(Segment { address: range.start, bytes: file.bytes, zero_fill: 0 });
    }
    Ok(PreparedDomain {
        name: spec.name,
        vcpus: spec.vcpus,
        pcpus: spec.pcpus,
        memory_bytes: spec.memory_bytes,
        kernel_format: kernel.format,
        entry: kernel.entry,
        loads,
        initrd: layout.initrd,
        device_tree_address: layout.device_tree_address,
        device_tree_gicv2,
        device_tree_gicv3,
        devices,
    })
}

impl fmt::Display for PreparedDomain {
    /// One line: `linux: 2 vCPUs, 256 MiB, arm64 Linux Image, entry 0x40000000, device tree
    /// 0x4fff0000, initrd 0x4f000000..0x4fff0000, rtc`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.vcpus == 1 { "" } else { "s" };
        write!(
            formatter,
            "{}: {} vCPU{plural}, {} MiB, {}, entry {:#x}, device tree {:#x}",
            self.name,
            self.vcpus,
            self.memory_bytes >> 20,
            self.kernel_format,
            self.entry,
            self.device_tree_address
        )?;
        if !self.pcpus.is_empty() {
            write!(formatter, ", pcpus {:?}", self.pcpus)?;
        }
        if let Some(initrd) = &self.initrd {
            write!(formatter, ", initrd {:#x}..{:#x}", initrd.start, initrd.end)?;
        }
        for grant in &self.devices {
            let name = devices::DEVICES.iter().find(|device| device.grant == *grant).map_or("?", |device| device.name);
            write!(formatter, ", {name}")?;
        }
        Ok(())
    }
}
