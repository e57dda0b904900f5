//! The vGIC service: owns every domain's virtual interrupt-controller state (a GICv2 distributor,
//! or a GICv3 distributor and one redistributor per vCPU, as the machine's GIC version dictates)
//! and decides which vCPU each interrupt goes to. The kernel only forwards physical interrupts,
//! traps the guests' register accesses and loads list registers as this service's actions say.
//!
//! The service is a pure state machine driven through [`somnus_abi::ipc::Service`]; every module
//! is tested on the host.
#![no_std]
#![forbid(unsafe_code)]

mod delivery;
mod distributor_v2;
mod distributor_v3;
mod domain_state;
mod identification;
mod interrupt_registers;
mod interrupt_set;
mod limits;
mod passthrough;
mod redistributor_v3;
mod service;
mod sgi;

pub use delivery::SGI_SOURCE_SHIFT;
pub use domain_state::DomainState;
pub use limits::{GicVersion, INTID_LIMIT, MAX_DOMAINS, PRIORITY_MASK, SPI_COUNT};
pub use service::VgicService;
