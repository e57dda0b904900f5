//! A valid configuration (`tests/fixtures/valid/domains.toml`) from the TOML file to the
//! bundle bytes, read back with `somnus_abi::domain_bundle::decode`.

mod common;

use std::fmt::Write as _;

use fdt::Fdt;
use somnus_abi::GuestPhysAddr;
use somnus_abi::domain_bundle::{
    BUNDLE_MAGIC, BUNDLE_VERSION, BlobRef, BundleHeader, DeviceGrant, PREAMBLE_SIZE, blob_bytes, decode,
};
use somnus_domain_config::bundle_writer::encode;
use somnus_domain_config::{DomainRef, KernelFormat, build_bundle, prepare_domains, read_config};

#[test]
fn every_key_is_read() {
    let path = common::fixture("valid/domains.toml");
    let specs = read_config(&path, &common::qemu_virt()).unwrap();
    assert_eq!(specs.len(), 2);
    let linux = &specs[0];
    assert_eq!(linux.reference, DomainRef::Named("linux".into()));
    assert_eq!((linux.name.as_str(), linux.vcpus, linux.pcpus.as_slice()), ("linux", 2, &[1, 3][..]));
    assert_eq!(linux.memory_bytes, 64 << 20);
    assert_eq!(linux.kernel.written, "../kernels/image.bin");
    assert_eq!(linux.kernel.path, path.parent().unwrap().join("../kernels/image.bin"));
    assert_eq!(linux.kernel.bytes, std::fs::read(common::fixture("kernels/image.bin")).unwrap());
    assert_eq!(linux.initrd.as_ref().map(|initrd| initrd.written.as_str()), Some("../kernels/initrd.cpio"));
    assert_eq!(linux.cmdline.as_deref(), Some("console=ttyAMA0 earlycon"));
    assert_eq!(linux.devices.iter().map(|device| device.name).collect::<Vec<_>>(), ["rtc"]);
    let bare = &specs[1];
    assert_eq!((bare.name.as_str(), bare.vcpus, bare.memory_bytes), ("bare-metal_1", 1, 2 << 20));
    assert!(bare.pcpus.is_empty() && bare.initrd.is_none() && bare.cmdline.is_none() && bare.devices.is_empty());
}

#[test]
fn domains_are_placed_as_the_boot_protocol_wants() {
    let path = common::fixture("valid/domains.toml");
    let specs = read_config(&path, &common::qemu_virt()).unwrap();
    let domains = prepare_domains(specs, "domains.toml").unwrap();
    let linux = &domains[0];
    assert_eq!((linux.kernel_format, linux.entry), (KernelFormat::LinuxImage, 0x4000_0000));
    assert_eq!(linux.device_tree_address, 0x43ff_0000);
    assert_eq!(linux.initrd, Some(0x43fe_f000..0x43fe_f028));
    assert_eq!(linux.loads.len(), 2, "the Image, then the initrd");
    assert_eq!((linux.loads[0].address, linux.loads[0].zero_fill), (0x4000_0000, 0x2_0000 - 64));
    assert_eq!(linux.loads[1].address, 0x43fe_f000);
    assert_eq!(linux.devices, [DeviceGrant::Rtc]);
    let fdt = Fdt::new(&linux.device_tree_gicv3).unwrap();
    assert_eq!(fdt.chosen().bootargs(), Some("console=ttyAMA0 earlycon"));
    assert!(fdt.find_node("/pl031@9010000").is_some());

    let bare = &domains[1];
    assert_eq!((bare.kernel_format, bare.entry), (KernelFormat::RawBinary, 0x4008_0000));
    assert_eq!(bare.device_tree_address, 0x401f_0000);
    assert_eq!(bare.device_tree_address % 8, 0);
    assert!(Fdt::new(&bare.device_tree_gicv2).unwrap().find_node("/pl031@9010000").is_some(), "its virtual RTC");
    assert_eq!(bare.to_string(), "bare-metal_1: 1 vCPU, 2 MiB, raw binary, entry 0x40080000, device tree 0x401f0000");
}

