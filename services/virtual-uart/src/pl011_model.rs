//! The registers of one emulated PL011 as a guest sees them (PL011 TRM, Arm DDI 0183).
//!
//! The transmit FIFO is always empty (output goes straight to the console), so a guest never
//! waits and the transmit interrupt is always raised (masked unless the guest enables TXIM). The
//! receive FIFO holds what the console sends this domain; receive and receive-timeout interrupts
//! are raised while it is not empty. In loopback mode (CR.LBE) transmitted bytes are received.
//! Reserved offsets read as zero and ignore writes.

/// Register offsets inside the 4 KiB frame.
pub(crate) mod offset {
    pub const DATA: u64 = 0x000;
    pub const RECEIVE_STATUS: u64 = 0x004;
    pub const FLAG: u64 = 0x018;
    pub const INTEGER_BAUD_RATE: u64 = 0x024;
    pub const FRACTIONAL_BAUD_RATE: u64 = 0x028;
    pub const LINE_CONTROL: u64 = 0x02C;
    pub const CONTROL: u64 = 0x030;
    pub const FIFO_LEVEL_SELECT: u64 = 0x034;
    pub const INTERRUPT_MASK: u64 = 0x038;
    pub const RAW_INTERRUPT_STATUS: u64 = 0x03C;
    pub const MASKED_INTERRUPT_STATUS: u64 = 0x040;
    pub const INTERRUPT_CLEAR: u64 = 0x044;
    pub const DMA_CONTROL: u64 = 0x048;
    pub const IDENTIFICATION: u64 = 0xFE0;
}

/// FR: receive FIFO empty.
const FLAG_RECEIVE_EMPTY: u32 = 1 << 4;
/// FR: receive FIFO full.
const FLAG_RECEIVE_FULL: u32 = 1 << 6;
/// FR: transmit FIFO empty.
const FLAG_TRANSMIT_EMPTY: u32 = 1 << 7;
/// Interrupt bits (IMSC, RIS, MIS, ICR): receive, transmit, receive timeout, overrun.
const INTERRUPT_RECEIVE: u32 = 1 << 4;
const INTERRUPT_TRANSMIT: u32 = 1 << 5;
const INTERRUPT_RECEIVE_TIMEOUT: u32 = 1 << 6;
const INTERRUPT_OVERRUN: u32 = 1 << 10;
/// CR: loopback enable.
const CONTROL_LOOPBACK: u32 = 1 << 7;
/// RSR/ECR and DR: overrun error.
const ERROR_OVERRUN: u32 = 1 << 3;
/// UARTPeriphID0..3 and UARTPCellID0..3, as an Arm PL011 r1p5 reports them.
const IDENTIFICATION: [u32; 8] = [0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1];
/// CR after reset: UART disabled, transmit and receive enabled.
const CONTROL_RESET: u32 = 0x0300;
/// IFLS after reset: both FIFOs at half.
const FIFO_LEVEL_RESET: u32 = 0x12;
/// Depth of the receive FIFO.
pub const RECEIVE_FIFO_DEPTH: usize = 32;

/// The outcome of a guest write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteEffect {
    /// Nothing visible outside the device.
    None,
    /// The guest transmitted this byte.
    Transmit(u8),
}

/// One PL011's register state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pl011Model {
    integer_baud_rate: u32,
    fractional_baud_rate: u32,
    line_control: u32,
    control: u32,
    fifo_level_select: u32,
    interrupt_mask: u32,
    dma_control: u32,
    receive: heapless::Deque<u8, RECEIVE_FIFO_DEPTH>,
    overrun: bool,
}

impl Default for Pl011Model {
    fn default() -> Self {
        Self::new()
    }
}

