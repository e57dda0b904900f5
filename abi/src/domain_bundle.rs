//! The domain bundle: every domain's kernel, initrd and device tree, prepared on the host by
//! `cargo xtask` from the domain configuration and linked into the hypervisor image.
//!
//! Layout: a 16-byte preamble (`BUNDLE_MAGIC`, `BUNDLE_VERSION` as u32 little endian, then the
//! length of the header as u32 little endian), then the `BundleHeader` encoded with postcard,
//! then the blobs. A `BlobRef` offset counts from the start of the bundle; blobs are 8-byte
//! aligned. An empty bundle (zero bytes) means "no domains".

use heapless::{String, Vec};
use serde::{Deserialize, Serialize};

use crate::GuestPhysAddr;
use crate::guest_platform::MAX_VCPUS;

/// First bytes of every bundle.
pub const BUNDLE_MAGIC: [u8; 8] = *b"SOMNUSDB";
/// Version of the bundle layout; the hypervisor refuses any other.
pub const BUNDLE_VERSION: u32 = 1;
/// Bytes before the postcard-encoded header.
pub const PREAMBLE_SIZE: usize = 16;
/// Most domains one image carries.
pub const MAX_DOMAINS: usize = 8;
/// Most load chunks (kernel segments, initrd, device tree) per domain.
pub const MAX_LOAD_CHUNKS: usize = 16;
/// Most devices granted to one domain.
pub const MAX_DEVICES: usize = 8;
/// Longest domain name, in bytes.
pub const MAX_NAME_LENGTH: usize = 32;

/// A range of bytes inside the bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    /// Offset from the start of the bundle.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
}

/// Bytes to copy into guest RAM at boot and at every reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadChunk {
    /// Guest physical address of the first byte.
    pub address: GuestPhysAddr,
    /// The bytes to copy.
    pub blob: BlobRef,
    /// Zero bytes to write after the blob (an ELF segment's memory size beyond its file size).
    pub zero_fill: u64,
}

/// A device given to a domain besides the ones every domain has (vGIC, virtual timer, UART).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceGrant {
    /// The PL031 real-time clock at `guest_platform::RTC` with its interrupt (qemu-virt).
    Rtc,
    /// The ZynqMP's second Cadence UART at `guest_platform::CADENCE_UART1` with its interrupt
    /// (zcu102).
    Uart1,
}

/// One domain, ready to load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainImage {
    /// Unique name.
    pub name: String<MAX_NAME_LENGTH>,
    /// Number of vCPUs (1..=MAX_VCPUS).
    pub vcpu_count: u8,
    /// Physical CPU of each vCPU; empty means vCPU i runs on physical CPU i modulo their number.
    pub pcpus: Vec<u8, MAX_VCPUS>,
    /// Bytes of RAM, at `guest_platform::RAM_BASE`; a multiple of 2 MiB.
    pub memory_bytes: u64,
    /// Where vCPU 0 starts.
    pub entry: GuestPhysAddr,
    /// Kernel segments and initrd.
    pub loads: Vec<LoadChunk, MAX_LOAD_CHUNKS>,
    /// The device tree for a GICv2 host.
    pub device_tree_gicv2: BlobRef,
    /// The device tree for a GICv3 host.
    pub device_tree_gicv3: BlobRef,
    /// Where the device tree is copied; x0 of vCPU 0 at entry.
    pub device_tree_address: GuestPhysAddr,
    /// Devices granted besides the standard ones.
    pub devices: Vec<DeviceGrant, MAX_DEVICES>,
}

/// Everything after the preamble, up to the blobs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleHeader {
    /// The domains, in configuration order (domain id = index + 1).
    pub domains: Vec<DomainImage, MAX_DOMAINS>,
}

/// Why a bundle cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleError {
    /// Shorter than its preamble or header says.
    Truncated,
    /// Does not start with `BUNDLE_MAGIC`.
    BadMagic,
    /// Made for another bundle version.
    UnsupportedVersion(u32),
    /// The header does not decode.
    BadHeader,
    /// A blob lies outside the bundle.
    BlobOutOfRange,
}

/// Decodes the header of `bundle`; an empty bundle has no domains. Every blob reference is
/// checked to lie inside the bundle.
pub fn decode(bundle: &[u8]) -> Result<BundleHeader, BundleError> {
    if bundle.is_empty() {
        return Ok(BundleHeader { domains: Vec::new() });
    }
    let preamble = bundle.get(..PREAMBLE_SIZE).ok_or(BundleError::Truncated)?;
    if preamble[..8] != BUNDLE_MAGIC {
        return Err(BundleError::BadMagic);
    }
    let version = u32::from_le_bytes([preamble[8], preamble[9], preamble[10], preamble[11]]);
    if version != BUNDLE_VERSION {
        return Err(BundleError::UnsupportedVersion(version));
    }
    let header_length = u32::from_le_bytes([preamble[12], preamble[13], preamble[14], preamble[15]]) as usize;
    let encoded = bundle.get(PREAMBLE_SIZE..PREAMBLE_SIZE + header_length).ok_or(BundleError::Truncated)?;
    let header: BundleHeader = postcard::from_bytes(encoded).map_err(|_| BundleError::BadHeader)?;
    for domain in &header.domains {
        let blobs =
            domain.loads.iter().map(|chunk| chunk.blob).chain([domain.device_tree_gicv2, domain.device_tree_gicv3]);
        for blob in blobs {
            blob_bytes(bundle, blob)?;
        }
    }
    Ok(header)
}

/// The bytes `blob` refers to.
pub fn blob_bytes(bundle: &[u8], blob: BlobRef) -> Result<&[u8], BundleError> {
    let start = usize::try_from(blob.offset).map_err(|_| BundleError::BlobOutOfRange)?;
    let length = usize::try_from(blob.length).map_err(|_| BundleError::BlobOutOfRange)?;
    let end = start.checked_add(length).ok_or(BundleError::BlobOutOfRange)?;
    bundle.get(start..end).ok_or(BundleError::BlobOutOfRange)
}
