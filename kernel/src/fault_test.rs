//! Test-only (feature `el2-fault-test`): the last CPU takes a deliberate EL2 data abort after the
//! ready line, so the integration test can check the register dump and that the others carry on.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::boot::{is_stopped, ticks_of};
use crate::println;

/// An address outside the 39-bit EL2 address space: any access to it faults.
pub const FAULT_ADDRESS: u64 = 0xDEAD_0000_0000;

static ARMED: AtomicBool = AtomicBool::new(false);
static VICTIM: AtomicU64 = AtomicU64::new(0);

/// Called by the boot CPU right after the ready line.
pub fn after_ready(cpu_count: usize) {
    let victim = cpu_count.saturating_sub(1);
    VICTIM.store(victim as u64, Ordering::Relaxed);
    ARMED.store(true, Ordering::Release);
    if victim == 0 {
        return;
    }
    while !is_stopped(victim) {
        crate::arch::aarch64::cpu::wait_for_interrupt();
    }
    let ticks_at_stop = ticks_of(0);
    while ticks_of(0) < ticks_at_stop + 20 {
        crate::arch::aarch64::cpu::wait_for_interrupt();
    }
    println!("somnus: fault-test: cpu 0 still running after cpu {victim} stopped");
}

/// Called on every tick; the victim CPU faults on its first tick after arming.
pub fn on_tick(index: usize, _count: u64) {
    if ARMED.load(Ordering::Acquire) && VICTIM.load(Ordering::Relaxed) == index as u64 {
        ARMED.store(false, Ordering::Relaxed);
        // SAFETY: deliberately unsound: the read faults, which is what this test build is for;
        // the exception handler never returns here.
        let value = unsafe { core::ptr::read_volatile(FAULT_ADDRESS as *const u64) };
        println!("somnus: fault-test: read {value:#x} without a fault");
    }
}
