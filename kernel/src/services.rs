//! The services the board registered, and how the kernel runs them and applies their actions.

use somnus_abi::ipc::{Action, ActionBuffer, InterruptSource, InterruptTarget, Message, Service};
use spin::Once;

use crate::arch::aarch64::{cpu, guest_entry};
use crate::run_loop::SCHEDULER;
use crate::scheduler::Completion;
use crate::service_host::{MAX_ACTIONS_PER_MESSAGE, MAX_SERVICES, ServiceRegistry, ServiceStack, StackArea};
use crate::virtual_interrupts::QueuedInterrupt;
use crate::{domain_lifecycle, interrupt_delivery};

static REGISTRY: Once<ServiceRegistry> = Once::new();
/// Messages whose actions did not all fit (a guest can cause them over and over).
static ACTION_OVERFLOWS: crate::report_limit::ReportLimit = crate::report_limit::ReportLimit::new();

/// The service tasks' stacks, zero-initialised in `.bss` (never built on a stack).
static mut SERVICE_STACKS: [ServiceStack; MAX_SERVICES] =
    [const { ServiceStack([0; crate::service_host::SERVICE_STACK_SIZE]) }; MAX_SERVICES];

/// The stacks a registry hands to services.
#[must_use]
pub fn stack_area() -> StackArea {
    // Only the address is taken; each stack is then used by one service at a time.
    StackArea { base: (&raw const SERVICE_STACKS) as u64, count: MAX_SERVICES }
}

/// Installs the board's services; boot CPU, once.
pub fn install(registry: ServiceRegistry) {
    REGISTRY.call_once(|| registry);
}

/// The registered services (none before `install`).
#[must_use]
pub fn registry() -> &'static ServiceRegistry {
    static EMPTY: ServiceRegistry = ServiceRegistry::new(StackArea { base: 0, count: 0 });
    REGISTRY.get().unwrap_or(&EMPTY)
}

struct Job<'a> {
    service: &'a mut (dyn Service + Send),
    message: &'a Message,
    actions: &'a mut ActionBuffer<MAX_ACTIONS_PER_MESSAGE>,
}

extern "C" fn run_job(job: *mut u8) {
    // SAFETY: `run_on_service_stack` passes a pointer to a live, properly aligned `Job` it owns
    // exclusively; it was only cast to a byte pointer to cross the assembly trampoline.
    #[allow(clippy::cast_ptr_alignment, reason = "the pointer was made from a `&mut Job`")]
    let job = unsafe { &mut *job.cast::<Job<'_>>() };
    job.service.handle(job.message, job.actions);
}

/// Runs one message through `service` on the service's own stack.
pub fn run_on_service_stack(
    stack_top: u64,
    service: &mut (dyn Service + Send),
    message: &Message,
    actions: &mut ActionBuffer<MAX_ACTIONS_PER_MESSAGE>,
) {
    let mut job = Job { service, message, actions };
    // SAFETY: the stack belongs to this service, whose lock the caller holds, so no other CPU
    // uses it; the job outlives the call.
    unsafe { guest_entry::call_on_stack(stack_top, run_job, (&raw mut job).cast()) };
    if job.actions.dropped > 0
        && let Some(times) = ACTION_OVERFLOWS.occurred()
    {
        crate::println!(
            "somnus: a service produced more than {MAX_ACTIONS_PER_MESSAGE} actions; {} dropped ({times} times so far)",
            job.actions.dropped
        );
    }
}

/// Applies one action of a service.
pub fn apply_action(action: &Action) {
    let woken = match *action {
        Action::Reply { target, registers } => SCHEDULER.lock().complete(target, Completion::Registers(registers)),
        Action::CompleteRead { target, value } => SCHEDULER.lock().complete(target, Completion::Read(value)),
        Action::CompleteWrite { target } => SCHEDULER.lock().complete(target, Completion::Write),
        Action::InjectAbort { target } => SCHEDULER.lock().complete(target, Completion::Abort),
        Action::ConsoleWrite { ref text, .. } => {
            crate::console::write_bytes(text);
            None
        }
        Action::InjectInterrupt { target, intid, priority, physical, notify_end } => {
            interrupt_delivery::inject(target, QueuedInterrupt { intid, priority, physical, notify_end });
            None
        }
        Action::WithdrawInterrupt { target, intid } => {
            interrupt_delivery::withdraw(target, intid);
            None
        }
        Action::DiscardPhysical { intid, vcpu } => {
            interrupt_delivery::discard_physical(intid, vcpu);
            None
        }
        Action::RoutePhysical { intid, target, enabled } => {
            interrupt_delivery::route_physical(intid, target, enabled);
            None
        }
        Action::StartVcpu { target, entry, context_id } => SCHEDULER.lock().start(target, entry, context_id),
        Action::PowerOffVcpu { target } => SCHEDULER.lock().power_off(target),
        Action::ReplyAfterInterrupt { target, registers } => {
            SCHEDULER.lock().complete_after_interrupt(target, Completion::Registers(registers))
        }
        Action::StopDomain { domain } => {
            domain_lifecycle::stop(domain);
            None
        }
        Action::RebootDomain { domain } => {
            domain_lifecycle::request_restart(domain);
            None
        }
        Action::PauseDomain { domain, paused } => {
            let pcpus: heapless::Vec<usize, 8> = {
                let mut scheduler = SCHEDULER.lock();
                scheduler.set_paused(domain.index, paused);
                scheduler.vcpus_of(domain.index).map(|entry| entry.pcpu).collect()
            };
            for pcpu in pcpus {
                if pcpu != cpu::index() {
                    crate::interrupts::kick(pcpu);
                }
            }
            None
        }
        Action::PowerReport { sequence, ref report } => {
            crate::management::add_report(sequence, report);
            None
        }
        Action::ManagementReply { sequence, result } => {
            crate::management::finish(sequence, result);
            None
        }
        Action::PowerEvent { domain, state, time_ns } => {
            crate::management::event(domain, state, time_ns);
            None
        }
        Action::ArmAlarm { deadline_ns } => {
            crate::service_alarm::arm(deadline_ns);
            None
        }
        Action::RaiseInterrupt { domain, intid, level } => {
            let message = Message::Interrupt {
                target: InterruptTarget::Domain(domain),
                intid,
                source: InterruptSource::Level(level),
            };
            // Dropped if no service takes interrupts; the device raises the line again later.
            let _ = registry().deliver(&message, run_on_service_stack, &mut apply_action);
            None
        }
    };
    if let Some(pcpu) = woken
        && pcpu != cpu::index()
    {
        crate::interrupts::kick(pcpu);
    }
}
