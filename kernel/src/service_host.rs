//! Hosting of services as tasks: each has its own stack, one bounded mailbox, and runs one message
//! at a time. Whichever CPU delivers a message runs the service if no other CPU is running it;
//! otherwise the message waits in the mailbox and the CPU running the service takes it next.
//! That serialisation is the only synchronisation a service needs.
//!
//! Lock order: a service's `task` lock, then (briefly) its `mailbox` lock, or the scheduler and
//! console locks while its actions are applied. Nothing that holds the scheduler or console lock
//! delivers a message.

use somnus_abi::GuestPhysAddr;
use somnus_abi::ipc::{Action, ActionBuffer, Message, Service};
use spin::Mutex;

/// Most services a board can register.
pub const MAX_SERVICES: usize = 6;
/// Messages a mailbox holds: one outstanding call or access per vCPU, plus notifications.
pub const MAILBOX_CAPACITY: usize = 80;
/// Actions one message may produce.
pub const MAX_ACTIONS_PER_MESSAGE: usize = 48;
/// Bytes of stack per service task.
pub const SERVICE_STACK_SIZE: usize = 32 * 1024;

/// Which messages a service receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Every HVC and SMC from every guest.
    Calls,
    /// Accesses to the guest physical range `[base, base + size)` of every domain.
    Mmio {
        /// First address.
        base: GuestPhysAddr,
        /// Length in bytes.
        size: u64,
    },
    /// Interrupt events: lines raised or fired, SGI generation, ends of interrupt, grants.
    Interrupts,
    /// Wake-ups of vCPUs that are off or suspended, and management requests about power.
    PowerEvents,
    /// Bytes typed on the physical console.
    ConsoleInput,
    /// Domain life-cycle notifications only.
    Notifications,
    /// `AlarmDue`, once the deadline the service armed has passed.
    Alarm,
}

/// The outcome of a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryError {
    /// No service takes this message.
    NoRoute,
    /// The service's mailbox is full.
    MailboxFull,
}

/// A service's stack.
#[derive(Debug)]
#[repr(C, align(16))]
pub struct ServiceStack(pub [u8; SERVICE_STACK_SIZE]);

/// Where the stacks of the service tasks are: an address range the registry hands out, one
/// stack per service in registration order.
#[derive(Clone, Copy, Debug)]
pub struct StackArea {
    /// Lowest address.
    pub base: u64,
    /// Number of `SERVICE_STACK_SIZE` stacks in it.
    pub count: usize,
}

/// What only the CPU running a service touches: the service, and which buffer of
/// `ACTION_BUFFERS` its actions go to.
struct TaskState {
    service: &'static mut (dyn Service + Send),
    buffer: usize,
}

/// Where each service's actions are collected: static, since a buffer is several KiB and must
/// not live on (or be copied across) a stack. Buffer *n* belongs to the *n*-th service of a
/// registry; its lock is only taken while that service's task lock is held.
static ACTION_BUFFERS: [Mutex<ActionBuffer<MAX_ACTIONS_PER_MESSAGE>>; MAX_SERVICES] =
    [const { Mutex::new(ActionBuffer::new()) }; MAX_SERVICES];

/// One registered service.
struct ServiceTask {
    task: Mutex<TaskState>,
    mailbox: Mutex<heapless::Deque<Message, MAILBOX_CAPACITY>>,
    routes: heapless::Vec<Route, 4>,
    stack_top: u64,
}

/// The set of services, filled by the board at boot.
pub struct ServiceRegistry {
    tasks: heapless::Vec<ServiceTask, MAX_SERVICES>,
    stacks: StackArea,
}

impl core::fmt::Debug for ServiceRegistry {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("ServiceRegistry")
            .field("services", &self.tasks.len())
            .field("stacks", &self.stacks)
            .finish()
    }
}

/// Runs a service handler somewhere (on the service's own stack on the target; inline in host
/// tests) and gives back the actions it produced.
pub type Runner = fn(
    stack_top: u64,
    service: &mut (dyn Service + Send),
    message: &Message,
    actions: &mut ActionBuffer<MAX_ACTIONS_PER_MESSAGE>,
);

impl ServiceRegistry {
    /// No services; their stacks will come from `stacks`.
    #[must_use]
    pub const fn new(stacks: StackArea) -> Self {
        Self { tasks: heapless::Vec::new(), stacks }
    }

