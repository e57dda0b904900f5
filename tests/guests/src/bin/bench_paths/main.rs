//! `bench-paths`: the benchmark guest of `cargo xtask bench` (2 vCPUs on one physical CPU, see
//! `tests/domains/bench-paths.toml`). It times the hypervisor's hot paths with counter reads,
//! which QEMU's `-icount shift=0` and a 1 GHz counter make instruction-exact, and prints one line
//! per path: `BENCH <path> <instructions> <iterations> min=<m> max=<n>` (the median over the
//! iterations, the cost of an empty measurement already subtracted; see `timing`).
//!
//! In order: `reset-to-guest` (the physical counter at the guest's first instruction, QEMU's reset
//! being counter 0), `null-hvc`, `psci-version`, `trapped-register`, `gicd-read`, `gicd-write`,
//! `virtual-timer-raw`, `virtual-ipi` (vCPU 1 started for it and powered off after), then
//! `system-suspend` and `resume`, and `TEST PASS bench-paths`.
//!
//! The iteration count comes from the command line (`iterations=<n>`, 1..=4096, default 1000).
//! Started by QEMU itself at EL1 (no EL2 implemented, no device tree), the guest measures only
//! `virtual-timer-raw`, the bare-metal cost `cargo xtask bench` subtracts from the hypervisor's.

#![no_std]
#![no_main]

mod calls;
mod distributor;
mod interrupt_timestamps;
mod ipi;
#[path = "../psci_support/mod.rs"]
mod psci_support;
mod suspend;
mod timer_interrupt;

use core::arch::asm;

use somnus_test_guests::aarch64_cpu::registers::{ID_AA64PFR0_EL1, Readable};
use somnus_test_guests::timing::{MAX_SAMPLES, Series, Statistics, measure};
use somnus_test_guests::{device_tree, entry, gic, println, report, start};

entry!("bench-paths", main);

/// Iterations per path without `iterations=` on the command line.
const DEFAULT_ITERATIONS: usize = 1000;

/// The series every path but suspend and resume uses in turn.
const SERIES: Series = Series::new(0);

/// The iteration count from `iterations=<n>` on the command line, else the default.
fn iterations(device_tree_address: u64) -> usize {
    let value = device_tree::parse(device_tree_address)
        .as_ref()
        .and_then(device_tree::bootargs)
        .and_then(|arguments| device_tree::command_line_value(arguments, "iterations"))
        .map(|value| (value, value.parse::<usize>()));
    match value {
        None => DEFAULT_ITERATIONS,
        Some((_, Ok(count))) if (1..=MAX_SAMPLES).contains(&count) => count,
        Some((text, _)) => {
            println!("bench-paths: ignoring iterations={text} (1..={MAX_SAMPLES} expected)");
            DEFAULT_ITERATIONS
        }
    }
}

/// ID_AA64PFR0_EL1.EL2, bits 11:8: 0 when EL2 is not implemented.
const EL2_FIELD: u64 = 0xF << 8;

/// Whether EL2 is implemented: the guest runs under a hypervisor, not started by QEMU itself at
/// EL1.
fn under_hypervisor() -> bool {
    ID_AA64PFR0_EL1.get() & EL2_FIELD != 0
}

/// Two counter reads back to back: what every measurement costs besides its path.
fn empty_measurement() -> u64 {
    let (start, end): (u64, u64);
    // SAFETY: reading the counter has no side effect.
    unsafe {
        asm!(
            "mrs {start}, cntpct_el0",
            "mrs {end}, cntpct_el0",
            start = out(reg) start,
            end = out(reg) end,
            options(nomem, nostack),
        );
    }
    end - start
}

fn main(device_tree_address: u64) -> ! {
    let reset_to_guest = start::entry_count();
    let iterations = iterations(device_tree_address);
    let hypervisor = under_hypervisor();
    let detection = gic::init(device_tree_address);
    let empty = measure(SERIES, iterations, empty_measurement).median;
    let setting = if hypervisor { "under a hypervisor" } else { "bare metal (no EL2)" };
    println!("bench-paths: {detection}, {setting}, {iterations} iterations, an empty measurement costs {empty}");
    if !hypervisor {
        timer_interrupt::run(SERIES, iterations);
        report::pass();
    }
    Statistics { median: reset_to_guest, minimum: reset_to_guest, maximum: reset_to_guest, count: 1 }
        .report("reset-to-guest");
    calls::run(SERIES, iterations, empty);
    distributor::run(SERIES, iterations, empty);
    timer_interrupt::run(SERIES, iterations);
    ipi::run(SERIES, iterations, empty);
    suspend::run(iterations, empty)
}
