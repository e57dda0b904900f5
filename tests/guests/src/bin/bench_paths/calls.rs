//! Round trips of a guest's HVC and of a trapped system register read: the null call (a function
//! ID nobody implements, answered NOT_SUPPORTED by the PSCI service, which takes every call),
//! PSCI_VERSION, and a read of CNTP_CTL_EL0, which the kernel answers itself (it reads as zero)
//! without involving any service. The difference between the null call and the register read is
//! what a message to a service and its reply cost.

use core::arch::asm;

use somnus_test_guests::fail;
use somnus_test_guests::timing::{Series, measure};

/// An SMC64 fast call of the OEM service range (owner 3) that nobody implements.
const UNASSIGNED_FUNCTION: u64 = 0xC300_FF00;

/// PSCI_VERSION.
const PSCI_VERSION: u64 = 0x8400_0000;

/// PSCI 1.1.
const VERSION_1_1: u64 = 0x0001_0001;

/// NOT_SUPPORTED as x0 holds it.
const NOT_SUPPORTED: u64 = u64::MAX;

/// Fewer instructions than this cannot have trapped to EL2.
const FEWEST_FOR_A_TRAP: u64 = 10;

/// One HVC with `function` in x0 and zero arguments: the counter ticks from the read before it
/// to the read after it, and x0 after it.
fn timed_call(function: u64) -> (u64, u64) {
    let (start, end, result): (u64, u64, u64);
    // SAFETY: an SMCCC call: x0..x17 may change (declared), every other register is preserved by
    // the hypervisor; no memory of this guest is touched.
    unsafe {
        asm!(
            "mrs {start}, cntpct_el0",
            "hvc #0",
            "mrs {end}, cntpct_el0",
            start = out(reg) start,
            end = out(reg) end,
            inout("x0") function => result,
            inout("x1") 0_u64 => _,
            inout("x2") 0_u64 => _,
            inout("x3") 0_u64 => _,
            out("x4") _, out("x5") _, out("x6") _, out("x7") _, out("x8") _, out("x9") _,
            out("x10") _, out("x11") _, out("x12") _, out("x13") _, out("x14") _, out("x15") _,
            out("x16") _, out("x17") _,
            options(nomem, nostack),
        );
    }
    (end - start, result)
}

/// One read of CNTP_CTL_EL0 (trapped: EL1 may not use the physical timer): ticks and the value.
fn timed_register_read() -> (u64, u64) {
    let (start, end, value): (u64, u64, u64);
    // SAFETY: reading a timer register has no side effect; a trapped read only returns a value.
    unsafe {
        asm!(
            "mrs {start}, cntpct_el0",
            "mrs {value}, cntp_ctl_el0",
            "mrs {end}, cntpct_el0",
            start = out(reg) start,
            end = out(reg) end,
            value = out(reg) value,
            options(nomem, nostack),
        );
    }
    (end - start, value)
}

/// Measures and reports `null-hvc`, `psci-version` and `trapped-register`.
pub fn run(series: Series, iterations: usize, empty: u64) {
    let calls = [("null-hvc", UNASSIGNED_FUNCTION, NOT_SUPPORTED), ("psci-version", PSCI_VERSION, VERSION_1_1)];
    for (path, function, expected) in calls {
        let statistics = measure(series, iterations, || {
            let (ticks, result) = timed_call(function);
            if result != expected {
                fail!("{path}: x0 = {result:#x} after the call, expected {expected:#x}");
            }
            ticks
        });
        statistics.less(empty).report(path);
    }
    let statistics = measure(series, iterations, || {
        let (ticks, value) = timed_register_read();
        if value != 0 || ticks < FEWEST_FOR_A_TRAP {
            fail!("trapped-register: CNTP_CTL_EL0 read {value:#x} in {ticks} instructions: not trapped as expected");
        }
        ticks
    });
    statistics.less(empty).report("trapped-register");
}
