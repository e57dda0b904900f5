//! `isolation`: touches addresses outside its RAM and outside every device of the guest platform and
//! expects each access to abort.
//!
//! For each address it reads and then writes one word. Its own synchronous exception handler records
//! the abort and skips the instruction, so the guest carries on. An access passes only if it was taken
//! as a synchronous external abort (ESR_EL1.EC = 0x25, DFSC = 0x10) with FAR_EL1 = the address; a read
//! or write that completes means the guest reached memory it must not see, and the test fails.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use somnus_test_guests::exceptions::{self, EC_DATA_ABORT_SAME_EL, ExceptionFrame, Kind, Resolution};
use somnus_test_guests::{device_tree, entry, fail, println, report};

entry!("isolation", main);

/// Addresses that nothing on the guest platform decodes: above 4 GiB (past any guest RAM in these
/// tests), and QEMU `virt`'s platform bus window, which no guest device uses.
const FIXED_TARGETS: [u64; 2] = [0x1_0000_0000, 0x0C00_0000];

/// What the read instruction leaves in its destination when it is skipped after an abort.
const UNTOUCHED: u32 = 0x5a5a_5a5a;

static ABORTED: AtomicBool = AtomicBool::new(false);
static ABORT_ESR: AtomicU64 = AtomicU64::new(0);
static ABORT_FAR: AtomicU64 = AtomicU64::new(0);

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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// Performs one 32-bit access to `address` as a single instruction the handler can skip.
/// Returns the value read (or `UNTOUCHED` when the read was skipped).
fn access(address: u64, kind: Access) -> u32 {
    let mut value = UNTOUCHED;
    match kind {
        // SAFETY: the address is outside the guest's RAM and devices: the access either aborts, and the
        // handler skips this one instruction (the destination keeps UNTOUCHED), or it reads a value; it
        // touches no memory the program uses.
        Access::Read => unsafe {
            core::arch::asm!("ldr {value:w}, [{address}]", address = in(reg) address, value = inout(reg) value);
        },
        // SAFETY: as above; a write that completes lands outside everything the guest uses.
        Access::Write => unsafe {
            core::arch::asm!("str {value:w}, [{address}]", address = in(reg) address, value = in(reg) value);
        },
    }
    value
}

/// Tries one access and returns whether it aborted as required, printing what happened.
fn check(address: u64, kind: Access) -> bool {
    let name = if kind == Access::Read { "read" } else { "write" };
    ABORTED.store(false, Ordering::Release);
    let value = access(address, kind);
    if !ABORTED.load(Ordering::Acquire) {
        match kind {
            Access::Read => println!("isolation: {name} {address:#x} returned {value:#x}"),
            Access::Write => println!("isolation: {name} {address:#x} completed"),
        }
        return false;
    }
    let esr = ABORT_ESR.load(Ordering::Relaxed);
    let far = ABORT_FAR.load(Ordering::Relaxed);
    let status = esr & 0x3f;
    let write_flag = esr & (1 << 6) != 0;
    let ok = status == exceptions::DFSC_SYNCHRONOUS_EXTERNAL_ABORT
        && far == address
        && write_flag == (kind == Access::Write);
    println!(
        "isolation: {name} {address:#x} aborted: ESR={esr:#x} FAR={far:#x} ({})",
        if ok { "synchronous external abort, as expected" } else { "not the expected abort" }
    );
    ok
}

fn main(device_tree_address: u64) -> ! {
    exceptions::set_handler(Kind::Synchronous, Some(on_synchronous));
    let ram_end = device_tree::parse(device_tree_address).and_then(|tree| device_tree::ram_range(&tree));
    let mut targets = [0u64; 3];
    targets[..2].copy_from_slice(&FIXED_TARGETS);
    let count = if let Some((start, end)) = ram_end {
        println!("isolation: RAM is {start:#x}..{end:#x}; also touching the first address past it");
        targets[2] = end;
        3
    } else {
        println!("isolation: no device tree, so RAM size unknown");
        2
    };
    let mut failures = 0;
    let mut first_failure = 0;
    for &address in &targets[..count] {
        for kind in [Access::Read, Access::Write] {
            if !check(address, kind) {
                if failures == 0 {
                    first_failure = address;
                }
                failures += 1;
            }
        }
    }
    exceptions::set_handler(Kind::Synchronous, None);
    if failures > 0 {
        fail!("{failures} accesses did not abort as required, first at {first_failure:#x}");
    }
    report::pass()
}
