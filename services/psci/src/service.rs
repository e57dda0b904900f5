//! The service state machine: takes a `Call` message, answers with a `Reply` action.

use somnus_abi::ipc::{Action, ActionSink, Message, Service};

use crate::function::{Function, NOT_SUPPORTED, PSCI_VERSION_1_1, SMCCC_VERSION_1_1};

/// The PSCI service.
#[derive(Debug, Default)]
pub struct PsciService {
    calls_handled: u64,
}

impl PsciService {
    /// A service with no domain known yet.
    #[must_use]
    pub const fn new() -> Self {
        Self { calls_handled: 0 }
    }

    /// Calls answered so far.
    #[must_use]
    pub const fn calls_handled(&self) -> u64 {
        self.calls_handled
    }

    /// x0 for `function` called with argument `argument` (x1).
    fn answer(function: Option<Function>, argument: u64) -> u64 {
        match function {
            Some(Function::PsciVersion) => PSCI_VERSION_1_1,
            Some(Function::SmcccVersion) => SMCCC_VERSION_1_1,
            Some(Function::PsciFeatures) => match Function::decode(argument as u32) {
                // SMCCC_ARCH_FEATURES is discovered through SMCCC_VERSION, not PSCI_FEATURES.
                Some(Function::SmcccArchFeatures) | None => NOT_SUPPORTED,
                Some(_) => 0,
            },
            // No architectural workaround (SMCCC_ARCH_WORKAROUND_*) is offered.
            Some(Function::SmcccArchFeatures) | None => NOT_SUPPORTED,
        }
    }
}

impl Service for PsciService {
    fn handle(&mut self, message: &Message, actions: &mut dyn ActionSink) {
        if let Message::Call { caller, registers, .. } = *message {
            self.calls_handled = self.calls_handled.saturating_add(1);
            let function = Function::decode(registers[0] as u32);
            let result = Self::answer(function, registers[1]);
            actions
                .push(Action::Reply { target: caller, registers: [result, registers[1], registers[2], registers[3]] });
        }
    }
}

#[cfg(test)]
mod tests {
    use somnus_abi::ids::{DomainId, VcpuId};
    use somnus_abi::ipc::{ActionBuffer, Conduit};

    use super::*;

    const CALLER: VcpuId = VcpuId { domain: DomainId { index: 0, generation: 1 }, index: 0 };

    fn call(registers: [u64; 4]) -> u64 {
        let mut service = PsciService::new();
        let mut actions = ActionBuffer::<4>::new();
        service.handle(&Message::Call { caller: CALLER, conduit: Conduit::Hvc, registers }, &mut actions);
        assert_eq!(actions.actions.len(), 1);
        match &actions.actions[0] {
            Action::Reply { target, registers: reply } => {
                assert_eq!(*target, CALLER);
                assert_eq!(reply[1..], registers[1..], "x1..x3 preserved");
                reply[0]
            }
            other => panic!("unexpected action {other:?}"),
        }
    }

    #[test]
    fn version_is_1_1() {
        assert_eq!(call([0x8400_0000, 0, 0, 0]), 0x0001_0001);
        assert_eq!(call([0x8000_0000, 0, 0, 0]), 0x0001_0001);
    }

    #[test]
    fn upper_half_of_a_32_bit_function_id_is_ignored() {
        assert_eq!(call([0xFFFF_FFFF_8400_0000, 0, 0, 0]), 0x0001_0001);
    }

    #[test]
    fn features_are_honest() {
        assert_eq!(call([0x8400_000A, 0x8400_0000, 0, 0]), 0);
        assert_eq!(call([0x8400_000A, 0x8400_000A, 0, 0]), 0);
        assert_eq!(call([0x8400_000A, 0xC400_000E, 0, 0]), NOT_SUPPORTED, "SYSTEM_SUSPEND comes later");
        assert_eq!(call([0x8400_000A, 0x8000_0001, 0, 0]), NOT_SUPPORTED);
    }

    #[test]
    fn unknown_functions_are_not_supported() {
        for function in [0x8600_0000, 0xC700_00FF, 0x8400_00FF, 0, u64::MAX] {
            assert_eq!(call([function, 1, 2, 3]), NOT_SUPPORTED, "{function:#x}");
        }
    }

    #[test]
    fn other_messages_get_no_answer() {
        let mut service = PsciService::new();
        let mut actions = ActionBuffer::<4>::new();
        service.handle(&Message::DomainStarted { domain: CALLER.domain, vcpu_count: 1 }, &mut actions);
        assert!(actions.actions.is_empty());
    }
}
