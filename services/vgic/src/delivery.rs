//! How an interrupt reaches a vCPU: an interrupt is handed to the kernel (`InjectInterrupt`)
//! when it is pending, enabled, its group is enabled in GICD_CTLR and it has a target vCPU, and
//! taken back (`WithdrawInterrupt`) when the guest disables it or clears its pending state.
//!
//! The model of pending state: an edge (ISPENDR, an SGI, a rising edge on an edge-triggered
//! line) sets a latch that is consumed when the interrupt is handed to the kernel; from then on
//! the pending and active states live in the kernel's queue and the list registers. A
//! level-sensitive line that a device model holds high is pending for as long as it is high: it is
//! injected with `notify_end`, and the guest's end of interrupt (`InterruptEnded`) injects it again
//! while the line is still high. Physical interrupts are injected with the hardware bit, or
//! discarded when the guest would not take them.

use somnus_abi::ipc::{Action, ActionSink};

use crate::domain_state::DomainState;
use crate::limits::{GicVersion, INTID_LIMIT, MAX_VCPUS, PRIVATE_COUNT, is_private, is_sgi, spi_index};

/// Bit position of the source vCPU in a GICv2 SGI's virtual INTID, as `InjectInterrupt` and
/// `WithdrawInterrupt` carry it: `intid | (source << SGI_SOURCE_SHIFT)`, which is GICH_LR
/// VirtualID [9:0] and CPUID [12:10].
pub const SGI_SOURCE_SHIFT: u32 = 10;

impl DomainState {
    /// Whether `intid`, banked for `vcpu` if private, is one this domain has state for.
    pub(crate) fn is_valid(&self, vcpu: u8, intid: u32) -> bool {
        if is_private(intid) { self.has_vcpu(vcpu) } else { intid < INTID_LIMIT }
    }

    /// Hands `intid` (banked for `vcpu`) to the kernel if it is pending, forwarded and has a
    /// target vCPU; otherwise it stays as it is.
    pub(crate) fn deliver_if_ready(&mut self, vcpu: u8, intid: u32, actions: &mut dyn ActionSink) {
        if !self.is_valid(vcpu, intid) || !self.forwardable(vcpu, intid) {
            return;
        }
        let Some(target) = self.target_of(vcpu, intid) else { return };
        if is_sgi(intid) {
            self.deliver_sgi(target, intid, actions);
            return;
        }
        let level_high = self.level_high(vcpu, intid);
        if self.pending.get(vcpu, intid) {
            self.pending.set(vcpu, intid, false);
        } else if !level_high || self.queued.get(vcpu, intid) {
            return;
        }
        self.inject(vcpu, intid, target, None, level_high, actions);
    }

    /// GICD_ITARGETSR or GICD_IROUTER of SPI `intid` changed: an interrupt still queued at its
    /// old target moves to the new one, as a pending interrupt follows its routing on a GIC.
    /// (One the old vCPU already took stays with it; the kernel only takes back pending ones.)
    pub(crate) fn retarget(&mut self, intid: u32, actions: &mut dyn ActionSink) {
        let Some(index) = spi_index(intid) else { return };
        let moved = self.queued.get(0, intid)
            && self.target_of(0, intid).is_some_and(|target| target != self.queued_vcpu[index]);
        if moved {
            self.withdraw(0, intid, actions);
            // A passed-through interrupt comes back from the device once it is deactivated and
            // routed anew; an emulated one is pending unless its level line says so already.
            if !self.owns(intid) && !self.level_high(0, intid) {
                self.pending.set(0, intid, true);
            }
        }
        self.deliver_if_ready(0, intid, actions);
    }

    /// Re-examines every interrupt of the domain (after GICD_CTLR enabled a group).
    pub(crate) fn deliver_all(&mut self, actions: &mut dyn ActionSink) {
        for vcpu in 0..self.vcpu_count {
            for intid in 0..PRIVATE_COUNT {
                self.deliver_if_ready(vcpu, intid, actions);
            }
        }
        for intid in PRIVATE_COUNT..INTID_LIMIT {
            self.deliver_if_ready(0, intid, actions);
        }
    }

