//! `unknown-calls`: HVC and SMC with unassigned function IDs must return NOT_SUPPORTED and let the guest
//! carry on; PSCI_VERSION must be 1.1 and PSCI_FEATURES(PSCI_VERSION) must be 0 over both conduits.
//!
//! If a call instruction itself faults (an undefined instruction, as on QEMU without a PSCI conduit for
//! SMC), the handler skips it and the call is reported as failed instead of stopping the guest.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, Ordering};

use somnus_test_guests::conduit::{Conduit, NOT_SUPPORTED};
use somnus_test_guests::exceptions::{self, EC_UNKNOWN, ExceptionFrame, Kind, Resolution};
use somnus_test_guests::smccc::psci::{PSCI_FEATURES, PSCI_VERSION};
use somnus_test_guests::{entry, fail, println, psci, report};

entry!("unknown-calls", main);

/// Function IDs no Somnus service owns: a vendor hypervisor call, an SMC64 call in a reserved range, an
/// unknown PSCI function, an unknown Arm architecture call and a yielding (not fast) call.
const UNKNOWN_FUNCTIONS: [u32; 5] = [0x8600_0000, 0xC700_00FF, 0x8400_00FF, 0x8000_00FF, 0x0400_0001];

static CALL_FAULTED: AtomicBool = AtomicBool::new(false);

/// Skips a call instruction that was undefined; any other exception is unexpected.
fn on_synchronous(frame: &mut ExceptionFrame) -> Resolution {
    if frame.exception_class() != EC_UNKNOWN {
        return Resolution::Unhandled;
    }
    CALL_FAULTED.store(true, Ordering::Release);
    Resolution::SkipInstruction
}

/// Runs `call` and returns its x0, or `None` (after printing why) if the call instruction faulted.
fn guarded(conduit: Conduit, function: u32, call: impl FnOnce() -> u64) -> Option<u64> {
    CALL_FAULTED.store(false, Ordering::Release);
    let x0 = call();
    if CALL_FAULTED.load(Ordering::Acquire) {
        println!("unknown-calls: {conduit} {function:#010x} was an undefined instruction");
        return None;
    }
    Some(x0)
}

fn main(_device_tree: u64) -> ! {
    exceptions::set_handler(Kind::Synchronous, Some(on_synchronous));
    let mut failures = 0u32;
    for conduit in Conduit::ALL {
        for function in UNKNOWN_FUNCTIONS {
            let Some(x0) = guarded(conduit, function, || conduit.call_x0(function, &[])) else {
                failures += 1;
                continue;
            };
            let verdict = if x0 == NOT_SUPPORTED { "NOT_SUPPORTED" } else { "expected NOT_SUPPORTED" };
            println!("unknown-calls: {conduit} {function:#010x} -> x0={x0:#x} ({verdict})");
            failures += u32::from(x0 != NOT_SUPPORTED);
        }

        if let Some(version) = guarded(conduit, PSCI_VERSION, || psci::version(conduit)) {
            let ok = version as u32 == psci::VERSION_1_1;
            println!(
                "unknown-calls: {conduit} PSCI_VERSION -> {version:#x} ({})",
                if ok { "PSCI 1.1" } else { "expected 0x10001" }
            );
            failures += u32::from(!ok);
        } else {
            failures += 1;
        }

        if let Some(features) = guarded(conduit, PSCI_FEATURES, || psci::features(conduit, PSCI_VERSION)) {
            let ok = features as u32 == 0;
            println!(
                "unknown-calls: {conduit} PSCI_FEATURES(PSCI_VERSION) -> {features:#x} ({})",
                if ok { "supported" } else { "expected 0" }
            );
            failures += u32::from(!ok);
        } else {
            failures += 1;
        }
    }
    exceptions::set_handler(Kind::Synchronous, None);
    if failures > 0 {
        fail!("{failures} calls did not return what they should");
    }
    report::pass()
}
