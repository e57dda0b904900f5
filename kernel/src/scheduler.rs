//! Which vCPU each physical CPU runs: run states, pinning, round-robin time slicing, and the
//! completions that services' actions leave for a blocked vCPU. Pure logic, tested on the host;
//! the kernel keeps one instance behind a lock.

use somnus_abi::guest_platform::MAX_VCPUS as MAX_VCPUS_PER_DOMAIN;
use somnus_abi::ids::VcpuId;

use crate::platform::MAX_CPUS;
use crate::trap::MmioAccess;

/// Most domains.
pub const MAX_DOMAINS: usize = 8;
/// Most vCPUs in the whole system.
pub const MAX_VCPUS: usize = MAX_DOMAINS * MAX_VCPUS_PER_DOMAIN;

/// Why a vCPU does not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockReason {
    /// It executed WFI and nothing is pending for it.
    WaitForInterrupt,
    /// It waits for a service to answer its call or access.
    Service,
}

/// A vCPU's scheduling state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Powered off: never picked.
    Off,
    /// Ready to run (or running) on its physical CPU.
    Runnable,
    /// Waiting.
    Blocked(BlockReason),
}

/// What a service decided about a vCPU's pending call or access, applied by the vCPU's own
/// physical CPU just before the vCPU runs again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Set x0..x3.
    Registers([u64; 4]),
    /// Finish the pending load with this value.
    Read(u64),
    /// Finish the pending store.
    Write,
    /// Refuse the pending access with a synchronous external abort.
    Abort,
    /// Reset the vCPU with the one reset routine and start it at `entry` with x0 = `context_id`.
    Reset {
        /// Entry point.
        entry: u64,
        /// x0.
        context_id: u64,
    },
}

/// What the kernel needs to finish an emulated access later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingAccess {
    /// The decoded access.
    pub access: MmioAccess,
    /// The guest virtual address that faulted (for FAR_EL1 if the access is refused).
    pub fault_address: u64,
    /// Base register update of a pre- or post-indexed form: register (31 = SP) and amount.
    pub writeback: Option<(u8, i64)>,
}

/// One vCPU's entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VcpuEntry {
    /// Which vCPU (with its domain's generation).
    pub id: VcpuId,
    /// The physical CPU it is pinned to.
    pub pcpu: usize,
    /// Its state.
    pub state: RunState,
    /// A completion waiting to be applied.
    pub completion: Option<Completion>,
    /// The emulated access it waits on, if any.
    pub pending_access: Option<PendingAccess>,
}

/// Errors of scheduler operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedulerError {
    /// The vCPU's slot is outside the table.
    NoSuchSlot,
    /// The physical CPU does not exist.
    NoSuchCpu,
}

/// The scheduler's state for every vCPU and physical CPU.
#[derive(Debug)]
pub struct Scheduler {
    entries: [Option<VcpuEntry>; MAX_VCPUS],
    last_picked: [Option<usize>; MAX_CPUS],
    cpu_count: usize,
    /// Bit n set: domain slot n is paused (none of its vCPUs is picked).
    paused_domains: u8,
}

/// The table slot of a vCPU: one row of `MAX_VCPUS_PER_DOMAIN` per domain.
#[must_use]
pub const fn slot_of(id: VcpuId) -> usize {
    id.domain.index as usize * MAX_VCPUS_PER_DOMAIN + id.index as usize
}

impl Scheduler {
    /// A scheduler for `cpu_count` physical CPUs and no vCPU.
    #[must_use]
    pub const fn new(cpu_count: usize) -> Self {
        Self { entries: [None; MAX_VCPUS], last_picked: [None; MAX_CPUS], cpu_count, paused_domains: 0 }
    }

    /// Pauses or unpauses every vCPU of domain slot `domain_index` (they keep their state).
    pub fn set_paused(&mut self, domain_index: u8, paused: bool) {
        let bit = 1_u8.checked_shl(u32::from(domain_index)).unwrap_or(0);
        if paused { self.paused_domains |= bit } else { self.paused_domains &= !bit }
    }

    fn is_paused(&self, entry: &VcpuEntry) -> bool {
        self.paused_domains & 1_u8.checked_shl(u32::from(entry.id.domain.index)).unwrap_or(0) != 0
    }

    /// Sets the number of physical CPUs vCPUs can be pinned to.
    pub fn set_cpu_count(&mut self, cpu_count: usize) {
        self.cpu_count = cpu_count.min(MAX_CPUS);
    }

