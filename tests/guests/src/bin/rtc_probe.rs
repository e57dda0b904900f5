//! `rtc-probe`: run beside the domain that owns the PL031 RTC (`devices = ["rtc"]`), it must not be able
//! to reach it: reading and writing RTCDR at 0x0901_0000 and reading RTCPeriphID0 at 0x0901_0FE0 must each
//! be a synchronous external abort (ESR_EL1.EC = 0x25, DFSC = 0x10, WnR for the write, FAR = the
//! address), taken by its own handler as in `isolation`. Then it enables the RTC's INTID 34 in its own
//! GIC, routed to itself, and watches for 4.5 s with interrupts unmasked (long enough to cover the
//! owner's alarm): the owner's interrupt must never arrive here. It passes only if all of this holds.
//!
//! The write goes to RTCDR, which is read-only on a PL031, so it cannot disturb the owner even if it
//! were let through. On plain QEMU the RTC is reachable and the guest reports `TEST FAIL`.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use somnus_test_guests::exceptions::{self, EC_DATA_ABORT_SAME_EL, ExceptionFrame, Kind, Resolution};
use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::{counter, cpu, entry, fail, interrupts, pl031, println, report};

entry!("rtc-probe", main);

/// RTCDR, the PL031's data register (read-only: writes are ignored by the device).
const RTC_DATA: u64 = pl031::PL031_BASE as u64;

/// RTCPeriphID0, the first identification register (reads 0x31 on a PL031).
const RTC_PERIPHERAL_ID0: u64 = pl031::PL031_BASE as u64 + 0xFE0;

/// How long to watch for the owner's RTC interrupt, in microseconds.
const WATCH_MICROS: u64 = 4_500_000;

/// What the read instruction leaves in its destination when it is skipped after an abort.
const UNTOUCHED: u32 = 0x5a5a_5a5a;

static ABORTED: AtomicBool = AtomicBool::new(false);
static ABORT_ESR: AtomicU64 = AtomicU64::new(0);
static ABORT_FAR: AtomicU64 = AtomicU64::new(0);

/// Times INTID 34 arrived here.
static RTC_INTERRUPTS: AtomicU64 = AtomicU64::new(0);

/// Records a data abort at EL1 and skips the faulting access; anything else is unexpected.
fn on_synchronous(frame: &mut ExceptionFrame) -> Resolution {
    if frame.exception_class() != EC_DATA_ABORT_SAME_EL {
        return Resolution::Unhandled;
    }
    ABORT_ESR.store(frame.esr, Ordering::Relaxed);
    ABORT_FAR.store(frame.far, Ordering::Relaxed);
    ABORTED.store(true, Ordering::Release);
    Resolution::SkipInstruction
}

/// The owner's interrupt reached this domain: count it and stop it from repeating.
fn rtc_interrupt(_interrupt: Acknowledged) {
    RTC_INTERRUPTS.store(RTC_INTERRUPTS.load(Ordering::Relaxed) + 1, Ordering::Release);
    gic::disable(pl031::INTID);
}

/// Performs one 32-bit access to `address` as a single instruction the handler can skip; returns the
/// value read (or `UNTOUCHED` when the read was skipped).
fn access(address: u64, write: bool) -> u32 {
    let mut value = UNTOUCHED;
    if write {
        // SAFETY: the address is the RTC's read-only data register, which this domain does not own: the
        // access aborts and the handler skips this one instruction, or (if isolation failed) the device
        // ignores the write; it touches no memory the program uses.
        unsafe {
            core::arch::asm!("str {value:w}, [{address}]", address = in(reg) address, value = in(reg) value);
        }
    } else {
        // SAFETY: as above; a read of RTCDR or RTCPeriphID0 has no side effect on the device.
        unsafe {
            core::arch::asm!("ldr {value:w}, [{address}]", address = in(reg) address, value = inout(reg) value);
        }
    }
    value
}

/// Tries one access and returns whether it aborted as required, printing what happened.
fn check(address: u64, write: bool) -> bool {
    let name = if write { "write" } else { "read" };
    ABORTED.store(false, Ordering::Release);
    let value = access(address, write);
    if !ABORTED.load(Ordering::Acquire) {
        if write {
            println!("rtc-probe: {name} {address:#x} completed");
        } else {
            println!("rtc-probe: {name} {address:#x} returned {value:#x}");
        }
        return false;
    }
    let esr = ABORT_ESR.load(Ordering::Relaxed);
    let far = ABORT_FAR.load(Ordering::Relaxed);
    let ok =
        esr & 0x3f == exceptions::DFSC_SYNCHRONOUS_EXTERNAL_ABORT && far == address && (esr & (1 << 6) != 0) == write;
    println!(
        "rtc-probe: {name} {address:#x} aborted: ESR={esr:#x} FAR={far:#x} ({})",
        if ok { "synchronous external abort, as expected" } else { "not the expected abort" }
    );
    ok
}

fn main(device_tree: u64) -> ! {
    let detection = gic::init(device_tree);
    println!("rtc-probe: {detection}; touching the RTC this domain does not own");
    exceptions::set_handler(Kind::Synchronous, Some(on_synchronous));
    let accesses = [(RTC_DATA, false), (RTC_DATA, true), (RTC_PERIPHERAL_ID0, false)];
    let failures = accesses.iter().filter(|&&(address, write)| !check(address, write)).count();
    exceptions::set_handler(Kind::Synchronous, None);
    if failures > 0 {
        fail!("{failures} of {} accesses to the RTC did not abort", accesses.len());
    }

    interrupts::set_handler(pl031::INTID, Some(rtc_interrupt));
    gic::route_spi(pl031::INTID, 0);
    gic::enable(pl031::INTID);
    println!("rtc-probe: INTID {} enabled here, watching for {} ms", pl031::INTID, WATCH_MICROS / 1000);
    cpu::unmask_interrupts();
    counter::delay_micros(WATCH_MICROS);
    cpu::mask_interrupts();
    gic::disable(pl031::INTID);
    let arrived = RTC_INTERRUPTS.load(Ordering::Acquire);
    println!("rtc-probe: INTID {} arrived {arrived} times in {} ms", pl031::INTID, WATCH_MICROS / 1000);
    if arrived != 0 {
        fail!("the RTC's interrupt reached a domain that does not own the RTC");
    }
    report::pass()
}
