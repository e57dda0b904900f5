//! `rtc-probe`: runs beside the domain that owns the machine's PL031 (`devices = ["rtc"]`), or
//! alone, and must find its *own* virtual PL031 at 0x0901_0000: the PrimeCell ID registers read
//! as a PL031's, a value loaded into RTCLR reads back from RTCDR (the owner's clock, which shows
//! the real date, is untouched), the owner's alarm interrupt never arrives here during a 4.5 s
//! watch with INTID 34 enabled and routed to this vCPU, and then its own alarm, armed 2 s ahead,
//! arrives exactly once with RTCMIS set. It passes only if all of this holds.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::{counter, cpu, entry, fail, interrupts, pl031, println, report};

entry!("rtc-probe", main);

/// How long to watch for the owner's RTC interrupt, in microseconds.
const WATCH_MICROS: u64 = 4_500_000;

/// The longest wait for this domain's own alarm, in microseconds.
const ALARM_WAIT_MICROS: u64 = 4_000_000;

/// What this domain loads into its clock.
const LOADED_SECONDS: u32 = 1_000;

/// Times INTID 34 arrived here.
static RTC_INTERRUPTS: AtomicU64 = AtomicU64::new(0);
/// Times it arrived with RTCMIS set (this domain's own alarm).
static OWN_ALARMS: AtomicU64 = AtomicU64::new(0);

fn rtc_interrupt(_interrupt: Acknowledged) {
    RTC_INTERRUPTS.fetch_add(1, Ordering::AcqRel);
    if pl031::alarm_pending() {
        OWN_ALARMS.fetch_add(1, Ordering::AcqRel);
        pl031::clear_alarm();
    } else {
        // Not its own device's doing: keep it from repeating.
        gic::disable(pl031::INTID);
    }
}

/// Microseconds since counter value `start`.
fn elapsed_micros(start: u64) -> u64 {
    counter::micros_from_ticks(counter::now() - start)
}

fn main(device_tree: u64) -> ! {
    let detection = gic::init(device_tree);
    println!("rtc-probe: {detection}");
    let identification = pl031::identification();
    println!("rtc-probe: PL031 identification {identification:#010x}");
    if identification != pl031::PL031_IDENTIFICATION {
        fail!("no PL031 at {:#x}", pl031::PL031_BASE);
    }
    let before = pl031::seconds();
    pl031::load(LOADED_SECONDS);
    let after = pl031::seconds();
    println!("rtc-probe: clock read {before}, then {after} after loading {LOADED_SECONDS}");
    if !(LOADED_SECONDS..=LOADED_SECONDS + 1).contains(&after) {
        fail!("the clock did not take the loaded value");
    }

    interrupts::set_handler(pl031::INTID, Some(rtc_interrupt));
    gic::route_spi(pl031::INTID, 0);
    gic::enable(pl031::INTID);
    println!("rtc-probe: INTID {} enabled here, watching for {} ms", pl031::INTID, WATCH_MICROS / 1000);
    cpu::unmask_interrupts();
    counter::delay_micros(WATCH_MICROS);
    let foreign = RTC_INTERRUPTS.load(Ordering::Acquire);
    println!("rtc-probe: INTID {} arrived {foreign} times in {} ms", pl031::INTID, WATCH_MICROS / 1000);
    if foreign != 0 {
        cpu::mask_interrupts();
        fail!("an RTC interrupt reached a domain that did not arm its RTC");
    }

    gic::enable(pl031::INTID);
    let armed_at = counter::now();
    pl031::arm_alarm(pl031::seconds() + 2);
    while OWN_ALARMS.load(Ordering::Acquire) == 0 && elapsed_micros(armed_at) < ALARM_WAIT_MICROS {
        core::hint::spin_loop();
    }
    counter::delay_micros(200_000);
    cpu::mask_interrupts();
    let (own, all) = (OWN_ALARMS.load(Ordering::Acquire), RTC_INTERRUPTS.load(Ordering::Acquire));
    println!(
        "rtc-probe: own alarm arrived {own} times ({all} interrupts) after {} ms",
        (elapsed_micros(armed_at)) / 1000
    );
    if own != 1 || all != 1 {
        fail!("its own alarm must arrive exactly once");
    }
    report::pass()
}
