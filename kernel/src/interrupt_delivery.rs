//! The kernel's part of virtual interrupts: per-vCPU queues the vGIC service's actions fill,
//! loading them into list registers when the vCPU runs, forwarding physical interrupts and the
//! guests' ends of interrupt to the service, waking blocked vCPUs and expiring virtual timers of
//! vCPUs that are not on a CPU.
//!
//! Lock order: a queue lock is taken alone or after the scheduler lock is released; never while a
//! service lock is needed.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use somnus_abi::ids::{DomainId, VcpuId};
use somnus_abi::ipc::{InterruptSource, InterruptTarget, Message};
use spin::Mutex;

use crate::arch::aarch64::hypervisor_timer::now_ns;
use crate::arch::aarch64::{cpu, vcpu_switch, vcpu_table, virtual_cpu_interface};
use crate::interrupts::GIC;
use crate::report_limit::ReportLimit;
use crate::run_loop::{self, SCHEDULER};
use crate::scheduler::{BlockReason, MAX_VCPUS, RunState, slot_of};
use crate::services;
use crate::virtual_interrupts::{InterruptQueue, QueuedInterrupt};

static QUEUES: [Mutex<InterruptQueue>; MAX_VCPUS] = [const { Mutex::new(InterruptQueue::new()) }; MAX_VCPUS];
/// Set when the vGIC declined a vCPU's forwarded virtual timer interrupt; applied by its CPU.
static DISCARD_TIMER: [AtomicBool; MAX_VCPUS] = [const { AtomicBool::new(false) }; MAX_VCPUS];
/// Physical counter value at which a vCPU's virtual timer fires while it is not loaded (0: none).
static TIMER_DEADLINES: [AtomicU64; MAX_VCPUS] = [const { AtomicU64::new(0) }; MAX_VCPUS];
/// Interrupts withdrawn since the vCPU last ran, to take out of its list registers.
static WITHDRAWN: [Mutex<heapless::Vec<u32, 64>>; MAX_VCPUS] = [const { Mutex::new(heapless::Vec::new()) }; MAX_VCPUS];
/// Set when a vCPU's list registers may disagree with its queue: something was queued, withdrawn
/// or put back, its interface was just loaded, or a maintenance interrupt changed it. Cleared by
/// the vCPU's own CPU when it reconciles them before entry; left set while interrupts still wait
/// in the queue. Set after the change it announces, so a change that misses one reconciliation
/// finds the flag set for the next (and its CPU kicked).
static NEEDS_FILL: [AtomicBool; MAX_VCPUS] = [const { AtomicBool::new(false) }; MAX_VCPUS];
/// Interrupts dropped because a vCPU's queue was full (for rate-limited reports).
static DROPPED: [ReportLimit; MAX_VCPUS] = [const { ReportLimit::new() }; MAX_VCPUS];
/// Owner of each passed-through SPI.
static SPI_OWNERS: Mutex<[Option<DomainId>; 1020]> = Mutex::new([None; 1020]);

/// The INTID of the virtual timer (PPI 11).
pub const VIRTUAL_TIMER_INTID: u32 = 27;

/// Makes the vCPU in `slot` reconcile its list registers before it next runs.
fn mark_needs_fill(slot: usize) {
    NEEDS_FILL[slot].store(true, Ordering::Release);
}

fn deliver(message: &Message) {
    // A message nobody takes (no vGIC on this board) or a full mailbox is dropped: the source
    // raises level interrupts again, and edge interrupts are best effort like on hardware.
    let _ = services::registry().deliver(message, services::run_on_service_stack, &mut services::apply_action);
}

