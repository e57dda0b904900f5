//! Property: any sequence of register writes (any offset of the distributor or of any
//! redistributor slot, any size, any value) and ICC_SGI1R_EL1 writes, from any vCPU of any
//! domain, never panics, completes every access, touches no other domain's state (compared
//! before and after each write, and as registers read back at the end), and produces actions
//! only for the writer's own vCPUs and the SPIs it owns.

mod common;

use common::{Harness, RTC_INTID, SGI_FRAME, domain, vcpu};
use proptest::prelude::*;
use somnus_abi::GuestPhysAddr;
use somnus_abi::guest_platform::{
    GIC_DISTRIBUTOR, GIC_DISTRIBUTOR_SIZE, GICV3_REDISTRIBUTOR_STRIDE, GICV3_REDISTRIBUTORS,
};
use somnus_abi::ids::VcpuId;
use somnus_abi::ipc::{Action, Message};
use somnus_service_vgic::{DomainState, GicVersion, INTID_LIMIT};

/// Writing domains `(index, vCPUs)`: a uniprocessor, one with two vCPUs and one with the
/// maximum of eight; then a bystander with four that nobody writes.
const DOMAINS: [(u8, u8); 4] = [(0, 1), (2, 2), (5, 8), (7, 4)];
/// Domains that make accesses.
const WRITERS: usize = 3;
/// The bystander's position in `DOMAINS`.
const BYSTANDER: usize = 3;
/// An SPI passed through to each domain.
const GRANTS: [u32; 4] = [RTC_INTID, 40, 100, 191];

/// One guest access.
#[derive(Clone, Debug)]
enum Access {
    /// A read of `size` bytes at `address`.
    Read { domain: usize, vcpu: u8, address: u64, size: u8 },
    /// A write of `size` bytes at `address`.
    Write { domain: usize, vcpu: u8, address: u64, size: u8, value: u64 },
    /// An ICC_SGI1R_EL1 write.
    Sgi { domain: usize, vcpu: u8, value: u64 },
}

fn address() -> impl Strategy<Value = u64> {
    let distributor = GIC_DISTRIBUTOR.0;
    let redistributors = GICV3_REDISTRIBUTORS.0;
    prop_oneof![
        // Anywhere in the distributor frame.
        (0..0x1_0000_u64).prop_map(move |offset| distributor + offset),
        // The per-INTID registers and IROUTER, where most state is.
        (0..0x1000_u64).prop_map(move |offset| distributor + offset),
        (0x6000..0x6800_u64).prop_map(move |offset| distributor + offset),
        // Any redistributor slot, including those past a domain's vCPUs.
        (0..8_u64, 0..0x2_0000_u64)
            .prop_map(move |(index, offset)| redistributors + index * GICV3_REDISTRIBUTOR_STRIDE + offset),
        (0..8_u64, 0..0x1000_u64).prop_map(move |(index, offset)| {
            redistributors + index * GICV3_REDISTRIBUTOR_STRIDE + SGI_FRAME + offset
        }),
    ]
}

fn access() -> impl Strategy<Value = Access> {
    let size = || prop::sample::select(vec![1_u8, 2, 4, 8]);
    // Mostly aligned, as the kernel forwards them; one in eight not.
    let place =
        |address: u64, size: u8, misaligned: bool| if misaligned { address } else { address & !(u64::from(size) - 1) };
    let write = (0..WRITERS, any::<u8>(), address(), size(), any::<u64>(), prop::bool::weighted(0.125)).prop_map(
        move |(domain, vcpu, address, size, value, misaligned)| Access::Write {
            domain,
            vcpu: vcpu % DOMAINS[domain].1,
            address: place(address, size, misaligned),
            size,
            value,
        },
    );
    let read = (0..WRITERS, any::<u8>(), address(), size()).prop_map(move |(domain, vcpu, address, size)| {
        Access::Read { domain, vcpu: vcpu % DOMAINS[domain].1, address: place(address, size, false), size }
    });
    let sgi = (0..WRITERS, any::<u8>(), any::<u64>()).prop_map(|(domain, vcpu, value)| Access::Sgi {
        domain,
        vcpu: vcpu % DOMAINS[domain].1,
        value,
    });
    prop_oneof![12 => write, 2 => read, 1 => sgi]
}

fn harness(version: GicVersion) -> Harness {
    let mut gic = Harness::new(version, &DOMAINS);
    for ((index, _), intid) in DOMAINS.into_iter().zip(GRANTS) {
        gic.send(&Message::InterruptGranted { domain: domain(index), intid });
    }
    gic
}

fn snapshot(gic: &Harness) -> Vec<DomainState> {
    DOMAINS.iter().map(|&(index, _)| gic.service.domain(domain(index)).expect("started").clone()).collect()
}

