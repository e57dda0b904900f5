//! The GICv3 distributor and redistributors, register by register: reset values, affinity
//! routing and the single security state, IROUTER in 64-bit and 32-bit accesses, the GICR_TYPER
//! chain, the GICR_WAKER handshake, ICC_SGI1R_EL1 decoding and refused callers.

mod common;

use common::{Harness, SGI_FRAME, inject, vcpu};
use somnus_abi::GuestPhysAddr;
use somnus_abi::guest_platform::{GIC_DISTRIBUTOR, GICV3_REDISTRIBUTOR_STRIDE, GICV3_REDISTRIBUTORS};
use somnus_abi::ids::{DomainId, VcpuId};
use somnus_abi::ipc::{Action, Message};
use somnus_service_vgic::GicVersion;

const CPU0: VcpuId = vcpu(0, 0);
const CPU1: VcpuId = vcpu(0, 1);

fn harness() -> Harness {
    Harness::new(GicVersion::V3, &[(0, 3), (1, 2)])
}

fn router(intid: u32) -> u64 {
    GIC_DISTRIBUTOR.0 + 0x6000 + 8 * u64::from(intid)
}

#[test]
fn distributor_reset_values() {
    let mut gic = harness();
    assert_eq!(gic.distributor(CPU0, 0x0000), 0x50, "CTLR: ARE and DS set, groups disabled");
    let typer = gic.distributor(CPU0, 0x0004);
    assert_eq!(typer & 0x1F, 5, "ITLinesNumber: 192 INTIDs");
    assert_eq!((typer >> 19) & 0x1F, 9, "IDbits: 10 bits");
    assert_eq!(typer & (1 << 25), 1 << 25, "No1N");
    assert_eq!(typer & (1 << 10 | 1 << 16 | 1 << 17 | 1 << 24), 0, "no security, MBIs, LPIs or Aff3");
    assert_eq!(gic.distributor(CPU0, 0x0008), 0x43B, "IIDR");
    assert_eq!(gic.distributor(CPU0, 0x000C), 0, "TYPER2");
    assert_eq!(gic.distributor(CPU0, 0x0084), 0xFFFF_FFFF, "SPIs reset to group 1");
    assert_eq!(gic.distributor(CPU0, 0x0C08), 0, "SPIs level");
    assert_eq!(gic.read(CPU0, router(40), 8), 0, "IROUTER: vCPU 0");
}

#[test]
fn identification_registers() {
    let mut gic = harness();
    assert_eq!(gic.distributor(CPU0, 0xFFE8) & 0xF0, 0x30, "GICD_PIDR2 ArchRev 3");
    assert_eq!(gic.redistributor(CPU0, 2, 0xFFE8) & 0xF0, 0x30, "GICR_PIDR2 ArchRev 3");
    let component: Vec<u64> = (0..4).map(|index| gic.distributor(CPU0, 0xFFF0 + 4 * index)).collect();
    assert_eq!(component, [0x0D, 0xF0, 0x05, 0xB1]);
    let component: Vec<u64> = (0..4).map(|index| gic.redistributor(CPU1, 0, 0xFFF0 + 4 * index)).collect();
    assert_eq!(component, [0x0D, 0xF0, 0x05, 0xB1]);
    assert_eq!(gic.distributor(CPU0, 0x0FE8), 0, "not at the GICv2 offset");
}

#[test]
fn control_keeps_affinity_routing_and_single_security_state() {
    let mut gic = harness();
    gic.set_distributor(CPU0, 0x0000, 4, 0xFFFF_FFFF);
    assert_eq!(gic.distributor(CPU0, 0x0000), 0x53);
    gic.set_distributor(CPU0, 0x0000, 4, 0);
    assert_eq!(gic.distributor(CPU0, 0x0000), 0x50, "ARE and DS cannot be cleared; RWP reads 0");
}