#[test]
fn bundle_round_trips_through_the_abi_decoder() {
    let path = common::fixture("valid/domains.toml");
    let bundle = build_bundle(&path, &common::qemu_virt()).unwrap();
    assert_eq!(bundle.domain_count(), 2);
    let bytes = &bundle.bytes;
    assert_eq!(bytes[..8], BUNDLE_MAGIC);
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), BUNDLE_VERSION);
    let header: BundleHeader = decode(bytes).unwrap();
    assert_eq!(header.domains.len(), 2);

    let header_end = PREAMBLE_SIZE + u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let specs = read_config(&path, &common::qemu_virt()).unwrap();
    let prepared = prepare_domains(specs, "domains.toml").unwrap();
    for (image, domain) in header.domains.iter().zip(&prepared) {
        assert_eq!(image.name.as_str(), domain.name);
        assert_eq!(image.vcpu_count, domain.vcpus);
        assert_eq!(image.pcpus.as_slice(), domain.pcpus.as_slice());
        assert_eq!(image.memory_bytes, domain.memory_bytes);
        assert_eq!(image.entry, GuestPhysAddr(domain.entry));
        assert_eq!(image.device_tree_address, GuestPhysAddr(domain.device_tree_address));
        assert_eq!(image.devices.as_slice(), domain.devices.as_slice());
        assert_eq!(image.loads.len(), domain.loads.len());
        for (chunk, segment) in image.loads.iter().zip(&domain.loads) {
            assert_eq!((chunk.address, chunk.zero_fill), (GuestPhysAddr(segment.address), segment.zero_fill));
            assert_eq!(blob_bytes(bytes, chunk.blob).unwrap(), segment.bytes.as_slice());
        }
        assert_eq!(blob_bytes(bytes, image.device_tree_gicv2).unwrap(), domain.device_tree_gicv2.as_slice());
        assert_eq!(blob_bytes(bytes, image.device_tree_gicv3).unwrap(), domain.device_tree_gicv3.as_slice());
        let blobs =
            image.loads.iter().map(|chunk| chunk.blob).chain([image.device_tree_gicv2, image.device_tree_gicv3]);
        for blob in blobs {
            assert_eq!(blob.offset % 8, 0, "{blob:?} is not 8-byte aligned");
            assert!(blob.offset as usize >= header_end, "{blob:?} overlaps the header");
        }
    }
}

#[test]
fn identical_blobs_are_stored_once() {
    let dir = common::scratch_dir("dedup");
    std::fs::write(dir.join("k.bin"), b"same raw kernel").unwrap();
    let domain = |name: &str| format!("[[domain]]\nname = \"{name}\"\nvcpus = 1\nmemory_mib = 2\nkernel = \"k.bin\"\n");
    std::fs::write(dir.join("domains.toml"), format!("{}{}", domain("a"), domain("b"))).unwrap();
    let bundle = build_bundle(&dir.join("domains.toml"), &common::qemu_virt()).unwrap();
    let header = decode(&bundle.bytes).unwrap();
    let kernel_blobs: Vec<BlobRef> = header.domains.iter().map(|image| image.loads[0].blob).collect();
    assert_eq!(kernel_blobs[0], kernel_blobs[1]);
    assert_eq!(header.domains[0].device_tree_gicv2, header.domains[1].device_tree_gicv2);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn no_domains_is_the_empty_bundle() {
    let bundle = encode(&[]);
    assert!(bundle.is_empty());
    assert!(decode(&bundle).unwrap().domains.is_empty());
}

#[test]
fn eight_domains_with_large_offsets_still_decode() {
    let dir = common::scratch_dir("eight");
    // A 300 KiB kernel per domain pushes blob offsets past the one-byte varint range many times.
    let mut text = String::new();
    for index in 0..8_u8 {
        std::fs::write(dir.join(format!("k{index}.bin")), vec![index; 300 * 1024]).unwrap();
        let _ =
            write!(text, "[[domain]]\nname = \"d{index}\"\nvcpus = 8\nmemory_mib = 4\nkernel = \"k{index}.bin\"\n\n");
    }
    std::fs::write(dir.join("domains.toml"), text).unwrap();
    let bundle = build_bundle(&dir.join("domains.toml"), &common::qemu_virt()).unwrap();
    let header = decode(&bundle.bytes).unwrap();
    assert_eq!(header.domains.len(), 8);
    for (index, image) in header.domains.iter().enumerate() {
        assert_eq!(blob_bytes(&bundle.bytes, image.loads[0].blob).unwrap(), vec![index as u8; 300 * 1024].as_slice());
    }
    std::fs::remove_dir_all(dir).unwrap();
}
