//! Messages the kernel sends to services and the actions services answer with.
//!
//! A service is a plain state machine: it takes one `Message` at a time and pushes `Action`s for
//! the kernel to apply. It never touches hardware or another service's state.

use serde::{Deserialize, Serialize};

use crate::GuestPhysAddr;
use crate::ids::{DomainId, VcpuId};

/// How a guest made a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Conduit {
    /// HVC instruction.
    Hvc,
    /// SMC instruction.
    Smc,
}

/// Something a service is asked to handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// A guest executed HVC or SMC; the vCPU waits for a `Reply`.
    Call {
        /// The calling vCPU.
        caller: VcpuId,
        /// Which instruction.
        conduit: Conduit,
        /// x0 (function identifier) to x3 (arguments).
        registers: [u64; 4],
        /// When the call was made, in nanoseconds of the hypervisor's monotonic clock.
        time_ns: u64,
    },
    /// A guest read an emulated device register; the vCPU waits for a `CompleteRead`.
    MmioRead {
        /// The reading vCPU.
        caller: VcpuId,
        /// Guest physical address.
        address: GuestPhysAddr,
        /// Access size in bytes (1, 2, 4 or 8).
        size: u8,
        /// When the access was made, in nanoseconds of the hypervisor's monotonic clock.
        time_ns: u64,
    },
    /// A guest wrote an emulated device register; the vCPU waits for a `CompleteWrite`.
    MmioWrite {
        /// The writing vCPU.
        caller: VcpuId,
        /// Guest physical address.
        address: GuestPhysAddr,
        /// Access size in bytes (1, 2, 4 or 8).
        size: u8,
        /// The value written (zero-extended).
        value: u64,
        /// When the access was made, in nanoseconds of the hypervisor's monotonic clock.
        time_ns: u64,
    },
    /// A domain was (re)built and its vCPU 0 started; services reset their state for it.
    DomainStarted {
        /// The domain, with its new generation.
        domain: DomainId,
        /// Its number of vCPUs.
        vcpu_count: u8,
        /// Bytes of RAM at `guest_platform::RAM_BASE`.
        memory_bytes: u64,
    },
    /// A physical interrupt was given to a domain (a passed-through device's line); sent after
    /// `DomainStarted`, once per interrupt.
    InterruptGranted {
        /// The owner.
        domain: DomainId,
        /// The INTID, the same for the guest and the machine.
        intid: u32,
    },
    /// An interrupt line changed or fired for a domain or one vCPU.
    Interrupt {
        /// Where it goes: a whole domain (SPIs) or one vCPU (PPIs such as its virtual timer).
        target: InterruptTarget,
        /// The guest INTID.
        intid: u32,
        /// What raised it.
        source: InterruptSource,
    },
    /// A vCPU wrote ICC_SGI1R_EL1 (GICv3): generate SGIs for vCPUs of its domain.
    GenerateSgi {
        /// The writing vCPU, which waits for a `CompleteWrite`.
        caller: VcpuId,
        /// The value written.
        value: u64,
    },
    /// A vCPU ended (EOI) a virtual interrupt injected with `notify_end`.
    InterruptEnded {
        /// The vCPU.
        vcpu: VcpuId,
        /// The INTID it ended.
        intid: u32,
    },
    /// A management request that changes a domain's power state.
    Management {
        /// The request's sequence number, echoed in `ManagementReply`.
        sequence: u32,
        /// What to do.
        command: ManagementCommand,
        /// To which domain (current generation).
        domain: DomainId,
        /// When it arrived (ns).
        time_ns: u64,
    },
    /// A management request for power status: one `PowerReport` per domain (or only `domain`),
    /// then `ManagementReply`.
    PowerQuery {
        /// The request's sequence number.
        sequence: u32,
        /// Only this domain, or every domain.
        domain: Option<DomainId>,
        /// When it arrived (ns), for residencies still running.
        time_ns: u64,
    },
    /// A byte arrived on the physical console.
    ConsoleInput {
        /// The byte.
        byte: u8,
    },
    /// The deadline a service set with `ArmAlarm` has passed.
    AlarmDue {
        /// Now, in nanoseconds of the hypervisor's monotonic clock.
        time_ns: u64,
    },
    /// A vCPU that is off, or in a suspended domain, has an enabled interrupt pending.
    WakeUp {
        /// The vCPU the interrupt targets.
        vcpu: VcpuId,
        /// The interrupt (`WAKE_BY_REQUEST` for a management request).
        intid: u32,
        /// When the interrupt arrived, in nanoseconds of the hypervisor's monotonic clock.
        time_ns: u64,
    },
}

/// A management command for the power service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ManagementCommand {
    /// Resume a suspended domain.
    Wake,
    /// Stop scheduling the domain.
    Pause,
    /// Schedule a paused domain again.
    Unpause,
    /// Restart from the pristine image.
    Reset,
    /// Turn off.
    Off,
}

