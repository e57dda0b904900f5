//! Per-CPU data reached through TPIDR_EL2, including what the guest-exit assembly needs: where
//! to save the running vCPU's registers and where this CPU's stack starts.

use core::ptr::{addr_of, addr_of_mut};

use aarch64_cpu::registers::TPIDR_EL2;
use tock_registers::interfaces::{Readable, Writeable};

use super::boot_entry::{STACK_SIZE, stacks_base};
use crate::platform::MAX_CPUS;
use crate::vcpu_context::GuestRegisters;

/// Per-CPU data. The first two fields are read by assembly at fixed offsets.
#[derive(Debug)]
#[repr(C)]
pub struct PerCpu {
    /// Registers of the vCPU this CPU runs (offset 0); null while it runs none.
    pub current_registers: *mut GuestRegisters,
    /// Top of this CPU's stack (offset 8).
    pub stack_top: u64,
    /// Logical CPU index.
    pub index: usize,
}

const EMPTY: PerCpu = PerCpu { current_registers: core::ptr::null_mut(), stack_top: 0, index: 0 };
static mut PER_CPU: [PerCpu; MAX_CPUS] = [EMPTY; MAX_CPUS];

/// Sets up the calling CPU's data as CPU `index` and points TPIDR_EL2 at it.
pub fn init(index: usize) {
    assert!(index < MAX_CPUS, "CPU index {index} out of range");
    // SAFETY: each CPU initialises only its own entry, once, before anything reads it.
    let entry = unsafe { &mut *addr_of_mut!(PER_CPU[index]) };
    entry.index = index;
    entry.stack_top = stacks_base() + ((index + 1) * STACK_SIZE) as u64;
    entry.current_registers = core::ptr::null_mut();
    TPIDR_EL2.set(core::ptr::from_mut(entry) as u64);
    plant_canary(index);
}

/// A value kept in the lowest word of every CPU's stack; a stack that grows into it overflowed.
const STACK_CANARY: u64 = 0x5EED_5EED_DEAD_BEEF;

/// Writes the canary at the bottom of CPU `index`'s stack.
fn plant_canary(index: usize) {
    let bottom = stacks_base() + (index * STACK_SIZE) as u64;
    // SAFETY: the lowest word of this CPU's own stack area; the stack grows down from its top
    // and is far from it now.
    unsafe { core::ptr::write_volatile(bottom as *mut u64, STACK_CANARY) };
}

/// Whether the calling CPU's stack has stayed above its lowest word so far.
#[must_use]
pub fn stack_intact() -> bool {
    let bottom = stacks_base() + (index() * STACK_SIZE) as u64;
    // SAFETY: reading the lowest word of this CPU's stack area.
    unsafe { core::ptr::read_volatile(bottom as *const u64) == STACK_CANARY }
}

/// The calling CPU's data, or `None` before `init`.
fn this_cpu() -> Option<*mut PerCpu> {
    let address = TPIDR_EL2.get();
    // Only the address range of the array is compared, nothing is read.
    let first = addr_of!(PER_CPU) as u64;
    let end = first + core::mem::size_of::<[PerCpu; MAX_CPUS]>() as u64;
    (first..end).contains(&address).then_some(address as *mut PerCpu)
}

/// The calling CPU's logical index (0 before `init`).
#[must_use]
pub fn index() -> usize {
    // SAFETY: `this_cpu` only returns pointers into PER_CPU; the index field is written once
    // by `init` on this same CPU.
    this_cpu().map_or(0, |entry| unsafe { (*entry).index })
}

/// Makes `registers` the place the next guest exit on this CPU saves to and the next entry
/// restores from.
pub fn set_current_registers(registers: *mut GuestRegisters) {
    if let Some(entry) = this_cpu() {
        // SAFETY: only this CPU touches its own entry.
        unsafe { (*entry).current_registers = registers };
    }
}
