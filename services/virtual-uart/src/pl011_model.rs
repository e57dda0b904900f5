//! The registers of one emulated PL011 as a guest sees them (PL011 TRM, Arm DDI 0183).
//!
//! Output only for now: the transmit FIFO is always empty and never full, so a guest never
//! waits; the receive FIFO is always empty. Reserved offsets read as zero and ignore writes.

/// Register offsets inside the 4 KiB frame.
mod offset {
    pub const DATA: u64 = 0x000;
    pub const FLAG: u64 = 0x018;
    pub const INTEGER_BAUD_RATE: u64 = 0x024;
    pub const FRACTIONAL_BAUD_RATE: u64 = 0x028;
    pub const LINE_CONTROL: u64 = 0x02C;
    pub const CONTROL: u64 = 0x030;
    pub const FIFO_LEVEL_SELECT: u64 = 0x034;
    pub const INTERRUPT_MASK: u64 = 0x038;
    pub const DMA_CONTROL: u64 = 0x048;
    pub const IDENTIFICATION: u64 = 0xFE0;
}

/// FR: receive FIFO empty.
const FLAG_RECEIVE_EMPTY: u32 = 1 << 4;
/// FR: transmit FIFO empty.
const FLAG_TRANSMIT_EMPTY: u32 = 1 << 7;
/// UARTPeriphID0..3 and UARTPCellID0..3, as an Arm PL011 r1p5 reports them.
const IDENTIFICATION: [u32; 8] = [0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1];
/// CR after reset: UART disabled, transmit and receive enabled.
const CONTROL_RESET: u32 = 0x0300;
/// IFLS after reset: both FIFOs at half.
const FIFO_LEVEL_RESET: u32 = 0x12;

/// The outcome of a guest write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteEffect {
    /// Nothing visible outside the device.
    None,
    /// The guest transmitted this byte.
    Transmit(u8),
}

/// One PL011's register state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pl011Model {
    integer_baud_rate: u32,
    fractional_baud_rate: u32,
    line_control: u32,
    control: u32,
    fifo_level_select: u32,
    interrupt_mask: u32,
    dma_control: u32,
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
        }
    }

    /// The value a guest reads at `offset` (any size; registers are 32 bits wide).
    #[must_use]
    pub fn read(&self, offset: u64) -> u32 {
        match offset {
            offset::FLAG => FLAG_RECEIVE_EMPTY | FLAG_TRANSMIT_EMPTY,
            offset::INTEGER_BAUD_RATE => self.integer_baud_rate,
            offset::FRACTIONAL_BAUD_RATE => self.fractional_baud_rate,
            offset::LINE_CONTROL => self.line_control,
            offset::CONTROL => self.control,
            offset::FIFO_LEVEL_SELECT => self.fifo_level_select,
            offset::INTERRUPT_MASK => self.interrupt_mask,
            offset::DMA_CONTROL => self.dma_control,
            identification if (offset::IDENTIFICATION..0x1000).contains(&identification) && identification % 4 == 0 => {
                IDENTIFICATION[((identification - offset::IDENTIFICATION) / 4) as usize]
            }
            // DR with an empty receive FIFO, the status/interrupt registers with nothing raised,
            // and every reserved offset.
            _ => 0,
        }
    }

    /// Applies a guest write of `value` at `offset`.
    pub fn write(&mut self, offset: u64, value: u32) -> WriteEffect {
        match offset {
            offset::DATA => return WriteEffect::Transmit(value as u8),
            offset::INTEGER_BAUD_RATE => self.integer_baud_rate = value & 0xFFFF,
            offset::FRACTIONAL_BAUD_RATE => self.fractional_baud_rate = value & 0x3F,
            offset::LINE_CONTROL => self.line_control = value & 0xFF,
            offset::CONTROL => self.control = value & 0xFF87,
            offset::FIFO_LEVEL_SELECT => self.fifo_level_select = value & 0x3F,
            offset::INTERRUPT_MASK => self.interrupt_mask = value & 0x7FF,
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
    fn transmit_never_blocks_and_receive_is_empty() {
        let uart = Pl011Model::new();
        let flags = uart.read(offset::FLAG);
        assert_eq!(flags & (1 << 5), 0, "TXFF clear");
        assert_ne!(flags & FLAG_TRANSMIT_EMPTY, 0);
        assert_ne!(flags & FLAG_RECEIVE_EMPTY, 0);
        assert_eq!(uart.read(offset::DATA), 0);
    }

    #[test]
    fn identification_registers_match_a_pl011() {
        let uart = Pl011Model::new();
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
}
