//! Calls into the platform firmware (PSCI over SMC) to start physical CPUs.

use smccc::Smc;
use smccc::psci;

/// The firmware's PSCI version as (major, minor), or `None` if the call failed.
#[must_use]
pub fn psci_version() -> Option<(u16, u16)> {
    psci::version::<Smc>().ok().map(|version| (version.major, version.minor))
}

/// Starts the physical CPU `mpidr` at `entry` with x0 = `context_id`.
pub fn cpu_on(mpidr: u64, entry: u64, context_id: u64) -> Result<(), psci::error::Error> {
    psci::cpu_on::<Smc>(mpidr, entry, context_id)
}
