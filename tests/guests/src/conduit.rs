//! SMC Calling Convention calls over HVC (to the hypervisor) or SMC (which a hypervisor traps).

use core::fmt;

/// The value x0 holds after a call to an unknown function ID: -1, sign-extended to 64 bits.
pub const NOT_SUPPORTED: u64 = u64::MAX;

/// The instruction that carries an SMCCC call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduit {
    /// `HVC #0`.
    Hvc,
    /// `SMC #0`.
    Smc,
}

impl Conduit {
    /// Both conduits, HVC first.
    pub const ALL: [Conduit; 2] = [Conduit::Hvc, Conduit::Smc];

    /// Makes an SMC64/HVC64-style call: w0 = `function`, x1.. = `arguments` (at most 17, the rest 0).
    /// Returns x0..x17 after the call.
    #[must_use]
    pub fn call(self, function: u32, arguments: &[u64]) -> [u64; 18] {
        let mut registers = [0; 17];
        registers[..arguments.len()].copy_from_slice(arguments);
        match self {
            Conduit::Hvc => smccc::hvc64(function, registers),
            Conduit::Smc => smccc::smc64(function, registers),
        }
    }

    /// Like [`Conduit::call`], returning only x0.
    #[must_use]
    pub fn call_x0(self, function: u32, arguments: &[u64]) -> u64 {
        self.call(function, arguments)[0]
    }
}

impl fmt::Display for Conduit {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Conduit::Hvc => "HVC",
            Conduit::Smc => "SMC",
        })
    }
}
