//! PL011 UART at 0x0900_0000 on the guest platform: polled output through DR and FR only.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::registers::{ReadOnly, ReadWrite};
use tock_registers::{register_bitfields, register_structs};

/// Guest physical address of the PL011 on the guest platform (QEMU `virt` layout).
pub const PL011_BASE: usize = 0x0900_0000;

register_bitfields! {
    u32,
    /// UARTFR, the flag register.
    Flags [
        /// Transmit FIFO full.
        TXFF OFFSET(5) NUMBITS(1) []
    ]
}

register_structs! {
    /// The PL011 registers this driver uses.
    Pl011Registers {
        (0x00 => data: ReadWrite<u32>),
        (0x04 => _reserved),
        (0x18 => flags: ReadOnly<u32, Flags::Register>),
        (0x1C => @END),
    }
}

fn registers() -> &'static Pl011Registers {
    // SAFETY: the guest platform always has a PL011 at PL011_BASE (device memory, never reused as RAM),
    // and this driver only performs volatile accesses to DR and FR through it.
    unsafe { &*(PL011_BASE as *const Pl011Registers) }
}

/// Waits until the transmit FIFO has room, then sends one byte.
pub fn write_byte(byte: u8) {
    let registers = registers();
    while registers.flags.is_set(Flags::TXFF) {
        core::hint::spin_loop();
    }
    registers.data.set(u32::from(byte));
}
