//! What each physical CPU does forever: pick the next vCPU, load it, apply what services decided
//! for it, enter it; idle in WFI when nothing is runnable.

use core::sync::atomic::{AtomicBool, Ordering};

use somnus_abi::ids::VcpuId;
use spin::Mutex;

use crate::arch::aarch64::{cpu, guest_entry, per_cpu, vcpu_switch, vcpu_table};
use crate::domain_lifecycle;
use crate::exception_injection::{Injected, inject};
use crate::interrupt_delivery;
use crate::platform::MAX_CPUS;
use crate::scheduler::{BlockReason, Completion, PendingAccess, RunState, Scheduler, slot_of};

/// Every vCPU's scheduling state.
pub static SCHEDULER: Mutex<Scheduler> = Mutex::new(Scheduler::new(0));

/// The vCPU whose state is in each CPU's registers.
static LOADED: [Mutex<Option<VcpuId>>; MAX_CPUS] = [const { Mutex::new(None) }; MAX_CPUS];
/// Set by the tick (or a yield): the CPU should give the next runnable vCPU a turn.
static ROTATE: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// Set once the ready line is out; CPUs start guests only then.
static STARTED: AtomicBool = AtomicBool::new(false);

/// Lets every CPU start running vCPUs.
pub fn start_all() {
    STARTED.store(true, Ordering::Release);
}

/// Asks the calling CPU to rotate to the next runnable vCPU at its next scheduling point.
pub fn request_rotation() {
    if let Some(flag) = ROTATE.get(cpu::index()) {
        flag.store(true, Ordering::Relaxed);
    }
}

/// Asks CPU `pcpu` to rotate at its next scheduling point: a vCPU there just woke up and should
/// not wait for the running one's time slice to end.
pub fn request_rotation_on(pcpu: usize) {
    if let Some(flag) = ROTATE.get(pcpu) {
        flag.store(true, Ordering::Relaxed);
    }
}

/// The vCPU loaded on the calling CPU.
#[must_use]
pub fn loaded_vcpu() -> Option<VcpuId> {
    *LOADED[cpu::index()].lock()
}

/// Runs vCPUs on the calling CPU forever.
pub fn run() -> ! {
    // From here on, IRQs are taken only while idling (and stay routed to EL2 while guests run).
    cpu::disable_interrupts();
    while !STARTED.load(Ordering::Acquire) {
        idle_wait();
    }
    schedule();
    // SAFETY: `schedule` returned with a vCPU loaded and current on this CPU.
    unsafe { guest_entry::enter_current_guest() }
}

/// Returns once a vCPU is loaded and current on the calling CPU; idles meanwhile.
pub fn schedule() {
    let index = cpu::index();
    loop {
        let rotate = ROTATE[index].swap(false, Ordering::Relaxed);
        let mut current = *LOADED[index].lock();
        if let Some(id) = current {
            let state = SCHEDULER.lock().entry(id).map(|entry| entry.state);
            match state {
                // Powered off (or gone with its old generation): take it off this CPU.
                Some(RunState::Off) | None => {
                    park(index, id);
                    current = None;
                }
                // WFI or standby with something already pending: no wait.
                Some(RunState::Blocked(BlockReason::WaitForInterrupt))
                    if interrupt_delivery::pending_for_loaded(id) =>
                {
                    SCHEDULER.lock().wake(id);
                }
                _ => {}
            }
        }
        domain_lifecycle::run_pending_restarts();
        let picked = SCHEDULER.lock().pick(index, current, rotate);
        if let Some(next) = picked {
            switch_to(index, current, next);
            apply_completion(next);
            interrupt_delivery::prepare_entry(next);
            return;
        }
        idle_wait();
    }
}

/// Takes a powered-off vCPU off this CPU: its state is saved, its interrupts leave the list
/// registers (a pending one wakes it if it is suspended), its virtual timer keeps a deadline.
fn park(index: usize, id: VcpuId) {
    // SAFETY: `id` is loaded on this CPU, which owns its slot.
    let context = unsafe { vcpu_table::context(slot_of(id)) };
    // Read before `save` turns the timer off.
    let timer_asserted = vcpu_switch::virtual_timer_asserted();
    vcpu_switch::save(&mut context.system, &mut context.fp);
    interrupt_delivery::park(id, timer_asserted);
    interrupt_delivery::save_interface(id, context);
    *LOADED[index].lock() = None;
    per_cpu::set_current_registers(core::ptr::null_mut());
}

/// Whether a vCPU of domain slot `domain_index` is loaded on any CPU.
#[must_use]
pub fn domain_is_loaded_anywhere(domain_index: u8) -> bool {
    LOADED.iter().any(|loaded| loaded.lock().is_some_and(|id| id.domain.index == domain_index))
}

