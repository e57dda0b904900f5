//! Cadence UART (Xilinx ZynqMP UART0/1, `cdns,uart-r1p12`): polled transmit and receive, and the
//! receive interrupt.
//!
//! Register layout and bit positions follow the Zynq UltraScale+ register reference (UG1087,
//! module UART). The driver never touches the baud-rate generator or the mode register: the boot
//! loader (or QEMU) has set them.
//!
//! Receive interrupt: the driver uses the receive-FIFO trigger (RTRIG) with the watermark at one
//! byte, so every received byte raises it without relying on the receiver timeout (whose counter
//! would also need programming). RTRIG is an event bit in the write-1-to-clear status register;
//! acknowledge it before draining the FIFO so that a byte arriving meanwhile raises it again.

use core::fmt;

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

register_bitfields! {
    u32,

    /// Control register.
    CR [
        /// Software reset of the receive path (self-clearing).
        RXRES OFFSET(0) NUMBITS(1) [],
        /// Software reset of the transmit path (self-clearing).
        TXRES OFFSET(1) NUMBITS(1) [],
        /// Receive enable.
        RXEN OFFSET(2) NUMBITS(1) [],
        /// Receive disable (overrides RXEN).
        RXDIS OFFSET(3) NUMBITS(1) [],
        /// Transmit enable.
        TXEN OFFSET(4) NUMBITS(1) [],
        /// Transmit disable (overrides TXEN).
        TXDIS OFFSET(5) NUMBITS(1) [],
        /// Restart the receiver timeout counter.
        TORST OFFSET(6) NUMBITS(1) [],
        /// Start transmitting a break.
        STARTBRK OFFSET(7) NUMBITS(1) [],
        /// Stop transmitting a break.
        STOPBRK OFFSET(8) NUMBITS(1) []
    ],

    /// Mode register.
    MR [
        /// Clock source: reference clock divided by 8.
        CLKS OFFSET(0) NUMBITS(1) [],
        /// Character length.
        CHRL OFFSET(1) NUMBITS(2) [],
        /// Parity.
        PAR OFFSET(3) NUMBITS(3) [],
        /// Number of stop bits.
        NBSTOP OFFSET(6) NUMBITS(2) [],
        /// Channel mode (normal, echo, loopback).
        CHMODE OFFSET(8) NUMBITS(2) []
    ],

    /// Interrupt bits, shared by IER (enable), IDR (disable), IMR (mask) and ISR (status,
    /// write 1 to clear).
    INTERRUPT [
        /// Receive FIFO reached the watermark (RXWM).
        RTRIG OFFSET(0) NUMBITS(1) [],
        /// Receive FIFO empty.
        REMPTY OFFSET(1) NUMBITS(1) [],
        /// Receive FIFO full.
        RFUL OFFSET(2) NUMBITS(1) [],
        /// Transmit FIFO empty.
        TEMPTY OFFSET(3) NUMBITS(1) [],
        /// Transmit FIFO full.
        TFUL OFFSET(4) NUMBITS(1) [],
        /// Receive overflow.
        ROVR OFFSET(5) NUMBITS(1) [],
        /// Framing error.
        FRAME OFFSET(6) NUMBITS(1) [],
        /// Parity error.
        PARE OFFSET(7) NUMBITS(1) [],
        /// Receiver timeout.
        TIMEOUT OFFSET(8) NUMBITS(1) [],
        /// All fourteen interrupt sources.
        ALL OFFSET(0) NUMBITS(14) []
    ],

    /// Receive-FIFO watermark.
    RXWM [
        /// Number of bytes at which RTRIG is raised (0 disables it).
        RTRIG OFFSET(0) NUMBITS(6) []
    ],

    /// Channel status register.
    SR [
        /// Receive FIFO at or above the watermark.
        RTRIG OFFSET(0) NUMBITS(1) [],
        /// Receive FIFO empty.
        RXEMPTY OFFSET(1) NUMBITS(1) [],
        /// Receive FIFO full.
        RXFULL OFFSET(2) NUMBITS(1) [],
        /// Transmit FIFO empty.
        TXEMPTY OFFSET(3) NUMBITS(1) [],
        /// Transmit FIFO full.
        TXFULL OFFSET(4) NUMBITS(1) [],
        /// Receiver active.
        RACTIVE OFFSET(10) NUMBITS(1) [],
        /// Transmitter active.
        TACTIVE OFFSET(11) NUMBITS(1) []
    ],

    /// Transmit and receive FIFO port.
    FIFO [
        /// The byte to send or the byte received.
        DATA OFFSET(0) NUMBITS(8) []
    ]
}

