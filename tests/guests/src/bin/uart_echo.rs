//! `uart-echo`: enables the PL011 receive and receive-timeout interrupts (UARTIMSC RXIM and RTIM) and
//! SPI 1 (INTID 33), prints `uart-echo: type`, and echoes every received byte as
//! `uart-echo: got 0x..`; once the bytes of `ping` arrived in a row it reports `TEST PASS uart-echo`.
//! It waits for input forever.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::{cpu, entry, fail, interrupts, pl011_receive, println, report};

entry!("uart-echo", main);

/// The word that ends the test.
const WORD: &[u8] = b"ping";

/// Bytes of [`WORD`] received in a row so far.
static MATCHED: AtomicUsize = AtomicUsize::new(0);

/// The whole word arrived.
static DONE: AtomicBool = AtomicBool::new(false);

fn receive(_interrupt: Acknowledged) {
    let status = pl011_receive::masked_status();
    let mut received = 0;
    while let Some(byte) = pl011_receive::read_byte() {
        received += 1;
        println!("uart-echo: got {byte:#04x}");
        let matched = MATCHED.load(Ordering::Relaxed);
        let matched = if byte == WORD[matched] { matched + 1 } else { usize::from(byte == WORD[0]) };
        if matched == WORD.len() {
            DONE.store(true, Ordering::Release);
            MATCHED.store(0, Ordering::Relaxed);
        } else {
            MATCHED.store(matched, Ordering::Relaxed);
        }
    }
    pl011_receive::clear_receive_interrupts();
    if received == 0 && status == 0 {
        fail!("INTID {} arrived with UARTMIS clear and nothing received", pl011_receive::INTID);
    }
}

fn main(device_tree: u64) -> ! {
    let detection = gic::init(device_tree);
    interrupts::set_handler(pl011_receive::INTID, Some(receive));
    gic::route_spi(pl011_receive::INTID, 0);
    gic::enable(pl011_receive::INTID);
    pl011_receive::enable_receive_interrupts();
    println!("uart-echo: {detection}");
    println!("uart-echo: type");
    // Checked with interrupts masked: the last byte's handler cannot run between the check and WFI
    // (which would then wait forever); WFI still returns for a pending interrupt, taken at unmasking.
    while !DONE.load(Ordering::Acquire) {
        cpu::wait_for_interrupt();
        cpu::unmask_interrupts();
        cpu::mask_interrupts();
    }
    pl011_receive::disable_receive_interrupts();
    gic::disable(pl011_receive::INTID);
    report::pass()
}