impl Pl011Model {
    /// A PL011 in its reset state.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            integer_baud_rate: 0,
            fractional_baud_rate: 0,
            line_control: 0,
            control: CONTROL_RESET,
            fifo_level_select: FIFO_LEVEL_RESET,
            interrupt_mask: 0,
            dma_control: 0,
            receive: heapless::Deque::new(),
            overrun: false,
        }
    }

    fn raw_interrupts(&self) -> u32 {
        let receive = if self.receive.is_empty() { 0 } else { INTERRUPT_RECEIVE | INTERRUPT_RECEIVE_TIMEOUT };
        let overrun = if self.overrun { INTERRUPT_OVERRUN } else { 0 };
        receive | overrun | INTERRUPT_TRANSMIT
    }

    /// Whether the interrupt line is raised (some enabled interrupt is active).
    #[must_use]
    pub fn interrupt_level(&self) -> bool {
        self.raw_interrupts() & self.interrupt_mask != 0
    }

    /// Whether the receive FIFO has room for another byte.
    #[must_use]
    pub fn can_receive(&self) -> bool {
        !self.receive.is_full()
    }

    /// A byte arrives from the console; dropped (and an overrun flagged) when the FIFO is full.
    pub fn receive(&mut self, byte: u8) {
        if self.receive.push_back(byte).is_err() {
            self.overrun = true;
        }
    }

    /// The value a guest reads at `offset` (registers are 32 bits wide); reading DR takes a byte.
    pub fn read(&mut self, offset: u64) -> u32 {
        match offset {
            offset::DATA => self.receive.pop_front().map_or(0, u32::from),
            offset::RECEIVE_STATUS if self.overrun => ERROR_OVERRUN,
            offset::FLAG => {
                let empty = if self.receive.is_empty() { FLAG_RECEIVE_EMPTY } else { 0 };
                let full = if self.receive.is_full() { FLAG_RECEIVE_FULL } else { 0 };
                empty | full | FLAG_TRANSMIT_EMPTY
            }
            offset::INTEGER_BAUD_RATE => self.integer_baud_rate,
            offset::FRACTIONAL_BAUD_RATE => self.fractional_baud_rate,
            offset::LINE_CONTROL => self.line_control,
            offset::CONTROL => self.control,
            offset::FIFO_LEVEL_SELECT => self.fifo_level_select,
            offset::INTERRUPT_MASK => self.interrupt_mask,
            offset::RAW_INTERRUPT_STATUS => self.raw_interrupts(),
            offset::MASKED_INTERRUPT_STATUS => self.raw_interrupts() & self.interrupt_mask,
            offset::DMA_CONTROL => self.dma_control,
            identification if (offset::IDENTIFICATION..0x1000).contains(&identification) && identification % 4 == 0 => {
                IDENTIFICATION[((identification - offset::IDENTIFICATION) / 4) as usize]
            }
            _ => 0,
        }
    }

    /// Applies a guest write of `value` at `offset`.
    pub fn write(&mut self, offset: u64, value: u32) -> WriteEffect {
        match offset {
            offset::DATA => {
                let byte = value as u8;
                if self.control & CONTROL_LOOPBACK != 0 {
                    self.receive(byte);
                    return WriteEffect::None;
                }
                return WriteEffect::Transmit(byte);
            }
            // RSR/ECR: a write clears the errors.
            offset::RECEIVE_STATUS => self.overrun = false,
            offset::INTEGER_BAUD_RATE => self.integer_baud_rate = value & 0xFFFF,
            offset::FRACTIONAL_BAUD_RATE => self.fractional_baud_rate = value & 0x3F,
            offset::LINE_CONTROL => self.line_control = value & 0xFF,
            offset::CONTROL => self.control = value & 0xFF87,
            offset::FIFO_LEVEL_SELECT => self.fifo_level_select = value & 0x3F,
            offset::INTERRUPT_MASK => self.interrupt_mask = value & 0x7FF,
            offset::INTERRUPT_CLEAR if value & INTERRUPT_OVERRUN != 0 => self.overrun = false,
            offset::DMA_CONTROL => self.dma_control = value & 0x7,
            _ => {}
        }
        WriteEffect::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transmit_never_blocks_and_receive_starts_empty() {
        let mut uart = Pl011Model::new();
        let flags = uart.read(offset::FLAG);
        assert_eq!(flags & (1 << 5), 0, "TXFF clear");
        assert_ne!(flags & FLAG_TRANSMIT_EMPTY, 0);
        assert_ne!(flags & FLAG_RECEIVE_EMPTY, 0);
        assert_eq!(uart.read(offset::DATA), 0);
        assert!(!uart.interrupt_level(), "everything masked after reset");
    }

    #[test]
    fn identification_registers_match_a_pl011() {
        let mut uart = Pl011Model::new();
        let ids: [u32; 8] = core::array::from_fn(|index| uart.read(0xFE0 + 4 * index as u64));
        assert_eq!(ids, IDENTIFICATION);
        assert_eq!(uart.read(0xFE2), 0, "unaligned offsets are reserved");
    }

    #[test]
    fn data_writes_transmit_and_registers_hold_their_bits() {
        let mut uart = Pl011Model::new();
        assert_eq!(uart.write(offset::DATA, 0x1_41), WriteEffect::Transmit(b'A'));
        assert_eq!(uart.write(offset::CONTROL, 0xFFFF_FFFF), WriteEffect::None);
        assert_eq!(uart.read(offset::CONTROL), 0xFF87);
        assert_eq!(uart.write(0x800, 5), WriteEffect::None);
        assert_eq!(uart.read(0x800), 0);
    }

    #[test]
    fn received_bytes_raise_the_enabled_interrupt_until_read() {
        let mut uart = Pl011Model::new();
        uart.write(offset::INTERRUPT_MASK, INTERRUPT_RECEIVE | INTERRUPT_RECEIVE_TIMEOUT);
        uart.receive(b'p');
        uart.receive(b'q');
        assert!(uart.interrupt_level());
        assert_eq!(uart.read(offset::FLAG) & FLAG_RECEIVE_EMPTY, 0);
        assert_eq!(uart.read(offset::MASKED_INTERRUPT_STATUS), INTERRUPT_RECEIVE | INTERRUPT_RECEIVE_TIMEOUT);
        assert_eq!(uart.read(offset::DATA), u32::from(b'p'));
        assert_eq!(uart.read(offset::DATA), u32::from(b'q'));
        assert!(!uart.interrupt_level());
    }

    #[test]
    fn transmit_interrupt_is_raised_while_enabled_and_overrun_is_flagged() {
        let mut uart = Pl011Model::new();
        uart.write(offset::INTERRUPT_MASK, INTERRUPT_TRANSMIT);
        assert!(uart.interrupt_level());
        for byte in 0..=RECEIVE_FIFO_DEPTH as u8 {
            uart.receive(byte);
        }
        assert_eq!(uart.read(offset::RECEIVE_STATUS), ERROR_OVERRUN);
        assert_ne!(uart.read(offset::FLAG) & FLAG_RECEIVE_FULL, 0);
        uart.write(offset::INTERRUPT_CLEAR, INTERRUPT_OVERRUN);
        assert_eq!(uart.read(offset::RECEIVE_STATUS), 0);
    }

    #[test]
    fn loopback_receives_what_is_sent() {
        let mut uart = Pl011Model::new();
        uart.write(offset::CONTROL, CONTROL_RESET | CONTROL_LOOPBACK | 1);
        assert_eq!(uart.write(offset::DATA, u32::from(b'x')), WriteEffect::None);
        assert_eq!(uart.read(offset::DATA), u32::from(b'x'));
    }
}
