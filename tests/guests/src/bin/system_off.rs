//! `system-off`: PSCI SYSTEM_OFF turns the whole domain off, every vCPU of it. Needs 2 vCPUs.
//!
//! vCPU 0 starts vCPU 1, which prints `system-off: vCPU 1 tick <n>` every 20 ms. After three ticks
//! vCPU 0 asks vCPU 1 to stop printing (so no line of it can race the call), prints
//! `system-off: calling SYSTEM_OFF with vCPU 1 running` and calls SYSTEM_OFF over SMC. vCPU 1 keeps
//! running: it spins, or, with `vcpu1=calls` on the command line, calls AFFINITY_INFO back to back
//! (so that SYSTEM_OFF may find it trapping into the hypervisor). 50 ms after the call it would
//! print `system-off: vCPU 1 still running after SYSTEM_OFF`, and vCPU 0 would report `TEST FAIL`
//! if the call returned. The test checks that the
//! domain prints nothing after the call while another domain keeps running.

#![no_std]
#![no_main]

#[path = "psci_support/mod.rs"]
mod psci_support;

use core::sync::atomic::{AtomicU64, Ordering};

use psci_support::{SUCCESS, affinity, code_name};
use somnus_test_guests::conduit::Conduit;
use somnus_test_guests::smccc::psci;
use somnus_test_guests::start::{set_warm_handler, warm_entry_address};
use somnus_test_guests::{counter, device_tree, entry, fail, println};

entry!("system-off", main);

const CTX_TICKER: u64 = 0x5053_4F46_0000_0001;
const TICK_MICROS: u64 = 20_000;
const TICKS_BEFORE_OFF: u64 = 3;
const GRACE_MICROS: u64 = 50_000;

static TICKS: AtomicU64 = AtomicU64::new(0);
/// vCPU 0 wants vCPU 1 to stop printing (1), vCPU 1 stopped (2).
static QUIET: AtomicU64 = AtomicU64::new(0);
/// vCPU 1 calls into the hypervisor while it waits (`vcpu1=calls`).
static CALLS: AtomicU64 = AtomicU64::new(0);
/// Counter value just before vCPU 0's SYSTEM_OFF (0: not yet).
static OFF_AT: AtomicU64 = AtomicU64::new(0);

fn ticker(context_id: u64) -> ! {
    if context_id != CTX_TICKER {
        fail!("vCPU 1 started with context id {context_id:#x}");
    }
    let mut next = counter::now();
    while QUIET.load(Ordering::Acquire) == 0 {
        if counter::now() >= next {
            let tick = TICKS.load(Ordering::Relaxed);
            println!("system-off: vCPU 1 tick {tick}");
            TICKS.store(tick + 1, Ordering::Release);
            next += counter::ticks_from_micros(TICK_MICROS);
        }
    }
    QUIET.store(2, Ordering::Release);
    let calls = CALLS.load(Ordering::Acquire) != 0;
    loop {
        if calls {
            let _ = affinity(0);
        }
        let off_at = OFF_AT.load(Ordering::Acquire);
        if off_at != 0 && counter::now() > off_at + counter::ticks_from_micros(GRACE_MICROS) {
            println!("system-off: vCPU 1 still running after SYSTEM_OFF");
            counter::delay_micros(GRACE_MICROS);
        }
    }
}

fn main(device_tree_address: u64) -> ! {
    let tree = device_tree::parse(device_tree_address);
    let calls = tree
        .as_ref()
        .and_then(device_tree::bootargs)
        .and_then(|arguments| device_tree::command_line_value(arguments, "vcpu1"))
        == Some("calls");
    CALLS.store(u64::from(calls), Ordering::Release);
    set_warm_handler(ticker);
    let result = psci_support::cpu_on_at(Conduit::Hvc, 1, warm_entry_address(), CTX_TICKER);
    if result != SUCCESS {
        fail!("CPU_ON(1) returned {result:#x} ({})", code_name(result));
    }
    if !psci_support::wait_until(2_000_000, || TICKS.load(Ordering::Acquire) >= TICKS_BEFORE_OFF) {
        fail!("vCPU 1 did not tick {TICKS_BEFORE_OFF} times");
    }
    QUIET.store(1, Ordering::Release);
    if !psci_support::wait_until(1_000_000, || QUIET.load(Ordering::Acquire) == 2) {
        fail!("vCPU 1 did not stop printing");
    }
    println!("system-off: calling SYSTEM_OFF with vCPU 1 running");
    OFF_AT.store(counter::now(), Ordering::Release);
    let result = psci_support::call(Conduit::Smc, psci::PSCI_SYSTEM_OFF, &[]);
    fail!("SYSTEM_OFF returned {result:#x} ({})", code_name(result))
}