    /// Registers `service` for `routes`, on the next free stack. Returns `false` when there is
    /// no room for another service or stack.
    pub fn add(&mut self, service: &'static mut (dyn Service + Send), routes: &[Route]) -> bool {
        let index = self.tasks.len();
        if index >= self.stacks.count {
            return false;
        }
        let stack_top = self.stacks.base + ((index + 1) * SERVICE_STACK_SIZE) as u64;
        let Ok(routes) = heapless::Vec::from_slice(routes) else { return false };
        self.tasks
            .push(ServiceTask {
                task: Mutex::new(TaskState { service, buffer: index }),
                mailbox: Mutex::new(heapless::Deque::new()),
                routes,
                stack_top,
            })
            .is_ok()
    }

    /// Number of registered services.
    #[must_use]
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether no service is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    fn route_of(&self, message: &Message) -> Option<&ServiceTask> {
        self.tasks.iter().find(|task| {
            task.routes.iter().any(|route| match (route, message) {
                (Route::Calls, Message::Call { .. })
                | (
                    Route::Interrupts,
                    Message::Interrupt { .. }
                    | Message::GenerateSgi { .. }
                    | Message::InterruptEnded { .. }
                    | Message::InterruptGranted { .. },
                )
                | (
                    Route::PowerEvents,
                    Message::WakeUp { .. } | Message::Management { .. } | Message::PowerQuery { .. },
                )
                | (Route::ConsoleInput, Message::ConsoleInput { .. })
                | (Route::Alarm, Message::AlarmDue { .. }) => true,
                (
                    Route::Mmio { base, size },
                    Message::MmioRead { address, .. } | Message::MmioWrite { address, .. },
                ) => address.0.wrapping_sub(base.0) < *size,
                _ => false,
            })
        })
    }

    /// Whether some service emulates guest physical address `address`.
    #[must_use]
    pub fn emulates(&self, address: GuestPhysAddr) -> bool {
        self.route_of(&Message::MmioRead {
            caller: somnus_abi::ids::VcpuId { domain: somnus_abi::ids::DomainId { index: 0, generation: 0 }, index: 0 },
            address,
            size: 1,
            time_ns: 0,
        })
        .is_some()
    }

    /// Delivers `message` to the service its route names and, unless another CPU is already
    /// running that service, runs it until its mailbox is empty. Every action produced is
    /// passed to `apply`, in order, while the service is held (so actions take effect in message
    /// order) but outside any other service's lock.
    ///
    /// An idle service with nothing waiting in its mailbox runs directly on `message`: the
    /// mailbox only keeps messages for a service another CPU is running.
    pub fn deliver(&self, message: &Message, run: Runner, apply: &mut dyn FnMut(&Action)) -> Result<(), DeliveryError> {
        let task = self.route_of(message).ok_or(DeliveryError::NoRoute)?;
        if let Some(mut state) = task.task.try_lock() {
            let result = {
                let mut mailbox = task.mailbox.lock();
                if mailbox.is_empty() {
                    None
                } else {
                    // Behind the messages already waiting, in order.
                    Some(mailbox.push_back(*message).map_err(|_| DeliveryError::MailboxFull))
                }
            };
            if result.is_none() {
                Self::run_one(task, &mut state, message, run, apply);
            }
            Self::run_mailbox(task, &mut state, run, apply);
            drop(state);
            // A message may have arrived between our last look and the unlock; take it if so.
            if !task.mailbox.lock().is_empty() {
                Self::drain(task, run, apply);
            }
            return result.unwrap_or(Ok(()));
        }
        task.mailbox.lock().push_back(*message).map_err(|_| DeliveryError::MailboxFull)?;
        Self::drain(task, run, apply);
        Ok(())
    }

    /// Delivers `message` to every service (domain life-cycle notifications).
    pub fn broadcast(&self, message: &Message, run: Runner, apply: &mut dyn FnMut(&Action)) {
        for task in &self.tasks {
            if task.mailbox.lock().push_back(*message).is_ok() {
                Self::drain(task, run, apply);
            }
        }
    }

    /// Runs the service on every message in its mailbox, as long as it is not running elsewhere.
    fn drain(task: &ServiceTask, run: Runner, apply: &mut dyn FnMut(&Action)) {
        loop {
            let Some(mut state) = task.task.try_lock() else {
                // Another CPU runs the service; it looks at the mailbox again before it lets go.
                return;
            };
            Self::run_mailbox(task, &mut state, run, apply);
            drop(state);
            // A message may have arrived between our last look and the unlock; take it if so.
            if task.mailbox.lock().is_empty() {
                return;
            }
        }
    }

