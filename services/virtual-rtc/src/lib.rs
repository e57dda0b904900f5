//! The virtual RTC service: a PL031 per domain at the guest platform's RTC address.
#![no_std]
#![forbid(unsafe_code)]

pub mod pl031_model;
pub mod service;

pub use service::VirtualRtcService;
