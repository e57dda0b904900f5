//! The service: per-domain PL011 state and line buffers; whole lines go to the physical console
//! prefixed by the domain, so output of different domains never interleaves inside a line.

use somnus_abi::guest_platform::{DEVICE_FRAME_SIZE, UART};
use somnus_abi::ids::DomainId;
use somnus_abi::ipc::{Action, ActionSink, CONSOLE_TEXT_CAPACITY, ConsoleText, Message, Service};

use crate::pl011_model::{Pl011Model, WriteEffect};

/// Most domains the service keeps state for (their index must be below this).
pub const MAX_DOMAINS: usize = 8;
/// Bytes of a prefix such as `(d1) `.
const PREFIX_LENGTH: usize = 5;

#[derive(Debug)]
struct DomainUart {
    generation: u16,
    model: Pl011Model,
    line: ConsoleText,
}

impl DomainUart {
    const fn new(generation: u16) -> Self {
        Self { generation, model: Pl011Model::new(), line: ConsoleText::new() }
    }
}

/// The virtual UART service.
#[derive(Debug, Default)]
pub struct VirtualUartService {
    domains: [Option<DomainUart>; MAX_DOMAINS],
}

impl VirtualUartService {
    /// A service with no domain yet.
    #[must_use]
    pub const fn new() -> Self {
        Self { domains: [const { None }; MAX_DOMAINS] }
    }

    /// The state of `domain` if it is the current generation of its slot.
    fn uart_of(&mut self, domain: DomainId) -> Option<&mut DomainUart> {
        self.domains.get_mut(domain.index as usize)?.as_mut().filter(|uart| uart.generation == domain.generation)
    }

    fn transmit(domain: DomainId, uart: &mut DomainUart, byte: u8, actions: &mut dyn ActionSink) {
        match byte {
            b'\r' => {}
            b'\n' => Self::flush(domain, uart, actions),
            _ => {
                if uart.line.len() + PREFIX_LENGTH + 1 >= CONSOLE_TEXT_CAPACITY {
                    Self::flush(domain, uart, actions);
                }
                // Room was made above.
                let _ = uart.line.push(byte);
            }
        }
    }

    fn flush(domain: DomainId, uart: &mut DomainUart, actions: &mut dyn ActionSink) {
        let mut text = ConsoleText::new();
        let digit = b'1' + domain.index;
        // The prefix and a line shorter than the capacity always fit.
        let _ = text.extend_from_slice(&[b'(', b'd', digit, b')', b' ']);
        let _ = text.extend_from_slice(&uart.line);
        let _ = text.push(b'\n');
        uart.line.clear();
        actions.push(Action::ConsoleWrite { domain, text });
    }
}

impl Service for VirtualUartService {
    fn handle(&mut self, message: &Message, actions: &mut dyn ActionSink) {
        match *message {
            Message::DomainStarted { domain, .. } => {
                if let Some(slot) = self.domains.get_mut(domain.index as usize) {
                    *slot = Some(DomainUart::new(domain.generation));
                }
            }
            Message::MmioRead { caller, address, .. } => {
                let offset = address.0.wrapping_sub(UART.0);
                match self.uart_of(caller.domain) {
                    Some(uart) if offset < DEVICE_FRAME_SIZE => {
                        actions
                            .push(Action::CompleteRead { target: caller, value: u64::from(uart.model.read(offset)) });
                    }
                    _ => actions.push(Action::InjectAbort { target: caller }),
                }
            }
            Message::MmioWrite { caller, address, value, .. } => {
                let offset = address.0.wrapping_sub(UART.0);
                match self.uart_of(caller.domain) {
                    Some(uart) if offset < DEVICE_FRAME_SIZE => {
                        if let WriteEffect::Transmit(byte) = uart.model.write(offset, value as u32) {
                            Self::transmit(caller.domain, uart, byte, actions);
                        }
                        actions.push(Action::CompleteWrite { target: caller });
                    }
                    _ => actions.push(Action::InjectAbort { target: caller }),
                }
            }
            Message::Call { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use somnus_abi::GuestPhysAddr;
    use somnus_abi::ids::VcpuId;
    use somnus_abi::ipc::ActionBuffer;

    use super::*;

    const DOMAIN: DomainId = DomainId { index: 1, generation: 3 };
    const CALLER: VcpuId = VcpuId { domain: DOMAIN, index: 0 };

    fn started() -> VirtualUartService {
        let mut service = VirtualUartService::new();
        let mut actions = ActionBuffer::<4>::new();
        service.handle(&Message::DomainStarted { domain: DOMAIN, vcpu_count: 1 }, &mut actions);
        service
    }

    fn write_bytes(service: &mut VirtualUartService, bytes: &[u8]) -> Vec<Action> {
        let mut all = Vec::new();
        for &byte in bytes {
            let mut actions = ActionBuffer::<4>::new();
            let message = Message::MmioWrite { caller: CALLER, address: UART, size: 4, value: u64::from(byte) };
            service.handle(&message, &mut actions);
            all.extend(actions.actions);
        }
        all
    }

    fn console_lines(actions: &[Action]) -> Vec<std::string::String> {
        actions
            .iter()
            .filter_map(|action| match action {
                Action::ConsoleWrite { text, .. } => Some(std::string::String::from_utf8_lossy(text).into_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn lines_are_prefixed_by_domain() {
        let mut service = started();
        let actions = write_bytes(&mut service, b"hi\r\nthere\n");
        assert_eq!(console_lines(&actions), ["(d2) hi\n", "(d2) there\n"]);
        let completions = actions.iter().filter(|action| matches!(action, Action::CompleteWrite { .. })).count();
        assert_eq!(completions, 10, "every write completes");
    }

    #[test]
    fn long_lines_are_split_not_lost() {
        let mut service = started();
        let text = [b'x'; 400];
        let lines = console_lines(&write_bytes(&mut service, &text));
        let total: usize = lines.iter().map(|line| line.len() - PREFIX_LENGTH - 1).sum();
        assert_eq!(total, 400 - 400 % (CONSOLE_TEXT_CAPACITY - PREFIX_LENGTH - 1));
        assert!(lines.iter().all(|line| line.len() <= CONSOLE_TEXT_CAPACITY));
    }

    #[test]
    fn stale_or_unknown_domains_get_an_abort() {
        let mut service = started();
        let stale = VcpuId { domain: DomainId { index: 1, generation: 2 }, index: 0 };
        let unknown = VcpuId { domain: DomainId { index: 200, generation: 0 }, index: 0 };
        for caller in [stale, unknown] {
            let mut actions = ActionBuffer::<4>::new();
            service.handle(&Message::MmioRead { caller, address: UART, size: 4 }, &mut actions);
            assert_eq!(actions.actions.as_slice(), [Action::InjectAbort { target: caller }]);
        }
    }

    #[test]
    fn flag_register_reads_through_the_model() {
        let mut service = started();
        let mut actions = ActionBuffer::<4>::new();
        service.handle(
            &Message::MmioRead { caller: CALLER, address: GuestPhysAddr(UART.0 + 0x18), size: 4 },
            &mut actions,
        );
        assert_eq!(actions.actions.as_slice(), [Action::CompleteRead { target: CALLER, value: 0x90 }]);
    }
}
