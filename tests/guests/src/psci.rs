//! PSCI calls over either conduit, returning x0 unchanged so tests can check exact return codes.
//!
//! Function IDs and error codes come from [`smccc::psci`]; the entry point of CPU_ON and SYSTEM_SUSPEND
//! is the runtime's warm entry, which continues in the handler set with
//! [`set_warm_handler`](crate::start::set_warm_handler).

use smccc::psci;

use crate::conduit::Conduit;
use crate::start::warm_entry_address;

/// PSCI_VERSION's answer for PSCI 1.1 (major 1 in bits 31:16, minor 1 in bits 15:0).
pub const VERSION_1_1: u32 = 0x0001_0001;

/// x0 for a PSCI error code, sign-extended to 64 bits as returned by a 64-bit read of x0.
#[must_use]
pub fn error_code(code: i32) -> u64 {
    i64::from(code).cast_unsigned()
}

/// PSCI_VERSION.
#[must_use]
pub fn version(conduit: Conduit) -> u64 {
    conduit.call_x0(psci::PSCI_VERSION, &[])
}

/// PSCI_FEATURES for `function`.
#[must_use]
pub fn features(conduit: Conduit, function: u32) -> u64 {
    conduit.call_x0(psci::PSCI_FEATURES, &[u64::from(function)])
}

/// CPU_ON (64-bit) of the vCPU with affinity `target`, entering at the warm entry with `context_id`.
#[must_use]
pub fn cpu_on(conduit: Conduit, target: u64, context_id: u64) -> u64 {
    conduit.call_x0(psci::PSCI_CPU_ON_64, &[target, warm_entry_address(), context_id])
}

/// CPU_OFF: returns only on failure, with the error code.
#[must_use]
pub fn cpu_off(conduit: Conduit) -> u64 {
    conduit.call_x0(psci::PSCI_CPU_OFF, &[])
}

/// AFFINITY_INFO (64-bit) of `target` at the lowest affinity level 0.
#[must_use]
pub fn affinity_info(conduit: Conduit, target: u64) -> u64 {
    conduit.call_x0(psci::PSCI_AFFINITY_INFO_64, &[target, 0])
}

/// SYSTEM_SUSPEND (64-bit), resuming at the warm entry with `context_id`; returns only on failure.
#[must_use]
pub fn system_suspend(conduit: Conduit, context_id: u64) -> u64 {
    conduit.call_x0(psci::PSCI_SYSTEM_SUSPEND_64, &[warm_entry_address(), context_id])
}