register_structs! {
    /// The Cadence UART register frame.
    #[allow(non_snake_case, reason = "register names as in the register reference")]
    #[allow(dead_code, reason = "the complete register map; not every register is used")]
    CadenceUartRegisters {
        (0x00 => CR: ReadWrite<u32, CR::Register>),
        (0x04 => MR: ReadWrite<u32, MR::Register>),
        (0x08 => IER: WriteOnly<u32, INTERRUPT::Register>),
        (0x0C => IDR: WriteOnly<u32, INTERRUPT::Register>),
        (0x10 => IMR: ReadOnly<u32, INTERRUPT::Register>),
        (0x14 => ISR: ReadWrite<u32, INTERRUPT::Register>),
        (0x18 => BAUDGEN: ReadWrite<u32>),
        (0x1C => RXTOUT: ReadWrite<u32>),
        (0x20 => RXWM: ReadWrite<u32, RXWM::Register>),
        (0x24 => MODEMCR: ReadWrite<u32>),
        (0x28 => MODEMSR: ReadWrite<u32>),
        (0x2C => SR: ReadOnly<u32, SR::Register>),
        (0x30 => FIFO: ReadWrite<u32, FIFO::Register>),
        (0x34 => BAUDDIV: ReadWrite<u32>),
        (0x38 => FLOWDEL: ReadWrite<u32>),
        (0x3C => _reserved0),
        (0x44 => TXWM: ReadWrite<u32>),
        (0x48 => @END),
    }
}

/// A Cadence UART.
pub struct CadenceUart {
    registers: &'static CadenceUartRegisters,
}

// SAFETY: the driver holds only a reference to device registers that any CPU may access; it has
// no CPU-local state, so moving it to another CPU (for example into a lock) is sound.
unsafe impl Send for CadenceUart {}

impl fmt::Debug for CadenceUart {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("CadenceUart").field("base", &core::ptr::from_ref(self.registers)).finish()
    }
}

