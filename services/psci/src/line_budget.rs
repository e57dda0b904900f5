//! How many console lines a domain's power events may cause: a guest that suspends and resumes
//! thousands of times a second must not flood the console (on hardware, printing holds every CPU
//! that wants the console). At most [`LINES_PER_SECOND`] lines per domain per second; the next
//! line after a quiet spell says how many were left out.

/// Lines allowed per domain in each second of the hypervisor's clock.
pub const LINES_PER_SECOND: u32 = 10;

/// Nanoseconds per second.
const SECOND_NS: u64 = 1_000_000_000;

/// One domain's budget.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineBudget {
    /// Start of the current one-second window (ns).
    window_start_ns: u64,
    /// Lines printed in it.
    printed: u32,
    /// Lines left out since the last one printed.
    suppressed: u32,
}

impl LineBudget {
    /// Whether a line may be printed at `now_ns`: `Some(n)` with the number of lines left out
    /// before it, or `None` if this one must be left out too.
    pub fn take(&mut self, now_ns: u64) -> Option<u32> {
        if now_ns.saturating_sub(self.window_start_ns) >= SECOND_NS {
            self.window_start_ns = now_ns;
            self.printed = 0;
        }
        if self.printed >= LINES_PER_SECOND {
            self.suppressed = self.suppressed.saturating_add(1);
            return None;
        }
        self.printed += 1;
        Some(core::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_lines_a_second_then_a_count_of_the_rest() {
        let mut budget = LineBudget::default();
        for line in 0..LINES_PER_SECOND {
            assert_eq!(budget.take(u64::from(line) * 1_000), Some(0));
        }
        for line in 0..25 {
            assert_eq!(budget.take(500_000_000 + line), None);
        }
        assert_eq!(budget.take(SECOND_NS), Some(25), "the next window reports what was left out");
        assert_eq!(budget.take(SECOND_NS + 1), Some(0));
    }

    #[test]
    fn a_clock_that_goes_back_does_not_reopen_the_window() {
        let mut budget = LineBudget::default();
        for _ in 0..LINES_PER_SECOND {
            budget.take(5 * SECOND_NS);
        }
        assert_eq!(budget.take(4 * SECOND_NS), None);
    }
}
