//! `heartbeat`: prints `heartbeat <n>` every 100 ms of counter time, forever, by busy-waiting.
//!
//! It never reports a result: a test running it next to another domain checks that the beats keep
//! coming. When the vCPU falls more than one period behind (it was not scheduled), the next beat is
//! rescheduled from now rather than printed in a burst.

#![no_std]
#![no_main]

use somnus_test_guests::{counter, entry, println};

entry!("heartbeat", main);

/// Time between beats, in microseconds.
const PERIOD_MICROS: u64 = 100_000;

fn main(_device_tree: u64) -> ! {
    let period = counter::ticks_from_micros(PERIOD_MICROS);
    println!("heartbeat: every {} ms, counter at {} Hz", PERIOD_MICROS / 1000, counter::frequency());
    let mut next = counter::now() + period;
    let mut beat: u64 = 0;
    loop {
        counter::wait_until(next);
        println!("heartbeat {beat}");
        beat += 1;
        next += period;
        let now = counter::now();
        if now > next {
            next = now + period;
        }
    }
}
