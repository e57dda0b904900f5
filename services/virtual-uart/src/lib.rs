//! The virtual UART service: a PL011 per domain at the guest platform's UART address.
#![no_std]
#![forbid(unsafe_code)]

pub mod pl011_model;
pub mod service;

pub use service::VirtualUartService;
