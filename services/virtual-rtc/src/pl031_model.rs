//! One Arm PL031 real-time clock as a guest sees it: a seconds counter that runs from the
//! hypervisor's monotonic clock, a match register whose alarm raises the interrupt, and the
//! PrimeCell identification registers Linux's AMBA bus reads before it binds `rtc-pl031`.

/// Nanoseconds per second.
const NANOSECONDS_PER_SECOND: u64 = 1_000_000_000;

/// Data register: the current count (read only).
const DATA: u64 = 0x000;
/// Match register: the alarm fires when the count reaches it.
const MATCH: u64 = 0x004;
/// Load register: writing sets the count.
const LOAD: u64 = 0x008;
/// Control register: bit 0 starts the counter, which cannot be stopped.
const CONTROL: u64 = 0x00C;
/// Interrupt mask set/clear register (bit 0: the alarm interrupt is enabled).
const INTERRUPT_MASK: u64 = 0x010;
/// Raw interrupt status.
const RAW_INTERRUPT_STATUS: u64 = 0x014;
/// Masked interrupt status.
const MASKED_INTERRUPT_STATUS: u64 = 0x018;
/// Interrupt clear register (write only).
const INTERRUPT_CLEAR: u64 = 0x01C;
/// First of the eight PrimeCell identification registers.
const IDENTIFICATION: u64 = 0xFE0;
/// PL031 peripheral ID 0..3, then the PrimeCell ID 0..3 (what the hardware and QEMU report).
const IDENTIFICATION_VALUES: [u32; 8] = [0x31, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1];

/// The state of one PL031.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pl031Model {
    /// Count at monotonic time 0: count(t) = base + whole seconds of t (modulo 2^32).
    base: u32,
    /// Last value written to the load register.
    loaded: u32,
    /// The match register.
    match_value: u32,
    /// Interrupt mask (bit 0).
    mask: bool,
    /// Raw interrupt status (bit 0).
    raised: bool,
    /// When the count reaches `match_value`, if that alarm is still to come.
    alarm_at_ns: Option<u64>,
}

impl Pl031Model {
    /// A clock that reads `epoch_seconds` at monotonic time 0, with no alarm.
    #[must_use]
    pub const fn new(epoch_seconds: u32) -> Self {
        Self { base: epoch_seconds, loaded: 0, match_value: 0, mask: false, raised: false, alarm_at_ns: None }
    }

    /// The count at monotonic time `now_ns`.
    #[must_use]
    pub fn count(&self, now_ns: u64) -> u32 {
        self.base.wrapping_add(seconds_of(now_ns))
    }

    /// Whether the interrupt line is high (alarm raised and not masked).
    #[must_use]
    pub const fn interrupt_level(&self) -> bool {
        self.raised && self.mask
    }

    /// When the pending alarm fires, if one is set.
    #[must_use]
    pub const fn alarm_at_ns(&self) -> Option<u64> {
        self.alarm_at_ns
    }

    /// Reads the 32-bit register at `offset`; unknown offsets read as zero.
    #[must_use]
    pub fn read(&self, offset: u64, now_ns: u64) -> u32 {
        match offset {
            DATA => self.count(now_ns),
            MATCH => self.match_value,
            LOAD => self.loaded,
            // The counter always runs, as on QEMU's model.
            CONTROL => 1,
            INTERRUPT_MASK => u32::from(self.mask),
            RAW_INTERRUPT_STATUS => u32::from(self.raised),
            MASKED_INTERRUPT_STATUS => u32::from(self.interrupt_level()),
            IDENTIFICATION..=0xFFC if offset.is_multiple_of(4) => {
                IDENTIFICATION_VALUES[((offset - IDENTIFICATION) / 4) as usize]
            }
            _ => 0,
        }
    }

    /// Writes the 32-bit register at `offset`; read-only and unknown offsets ignore it.
    pub fn write(&mut self, offset: u64, value: u32, now_ns: u64) {
        match offset {
            MATCH => {
                self.match_value = value;
                self.schedule_alarm(now_ns);
            }
            LOAD => {
                self.loaded = value;
                self.base = value.wrapping_sub(seconds_of(now_ns));
                self.schedule_alarm(now_ns);
            }
            INTERRUPT_MASK => self.mask = value & 1 != 0,
            INTERRUPT_CLEAR if value & 1 != 0 => self.raised = false,
            _ => {}
        }
    }

    /// Raises the alarm if its time has come; whether it did.
    pub fn expire(&mut self, now_ns: u64) -> bool {
        match self.alarm_at_ns {
            Some(at) if at <= now_ns => {
                self.alarm_at_ns = None;
                self.raised = true;
                true
            }
            _ => false,
        }
    }