#[test]
fn private_interrupts_live_in_the_redistributors() {
    let mut gic = harness();
    for offset in [0x080, 0x100, 0x200, 0x400, 0x41C, 0x800, 0x81C, 0xC00, 0xC04, 0xF00, 0xF10, 0xF20] {
        gic.set_distributor(CPU0, offset, 4, 0xFFFF_FFFF);
        assert_eq!(gic.distributor(CPU0, offset), 0, "GICD {offset:#x} is RAZ/WI with affinity routing");
    }
    assert_eq!(gic.redistributor(CPU0, 0, SGI_FRAME + 0x100), 0);
    assert_eq!(gic.redistributor(CPU0, 1, SGI_FRAME + 0x080), 0xFFFF_FFFF, "group 1 at reset");
    assert_eq!(gic.redistributor(CPU0, 1, SGI_FRAME + 0xC00), 0xAAAA_AAAA, "SGIs edge");
    gic.set_redistributor(CPU0, 1, SGI_FRAME + 0x100, 1 << 27);
    gic.write(CPU0, Harness::redistributor_address(1, SGI_FRAME + 0x41B), 1, 0x90);
    assert_eq!(gic.redistributor(CPU1, 1, SGI_FRAME + 0x100), 1 << 27, "vCPU 1's redistributor");
    assert_eq!(gic.redistributor(CPU1, 0, SGI_FRAME + 0x100), 0);
    assert_eq!(gic.redistributor(CPU1, 1, SGI_FRAME + 0x418), 0x9000_0000);
    gic.set_redistributor(CPU0, 1, SGI_FRAME + 0x084, 0xFFFF_FFFF);
    assert_eq!(gic.redistributor(CPU0, 1, SGI_FRAME + 0x084), 0, "no SPIs in a redistributor");
    gic.set_redistributor(CPU0, 1, SGI_FRAME + 0x420, 0xFFFF_FFFF);
    assert_eq!(gic.redistributor(CPU0, 1, SGI_FRAME + 0x420), 0);
    for offset in [SGI_FRAME + 0xD00, SGI_FRAME + 0xE00, 0x0000, 0x0010, 0x0070, 0x0078] {
        gic.set_redistributor(CPU0, 0, offset, 0xFFFF_FFFF);
        assert_eq!(gic.redistributor(CPU0, 0, offset), 0, "GICR {offset:#x} is RAZ/WI");
    }
}

#[test]
fn router_accepts_64_bit_and_32_bit_accesses() {
    let mut gic = harness();
    // Aff3 = 0xFF, IRM, Aff2 = 1, Aff1 = 2, Aff0 = 3: only Aff2..Aff0 are kept.
    gic.write(CPU0, router(40), 8, 0xFF_8001_0203);
    assert_eq!(gic.read(CPU0, router(40), 8), 0x0001_0203);
    assert_eq!(gic.read(CPU0, router(40), 4), 0x0001_0203);
    assert_eq!(gic.read(CPU0, router(40) + 4, 4), 0);
    gic.write(CPU0, router(40), 4, 2);
    gic.write(CPU0, router(40) + 4, 4, 0xFFFF_FFFF);
    assert_eq!(gic.read(CPU1, router(40), 8), 2);
    gic.write(CPU0, router(40), 2, 1);
    gic.write(CPU0, router(40) + 4, 8, 1);
    assert_eq!(gic.read(CPU0, router(40), 8), 2, "halfword and misaligned accesses are ignored");
    for intid in [0, 31, 192, 1019] {
        gic.write(CPU0, router(intid), 8, 1);
        assert_eq!(gic.read(CPU0, router(intid), 8), 0, "IROUTER of INTID {intid} is RAZ/WI");
    }
}

#[test]
fn redistributor_type_chain_ends_with_last() {
    let mut gic = harness();
    for index in 0..3_u8 {
        let address = Harness::redistributor_address(index, 0x0008);
        let last = if index == 2 { 1 << 4 } else { 0 };
        let expected = (u64::from(index) << 32) | (u64::from(index) << 8) | last;
        assert_eq!(gic.read(CPU0, address, 8), expected, "GICR_TYPER of vCPU {index}");
        assert_eq!(gic.read(CPU0, address, 4), expected & 0xFFFF_FFFF);
        assert_eq!(gic.read(CPU0, address + 4, 4), u64::from(index));
    }
    assert_eq!(gic.redistributor(vcpu(1, 0), 1, 0x0008), 1 << 8 | 1 << 4, "two vCPUs in domain 1");
    assert_eq!(gic.read(CPU0, Harness::redistributor_address(3, 0x0008), 8), 0, "no fourth redistributor");
    assert_eq!(gic.redistributor(CPU0, 3, 0xFFE8), 0);
    assert_eq!(gic.redistributor(CPU0, 0, 0x0004), 0x43B, "GICR_IIDR");
}

