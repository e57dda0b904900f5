//! The service: per-domain PL011 state and line buffers; whole lines go to the physical console
//! prefixed by the domain, so output of different domains never interleaves inside a line.

use somnus_abi::guest_platform::{DEVICE_FRAME_SIZE, UART, UART_SPI};
use somnus_abi::ids::DomainId;
use somnus_abi::ipc::{Action, ActionSink, CONSOLE_TEXT_CAPACITY, ConsoleText, Message, Service};

use crate::pl011_model::{Pl011Model, WriteEffect};

/// Most domains the service keeps state for (their index must be below this).
pub const MAX_DOMAINS: usize = 8;
/// Bytes of a prefix such as `(d1) `.
const PREFIX_LENGTH: usize = 5;
/// Ctrl-A: typed three times in a row, it moves console input to the next domain.
const SWITCH_KEY: u8 = 0x01;
/// INTID of the guest UART's interrupt.
const UART_INTID: u32 = 32 + UART_SPI;

#[derive(Debug)]
struct DomainUart {
    generation: u16,
    model: Pl011Model,
    line: ConsoleText,
    /// The interrupt level last reported to the interrupt service.
    level: bool,
}

impl DomainUart {
    const fn new(generation: u16) -> Self {
        Self { generation, model: Pl011Model::new(), line: ConsoleText::new(), level: false }
    }
}

/// The virtual UART service: every domain's PL011, and which of them the console's keyboard
/// input goes to (the focus), switched by typing Ctrl-A three times as on Xen.
#[derive(Debug, Default)]
pub struct VirtualUartService {
    domains: [Option<DomainUart>; MAX_DOMAINS],
    /// Domain slot receiving input; `None`: the hypervisor (input is dropped).
    focus: Option<u8>,
    /// Consecutive Ctrl-A bytes typed.
    switch_keys: u8,
}

impl VirtualUartService {
    /// A service with no domain yet.
    #[must_use]
    pub const fn new() -> Self {
        Self { domains: [const { None }; MAX_DOMAINS], focus: None, switch_keys: 0 }
    }

    /// The domain slot console input goes to, if any.
    #[must_use]
    pub const fn focus(&self) -> Option<u8> {
        self.focus
    }

    /// The state of `domain` if it is the current generation of its slot.
    fn uart_of(&mut self, domain: DomainId) -> Option<&mut DomainUart> {
        self.domains.get_mut(domain.index as usize)?.as_mut().filter(|uart| uart.generation == domain.generation)
    }