/// Queues `interrupt` for `target` and gets it delivered: wakes the vCPU from WFI, kicks its
/// CPU, or, for a vCPU that is off, tells the power service.
///
/// The interrupt is queued before the vCPU's state is looked at, and the WFI path blocks before
/// it looks at the queue: whichever comes second sees the other, so no wake-up is lost.
pub fn inject(target: VcpuId, interrupt: QueuedInterrupt) {
    let slot = slot_of(target);
    if SCHEDULER.lock().entry(target).is_none() {
        return;
    }
    if QUEUES[slot].lock().push(interrupt).is_err() {
        // A guest can pend more than fits on purpose: it must not flood the console.
        if let Some(dropped) = DROPPED[slot].occurred() {
            crate::println!(
                "somnus: {target:?}: virtual interrupt queue full, INTID {} dropped ({dropped} so far)",
                interrupt.intid
            );
        }
    }
    mark_needs_fill(slot);
    let decision = {
        let mut scheduler = SCHEDULER.lock();
        let state = scheduler.entry(target).map(|entry| (entry.state, entry.pcpu));
        if let Some((RunState::Blocked(BlockReason::WaitForInterrupt), pcpu)) = state {
            scheduler.wake(target);
            // Interrupt latency: the woken vCPU gets its CPU now rather than after the running
            // one's time slice (round robin keeps it fair).
            run_loop::request_rotation_on(pcpu);
        }
        state
    };
    match decision {
        None => {}
        Some((RunState::Off, _)) => report_wake_up(target, interrupt.intid),
        Some((_, pcpu)) => kick_unless_here(pcpu),
    }
}

fn kick_unless_here(pcpu: usize) {
    if pcpu != cpu::index() {
        crate::interrupts::kick(pcpu);
    }
}

/// Removes an interrupt that is no longer pending: from the queue, and (by the vCPU's own CPU,
/// before the vCPU runs again) from a list register where it is still only pending. A
/// hardware-backed one is deactivated at the physical GIC.
pub fn withdraw(target: VcpuId, intid: u32) {
    let slot = slot_of(target);
    {
        let mut withdrawn = WITHDRAWN[slot].lock();
        if !withdrawn.contains(&intid) {
            // Full: the interrupt stays in its list register, like one the guest already took.
            let _ = withdrawn.push(intid);
        }
    }
    let physical = QUEUES[slot].lock().withdraw(intid);
    mark_needs_fill(slot);
    match physical {
        Some(VIRTUAL_TIMER_INTID) => discard_physical(VIRTUAL_TIMER_INTID, Some(target)),
        Some(physical) => discard_physical(physical, None),
        None => {}
    }
}

/// Disables, physically, every passed-through interrupt `domain` owns (it stopped).
pub fn disable_owned(domain: DomainId) {
    let Some(gic) = GIC.get() else { return };
    let owners = *SPI_OWNERS.lock();
    for (intid, owner) in owners.iter().enumerate() {
        if owner.is_some_and(|owner| owner.index == domain.index) {
            let _ = gic.disable(intid as u32, cpu::mpidr());
        }
    }
}

/// The vCPU loaded on this CPU is powered off (`timer_asserted`: whether its virtual timer still
/// asserts its interrupt): take its interrupts out of the list registers
/// (pending ones back to its queue), and report a pending one to the power service, which
/// resumes the vCPU if it is suspended. No wake-up is lost: one that arrives later finds the
/// vCPU off in `inject`.
pub fn park(id: VcpuId, timer_asserted: bool) {
    let slot = slot_of(id);
    if let Some(interface) = virtual_cpu_interface::get() {
        let gic = GIC.get();
        interface.drain_into(&mut QUEUES[slot].lock(), |physical| {
            if let Some(gic) = gic {
                gic.deactivate(physical);
            }
        });
    }
    if !timer_asserted {
        // The timer's interrupt is level-sensitive: once the guest stopped or re-armed its timer
        // (as Linux does before it suspends), it is no longer pending and must wake nobody.
        let physical = QUEUES[slot].lock().withdraw(VIRTUAL_TIMER_INTID);
        if let (Some(physical), Some(gic)) = (physical, GIC.get()) {
            gic.deactivate(physical);
        }
    }
    mark_needs_fill(slot);
    // Any vCPU of the domain with something pending counts: an interrupt routed to a vCPU that
    // is off must still be able to resume a suspended domain.
    let domain_slots =
        slot_of(VcpuId { domain: id.domain, index: 0 })..=slot_of(VcpuId { domain: id.domain, index: 7 });
    let first_pending = QUEUES[domain_slots].iter().find_map(|queue| queue.lock().peek_intid());
    if let Some(intid) = first_pending {
        report_wake_up(id, intid);
    }
}

/// Tells the power service that `vcpu`, which is off, has `intid` pending.
fn report_wake_up(vcpu: VcpuId, intid: u32) {
    let time_ns = now_ns();
    crate::management::wake_reported(vcpu.domain, time_ns);
    deliver(&Message::WakeUp { vcpu, intid, time_ns });
}

