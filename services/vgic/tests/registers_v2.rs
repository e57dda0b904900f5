//! The GICv2 distributor, register by register: reset values, banking, byte access, RAZ/WI
//! ranges, GICD_SGIR filters, the SGI pending registers and refused callers.

mod common;

use common::{Harness, domain, inject, vcpu};
use somnus_abi::GuestPhysAddr;
use somnus_abi::guest_platform::{GIC_DISTRIBUTOR, GICV3_REDISTRIBUTORS};
use somnus_abi::ids::{DomainId, VcpuId};
use somnus_abi::ipc::{Action, Message};
use somnus_service_vgic::GicVersion;

const CPU0: VcpuId = vcpu(0, 0);
const CPU1: VcpuId = vcpu(0, 1);

fn harness() -> Harness {
    Harness::new(GicVersion::V2, &[(0, 4), (1, 2)])
}

#[test]
fn reset_values() {
    let mut gic = harness();
    assert_eq!(gic.distributor(CPU0, 0x000), 0, "CTLR");
    assert_eq!(gic.distributor(CPU0, 0x004), 5 | (3 << 5), "TYPER: 192 INTIDs, 4 CPUs, no security");
    assert_eq!(gic.distributor(vcpu(1, 0), 0x004), 5 | (1 << 5));
    assert_eq!(gic.distributor(CPU0, 0x008), 0x43B, "IIDR");
    for base in [0x080, 0x100, 0x180, 0x200, 0x280, 0x300, 0x380] {
        for word in 0..6 {
            assert_eq!(gic.distributor(CPU1, base + 4 * word), 0, "{base:#x} word {word}");
        }
    }
    assert_eq!(gic.distributor(CPU0, 0x420), 0, "IPRIORITYR");
    assert_eq!(gic.distributor(CPU0, 0xC00), 0xAAAA_AAAA, "SGIs are edge-triggered");
    assert_eq!(gic.distributor(CPU0, 0xC04), 0, "PPIs level");
    assert_eq!(gic.distributor(CPU0, 0xC08), 0, "SPIs level");
}

#[test]
fn identification_registers() {
    let mut gic = harness();
    assert_eq!(gic.distributor(CPU0, 0xFE8) & 0xF0, 0x20, "PIDR2 ArchRev 2");
    let component: Vec<u64> = (0..4).map(|index| gic.distributor(CPU0, 0xFF0 + 4 * index)).collect();
    assert_eq!(component, [0x0D, 0xF0, 0x05, 0xB1]);
    assert_eq!(gic.distributor(CPU0, 0xFFE8), 0, "past the 4 KiB GICv2 distributor");
}

#[test]
fn control_holds_both_group_enables_only() {
    let mut gic = harness();
    gic.set_distributor(CPU0, 0x000, 4, 0xFFFF_FFFF);
    assert_eq!(gic.distributor(CPU1, 0x000), 0b11);
    gic.set_distributor(CPU0, 0x000, 1, 0);
    assert_eq!(gic.distributor(CPU0, 0x000), 0b11, "byte writes to CTLR are ignored");
    assert_eq!(gic.read(CPU0, GIC_DISTRIBUTOR.0, 1), 0, "byte reads of CTLR are RAZ");
    assert_eq!(gic.distributor(vcpu(1, 0), 0x000), 0, "another domain's distributor is untouched");
}

#[test]
fn private_interrupts_are_banked_per_vcpu() {
    let mut gic = harness();
    gic.set_distributor(CPU0, 0x100, 4, 0xFFFF_FFFF);
    gic.set_distributor(CPU0, 0x41B, 1, 0xA0);
    gic.set_distributor(CPU0, 0x080, 4, 1 << 27);
    assert_eq!(gic.distributor(CPU0, 0x100), 0xFFFF_FFFF);
    assert_eq!(gic.distributor(CPU1, 0x100), 0);
    assert_eq!(gic.distributor(CPU0, 0x418), 0xA000_0000);
    assert_eq!(gic.distributor(CPU1, 0x418), 0);
    assert_eq!(gic.distributor(CPU0, 0x080), 1 << 27);
    assert_eq!(gic.distributor(CPU1, 0x080), 0);
    gic.set_distributor(CPU1, 0x180, 4, 1 << 27);
    assert_eq!(gic.distributor(CPU0, 0x100), 0xFFFF_FFFF, "CPU 1 cannot disable CPU 0's PPI");
}