    /// Adds (or replaces) a vCPU, powered off, pinned to `pcpu`.
    pub fn add(&mut self, id: VcpuId, pcpu: usize) -> Result<(), SchedulerError> {
        if pcpu >= self.cpu_count {
            return Err(SchedulerError::NoSuchCpu);
        }
        let slot = self.entries.get_mut(slot_of(id)).ok_or(SchedulerError::NoSuchSlot)?;
        *slot = Some(VcpuEntry { id, pcpu, state: RunState::Off, completion: None, pending_access: None });
        Ok(())
    }

    /// The entry of `id`, if it exists with this exact generation.
    #[must_use]
    pub fn entry(&self, id: VcpuId) -> Option<&VcpuEntry> {
        self.entries.get(slot_of(id))?.as_ref().filter(|entry| entry.id == id)
    }

    fn entry_mut(&mut self, id: VcpuId) -> Option<&mut VcpuEntry> {
        self.entries.get_mut(slot_of(id))?.as_mut().filter(|entry| entry.id == id)
    }

    /// Sets the state of `id`; `false` if there is no such vCPU (a stale id).
    pub fn set_state(&mut self, id: VcpuId, state: RunState) -> bool {
        self.entry_mut(id).map(|entry| entry.state = state).is_some()
    }

    /// Blocks `id` until a service completes its access.
    /// Returns `false`, changing nothing, if the vCPU is unknown or was powered off meanwhile
    /// (SYSTEM_OFF or SYSTEM_RESET from another vCPU while this one trapped): it stays off.
    pub fn block_for_service(&mut self, id: VcpuId, pending_access: Option<PendingAccess>) -> bool {
        match self.entry_mut(id) {
            Some(entry) if entry.state != RunState::Off => {
                entry.state = RunState::Blocked(BlockReason::Service);
                entry.pending_access = pending_access;
                true
            }
            _ => false,
        }
    }

    /// Blocks `id` until an interrupt is pending for it (WFI), unless it was powered off.
    pub fn block_for_interrupt(&mut self, id: VcpuId) {
        if let Some(entry) = self.entry_mut(id)
            && entry.state != RunState::Off
        {
            entry.state = RunState::Blocked(BlockReason::WaitForInterrupt);
        }
    }

    /// Leaves `completion` for `id` and makes it runnable, if it waits for a service.
    /// Returns the physical CPU to notify, or `None` if the completion was not for a waiting vCPU.
    pub fn complete(&mut self, id: VcpuId, completion: Completion) -> Option<usize> {
        let entry = self.entry_mut(id)?;
        if entry.state != RunState::Blocked(BlockReason::Service) {
            return None;
        }
        entry.completion = Some(completion);
        entry.state = RunState::Runnable;
        Some(entry.pcpu)
    }

    /// Starts `id`, which must be off: it is reset and runs at `entry` next time its CPU picks
    /// it. Returns its physical CPU.
    pub fn start(&mut self, id: VcpuId, entry: u64, context_id: u64) -> Option<usize> {
        let entry_of = self.entry_mut(id)?;
        if entry_of.state != RunState::Off {
            return None;
        }
        entry_of.completion = Some(Completion::Reset { entry, context_id });
        entry_of.pending_access = None;
        entry_of.state = RunState::Runnable;
        Some(entry_of.pcpu)
    }

    /// Powers `id` off, whatever it was doing; a completion left for it is dropped. Returns
    /// its physical CPU.
    pub fn power_off(&mut self, id: VcpuId) -> Option<usize> {
        let entry = self.entry_mut(id)?;
        entry.state = RunState::Off;
        entry.completion = None;
        entry.pending_access = None;
        Some(entry.pcpu)
    }

    /// Leaves `completion` for `id`, which waits for a service, but keeps it waiting for an
    /// interrupt first (a standby power state). Returns its physical CPU.
    pub fn complete_after_interrupt(&mut self, id: VcpuId, completion: Completion) -> Option<usize> {
        let entry = self.entry_mut(id)?;
        if entry.state != RunState::Blocked(BlockReason::Service) {
            return None;
        }
        entry.completion = Some(completion);
        entry.state = RunState::Blocked(BlockReason::WaitForInterrupt);
        Some(entry.pcpu)
    }

    /// Takes the completion and pending access left for `id`.
    pub fn take_completion(&mut self, id: VcpuId) -> (Option<Completion>, Option<PendingAccess>) {
        self.entry_mut(id).map_or((None, None), |entry| (entry.completion.take(), entry.pending_access.take()))
    }

    /// Wakes `id` from WFI. Returns its physical CPU if it was waiting.
    pub fn wake(&mut self, id: VcpuId) -> Option<usize> {
        let entry = self.entry_mut(id)?;
        if entry.state != RunState::Blocked(BlockReason::WaitForInterrupt) {
            return None;
        }
        entry.state = RunState::Runnable;
        Some(entry.pcpu)
    }