#[test]
fn waker_handshake() {
    let mut gic = harness();
    assert_eq!(gic.redistributor(CPU0, 0, 0x0014), 0b110, "asleep at reset");
    gic.set_redistributor(CPU0, 0, 0x0014, 0);
    assert_eq!(gic.redistributor(CPU0, 0, 0x0014), 0, "awake: ChildrenAsleep follows at once");
    assert_eq!(gic.redistributor(CPU0, 1, 0x0014), 0b110, "per redistributor");
    gic.set_redistributor(CPU0, 0, 0x0014, 0b111);
    assert_eq!(gic.redistributor(CPU0, 0, 0x0014), 0b110);
    assert_eq!(gic.redistributor(vcpu(1, 0), 0, 0x0014), 0b110, "another domain's redistributor");
}

#[test]
fn system_register_sgis() {
    let mut gic = harness();
    gic.enable_distributor(CPU0);
    for index in 0..3 {
        gic.set_redistributor(CPU0, index, SGI_FRAME + 0x100, 0xFFFF);
    }
    let sgi = |caller: VcpuId, value: u64| Message::GenerateSgi { caller, value };
    let done = |caller: VcpuId| Action::CompleteWrite { target: caller };
    // A target list of vCPUs 0 and 2; list bits past the domain are ignored.
    assert_eq!(gic.send(&sgi(CPU1, 4 << 24 | 0xFF05)), [done(CPU1), inject(CPU0, 4, 0), inject(vcpu(0, 2), 4, 0)]);
    // IRM: everyone but the writer.
    assert_eq!(gic.send(&sgi(CPU0, 1 << 40 | 9 << 24)), [done(CPU0), inject(CPU1, 9, 0), inject(vcpu(0, 2), 9, 0)]);
    // Aff1 != 0: no vCPU has that affinity.
    assert_eq!(gic.send(&sgi(CPU0, 1 << 16 | 1 << 24 | 0x7)), [done(CPU0)]);
    assert_eq!(gic.send(&sgi(CPU0, 1 << 44 | 0x7)), [done(CPU0)], "RS != 0");
    // Never another domain, even with IRM.
    assert_eq!(gic.send(&sgi(vcpu(1, 0), 1 << 40 | 2 << 24)), [done(vcpu(1, 0))], "its SGIs are disabled");
    // Stale caller: completed, nothing raised.
    let stale = VcpuId { domain: DomainId { index: 0, generation: 9 }, index: 0 };
    assert_eq!(gic.send(&sgi(stale, 1 << 40 | 2 << 24)), [done(stale)]);
}

#[test]
fn distributor_sgir_is_raz_wi() {
    let mut gic = harness();
    gic.enable_distributor(CPU0);
    gic.set_redistributor(CPU1, 1, SGI_FRAME + 0x100, 0xFFFF);
    assert!(gic.set_distributor(CPU0, 0xF00, 4, 1 << 24 | 1).is_empty());
}

#[test]
fn refused_callers_get_an_abort() {
    let mut gic = harness();
    let stale = VcpuId { domain: DomainId { index: 1, generation: 2 }, index: 0 };
    for caller in [stale, vcpu(4, 0), vcpu(1, 2)] {
        for address in [GIC_DISTRIBUTOR, GICV3_REDISTRIBUTORS] {
            assert_eq!(
                gic.send(&Message::MmioRead { caller, address, size: 4, time_ns: 0 }),
                [Action::InjectAbort { target: caller }]
            );
        }
    }
    let beyond = GuestPhysAddr(GICV3_REDISTRIBUTORS.0 + 8 * GICV3_REDISTRIBUTOR_STRIDE);
    assert_eq!(
        gic.send(&Message::MmioRead { caller: CPU0, address: beyond, size: 4, time_ns: 0 }),
        [Action::InjectAbort { target: CPU0 }]
    );
}