    fn domain_id(&self, index: u8) -> Option<DomainId> {
        let uart = self.domains.get(index as usize)?.as_ref()?;
        Some(DomainId { index, generation: uart.generation })
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

    /// Tells the interrupt service when the UART's interrupt line changes.
    fn update_level(domain: DomainId, uart: &mut DomainUart, actions: &mut dyn ActionSink) {
        let level = uart.model.interrupt_level();
        if level != uart.level {
            uart.level = level;
            actions.push(Action::RaiseInterrupt { domain, intid: UART_INTID, level });
        }
    }

    fn console_input(&mut self, byte: u8, actions: &mut dyn ActionSink) {
        if byte == SWITCH_KEY {
            self.switch_keys += 1;
            if self.switch_keys == 3 {
                self.switch_keys = 0;
                self.switch_focus(actions);
            }
            return;
        }
        // Ctrl-A typed fewer than three times is input like any other.
        let pending = core::mem::take(&mut self.switch_keys);
        let Some(domain) = self.focus.and_then(|index| self.domain_id(index)) else { return };
        if let Some(uart) = self.uart_of(domain) {
            for _ in 0..pending {
                uart.model.receive(SWITCH_KEY);
            }
            uart.model.receive(byte);
            Self::update_level(domain, uart, actions);
        }
    }

    /// Moves input to the next domain, or to the hypervisor after the last one.
    fn switch_focus(&mut self, actions: &mut dyn ActionSink) {
        let start = self.focus.map_or(0, |index| index as usize + 1);
        self.focus = (start..MAX_DOMAINS).find(|&index| self.domains[index].is_some()).map(|index| index as u8);
        let mut text = ConsoleText::new();
        let _ = text.extend_from_slice(b"somnus: console input goes to ");
        match self.focus {
            Some(index) => {
                let _ = text.extend_from_slice(&[b'd', b'1' + index]);
            }
            None => {
                let _ = text.extend_from_slice(b"the hypervisor");
            }
        }
        let _ = text.extend_from_slice(b" (Ctrl-A three times to switch)\n");
        let domain = self.focus.and_then(|index| self.domain_id(index)).unwrap_or(DomainId { index: 0, generation: 0 });
        actions.push(Action::ConsoleWrite { domain, text });
    }
}

impl Service for VirtualUartService {
    fn handle(&mut self, message: &Message, actions: &mut dyn ActionSink) {
        match *message {
            Message::DomainStarted { domain, .. } => {
                if let Some(slot) = self.domains.get_mut(domain.index as usize) {
                    *slot = Some(DomainUart::new(domain.generation));
                    if self.focus.is_none() {
                        self.focus = Some(domain.index);
                    }
                }
            }
            Message::ConsoleInput { byte } => self.console_input(byte, actions),
            Message::MmioRead { caller, address, .. } => {
                let offset = address.0.wrapping_sub(UART.0);
                match self.uart_of(caller.domain) {
                    Some(uart) if offset < DEVICE_FRAME_SIZE => {
                        let value = uart.model.read(offset);
                        actions.push(Action::CompleteRead { target: caller, value: u64::from(value) });
                        Self::update_level(caller.domain, uart, actions);
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
                        Self::update_level(caller.domain, uart, actions);
                    }
                    _ => actions.push(Action::InjectAbort { target: caller }),
                }
            }
            _ => {}
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
        service.handle(&Message::DomainStarted { domain: DOMAIN, vcpu_count: 1, memory_bytes: 1 << 24 }, &mut actions);
        service
    }

    fn write_bytes(service: &mut VirtualUartService, bytes: &[u8]) -> Vec<Action> {
        let mut all = Vec::new();
        for &byte in bytes {
            let mut actions = ActionBuffer::<4>::new();
            let message =
                Message::MmioWrite { caller: CALLER, address: UART, size: 4, value: u64::from(byte), time_ns: 0 };
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
            service.handle(&Message::MmioRead { caller, address: UART, size: 4, time_ns: 0 }, &mut actions);
            assert_eq!(actions.actions.as_slice(), [Action::InjectAbort { target: caller }]);
        }
    }

    fn type_bytes(service: &mut VirtualUartService, bytes: &[u8]) -> Vec<Action> {
        let mut all = Vec::new();
        for &byte in bytes {
            let mut actions = ActionBuffer::<4>::new();
            service.handle(&Message::ConsoleInput { byte }, &mut actions);
            all.extend(actions.actions);
        }
        all
    }

    #[test]
    fn input_reaches_the_focused_domain_and_raises_its_interrupt_once_enabled() {
        let mut service = started();
        assert_eq!(service.focus(), Some(1), "the first domain started has the focus");
        let mut actions = ActionBuffer::<4>::new();
        let enable = Message::MmioWrite {
            caller: CALLER,
            address: GuestPhysAddr(UART.0 + 0x38),
            size: 4,
            value: 0x50,
            time_ns: 0,
        };
        service.handle(&enable, &mut actions);
        let typed = type_bytes(&mut service, b"hi");
        assert_eq!(typed, [Action::RaiseInterrupt { domain: DOMAIN, intid: 33, level: true }]);
        let mut actions = ActionBuffer::<4>::new();
        service.handle(&Message::MmioRead { caller: CALLER, address: UART, size: 4, time_ns: 0 }, &mut actions);
        assert_eq!(actions.actions[0], Action::CompleteRead { target: CALLER, value: u64::from(b'h') });
        let mut actions = ActionBuffer::<4>::new();
        service.handle(&Message::MmioRead { caller: CALLER, address: UART, size: 4, time_ns: 0 }, &mut actions);
        assert_eq!(
            actions.actions.as_slice(),
            [
                Action::CompleteRead { target: CALLER, value: u64::from(b'i') },
                Action::RaiseInterrupt { domain: DOMAIN, intid: 33, level: false }
            ]
        );
    }

    #[test]
    fn three_ctrl_a_cycle_the_focus_and_fewer_are_input() {
        let mut service = started();
        let other = DomainId { index: 3, generation: 1 };
        let mut actions = ActionBuffer::<4>::new();
        service.handle(&Message::DomainStarted { domain: other, vcpu_count: 1, memory_bytes: 1 << 24 }, &mut actions);
        let lines = console_lines(&type_bytes(&mut service, &[1, 1, 1]));
        assert_eq!(service.focus(), Some(3));
        assert!(lines[0].contains("goes to d4"), "{lines:?}");
        type_bytes(&mut service, &[1, 1, 1]);
        assert_eq!(service.focus(), None, "then the hypervisor");
        type_bytes(&mut service, &[1, 1, 1]);
        assert_eq!(service.focus(), Some(1), "and round again");
        type_bytes(&mut service, &[1, b'x']);
        let mut actions = ActionBuffer::<4>::new();
        service.handle(&Message::MmioRead { caller: CALLER, address: UART, size: 4, time_ns: 0 }, &mut actions);
        assert_eq!(actions.actions[0], Action::CompleteRead { target: CALLER, value: 1 }, "a lone Ctrl-A is input");
    }

    #[test]
    fn flag_register_reads_through_the_model() {
        let mut service = started();
        let mut actions = ActionBuffer::<4>::new();
        service.handle(
            &Message::MmioRead { caller: CALLER, address: GuestPhysAddr(UART.0 + 0x18), size: 4, time_ns: 0 },
            &mut actions,
        );
        assert_eq!(actions.actions.as_slice(), [Action::CompleteRead { target: CALLER, value: 0x90 }]);
    }
}