/// Drops every queued interrupt of a vCPU (its domain is rebuilt as a new generation); a
/// passed-through interrupt among them is deactivated at the physical GIC, or the device could
/// never interrupt the new generation.
pub fn clear(target: VcpuId) {
    let slot = slot_of(target);
    WITHDRAWN[slot].lock().clear();
    QUEUES[slot].lock().clear(|physical| {
        if physical != VIRTUAL_TIMER_INTID
            && let Some(gic) = GIC.get()
        {
            gic.deactivate(physical);
        }
    });
    mark_needs_fill(slot);
}

/// Whether something is pending for the vCPU loaded on this CPU (WFI then does not block).
#[must_use]
pub fn pending_for_loaded(id: VcpuId) -> bool {
    !QUEUES[slot_of(id)].lock().is_empty()
        || virtual_cpu_interface::get().is_some_and(virtual_cpu_interface::VirtualCpuInterface::has_pending)
}

/// The domain a passed-through interrupt belongs to.
#[must_use]
pub fn owner_of(intid: u32) -> Option<DomainId> {
    SPI_OWNERS.lock().get(intid as usize).copied().flatten()
}

/// Records that `intid` belongs to `domain` (a passed-through device's line).
pub fn grant(domain: DomainId, intid: u32) {
    if let Some(owner) = SPI_OWNERS.lock().get_mut(intid as usize) {
        *owner = Some(domain);
    }
    deliver(&Message::InterruptGranted { domain, intid });
}

/// Handles a physical interrupt meant for a guest: its priority was dropped, it stays active
/// until the guest ends it. Returns `false` if it belongs to nobody (the caller deactivates it).
pub fn forward_physical(intid: u32) -> bool {
    let target = if intid == VIRTUAL_TIMER_INTID {
        run_loop::loaded_vcpu().map(InterruptTarget::Vcpu)
    } else {
        SPI_OWNERS.lock().get(intid as usize).copied().flatten().map(InterruptTarget::Domain)
    };
    let Some(target) = target else { return false };
    deliver(&Message::Interrupt { target, intid, source: InterruptSource::Physical });
    true
}

/// The vGIC declined a forwarded physical interrupt.
pub fn discard_physical(intid: u32, vcpu: Option<VcpuId>) {
    match vcpu {
        // A private interrupt is deactivated by its own CPU, before the vCPU runs again.
        Some(vcpu) => {
            DISCARD_TIMER[slot_of(vcpu)].store(true, Ordering::Release);
            if let Some(entry) = SCHEDULER.lock().entry(vcpu) {
                kick_unless_here(entry.pcpu);
            }
        }
        None => {
            if let Some(gic) = GIC.get() {
                gic.deactivate(intid);
            }
        }
    }
}

/// Routes a passed-through SPI to the CPU of `target` and enables or disables it.
pub fn route_physical(intid: u32, target: VcpuId, enabled: bool) {
    let owner = SPI_OWNERS.lock().get(intid as usize).copied().flatten();
    if owner != Some(target.domain) {
        return;
    }
    let (Some(gic), Some(pcpu)) = (GIC.get(), SCHEDULER.lock().entry(target).map(|entry| entry.pcpu)) else { return };
    gic.route(intid, crate::interrupts::sgi_target_of(pcpu));
    let mpidr = cpu::mpidr();
    let _ = if enabled { gic.enable(intid, mpidr) } else { gic.disable(intid, mpidr) };
}

/// Before `id` (loaded on this CPU) runs: apply a declined timer interrupt and, if anything
/// changed since the last time (`NEEDS_FILL`), reconcile its list registers with its queue.
pub fn prepare_entry(id: VcpuId) {
    let slot = slot_of(id);
    if DISCARD_TIMER[slot].swap(false, Ordering::Acquire) {
        if let Some(gic) = GIC.get() {
            gic.deactivate(VIRTUAL_TIMER_INTID);
        }
        vcpu_switch::mask_virtual_timer();
    }
    // Nothing queued, withdrawn or loaded since the last fill left the queue empty: the list
    // registers and the control register are as that fill left them.
    if !NEEDS_FILL[slot].swap(false, Ordering::Acquire) {
        return;
    }
    let mut queue = QUEUES[slot].lock();
    // A virtual timer interrupt queued in software while the vCPU was away (it woke the vCPU) is
    // dropped if the loaded timer still asserts its interrupt: the hardware raises the physical
    // one, with the hardware bit, and keeping both would deliver one expiry twice. (After a
    // reset the timer is off, and the queued interrupt is the guest's wake-up: it stays.)
    if !queue.is_empty() && vcpu_switch::virtual_timer_asserted() {
        queue.withdraw_software(VIRTUAL_TIMER_INTID);
    }
    if let Some(interface) = virtual_cpu_interface::get() {
        let mut withdrawn = WITHDRAWN[slot].lock();
        for &intid in withdrawn.iter() {
            // A hardware-backed interrupt taken out of its list register is never ended by the
            // guest: deactivate it here, or it could never fire again.
            if let (Some(physical), Some(gic)) = (interface.remove_pending(intid), GIC.get()) {
                gic.deactivate(physical);
            }
        }
        withdrawn.clear();
        drop(withdrawn);
        interface.fill(&mut queue);
    } else {
        WITHDRAWN[slot].lock().clear();
    }
    // Interrupts still waiting for a list register: look again at every entry.
    if !queue.is_empty() {
        mark_needs_fill(slot);
    }
}

