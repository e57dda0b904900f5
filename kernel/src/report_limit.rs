//! Rate limits for console lines a guest can cause over and over (a full interrupt queue, an
//! SError, a service's action overflow): the first occurrence is reported, then one in
//! [`REPORT_EVERY`], so that a guest cannot flood the console every CPU shares.

use core::sync::atomic::{AtomicU64, Ordering};

/// One line per this many occurrences after the first.
pub const REPORT_EVERY: u64 = 1000;

/// Counts occurrences of one kind of event.
#[derive(Debug)]
pub struct ReportLimit(AtomicU64);

impl ReportLimit {
    /// No occurrence yet.
    #[must_use]
    pub const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// Counts one occurrence; `Some(total so far)` if this one should be reported.
    pub fn occurred(&self) -> Option<u64> {
        let before = self.0.fetch_add(1, Ordering::Relaxed);
        before.is_multiple_of(REPORT_EVERY).then_some(before + 1)
    }
}

impl Default for ReportLimit {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_then_one_in_a_thousand() {
        let limit = ReportLimit::new();
        let reported: Vec<u64> = (0..2500).filter_map(|_| limit.occurred()).collect();
        assert_eq!(reported, [1, 1001, 2001]);
    }
}
