//! One domain's virtual interrupt-controller state: enables, pending and active-line state,
//! groups, trigger modes, priorities and routing of every supported INTID, banked per vCPU for
//! SGIs and PPIs, plus the GICD_CTLR group enables and the GICv3 redistributors' sleep state.
//! Nothing here is shared between domains: a domain's registers can only reach its own state.

use somnus_abi::ids::{DomainId, VcpuId};

use crate::interrupt_set::{InterruptBits, InterruptBytes};
use crate::limits::{GicVersion, MAX_VCPUS, SGI_COUNT, SPI_COUNT, is_private, spi_index, vcpu_mask};

/// GICD_CTLR: forwarding of group 0 interrupts enabled.
pub(crate) const CONTROL_ENABLE_GROUP0: u32 = 1 << 0;
/// GICD_CTLR: forwarding of group 1 interrupts enabled.
pub(crate) const CONTROL_ENABLE_GROUP1: u32 = 1 << 1;
/// IROUTER bits kept: Aff2.Aff1.Aff0 (Aff3 and Interrupt_Routing_Mode are RES0: GICD_TYPER
/// reports neither A3V nor 1-of-N routing).
pub(crate) const ROUTER_AFFINITY_MASK: u32 = 0x00FF_FFFF;

/// The virtual GIC of one domain, as its guest programmed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainState {
    /// The domain and its generation.
    pub(crate) id: DomainId,
    /// The GIC version it sees.
    pub(crate) version: GicVersion,
    /// Its vCPUs (1 to 8); banked state past them is never touched.
    pub(crate) vcpu_count: u8,
    /// GICD_CTLR group enables.
    pub(crate) control: u32,
    /// Enabled by ISENABLER.
    pub(crate) enabled: InterruptBits,
    /// Pending latch, set by ISPENDR and edges, consumed when handed to the kernel; SGIs use
    /// `sgi_pending`.
    pub(crate) pending: InterruptBits,
    /// Level of lines driven by device models.
    pub(crate) line: InterruptBits,
    /// Handed to the kernel and not known to be withdrawn or ended; SGIs use `sgi_queued`.
    pub(crate) queued: InterruptBits,
    /// Group 1 (IGROUPR).
    pub(crate) group1: InterruptBits,
    /// Edge-triggered (ICFGR); SGIs always.
    pub(crate) edge: InterruptBits,
    /// SPIs passed through to this domain (only the SPI words are used).
    pub(crate) granted: InterruptBits,
    /// Priorities (IPRIORITYR), top five bits.
    pub(crate) priority: InterruptBytes,
    /// Per SPI: v2 the ITARGETSR byte (vCPU mask), v3 the IROUTER affinity.
    pub(crate) routing: [u32; SPI_COUNT as usize],
    /// Per SPI: the vCPU it was last queued for (withdrawn from there).
    pub(crate) queued_vcpu: [u8; SPI_COUNT as usize],
    /// Per target vCPU and SGI: pending source vCPUs, not yet handed to the kernel.
    pub(crate) sgi_pending: [[u8; SGI_COUNT as usize]; MAX_VCPUS],
    /// Per target vCPU and SGI: source vCPUs handed to the kernel.
    pub(crate) sgi_queued: [[u8; SGI_COUNT as usize]; MAX_VCPUS],
    /// GICR_WAKER.ProcessorSleep per redistributor.
    pub(crate) processor_sleep: u8,
}

impl DomainState {
    /// The reset state of `id` with `vcpu_count` vCPUs (at most 8).
    pub(crate) fn new(id: DomainId, version: GicVersion, vcpu_count: u8) -> Self {
        let vcpu_count = vcpu_count.min(MAX_VCPUS as u8);
        let mut edge = InterruptBits::new();
        for vcpu in 0..MAX_VCPUS as u8 {
            if let Some(word) = edge.word_mut(vcpu, 0) {
                *word = (1 << SGI_COUNT) - 1;
            }
        }
        Self {
            id,
            version,
            vcpu_count,
            control: 0,
            enabled: InterruptBits::new(),
            pending: InterruptBits::new(),
            line: InterruptBits::new(),
            queued: InterruptBits::new(),
            // Like KVM: a GICv2 guest starts with group 0, a GICv3 guest with group 1, matching
            // the group the kernel's list registers use.
            group1: match version {
                GicVersion::V2 => InterruptBits::new(),
                GicVersion::V3 => InterruptBits::all_set(),
            },
            edge,
            granted: InterruptBits::new(),
            priority: InterruptBytes::new(),
            routing: [0; SPI_COUNT as usize],
            queued_vcpu: [0; SPI_COUNT as usize],
            sgi_pending: [[0; SGI_COUNT as usize]; MAX_VCPUS],
            sgi_queued: [[0; SGI_COUNT as usize]; MAX_VCPUS],
            processor_sleep: vcpu_mask(vcpu_count) as u8,
        }
    }

    /// The domain this state belongs to.
    #[must_use]
    pub const fn id(&self) -> DomainId {
        self.id
    }

    /// Its number of vCPUs.
    #[must_use]
    pub const fn vcpu_count(&self) -> u8 {
        self.vcpu_count
    }

    /// Whether SPI `intid` is passed through to this domain.
    #[must_use]
    pub fn owns(&self, intid: u32) -> bool {
        spi_index(intid).is_some() && self.granted.get(0, intid)
    }

