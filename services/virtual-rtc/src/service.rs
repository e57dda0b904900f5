//! The service: one PL031 model per domain, the alarm deadlines of all of them folded into the
//! one hypervisor alarm, and the interrupt line of each reported to the interrupt service.

use somnus_abi::guest_platform::{DEVICE_FRAME_SIZE, RTC, RTC_SPI};
use somnus_abi::ids::DomainId;
use somnus_abi::ipc::{Action, ActionSink, Message, Service};

use crate::pl031_model::Pl031Model;

/// Most domains the service keeps state for (their index must be below this).
pub const MAX_DOMAINS: usize = 8;
/// INTID of the guest RTC's interrupt.
const RTC_INTID: u32 = 32 + RTC_SPI;

#[derive(Clone, Copy, Debug)]
struct DomainRtc {
    generation: u16,
    model: Pl031Model,
    /// The interrupt level last reported.
    level: bool,
}

/// The virtual RTC service: every domain's PL031.
#[derive(Debug)]
pub struct VirtualRtcService {
    domains: [Option<DomainRtc>; MAX_DOMAINS],
    /// What a new domain's clock reads at monotonic time 0 (seconds since 1970).
    epoch_seconds: u32,
    /// The alarm deadline last asked of the kernel.
    armed: Option<u64>,
}

impl VirtualRtcService {
    /// A service whose clocks read `epoch_seconds` at monotonic time 0 (the wall-clock time of
    /// the hypervisor's boot, or 0 where the board has no clock to take it from).
    #[must_use]
    pub const fn new(epoch_seconds: u32) -> Self {
        Self { domains: [None; MAX_DOMAINS], epoch_seconds, armed: None }
    }

    fn rtc_of(&mut self, domain: DomainId) -> Option<&mut DomainRtc> {
        self.domains.get_mut(domain.index as usize)?.as_mut().filter(|rtc| rtc.generation == domain.generation)
    }

    /// Reports a change of a domain's interrupt line.
    fn update_level(index: usize, rtc: &mut DomainRtc, actions: &mut dyn ActionSink) {
        let level = rtc.model.interrupt_level();
        if level != rtc.level {
            rtc.level = level;
            let domain = DomainId { index: index as u8, generation: rtc.generation };
            actions.push(Action::RaiseInterrupt { domain, intid: RTC_INTID, level });
        }
    }

    /// Raises every alarm that is due, then asks for the next deadline.
    fn expire_and_rearm(&mut self, now_ns: u64, actions: &mut dyn ActionSink) {
        for (index, rtc) in self.domains.iter_mut().enumerate() {
            if let Some(rtc) = rtc
                && rtc.model.expire(now_ns)
            {
                Self::update_level(index, rtc, actions);
            }
        }
        let next = self.domains.iter().flatten().filter_map(|rtc| rtc.model.alarm_at_ns()).min();
        if next != self.armed {
            self.armed = next;
            actions.push(Action::ArmAlarm { deadline_ns: next });
        }
    }

    fn access(&mut self, message: &Message, actions: &mut dyn ActionSink) {
        let (caller, address, size, write, time_ns) = match *message {
            Message::MmioRead { caller, address, size, time_ns } => (caller, address, size, None, time_ns),
            Message::MmioWrite { caller, address, size, value, time_ns } => {
                (caller, address, size, Some(value), time_ns)
            }
            _ => return,
        };
        let offset = address.0.wrapping_sub(RTC.0);
        let index = caller.domain.index as usize;
        let Some(rtc) = self.rtc_of(caller.domain).filter(|_| offset < DEVICE_FRAME_SIZE) else {
            actions.push(Action::InjectAbort { target: caller });
            return;
        };
        let register = offset & !3;
        match write {
            None => {
                let shift = (offset & 3) * 8;
                let value = u64::from(rtc.model.read(register, time_ns)) >> shift;
                let value = if size >= 4 { value } else { value & ((1 << (u32::from(size) * 8)) - 1) };
                actions.push(Action::CompleteRead { target: caller, value });
            }
            Some(value) => {
                // The PL031's registers are 32 bits wide: narrower or misaligned writes are ignored.
                if size >= 4 && offset.is_multiple_of(4) {
                    rtc.model.write(register, value as u32, time_ns);
                }
                actions.push(Action::CompleteWrite { target: caller });
            }
        }
        Self::update_level(index, rtc, actions);
        self.expire_and_rearm(time_ns, actions);
    }
}

