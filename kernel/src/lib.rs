//! The Somnus EL2 kernel: boot, trapping, scheduling and IPC; it applies what services decide.
//!
//! The crate builds for the host too, so its pure parts (device-tree parsing, page-table and
//! register encodings) are unit-tested there; everything touching system registers lives under
//! `arch::aarch64` and only builds for the bare-metal target.
#![cfg_attr(not(test), no_std)]

pub mod board;
pub mod device_tree;
pub mod drivers;
pub mod exception_injection;
pub mod instruction_decoding;
pub mod interrupt_controller;
#[cfg(target_arch = "aarch64")]
pub mod interrupt_delivery;
#[cfg(target_arch = "aarch64")]
pub mod interrupts;
pub mod list_register;
pub mod memory_map;
pub mod platform;
pub mod report_limit;
pub mod scheduler;
pub mod service_host;
pub mod stage2_tables;
pub mod trap;
pub mod vcpu_context;
pub mod virtual_interrupts;

#[cfg(target_arch = "aarch64")]
pub mod arch;
#[cfg(all(target_arch = "aarch64", feature = "bench"))]
pub mod bench;
#[cfg(target_arch = "aarch64")]
pub mod boot;
#[cfg(target_arch = "aarch64")]
pub mod console;
#[cfg(target_arch = "aarch64")]
pub mod domain_builder;
#[cfg(target_arch = "aarch64")]
pub mod domain_lifecycle;
#[cfg(all(target_arch = "aarch64", feature = "el2-fault-test"))]
pub mod fault_test;
#[cfg(target_arch = "aarch64")]
pub mod management;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod panic_handler;
#[cfg(target_arch = "aarch64")]
pub mod run_loop;
#[cfg(target_arch = "aarch64")]
pub mod service_alarm;
#[cfg(target_arch = "aarch64")]
pub mod services;

pub use board::BoardDescriptor;