    /// vCPU `index` of this domain.
    pub(crate) const fn vcpu(&self, index: u8) -> VcpuId {
        VcpuId { domain: self.id, index }
    }

    /// Whether `vcpu` is one of this domain's vCPUs.
    pub(crate) const fn has_vcpu(&self, vcpu: u8) -> bool {
        vcpu < self.vcpu_count
    }

    /// Whether the distributor forwards `intid` (banked for `vcpu`): enabled, and its group
    /// enabled in GICD_CTLR.
    pub(crate) fn forwardable(&self, vcpu: u8, intid: u32) -> bool {
        let group = if self.group1.get(vcpu, intid) { CONTROL_ENABLE_GROUP1 } else { CONTROL_ENABLE_GROUP0 };
        self.enabled.get(vcpu, intid) && self.control & group != 0
    }

    /// The vCPU `intid` goes to: the bank's own vCPU for SGIs and PPIs, the routing registers'
    /// choice for SPIs; `None` if that names no vCPU of the domain.
    pub(crate) fn target_of(&self, vcpu: u8, intid: u32) -> Option<u8> {
        if is_private(intid) {
            return self.has_vcpu(vcpu).then_some(vcpu);
        }
        let routing = self.routing[spi_index(intid)?];
        match self.version {
            // A uniprocessor GICv2 sends every interrupt to its only CPU, whatever ITARGETSR says.
            GicVersion::V2 if self.vcpu_count == 1 => Some(0),
            GicVersion::V2 => {
                let targets = routing & vcpu_mask(self.vcpu_count);
                (targets != 0).then(|| targets.trailing_zeros() as u8)
            }
            GicVersion::V3 => {
                let aff0 = routing & 0xFF;
                (routing & !0xFF == 0 && aff0 < u32::from(self.vcpu_count)).then_some(aff0 as u8)
            }
        }
    }

    /// Where the physical SPI `intid` should go, if this domain owns it and would forward it
    /// now; `None` when the physical interrupt should be disabled.
    pub(crate) fn physical_route(&self, intid: u32) -> Option<u8> {
        if !self.owns(intid) || !self.forwardable(0, intid) {
            return None;
        }
        self.target_of(0, intid)
    }

    /// Whether `intid` is a level-sensitive line that a device model holds high.
    pub(crate) fn level_high(&self, vcpu: u8, intid: u32) -> bool {
        self.line.get(vcpu, intid) && !self.edge.get(vcpu, intid)
    }

    /// ISPENDR word `index` as `vcpu` reads it: latched pending, high level lines and, in word
    /// 0, SGIs with any pending source.
    pub(crate) fn pending_word(&self, vcpu: u8, index: u32) -> u32 {
        let mut word = self.pending.word(vcpu, index) | (self.line.word(vcpu, index) & !self.edge.word(vcpu, index));
        if index == 0
            && let Some(sources) = self.sgi_pending.get(usize::from(vcpu))
        {
            for (sgi, &pending) in sources.iter().enumerate() {
                if pending != 0 {
                    word |= 1 << sgi;
                }
            }
        }
        word
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: DomainId = DomainId { index: 0, generation: 1 };

    #[test]
    fn reset_state() {
        let state = DomainState::new(DOMAIN, GicVersion::V3, 4);
        assert_eq!(state.vcpu_count(), 4);
        assert_eq!(state.processor_sleep, 0b1111);
        assert!(state.group1.get(3, 27) && state.group1.get(0, 100));
        assert!(state.edge.get(2, 15) && !state.edge.get(2, 16) && !state.edge.get(0, 33));
        assert_eq!(state.target_of(0, 40), Some(0), "IROUTER resets to vCPU 0");
        let v2 = DomainState::new(DOMAIN, GicVersion::V2, 2);
        assert!(!v2.group1.get(0, 40));
        assert_eq!(v2.target_of(0, 40), None, "ITARGETSR resets to no CPU");
        assert_eq!(DomainState::new(DOMAIN, GicVersion::V2, 1).target_of(0, 40), Some(0), "uniprocessor");
        assert_eq!(DomainState::new(DOMAIN, GicVersion::V2, 200).vcpu_count(), 8);
        assert!(size_of::<DomainState>() < 2048, "{} bytes", size_of::<DomainState>());
        assert!(size_of::<crate::VgicService>() < 16 * 1024, "{}", size_of::<crate::VgicService>());
    }

    #[test]
    fn targets_stay_inside_the_domain() {
        let mut state = DomainState::new(DOMAIN, GicVersion::V2, 2);
        state.routing[0] = 0b1100;
        assert_eq!(state.target_of(0, 32), None);
        state.routing[0] = 0b1110;
        assert_eq!(state.target_of(0, 32), Some(1));
        assert_eq!(state.target_of(5, 20), None, "no such vCPU");

        let mut state = DomainState::new(DOMAIN, GicVersion::V3, 2);
        state.routing[1] = 0x0000_0101;
        assert_eq!(state.target_of(0, 33), None, "Aff1 != 0");
        state.routing[1] = 2;
        assert_eq!(state.target_of(0, 33), None);
        state.routing[1] = 1;
        assert_eq!(state.target_of(0, 33), Some(1));
    }
}
