//! Bringing the GIC to a known state, as Linux's GIC drivers do: the distributor once, then each vCPU's
//! own part (GICv2: its banked GICD registers and GICC; GICv3: its redistributor and ICC registers).
//!
//! Both may be run again at any time to undo whatever the guest wrote to its GIC before.

use aarch64_cpu::asm::barrier;
use tock_registers::interfaces::{Readable, Writeable};

use super::distributor::{self, DistributorRegisters};
use super::system_registers::{ICC_BPR1_EL1, ICC_CTLR_EL1, ICC_IGRPEN1_EL1, ICC_PMR_EL1, ICC_SRE_EL1};
use super::{FIRST_SPI, LINES, SGI_COUNT, Version, affinity, cpu_interface, redistributor, version};
use crate::cpu;

/// Priority every interrupt gets at initialisation (Linux's default).
pub const DEFAULT_PRIORITY: u8 = 0xA0;

/// Priority mask of every vCPU: interrupts with a priority value below it are signalled.
pub const PRIORITY_MASK: u8 = 0xF0;

/// GICD_CTLR bit 0: forward group 0 interrupts (GICv2 without security extensions).
const ENABLE_GROUP0: u32 = 1 << 0;

/// GICD_CTLR bit 1 (GICv3): forward group 1 interrupts (EnableGrp1, or EnableGrp1A seen non-secure).
const ENABLE_GROUP1: u32 = 1 << 1;

/// GICD_CTLR bit 4 (GICv3): affinity routing (ARE, or ARE_NS seen non-secure).
const AFFINITY_ROUTING: u32 = 1 << 4;

/// Groups of a block of 32 INTIDs: all group 0 on GICv2, all group 1 on GICv3.
fn group_bits(version: Version) -> u32 {
    match version {
        Version::V2 => 0,
        Version::V3 => u32::MAX,
    }
}

/// Resets every SPI block of `registers` and makes SPIs level-sensitive.
fn reset_spis(registers: &DistributorRegisters, version: Version, lines: u32) {
    for index in (FIRST_SPI / 32) as usize..lines.div_ceil(32) as usize {
        distributor::reset_block(registers, index, group_bits(version), DEFAULT_PRIORITY);
        if version == Version::V3 {
            registers.group_modifier[index].set(0);
        }
    }
    for index in (FIRST_SPI / 16) as usize..lines.div_ceil(16) as usize {
        registers.configuration[index].set(0);
    }
}

/// Initialises the distributor: all SPIs disabled, inactive, not pending, level-sensitive, at
/// [`DEFAULT_PRIORITY`], routed to this vCPU; then forwarding enabled. Call once, on one vCPU, after
/// [`detect`](super::detect).
pub fn init_distributor() {
    let version = version();
    let registers = distributor::registers();
    let lines = distributor::interrupt_lines();
    LINES.store(lines, core::sync::atomic::Ordering::Release);
    let own = cpu::index();
    match version {
        Version::V2 => {
            registers.control.set(0);
            cpu_interface::record_interface_mask(own, registers.targets[0].get());
            reset_spis(registers, version, lines);
            let mask = cpu_interface::interface_mask(own);
            for intid in FIRST_SPI..lines {
                registers.targets[intid as usize].set(mask);
            }
            registers.control.set(ENABLE_GROUP0);
        }
        Version::V3 => {
            // ARE stays set: clearing it once set is not allowed.
            registers.control.set(AFFINITY_ROUTING);
            distributor::wait_for_register_write();
            reset_spis(registers, version, lines);
            distributor::wait_for_register_write();
            let routers = distributor::routers();
            for intid in FIRST_SPI..lines {
                routers.route[intid as usize].set(affinity(own));
            }
            registers.control.set(AFFINITY_ROUTING | ENABLE_GROUP1);
            distributor::wait_for_register_write();
        }
    }
}

/// Initialises this vCPU's part of the GIC: SGIs and PPIs disabled, inactive, not pending, at
/// [`DEFAULT_PRIORITY`], PPIs level-sensitive; CPU interface at priority mask [`PRIORITY_MASK`] with
/// its group enabled (GICv2: GICC_CTLR EnableGrp0; GICv3: redistributor woken with LPIs off, ICC_SRE_EL1.SRE,
/// ICC_PMR_EL1, ICC_IGRPEN1_EL1). Call on every vCPU after [`init_distributor`] ran on one.
pub fn init_cpu() {
    let version = version();
    let own = cpu::index();
    match version {
        Version::V2 => {
            let registers = distributor::registers();
            cpu_interface::record_interface_mask(own, registers.targets[0].get());
            distributor::reset_block(registers, 0, group_bits(version), DEFAULT_PRIORITY);
            for sgi in 0..SGI_COUNT as usize {
                registers.clear_pending_sgi[sgi].set(0xFF);
            }
            registers.configuration[1].set(0);
            cpu_interface::init(PRIORITY_MASK);
        }
        Version::V3 => {
            let base = redistributor::find_own();
            redistributor::wake(base);
            redistributor::disable_lpis(base);
            let registers = redistributor::sgi_frame(own);
            distributor::reset_block(registers, 0, group_bits(version), DEFAULT_PRIORITY);
            registers.group_modifier[0].set(0);
            registers.configuration[1].set(0);
            redistributor::wait_for_register_write(own);
            ICC_SRE_EL1.set(ICC_SRE_EL1.get() | 1);
            barrier::isb(barrier::SY);
            ICC_PMR_EL1.set(u64::from(PRIORITY_MASK));
            ICC_BPR1_EL1.set(0);
            ICC_CTLR_EL1.set(0);
            ICC_IGRPEN1_EL1.set(1);
            barrier::isb(barrier::SY);
        }
    }
}
