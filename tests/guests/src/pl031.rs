//! The PL031 real-time clock at 0x0901_0000 on the guest platform (when the domain is given one),
//! interrupting as SPI 2 (INTID 34): seconds counter, match register and alarm interrupt.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

/// Guest physical address of the PL031 (QEMU `virt` layout).
pub const PL031_BASE: usize = 0x0901_0000;

/// INTID of the PL031's interrupt (SPI 2).
pub const INTID: u32 = 34;

/// RTCPeriphID0..3 of a PL031 as one little-endian word.
pub const PL031_IDENTIFICATION: u32 = 0x0014_1031;

/// The alarm interrupt bit of RTCIMSC, RTCRIS, RTCMIS and RTCICR.
const ALARM: u32 = 1;

/// RTCCR bit 0: the counter runs.
const START: u32 = 1;

register_structs! {
    /// The PL031 registers.
    pub Pl031Registers {
        /// RTCDR: current time in seconds.
        (0x000 => pub data: ReadOnly<u32>),
        /// RTCMR: the alarm fires when RTCDR equals it.
        (0x004 => pub match_value: ReadWrite<u32>),
        /// RTCLR: writing sets RTCDR.
        (0x008 => pub load: ReadWrite<u32>),
        /// RTCCR.
        (0x00C => pub control: ReadWrite<u32>),
        /// RTCIMSC: interrupt mask set/clear (1 = enabled).
        (0x010 => pub interrupt_mask: ReadWrite<u32>),
        /// RTCRIS: raw interrupt status.
        (0x014 => pub raw_status: ReadOnly<u32>),
        /// RTCMIS: masked interrupt status.
        (0x018 => pub masked_status: ReadOnly<u32>),
        /// RTCICR: writing 1 clears the interrupt.
        (0x01C => pub interrupt_clear: WriteOnly<u32>),
        (0x020 => @END),
    }
}

fn registers() -> &'static Pl031Registers {
    // SAFETY: guests use this module only on a platform with a PL031 at PL031_BASE (device memory,
    // never RAM); every access is a volatile MMIO access.
    unsafe { &*(PL031_BASE as *const Pl031Registers) }
}

/// The current time in seconds (RTCDR).
#[must_use]
pub fn seconds() -> u32 {
    registers().data.get()
}

/// Starts the counter if stopped, clears a pending alarm and arms the alarm for time `seconds` with its
/// interrupt enabled.
pub fn arm_alarm(seconds: u32) {
    let registers = registers();
    registers.control.set(START);
    registers.interrupt_mask.set(0);
    registers.interrupt_clear.set(ALARM);
    registers.match_value.set(seconds);
    registers.interrupt_mask.set(ALARM);
}

/// Whether the alarm interrupt is raised and enabled (RTCMIS).
#[must_use]
pub fn alarm_pending() -> bool {
    registers().masked_status.get() & ALARM != 0
}

/// Whether the alarm condition is raised, enabled or not (RTCRIS).
#[must_use]
pub fn alarm_raised() -> bool {
    registers().raw_status.get() & ALARM != 0
}

/// Clears the alarm interrupt (RTCICR).
pub fn clear_alarm() {
    registers().interrupt_clear.set(ALARM);
}

/// Disables the alarm interrupt (RTCIMSC = 0).
pub fn disable_alarm() {
    registers().interrupt_mask.set(0);
}

/// RTCPeriphID0..3, each register's low byte, as one little-endian word.
#[must_use]
pub fn identification() -> u32 {
    (0..4).fold(0, |word, index| {
        let address = PL031_BASE + 0xFE0 + 4 * index;
        // SAFETY: as in `registers`: a volatile read of an identification register of the PL031,
        // which has no side effect.
        let byte = unsafe { core::ptr::read_volatile(address as *const u32) } & 0xFF;
        word | (byte << (8 * index))
    })
}

/// Sets the clock to `seconds` (RTCLR).
pub fn load(seconds: u32) {
    registers().load.set(seconds);
}
