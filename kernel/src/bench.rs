//! Hooks for `cargo xtask bench` (cargo feature `bench`; never part of a normal build): every CPU
//! records the physical counter when it starts and when it stops idling, and a guest reads these
//! records with a load from [`PROBE_BASE`], a guest physical address where nothing is mapped.
//!
//! Such a load would otherwise become an injected external abort, so answering it here costs no
//! path a benchmark measures. The records cost a counter read and a store on each side of the
//! idle WFI; the wake-up benchmark starts at the second read, the suspend benchmark ends at the
//! first.

use core::sync::atomic::{AtomicU64, Ordering};

use aarch64_cpu::registers::ESR_EL2;
use tock_registers::interfaces::Readable;

use crate::arch::aarch64::cpu;
use crate::platform::MAX_CPUS;
use crate::trap::{self, Trap};
use crate::vcpu_context::GuestRegisters;

/// Guest physical address of the probe: a 64-bit load from offset 0 reads the physical counter
/// at which the caller's CPU last started idling, one from offset 8 when it last stopped.
pub const PROBE_BASE: u64 = 0x0BE0_0000;

/// Bytes of the probe.
const PROBE_SIZE: u64 = 16;

/// Per CPU, the physical counter just before its last idle WFI.
static IDLE_STARTED: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Per CPU, the physical counter just after its last idle WFI returned.
static IDLE_ENDED: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The physical counter. Not reordered with memory accesses, so the records are taken exactly
/// where the hooks are called.
fn physical_count() -> u64 {
    let value;
    // SAFETY: reading CNTPCT_EL0 at EL2 has no side effect.
    unsafe { core::arch::asm!("mrs {}, cntpct_el0", out(reg) value, options(nostack)) };
    value
}

/// Called right before the calling CPU's idle WFI.
pub fn idle_starts() {
    let record = &IDLE_STARTED[cpu::index() % MAX_CPUS];
    record.store(physical_count(), Ordering::Relaxed);
}

/// Called right after the calling CPU's idle WFI returned.
pub fn idle_ends() {
    let now = physical_count();
    IDLE_ENDED[cpu::index() % MAX_CPUS].store(now, Ordering::Relaxed);
}

/// Answers a guest load from the probe (the data abort being handled, at `fault_address`) with
/// the calling CPU's record and steps over it; returns `false` for every other access, which the
/// caller handles as before.
pub fn answer_probe(fault_address: u64, registers: &mut GuestRegisters) -> bool {
    let offset = fault_address.wrapping_sub(PROBE_BASE);
    if offset >= PROBE_SIZE {
        return false;
    }
    let Trap::DataAbort { access: Some(access), .. } = trap::decode(ESR_EL2.get()) else { return false };
    if access.is_write {
        return false;
    }
    let records = if offset < 8 { &IDLE_STARTED } else { &IDLE_ENDED };
    let value = records[cpu::index() % MAX_CPUS].load(Ordering::Relaxed);
    // Register 31 is XZR for a load: the value is dropped.
    if let Some(register) = registers.x.get_mut(access.register as usize) {
        *register = access.loaded_value(value);
    }
    registers.pc += 4;
    true
}
