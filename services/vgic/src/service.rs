//! The service: one [`DomainState`] per domain slot, checked against the domain's generation on
//! every message, and the routing of each message to the distributor, a redistributor or the
//! delivery logic. Every MMIO access is completed (or, from a stale or unknown domain, refused
//! with an abort), and its completion is the first action, so a vCPU is never left waiting even
//! if the kernel's action buffer overflows.

use somnus_abi::GuestPhysAddr;
use somnus_abi::guest_platform::{
    GIC_DISTRIBUTOR, GIC_DISTRIBUTOR_SIZE, GICV3_REDISTRIBUTOR_STRIDE, GICV3_REDISTRIBUTORS, MAX_VCPUS,
};
use somnus_abi::ids::{DomainId, VcpuId};
use somnus_abi::ipc::{Action, ActionSink, InterruptSource, InterruptTarget, Message, Service};

use crate::domain_state::DomainState;
use crate::limits::{GicVersion, MAX_DOMAINS, is_private, spi_index};
use crate::passthrough::PhysicalRoutes;
use crate::sgi::decode_system_register_sgi;
use crate::{distributor_v2, distributor_v3, redistributor_v3};

/// Which frame a guest physical address falls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    /// The distributor, at this offset.
    Distributor(u64),
    /// The redistributor of a vCPU (GICv3), at this offset.
    Redistributor(u8, u64),
}

/// The vGIC service.
#[derive(Debug)]
pub struct VgicService {
    version: GicVersion,
    domains: [Option<DomainState>; MAX_DOMAINS],
}

impl VgicService {
    /// A service for guests that see a GIC of `version` (the machine's), with no domain yet.
    #[must_use]
    pub const fn new(version: GicVersion) -> Self {
        Self { version, domains: [const { None }; MAX_DOMAINS] }
    }

    /// The GIC version the guests see.
    #[must_use]
    pub const fn version(&self) -> GicVersion {
        self.version
    }

    /// The state of `domain`, if it is the current generation of its slot.
    #[must_use]
    pub fn domain(&self, domain: DomainId) -> Option<&DomainState> {
        self.slot(usize::from(domain.index)).filter(|state| state.id.generation == domain.generation)
    }

    /// The state in slot `index`, whatever its generation.
    #[must_use]
    pub fn slot(&self, index: usize) -> Option<&DomainState> {
        self.domains.get(index)?.as_ref()
    }

    fn domain_mut(&mut self, domain: DomainId) -> Option<&mut DomainState> {
        self.domains
            .get_mut(usize::from(domain.index))?
            .as_mut()
            .filter(|state| state.id.generation == domain.generation)
    }

    fn locate(&self, address: GuestPhysAddr) -> Option<Frame> {
        let offset = address.0.wrapping_sub(GIC_DISTRIBUTOR.0);
        if offset < GIC_DISTRIBUTOR_SIZE {
            return Some(Frame::Distributor(offset));
        }
        let offset = address.0.wrapping_sub(GICV3_REDISTRIBUTORS.0);
        if self.version == GicVersion::V3 && offset < GICV3_REDISTRIBUTOR_STRIDE * MAX_VCPUS as u64 {
            let index = (offset / GICV3_REDISTRIBUTOR_STRIDE) as u8;
            return Some(Frame::Redistributor(index, offset % GICV3_REDISTRIBUTOR_STRIDE));
        }
        None
    }

    /// A guest access; `value` is `Some` for a write.
    fn access(
        &mut self,
        caller: VcpuId,
        address: GuestPhysAddr,
        size: u8,
        value: Option<u64>,
        actions: &mut dyn ActionSink,
    ) {
        let frame = self.locate(address);
        let version = self.version;
        let state = self.domain_mut(caller.domain).filter(|state| state.has_vcpu(caller.index));
        let (Some(state), Some(frame)) = (state, frame) else {
            actions.push(Action::InjectAbort { target: caller });
            return;
        };
        // Misaligned accesses and sizes no register has are RAZ/WI.
        let supported = matches!(size, 1 | 2 | 4 | 8) && address.0.is_multiple_of(u64::from(size));
        let vcpu = caller.index;
        let Some(value) = value else {
            let value = if supported { read(state, version, vcpu, frame, size) } else { 0 };
            let mask = u64::MAX >> (64 - 8 * u32::from(size.clamp(1, 8)));
            actions.push(Action::CompleteRead { target: caller, value: value & mask });
            return;
        };
        actions.push(Action::CompleteWrite { target: caller });
        if supported {
            let routes = PhysicalRoutes::capture(state);
            write(state, version, vcpu, frame, size, value, actions);
            if let Some(routes) = routes {
                routes.report_changes(state, actions);
            }
        }
    }

