//! SPIs passed through to a domain: ownership and the physical routing that follows the guest's
//! programming. The kernel is told with `RoutePhysical` whenever the physical interrupt's target
//! vCPU or its enable changes. The physical interrupt is enabled only while the guest would
//! forward it (enabled, its group enabled in GICD_CTLR, a target vCPU in the domain): otherwise a
//! level-sensitive device would fire again and again only to be discarded.

use somnus_abi::ipc::{Action, ActionSink};

use crate::domain_state::DomainState;
use crate::limits::{PRIVATE_COUNT, SPI_COUNT, spi_index};

/// Encoding of "physically disabled" in [`PhysicalRoutes`].
const DISABLED: u8 = u8::MAX;

/// The physical routing of every SPI a domain owns, captured before a register write.
pub struct PhysicalRoutes([u8; SPI_COUNT as usize]);

impl PhysicalRoutes {
    /// The routes of `state`'s SPIs, or `None` if it owns none (nothing to compare).
    pub fn capture(state: &DomainState) -> Option<Self> {
        if !state.granted.any_shared() {
            return None;
        }
        let mut routes = [DISABLED; SPI_COUNT as usize];
        for intid in state.granted.shared_intids() {
            routes[(intid - PRIVATE_COUNT) as usize] = state.physical_route(intid).unwrap_or(DISABLED);
        }
        Some(Self(routes))
    }

    /// Reports each owned SPI whose route differs from the captured one.
    pub fn report_changes(&self, state: &DomainState, actions: &mut dyn ActionSink) {
        for intid in state.granted.shared_intids() {
            let before = self.0[(intid - PRIVATE_COUNT) as usize];
            if state.physical_route(intid).unwrap_or(DISABLED) != before {
                actions.push(route_action(state, intid));
            }
        }
    }
}

/// `RoutePhysical` for SPI `intid` as `state` has it now (disabled: towards vCPU 0).
fn route_action(state: &DomainState, intid: u32) -> Action {
    let route = state.physical_route(intid);
    Action::RoutePhysical { intid, target: state.vcpu(route.unwrap_or(0)), enabled: route.is_some() }
}

impl DomainState {
    /// SPI `intid` is passed through to this domain from now on. If the guest already enabled
    /// it (it may run before the grant arrives), the kernel is told where to route it.
    pub(crate) fn grant(&mut self, intid: u32, actions: &mut dyn ActionSink) {
        if spi_index(intid).is_none() || self.granted.get(0, intid) {
            return;
        }
        self.granted.set(0, intid, true);
        if self.physical_route(intid).is_some() {
            actions.push(route_action(self, intid));
        }
    }

    /// SPI `intid` now belongs to another domain; this domain keeps only its virtual state.
    pub(crate) fn revoke(&mut self, intid: u32) {
        self.granted.set(0, intid, false);
    }
}