    /// Runs the held service on the messages in its mailbox until it is empty.
    fn run_mailbox(task: &ServiceTask, state: &mut TaskState, run: Runner, apply: &mut dyn FnMut(&Action)) {
        loop {
            let next = task.mailbox.lock().pop_front();
            let Some(message) = next else { break };
            Self::run_one(task, state, &message, run, apply);
        }
    }

    /// Runs the held service on one message and applies its actions.
    fn run_one(
        task: &ServiceTask,
        state: &mut TaskState,
        message: &Message,
        run: Runner,
        apply: &mut dyn FnMut(&Action),
    ) {
        let TaskState { service, buffer } = state;
        let mut actions = ACTION_BUFFERS[*buffer].lock();
        let actions = &mut *actions;
        actions.actions.clear();
        actions.dropped = 0;
        run(task.stack_top, &mut **service, message, actions);
        for action in &actions.actions {
            apply(action);
        }
    }
}

#[cfg(test)]
mod tests {
    use somnus_abi::ids::{DomainId, VcpuId};
    use somnus_abi::ipc::{ActionSink, Conduit};

    use super::*;

    struct Echo {
        handled: u32,
    }

    impl Service for Echo {
        fn handle(&mut self, message: &Message, actions: &mut dyn ActionSink) {
            self.handled += 1;
            if let Message::Call { caller, registers, .. } = message {
                actions.push(Action::Reply { target: *caller, registers: *registers });
            }
        }
    }

    fn inline_runner(
        _stack_top: u64,
        service: &mut (dyn Service + Send),
        message: &Message,
        actions: &mut ActionBuffer<MAX_ACTIONS_PER_MESSAGE>,
    ) {
        service.handle(message, actions);
    }

    fn leak<T>(value: T) -> &'static mut T {
        Box::leak(Box::new(value))
    }

    const CALLER: VcpuId = VcpuId { domain: DomainId { index: 0, generation: 1 }, index: 0 };

    #[test]
    fn calls_reach_the_calls_service_and_actions_come_back() {
        let mut registry = ServiceRegistry::new(StackArea { base: 0, count: MAX_SERVICES });
        assert!(registry.add(leak(Echo { handled: 0 }), &[Route::Calls]));
        let mut applied = Vec::new();
        let message = Message::Call { caller: CALLER, conduit: Conduit::Hvc, registers: [1, 2, 3, 4], time_ns: 0 };
        registry.deliver(&message, inline_runner, &mut |action| applied.push(action.clone())).unwrap();
        assert_eq!(applied, [Action::Reply { target: CALLER, registers: [1, 2, 3, 4] }]);
    }

    #[test]
    fn mmio_routes_by_address_range() {
        let mut registry = ServiceRegistry::new(StackArea { base: 0, count: MAX_SERVICES });
        let route = Route::Mmio { base: GuestPhysAddr(0x0900_0000), size: 0x1000 };
        assert!(registry.add(leak(Echo { handled: 0 }), &[route]));
        assert!(registry.emulates(GuestPhysAddr(0x0900_0FFF)));
        assert!(!registry.emulates(GuestPhysAddr(0x0900_1000)));
        assert!(!registry.emulates(GuestPhysAddr(0x08FF_FFFF)));
        let call = Message::Call { caller: CALLER, conduit: Conduit::Smc, registers: [0; 4], time_ns: 0 };
        assert_eq!(registry.deliver(&call, inline_runner, &mut |_| {}), Err(DeliveryError::NoRoute));
    }

    #[test]
    fn a_busy_service_keeps_the_message_for_its_runner() {
        let mut registry = ServiceRegistry::new(StackArea { base: 0, count: MAX_SERVICES });
        assert!(registry.add(leak(Echo { handled: 0 }), &[Route::Calls]));
        let task = &registry.tasks[0];
        let held = task.task.lock();
        let message = Message::Call { caller: CALLER, conduit: Conduit::Hvc, registers: [9; 4], time_ns: 0 };
        let mut applied = Vec::new();
        registry.deliver(&message, inline_runner, &mut |action| applied.push(action.clone())).unwrap();
        assert!(applied.is_empty(), "another CPU holds the service");
        assert_eq!(task.mailbox.lock().len(), 1);
        drop(held);
        ServiceRegistry::drain(task, inline_runner, &mut |action| applied.push(action.clone()));
        assert_eq!(applied.len(), 1);
        assert!(task.mailbox.lock().is_empty());
    }
}
