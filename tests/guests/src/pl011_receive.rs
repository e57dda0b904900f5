//! The receive side of the PL011 at 0x0900_0000 (interrupting as SPI 1, INTID 33): enabling the receive
//! and receive-timeout interrupts and reading received bytes. Output stays in [`pl011`](crate::pl011).

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

use crate::pl011::PL011_BASE;

/// INTID of the PL011's interrupt (SPI 1).
pub const INTID: u32 = 33;

/// UARTFR bit 4: the receive FIFO is empty.
const RECEIVE_EMPTY: u32 = 1 << 4;

/// UARTCR bit 0 (UARTEN), bit 8 (TXE) and bit 9 (RXE).
const ENABLE_UART_TRANSMIT_RECEIVE: u32 = (1 << 0) | (1 << 8) | (1 << 9);

/// UARTIMSC/UARTRIS/UARTMIS/UARTICR bit 4 (RX) and bit 6 (RT, receive timeout).
const RECEIVE_INTERRUPTS: u32 = (1 << 4) | (1 << 6);

register_structs! {
    /// The PL011 registers used for receiving.
    pub Pl011ReceiveRegisters {
        /// UARTDR: the received byte in bits 7:0, error flags in bits 11:8.
        (0x00 => pub data: ReadOnly<u32>),
        (0x04 => _reserved0),
        /// UARTFR.
        (0x18 => pub flags: ReadOnly<u32>),
        (0x1C => _reserved1),
        /// UARTCR.
        (0x30 => pub control: ReadWrite<u32>),
        /// UARTIFLS.
        (0x34 => pub fifo_level: ReadWrite<u32>),
        /// UARTIMSC: interrupt mask set/clear (1 = enabled).
        (0x38 => pub interrupt_mask: ReadWrite<u32>),
        /// UARTRIS.
        (0x3C => pub raw_status: ReadOnly<u32>),
        /// UARTMIS.
        (0x40 => pub masked_status: ReadOnly<u32>),
        /// UARTICR.
        (0x44 => pub interrupt_clear: WriteOnly<u32>),
        (0x48 => @END),
    }
}

fn registers() -> &'static Pl011ReceiveRegisters {
    // SAFETY: the guest platform always has a PL011 at PL011_BASE (device memory, never RAM); every
    // access is a volatile MMIO access.
    unsafe { &*(PL011_BASE as *const Pl011ReceiveRegisters) }
}

/// Makes sure the UART receives and enables its receive and receive-timeout interrupts.
pub fn enable_receive_interrupts() {
    let registers = registers();
    registers.control.set(registers.control.get() | ENABLE_UART_TRANSMIT_RECEIVE);
    registers.interrupt_clear.set(RECEIVE_INTERRUPTS);
    registers.interrupt_mask.set(registers.interrupt_mask.get() | RECEIVE_INTERRUPTS);
}

/// Disables the receive and receive-timeout interrupts.
pub fn disable_receive_interrupts() {
    let registers = registers();
    registers.interrupt_mask.set(registers.interrupt_mask.get() & !RECEIVE_INTERRUPTS);
}

/// The next received byte, or `None` when the receive FIFO is empty.
#[must_use]
pub fn read_byte() -> Option<u8> {
    let registers = registers();
    (registers.flags.get() & RECEIVE_EMPTY == 0).then(|| registers.data.get() as u8)
}

/// UARTMIS: the interrupts that are raised and enabled.
#[must_use]
pub fn masked_status() -> u32 {
    registers().masked_status.get()
}

/// Clears the receive and receive-timeout interrupts (UARTICR).
pub fn clear_receive_interrupts() {
    registers().interrupt_clear.set(RECEIVE_INTERRUPTS);
}
