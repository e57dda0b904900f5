//! `uart-loopback`: owns the ZCU102's UART1 (`devices = ["uart1"]`), passed through with its
//! interrupt, SPI 22 (INTID 54). It finds the UART in its device tree, puts it in local loopback
//! with a receive trigger level of 4 bytes and only the trigger interrupt enabled, and then, round
//! after round: sends 3 bytes (no interrupt may come), sends the 4th, waits in WFI for INTID 54,
//! whose handler reads the 4 bytes back and clears the trigger. The guest's end of interrupt
//! deactivates the physical interrupt (the list register's hardware bit), so the next round can
//! interrupt again. It passes if every round interrupted exactly once, at the trigger level, and
//! every byte came back in order.
//!
//! It waits [`START_DELAY_MICROS`] before the first round, so that a domain watching for INTID 54
//! beside it (`uart1-probe`) is already watching when the interrupts flow.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use somnus_test_guests::cadence_uart::{self, RECEIVE_TRIGGER, UART1_BASE, UART1_INTID};
use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::{counter, cpu, device_tree, entry, fail, interrupts, println, report};

entry!("uart-loopback", main);

/// Bytes per round: the receive trigger level.
const TRIGGER_LEVEL: u32 = 4;
/// Rounds, one interrupt each.
const ROUNDS: u32 = 40;
/// Pause between rounds, so that the rounds span about a second.
const GAP_MICROS: u64 = 20_000;
/// Wait before the first round.
const START_DELAY_MICROS: u64 = 500_000;
/// How long below the trigger level must stay quiet.
const QUIET_MICROS: u64 = 1_000;
/// The longest wait for one round's interrupt.
const ROUND_TIMEOUT_MICROS: u64 = 200_000;

/// Interrupts taken.
static INTERRUPTS: AtomicU32 = AtomicU32::new(0);
/// Interrupts taken with the receive trigger not raised at the UART.
static WITHOUT_TRIGGER: AtomicU32 = AtomicU32::new(0);
/// Index of the next byte expected back.
static RECEIVED: AtomicU32 = AtomicU32::new(0);
/// Bytes that came back with another value than the one sent at their position.
static WRONG_BYTES: AtomicU32 = AtomicU32::new(0);

/// The byte sent at position `index`: varies in every bit across a round and between rounds.
fn pattern(index: u32) -> u8 {
    (index.wrapping_mul(37) ^ 0xA5) as u8
}

fn uart_interrupt(_interrupt: Acknowledged) {
    let raised = cadence_uart::raised_interrupts();
    if raised & RECEIVE_TRIGGER == 0 {
        WITHOUT_TRIGGER.fetch_add(1, Ordering::AcqRel);
    }
    while let Some(byte) = cadence_uart::receive() {
        let index = RECEIVED.fetch_add(1, Ordering::AcqRel);
        if byte != pattern(index) {
            WRONG_BYTES.fetch_add(1, Ordering::AcqRel);
        }
    }
    // The FIFO is empty now, below the trigger level: the cleared trigger stays clear and the
    // line drops before the end of interrupt deactivates the physical interrupt.
    cadence_uart::clear_interrupts(raised);
    INTERRUPTS.fetch_add(1, Ordering::AcqRel);
}

/// Waits in WFI until `count` interrupts were taken; interrupts are masked between the check and
/// the WFI, so one that comes in between still ends the WFI.
fn wait_for_interrupts(count: u32, round: u32) {
    let deadline = counter::now() + counter::ticks_from_micros(ROUND_TIMEOUT_MICROS);
    cpu::mask_interrupts();
    while INTERRUPTS.load(Ordering::Acquire) < count {
        if counter::now() > deadline {
            fail!(
                "round {round}: no INTID {UART1_INTID} within {} ms (CISR {:#x}, IMR {:#x})",
                ROUND_TIMEOUT_MICROS / 1000,
                cadence_uart::raised_interrupts(),
                cadence_uart::enabled_interrupts()
            );
        }
        cpu::wait_for_interrupt();
        cpu::unmask_interrupts();
        cpu::mask_interrupts();
    }
    cpu::unmask_interrupts();
}

fn main(device_tree_address: u64) -> ! {
    let detection = gic::init(device_tree_address);
    let Some((base, intid)) =
        device_tree::parse(device_tree_address).and_then(|tree| cadence_uart::from_device_tree(&tree))
    else {
        fail!("no Cadence UART in the device tree");
    };
    println!("uart-loopback: {detection}; Cadence UART at {base:#x}, INTID {intid} from device tree");
    if (base, intid) != (UART1_BASE as u64, UART1_INTID) {
        fail!("UART1 is at {UART1_BASE:#x} with INTID {UART1_INTID}");
    }
    cadence_uart::start_local_loopback(TRIGGER_LEVEL);
    interrupts::set_handler(UART1_INTID, Some(uart_interrupt));
    gic::route_spi(UART1_INTID, 0);
    gic::enable(UART1_INTID);
    cpu::unmask_interrupts();
    counter::delay_micros(START_DELAY_MICROS);

    println!("uart-loopback: sending {ROUNDS} rounds of {TRIGGER_LEVEL} bytes in local loopback");
    let mut early = 0;
    for round in 0..ROUNDS {
        let first = round * TRIGGER_LEVEL;
        for index in first..first + TRIGGER_LEVEL - 1 {
            cadence_uart::send(pattern(index));
        }
        counter::delay_micros(QUIET_MICROS);
        if INTERRUPTS.load(Ordering::Acquire) != round {
            early += 1;
        }
        cadence_uart::send(pattern(first + TRIGGER_LEVEL - 1));
        wait_for_interrupts(round + 1, round);
        counter::delay_micros(GAP_MICROS);
    }
    // Late extra interrupts would show in the counts.
    counter::delay_micros(GAP_MICROS);
    cpu::mask_interrupts();
    gic::disable(UART1_INTID);
    cadence_uart::stop_interrupts();

    let taken = INTERRUPTS.load(Ordering::Acquire);
    let received = RECEIVED.load(Ordering::Acquire);
    let wrong = WRONG_BYTES.load(Ordering::Acquire);
    let without_trigger = WITHOUT_TRIGGER.load(Ordering::Acquire);
    let spurious = interrupts::spurious_count(cpu::index());
    println!(
        "uart-loopback: {taken} interrupts for {received} bytes, {wrong} wrong, {early} below the trigger level, \
         {without_trigger} without the trigger raised, {spurious} spurious IRQs"
    );
    if taken != ROUNDS || received != ROUNDS * TRIGGER_LEVEL {
        fail!("expected {ROUNDS} interrupts for {} bytes", ROUNDS * TRIGGER_LEVEL);
    }
    if wrong != 0 || early != 0 || without_trigger != 0 || spurious != 0 {
        fail!("the UART's interrupts or bytes were not as sent");
    }
    report::pass()
}
