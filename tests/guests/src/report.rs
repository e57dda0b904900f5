//! Test results: `TEST PASS <name>` and `TEST FAIL <name>: <reason>`, after which the vCPU idles.

use core::fmt;

use crate::{cpu, println};

// SAFETY: every guest binary defines this symbol with exactly this type through `entry!`.
unsafe extern "Rust" {
    safe static SOMNUS_GUEST_NAME: &'static str;
}

/// The guest's name, as given to [`entry!`](crate::entry).
#[must_use]
pub fn guest_name() -> &'static str {
    SOMNUS_GUEST_NAME
}

/// Prints `TEST PASS <name>` and idles forever.
pub fn pass() -> ! {
    println!("TEST PASS {}", guest_name());
    cpu::idle()
}

/// Prints `TEST FAIL <name>: <reason>` and idles forever; see [`fail!`](crate::fail).
pub fn fail(reason: fmt::Arguments<'_>) -> ! {
    println!("TEST FAIL {}: {}", guest_name(), reason);
    cpu::idle()
}

/// Reports `TEST FAIL <name>: <formatted reason>` and idles forever.
#[macro_export]
macro_rules! fail {
    ($($argument:tt)*) => {
        $crate::report::fail(format_args!($($argument)*))
    };
}
