//! The service: per-domain PL011 state and line buffers; whole lines go to the physical console
//! prefixed by the domain, so output of different domains never interleaves inside a line. The
//! domain with the console focus also gets its unfinished line out when its driver ends a burst
//! of output (it writes UARTIMSC or UARTCR, as Linux's amba-pl011 does when its transmit buffer
//! runs dry), so that a shell's prompt and the echo of what is typed show at once; another
//! domain's line that arrives meanwhile starts on a line of its own.

use somnus_abi::guest_platform::{DEVICE_FRAME_SIZE, UART, UART_SPI};
use somnus_abi::ids::DomainId;
use somnus_abi::ipc::{Action, ActionSink, CONSOLE_TEXT_CAPACITY, ConsoleText, Message, Service};

use crate::pl011_model::offset as register;
use crate::pl011_model::{Pl011Model, WriteEffect};

/// Most domains the service keeps state for (their index must be below this).
pub const MAX_DOMAINS: usize = 8;
/// Bytes of a prefix such as `(d1) `.
const PREFIX_LENGTH: usize = 5;
/// Ctrl-A: typed three times in a row, it moves console input to the next domain.
const SWITCH_KEY: u8 = 0x01;
/// INTID of the guest UART's interrupt.
const UART_INTID: u32 = 32 + UART_SPI;

/// Bytes typed for a domain that wait for room in its receive FIFO (a pasted command line).
const INPUT_BACKLOG: usize = 1024;

#[derive(Debug)]
struct DomainUart {
    generation: u16,
    model: Pl011Model,
    /// Typed bytes the receive FIFO had no room for yet, oldest first.
    backlog: heapless::Deque<u8, INPUT_BACKLOG>,
    line: ConsoleText,
    /// The interrupt level last reported to the interrupt service.
    level: bool,
}

impl DomainUart {
    /// Moves waiting input into the receive FIFO while it has room.
    fn refill(&mut self) {
        while self.model.can_receive()
            && let Some(byte) = self.backlog.pop_front()
        {
            self.model.receive(byte);
        }
    }

    const fn new(generation: u16) -> Self {
        Self {
            generation,
            model: Pl011Model::new(),
            backlog: heapless::Deque::new(),
            line: ConsoleText::new(),
            level: false,
        }
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
    /// The focused domain's line is on the console without its newline yet.
    line_open: bool,
}

impl VirtualUartService {
    /// A service with no domain yet.
    #[must_use]
    pub const fn new() -> Self {
        Self { domains: [const { None }; MAX_DOMAINS], focus: None, switch_keys: 0, line_open: false }
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

    /// A byte the guest wrote to its data register.
    fn transmit(&mut self, domain: DomainId, byte: u8, actions: &mut dyn ActionSink) {
        let Some(uart) = self.uart_of(domain) else { return };
        let full = uart.line.len() + PREFIX_LENGTH + 2 >= CONSOLE_TEXT_CAPACITY;
        match byte {
            b'\r' => {}
            b'\n' => self.emit(domain, true, actions),
            _ => {
                if full {
                    self.emit(domain, true, actions);
                }
                if let Some(uart) = self.uart_of(domain) {
                    // Room was made above.
                    let _ = uart.line.push(byte);
                }
            }
        }
    }

    /// The guest ended a burst of output: the focused domain's unfinished line goes out.
    fn burst_ended(&mut self, domain: DomainId, actions: &mut dyn ActionSink) {
        let pending = self.uart_of(domain).is_some_and(|uart| !uart.line.is_empty());
        if self.focus == Some(domain.index) && pending {
            self.emit(domain, false, actions);
        }
    }

    /// Prints `domain`'s buffered text: prefixed at the start of a line, ended with a newline if
    /// `complete`. A line of another domain first ends the focused domain's open line.
    fn emit(&mut self, domain: DomainId, complete: bool, actions: &mut dyn ActionSink) {
        let focused = self.focus == Some(domain.index);
        let continues = focused && self.line_open;
        let mut text = ConsoleText::new();
        if self.line_open && !focused {
            let _ = text.push(b'\n');
            self.line_open = false;
        }
        let Some(uart) = self.domains.get_mut(domain.index as usize).and_then(Option::as_mut) else { return };
        if !continues {
            // The newline, the prefix and a line shorter than the capacity always fit.
            let _ = text.extend_from_slice(&[b'(', b'd', b'1' + domain.index, b')', b' ']);
        }
        let _ = text.extend_from_slice(&uart.line);
        if complete {
            let _ = text.push(b'\n');
        }
        uart.line.clear();
        if focused {
            self.line_open = !complete;
        }
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
            // Like a terminal that waits while the UART's FIFO is full: a full backlog drops.
            for key in core::iter::repeat_n(SWITCH_KEY, usize::from(pending)).chain([byte]) {
                let _ = uart.backlog.push_back(key);
            }
            uart.refill();
            Self::update_level(domain, uart, actions);
        }
    }

