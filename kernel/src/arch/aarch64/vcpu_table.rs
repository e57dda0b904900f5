//! Storage of every vCPU's saved state, by scheduler slot.
//!
//! Ownership: a slot is written by the boot CPU while it builds the vCPU's domain, before the
//! scheduler ever names that vCPU to its physical CPU (the scheduler lock publishes it);
//! afterwards only the physical CPU the vCPU is pinned to reads or writes the slot.

use core::cell::UnsafeCell;

use super::vcpu_switch::DomainRegisters;
use crate::scheduler::MAX_VCPUS;
use crate::vcpu_context::VcpuContext;

/// One vCPU's saved state.
#[derive(Debug)]
pub struct VcpuSlot {
    context: UnsafeCell<VcpuContext>,
    domain: UnsafeCell<DomainRegisters>,
}

// SAFETY: see the module documentation: a slot has one writer at a time by construction
// (the boot CPU during domain creation, then the vCPU's own physical CPU).
unsafe impl Sync for VcpuSlot {}

static SLOTS: [VcpuSlot; MAX_VCPUS] = [const {
    VcpuSlot {
        context: UnsafeCell::new(VcpuContext::RESET),
        domain: UnsafeCell::new(DomainRegisters { vttbr: 0, vmpidr: 0, counter_offset: 0 }),
    }
}; MAX_VCPUS];

/// The saved state of the vCPU in scheduler slot `slot`.
///
/// # Safety
/// The caller must be the slot's owner as the module documentation describes, and must not keep
/// two references to the same slot alive.
#[must_use]
pub unsafe fn context(slot: usize) -> &'static mut VcpuContext {
    // SAFETY: forwarded from the caller.
    unsafe { &mut *SLOTS[slot].context.get() }
}

/// The domain registers of the vCPU in scheduler slot `slot`.
///
/// # Safety
/// As for `context`.
#[must_use]
pub unsafe fn domain_registers(slot: usize) -> &'static mut DomainRegisters {
    // SAFETY: forwarded from the caller.
    unsafe { &mut *SLOTS[slot].domain.get() }
}
