//! The physical interrupt controller the hypervisor drives, whichever GIC version the machine has.

use crate::drivers::gic_v2::{self, GicV2};
use crate::drivers::gic_v3::{GicV3, RedistributorError};
use crate::platform::GicInfo;

/// The machine's GIC.
pub enum InterruptController {
    /// A GICv2 (memory-mapped CPU interface).
    V2(GicV2),
    /// A GICv3 (system-register CPU interface).
    V3(GicV3),
}

/// An acknowledged interrupt, to be handed back at end of interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acknowledged {
    /// The interrupt's INTID.
    pub intid: u32,
    raw: u32,
}

impl InterruptController {
    /// The driver for the GIC described by `info`.
    ///
    /// # Safety
    /// The frames in `info` must be mapped device memory, owned by the hypervisor.
    #[must_use]
    pub unsafe fn new(info: &GicInfo) -> Self {
        match *info {
            GicInfo::V2 { distributor, cpu_interface, second_page_offset, .. } => {
                // SAFETY: forwarded from the caller.
                Self::V2(unsafe {
                    GicV2::new(distributor.0 as usize, cpu_interface.0 as usize, second_page_offset as usize)
                })
            }
            GicInfo::V3 { distributor, redistributors, redistributor_region_size, .. } => {
                // SAFETY: forwarded from the caller.
                Self::V3(unsafe {
                    GicV3::new(distributor.0 as usize, redistributors.0 as usize, redistributor_region_size as usize)
                })
            }
        }
    }

    /// Architecture version, 2 or 3.
    #[must_use]
    pub const fn version(&self) -> u8 {
        match self {
            Self::V2(_) => 2,
            Self::V3(_) => 3,
        }
    }

    /// Once, on the boot CPU (whose MPIDR is `boot_mpidr`).
    pub fn init_distributor(&self, boot_mpidr: u64) {
        match self {
            Self::V2(gic) => gic.init_distributor(),
            Self::V3(gic) => gic.init_distributor(boot_mpidr),
        }
    }

    /// On each CPU, with its MPIDR.
    pub fn init_this_cpu(&self, mpidr: u64) -> Result<(), RedistributorError> {
        match self {
            Self::V2(gic) => {
                gic.init_cpu_interface();
                Ok(())
            }
            Self::V3(gic) => {
                gic.init_redistributor(mpidr)?;
                #[cfg(target_arch = "aarch64")]
                crate::arch::aarch64::gic_v3_cpu_interface::init();
                Ok(())
            }
        }
    }

    /// Enables `intid` (SGIs and PPIs for the calling CPU, whose MPIDR is `mpidr`).
    pub fn enable(&self, intid: u32, mpidr: u64) -> Result<(), RedistributorError> {
        match self {
            Self::V2(gic) => {
                gic.enable(intid);
                Ok(())
            }
            Self::V3(gic) => gic.enable(intid, mpidr),
        }
    }

    /// How to reach the calling CPU with an SGI: its CPU interface mask (GICv2) or its MPIDR.
    #[must_use]
    pub fn sgi_target_of_this_cpu(&self, mpidr: u64) -> u64 {
        match self {
            Self::V2(gic) => u64::from(gic.own_target_mask()),
            Self::V3(_) => mpidr,
        }
    }

    /// Sends SGI `sgi` to the CPU whose `sgi_target_of_this_cpu` was `target`.
    pub fn send_sgi(&self, sgi: u32, target: u64) {
        match self {
            Self::V2(gic) => gic.send_sgi(sgi, target as u8),
            #[cfg(target_arch = "aarch64")]
            Self::V3(_) => crate::arch::aarch64::gic_v3_cpu_interface::send_sgi(sgi, target),
            #[cfg(not(target_arch = "aarch64"))]
            Self::V3(_) => {}
        }
    }

    /// Takes the highest-priority pending interrupt, if any.
    #[must_use]
    pub fn acknowledge(&self) -> Option<Acknowledged> {
        match self {
            Self::V2(gic) => gic.acknowledge().map(|raw| Acknowledged { intid: gic_v2::intid_of(raw), raw }),
            #[cfg(target_arch = "aarch64")]
            Self::V3(_) => crate::arch::aarch64::gic_v3_cpu_interface::acknowledge()
                .map(|intid| Acknowledged { intid, raw: intid }),
            #[cfg(not(target_arch = "aarch64"))]
            Self::V3(_) => None,
        }
    }

    /// Ends an interrupt the hypervisor handled itself: drops the priority and deactivates it.
    pub fn end_of_interrupt(&self, interrupt: Acknowledged) {
        self.drop_priority(interrupt);
        self.deactivate(interrupt.raw);
    }

    /// Drops the running priority only: the interrupt stays active until a guest's EOI (through a
    /// list register's hardware bit) or `deactivate` ends it.
    pub fn drop_priority(&self, interrupt: Acknowledged) {
        match self {
            Self::V2(gic) => gic.drop_priority(interrupt.raw),
            #[cfg(target_arch = "aarch64")]
            Self::V3(_) => crate::arch::aarch64::gic_v3_cpu_interface::drop_priority(interrupt.raw),
            #[cfg(not(target_arch = "aarch64"))]
            Self::V3(_) => {}
        }
    }

    /// Deactivates the interrupt `intid` (for GICv2 SGIs, with the source CPU bits).
    pub fn deactivate(&self, intid: u32) {
        match self {
            Self::V2(gic) => gic.deactivate(intid),
            #[cfg(target_arch = "aarch64")]
            Self::V3(_) => crate::arch::aarch64::gic_v3_cpu_interface::deactivate(intid),
            #[cfg(not(target_arch = "aarch64"))]
            Self::V3(_) => {}
        }
    }

    /// Disables `intid` (SGIs and PPIs for the calling CPU, whose MPIDR is `mpidr`).
    pub fn disable(&self, intid: u32, mpidr: u64) -> Result<(), RedistributorError> {
        match self {
            Self::V2(gic) => {
                gic.disable(intid);
                Ok(())
            }
            Self::V3(gic) => gic.disable(intid, mpidr),
        }
    }

    /// Whether private interrupt `intid` of the calling CPU is active.
    #[must_use]
    pub fn is_active(&self, intid: u32, mpidr: u64) -> bool {
        match self {
            Self::V2(gic) => gic.is_active(intid),
            Self::V3(gic) => gic.is_active(intid, mpidr).unwrap_or(false),
        }
    }

    /// Sets or clears the active state of private interrupt `intid` of the calling CPU.
    pub fn set_active(&self, intid: u32, mpidr: u64, active: bool) {
        match self {
            Self::V2(gic) => gic.set_active(intid, active),
            Self::V3(gic) => {
                // A CPU without a redistributor never got this far.
                let _ = gic.set_active(intid, mpidr, active);
            }
        }
    }

    /// Routes SPI `intid` to the CPU whose `sgi_target_of_this_cpu` is `target`.
    pub fn route(&self, intid: u32, target: u64) {
        match self {
            Self::V2(gic) => gic.route(intid, target as u8),
            Self::V3(gic) => gic.route(intid, target),
        }
    }
}
