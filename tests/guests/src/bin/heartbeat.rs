//! `heartbeat`: prints `heartbeat <n>` every 100 ms of counter time, forever, by busy-waiting.
//!
//! The interval comes from the command line (`/chosen/bootargs`) when it holds `interval_ms=<n>`
//! with 1 <= n <= 3_600_000, e.g. `cmdline = "interval_ms=1000"` in a domain file; otherwise it
//! is 100 ms (a value out of range or not a number is named and ignored).
//!
//! It never reports a result: a test running it next to another domain checks that the beats keep
//! coming. When the vCPU falls more than one period behind (it was not scheduled), the next beat is
//! rescheduled from now rather than printed in a burst.

#![no_std]
#![no_main]

use somnus_test_guests::{counter, device_tree, entry, println};

entry!("heartbeat", main);

/// Time between beats without `interval_ms=` on the command line, in milliseconds.
const DEFAULT_INTERVAL_MILLIS: u64 = 100;

/// Longest interval accepted from the command line: one hour.
const MAX_INTERVAL_MILLIS: u64 = 3_600_000;

/// The interval the command line asks for, or the default.
fn interval_millis(device_tree_address: u64) -> u64 {
    let tree = device_tree::parse(device_tree_address);
    let Some(value) = tree
        .as_ref()
        .and_then(device_tree::bootargs)
        .and_then(|args| device_tree::command_line_value(args, "interval_ms"))
    else {
        return DEFAULT_INTERVAL_MILLIS;
    };
    match value.parse::<u64>() {
        Ok(millis) if (1..=MAX_INTERVAL_MILLIS).contains(&millis) => millis,
        _ => {
            println!("heartbeat: ignoring interval_ms={value} (1..={MAX_INTERVAL_MILLIS} expected)");
            DEFAULT_INTERVAL_MILLIS
        }
    }
}

fn main(device_tree_address: u64) -> ! {
    let millis = interval_millis(device_tree_address);
    let period = counter::ticks_from_micros(millis * 1000);
    println!("heartbeat: every {millis} ms, counter at {} Hz", counter::frequency());
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