/// The power service's view of one domain, for the management channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerReport {
    /// The domain.
    pub domain: DomainId,
    /// Its state.
    pub state: crate::management::DomainState,
    /// Since when (ns).
    pub since_ns: u64,
    /// Number of vCPUs.
    pub vcpu_count: u8,
    /// Per vCPU: its state.
    pub vcpus: [crate::management::VcpuState; crate::guest_platform::MAX_VCPUS],
    /// Per vCPU: power-down entries.
    pub power_down_count: [u64; crate::guest_platform::MAX_VCPUS],
    /// Per vCPU: time powered down (µs).
    pub power_down_residency_us: [u64; crate::guest_platform::MAX_VCPUS],
    /// The last suspend's entry point and context id.
    pub resume_point: Option<(u64, u64)>,
    /// SYSTEM_SUSPENDs.
    pub suspend_count: u64,
    /// Resumes.
    pub resume_count: u64,
    /// The interrupt that last resumed it.
    pub last_wake_intid: Option<u32>,
    /// PSCI calls per function.
    pub calls: [u64; crate::management::CALL_COUNTERS],
}

/// Where an interrupt is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InterruptTarget {
    /// A shared peripheral interrupt of a domain; its routing registers choose the vCPU.
    Domain(DomainId),
    /// A private interrupt of one vCPU.
    Vcpu(VcpuId),
}

/// What raised an interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InterruptSource {
    /// The physical interrupt with the same INTID fired and is active at the physical GIC until
    /// the guest ends it (the vCPU's list register then carries the hardware bit), unless the
    /// vGIC answers `DiscardPhysical`.
    Physical,
    /// The vCPU's virtual timer expired while the vCPU was not running.
    TimerExpired,
    /// A device model drives the line to `level` (level-sensitive).
    Level(bool),
}

/// Something a service asks the kernel to do.
#[allow(
    clippy::large_enum_variant,
    reason = "actions live in fixed-size buffers without a heap; a console line is the largest"
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Finish a `Call`: set x0..x3 and let the vCPU continue after its HVC/SMC.
    Reply {
        /// The vCPU that made the call.
        target: VcpuId,
        /// New x0..x3.
        registers: [u64; 4],
    },
    /// Finish an `MmioRead` with `value` in the destination register.
    CompleteRead {
        /// The vCPU that read.
        target: VcpuId,
        /// The value read (the kernel truncates and extends it as the instruction asks).
        value: u64,
    },
    /// Finish an `MmioWrite`.
    CompleteWrite {
        /// The vCPU that wrote.
        target: VcpuId,
    },
    /// Refuse an access with a synchronous external abort injected into the vCPU.
    InjectAbort {
        /// The vCPU whose access is refused.
        target: VcpuId,
    },
    /// Make `intid` pending for `target`: the kernel queues it by priority, loads it into a list
    /// register when the vCPU runs, wakes the vCPU from WFI, and turns it into a `WakeUp` for
    /// the power service when the vCPU is off or its domain suspended.
    InjectInterrupt {
        /// The vCPU.
        target: VcpuId,
        /// Virtual INTID.
        intid: u32,
        /// Priority (lower is more urgent).
        priority: u8,
        /// The physical INTID the guest's end of interrupt must deactivate, if hardware-backed.
        physical: Option<u32>,
        /// Report the guest's end of interrupt as `InterruptEnded` (level-sensitive sources).
        notify_end: bool,
    },
    /// Remove a queued, not yet delivered `intid` from `target`.
    WithdrawInterrupt {
        /// The vCPU.
        target: VcpuId,
        /// Virtual INTID.
        intid: u32,
    },
    /// The physical interrupt `intid` that was forwarded is not wanted (disabled in the guest):
    /// deactivate it at the physical GIC.
    DiscardPhysical {
        /// Physical INTID.
        intid: u32,
        /// The vCPU it was forwarded for (for a virtual timer, whose output is then masked).
        vcpu: Option<VcpuId>,
    },
    /// Route the passed-through physical SPI `intid` to the physical CPU of `target` and enable
    /// or disable it there.
    RoutePhysical {
        /// Physical INTID (an SPI granted to the domain).
        intid: u32,
        /// The vCPU that should receive it.
        target: VcpuId,
        /// Whether the guest enabled it.
        enabled: bool,
    },
    /// A device model drives an interrupt line of a domain; delivered to the interrupt service.
    RaiseInterrupt {
        /// The domain.
        domain: DomainId,
        /// Guest INTID.
        intid: u32,
        /// The new level.
        level: bool,
    },
    /// Send this service an `AlarmDue` once the monotonic clock reaches `deadline_ns` (at the
    /// hypervisor tick's resolution, 1 ms); `None` cancels. One alarm per service: a new one
    /// replaces the old.
    ArmAlarm {
        /// When, in nanoseconds of the hypervisor's monotonic clock.
        deadline_ns: Option<u64>,
    },
    /// Reset `target` with the one vCPU reset routine and start it at `entry` with x0 =
    /// `context_id` (PSCI CPU_ON, resume at an entry point). Interrupts pending for it are kept.
    StartVcpu {
        /// The vCPU (off).
        target: VcpuId,
        /// Where it starts.
        entry: u64,
        /// Its x0.
        context_id: u64,
    },
    /// Power `target` off (CPU_OFF, power-down suspend). A vCPU that is off and has an interrupt
    /// pending, or gets one, is reported with `WakeUp`.
    PowerOffVcpu {
        /// The vCPU.
        target: VcpuId,
    },
    /// Finish a `Call` like `Reply`, but only once an interrupt is pending for the vCPU (a
    /// standby power state: it waits as WFI would).
    ReplyAfterInterrupt {
        /// The vCPU that made the call.
        target: VcpuId,
        /// New x0..x3.
        registers: [u64; 4],
    },
    /// Power every vCPU of `domain` off and keep it off (SYSTEM_OFF).
    StopDomain {
        /// The domain.
        domain: DomainId,
    },
    /// Rebuild `domain` from a pristine copy of its kernel, initrd and device tree, as a new
    /// generation, and start it (SYSTEM_RESET).
    RebootDomain {
        /// The domain.
        domain: DomainId,
    },
    /// Stop or start scheduling a domain's vCPUs (management pause), keeping their state.
    PauseDomain {
        /// The domain.
        domain: DomainId,
        /// Paused (true) or running again (false).
        paused: bool,
    },
    /// One domain's power status, for the management request `sequence`.
    PowerReport {
        /// The request's sequence number.
        sequence: u32,
        /// The status.
        report: PowerReport,
    },
    /// Finish the management request `sequence`.
    ManagementReply {
        /// The request's sequence number.
        sequence: u32,
        /// Carried out, or why not.
        result: Result<(), crate::management::ManagementError>,
    },
    /// A domain changed power state (for `pwrctl watch`).
    PowerEvent {
        /// The domain.
        domain: DomainId,
        /// Its new state.
        state: crate::management::DomainState,
        /// When (ns).
        time_ns: u64,
    },
    /// Print one line (or a full buffer) of a domain's console output on the physical console.
    ConsoleWrite {
        /// The domain that printed.
        domain: DomainId,
        /// The text, already prefixed as the service decided.
        text: ConsoleText,
    },
}