/// Waits for an interrupt and handles it. WFI runs with interrupts masked so an interrupt that
/// arrives after the last look at the run queue still ends the wait.
fn idle_wait() {
    #[cfg(feature = "bench")]
    crate::bench::idle_starts();
    cpu::wait_for_interrupt();
    #[cfg(feature = "bench")]
    crate::bench::idle_ends();
    cpu::enable_interrupts();
    cpu::disable_interrupts();
}

fn switch_to(index: usize, current: Option<VcpuId>, next: VcpuId) {
    if current != Some(next) {
        if let Some(previous) = current {
            // SAFETY: `previous` is pinned to this CPU, which owns its slot.
            let context = unsafe { vcpu_table::context(slot_of(previous)) };
            vcpu_switch::save(&mut context.system, &mut context.fp);
            interrupt_delivery::save_interface(previous, context);
        }
        // SAFETY: `next` was picked for this CPU, so this CPU owns its slot.
        let (context, domain) =
            unsafe { (vcpu_table::context(slot_of(next)), vcpu_table::domain_registers(slot_of(next))) };
        vcpu_switch::load_domain(domain);
        vcpu_switch::restore(&context.system, &context.fp);
        interrupt_delivery::restore_interface(next, context);
        *LOADED[index].lock() = Some(next);
    }
    // SAFETY: as above; the registers stay in the slot while the vCPU runs.
    let context = unsafe { vcpu_table::context(slot_of(next)) };
    per_cpu::set_current_registers(&raw mut context.registers);
}

/// Applies what a service decided for `id`'s pending call or access. `id` is loaded.
fn apply_completion(id: VcpuId) {
    let (completion, pending) = SCHEDULER.lock().take_completion(id);
    let Some(completion) = completion else { return };
    if let Completion::Reset { entry, context_id } = completion {
        reset_loaded(id, entry, context_id);
        return;
    }
    // SAFETY: `id` is loaded on this CPU, which owns its slot.
    let registers = unsafe { &mut vcpu_table::context(slot_of(id)).registers };
    match completion {
        Completion::Registers(values) => registers.x[..4].copy_from_slice(&values),
        Completion::Read(value) => {
            if let Some(pending) = pending
                && let Some(slot) = registers.x.get_mut(pending.access.register as usize)
            {
                *slot = pending.access.loaded_value(value);
            }
            apply_writeback(registers, pending);
            registers.pc += 4;
        }
        Completion::Write => {
            apply_writeback(registers, pending);
            registers.pc += 4;
        }
        Completion::Abort => {
            let is_write = pending.is_some_and(|pending| pending.access.is_write);
            let fault_address = pending.map_or(0, |pending| pending.fault_address);
            inject_into_loaded(Injected::DataAbort { is_write }, fault_address);
        }
        // Handled before the registers were borrowed.
        Completion::Reset { .. } => {}
    }
}

/// Moves the base register of a pre- or post-indexed access (after its load, as the
/// architecture orders it). Base 31 is the stack pointer of the guest's current mode.
fn apply_writeback(registers: &mut crate::vcpu_context::GuestRegisters, pending: Option<PendingAccess>) {
    let Some((base, amount)) = pending.and_then(|pending| pending.writeback) else { return };
    if let Some(register) = registers.x.get_mut(base as usize) {
        *register = register.wrapping_add_signed(amount);
    } else {
        vcpu_switch::add_to_stack_pointer(registers.pstate, amount);
    }
}

/// Resets the loaded vCPU `id` with the one reset routine (`VcpuContext::reset_at`) and reloads
/// the hardware from the reset state. Interrupts pending for it stay queued.
fn reset_loaded(id: VcpuId, entry: u64, context_id: u64) {
    interrupt_delivery::park(id, vcpu_switch::virtual_timer_asserted());
    // SAFETY: `id` is loaded on this CPU, which owns its slot.
    let context = unsafe { vcpu_table::context(slot_of(id)) };
    context.reset_at(entry, context_id);
    vcpu_switch::restore(&context.system, &context.fp);
    interrupt_delivery::restore_interface(id, context);
    crate::management::vcpu_started(id.domain);
}

/// Injects a synchronous exception into the vCPU loaded on this CPU.
pub fn inject_into_loaded(kind: Injected, fault_address: u64) {
    let Some(id) = loaded_vcpu() else { return };
    // SAFETY: `id` is loaded on this CPU, which owns its slot.
    let registers = unsafe { &mut vcpu_table::context(slot_of(id)).registers };
    #[cfg(feature = "bench")]
    if let Injected::DataAbort { is_write: false } = kind
        && crate::bench::answer_probe(fault_address, registers)
    {
        return;
    }
    let result = inject(kind, registers.pc, registers.pstate, vcpu_switch::vector_base());
    vcpu_switch::write_exception_registers(result.esr_el1, fault_address, result.elr_el1, result.spsr_el1);
    registers.pc = result.pc;
    registers.pstate = result.pstate;
}
