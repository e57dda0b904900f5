//! `steal-detector`: reads the virtual counter in a tight loop for 2 s and reports the largest gap
//! between two consecutive reads.
//!
//! A gap of 2 ms or more means this vCPU lost its pCPU for that long (another vCPU ran there), so the
//! test fails. Running it beside a vCPU blocked in WFI on the same pCPU shows the blocked vCPU is not
//! scheduled.

#![no_std]
#![no_main]

use somnus_test_guests::{counter, entry, fail, println, report};

entry!("steal-detector", main);

/// How long to measure, in microseconds of counter time.
const DURATION_MICROS: u64 = 2_000_000;

/// Largest gap allowed, in microseconds.
const LIMIT_MICROS: u64 = 2_000;

fn main(_device_tree: u64) -> ! {
    println!("steal-detector: measuring for {} ms", DURATION_MICROS / 1000);
    let start = counter::now();
    let end = start + counter::ticks_from_micros(DURATION_MICROS);
    let mut previous = start;
    let mut largest = 0;
    let mut reads: u64 = 0;
    while previous < end {
        let now = counter::now();
        largest = largest.max(now - previous);
        previous = now;
        reads += 1;
    }
    let largest_micros = counter::micros_from_ticks(largest);
    println!("steal-detector: {reads} counter reads, largest gap {largest} ticks");
    println!("steal-detector: largest gap {largest_micros} us");
    if largest_micros >= LIMIT_MICROS {
        fail!("largest gap {largest_micros} us, limit {LIMIT_MICROS} us: the vCPU was descheduled");
    }
    report::pass()
}