/// Every register a domain's vCPUs can read, as they read it.
fn register_dump(gic: &mut Harness, index: usize) -> Vec<u64> {
    let (domain_index, vcpu_count) = DOMAINS[index];
    let mut dump = Vec::new();
    for reader in 0..vcpu_count {
        let caller = vcpu(domain_index, reader);
        for offset in (0..0x1000).step_by(4).chain((0x6000..0x6800).step_by(4)) {
            dump.push(gic.read(caller, GIC_DISTRIBUTOR.0 + offset, 4));
        }
        if gic.version == GicVersion::V3 {
            for offset in (0..0x20).step_by(4).chain((SGI_FRAME..SGI_FRAME + 0xD00).step_by(4)) {
                dump.push(gic.redistributor(caller, reader, offset));
            }
        }
    }
    dump
}

/// Checks that `actions`, answering a write by `caller`, concern only `caller`'s domain and the
/// SPI it owns.
fn check_write_actions(actions: &[Action], caller: VcpuId, owned: u32) -> Result<(), TestCaseError> {
    prop_assert_eq!(actions.first(), Some(&Action::CompleteWrite { target: caller }));
    for action in &actions[1..] {
        match action {
            Action::InjectInterrupt { target, intid, .. } | Action::WithdrawInterrupt { target, intid } => {
                prop_assert_eq!(target.domain, caller.domain);
                // SPIs below 192, or SGIs (with a GICv2 source vCPU in bits [12:10]).
                prop_assert!(*intid < INTID_LIMIT || (*intid & 0x3FF < 16 && *intid < 8 << 10), "{:?}", action);
            }
            Action::RoutePhysical { intid, target, .. } => {
                prop_assert_eq!(target.domain, caller.domain);
                prop_assert_eq!(*intid, owned);
            }
            other => prop_assert!(false, "unexpected action {:?}", other),
        }
    }
    Ok(())
}

/// Whether the service emulates `address` for guests of `version`.
fn emulated(version: GicVersion, address: u64) -> bool {
    address.wrapping_sub(GIC_DISTRIBUTOR.0) < GIC_DISTRIBUTOR_SIZE
        || (version == GicVersion::V3 && address.wrapping_sub(GICV3_REDISTRIBUTORS.0) < 8 * GICV3_REDISTRIBUTOR_STRIDE)
}

fn run(version: GicVersion, accesses: &[Access]) -> Result<(), TestCaseError> {
    let mut gic = harness(version);
    let bystander_before = register_dump(&mut gic, BYSTANDER);
    for access in accesses {
        let before = snapshot(&gic);
        let (writer, caller) = match *access {
            Access::Read { domain: reader, vcpu: index, address, size } => {
                let caller = vcpu(DOMAINS[reader].0, index);
                let actions =
                    gic.send(&Message::MmioRead { caller, address: GuestPhysAddr(address), size, time_ns: 0 });
                let completed = match actions.as_slice() {
                    [Action::CompleteRead { target, .. }] => *target == caller && emulated(version, address),
                    [Action::InjectAbort { target }] => *target == caller && !emulated(version, address),
                    _ => false,
                };
                prop_assert!(completed, "read of {:#x}: {:?}", address, actions);
                prop_assert_eq!(&before, &snapshot(&gic), "a read changed state");
                continue;
            }
            Access::Write { domain: writer, vcpu: index, address, size, value } => {
                let caller = vcpu(DOMAINS[writer].0, index);
                let actions =
                    gic.send(&Message::MmioWrite { caller, address: GuestPhysAddr(address), size, value, time_ns: 0 });
                if !emulated(version, address) {
                    // Not a vGIC frame (GICv2 has no redistributors): refused, nothing changes.
                    prop_assert_eq!(actions, [Action::InjectAbort { target: caller }]);
                    prop_assert_eq!(&before, &snapshot(&gic));
                    continue;
                }
                check_write_actions(&actions, caller, GRANTS[writer])?;
                (writer, caller)
            }
            Access::Sgi { domain: writer, vcpu: index, value } => {
                let caller = vcpu(DOMAINS[writer].0, index);
                let actions = gic.send(&Message::GenerateSgi { caller, value });
                check_write_actions(&actions, caller, GRANTS[writer])?;
                (writer, caller)
            }
        };
        let after = snapshot(&gic);
        for (index, (old, new)) in before.iter().zip(&after).enumerate() {
            if index != writer {
                prop_assert_eq!(old, new, "{:?} changed domain {}", caller, DOMAINS[index].0);
            }
        }
    }
    prop_assert_eq!(bystander_before, register_dump(&mut gic, BYSTANDER));
    Ok(())
}

proptest! {
    // Failures are reported with their minimal input, not persisted into the source tree.
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn gicv2_writes_stay_inside_their_domain(accesses in prop::collection::vec(access(), 1..96)) {
        run(GicVersion::V2, &accesses)?;
    }

    #[test]
    fn gicv3_writes_stay_inside_their_domain(accesses in prop::collection::vec(access(), 1..96)) {
        run(GicVersion::V3, &accesses)?;
    }
}
