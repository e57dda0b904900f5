//! `rtc-alarm`: sets the PL031 RTC's match register 2 s ahead (just after a seconds boundary), enables
//! its alarm interrupt and SPI 2 (INTID 34) routed to vCPU 0, waits in WFI and checks the interrupt
//! arrived with RTCMIS set after about 2 s; the handler clears it with RTCICR.
//!
//! The PL031 counts host time on QEMU and the generic timer counts virtual time, so the window is wide.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::{counter, cpu, entry, fail, interrupts, pl031, println, report};

entry!("rtc-alarm", main);

/// Seconds from the boundary until the alarm.
const ALARM_SECONDS: u32 = 2;

/// Earliest and latest accepted arrival, in milliseconds after arming.
const WINDOW_MILLIS: (u64, u64) = (1_500, 3_000);

/// How long to wait for the interrupt, in microseconds.
const TIMEOUT_MICROS: u64 = 5_000_000;

/// Value of [`ALARM_AT`] until the handler runs.
const NOT_YET: u64 = 0;

/// Counter value when the alarm handler ran.
static ALARM_AT: AtomicU64 = AtomicU64::new(NOT_YET);

/// Number of alarm interrupts taken.
static ALARMS: AtomicU64 = AtomicU64::new(0);

fn alarm(_interrupt: Acknowledged) {
    if !pl031::alarm_pending() {
        fail!("INTID {} arrived with RTCMIS clear", pl031::INTID);
    }
    pl031::clear_alarm();
    if pl031::alarm_raised() {
        fail!("RTCRIS still set after writing RTCICR");
    }
    pl031::disable_alarm();
    ALARMS.store(ALARMS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    ALARM_AT.store(counter::now().max(1), Ordering::Release);
}

fn main(device_tree: u64) -> ! {
    let detection = gic::init(device_tree);
    interrupts::set_handler(pl031::INTID, Some(alarm));
    gic::route_spi(pl031::INTID, 0);
    gic::enable(pl031::INTID);

    let boundary_timeout = counter::now() + counter::ticks_from_micros(TIMEOUT_MICROS);
    let first = pl031::seconds();
    let seconds = loop {
        let seconds = pl031::seconds();
        if seconds != first {
            break seconds;
        }
        if counter::now() > boundary_timeout {
            fail!("the RTC stayed at {first} s");
        }
    };
    let start = counter::now();
    pl031::arm_alarm(seconds + ALARM_SECONDS);
    println!("rtc-alarm: {detection}; RTC at {seconds} s, alarm at {} s", seconds + ALARM_SECONDS);

    let timeout = start + counter::ticks_from_micros(TIMEOUT_MICROS);
    cpu::unmask_interrupts();
    while ALARM_AT.load(Ordering::Acquire) == NOT_YET {
        if counter::now() > timeout {
            fail!("no alarm interrupt within {} ms (RTCRIS {})", TIMEOUT_MICROS / 1000, pl031::alarm_raised());
        }
        cpu::wait_for_interrupt();
    }
    counter::delay_micros(10_000);
    cpu::mask_interrupts();
    gic::disable(pl031::INTID);

    let millis = counter::micros_from_ticks(ALARM_AT.load(Ordering::Acquire) - start) / 1000;
    let alarms = ALARMS.load(Ordering::Relaxed);
    println!("rtc-alarm: alarm interrupt after {millis} ms at RTC {} s, RTCMIS was set, cleared", pl031::seconds());
    if alarms != 1 {
        fail!("{alarms} alarm interrupts, expected 1");
    }
    if !(WINDOW_MILLIS.0..=WINDOW_MILLIS.1).contains(&millis) {
        fail!("alarm after {millis} ms, expected {} to {} ms", WINDOW_MILLIS.0, WINDOW_MILLIS.1);
    }
    report::pass()
}