/// The maintenance interrupt: report the loaded vCPU's ends of interrupt to the vGIC.
pub fn handle_maintenance() {
    let (Some(interface), Some(vcpu)) = (virtual_cpu_interface::get(), run_loop::loaded_vcpu()) else { return };
    let mut ended = heapless::Vec::<u32, 16>::new();
    interface.take_ended(|intid| {
        let _ = ended.push(intid);
    });
    // The list registers changed and the underflow request is off: reconcile before entry.
    mark_needs_fill(slot_of(vcpu));
    for intid in ended {
        deliver(&Message::InterruptEnded { vcpu, intid });
    }
}

/// Saves the interface of the vCPU leaving this CPU and arms its timer deadline.
pub fn save_interface(id: VcpuId, state: &mut crate::vcpu_context::VcpuContext) {
    if let Some(interface) = virtual_cpu_interface::get() {
        interface.save(&mut state.interface);
    }
    if let Some(gic) = GIC.get() {
        let mpidr = cpu::mpidr();
        state.interface.timer_interrupt_active = gic.is_active(VIRTUAL_TIMER_INTID, mpidr);
        gic.set_active(VIRTUAL_TIMER_INTID, mpidr, false);
    }
    // Enabled and not masked: it must wake the vCPU at its compare value even while another vCPU
    // has the CPU. The compare value is in virtual counts; the deadline in physical counts.
    let armed = state.system.cntv_ctl_el0 & 0b011 == 0b001;
    // SAFETY: `id` is pinned to this CPU, which owns its slot.
    let offset = unsafe { vcpu_table::domain_registers(slot_of(id)).counter_offset };
    let deadline = if armed { state.system.cntv_cval_el0.wrapping_add(offset).max(1) } else { 0 };
    TIMER_DEADLINES[slot_of(id)].store(deadline, Ordering::Release);
}

/// Restores the interface of the vCPU taking this CPU; its timer is live again.
pub fn restore_interface(id: VcpuId, state: &crate::vcpu_context::VcpuContext) {
    TIMER_DEADLINES[slot_of(id)].store(0, Ordering::Release);
    // The control register still holds the previous vCPU's underflow request.
    mark_needs_fill(slot_of(id));
    if let Some(interface) = virtual_cpu_interface::get() {
        interface.restore(&state.interface);
    }
    if let Some(gic) = GIC.get() {
        gic.set_active(VIRTUAL_TIMER_INTID, cpu::mpidr(), state.interface.timer_interrupt_active);
    }
}

/// On each tick: expire the virtual timers of this CPU's vCPUs that are not loaded.
pub fn expire_timers(now: u64) {
    let index = cpu::index();
    let loaded = run_loop::loaded_vcpu();
    let mut expired = heapless::Vec::<VcpuId, 16>::new();
    {
        let scheduler = SCHEDULER.lock();
        for entry in scheduler.vcpus_on(index) {
            let deadline = &TIMER_DEADLINES[slot_of(entry.id)];
            let value = deadline.load(Ordering::Acquire);
            if value != 0 && value <= now && Some(entry.id) != loaded {
                deadline.store(0, Ordering::Release);
                let _ = expired.push(entry.id);
            }
        }
    }
    for vcpu in expired {
        deliver(&Message::Interrupt {
            target: InterruptTarget::Vcpu(vcpu),
            intid: VIRTUAL_TIMER_INTID,
            source: InterruptSource::TimerExpired,
        });
    }
}