    fn interrupt(
        &mut self,
        target: InterruptTarget,
        intid: u32,
        source: InterruptSource,
        actions: &mut dyn ActionSink,
    ) {
        let (domain, vcpu) = match target {
            InterruptTarget::Domain(domain) => (domain, 0),
            InterruptTarget::Vcpu(vcpu) => (vcpu.domain, vcpu.index),
        };
        let private_target = matches!(target, InterruptTarget::Vcpu(_));
        let state = self.domain_mut(domain).filter(|_| private_target == is_private(intid));
        match (state, source) {
            (Some(state), InterruptSource::Physical) => state.physical_fired(vcpu, intid, actions),
            (Some(state), InterruptSource::TimerExpired) => state.timer_expired(vcpu, intid, actions),
            (Some(state), InterruptSource::Level(level)) => state.line_changed(vcpu, intid, level, actions),
            // A physical interrupt nobody takes must still be deactivated.
            (None, InterruptSource::Physical) => {
                let vcpu = match target {
                    InterruptTarget::Vcpu(vcpu) => Some(vcpu),
                    InterruptTarget::Domain(_) => None,
                };
                actions.push(Action::DiscardPhysical { intid, vcpu });
            }
            (None, _) => {}
        }
    }

    fn grant(&mut self, domain: DomainId, intid: u32, actions: &mut dyn ActionSink) {
        if spi_index(intid).is_none() || self.domain(domain).is_none() {
            return;
        }
        for state in self.domains.iter_mut().flatten() {
            if state.id.index != domain.index {
                state.revoke(intid);
            }
        }
        if let Some(state) = self.domain_mut(domain) {
            state.grant(intid, actions);
        }
    }

    fn generate_sgi(&mut self, caller: VcpuId, value: u64, actions: &mut dyn ActionSink) {
        actions.push(Action::CompleteWrite { target: caller });
        if self.version != GicVersion::V3 {
            return;
        }
        let Some(state) = self.domain_mut(caller.domain).filter(|state| state.has_vcpu(caller.index)) else { return };
        let request = decode_system_register_sgi(value, caller.index, state.vcpu_count);
        for target in 0..state.vcpu_count {
            if request.targets & (1 << target) != 0 {
                state.raise_sgi(target, request.intid, 1 << caller.index, actions);
            }
        }
    }
}

fn read(state: &DomainState, version: GicVersion, vcpu: u8, frame: Frame, size: u8) -> u64 {
    match (version, frame) {
        (GicVersion::V2, Frame::Distributor(offset)) => distributor_v2::read(state, vcpu, offset, size),
        (GicVersion::V3, Frame::Distributor(offset)) => distributor_v3::read(state, offset, size),
        (GicVersion::V3, Frame::Redistributor(index, offset)) if state.has_vcpu(index) => {
            redistributor_v3::read(state, index, offset, size)
        }
        // A redistributor slot past the domain's vCPUs: nothing there.
        _ => 0,
    }
}

fn write(
    state: &mut DomainState,
    version: GicVersion,
    vcpu: u8,
    frame: Frame,
    size: u8,
    value: u64,
    actions: &mut dyn ActionSink,
) {
    match (version, frame) {
        (GicVersion::V2, Frame::Distributor(offset)) => {
            distributor_v2::write(state, vcpu, offset, size, value, actions);
        }
        (GicVersion::V3, Frame::Distributor(offset)) => distributor_v3::write(state, offset, size, value, actions),
        (GicVersion::V3, Frame::Redistributor(index, offset)) if state.has_vcpu(index) => {
            redistributor_v3::write(state, index, offset, size, value, actions);
        }
        _ => {}
    }
}

impl Service for VgicService {
    fn handle(&mut self, message: &Message, actions: &mut dyn ActionSink) {
        match *message {
            Message::DomainStarted { domain, vcpu_count, .. } => {
                if let Some(slot) = self.domains.get_mut(usize::from(domain.index)) {
                    *slot = Some(DomainState::new(domain, self.version, vcpu_count));
                }
            }
            Message::InterruptGranted { domain, intid } => self.grant(domain, intid, actions),
            Message::MmioRead { caller, address, size, .. } => self.access(caller, address, size, None, actions),
            Message::MmioWrite { caller, address, size, value, .. } => {
                self.access(caller, address, size, Some(value), actions);
            }
            Message::Interrupt { target, intid, source } => self.interrupt(target, intid, source, actions),
            Message::GenerateSgi { caller, value } => self.generate_sgi(caller, value, actions),
            Message::InterruptEnded { vcpu, intid } => {
                if let Some(state) = self.domain_mut(vcpu.domain) {
                    state.interrupt_ended(vcpu.index, intid, actions);
                }
            }
            // Calls, power and console events belong to other services.
            _ => {}
        }
    }
}