    /// The vCPU `pcpu` should run next. `current` keeps the CPU unless `rotate` asks for the
    /// next runnable vCPU in round-robin order (a time slice ended, or it yielded).
    pub fn pick(&mut self, pcpu: usize, current: Option<VcpuId>, rotate: bool) -> Option<VcpuId> {
        let current_runnable = current.filter(|&id| {
            self.entry(id).is_some_and(|entry| entry.state == RunState::Runnable && !self.is_paused(entry))
        });
        if let Some(id) = current_runnable
            && !rotate
        {
            return Some(id);
        }
        let start = self.last_picked.get(pcpu).copied().flatten().map_or(0, |slot| slot + 1);
        let found = (0..MAX_VCPUS).map(|step| (start + step) % MAX_VCPUS).find(|&slot| {
            self.entries[slot]
                .is_some_and(|entry| entry.pcpu == pcpu && entry.state == RunState::Runnable && !self.is_paused(&entry))
        });
        let picked = found.and_then(|slot| self.entries[slot].map(|entry| entry.id)).or(current_runnable);
        if let (Some(id), Some(last)) = (picked, self.last_picked.get_mut(pcpu)) {
            *last = Some(slot_of(id));
        }
        picked
    }

    /// Every vCPU pinned to physical CPU `pcpu`.
    pub fn vcpus_on(&self, pcpu: usize) -> impl Iterator<Item = &VcpuEntry> {
        self.entries.iter().flatten().filter(move |entry| entry.pcpu == pcpu)
    }

    /// Every vCPU of the domain with slot index `domain_index`.
    pub fn vcpus_of(&self, domain_index: u8) -> impl Iterator<Item = &VcpuEntry> {
        self.entries.iter().flatten().filter(move |entry| entry.id.domain.index == domain_index)
    }
}

#[cfg(test)]
mod tests {
    use somnus_abi::ids::DomainId;

    use super::*;

    fn vcpu(domain: u8, index: u8) -> VcpuId {
        VcpuId { domain: DomainId { index: domain, generation: 1 }, index }
    }

    #[test]
    fn off_vcpus_never_run() {
        let mut scheduler = Scheduler::new(2);
        scheduler.add(vcpu(0, 0), 0).unwrap();
        assert_eq!(scheduler.pick(0, None, false), None);
        scheduler.set_state(vcpu(0, 0), RunState::Runnable);
        assert_eq!(scheduler.pick(0, None, false), Some(vcpu(0, 0)));
        assert_eq!(scheduler.pick(1, None, false), None, "pinned to CPU 0");
    }

    #[test]
    fn round_robin_on_rotation_only() {
        let mut scheduler = Scheduler::new(1);
        for domain in 0..3 {
            scheduler.add(vcpu(domain, 0), 0).unwrap();
            scheduler.set_state(vcpu(domain, 0), RunState::Runnable);
        }
        let first = scheduler.pick(0, None, false).unwrap();
        assert_eq!(scheduler.pick(0, Some(first), false), Some(first));
        let second = scheduler.pick(0, Some(first), true).unwrap();
        let third = scheduler.pick(0, Some(second), true).unwrap();
        let fourth = scheduler.pick(0, Some(third), true).unwrap();
        assert_eq!([first, second, third, fourth], [vcpu(0, 0), vcpu(1, 0), vcpu(2, 0), vcpu(0, 0)]);
    }

    #[test]
    fn rotation_with_one_runnable_keeps_it() {
        let mut scheduler = Scheduler::new(1);
        scheduler.add(vcpu(0, 0), 0).unwrap();
        scheduler.set_state(vcpu(0, 0), RunState::Runnable);
        assert_eq!(scheduler.pick(0, Some(vcpu(0, 0)), true), Some(vcpu(0, 0)));
    }

    #[test]
    fn completions_only_reach_waiting_vcpus() {
        let mut scheduler = Scheduler::new(2);
        scheduler.add(vcpu(1, 2), 1).unwrap();
        scheduler.set_state(vcpu(1, 2), RunState::Runnable);
        assert_eq!(scheduler.complete(vcpu(1, 2), Completion::Write), None, "not waiting");
        scheduler.block_for_service(vcpu(1, 2), None);
        assert_eq!(scheduler.pick(1, None, false), None);
        assert_eq!(scheduler.complete(vcpu(1, 2), Completion::Registers([1, 2, 3, 4])), Some(1));
        assert_eq!(scheduler.pick(1, None, false), Some(vcpu(1, 2)));
        assert_eq!(scheduler.take_completion(vcpu(1, 2)), (Some(Completion::Registers([1, 2, 3, 4])), None));
        assert_eq!(scheduler.take_completion(vcpu(1, 2)), (None, None));
    }

