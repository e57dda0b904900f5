//! `register-pattern`: fills registers with a pattern and checks for 3 s of counter time that nothing
//! changes them, proving that a hypervisor switching this vCPU with others keeps its state.
//!
//! Each check loads fresh values into x19..x28, q0..q31, FPCR and FPSR, spins, and stores them back,
//! all inside one assembly block ([`register_file`]), then reads back the EL1 system registers a
//! hypervisor must switch ([`system_registers`]), which are loaded with new values every second. The
//! pattern is seeded from the start time, the vCPU and the image, so two copies use different values.
//! Prints `register-pattern: <k> checks ok` every second, then `TEST PASS register-pattern`, or
//! `TEST FAIL` naming the first register that changed.

#![no_std]
#![no_main]

mod register_file;
mod system_registers;

use core::fmt;

use somnus_test_guests::random::PseudoRandom;
use somnus_test_guests::{counter, cpu, entry, fail, println, report};

entry!("register-pattern", main);

/// How long to keep checking, in microseconds of counter time.
const DURATION_MICROS: u64 = 3_000_000;

/// Interval between progress lines, in microseconds.
const REPORT_MICROS: u64 = 1_000_000;

/// Iterations of the spin inside each check, while the registers hold the pattern.
const SPINS: u64 = 50_000;

/// A register that did not keep the value written to it.
pub struct Mismatch {
    /// Which register.
    pub register: Register,
    /// The value written (as read back right after writing, for system registers).
    pub expected: u128,
    /// The value found later.
    pub found: u128,
}

/// Names of the checked registers.
#[derive(Clone, Copy)]
pub enum Register {
    /// General register x<n>.
    General(usize),
    /// FP/SIMD register q<n>.
    Vector(usize),
    /// FPCR.
    Fpcr,
    /// FPSR.
    Fpsr,
    /// An EL1 or EL0 system register, by its architectural name.
    System(&'static str),
}

impl fmt::Display for Register {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Register::General(number) => write!(formatter, "x{number}"),
            Register::Vector(number) => write!(formatter, "q{number}"),
            Register::Fpcr => formatter.write_str("FPCR"),
            Register::Fpsr => formatter.write_str("FPSR"),
            Register::System(name) => formatter.write_str(name),
        }
    }
}

static SEED_ANCHOR: u8 = 0;

/// A seed that differs between two copies of this guest: start time, affinity, device tree and image.
fn seed(device_tree: u64) -> u64 {
    let mut mixer = PseudoRandom::new(counter::now());
    let mut seed = mixer.next_u64();
    for value in [cpu::mpidr(), device_tree, &raw const SEED_ANCHOR as u64] {
        mixer = PseudoRandom::new(seed ^ value);
        seed = mixer.next_u64();
    }
    seed
}

fn report_mismatch(mismatch: &Mismatch, checks: u64) -> ! {
    fail!(
        "{} changed after {checks} checks: expected {:#x}, found {:#x}",
        mismatch.register,
        mismatch.expected,
        mismatch.found
    )
}

fn main(device_tree: u64) -> ! {
    let seed = seed(device_tree);
    println!("register-pattern: seed {seed:#018x}, checking for {} s", DURATION_MICROS / 1_000_000);
    let mut random = PseudoRandom::new(seed);
    let start = counter::now();
    let end = start + counter::ticks_from_micros(DURATION_MICROS);
    let report_interval = counter::ticks_from_micros(REPORT_MICROS);
    let mut next_report = start + report_interval;
    let mut system = system_registers::load(&mut random);
    let mut checks: u64 = 0;
    loop {
        if let Err(mismatch) = register_file::check(&mut random, SPINS) {
            report_mismatch(&mismatch, checks);
        }
        if let Err(mismatch) = system.check() {
            report_mismatch(&mismatch, checks);
        }
        checks += 1;
        let now = counter::now();
        if now >= next_report {
            println!("register-pattern: {checks} checks ok");
            next_report += report_interval;
            system = system_registers::load(&mut random);
        }
        if now >= end {
            break;
        }
    }
    report::pass()
}