impl Service for VirtualRtcService {
    fn handle(&mut self, message: &Message, actions: &mut dyn ActionSink) {
        match *message {
            Message::DomainStarted { domain, .. } => {
                if let Some(slot) = self.domains.get_mut(domain.index as usize) {
                    // A new generation starts with a fresh clock reading wall-clock time.
                    *slot = Some(DomainRtc {
                        generation: domain.generation,
                        model: Pl031Model::new(self.epoch_seconds),
                        level: false,
                    });
                }
            }
            Message::MmioRead { .. } | Message::MmioWrite { .. } => self.access(message, actions),
            Message::AlarmDue { time_ns } => self.expire_and_rearm(time_ns, actions),
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

    const SECOND: u64 = 1_000_000_000;
    const FIRST: DomainId = DomainId { index: 0, generation: 1 };
    const SECOND_DOMAIN: DomainId = DomainId { index: 1, generation: 4 };

    fn caller(domain: DomainId) -> VcpuId {
        VcpuId { domain, index: 0 }
    }

    fn send(service: &mut VirtualRtcService, message: Message) -> Vec<Action> {
        let mut actions = ActionBuffer::<16>::new();
        service.handle(&message, &mut actions);
        actions.actions.iter().cloned().collect()
    }

    fn started() -> VirtualRtcService {
        let mut service = VirtualRtcService::new(1_000);
        for domain in [FIRST, SECOND_DOMAIN] {
            send(&mut service, Message::DomainStarted { domain, vcpu_count: 1, memory_bytes: 1 << 24 });
        }
        service
    }

    fn write(domain: DomainId, offset: u64, value: u64, time_ns: u64) -> Message {
        Message::MmioWrite { caller: caller(domain), address: GuestPhysAddr(RTC.0 + offset), size: 4, value, time_ns }
    }

    fn read(domain: DomainId, offset: u64, size: u8, time_ns: u64) -> Message {
        Message::MmioRead { caller: caller(domain), address: GuestPhysAddr(RTC.0 + offset), size, time_ns }
    }

    #[test]
    fn each_domain_reads_its_own_clock() {
        let mut service = started();
        send(&mut service, write(FIRST, 0x008, 5, 0));
        assert_eq!(
            send(&mut service, read(FIRST, 0, 4, 2 * SECOND)),
            [Action::CompleteRead { target: caller(FIRST), value: 7 }]
        );
        assert_eq!(
            send(&mut service, read(SECOND_DOMAIN, 0, 4, 2 * SECOND)),
            [Action::CompleteRead { target: caller(SECOND_DOMAIN), value: 1_002 }]
        );
        assert_eq!(
            send(&mut service, read(SECOND_DOMAIN, 0xFE0, 1, 0)),
            [Action::CompleteRead { target: caller(SECOND_DOMAIN), value: 0x31 }]
        );
    }

    #[test]
    fn the_alarm_raises_the_line_of_its_domain_only_and_rearms() {
        let mut service = started();
        send(&mut service, write(FIRST, 0x010, 1, 0));
        let armed = send(&mut service, write(FIRST, 0x004, 1_003, SECOND / 2));
        assert_eq!(
            armed,
            [Action::CompleteWrite { target: caller(FIRST) }, Action::ArmAlarm { deadline_ns: Some(3 * SECOND) }]
        );
        send(&mut service, write(SECOND_DOMAIN, 0x004, 1_005, SECOND));
        let due = send(&mut service, Message::AlarmDue { time_ns: 3 * SECOND + 100 });
        assert_eq!(
            due,
            [
                Action::RaiseInterrupt { domain: FIRST, intid: 34, level: true },
                Action::ArmAlarm { deadline_ns: Some(5 * SECOND) },
            ]
        );
        let cleared = send(&mut service, write(FIRST, 0x01C, 1, 4 * SECOND));
        assert!(cleared.contains(&Action::RaiseInterrupt { domain: FIRST, intid: 34, level: false }));
        let second = send(&mut service, Message::AlarmDue { time_ns: 5 * SECOND });
        assert_eq!(second, [Action::ArmAlarm { deadline_ns: None }], "masked: raised but the line stays low");
        assert_eq!(
            send(&mut service, read(SECOND_DOMAIN, 0x014, 4, 5 * SECOND)),
            [Action::CompleteRead { target: caller(SECOND_DOMAIN), value: 1 }]
        );
    }

    #[test]
    fn unknown_domains_and_stale_generations_get_an_abort() {
        let mut service = started();
        let stale = DomainId { index: 1, generation: 3 };
        assert_eq!(send(&mut service, read(stale, 0, 4, 0)), [Action::InjectAbort { target: caller(stale) }]);
        let unknown = DomainId { index: 7, generation: 0 };
        assert_eq!(send(&mut service, write(unknown, 0, 0, 0)), [Action::InjectAbort { target: caller(unknown) }]);
        let far = DomainId { index: 200, generation: 0 };
        assert_eq!(send(&mut service, read(far, 0, 4, 0)), [Action::InjectAbort { target: caller(far) }]);
    }

    #[test]
    fn a_restarted_domain_gets_a_fresh_clock() {
        let mut service = started();
        send(&mut service, write(FIRST, 0x008, 5, 0));
        let restarted = DomainId { index: 0, generation: 2 };
        send(&mut service, Message::DomainStarted { domain: restarted, vcpu_count: 1, memory_bytes: 1 << 24 });
        let actions = send(&mut service, read(restarted, 0, 4, 3 * SECOND));
        assert_eq!(actions[0], Action::CompleteRead { target: caller(restarted), value: 1_003 });
        assert_eq!(actions[1..], [Action::ArmAlarm { deadline_ns: None }], "the old generation's alarm is gone");
    }

    #[test]
    fn narrow_writes_are_ignored() {
        let mut service = started();
        let narrow = Message::MmioWrite {
            caller: caller(FIRST),
            address: GuestPhysAddr(RTC.0 + 0x008),
            size: 1,
            value: 9,
            time_ns: 0,
        };
        send(&mut service, narrow);
        assert_eq!(
            send(&mut service, read(FIRST, 0, 4, 0)),
            [Action::CompleteRead { target: caller(FIRST), value: 1_000 }]
        );
    }
}