    /// The count reaches the match value at the start of a whole second `delta` seconds from the
    /// current one; a match equal to the count fires at once, as on QEMU's model.
    fn schedule_alarm(&mut self, now_ns: u64) {
        let delta = u64::from(self.match_value.wrapping_sub(self.count(now_ns)));
        self.alarm_at_ns = if delta == 0 {
            self.raised = true;
            None
        } else {
            Some((u64::from(seconds_of(now_ns)) + delta).saturating_mul(NANOSECONDS_PER_SECOND))
        };
    }
}

/// Whole seconds of `ns`, modulo 2^32 (the counter wraps like the hardware's).
const fn seconds_of(ns: u64) -> u32 {
    (ns / NANOSECONDS_PER_SECOND) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = NANOSECONDS_PER_SECOND;

    #[test]
    fn counts_seconds_from_the_epoch_and_from_a_load() {
        let mut rtc = Pl031Model::new(1_700_000_000);
        assert_eq!(rtc.read(DATA, 0), 1_700_000_000);
        assert_eq!(rtc.read(DATA, 2 * SECOND + 5), 1_700_000_002);
        rtc.write(LOAD, 100, 10 * SECOND + 300);
        assert_eq!(rtc.read(DATA, 10 * SECOND + 999), 100);
        assert_eq!(rtc.read(DATA, 11 * SECOND), 101);
        assert_eq!(rtc.read(LOAD, 11 * SECOND), 100);
        rtc.write(DATA, 5, 11 * SECOND);
        assert_eq!(rtc.read(DATA, 11 * SECOND), 101, "the data register is read only");
    }

    #[test]
    fn alarm_fires_when_the_count_reaches_the_match() {
        let mut rtc = Pl031Model::new(1000);
        rtc.write(INTERRUPT_MASK, 1, 0);
        rtc.write(MATCH, 1003, SECOND / 2);
        assert_eq!(rtc.alarm_at_ns(), Some(3 * SECOND));
        assert!(!rtc.expire(3 * SECOND - 1));
        assert!(!rtc.interrupt_level());
        assert!(rtc.expire(3 * SECOND));
        assert!(rtc.interrupt_level());
        assert_eq!(rtc.read(MASKED_INTERRUPT_STATUS, 3 * SECOND), 1);
        rtc.write(INTERRUPT_CLEAR, 1, 3 * SECOND);
        assert!(!rtc.interrupt_level());
        assert!(!rtc.expire(10 * SECOND), "one alarm per match write");
    }

    #[test]
    fn mask_gates_the_line_but_not_the_raw_status() {
        let mut rtc = Pl031Model::new(0);
        rtc.write(MATCH, 1, 0);
        assert!(rtc.expire(SECOND));
        assert_eq!(rtc.read(RAW_INTERRUPT_STATUS, SECOND), 1);
        assert!(!rtc.interrupt_level());
        rtc.write(INTERRUPT_MASK, 1, SECOND);
        assert!(rtc.interrupt_level());
    }

    #[test]
    fn a_match_equal_to_the_count_fires_at_once_and_a_past_one_after_wrapping() {
        let mut rtc = Pl031Model::new(50);
        rtc.write(MATCH, 50, 0);
        assert_eq!(rtc.read(RAW_INTERRUPT_STATUS, 0), 1);
        rtc.write(INTERRUPT_CLEAR, 1, 0);
        rtc.write(MATCH, 49, 0);
        assert_eq!(rtc.alarm_at_ns(), Some(u64::from(u32::MAX) * SECOND));
    }

    #[test]
    fn a_load_moves_the_pending_alarm() {
        let mut rtc = Pl031Model::new(0);
        rtc.write(MATCH, 10, 0);
        assert_eq!(rtc.alarm_at_ns(), Some(10 * SECOND));
        rtc.write(LOAD, 8, SECOND);
        assert_eq!(rtc.alarm_at_ns(), Some(3 * SECOND));
    }

    #[test]
    fn identification_and_unknown_registers() {
        let rtc = Pl031Model::new(0);
        let ids: [u32; 8] = core::array::from_fn(|index| rtc.read(IDENTIFICATION + 4 * index as u64, 0));
        assert_eq!(ids, IDENTIFICATION_VALUES);
        assert_eq!(rtc.read(CONTROL, 0), 1);
        for offset in [0x020, 0x100, 0xFDC, 0xFE2, 0x1000, u64::MAX] {
            assert_eq!(rtc.read(offset, 0), 0, "offset {offset:#x}");
        }
        let mut written = rtc;
        for offset in [DATA, RAW_INTERRUPT_STATUS, MASKED_INTERRUPT_STATUS, 0xFE0, 0x500, u64::MAX] {
            written.write(offset, u32::MAX, 0);
        }
        assert_eq!(written, rtc, "read-only and unknown registers ignore writes");
    }
}