    /// Moves input to the next domain, or to the hypervisor after the last one.
    fn switch_focus(&mut self, actions: &mut dyn ActionSink) {
        let start = self.focus.map_or(0, |index| index as usize + 1);
        self.focus = (start..MAX_DOMAINS).find(|&index| self.domains[index].is_some()).map(|index| index as u8);
        let mut text = ConsoleText::new();
        if core::mem::take(&mut self.line_open) {
            let _ = text.push(b'\n');
        }
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
                        uart.refill();
                        actions.push(Action::CompleteRead { target: caller, value: u64::from(value) });
                        Self::update_level(caller.domain, uart, actions);
                    }
                    _ => actions.push(Action::InjectAbort { target: caller }),
                }
            }
            Message::MmioWrite { caller, address, value, .. } => {
                let offset = address.0.wrapping_sub(UART.0);
                let effect = match self.uart_of(caller.domain) {
                    Some(uart) if offset < DEVICE_FRAME_SIZE => uart.model.write(offset, value as u32),
                    _ => {
                        actions.push(Action::InjectAbort { target: caller });
                        return;
                    }
                };
                if let WriteEffect::Transmit(byte) = effect {
                    self.transmit(caller.domain, byte, actions);
                } else if offset == register::INTERRUPT_MASK || offset == register::CONTROL {
                    self.burst_ended(caller.domain, actions);
                }
                actions.push(Action::CompleteWrite { target: caller });
                if let Some(uart) = self.uart_of(caller.domain) {
                    Self::update_level(caller.domain, uart, actions);
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
        write_bytes_from(service, CALLER, bytes)
    }

    /// A second domain (slot 2), started after `DOMAIN`, so without the focus.
    fn unfocused(service: &mut VirtualUartService) -> VcpuId {
        let other = DomainId { index: 2, generation: 1 };
        let mut actions = ActionBuffer::<4>::new();
        service.handle(&Message::DomainStarted { domain: other, vcpu_count: 1, memory_bytes: 1 << 24 }, &mut actions);
        VcpuId { domain: other, index: 0 }
    }

    fn write_bytes_from(service: &mut VirtualUartService, caller: VcpuId, bytes: &[u8]) -> Vec<Action> {
        let mut all = Vec::new();
        for &byte in bytes {
            let mut actions = ActionBuffer::<4>::new();
            let message = Message::MmioWrite { caller, address: UART, size: 4, value: u64::from(byte), time_ns: 0 };
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
    fn the_focused_domain_prints_its_unfinished_line_when_a_burst_ends() {
        let mut service = started();
        let mut printed = console_lines(&write_bytes(&mut service, b"hi\r\nprompt# "));
        assert_eq!(printed.concat(), "(d2) hi\n");
        printed.extend(console_lines(&mask_write(&mut service, CALLER)));
        assert_eq!(printed.concat(), "(d2) hi\n(d2) prompt# ", "no wait for the newline");
        printed.extend(console_lines(&write_bytes(&mut service, b"ls")));
        printed.extend(console_lines(&mask_write(&mut service, CALLER)));
        printed.extend(console_lines(&write_bytes(&mut service, b"\n")));
        assert_eq!(printed.concat(), "(d2) hi\n(d2) prompt# ls\n", "the echo continues the line");
    }

    #[test]
    fn typed_bytes_wait_for_room_in_the_receive_fifo() {
        let mut service = started();
        let line: Vec<u8> = (0..100_u8).map(|index| b'a' + index % 26).collect();
        type_bytes(&mut service, &line);
        let mut received = Vec::new();
        for _ in 0..200 {
            let mut actions = ActionBuffer::<4>::new();
            service.handle(&Message::MmioRead { caller: CALLER, address: UART, size: 4, time_ns: 0 }, &mut actions);
            if let Some(Action::CompleteRead { value, .. }) = actions.actions.first()
                && value & (1 << 8) == 0
                && received.len() < line.len()
            {
                received.push(*value as u8);
            }
        }
        assert_eq!(received, line, "nothing lost beyond the FIFO's 32 bytes");
    }

    #[test]
    fn only_the_focused_domain_prints_unfinished_lines() {
        let mut service = started();
        let other = unfocused(&mut service);
        write_bytes_from(&mut service, other, b"half");
        assert!(console_lines(&mask_write(&mut service, other)).is_empty());
    }

    /// The guest masks its transmit interrupt (UARTIMSC), as a driver does at the end of a burst.
    fn mask_write(service: &mut VirtualUartService, caller: VcpuId) -> Vec<Action> {
        let mut actions = ActionBuffer::<4>::new();
        let address = GuestPhysAddr(UART.0 + 0x38);
        service.handle(&Message::MmioWrite { caller, address, size: 4, value: 0x10, time_ns: 0 }, &mut actions);
        actions.actions.into_iter().collect()
    }

    #[test]
    fn another_domains_line_starts_on_a_line_of_its_own() {
        let mut service = started();
        let other = unfocused(&mut service);
        let mut printed = console_lines(&write_bytes(&mut service, b"linux# "));
        printed.extend(console_lines(&mask_write(&mut service, CALLER)));
        printed.extend(console_lines(&write_bytes_from(&mut service, other, b"beat\n")));
        printed.extend(console_lines(&write_bytes(&mut service, b"ls\n")));
        assert_eq!(printed.concat(), "(d2) linux# \n(d3) beat\n(d2) ls\n");
    }

    #[test]
    fn lines_are_prefixed_by_domain() {
        let mut service = started();
        // Domain 2 keeps the focus: domain 3's output is line-buffered.
        let other = unfocused(&mut service);
        let actions = write_bytes_from(&mut service, other, b"hi\r\nthere\n");
        assert_eq!(console_lines(&actions), ["(d3) hi\n", "(d3) there\n"]);
        let completions = actions.iter().filter(|action| matches!(action, Action::CompleteWrite { .. })).count();
        assert_eq!(completions, 10, "every write completes");
    }

    #[test]
    fn long_lines_are_split_not_lost() {
        let mut service = started();
        let other = unfocused(&mut service);
        let text = [b'x'; 400];
        let lines = console_lines(&write_bytes_from(&mut service, other, &text));
        let total: usize = lines.iter().map(|line| line.len() - PREFIX_LENGTH - 1).sum();
        assert_eq!(total, 400 - 400 % (CONSOLE_TEXT_CAPACITY - PREFIX_LENGTH - 2), "a newline may precede the prefix");
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
