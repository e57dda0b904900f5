//! Writes the domain bundle exactly as `somnus_abi::domain_bundle` reads it: the preamble, the
//! postcard-encoded header, then every blob 8-byte aligned. Identical blobs (the same kernel in
//! two domains) are stored once.

use std::collections::HashMap;

use heapless::{String as BoundedString, Vec as BoundedVec};
use somnus_abi::GuestPhysAddr;
use somnus_abi::domain_bundle::{
    BUNDLE_MAGIC, BUNDLE_VERSION, BlobRef, BundleHeader, DomainImage, LoadChunk, PREAMBLE_SIZE,
};

use crate::domain_image::PreparedDomain;

/// Alignment of every blob in the bundle.
pub const BLOB_ALIGNMENT: usize = 8;

/// The bundle bytes for `domains`, which passed validation (so every count fits the format's
/// limits); no domains give the empty bundle.
#[must_use]
pub fn encode(domains: &[PreparedDomain]) -> Vec<u8> {
    if domains.is_empty() {
        return Vec::new();
    }
    let mut blobs = BlobList::default();
    let references: Vec<DomainBlobs> = domains
        .iter()
        .map(|domain| DomainBlobs {
            loads: domain.loads.iter().map(|segment| blobs.add(&segment.bytes)).collect(),
            device_tree_gicv2: blobs.add(&domain.device_tree_gicv2),
            device_tree_gicv3: blobs.add(&domain.device_tree_gicv3),
        })
        .collect();
    let blobs = blobs.blobs;

    // Blob offsets depend on the header's length, which depends on the offsets (postcard
    // writes variable-length integers): start the blobs later until the header fits.
    let mut blobs_start = align(PREAMBLE_SIZE);
    loop {
        let offsets = blob_offsets(&blobs, blobs_start);
        let header = header(domains, &references, &blobs, &offsets);
        let encoded = postcard::to_allocvec(&header).expect("a bundle header always encodes");
        let header_end = PREAMBLE_SIZE + encoded.len();
        if header_end > blobs_start {
            blobs_start = align(header_end);
            continue;
        }
        let total_length = offsets.last().zip(blobs.last()).map_or(blobs_start, |(offset, blob)| offset + blob.len());
        let mut bundle = Vec::with_capacity(total_length);
        bundle.extend_from_slice(&BUNDLE_MAGIC);
        bundle.extend_from_slice(&BUNDLE_VERSION.to_le_bytes());
        bundle.extend_from_slice(&u32::try_from(encoded.len()).expect("header under 4 GiB").to_le_bytes());
        bundle.extend_from_slice(&encoded);
        for (blob, &offset) in blobs.iter().zip(&offsets) {
            bundle.resize(offset, 0);
            bundle.extend_from_slice(blob);
        }
        return bundle;
    }
}

/// The distinct blobs, in the order they are first named.
#[derive(Default)]
struct BlobList<'data> {
    blobs: Vec<&'data [u8]>,
    index_of: HashMap<&'data [u8], usize>,
}

impl<'data> BlobList<'data> {
    /// The index of `bytes`, added if no equal blob is there yet.
    fn add(&mut self, bytes: &'data [u8]) -> usize {
        *self.index_of.entry(bytes).or_insert_with(|| {
            self.blobs.push(bytes);
            self.blobs.len() - 1
        })
    }
}

/// Indices into the blob list of one domain's blobs.
struct DomainBlobs {
    loads: Vec<usize>,
    device_tree_gicv2: usize,
    device_tree_gicv3: usize,
}

/// Offsets of the blobs when the first one starts at `start`.
fn blob_offsets(blobs: &[&[u8]], start: usize) -> Vec<usize> {
    let mut next = start;
    blobs
        .iter()
        .map(|blob| {
            let offset = next;
            next = align(offset + blob.len());
            offset
        })
        .collect()
}

/// The header for `domains`, their blobs lying at `offsets`.
fn header(domains: &[PreparedDomain], references: &[DomainBlobs], blobs: &[&[u8]], offsets: &[usize]) -> BundleHeader {
    let blob = |index: usize| BlobRef { offset: offsets[index] as u64, length: blobs[index].len() as u64 };
    let images = domains.iter().zip(references).map(|(domain, reference)| DomainImage {
        name: BoundedString::try_from(domain.name.as_str()).expect("validated name length"),
        vcpu_count: domain.vcpus,
        pcpus: BoundedVec::from_slice(&domain.pcpus).expect("validated pCPU count"),
        memory_bytes: domain.memory_bytes,
        entry: GuestPhysAddr(domain.entry),
        loads: domain
            .loads
            .iter()
            .zip(&reference.loads)
            .map(|(segment, &index)| LoadChunk {
                address: GuestPhysAddr(segment.address),
                blob: blob(index),
                zero_fill: segment.zero_fill,
            })
            .collect::<BoundedVec<_, _>>(),
        device_tree_gicv2: blob(reference.device_tree_gicv2),
        device_tree_gicv3: blob(reference.device_tree_gicv3),
        device_tree_address: GuestPhysAddr(domain.device_tree_address),
        devices: domain.devices.iter().copied().collect::<BoundedVec<_, _>>(),
    });
    BundleHeader { domains: images.collect() }
}

/// `offset` rounded up to the blob alignment.
fn align(offset: usize) -> usize {
    offset.next_multiple_of(BLOB_ALIGNMENT)
}
