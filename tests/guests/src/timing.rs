//! Instruction-exact timing for the benchmark guest (`bench-paths`, run by `cargo xtask bench`).
//!
//! Under QEMU with `-icount shift=0` and a 1 GHz counter, one counter tick is one executed
//! instruction. A path is timed by two counter reads around it, once per iteration; each sample
//! goes into a [`Series`], whose [`Statistics`] give the median (what is reported), the minimum
//! and the maximum: an iteration hit by the hypervisor's own 1 kHz tick, or by another CPU
//! running meanwhile under QEMU's round robin, is an outlier that the median ignores.
//!
//! Results are printed as `BENCH <path> <instructions> <iterations> min=<m> max=<n>`, the line
//! `cargo xtask bench` parses.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::{fail, println};

/// Most samples a series holds (iterations beyond are not recorded).
pub const MAX_SAMPLES: usize = 4096;

/// Number of series.
pub const SERIES_COUNT: usize = 2;

/// What a series of samples shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statistics {
    /// The median sample (the lower middle one for an even count).
    pub median: u64,
    /// The smallest sample.
    pub minimum: u64,
    /// The largest sample.
    pub maximum: u64,
    /// Number of samples.
    pub count: usize,
}

impl Statistics {
    /// Every value reduced by `amount` (the cost of an empty measurement), not below zero.
    #[must_use]
    pub fn less(self, amount: u64) -> Self {
        Self {
            median: self.median.saturating_sub(amount),
            minimum: self.minimum.saturating_sub(amount),
            maximum: self.maximum.saturating_sub(amount),
            count: self.count,
        }
    }

    /// Prints the `BENCH` line of `path`.
    pub fn report(self, path: &str) {
        println!("BENCH {path} {} {} min={} max={}", self.median, self.count, self.minimum, self.maximum);
    }
}

/// Storage of one series: used by one vCPU at a time, guarded by `busy`.
struct Storage {
    samples: UnsafeCell<[u64; MAX_SAMPLES]>,
    length: AtomicUsize,
    busy: AtomicBool,
}

// SAFETY: the samples are only touched between a successful `busy` compare-exchange and its
// release (see `Series::with`), so two vCPUs never access them at the same time.
unsafe impl Sync for Storage {}

static STORAGE: [Storage; SERIES_COUNT] = [const {
    Storage { samples: UnsafeCell::new([0; MAX_SAMPLES]), length: AtomicUsize::new(0), busy: AtomicBool::new(false) }
}; SERIES_COUNT];

/// One of the [`SERIES_COUNT`] static sample series. Static, so a series survives a resume at
/// the warm entry point (which starts on a fresh stack).
#[derive(Clone, Copy, Debug)]
pub struct Series(usize);

impl Series {
    /// Series `index` (below [`SERIES_COUNT`]).
    #[must_use]
    pub const fn new(index: usize) -> Self {
        assert!(index < SERIES_COUNT, "no such series");
        Self(index)
    }

    /// Runs `action` with exclusive access to the samples and their count.
    fn with<R>(self, action: impl FnOnce(&mut [u64; MAX_SAMPLES], &AtomicUsize) -> R) -> R {
        let storage = &STORAGE[self.0];
        if storage.busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            fail!("sample series {} used by two vCPUs at once", self.0);
        }
        // SAFETY: `busy` was false and is now ours: nobody else touches the samples until it is
        // released below, and the reference does not outlive this call.
        let result = action(unsafe { &mut *storage.samples.get() }, &storage.length);
        storage.busy.store(false, Ordering::Release);
        result
    }

    /// Forgets every sample.
    pub fn clear(self) {
        self.with(|_, length| length.store(0, Ordering::Relaxed));
    }

    /// Records a sample (dropped once the series is full).
    pub fn push(self, sample: u64) {
        self.with(|samples, length| {
            let count = length.load(Ordering::Relaxed);
            if let Some(slot) = samples.get_mut(count) {
                *slot = sample;
                length.store(count + 1, Ordering::Relaxed);
            }
        });
    }

    /// Number of samples recorded.
    #[must_use]
    pub fn len(self) -> usize {
        self.with(|_, length| length.load(Ordering::Relaxed))
    }

    /// Whether no sample is recorded.
    #[must_use]
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// Median, minimum and maximum of the samples (which end up sorted); fails without samples.
    #[must_use]
    pub fn statistics(self) -> Statistics {
        self.with(|samples, length| {
            let count = length.load(Ordering::Relaxed);
            let samples = &mut samples[..count];
            samples.sort_unstable();
            match (samples.first(), samples.last()) {
                (Some(&minimum), Some(&maximum)) => {
                    Statistics { median: samples[(count - 1) / 2], minimum, maximum, count }
                }
                _ => fail!("sample series {} is empty", self.0),
            }
        })
    }
}

/// Times `iterations` runs of `timed`, which returns the counter ticks of one run, into `series`
/// (cleared first) and returns their statistics.
pub fn measure(series: Series, iterations: usize, mut timed: impl FnMut() -> u64) -> Statistics {
    series.clear();
    for _ in 0..iterations {
        series.push(timed());
    }
    series.statistics()
}
