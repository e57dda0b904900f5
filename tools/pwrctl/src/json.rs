//! `list --json`: the shape of contract 6, one line,
//! `{"domains":[{"id":1,"name":"linux","state":"running",...}]}`.
//!
//! Per domain: `id` (number from 1), `name`, `state` (running, paused, suspended, off, crashed),
//! `since_ns`, `vcpus` (`id`, `state` on/off/suspended, `pcpu`), `suspend_entry` and
//! `context_id` (hex strings or null), `suspend_count`, `resume_count`, `last_wake_interrupt`
//! (INTID, `"management"` for `pwrctl wake`, or null), `last_resume_latency_us` (number or null)
//! and `psci_calls` (count per PSCI function, in `PSCI_COUNTER_NAMES` order).

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use somnus_abi::management::{CALL_COUNTERS, DomainStatus, PSCI_COUNTER_NAMES};

use crate::render::{MANAGEMENT_WAKE, domain_number, domain_state_name, vcpu_state_name};

/// The whole document.
#[derive(Serialize)]
struct DomainList<'a> {
    domains: Vec<DomainEntry<'a>>,
}

/// One domain.
#[derive(Serialize)]
struct DomainEntry<'a> {
    id: u16,
    name: &'a str,
    state: &'static str,
    since_ns: u64,
    vcpus: Vec<VcpuEntry>,
    suspend_entry: Option<String>,
    context_id: Option<String>,
    suspend_count: u64,
    resume_count: u64,
    last_wake_interrupt: Option<WakeInterrupt>,
    last_resume_latency_us: Option<f64>,
    psci_calls: CallCounts,
}

/// One vCPU.
#[derive(Serialize)]
struct VcpuEntry {
    id: u8,
    state: &'static str,
    pcpu: u8,
}

/// What last woke a domain.
#[derive(Serialize)]
#[serde(untagged)]
enum WakeInterrupt {
    /// A hardware or virtual interrupt, by INTID.
    Interrupt(u32),
    /// `pwrctl wake`.
    Management(&'static str),
}

/// PSCI call counters as an object keyed by function name, in a fixed order.
struct CallCounts([u64; CALL_COUNTERS]);

impl Serialize for CallCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(CALL_COUNTERS))?;
        for (name, count) in PSCI_COUNTER_NAMES.iter().zip(self.0) {
            map.serialize_entry(name, &count)?;
        }
        map.end()
    }
}

fn entry(domain: &DomainStatus) -> DomainEntry<'_> {
    let wake = domain.last_wake_intid.map(|intid| {
        if intid == MANAGEMENT_WAKE { WakeInterrupt::Management("management") } else { WakeInterrupt::Interrupt(intid) }
    });
    DomainEntry {
        id: domain_number(domain),
        name: domain.name.as_str(),
        state: domain_state_name(domain.state),
        since_ns: domain.since_ns,
        vcpus: domain
            .vcpus
            .iter()
            .map(|vcpu| VcpuEntry { id: vcpu.index, state: vcpu_state_name(vcpu.state), pcpu: vcpu.pcpu })
            .collect(),
        suspend_entry: domain.suspend_entry.map(|address| format!("{address:#x}")),
        context_id: domain.suspend_context_id.map(|context| format!("{context:#x}")),
        suspend_count: domain.suspend_count,
        resume_count: domain.resume_count,
        last_wake_interrupt: wake,
        last_resume_latency_us: domain.last_resume_latency_ns.map(microseconds),
        psci_calls: CallCounts(domain.calls),
    }
}

/// Microseconds from nanoseconds, exact to the nanosecond below 2^53 ns (104 days).
#[allow(clippy::cast_precision_loss)]
fn microseconds(nanoseconds: u64) -> f64 {
    nanoseconds as f64 / 1000.0
}

/// The `list --json` document for `domains`, without a trailing newline.
#[must_use]
pub fn domain_list_json(domains: &[DomainStatus]) -> String {
    let list = DomainList { domains: domains.iter().map(entry).collect() };
    serde_json::to_string(&list).expect("the domain list is plain data")
}
