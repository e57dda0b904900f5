//! The PSCI service: every PSCI and SMCCC call from every guest arrives here, one at a time.
#![no_std]
#![forbid(unsafe_code)]

pub mod function;
pub mod line_budget;
pub mod management;
pub mod power_state;
pub mod service;

pub use service::PsciService;