impl CadenceUart {
    /// The driver for the Cadence UART whose register frame starts at `base`.
    ///
    /// # Safety
    /// `base` must be the address (as mapped for the caller) of a Cadence UART's register frame,
    /// mapped as device memory for as long as the program runs, and no other code may drive the
    /// same UART concurrently.
    #[must_use]
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: the caller guarantees that `base` is a valid, suitably aligned, 'static Cadence
        // UART register frame; every field of the register struct is `UnsafeCell`-based.
        let registers = unsafe { &*(base as *const CadenceUartRegisters) };
        Self { registers }
    }

    /// Enables the transmitter and receiver (without resetting them or touching the baud rate or
    /// line format), and masks and clears every interrupt.
    pub fn init(&self) {
        // No disable, reset or break bit set: this only enables both directions.
        self.registers.CR.write(CR::TXEN::SET + CR::RXEN::SET);
        self.registers.IDR.write(INTERRUPT::ALL::SET);
        self.registers.ISR.write(INTERRUPT::ALL::SET);
    }

    /// Sends `byte`, waiting while the transmit FIFO is full.
    pub fn write_byte(&self, byte: u8) {
        while self.registers.SR.is_set(SR::TXFULL) {
            core::hint::spin_loop();
        }
        self.registers.FIFO.write(FIFO::DATA.val(u32::from(byte)));
    }

    /// The next received byte, or `None` if the receive FIFO is empty.
    #[must_use]
    pub fn read_byte(&self) -> Option<u8> {
        if self.registers.SR.is_set(SR::RXEMPTY) {
            return None;
        }
        Some(self.registers.FIFO.read(FIFO::DATA) as u8)
    }

    /// Sets the receive watermark to one byte and enables the receive-trigger interrupt (see the
    /// module documentation).
    pub fn enable_receive_interrupt(&self) {
        self.registers.RXWM.write(RXWM::RTRIG.val(1));
        self.registers.IER.write(INTERRUPT::RTRIG::SET);
    }

    /// Whether the receive-trigger interrupt is pending and enabled.
    #[must_use]
    pub fn receive_interrupt_pending(&self) -> bool {
        self.registers.ISR.is_set(INTERRUPT::RTRIG) && self.registers.IMR.is_set(INTERRUPT::RTRIG)
    }

    /// Clears the receive-trigger interrupt. Call it before draining the FIFO with
    /// [`Self::read_byte`].
    pub fn acknowledge_receive_interrupt(&self) {
        self.registers.ISR.write(INTERRUPT::RTRIG::SET);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern crate std;
    use std::boxed::Box;
    use std::thread;
    use std::time::Duration;

    const FRAME_WORDS: usize = 0x48 / 4;
    const CR_OFFSET: usize = 0x00;
    const IER_OFFSET: usize = 0x08;
    const IDR_OFFSET: usize = 0x0C;
    const IMR_OFFSET: usize = 0x10;
    const ISR_OFFSET: usize = 0x14;
    const RXWM_OFFSET: usize = 0x20;
    const SR_OFFSET: usize = 0x2C;
    const FIFO_OFFSET: usize = 0x30;

    /// A zeroed, word-aligned stand-in for the register frame, leaked so that it is `'static`.
    struct FakeFrame {
        words: *mut u32,
    }

    impl FakeFrame {
        fn new() -> (Self, CadenceUart) {
            let words = Box::leak(Box::new([0_u32; FRAME_WORDS])).as_mut_ptr();
            // SAFETY: a leaked, zeroed, word-aligned buffer as large as the frame, never freed.
            let uart = unsafe { CadenceUart::new(words as usize) };
            (Self { words }, uart)
        }

        fn word(&self, offset: usize) -> u32 {
            assert!(offset / 4 < FRAME_WORDS && offset.is_multiple_of(4));
            // SAFETY: in bounds of the leaked buffer (checked above); volatile like the driver's.
            unsafe { self.words.add(offset / 4).read_volatile() }
        }

        fn set_word(&self, offset: usize, value: u32) {
            assert!(offset / 4 < FRAME_WORDS && offset.is_multiple_of(4));
            // SAFETY: in bounds of the leaked buffer (checked above); volatile like the driver's.
            unsafe { self.words.add(offset / 4).write_volatile(value) }
        }
    }

    #[test]
    fn init_enables_both_directions_and_masks_interrupts() {
        let (frame, uart) = FakeFrame::new();
        frame.set_word(CR_OFFSET, 0x128); // QEMU's reset value: RXDIS | TXDIS | STOPBRK
        uart.init();
        assert_eq!(frame.word(CR_OFFSET), 0x14, "TXEN | RXEN, nothing disabled or reset");
        assert_eq!(frame.word(IDR_OFFSET), 0x3FFF);
        assert_eq!(frame.word(ISR_OFFSET), 0x3FFF, "all pending status cleared");
    }

    #[test]
    fn write_byte_waits_while_the_transmit_fifo_is_full() {
        let (frame, uart) = FakeFrame::new();
        frame.set_word(SR_OFFSET, 1 << 4); // TXFULL
        let writer = thread::spawn(move || uart.write_byte(b'z'));
        thread::sleep(Duration::from_millis(50));
        assert_eq!(frame.word(FIFO_OFFSET), 0, "wrote while the FIFO was full");
        frame.set_word(SR_OFFSET, 0);
        writer.join().unwrap();
        assert_eq!(frame.word(FIFO_OFFSET), u32::from(b'z'));
    }

    #[test]
    fn read_byte_reports_an_empty_fifo() {
        let (frame, uart) = FakeFrame::new();
        frame.set_word(SR_OFFSET, 1 << 1); // RXEMPTY
        frame.set_word(FIFO_OFFSET, u32::from(b'q'));
        assert_eq!(uart.read_byte(), None);
        frame.set_word(SR_OFFSET, 0);
        assert_eq!(uart.read_byte(), Some(b'q'));
    }

    #[test]
    fn receive_interrupt_uses_the_trigger_at_one_byte() {
        let (frame, uart) = FakeFrame::new();
        frame.set_word(RXWM_OFFSET, 0x20); // reset value
        uart.enable_receive_interrupt();
        assert_eq!(frame.word(RXWM_OFFSET), 1);
        assert_eq!(frame.word(IER_OFFSET), 1 << 0);
        frame.set_word(ISR_OFFSET, 1 << 0);
        assert!(!uart.receive_interrupt_pending(), "pending but masked");
        frame.set_word(IMR_OFFSET, 1 << 0);
        assert!(uart.receive_interrupt_pending());
        frame.set_word(ISR_OFFSET, 0);
        uart.acknowledge_receive_interrupt();
        assert_eq!(frame.word(ISR_OFFSET), 1 << 0, "write-1-to-clear of RTRIG only");
    }
}
