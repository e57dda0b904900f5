//! `cpu-on`: starts vCPU 1 with PSCI CPU_ON over HVC and checks it enters the runtime's warm entry with
//! its own stack, affinity 1 and the context id it was given (needs a guest with at least 2 vCPUs).
//!
//! This exercises the runtime's secondary-vCPU path that later PSCI guests build on.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use somnus_test_guests::conduit::Conduit;
use somnus_test_guests::{counter, cpu, entry, fail, println, psci, report, start};

entry!("cpu-on", main);

const CONTEXT_ID: u64 = 0x5eed_c0de_0000_0001;
const TARGET: u64 = 1;
/// Value of [`SEEN_CONTEXT_ID`] until vCPU 1 reports.
const NOT_YET: u64 = 0;
/// How long vCPU 0 waits for vCPU 1, in microseconds.
const TIMEOUT_MICROS: u64 = 1_000_000;

/// Context id vCPU 1 received, written once it runs.
static SEEN_CONTEXT_ID: AtomicU64 = AtomicU64::new(NOT_YET);

fn secondary(context_id: u64) -> ! {
    let stack_marker = 0u8;
    println!(
        "cpu-on: vCPU {} (MPIDR {:#x}) up with context id {context_id:#x}, stack near {:#x}",
        cpu::index(),
        cpu::mpidr(),
        &raw const stack_marker as u64
    );
    if cpu::index() as u64 != TARGET {
        fail!("warm entry ran on vCPU {} instead of {TARGET}", cpu::index());
    }
    SEEN_CONTEXT_ID.store(context_id, Ordering::Release);
    let error = psci::cpu_off(Conduit::Hvc);
    fail!("CPU_OFF returned {error:#x}")
}

fn main(_device_tree: u64) -> ! {
    start::set_warm_handler(secondary);
    let result = psci::cpu_on(Conduit::Hvc, TARGET, CONTEXT_ID);
    println!("cpu-on: CPU_ON({TARGET}) -> {result:#x}");
    if result != 0 {
        fail!("CPU_ON returned {result:#x}");
    }
    let deadline = counter::now() + counter::ticks_from_micros(TIMEOUT_MICROS);
    let seen = loop {
        let seen = SEEN_CONTEXT_ID.load(Ordering::Acquire);
        if seen != NOT_YET {
            break seen;
        }
        if counter::now() > deadline {
            fail!("vCPU {TARGET} did not run within {} ms", TIMEOUT_MICROS / 1000);
        }
    };
    if seen != CONTEXT_ID {
        fail!("vCPU {TARGET} got context id {seen:#x}, expected {CONTEXT_ID:#x}");
    }
    report::pass()
}
