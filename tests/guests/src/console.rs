//! Console output over the PL011, shared by all vCPUs: [`print!`](crate::print) and
//! [`println!`](crate::println).
//!
//! A line is written under a lock so lines of different vCPUs do not interleave; the lock is
//! re-entrant per vCPU, so an exception handler may print while the code it interrupted was printing.
//! `\n` is sent as `\r\n`.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::{cpu, pl011};

/// Value of [`OWNER`] while no vCPU holds the console.
const NO_OWNER: usize = usize::MAX;

/// Index of the vCPU writing to the console, or [`NO_OWNER`].
static OWNER: AtomicUsize = AtomicUsize::new(NO_OWNER);

struct Pl011Writer;

impl Write for Pl011Writer {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for byte in text.bytes() {
            if byte == b'\n' {
                pl011::write_byte(b'\r');
            }
            pl011::write_byte(byte);
        }
        Ok(())
    }
}

/// Writes formatted text to the console; used by the macros.
pub fn print(arguments: fmt::Arguments<'_>) {
    let cpu = cpu::index();
    let nested = OWNER.load(Ordering::Relaxed) == cpu;
    if !nested {
        while OWNER.compare_exchange_weak(NO_OWNER, cpu, Ordering::Acquire, Ordering::Relaxed).is_err() {
            core::hint::spin_loop();
        }
    }
    // Writing to the UART cannot fail.
    let _ = Pl011Writer.write_fmt(arguments);
    if !nested {
        OWNER.store(NO_OWNER, Ordering::Release);
    }
}

/// Prints to the guest's console (the PL011).
#[macro_export]
macro_rules! print {
    ($($argument:tt)*) => {
        $crate::console::print(format_args!($($argument)*))
    };
}

/// Prints a line to the guest's console (the PL011).
#[macro_export]
macro_rules! println {
    () => {
        $crate::console::print(format_args!("\n"))
    };
    ($($argument:tt)*) => {
        $crate::console::print(format_args!("{}\n", format_args!($($argument)*)))
    };
}
