//! Arm generic timer: conversions between counter ticks and nanoseconds, and a busy-wait delay on
//! the physical counter.
//!
//! The conversions are pure and tested on the host; `GenericTimer`, which reads CNTFRQ_EL0 and
//! CNTPCT_EL0, only exists on AArch64.

use core::num::NonZeroU64;

const NANOSECONDS_PER_SECOND: u128 = 1_000_000_000;

/// The frequency of the system counter, in hertz (never zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterFrequency(NonZeroU64);

impl CounterFrequency {
    /// A frequency of `hertz`, or `None` if it is zero (firmware left CNTFRQ_EL0 unset).
    #[must_use]
    pub const fn new(hertz: u64) -> Option<Self> {
        match NonZeroU64::new(hertz) {
            Some(hertz) => Some(Self(hertz)),
            None => None,
        }
    }

    /// The frequency in hertz.
    #[must_use]
    pub const fn hertz(self) -> u64 {
        self.0.get()
    }

    /// How long `ticks` counter ticks take, in nanoseconds, rounded down; saturates at
    /// `u64::MAX` (about 584 years).
    #[must_use]
    pub const fn ticks_to_nanoseconds(self, ticks: u64) -> u64 {
        let nanoseconds = ticks as u128 * NANOSECONDS_PER_SECOND / self.0.get() as u128;
        saturate(nanoseconds)
    }

    /// How many counter ticks cover at least `nanoseconds`, rounded up so that a delay is never
    /// shorter than asked; saturates at `u64::MAX`.
    #[must_use]
    pub const fn nanoseconds_to_ticks(self, nanoseconds: u64) -> u64 {
        let scaled = nanoseconds as u128 * self.0.get() as u128;
        saturate(scaled.div_ceil(NANOSECONDS_PER_SECOND))
    }
}

const fn saturate(value: u128) -> u64 {
    if value > u64::MAX as u128 { u64::MAX } else { value as u64 }
}

#[cfg(target_arch = "aarch64")]
pub use timer::GenericTimer;

#[cfg(target_arch = "aarch64")]
mod timer {
    use aarch64_cpu::asm::barrier::{SY, isb};
    use aarch64_cpu::registers::{CNTFRQ_EL0, CNTPCT_EL0};
    use embedded_hal::delay::DelayNs;
    use tock_registers::interfaces::Readable;

    use super::CounterFrequency;

    /// The physical system counter of the running CPU, as seen from EL2.
    #[derive(Clone, Copy, Debug)]
    pub struct GenericTimer {
        frequency: CounterFrequency,
    }

    impl GenericTimer {
        /// The counter with the frequency firmware wrote to CNTFRQ_EL0, or `None` if it is zero.
        #[must_use]
        pub fn new() -> Option<Self> {
            CounterFrequency::new(CNTFRQ_EL0.get()).map(Self::with_frequency)
        }

        /// The counter with a frequency known otherwise (a board constant).
        #[must_use]
        pub const fn with_frequency(frequency: CounterFrequency) -> Self {
            Self { frequency }
        }

        /// The counter's frequency.
        #[must_use]
        pub const fn frequency(&self) -> CounterFrequency {
            self.frequency
        }

        /// The current count of CNTPCT_EL0, read after an ISB so that it is not read early.
        #[must_use]
        pub fn ticks(&self) -> u64 {
            isb(SY);
            CNTPCT_EL0.get()
        }

        /// Nanoseconds elapsed since the counter read `start_ticks`.
        #[must_use]
        pub fn nanoseconds_since(&self, start_ticks: u64) -> u64 {
            self.frequency.ticks_to_nanoseconds(self.ticks().wrapping_sub(start_ticks))
        }
    }

    impl DelayNs for GenericTimer {
        fn delay_ns(&mut self, nanoseconds: u32) {
            let start = self.ticks();
            let duration = self.frequency.nanoseconds_to_ticks(u64::from(nanoseconds));
            while self.ticks().wrapping_sub(start) < duration {
                core::hint::spin_loop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QEMU's default counter frequency.
    const QEMU: CounterFrequency = CounterFrequency::new(62_500_000).unwrap();
    /// The frequency under `-global cortex-a53-arm-cpu.cntfrq=1000000000`.
    const ONE_GIGAHERTZ: CounterFrequency = CounterFrequency::new(1_000_000_000).unwrap();

    #[test]
    fn zero_frequency_is_refused() {
        assert_eq!(CounterFrequency::new(0), None);
        assert_eq!(CounterFrequency::new(24_000_000).map(CounterFrequency::hertz), Some(24_000_000));
    }

    #[test]
    fn ticks_to_nanoseconds_at_qemu_frequency() {
        assert_eq!(QEMU.ticks_to_nanoseconds(0), 0);
        assert_eq!(QEMU.ticks_to_nanoseconds(1), 16);
        assert_eq!(QEMU.ticks_to_nanoseconds(62_500_000), 1_000_000_000);
    }

    #[test]
    fn one_gigahertz_is_the_identity() {
        for value in [0, 1, 999, 1_000_000_007, u64::MAX] {
            assert_eq!(ONE_GIGAHERTZ.ticks_to_nanoseconds(value), value);
            assert_eq!(ONE_GIGAHERTZ.nanoseconds_to_ticks(value), value);
        }
    }

    #[test]
    fn nanoseconds_to_ticks_rounds_up() {
        let frequency = CounterFrequency::new(24_000_000).unwrap(); // 41.67 ns a tick
        assert_eq!(frequency.nanoseconds_to_ticks(0), 0);
        assert_eq!(frequency.nanoseconds_to_ticks(1), 1);
        assert_eq!(frequency.nanoseconds_to_ticks(42), 2);
        assert_eq!(frequency.nanoseconds_to_ticks(1_000), 24);
        assert_eq!(frequency.nanoseconds_to_ticks(1_001), 25);
    }

    #[test]
    fn large_values_do_not_overflow() {
        // u64::MAX ticks * 10^9 overflows u64 but not the u128 intermediate.
        assert_eq!(QEMU.ticks_to_nanoseconds(u64::MAX / 16), u64::MAX / 16 * 16);
        assert_eq!(QEMU.ticks_to_nanoseconds(u64::MAX), u64::MAX, "saturates");
        assert_eq!(QEMU.nanoseconds_to_ticks(u64::MAX), u64::MAX / 16 + 1);
        let fast = CounterFrequency::new(u64::MAX).unwrap();
        assert_eq!(fast.nanoseconds_to_ticks(2_000_000_000), u64::MAX, "saturates");
        assert_eq!(fast.ticks_to_nanoseconds(u64::MAX), 1_000_000_000);
    }

    #[test]
    fn round_trip_never_shortens_a_delay() {
        let frequency = CounterFrequency::new(19_200_000).unwrap();
        for nanoseconds in (0..100_000).step_by(7) {
            let ticks = frequency.nanoseconds_to_ticks(nanoseconds);
            assert!(frequency.ticks_to_nanoseconds(ticks) >= nanoseconds);
            // One tick fewer would be too short.
            if ticks > 0 {
                assert!(u128::from(ticks - 1) * 1_000_000_000 < u128::from(nanoseconds) * 19_200_000);
            }
        }
    }
}