    fn inject(
        &mut self,
        vcpu: u8,
        intid: u32,
        target: u8,
        physical: Option<u32>,
        notify_end: bool,
        actions: &mut dyn ActionSink,
    ) {
        self.queued.set(vcpu, intid, true);
        if let Some(index) = spi_index(intid) {
            self.queued_vcpu[index] = target;
        }
        let priority = self.priority.get(vcpu, intid);
        actions.push(Action::InjectInterrupt { target: self.vcpu(target), intid, priority, physical, notify_end });
    }

    /// Injects SGI `sgi` from every pending source to `target` (a vCPU of the domain). A GICv2
    /// SGI carries its source in the virtual INTID, so each source is its own injection; a GICv3
    /// SGI has no source and the sources coalesce.
    fn deliver_sgi(&mut self, target: u8, sgi: u32, actions: &mut dyn ActionSink) {
        let (bank, slot) = (usize::from(target), sgi as usize);
        let sources = core::mem::take(&mut self.sgi_pending[bank][slot]);
        if sources == 0 {
            return;
        }
        self.sgi_queued[bank][slot] |= sources;
        let priority = self.priority.get(target, sgi);
        let vcpu = self.vcpu(target);
        for intid in self.sgi_intids(sgi, sources) {
            actions.push(Action::InjectInterrupt { target: vcpu, intid, priority, physical: None, notify_end: false });
        }
    }

    /// The virtual INTIDs of SGI `sgi` from the vCPUs in `sources`: one per source for GICv2,
    /// a single one for GICv3.
    fn sgi_intids(&self, sgi: u32, sources: u8) -> impl Iterator<Item = u32> + use<> {
        let per_source = self.version == GicVersion::V2;
        (0..MAX_VCPUS as u32)
            .filter(move |&source| sources & (1 << source) != 0)
            .take(if per_source { MAX_VCPUS } else { 1 })
            .map(move |source| if per_source { sgi | (source << SGI_SOURCE_SHIFT) } else { sgi })
    }

    /// Takes back from the kernel whatever of `intid` (banked for `vcpu`) was handed to it.
    fn withdraw(&mut self, vcpu: u8, intid: u32, actions: &mut dyn ActionSink) {
        if is_sgi(intid) {
            self.withdraw_sgi_sources(vcpu, intid, u8::MAX, actions);
            return;
        }
        if !self.queued.get(vcpu, intid) {
            return;
        }
        self.queued.set(vcpu, intid, false);
        let target = spi_index(intid).map_or(vcpu, |index| self.queued_vcpu[index]);
        actions.push(Action::WithdrawInterrupt { target: self.vcpu(target), intid });
    }

    fn withdraw_sgi_sources(&mut self, target: u8, sgi: u32, sources: u8, actions: &mut dyn ActionSink) {
        if !self.has_vcpu(target) || !is_sgi(sgi) {
            return;
        }
        let queued = &mut self.sgi_queued[usize::from(target)][sgi as usize];
        let withdrawn = *queued & sources;
        *queued &= !sources;
        let vcpu = self.vcpu(target);
        for intid in self.sgi_intids(sgi, withdrawn) {
            actions.push(Action::WithdrawInterrupt { target: vcpu, intid });
        }
    }

    /// ISENABLER / ICENABLER for one INTID.
    pub(crate) fn set_enabled(&mut self, vcpu: u8, intid: u32, enabled: bool, actions: &mut dyn ActionSink) {
        if !self.is_valid(vcpu, intid) {
            return;
        }
        self.enabled.set(vcpu, intid, enabled);
        if enabled {
            self.deliver_if_ready(vcpu, intid, actions);
        } else {
            self.withdraw(vcpu, intid, actions);
        }
    }

    /// ISPENDR for one INTID (for a GICv3 SGI, pending with no particular source).
    pub(crate) fn set_pending(&mut self, vcpu: u8, intid: u32, actions: &mut dyn ActionSink) {
        if !self.is_valid(vcpu, intid) {
            return;
        }
        if is_sgi(intid) {
            self.sgi_pending[usize::from(vcpu)][intid as usize] |= 1 << vcpu;
        } else {
            self.pending.set(vcpu, intid, true);
        }
        self.deliver_if_ready(vcpu, intid, actions);
    }

