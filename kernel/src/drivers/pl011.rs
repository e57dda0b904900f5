//! Arm PrimeCell PL011 UART (QEMU `virt`): polled transmit and receive, and the receive interrupt.
//!
//! Register layout and bit positions follow the PL011 Technical Reference Manual (Arm DDI 0183).
//! The driver never touches the baud-rate divisors: the boot loader (or QEMU) has set them.

use core::fmt;

use tock_registers::interfaces::{ReadWriteable, Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

register_bitfields! {
    u32,

    /// Data register.
    DR [
        /// Received or transmitted character.
        DATA OFFSET(0) NUMBITS(8) [],
        /// Framing error on the received character.
        FE OFFSET(8) NUMBITS(1) [],
        /// Parity error on the received character.
        PE OFFSET(9) NUMBITS(1) [],
        /// Break error on the received character.
        BE OFFSET(10) NUMBITS(1) [],
        /// Receive FIFO overrun.
        OE OFFSET(11) NUMBITS(1) []
    ],

    /// Flag register.
    FR [
        /// UART busy transmitting.
        BUSY OFFSET(3) NUMBITS(1) [],
        /// Receive FIFO empty.
        RXFE OFFSET(4) NUMBITS(1) [],
        /// Transmit FIFO full.
        TXFF OFFSET(5) NUMBITS(1) [],
        /// Receive FIFO full.
        RXFF OFFSET(6) NUMBITS(1) [],
        /// Transmit FIFO empty.
        TXFE OFFSET(7) NUMBITS(1) []
    ],

    /// Integer baud-rate divisor.
    IBRD [
        /// Integer part of the divisor.
        BAUD_DIVINT OFFSET(0) NUMBITS(16) []
    ],

    /// Fractional baud-rate divisor.
    FBRD [
        /// Fractional part of the divisor, in 64ths.
        BAUD_DIVFRAC OFFSET(0) NUMBITS(6) []
    ],

    /// Line control register.
    LCR_H [
        /// Send break.
        BRK OFFSET(0) NUMBITS(1) [],
        /// Parity enable.
        PEN OFFSET(1) NUMBITS(1) [],
        /// Even parity select.
        EPS OFFSET(2) NUMBITS(1) [],
        /// Two stop bits.
        STP2 OFFSET(3) NUMBITS(1) [],
        /// FIFOs enabled.
        FEN OFFSET(4) NUMBITS(1) [],
        /// Word length.
        WLEN OFFSET(5) NUMBITS(2) [
            FiveBits = 0,
            SixBits = 1,
            SevenBits = 2,
            EightBits = 3
        ],
        /// Stick parity.
        SPS OFFSET(7) NUMBITS(1) []
    ],

    /// Control register.
    CR [
        /// UART enable.
        UARTEN OFFSET(0) NUMBITS(1) [],
        /// Loopback enable.
        LBE OFFSET(7) NUMBITS(1) [],
        /// Transmit enable.
        TXE OFFSET(8) NUMBITS(1) [],
        /// Receive enable.
        RXE OFFSET(9) NUMBITS(1) [],
        /// Request to send.
        RTS OFFSET(11) NUMBITS(1) []
    ],

    /// Interrupt FIFO level select.
    IFLS [
        /// Transmit interrupt level.
        TXIFLSEL OFFSET(0) NUMBITS(3) [],
        /// Receive interrupt level.
        RXIFLSEL OFFSET(3) NUMBITS(3) [
            OneEighth = 0,
            OneQuarter = 1,
            OneHalf = 2,
            ThreeQuarters = 3,
            SevenEighths = 4
        ]
    ],

    /// Interrupt bits, shared by IMSC (mask set/clear), RIS (raw status), MIS (masked status) and
    /// ICR (clear).
    INTERRUPT [
        /// Receive.
        RX OFFSET(4) NUMBITS(1) [],
        /// Transmit.
        TX OFFSET(5) NUMBITS(1) [],
        /// Receive timeout.
        RT OFFSET(6) NUMBITS(1) [],
        /// Framing error.
        FE OFFSET(7) NUMBITS(1) [],
        /// Parity error.
        PE OFFSET(8) NUMBITS(1) [],
        /// Break error.
        BE OFFSET(9) NUMBITS(1) [],
        /// Overrun error.
        OE OFFSET(10) NUMBITS(1) [],
        /// All eleven interrupt sources, modem status ones included.
        ALL OFFSET(0) NUMBITS(11) []
    ]
}

register_structs! {
    /// The PL011 register frame (4 KiB).
    #[allow(non_snake_case, reason = "register names as in the Technical Reference Manual")]
    #[allow(dead_code, reason = "the complete register map; not every register is used")]
    Pl011Registers {
        (0x000 => DR: ReadWrite<u32, DR::Register>),
        (0x004 => _reserved0),
        (0x018 => FR: ReadOnly<u32, FR::Register>),
        (0x01C => _reserved1),
        (0x024 => IBRD: ReadWrite<u32, IBRD::Register>),
        (0x028 => FBRD: ReadWrite<u32, FBRD::Register>),
        (0x02C => LCR_H: ReadWrite<u32, LCR_H::Register>),
        (0x030 => CR: ReadWrite<u32, CR::Register>),
        (0x034 => IFLS: ReadWrite<u32, IFLS::Register>),
        (0x038 => IMSC: ReadWrite<u32, INTERRUPT::Register>),
        (0x03C => RIS: ReadOnly<u32, INTERRUPT::Register>),
        (0x040 => MIS: ReadOnly<u32, INTERRUPT::Register>),
        (0x044 => ICR: WriteOnly<u32, INTERRUPT::Register>),
        (0x048 => _reserved2),
        (0xFE0 => PERIPHERAL_ID: [ReadOnly<u32>; 4]),
        (0xFF0 => CELL_ID: [ReadOnly<u32>; 4]),
        (0x1000 => @END),
    }
}

/// The low bytes of UARTPeriphID0..3 for a PL011 of any revision (revision bits masked out).
const PERIPHERAL_ID: [u32; 4] = [0x11, 0x10, 0x04, 0x00];
/// Mask of the peripheral-ID bits compared with [`PERIPHERAL_ID`] (ID2's revision nibble excluded).
const PERIPHERAL_ID_MASK: [u32; 4] = [0xFF, 0xFF, 0x0F, 0xFF];
/// UARTPCellID0..3: the PrimeCell identification every PrimeCell device returns.
const CELL_ID: [u32; 4] = [0x0D, 0xF0, 0x05, 0xB1];

/// A PL011 UART.
pub struct Pl011 {
    registers: &'static Pl011Registers,
}

// SAFETY: the driver holds only a reference to device registers that any CPU may access; it has
// no CPU-local state, so moving it to another CPU (for example into a lock) is sound.
unsafe impl Send for Pl011 {}

impl fmt::Debug for Pl011 {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("Pl011").field("base", &core::ptr::from_ref(self.registers)).finish()
    }
}

