//! `uart1-probe`: runs beside the domain that owns the ZCU102's UART1 (`devices = ["uart1"]`) and
//! must find no way to it: no Cadence UART in its device tree; a read of UART1's status register
//! and a write to its interrupt disable register (which would silence the owner's UART) at
//! 0xFF01_0000 are each taken as a synchronous external abort; and INTID 54, enabled here and
//! routed to this vCPU, never arrives during a 3 s watch while the owner's UART interrupts flow,
//! although this domain keeps disabling, enabling and re-routing it in its own distributor (which
//! must not touch the physical interrupt the owner depends on). Then INTID 54 pended through its
//! own distributor arrives here exactly once: the watch could have seen one.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use somnus_test_guests::abort_probe::{self, Access};
use somnus_test_guests::cadence_uart::{self, UART1_BASE, UART1_INTID};
use somnus_test_guests::gic::{self, Acknowledged, Trigger};
use somnus_test_guests::{counter, cpu, device_tree, entry, fail, interrupts, println, report};

entry!("uart1-probe", main);

/// How long to watch for the owner's interrupt, in microseconds.
const WATCH_MICROS: u64 = 3_000_000;
/// How often the watch rewrites INTID 54's enable and target, in microseconds.
const REWRITE_MICROS: u64 = 1_000;
/// How long to wait for the interrupt pended here.
const PENDED_WAIT_MICROS: u64 = 100_000;

/// UART1's channel status register (SR).
const STATUS_REGISTER: u64 = UART1_BASE as u64 + 0x2C;
/// UART1's interrupt disable register (IDR).
const INTERRUPT_DISABLE_REGISTER: u64 = UART1_BASE as u64 + 0x0C;

/// Times INTID 54 arrived here.
static ARRIVALS: AtomicU64 = AtomicU64::new(0);

fn count(_interrupt: Acknowledged) {
    ARRIVALS.fetch_add(1, Ordering::AcqRel);
}

/// Touches `address` and fails unless the access is taken as a synchronous external abort.
fn expect_abort(address: u64, access: Access) {
    let outcome = abort_probe::touch(address, access);
    let name = if access == Access::Read { "read" } else { "write" };
    if !outcome.is_external_abort_at(address, access) {
        fail!("{name} of {address:#x}: {outcome:?}, expected a synchronous external abort");
    }
    println!("uart1-probe: {name} of {address:#x} taken as a synchronous external abort");
}

fn main(device_tree_address: u64) -> ! {
    let detection = gic::init(device_tree_address);
    println!("uart1-probe: {detection}");
    let Some(tree) = device_tree::parse(device_tree_address) else { fail!("no device tree") };
    if let Some((base, intid)) = cadence_uart::from_device_tree(&tree) {
        fail!("its device tree has a Cadence UART at {base:#x} (INTID {intid})");
    }
    println!("uart1-probe: no Cadence UART in its device tree");
    expect_abort(STATUS_REGISTER, Access::Read);
    expect_abort(INTERRUPT_DISABLE_REGISTER, Access::Write(0x1FFF));

    interrupts::set_handler(UART1_INTID, Some(count));
    gic::route_spi(UART1_INTID, 0);
    gic::enable(UART1_INTID);
    println!("uart1-probe: INTID {UART1_INTID} enabled here, watching for {} ms", WATCH_MICROS / 1000);
    cpu::unmask_interrupts();
    let end = counter::now() + counter::ticks_from_micros(WATCH_MICROS);
    while counter::now() < end {
        gic::disable(UART1_INTID);
        gic::enable(UART1_INTID);
        gic::route_spi(UART1_INTID, 0);
        counter::delay_micros(REWRITE_MICROS);
    }
    let foreign = ARRIVALS.load(Ordering::Acquire);
    println!("uart1-probe: INTID {UART1_INTID} arrived {foreign} times in {} ms", WATCH_MICROS / 1000);
    if foreign != 0 {
        cpu::mask_interrupts();
        fail!("the owner's UART interrupt reached another domain");
    }

    gic::set_trigger(UART1_INTID, Trigger::Edge);
    gic::set_pending(UART1_INTID);
    counter::delay_micros(PENDED_WAIT_MICROS);
    cpu::mask_interrupts();
    let pended = ARRIVALS.load(Ordering::Acquire);
    println!("uart1-probe: INTID {UART1_INTID} pended here arrived {pended} times");
    if pended != 1 {
        fail!("INTID {UART1_INTID} pended in its own distributor must arrive once");
    }
    report::pass()
}
