//! Trapped GIC distributor accesses, emulated by the vGIC service: a 32-bit read and a 32-bit
//! write of GICD_IPRIORITYR8 (the priorities of SPIs 32..=35, which stay disabled), the register
//! Linux writes most while it sets up interrupts. The write stores the value just read.

use core::arch::asm;

use somnus_test_guests::gic::DISTRIBUTOR_BASE;
use somnus_test_guests::timing::{Series, measure};

/// GICD_IPRIORITYR8: byte n holds the priority of INTID 32 + n.
const PRIORITY_REGISTER: usize = DISTRIBUTOR_BASE + 0x400 + 32;

/// One load from the register: counter ticks around it and the value read.
fn timed_read() -> (u64, u32) {
    let (start, end, value): (u64, u64, u32);
    // SAFETY: GICD_IPRIORITYR8 is a register of the guest platform's distributor (device memory);
    // reading it has no side effect.
    unsafe {
        asm!(
            "mrs {start}, cntpct_el0",
            "ldr {value:w}, [{address}]",
            "mrs {end}, cntpct_el0",
            start = out(reg) start,
            end = out(reg) end,
            value = out(reg) value,
            address = in(reg) PRIORITY_REGISTER,
            options(nostack),
        );
    }
    (end - start, value)
}

/// One store of `value` to the register: counter ticks around it.
fn timed_write(value: u32) -> u64 {
    let (start, end): (u64, u64);
    // SAFETY: as in `timed_read`; writing back the priorities read leaves them unchanged.
    unsafe {
        asm!(
            "mrs {start}, cntpct_el0",
            "str {value:w}, [{address}]",
            "mrs {end}, cntpct_el0",
            start = out(reg) start,
            end = out(reg) end,
            value = in(reg) value,
            address = in(reg) PRIORITY_REGISTER,
            options(nostack),
        );
    }
    end - start
}

/// Measures and reports `gicd-read` and `gicd-write`.
pub fn run(series: Series, iterations: usize, empty: u64) {
    let mut priorities = 0;
    let statistics = measure(series, iterations, || {
        let (ticks, value) = timed_read();
        priorities = value;
        ticks
    });
    statistics.less(empty).report("gicd-read");
    let statistics = measure(series, iterations, || timed_write(priorities));
    statistics.less(empty).report("gicd-write");
}