impl Pl011 {
    /// The driver for the PL011 whose register frame starts at `base`.
    ///
    /// # Safety
    /// `base` must be the address (as mapped for the caller) of a PL011's 4 KiB register frame,
    /// mapped as device memory for as long as the program runs, and no other code may drive the
    /// same UART concurrently.
    #[must_use]
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: the caller guarantees that `base` is a valid, suitably aligned, 'static PL011
        // register frame; every field of `Pl011Registers` is an `UnsafeCell`-based register.
        let registers = unsafe { &*(base as *const Pl011Registers) };
        Self { registers }
    }

    /// Makes the UART usable for polled I/O without changing its baud rate or line format.
    ///
    /// If the UART, its transmitter and its receiver are already enabled (firmware left it
    /// running), only the interrupts are masked. Otherwise it is disabled, its FIFOs enabled, and
    /// it is re-enabled with transmit and receive on. Interrupts are left masked and cleared.
    pub fn init(&self) {
        let registers = self.registers;
        let enabled = CR::UARTEN::SET + CR::TXE::SET + CR::RXE::SET;
        if !registers.CR.matches_all(enabled) {
            registers.CR.modify(CR::UARTEN::CLEAR);
            while registers.FR.is_set(FR::BUSY) {
                core::hint::spin_loop();
            }
            // Rewriting LCR_H with its own line format keeps the divisors as they are.
            registers.LCR_H.modify(LCR_H::FEN::SET);
            registers.CR.modify(enabled);
        }
        registers.IMSC.set(0);
        registers.ICR.write(INTERRUPT::ALL::SET);
    }

    /// Sends `byte`, waiting while the transmit FIFO is full.
    pub fn write_byte(&self, byte: u8) {
        while self.registers.FR.is_set(FR::TXFF) {
            core::hint::spin_loop();
        }
        self.registers.DR.write(DR::DATA.val(u32::from(byte)));
    }

    /// The next received byte, or `None` if the receive FIFO is empty. A byte received with a
    /// framing, parity or break error is returned as it is (a break reads as 0).
    #[must_use]
    pub fn read_byte(&self) -> Option<u8> {
        if self.registers.FR.is_set(FR::RXFE) {
            return None;
        }
        Some(self.registers.DR.read(DR::DATA) as u8)
    }

    /// Unmasks the receive and receive-timeout interrupts, with the receive trigger at the lowest
    /// FIFO level (1/8) so that a single keystroke raises an interrupt soon (through the timeout
    /// when the FIFO holds fewer bytes than the trigger level).
    pub fn enable_receive_interrupt(&self) {
        self.registers.IFLS.modify(IFLS::RXIFLSEL::OneEighth);
        self.registers.IMSC.modify(INTERRUPT::RX::SET + INTERRUPT::RT::SET);
    }

    /// Whether a receive or receive-timeout interrupt is pending and unmasked.
    #[must_use]
    pub fn receive_interrupt_pending(&self) -> bool {
        self.registers.MIS.any_matching_bits_set(INTERRUPT::RX::SET + INTERRUPT::RT::SET)
    }

    /// Clears the receive and receive-timeout interrupts. Call it before draining the FIFO with
    /// [`Self::read_byte`], so that a byte arriving meanwhile raises the interrupt again.
    pub fn acknowledge_receive_interrupt(&self) {
        self.registers.ICR.write(INTERRUPT::RX::SET + INTERRUPT::RT::SET);
    }

    /// Whether the identification registers read as a PL011 (any revision).
    #[must_use]
    pub fn identifies_as_pl011(&self) -> bool {
        let registers = self.registers;
        let peripheral_matches = (0..4)
            .all(|index| registers.PERIPHERAL_ID[index].get() & PERIPHERAL_ID_MASK[index] == PERIPHERAL_ID[index]);
        let cell_matches = (0..4).all(|index| registers.CELL_ID[index].get() & 0xFF == CELL_ID[index]);
        peripheral_matches && cell_matches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern crate std;
    use std::boxed::Box;
    use std::thread;
    use std::time::Duration;

    /// A zeroed, word-aligned stand-in for the register frame, leaked so that it is `'static`.
    struct FakeFrame {
        words: *mut u32,
    }

    impl FakeFrame {
        fn new() -> (Self, Pl011) {
            let words = Box::leak(Box::new([0_u32; 0x1000 / 4])).as_mut_ptr();
            // SAFETY: a leaked, zeroed, 4 KiB, word-aligned buffer lives for the program's run.
            let uart = unsafe { Pl011::new(words as usize) };
            (Self { words }, uart)
        }

        fn word(&self, offset: usize) -> u32 {
            assert!(offset < 0x1000 && offset.is_multiple_of(4));
            // SAFETY: in bounds of the leaked buffer (checked above); volatile like the driver's.
            unsafe { self.words.add(offset / 4).read_volatile() }
        }

        fn set_word(&self, offset: usize, value: u32) {
            assert!(offset < 0x1000 && offset.is_multiple_of(4));
            // SAFETY: in bounds of the leaked buffer (checked above); volatile like the driver's.
            unsafe { self.words.add(offset / 4).write_volatile(value) }
        }
    }

    const DR_OFFSET: usize = 0x000;
    const FR_OFFSET: usize = 0x018;
    const LCR_H_OFFSET: usize = 0x02C;
    const CR_OFFSET: usize = 0x030;
    const IFLS_OFFSET: usize = 0x034;
    const IMSC_OFFSET: usize = 0x038;
    const ICR_OFFSET: usize = 0x044;

    #[test]
    fn init_enables_a_disabled_uart_with_fifos_and_masks_interrupts() {
        let (frame, uart) = FakeFrame::new();
        frame.set_word(LCR_H_OFFSET, 0x60); // 8 bits, FIFOs off
        frame.set_word(IMSC_OFFSET, 0x7FF);
        uart.init();
        assert_eq!(frame.word(CR_OFFSET), 0x301, "UARTEN | TXE | RXE");
        assert_eq!(frame.word(LCR_H_OFFSET), 0x70, "line format kept, FEN added");
        assert_eq!(frame.word(IMSC_OFFSET), 0);
        assert_eq!(frame.word(ICR_OFFSET), 0x7FF);
    }

    #[test]
    fn init_leaves_a_running_uart_configured_as_it_is() {
        let (frame, uart) = FakeFrame::new();
        frame.set_word(CR_OFFSET, 0xB01); // UARTEN | TXE | RXE | RTS
        frame.set_word(LCR_H_OFFSET, 0x60);
        uart.init();
        assert_eq!(frame.word(CR_OFFSET), 0xB01);
        assert_eq!(frame.word(LCR_H_OFFSET), 0x60);
    }

    #[test]
    fn write_byte_puts_the_byte_in_the_data_register() {
        let (frame, uart) = FakeFrame::new();
        uart.write_byte(b'S');
        assert_eq!(frame.word(DR_OFFSET), u32::from(b'S'));
    }

    #[test]
    fn write_byte_waits_while_the_transmit_fifo_is_full() {
        let (frame, uart) = FakeFrame::new();
        frame.set_word(FR_OFFSET, 1 << 5); // TXFF
        let writer = thread::spawn(move || uart.write_byte(b'x'));
        thread::sleep(Duration::from_millis(50));
        assert_eq!(frame.word(DR_OFFSET), 0, "wrote while the FIFO was full");
        frame.set_word(FR_OFFSET, 0);
        writer.join().unwrap();
        assert_eq!(frame.word(DR_OFFSET), u32::from(b'x'));
    }

    #[test]
    fn read_byte_reports_an_empty_fifo_and_strips_error_bits() {
        let (frame, uart) = FakeFrame::new();
        frame.set_word(FR_OFFSET, 1 << 4); // RXFE
        frame.set_word(DR_OFFSET, 0x41);
        assert_eq!(uart.read_byte(), None);
        frame.set_word(FR_OFFSET, 0);
        assert_eq!(uart.read_byte(), Some(b'A'));
        frame.set_word(DR_OFFSET, 0x100 | 0x42); // framing error
        assert_eq!(uart.read_byte(), Some(b'B'));
    }

    #[test]
    fn receive_interrupt_unmask_query_and_acknowledge() {
        let (frame, uart) = FakeFrame::new();
        frame.set_word(IFLS_OFFSET, 0x12); // reset value: both levels 1/2
        frame.set_word(IMSC_OFFSET, 1 << 7);
        uart.enable_receive_interrupt();
        assert_eq!(frame.word(IMSC_OFFSET), (1 << 7) | (1 << 4) | (1 << 6));
        assert_eq!(frame.word(IFLS_OFFSET), 0x02, "receive level 1/8, transmit level kept");
        assert!(!uart.receive_interrupt_pending());
        frame.set_word(0x040, 1 << 6); // MIS: receive timeout
        assert!(uart.receive_interrupt_pending());
        uart.acknowledge_receive_interrupt();
        assert_eq!(frame.word(ICR_OFFSET), (1 << 4) | (1 << 6));
    }

    #[test]
    fn identification_registers() {
        let (frame, uart) = FakeFrame::new();
        assert!(!uart.identifies_as_pl011());
        for (index, value) in [0x11, 0x10, 0x34, 0x00, 0x0D, 0xF0, 0x05, 0xB1].into_iter().enumerate() {
            frame.set_word(0xFE0 + 4 * index, value); // ID2 = revision r1p5
        }
        assert!(uart.identifies_as_pl011());
    }
}
