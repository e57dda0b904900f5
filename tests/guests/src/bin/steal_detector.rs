//! `steal-detector`: reads the virtual counter in a tight loop for 2 s and adds up the time it lost,
//! every gap of 50 us or more between two consecutive reads (a read takes well under 1 us).
//!
//! It fails when more than 10 % of the time was lost: sharing its pCPU with another runnable vCPU
//! costs it about half (time slices of the EL2 tick), while a vCPU blocked in WFI beside it costs
//! nothing. The largest gap is printed too, but is no verdict: at a 1 kHz tick another vCPU's slice
//! is only 1 ms, and an emulator that is itself descheduled by its host leaves gaps of several ms.
//! Run it under QEMU `-icount` for counter time that does not depend on the host.

#![no_std]
#![no_main]

use somnus_test_guests::{counter, entry, fail, println, report};

entry!("steal-detector", main);

/// How long to measure, in microseconds of counter time.
const DURATION_MICROS: u64 = 2_000_000;

/// Gaps at least this long count as lost time, in microseconds.
const GAP_MICROS: u64 = 50;

/// Most time that may be lost, in microseconds (10 % of the measurement).
const LIMIT_MICROS: u64 = DURATION_MICROS / 10;

fn main(_device_tree: u64) -> ! {
    println!("steal-detector: measuring for {} ms", DURATION_MICROS / 1000);
    let gap_ticks = counter::ticks_from_micros(GAP_MICROS);
    let start = counter::now();
    let end = start + counter::ticks_from_micros(DURATION_MICROS);
    let mut previous = start;
    let (mut largest, mut lost, mut gaps) = (0, 0, 0u64);
    let mut reads: u64 = 0;
    while previous < end {
        let now = counter::now();
        let gap = now - previous;
        largest = largest.max(gap);
        if gap >= gap_ticks {
            lost += gap;
            gaps += 1;
        }
        previous = now;
        reads += 1;
    }
    let lost_micros = counter::micros_from_ticks(lost);
    println!("steal-detector: {reads} counter reads, largest gap {largest} ticks");
    println!("steal-detector: largest gap {} us", counter::micros_from_ticks(largest));
    println!("steal-detector: lost {lost_micros} us of {DURATION_MICROS} us in {gaps} gaps of {GAP_MICROS} us or more");
    if lost_micros > LIMIT_MICROS {
        fail!("lost {lost_micros} us, limit {LIMIT_MICROS} us: the vCPU was descheduled");
    }
    report::pass()
}
