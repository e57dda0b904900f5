//! Exception handling: the saved frame, handlers a guest installs per kind, and the default handler.
//!
//! The vector table (see `vectors.rs`) saves the full context and calls [`somnus_handle_exception`],
//! which passes the frame to the handler installed for the exception's kind. Without one, or when the
//! handler answers [`Resolution::Unhandled`], the guest reports
//! `TEST FAIL <guest>: unexpected exception ESR=0x.. FAR=0x.. ELR=0x..` and stops. Handlers are shared by
//! all vCPUs of the guest and run with DAIF masked.

use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Size of [`ExceptionFrame`] in bytes (the general part of the stack frame).
pub(crate) const GENERAL_FRAME_SIZE: usize = 36 * 8;

/// Size of the whole stack frame: the general part, q0..q31, FPCR and FPSR.
pub(crate) const FRAME_SIZE: usize = GENERAL_FRAME_SIZE + 32 * 16 + 2 * 8;

const _: () = assert!(size_of::<ExceptionFrame>() == GENERAL_FRAME_SIZE);
const _: () = assert!(FRAME_SIZE.is_multiple_of(16));

/// ESR_EL1.EC of an instruction with an unknown reason (undefined instruction).
pub const EC_UNKNOWN: u64 = 0x00;
/// ESR_EL1.EC of a data abort taken without a change in exception level.
pub const EC_DATA_ABORT_SAME_EL: u64 = 0x25;
/// ESR_EL1.ISS data fault status code of a synchronous external abort (not on a translation walk).
pub const DFSC_SYNCHRONOUS_EXTERNAL_ABORT: u64 = 0x10;

/// The context saved on exception entry. A handler may change it; it is restored on return.
#[repr(C)]
#[derive(Debug)]
pub struct ExceptionFrame {
    /// x0 to x30 of the interrupted context.
    pub registers: [u64; 31],
    /// ELR_EL1: where execution resumes.
    pub elr: u64,
    /// SPSR_EL1: the interrupted PSTATE.
    pub spsr: u64,
    /// ESR_EL1 at entry (meaningful for synchronous exceptions and SErrors).
    pub esr: u64,
    /// FAR_EL1 at entry (meaningful for aborts).
    pub far: u64,
    /// Vector number, 0..=15: 4 × source (EL1 with SP_EL0, EL1 with SP_EL1, lower EL AArch64,
    /// lower EL AArch32) + kind (see [`Kind`]).
    pub vector: u64,
}

impl ExceptionFrame {
    /// The kind of exception taken.
    #[must_use]
    pub fn kind(&self) -> Kind {
        match self.vector & 3 {
            0 => Kind::Synchronous,
            1 => Kind::Irq,
            2 => Kind::Fiq,
            _ => Kind::SError,
        }
    }

    /// ESR_EL1.EC, the exception class.
    #[must_use]
    pub fn exception_class(&self) -> u64 {
        (self.esr >> 26) & 0x3f
    }

    /// ESR_EL1.ISS, the instruction specific syndrome.
    #[must_use]
    pub fn syndrome(&self) -> u64 {
        self.esr & 0x1ff_ffff
    }

    /// For an abort, the fault status code (ISS bits 5:0).
    #[must_use]
    pub fn fault_status(&self) -> u64 {
        self.esr & 0x3f
    }

    /// For a data abort, whether it was caused by a write (ISS.WnR).
    #[must_use]
    pub fn is_write(&self) -> bool {
        self.esr & (1 << 6) != 0
    }

    /// Whether this is a synchronous external abort on a data access at EL1.
    #[must_use]
    pub fn is_synchronous_external_data_abort(&self) -> bool {
        self.kind() == Kind::Synchronous
            && self.exception_class() == EC_DATA_ABORT_SAME_EL
            && self.fault_status() == DFSC_SYNCHRONOUS_EXTERNAL_ABORT
    }

    fn source(&self) -> &'static str {
        match self.vector >> 2 {
            0 => "EL1 with SP_EL0",
            1 => "EL1 with SP_EL1",
            2 => "lower EL in AArch64",
            _ => "lower EL in AArch32",
        }
    }
}

/// The four kinds of exception, each with its own handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Synchronous exception: aborts, undefined instructions, traps.
    Synchronous = 0,
    /// IRQ.
    Irq = 1,
    /// FIQ.
    Fiq = 2,
    /// SError (asynchronous abort).
    SError = 3,
}

impl fmt::Display for Kind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Kind::Synchronous => "synchronous",
            Kind::Irq => "IRQ",
            Kind::Fiq => "FIQ",
            Kind::SError => "SError",
        })
    }
}

/// What the runtime does after a handler ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Return to ELR_EL1 as saved in the frame (possibly changed by the handler).
    Return,
    /// Skip the instruction at ELR_EL1 (ELR += 4) and return; for recovering from an abort.
    SkipInstruction,
    /// The handler did not expect this exception: report `TEST FAIL` and stop.
    Unhandled,
}

/// A handler for one [`Kind`] of exception.
pub type Handler = fn(&mut ExceptionFrame) -> Resolution;

/// Installed handlers by kind, as addresses; 0 when none is installed.
static HANDLERS: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

/// Installs `handler` for exceptions of `kind` (for every vCPU), or removes it with `None`.
pub fn set_handler(kind: Kind, handler: Option<Handler>) {
    HANDLERS[kind as usize].store(handler.map_or(0, |handler| handler as usize), Ordering::Release);
}

fn handler(kind: Kind) -> Option<Handler> {
    let address = HANDLERS[kind as usize].load(Ordering::Acquire);
    if address == 0 {
        return None;
    }
    // SAFETY: the only non-zero values stored in HANDLERS come from `set_handler`, which stores valid
    // `Handler`s; function pointers and usize have the same size on AArch64.
    Some(unsafe { core::mem::transmute::<usize, Handler>(address) })
}

/// Called by the vector table with the saved frame.
#[unsafe(no_mangle)]
extern "C" fn somnus_handle_exception(frame: &mut ExceptionFrame) {
    let resolution = handler(frame.kind()).map_or(Resolution::Unhandled, |handler| handler(frame));
    match resolution {
        Resolution::Return => {}
        Resolution::SkipInstruction => frame.elr += 4,
        Resolution::Unhandled => unexpected(frame),
    }
}

/// Reports an exception the guest did not expect as `TEST FAIL` and stops this vCPU.
pub fn unexpected(frame: &ExceptionFrame) -> ! {
    crate::fail!(
        "unexpected exception ESR={:#x} FAR={:#x} ELR={:#x} ({} from {} on vCPU {})",
        frame.esr,
        frame.far,
        frame.elr,
        frame.kind(),
        frame.source(),
        crate::cpu::index()
    )
}