    #[test]
    fn stale_generations_are_refused() {
        let mut scheduler = Scheduler::new(1);
        scheduler.add(vcpu(0, 0), 0).unwrap();
        scheduler.block_for_service(vcpu(0, 0), None);
        let stale = VcpuId { domain: DomainId { index: 0, generation: 0 }, index: 0 };
        assert_eq!(scheduler.complete(stale, Completion::Write), None);
        assert!(!scheduler.set_state(stale, RunState::Runnable));
        assert_eq!(scheduler.add(vcpu(0, 1), 3), Err(SchedulerError::NoSuchCpu));
    }

    #[test]
    fn start_only_from_off_and_power_off_from_anything() {
        let mut scheduler = Scheduler::new(2);
        scheduler.add(vcpu(0, 1), 1).unwrap();
        assert_eq!(scheduler.start(vcpu(0, 1), 0x4008_0000, 7), Some(1));
        assert_eq!(scheduler.start(vcpu(0, 1), 0x4008_0000, 7), None, "already on");
        assert_eq!(
            scheduler.take_completion(vcpu(0, 1)).0,
            Some(Completion::Reset { entry: 0x4008_0000, context_id: 7 })
        );
        scheduler.block_for_service(vcpu(0, 1), None);
        assert_eq!(scheduler.power_off(vcpu(0, 1)), Some(1));
        assert_eq!(scheduler.entry(vcpu(0, 1)).map(|entry| entry.state), Some(RunState::Off));
        assert_eq!(scheduler.complete(vcpu(0, 1), Completion::Write), None, "an off vCPU takes no completion");
    }

    #[test]
    fn standby_waits_for_an_interrupt_before_its_reply() {
        let mut scheduler = Scheduler::new(1);
        scheduler.add(vcpu(0, 0), 0).unwrap();
        scheduler.set_state(vcpu(0, 0), RunState::Runnable);
        assert!(scheduler.block_for_service(vcpu(0, 0), None));
        assert_eq!(scheduler.complete_after_interrupt(vcpu(0, 0), Completion::Registers([0; 4])), Some(0));
        assert_eq!(scheduler.pick(0, None, false), None);
        assert_eq!(scheduler.wake(vcpu(0, 0)), Some(0));
        assert_eq!(scheduler.take_completion(vcpu(0, 0)).0, Some(Completion::Registers([0; 4])));
    }

    #[test]
    fn paused_domains_are_not_picked() {
        let mut scheduler = Scheduler::new(1);
        scheduler.add(vcpu(0, 0), 0).unwrap();
        scheduler.add(vcpu(1, 0), 0).unwrap();
        scheduler.set_state(vcpu(0, 0), RunState::Runnable);
        scheduler.set_state(vcpu(1, 0), RunState::Runnable);
        scheduler.set_paused(0, true);
        assert_eq!(scheduler.pick(0, Some(vcpu(0, 0)), false), Some(vcpu(1, 0)), "the running vCPU leaves");
        assert_eq!(scheduler.pick(0, Some(vcpu(1, 0)), true), Some(vcpu(1, 0)));
        scheduler.set_paused(0, false);
        assert_eq!(scheduler.pick(0, Some(vcpu(1, 0)), true), Some(vcpu(0, 0)));
        scheduler.set_paused(200, true);
    }

    #[test]
    fn a_vcpu_powered_off_while_it_trapped_stays_off() {
        let mut scheduler = Scheduler::new(1);
        scheduler.add(vcpu(0, 1), 0).unwrap();
        scheduler.set_state(vcpu(0, 1), RunState::Runnable);
        scheduler.power_off(vcpu(0, 1));
        assert!(!scheduler.block_for_service(vcpu(0, 1), None));
        scheduler.block_for_interrupt(vcpu(0, 1));
        assert_eq!(scheduler.entry(vcpu(0, 1)).map(|entry| entry.state), Some(RunState::Off));
        assert_eq!(scheduler.complete(vcpu(0, 1), Completion::Write), None);
        assert_eq!(scheduler.pick(0, Some(vcpu(0, 1)), false), None);
    }

    #[test]
    fn wake_only_from_wait_for_interrupt() {
        let mut scheduler = Scheduler::new(1);
        scheduler.add(vcpu(0, 0), 0).unwrap();
        assert_eq!(scheduler.wake(vcpu(0, 0)), None, "off vCPUs are not woken by interrupts");
        scheduler.set_state(vcpu(0, 0), RunState::Blocked(BlockReason::WaitForInterrupt));
        assert_eq!(scheduler.wake(vcpu(0, 0)), Some(0));
        assert_eq!(scheduler.wake(vcpu(0, 0)), None, "idempotent");
    }
}