    /// ICPENDR for one INTID: a level line held high stays pending.
    pub(crate) fn clear_pending(&mut self, vcpu: u8, intid: u32, actions: &mut dyn ActionSink) {
        if !self.is_valid(vcpu, intid) {
            return;
        }
        if is_sgi(intid) {
            self.sgi_pending[usize::from(vcpu)][intid as usize] = 0;
        } else {
            self.pending.set(vcpu, intid, false);
            if self.level_high(vcpu, intid) {
                return;
            }
        }
        self.withdraw(vcpu, intid, actions);
    }

    /// SGI `sgi` from vCPU `source` to vCPU `target` (GICD_SGIR, ICC_SGI1R_EL1, SPENDSGIR).
    pub(crate) fn raise_sgi(&mut self, target: u8, sgi: u32, sources: u8, actions: &mut dyn ActionSink) {
        if !self.has_vcpu(target) || !is_sgi(sgi) {
            return;
        }
        self.sgi_pending[usize::from(target)][sgi as usize] |= sources;
        self.deliver_if_ready(target, sgi, actions);
    }

    /// CPENDSGIR: clears the pending state of SGI `sgi` from `sources` at `target`.
    pub(crate) fn clear_sgi(&mut self, target: u8, sgi: u32, sources: u8, actions: &mut dyn ActionSink) {
        if !self.has_vcpu(target) || !is_sgi(sgi) {
            return;
        }
        self.sgi_pending[usize::from(target)][sgi as usize] &= !sources;
        self.withdraw_sgi_sources(target, sgi, sources, actions);
    }

    /// A device model drove the line of `intid` to `level`.
    pub(crate) fn line_changed(&mut self, vcpu: u8, intid: u32, level: bool, actions: &mut dyn ActionSink) {
        if is_sgi(intid) || !self.is_valid(vcpu, intid) {
            return;
        }
        let was_high = self.line.get(vcpu, intid);
        self.line.set(vcpu, intid, level);
        if self.edge.get(vcpu, intid) {
            if level && !was_high {
                self.pending.set(vcpu, intid, true);
                self.deliver_if_ready(vcpu, intid, actions);
            }
        } else if level {
            self.deliver_if_ready(vcpu, intid, actions);
        } else if was_high && !self.pending.get(vcpu, intid) {
            self.withdraw(vcpu, intid, actions);
        }
    }

    /// The physical interrupt `intid` fired for this domain (for a PPI, for `vcpu`): inject it
    /// with the hardware bit, or have the kernel deactivate it if the guest would not take it.
    pub(crate) fn physical_fired(&mut self, vcpu: u8, intid: u32, actions: &mut dyn ActionSink) {
        let accepted = !is_sgi(intid)
            && self.is_valid(vcpu, intid)
            && (is_private(intid) || self.owns(intid))
            && self.forwardable(vcpu, intid);
        if accepted && let Some(target) = self.target_of(vcpu, intid) {
            self.inject(vcpu, intid, target, Some(intid), false, actions);
            return;
        }
        let vcpu = is_private(intid).then(|| self.vcpu(vcpu));
        actions.push(Action::DiscardPhysical { intid, vcpu });
    }

    /// The virtual timer (or another PPI the kernel emulates) of `vcpu` expired while the vCPU
    /// was not running: inject it if the guest enabled it.
    pub(crate) fn timer_expired(&mut self, vcpu: u8, intid: u32, actions: &mut dyn ActionSink) {
        if is_sgi(intid) || !is_private(intid) || !self.is_valid(vcpu, intid) || !self.forwardable(vcpu, intid) {
            return;
        }
        self.inject(vcpu, intid, vcpu, None, false, actions);
    }

    /// `vcpu` ended `intid`, injected with `notify_end`: inject it again if its line is still
    /// high.
    pub(crate) fn interrupt_ended(&mut self, vcpu: u8, intid: u32, actions: &mut dyn ActionSink) {
        if is_sgi(intid) || !self.is_valid(vcpu, intid) {
            return;
        }
        if spi_index(intid).is_some_and(|index| self.queued_vcpu[index] != vcpu) {
            return;
        }
        self.queued.set(vcpu, intid, false);
        self.deliver_if_ready(vcpu, intid, actions);
    }
}
