//! Device drivers shared by the boards that have the device; one file per device.

pub mod cadence_uart;
pub mod generic_timer;
pub mod gic_v2;
pub mod gic_v2_hypervisor;
pub mod gic_v3;
pub mod pl011;
