//! Touching an address a guest must not reach: one 32-bit read or write as a single instruction,
//! with a synchronous exception handler installed for just that access that records a data abort
//! and skips the instruction, so the guest carries on and can tell what happened.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::exceptions::{
    self, DFSC_SYNCHRONOUS_EXTERNAL_ABORT, EC_DATA_ABORT_SAME_EL, ExceptionFrame, Kind, Resolution,
};

/// What the read instruction leaves in its destination when it is skipped after an abort.
const UNTOUCHED: u32 = 0x5a5a_5a5a;

static ABORTED: AtomicBool = AtomicBool::new(false);
static ABORT_ESR: AtomicU64 = AtomicU64::new(0);
static ABORT_FAR: AtomicU64 = AtomicU64::new(0);

/// One access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `ldr w, [address]`.
    Read,
    /// `str w, [address]` of the value.
    Write(u32),
}

/// What became of an access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It completed: the guest reached the address (with the value read, for a read).
    Completed(Option<u32>),
    /// It was taken as a data abort at EL1 with this ESR_EL1 and FAR_EL1.
    Aborted {
        /// ESR_EL1.
        esr: u64,
        /// FAR_EL1.
        far: u64,
    },
}

impl Outcome {
    /// Whether this is a synchronous external abort (DFSC 0x10) at `address`, flagged as a write
    /// exactly when `access` was one.
    #[must_use]
    pub fn is_external_abort_at(&self, address: u64, access: Access) -> bool {
        match *self {
            Outcome::Completed(_) => false,
            Outcome::Aborted { esr, far } => {
                let write = esr & (1 << 6) != 0;
                esr & 0x3f == DFSC_SYNCHRONOUS_EXTERNAL_ABORT
                    && far == address
                    && write == matches!(access, Access::Write(_))
            }
        }
    }
}

/// Records a data abort at EL1 and skips the faulting access; anything else is unexpected.
fn on_synchronous(frame: &mut ExceptionFrame) -> Resolution {
    if frame.exception_class() != EC_DATA_ABORT_SAME_EL {
        return Resolution::Unhandled;
    }
    ABORT_ESR.store(frame.esr, Ordering::Relaxed);
    ABORT_FAR.store(frame.far, Ordering::Relaxed);
    ABORTED.store(true, Ordering::Release);
    Resolution::SkipInstruction
}

/// Performs `access` at `address` (4-byte aligned) and reports whether it aborted. Synchronous
/// exceptions other than data aborts still end the test as unexpected; a synchronous handler the
/// guest installed is removed.
pub fn touch(address: u64, access: Access) -> Outcome {
    ABORTED.store(false, Ordering::Release);
    exceptions::set_handler(Kind::Synchronous, Some(on_synchronous));
    let mut value = UNTOUCHED;
    match access {
        // SAFETY: the caller names an address outside the guest's RAM: the access either aborts,
        // and the handler skips this one instruction (the destination keeps UNTOUCHED), or it reads
        // a device register; it touches no memory the program uses.
        Access::Read => unsafe {
            core::arch::asm!("ldr {value:w}, [{address}]", address = in(reg) address, value = inout(reg) value);
        },
        // SAFETY: as above; a write that completes lands outside everything the program uses.
        Access::Write(written) => unsafe {
            core::arch::asm!("str {value:w}, [{address}]", address = in(reg) address, value = in(reg) written);
        },
    }
    exceptions::set_handler(Kind::Synchronous, None);
    if ABORTED.load(Ordering::Acquire) {
        Outcome::Aborted { esr: ABORT_ESR.load(Ordering::Relaxed), far: ABORT_FAR.load(Ordering::Relaxed) }
    } else {
        Outcome::Completed((access == Access::Read).then_some(value))
    }
}
