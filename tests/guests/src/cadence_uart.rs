//! The ZynqMP's second Cadence UART (UART1) as a zcu102 domain given it (`devices = ["uart1"]`)
//! sees it: at 0xFF01_0000, interrupting as SPI 22 (INTID 54), described by a
//! `cdns,uart-r1p12` node of its device tree. Local loopback (MR.CHMODE = 0b10) sends every
//! transmitted byte straight into the receive FIFO, so the UART can be tested without a wire; the
//! receive trigger interrupt (RTRIG) fires once the FIFO holds the trigger level.

use fdt::Fdt;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

/// Guest physical address of UART1 (its address on the ZynqMP).
pub const UART1_BASE: usize = 0xFF01_0000;

/// INTID of UART1's interrupt (SPI 22).
pub const UART1_INTID: u32 = 54;

/// `compatible` string every Cadence UART of the ZynqMP carries.
const COMPATIBLE: &str = "cdns,uart-r1p12";

/// CR: receiver and transmitter logic reset (self-clearing).
const CONTROL_RESET_BOTH: u32 = 0b11;
/// CR: receiver enable (bit 2) and transmitter enable (bit 4).
const CONTROL_ENABLE_BOTH: u32 = (1 << 2) | (1 << 4);
/// MR: local loopback (CHMODE = 0b10, bits 9:8), no parity (PAR = 0b1xx, bits 5:3), 8 data bits
/// and 1 stop bit (zero fields).
const MODE_LOCAL_LOOPBACK_8N1: u32 = (0b10 << 8) | (0b100 << 3);
/// Interrupt bits (IER, IDR, IMR, CISR) and the low bits of SR: receive FIFO at the trigger level.
pub const RECEIVE_TRIGGER: u32 = 1 << 0;
/// SR: the receive FIFO is empty.
const STATUS_RECEIVE_EMPTY: u32 = 1 << 1;
/// SR: the transmit FIFO is full.
const STATUS_TRANSMIT_FULL: u32 = 1 << 4;
/// Every interrupt bit of IER, IDR, IMR and CISR.
const ALL_INTERRUPTS: u32 = 0x1FFF;

register_structs! {
    /// The Cadence UART registers used here.
    CadenceUartRegisters {
        /// CR: control.
        (0x00 => control: ReadWrite<u32>),
        /// MR: mode.
        (0x04 => mode: ReadWrite<u32>),
        /// IER: writing 1 enables an interrupt.
        (0x08 => interrupt_enable: WriteOnly<u32>),
        /// IDR: writing 1 disables an interrupt.
        (0x0C => interrupt_disable: WriteOnly<u32>),
        /// IMR: the enabled interrupts.
        (0x10 => interrupt_mask: ReadOnly<u32>),
        /// CISR: raised interrupts; writing 1 clears.
        (0x14 => interrupt_status: ReadWrite<u32>),
        (0x18 => _baud_and_timeout),
        /// RTRIG: receive FIFO trigger level.
        (0x20 => receive_trigger: ReadWrite<u32>),
        (0x24 => _modem),
        /// SR: channel status.
        (0x2C => status: ReadOnly<u32>),
        /// The transmit and receive FIFOs.
        (0x30 => fifo: ReadWrite<u32>),
        (0x34 => @END),
    }
}

fn registers() -> &'static CadenceUartRegisters {
    // SAFETY: guests use this module only when their device tree describes UART1 at UART1_BASE
    // (device memory, never RAM), or to show that touching it aborts; every access is a volatile
    // MMIO access.
    unsafe { &*(UART1_BASE as *const CadenceUartRegisters) }
}

/// UART1 as the device tree describes it: its frame and its INTID, if the tree has a Cadence UART
/// with one SPI.
#[must_use]
pub fn from_device_tree(tree: &Fdt<'_>) -> Option<(u64, u32)> {
    let node = tree.find_compatible(&[COMPATIBLE])?;
    let base = node.reg()?.next()?.starting_address as u64;
    let value = node.property("interrupts")?.value;
    let mut cells = value.chunks_exact(4).map(|cell| u32::from_be_bytes([cell[0], cell[1], cell[2], cell[3]]));
    // <GIC_SPI number flags>: SPI n is INTID 32 + n.
    let (kind, number) = (cells.next()?, cells.next()?);
    (kind == 0).then_some((base, 32 + number))
}

/// Resets both FIFOs, selects local loopback with 8N1 framing, sets the receive trigger level to
/// `trigger_level` bytes and enables only the receive trigger interrupt, with nothing pending.
pub fn start_local_loopback(trigger_level: u32) {
    let registers = registers();
    registers.interrupt_disable.set(ALL_INTERRUPTS);
    registers.control.set(CONTROL_RESET_BOTH);
    registers.mode.set(MODE_LOCAL_LOOPBACK_8N1);
    registers.receive_trigger.set(trigger_level);
    registers.control.set(CONTROL_ENABLE_BOTH);
    registers.interrupt_status.set(ALL_INTERRUPTS);
    registers.interrupt_enable.set(RECEIVE_TRIGGER);
}

/// Disables every interrupt of the UART and clears the raised ones.
pub fn stop_interrupts() {
    let registers = registers();
    registers.interrupt_disable.set(ALL_INTERRUPTS);
    registers.interrupt_status.set(ALL_INTERRUPTS);
}

/// The enabled interrupts (IMR).
#[must_use]
pub fn enabled_interrupts() -> u32 {
    registers().interrupt_mask.get()
}

/// Sends `byte` once the transmit FIFO has room (in local loopback it lands in the receive FIFO).
pub fn send(byte: u8) {
    let registers = registers();
    while registers.status.get() & STATUS_TRANSMIT_FULL != 0 {
        core::hint::spin_loop();
    }
    registers.fifo.set(u32::from(byte));
}

/// The next received byte, or `None` when the receive FIFO is empty.
#[must_use]
pub fn receive() -> Option<u8> {
    let registers = registers();
    (registers.status.get() & STATUS_RECEIVE_EMPTY == 0).then(|| registers.fifo.get() as u8)
}

/// The raised interrupts (CISR), enabled or not.
#[must_use]
pub fn raised_interrupts() -> u32 {
    registers().interrupt_status.get()
}

/// Clears the raised interrupts in `bits` (CISR is write-1-to-clear); one whose condition still
/// holds is raised again at once.
pub fn clear_interrupts(bits: u32) {
    registers().interrupt_status.set(bits);
}