#[test]
fn priorities_are_byte_accessible_with_five_bits() {
    let mut gic = harness();
    gic.set_distributor(CPU0, 0x400 + 33, 1, 0xFF);
    gic.set_distributor(CPU0, 0x400 + 34, 1, 0x47);
    assert_eq!(gic.distributor(CPU0, 0x420), 0x0040_F800);
    assert_eq!(gic.read(CPU1, GIC_DISTRIBUTOR.0 + 0x421, 1), 0xF8, "SPI priorities are shared");
    gic.set_distributor(CPU0, 0x424, 4, 0x1122_3344);
    assert_eq!(gic.read(CPU0, GIC_DISTRIBUTOR.0 + 0x427, 1), 0x10);
    gic.set_distributor(CPU0, 0x428, 2, 0xFFFF);
    assert_eq!(gic.distributor(CPU0, 0x428), 0, "halfword accesses are RAZ/WI");
    assert_eq!(gic.read(CPU0, GIC_DISTRIBUTOR.0 + 0x420, 2), 0);
}

#[test]
fn targets_are_byte_accessible_and_limited_to_the_domain() {
    let mut gic = Harness::new(GicVersion::V2, &[(0, 2)]);
    assert_eq!(gic.distributor(CPU0, 0x800), 0x0101_0101, "SGI targets show the reader");
    assert_eq!(gic.distributor(CPU1, 0x81C), 0x0202_0202, "PPI targets show the reader");
    gic.set_distributor(CPU1, 0x800, 4, 0xFFFF_FFFF);
    assert_eq!(gic.distributor(CPU1, 0x800), 0x0202_0202, "read-only");
    gic.set_distributor(CPU0, 0x800 + 40, 1, 0xFF);
    gic.set_distributor(CPU0, 0x800 + 41, 1, 0x02);
    assert_eq!(gic.distributor(CPU0, 0x828), 0x0000_0203, "only the domain's two vCPUs");
    gic.set_distributor(CPU0, 0x82C, 4, 0x0102_0301);
    assert_eq!(gic.read(CPU0, GIC_DISTRIBUTOR.0 + 0x82E, 1), 0x02);
    gic.set_distributor(CPU0, 0x8C0, 4, 0x0101_0101);
    assert_eq!(gic.distributor(CPU0, 0x8C0), 0, "INTID 192 and up are RAZ/WI");
}

#[test]
fn unsupported_interrupts_and_reserved_offsets_are_raz_wi() {
    let mut gic = harness();
    for offset in [0x098, 0x118, 0x198, 0x218, 0x298, 0x4C0, 0x7FC, 0xC30, 0xCFC, 0x00C, 0x010, 0x07C, 0xE00, 0xF04] {
        gic.set_distributor(CPU0, offset, 4, 0xFFFF_FFFF);
        assert_eq!(gic.distributor(CPU0, offset), 0, "{offset:#x}");
    }
    gic.set_distributor(CPU0, 0x004, 4, 0);
    assert_eq!(gic.distributor(CPU0, 0x004), 5 | (3 << 5), "TYPER is read-only");
    gic.set_distributor(CPU0, 0x300, 4, 0xFFFF_FFFF);
    assert_eq!(gic.distributor(CPU0, 0x300), 0, "the active state is RAZ/WI");
    assert_eq!(gic.distributor(CPU0, 0xF00), 0, "GICD_SGIR is write-only");
    for offset in [0x1000, 0x6140, 0xFFE8, 0xFFFC] {
        gic.set_distributor(CPU0, offset, 4, 0xFFFF_FFFF);
        assert_eq!(gic.distributor(CPU0, offset), 0, "{offset:#x}");
    }
    gic.set_distributor(CPU0, 0x104, 8, u64::MAX);
    assert_eq!(gic.distributor(CPU0, 0x104), 0, "64-bit accesses to 32-bit registers are ignored");
    gic.set_distributor(CPU0, 0x102, 2, 0xFFFF);
    assert_eq!(gic.distributor(CPU0, 0x100), 0);
}

#[test]
fn software_interrupt_filters() {
    let mut gic = harness();
    gic.enable_distributor(CPU0);
    gic.set_distributor(CPU0, 0x100, 4, 0xFFFF);
    gic.set_distributor(vcpu(0, 2), 0x100, 4, 0xFFFF);
    gic.set_distributor(vcpu(0, 3), 0x100, 4, 0xFFFF);
    let sgi = |source: u32, intid: u32| intid | (source << 10);
    // Filter 0: the list, limited to the domain's four vCPUs.
    assert_eq!(
        gic.set_distributor(CPU1, 0xF00, 4, 0xF4 << 16 | 3),
        [inject(vcpu(0, 2), sgi(1, 3), 0)],
        "CPU 1 (not enabled) is not a target; CPUs past 3 do not exist"
    );
    gic.set_distributor(CPU1, 0x100, 4, 0xFFFF);
    // Filter 1: everyone but the writer.
    assert_eq!(
        gic.set_distributor(vcpu(0, 2), 0xF00, 4, 1 << 24 | 0xFF << 16 | 7),
        [0, 1, 3].map(|target| inject(vcpu(0, target), sgi(2, 7), 0))
    );
    // Filter 2: the writer only, whatever the list says.
    assert_eq!(
        gic.set_distributor(vcpu(0, 3), 0xF00, 4, 2 << 24 | 0x01 << 16 | 15),
        [inject(vcpu(0, 3), sgi(3, 15), 0)]
    );
    // Filter 3 is reserved.
    assert!(gic.set_distributor(CPU0, 0xF00, 4, 3 << 24 | 0xFF << 16 | 1).is_empty());
    // Wrong size: ignored.
    assert!(gic.set_distributor(CPU0, 0xF00, 1, 0x02).is_empty());
}