/// The `intid` of a `WakeUp` that a management request (not an interrupt) caused.
pub const WAKE_BY_REQUEST: u32 = u32::MAX;

/// Most bytes of console text in one action.
pub const CONSOLE_TEXT_CAPACITY: usize = 200;

/// A short piece of console text.
pub type ConsoleText = heapless::Vec<u8, CONSOLE_TEXT_CAPACITY>;

/// Where a service puts its actions; the kernel applies them in order once the handler returns.
pub trait ActionSink {
    /// Queues one action.
    fn push(&mut self, action: Action);
}

/// A service: one message at a time, answered with actions.
pub trait Service {
    /// Handles `message`, pushing the resulting actions into `actions`.
    fn handle(&mut self, message: &Message, actions: &mut dyn ActionSink);
}

/// An `ActionSink` backed by a fixed-capacity vector; actions past its capacity are counted
/// as dropped rather than lost silently.
#[derive(Debug, Default)]
pub struct ActionBuffer<const N: usize> {
    /// The queued actions.
    pub actions: heapless::Vec<Action, N>,
    /// Actions that did not fit.
    pub dropped: u32,
}

impl<const N: usize> ActionBuffer<N> {
    /// An empty buffer.
    #[must_use]
    pub const fn new() -> Self {
        Self { actions: heapless::Vec::new(), dropped: 0 }
    }
}

impl<const N: usize> ActionSink for ActionBuffer<N> {
    fn push(&mut self, action: Action) {
        if self.actions.push(action).is_err() {
            self.dropped = self.dropped.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_buffer_counts_overflow() {
        let mut buffer = ActionBuffer::<1>::new();
        let target = VcpuId { domain: DomainId { index: 0, generation: 1 }, index: 0 };
        buffer.push(Action::CompleteWrite { target });
        buffer.push(Action::CompleteWrite { target });
        assert_eq!(buffer.actions.len(), 1);
        assert_eq!(buffer.dropped, 1);
    }

    #[test]
    fn messages_round_trip_through_postcard() {
        let message = Message::MmioWrite {
            caller: VcpuId { domain: DomainId { index: 2, generation: 7 }, index: 1 },
            address: GuestPhysAddr(0x0900_0000),
            size: 4,
            value: 0x41,
            time_ns: 123_456_789,
        };
        let mut buffer = [0_u8; 64];
        let encoded = postcard::to_slice(&message, &mut buffer).expect("fits");
        let decoded: Message = postcard::from_bytes(encoded).expect("decodes");
        assert_eq!(decoded, message);
    }
}
