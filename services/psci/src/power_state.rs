//! Every domain's power state as the PSCI service keeps it: per vCPU on, off or suspended at an
//! entry point; per domain running, suspended (with its own resume request) or off; and the
//! counters the management channel shows.

use somnus_abi::guest_platform::MAX_VCPUS;
use somnus_abi::ids::{DomainId, VcpuId};

use crate::function::FUNCTION_COUNTERS;

/// Most domains the service keeps state for.
pub const MAX_DOMAINS: usize = 8;

/// Where and how a vCPU resumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResumePoint {
    /// Entry point.
    pub entry: u64,
    /// x0 at entry.
    pub context_id: u64,
}

/// One vCPU's power state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VcpuPower {
    /// Running (or runnable, or waiting in WFI or standby).
    On,
    /// Powered off.
    Off,
    /// Powered down by CPU_SUSPEND; a wake-up resumes it at the point given.
    Suspended(ResumePoint),
}

/// A domain's power state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainPower {
    /// At least one vCPU may run.
    Running,
    /// SYSTEM_SUSPEND: memory kept, every vCPU off; `resumer` resumes at `resume` on wake-up.
    Suspended {
        /// The vCPU that called SYSTEM_SUSPEND.
        resumer: u8,
        /// Where it resumes.
        resume: ResumePoint,
        /// When it went to sleep (ns).
        since_ns: u64,
    },
    /// SYSTEM_OFF, or SYSTEM_RESET until the new generation starts: calls change nothing.
    Off,
}

/// Counters per vCPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VcpuCounters {
    /// Entries into the power-down state (CPU_SUSPEND power-down or SYSTEM_SUSPEND).
    pub power_down_count: u64,
    /// Time spent in it so far, ns.
    pub power_down_residency_ns: u64,
    /// When the current stay began, if it is in it now.
    pub power_down_since_ns: Option<u64>,
}

/// Counters per domain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DomainCounters {
    /// Calls per function (`Function::counter_index`; the last slot counts unknown functions).
    pub calls: [u64; FUNCTION_COUNTERS],
    /// SYSTEM_SUSPENDs that succeeded.
    pub suspend_count: u64,
    /// Resumes from SYSTEM_SUSPEND.
    pub resume_count: u64,
    /// The interrupt that last resumed it.
    pub last_wake_intid: Option<u32>,
}

/// One domain as the service sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainRecord {
    /// Identity, with generation.
    pub id: DomainId,
    /// Number of vCPUs.
    pub vcpu_count: u8,
    /// Bytes of RAM at `RAM_BASE` (entry points must lie inside).
    pub memory_bytes: u64,
    /// Domain state.
    pub power: DomainPower,
    /// Per vCPU; only the first `vcpu_count` are meaningful.
    pub vcpus: [VcpuPower; MAX_VCPUS],
    /// Per-vCPU counters.
    pub vcpu_counters: [VcpuCounters; MAX_VCPUS],
    /// Domain counters.
    pub counters: DomainCounters,
    /// Paused by management (its vCPUs are not scheduled).
    pub paused: bool,
    /// When the domain last changed state (ns).
    pub since_ns: u64,
    /// Where its last SYSTEM_SUSPEND asked to resume.
    pub last_resume_point: Option<ResumePoint>,
    /// Console lines its suspends and resumes may still cause.
    pub line_budget: crate::line_budget::LineBudget,
}

impl DomainRecord {
    /// A freshly started domain: vCPU 0 on, the others off.
    #[must_use]
    pub fn started(id: DomainId, vcpu_count: u8, memory_bytes: u64) -> Self {
        let mut vcpus = [VcpuPower::Off; MAX_VCPUS];
        vcpus[0] = VcpuPower::On;
        Self {
            id,
            vcpu_count: vcpu_count.clamp(1, MAX_VCPUS as u8),
            memory_bytes,
            power: DomainPower::Running,
            vcpus,
            vcpu_counters: [VcpuCounters::default(); MAX_VCPUS],
            counters: DomainCounters::default(),
            paused: false,
            since_ns: 0,
            last_resume_point: None,
            line_budget: crate::line_budget::LineBudget::default(),
        }
    }