#[test]
fn pending_software_interrupts_per_source() {
    let mut gic = harness();
    // Not enabled: the SGI stays pending, with its source.
    assert!(gic.set_distributor(CPU1, 0xF00, 4, 0x01 << 16 | 2).is_empty());
    assert!(gic.set_distributor(vcpu(0, 3), 0xF00, 4, 0x01 << 16 | 2).is_empty());
    assert_eq!(gic.distributor(CPU0, 0xF20), 0b1010 << 16, "SPENDSGIR0: SGI 2 from CPUs 1 and 3");
    assert_eq!(gic.distributor(CPU0, 0xF10), 0b1010 << 16, "CPENDSGIR reads the same");
    assert_eq!(gic.distributor(CPU0, 0x200), 1 << 2, "ISPENDR0 shows it");
    assert_eq!(gic.distributor(CPU1, 0xF20), 0, "banked");
    gic.set_distributor(CPU0, 0x200, 4, 0xFFFF);
    assert_eq!(gic.distributor(CPU0, 0x200), 1 << 2, "ISPENDR0 does not set SGIs");
    gic.set_distributor(CPU0, 0xF12, 1, 0b0010);
    assert_eq!(gic.read(CPU0, GIC_DISTRIBUTOR.0 + 0xF22, 1), 0b1000);
    gic.set_distributor(CPU0, 0xF25, 1, 0xFF);
    assert_eq!(gic.read(CPU0, GIC_DISTRIBUTOR.0 + 0xF25, 1), 0x0F, "sources limited to the domain");
    gic.enable_distributor(CPU0);
    gic.set_distributor(CPU0, 0x402, 1, 0x80);
    assert_eq!(
        gic.set_distributor(CPU0, 0x100, 4, 1 << 2),
        [inject(CPU0, 2 | 3 << 10, 0x80)],
        "enabling delivers the pending SGI"
    );
}

#[test]
fn refused_callers_get_an_abort() {
    let mut gic = harness();
    let stale = VcpuId { domain: DomainId { index: 0, generation: 0 }, index: 0 };
    let unknown = VcpuId { domain: domain(5), index: 0 };
    let out_of_range = VcpuId { domain: DomainId { index: 200, generation: 1 }, index: 0 };
    let no_such_vcpu = vcpu(1, 2);
    for caller in [stale, unknown, out_of_range, no_such_vcpu] {
        for message in [
            Message::MmioRead { caller, address: GIC_DISTRIBUTOR, size: 4, time_ns: 0 },
            Message::MmioWrite {
                caller,
                address: GuestPhysAddr(GIC_DISTRIBUTOR.0 + 0x100),
                size: 4,
                value: 1,
                time_ns: 0,
            },
        ] {
            assert_eq!(gic.send(&message), [Action::InjectAbort { target: caller }], "{caller:?}");
        }
    }
    let redistributor = Message::MmioRead { caller: CPU0, address: GICV3_REDISTRIBUTORS, size: 4, time_ns: 0 };
    assert_eq!(gic.send(&redistributor), [Action::InjectAbort { target: CPU0 }], "no redistributors on GICv2");
    assert_eq!(gic.distributor(CPU0, 0x100), 0);
}

#[test]
fn a_restarted_domain_starts_fresh() {
    let mut gic = harness();
    gic.set_distributor(CPU0, 0x104, 4, 0xFF);
    let restarted = DomainId { index: 0, generation: 2 };
    assert!(gic.send(&common::started(restarted, 1)).is_empty());
    let new_vcpu = VcpuId { domain: restarted, index: 0 };
    assert_eq!(gic.distributor(new_vcpu, 0x104), 0);
    assert_eq!(gic.distributor(new_vcpu, 0x004), 5, "one vCPU now");
    assert_eq!(
        gic.send(&Message::MmioRead { caller: CPU0, address: GIC_DISTRIBUTOR, size: 4, time_ns: 0 }),
        [Action::InjectAbort { target: CPU0 }]
    );
}
