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
    },
    /// A guest read an emulated device register; the vCPU waits for a `CompleteRead`.
    MmioRead {
        /// The reading vCPU.
        caller: VcpuId,
        /// Guest physical address.
        address: GuestPhysAddr,
        /// Access size in bytes (1, 2, 4 or 8).
        size: u8,
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
    },
    /// A domain was (re)built and its vCPU 0 started; services reset their state for it.
    DomainStarted {
        /// The domain, with its new generation.
        domain: DomainId,
        /// Its number of vCPUs.
        vcpu_count: u8,
    },
}

/// Something a service asks the kernel to do.
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
    /// Print one line (or a full buffer) of a domain's console output on the physical console.
    ConsoleWrite {
        /// The domain that printed.
        domain: DomainId,
        /// The text, already prefixed as the service decided.
        text: ConsoleText,
    },
}

/// Most bytes of console text in one action.
pub const CONSOLE_TEXT_CAPACITY: usize = 160;

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
        };
        let mut buffer = [0_u8; 64];
        let encoded = postcard::to_slice(&message, &mut buffer).expect("fits");
        let decoded: Message = postcard::from_bytes(encoded).expect("decodes");
        assert_eq!(decoded, message);
    }
}
