//! Identifiers of domains and vCPUs. A domain id carries a generation, bumped whenever the domain
//! is rebuilt, so a message naming a domain that has since been reset or destroyed is refused.

use serde::{Deserialize, Serialize};

/// A domain: its slot index and the generation of that slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DomainId {
    /// Slot index (0-based; shown to users as `index + 1`).
    pub index: u8,
    /// Incremented each time the slot is (re)built.
    pub generation: u16,
}

/// One vCPU of one domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VcpuId {
    /// The domain.
    pub domain: DomainId,
    /// The vCPU's index inside the domain (its MPIDR Aff0).
    pub index: u8,
}
