//! The management protocol between `pwrctl` on the host and the hypervisor, over the console's
//! serial line. Each request and response is a postcard-encoded value, COBS-encoded (so it
//! contains no zero byte), sent as `0x00 0x00 COBS 0x00` (see `framing`). Console text never
//! contains 0x00, so frames and text share the line without corrupting each other.

use heapless::{String, Vec};
use serde::{Deserialize, Serialize};

use crate::domain_bundle::{MAX_DOMAINS, MAX_NAME_LENGTH};
use crate::guest_platform::MAX_VCPUS;
use crate::ids::DomainId;

/// Version of the management protocol; `Hello` refuses any other.
pub const MANAGEMENT_VERSION: u32 = 1;
/// Largest encoded frame (before COBS), in bytes.
pub const MAX_FRAME: usize = 4096;
/// Per-function PSCI call counters reported per domain.
pub const CALL_COUNTERS: usize = 16;

/// How a request names a domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DomainSelector {
    /// By its number as users see it (slot index + 1).
    Number(u8),
    /// By its configured name.
    Name(String<MAX_NAME_LENGTH>),
}

/// What the host asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// First message: agree on the protocol version.
    Hello {
        /// The host's `MANAGEMENT_VERSION`.
        version: u32,
    },
    /// Every domain's status.
    List,
    /// One domain's status.
    Show(DomainSelector),
    /// Resume a suspended domain as a wake-up interrupt would.
    Wake(DomainSelector),
    /// Stop scheduling a domain's vCPUs (they keep their state).
    Pause(DomainSelector),
    /// Schedule a paused domain again.
    Unpause(DomainSelector),
    /// Restart a domain from its pristine image, as SYSTEM_RESET.
    Reset(DomainSelector),
    /// Turn a domain off, as SYSTEM_OFF.
    Off(DomainSelector),
    /// Start or stop sending `Event`s on every power-state change.
    Watch(bool),
}

/// A request with the number the response carries back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestFrame {
    /// Chosen by the host; echoed in the response.
    pub sequence: u32,
    /// The request.
    pub request: Request,
}

/// A domain's power state as users see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DomainState {
    /// At least one vCPU may run.
    Running,
    /// Paused by management.
    Paused,
    /// In SYSTEM_SUSPEND.
    Suspended,
    /// SYSTEM_OFF, or turned off by management.
    Off,
    /// Stopped by the hypervisor after a fatal error of the guest.
    Crashed,
}

/// A vCPU's power state as users see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VcpuState {
    /// Powered on.
    On,
    /// Powered off.
    Off,
    /// Powered down by CPU_SUSPEND or SYSTEM_SUSPEND, waiting for a wake-up.
    Suspended,
}

/// One vCPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VcpuStatus {
    /// Index inside the domain.
    pub index: u8,
    /// Power state.
    pub state: VcpuState,
    /// Physical CPU it is pinned to.
    pub pcpu: u8,
    /// PSCI power-down entries (STAT_COUNT).
    pub power_down_count: u64,
    /// Time spent powered down, in microseconds (STAT_RESIDENCY).
    pub power_down_residency_us: u64,
}

/// Everything shown about one domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainStatus {
    /// Identity (number = index + 1).
    pub id: DomainId,
    /// Configured name.
    pub name: String<MAX_NAME_LENGTH>,
    /// Power state.
    pub state: DomainState,
    /// Since when (hypervisor clock, ns).
    pub since_ns: u64,
    /// vCPUs.
    pub vcpus: Vec<VcpuStatus, MAX_VCPUS>,
    /// Where it resumes, while suspended or after its last suspend.
    pub suspend_entry: Option<u64>,
    /// x0 it resumes with.
    pub suspend_context_id: Option<u64>,
    /// SYSTEM_SUSPENDs.
    pub suspend_count: u64,
    /// Resumes from SYSTEM_SUSPEND.
    pub resume_count: u64,
    /// The interrupt that last woke it (`u32::MAX`: a management wake).
    pub last_wake_intid: Option<u32>,
    /// Wake-up interrupt to first instruction at the resume entry point, last time, in ns.
    pub last_resume_latency_ns: Option<u64>,
    /// PSCI calls per function (see `PSCI_COUNTER_NAMES`).
    pub calls: [u64; CALL_COUNTERS],
}

/// Names of the entries of `DomainStatus::calls`, in order.
pub const PSCI_COUNTER_NAMES: [&str; CALL_COUNTERS] = [
    "PSCI_VERSION",
    "PSCI_FEATURES",
    "CPU_SUSPEND",
    "CPU_OFF",
    "CPU_ON",
    "AFFINITY_INFO",
    "MIGRATE_INFO_TYPE",
    "SYSTEM_OFF",
    "SYSTEM_RESET",
    "SYSTEM_RESET2",
    "SYSTEM_SUSPEND",
    "PSCI_STAT_RESIDENCY",
    "PSCI_STAT_COUNT",
    "SMCCC_VERSION",
    "SMCCC_ARCH_FEATURES",
    "unknown",
];

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ManagementError {
    /// The host speaks another protocol version (the hypervisor's is given).
    VersionMismatch(u32),
    /// No domain matches the selector.
    UnknownDomain,
    /// The request makes no sense in the domain's state (e.g. wake of a running domain).
    InvalidState(DomainState),
    /// The hypervisor is out of room to handle it now; try again.
    Busy,
}

/// What the hypervisor answers.
#[allow(clippy::large_enum_variant, reason = "encoded once into a frame; never stored in bulk")]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Protocol accepted.
    Hello {
        /// The hypervisor's `MANAGEMENT_VERSION`.
        version: u32,
        /// Board name.
        board: String<16>,
        /// Counter frequency the times are derived from, in Hz.
        timer_frequency: u64,
    },
    /// Status of every domain.
    Domains(Vec<DomainStatus, MAX_DOMAINS>),
    /// Status of one domain.
    Domain(DomainStatus),
    /// The request was carried out.
    Done,
    /// The request failed.
    Error(ManagementError),
    /// Unsolicited (after `Watch(true)`): a domain changed state.
    Event {
        /// The domain.
        domain: DomainId,
        /// Its new state.
        state: DomainState,
        /// When (ns).
        time_ns: u64,
    },
}

/// A response with the sequence number of its request (0 for events).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseFrame {
    /// The request's sequence number.
    pub sequence: u32,
    /// The response.
    pub response: Response,
}