    /// The vCPU with index `index` of this domain, if it exists.
    #[must_use]
    pub fn vcpu(&self, index: u8) -> Option<VcpuId> {
        (index < self.vcpu_count).then_some(VcpuId { domain: self.id, index })
    }

    /// Every vCPU other than `index` is off.
    #[must_use]
    pub fn all_others_off(&self, index: u8) -> bool {
        (0..self.vcpu_count).filter(|&other| other != index).all(|other| self.vcpus[other as usize] == VcpuPower::Off)
    }

    /// Marks vCPU `index` as entering the power-down state at `now_ns`.
    pub fn enter_power_down(&mut self, index: u8, now_ns: u64) {
        let counters = &mut self.vcpu_counters[index as usize];
        counters.power_down_count += 1;
        counters.power_down_since_ns = Some(now_ns);
    }

    /// Marks vCPU `index` as leaving the power-down state at `now_ns`.
    pub fn leave_power_down(&mut self, index: u8, now_ns: u64) {
        let counters = &mut self.vcpu_counters[index as usize];
        if let Some(since) = counters.power_down_since_ns.take() {
            counters.power_down_residency_ns += now_ns.saturating_sub(since);
        }
    }
}

/// Every domain slot.
#[derive(Debug, Default)]
pub struct PowerTable {
    domains: [Option<DomainRecord>; MAX_DOMAINS],
}

impl PowerTable {
    /// No domains.
    #[must_use]
    pub const fn new() -> Self {
        Self { domains: [None; MAX_DOMAINS] }
    }

    /// Replaces the slot of `record.id`.
    pub fn insert(&mut self, record: DomainRecord) {
        if let Some(slot) = self.domains.get_mut(record.id.index as usize) {
            *slot = Some(record);
        }
    }

    /// The record of `id` if it is the current generation.
    #[must_use]
    pub fn get(&self, id: DomainId) -> Option<&DomainRecord> {
        self.domains.get(id.index as usize)?.as_ref().filter(|record| record.id == id)
    }

    /// The record of `id` if it is the current generation, mutably.
    pub fn get_mut(&mut self, id: DomainId) -> Option<&mut DomainRecord> {
        self.domains.get_mut(id.index as usize)?.as_mut().filter(|record| record.id == id)
    }

    /// Every domain.
    pub fn iter(&self) -> impl Iterator<Item = &DomainRecord> {
        self.domains.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn started_domain_has_only_its_boot_vcpu_on() {
        let record = DomainRecord::started(DomainId { index: 0, generation: 1 }, 3, 1 << 26);
        assert_eq!(&record.vcpus[..3], [VcpuPower::On, VcpuPower::Off, VcpuPower::Off]);
        assert!(record.all_others_off(0));
        assert!(!record.all_others_off(1));
        assert_eq!(record.vcpu(2).map(|vcpu| vcpu.index), Some(2));
        assert_eq!(record.vcpu(3), None);
    }

    #[test]
    fn residency_accumulates() {
        let mut record = DomainRecord::started(DomainId { index: 0, generation: 1 }, 1, 1 << 26);
        record.enter_power_down(0, 100);
        record.leave_power_down(0, 350);
        record.enter_power_down(0, 1000);
        record.leave_power_down(0, 1100);
        assert_eq!(record.vcpu_counters[0].power_down_count, 2);
        assert_eq!(record.vcpu_counters[0].power_down_residency_ns, 350);
    }

    #[test]
    fn stale_generations_are_not_found() {
        let mut table = PowerTable::new();
        table.insert(DomainRecord::started(DomainId { index: 1, generation: 4 }, 1, 1 << 26));
        assert!(table.get(DomainId { index: 1, generation: 4 }).is_some());
        assert!(table.get(DomainId { index: 1, generation: 3 }).is_none());
        assert!(table.get(DomainId { index: 9, generation: 4 }).is_none());
    }
}
