//! A tiny runtime for bare-metal EL1 test guests of Somnus.
//!
//! Every guest is an ELF linked at `0x4008_0000` (guest RAM starts at `0x4000_0000`) and runs on the
//! Somnus guest platform, which is QEMU `virt` compatible, so the same binary also runs on plain QEMU.
//! vCPU 0 enters [`_start`](start) with x0 = device tree address, the MMU off and DAIF masked; the
//! runtime gives each vCPU its own stack (by MPIDR_EL1 Aff0), zeroes `.bss`, enables FP/SIMD, installs
//! the EL1 vector table and calls the guest's `main`, declared with [`entry!`]:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! use somnus_test_guests::{entry, println, report};
//! entry!("hello", main);
//! fn main(device_tree: u64) -> ! {
//!     println!("device tree at {device_tree:#x}");
//!     report::pass()
//! }
//! ```
//!
//! A guest reports with [`report::pass`] or [`fail!`], which print `TEST PASS <name>` or
//! `TEST FAIL <name>: <reason>` and then idle forever; guests never exit. Secondary vCPUs (PSCI CPU_ON)
//! and resumed vCPUs (PSCI SYSTEM_SUSPEND, CPU_SUSPEND power-down) enter at
//! [`start::warm_entry_address`] and continue in the handler set with [`start::set_warm_handler`].
//!
//! The MMU stays off, so every data access is Device-nGnRnE: unaligned accesses fault (the target is
//! built with `strict-align`) and atomics beyond plain loads and stores rely on the exclusive monitor
//! handling Device memory, which QEMU does.

#![no_std]

pub mod abort_probe;
pub mod cadence_uart;
pub mod conduit;
pub mod console;
pub mod counter;
pub mod cpu;
pub mod device_tree;
pub mod exceptions;
pub mod gic;
pub mod interrupts;
pub mod pl011;
pub mod pl011_receive;
pub mod pl031;
pub mod psci;
pub mod random;
pub mod report;
pub mod start;
pub mod timing;
mod vectors;
pub mod virtual_timer;

pub use aarch64_cpu;
pub use smccc;

/// Declares a guest: its name (used in `TEST PASS <name>` lines) and its main function, `fn(u64) -> !`,
/// which vCPU 0 calls with the device tree address the hypervisor passed in x0.
#[macro_export]
macro_rules! entry {
    ($name:literal, $main:path) => {
        /// The name this guest reports in its `TEST PASS` and `TEST FAIL` lines.
        #[unsafe(no_mangle)]
        pub static SOMNUS_GUEST_NAME: &str = $name;

        /// Called by the runtime's `_start` on vCPU 0 once the stack, `.bss`, FP/SIMD and vectors are set.
        #[unsafe(no_mangle)]
        pub extern "C" fn somnus_guest_main(device_tree: u64) -> ! {
            let main: fn(u64) -> ! = $main;
            main(device_tree)
        }
    };
}

#[panic_handler]
fn panic(information: &core::panic::PanicInfo<'_>) -> ! {
    match information.location() {
        Some(location) => {
            report::fail(format_args!("panic at {}:{}: {}", location.file(), location.line(), information.message()))
        }
        None => report::fail(format_args!("panic: {}", information.message())),
    }
}
