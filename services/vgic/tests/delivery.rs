//! Delivery: what becomes pending reaches the right vCPU when it is enabled, level lines are
//! resampled at the end of interrupt, disabled physical interrupts are discarded, queued
//! interrupts are withdrawn, and passed-through SPIs follow the owner's programming only.

mod common;

use common::{Harness, RTC_INTID, SGI_FRAME, TIMER_INTID, UART_INTID, domain, inject, vcpu};
use somnus_abi::ids::{DomainId, VcpuId};
use somnus_abi::ipc::{Action, InterruptSource, InterruptTarget, Message};
use somnus_service_vgic::GicVersion;

const CPU0: VcpuId = vcpu(0, 0);
const CPU1: VcpuId = vcpu(0, 1);
const VERSIONS: [GicVersion; 2] = [GicVersion::V2, GicVersion::V3];

/// Domain 0 with two vCPUs and domain 1 with one, distributors enabled, SPI 34 routed to vCPU 1.
fn harness(version: GicVersion) -> Harness {
    let mut gic = Harness::new(version, &[(0, 2), (1, 1)]);
    gic.enable_distributor(CPU0);
    gic.enable_distributor(vcpu(1, 0));
    gic.route(CPU0, RTC_INTID, 1);
    gic.route(CPU0, UART_INTID, 0);
    gic
}

fn withdraw(target: VcpuId, intid: u32) -> Action {
    Action::WithdrawInterrupt { target, intid }
}

fn level_inject(target: VcpuId, intid: u32) -> Action {
    Action::InjectInterrupt { target, intid, priority: 0, physical: None, notify_end: true }
}

fn route_physical(target: VcpuId, enabled: bool) -> Action {
    Action::RoutePhysical { intid: RTC_INTID, target, enabled }
}

fn timer(vcpu: VcpuId, source: InterruptSource) -> Message {
    Message::Interrupt { target: InterruptTarget::Vcpu(vcpu), intid: TIMER_INTID, source }
}

#[test]
fn enable_then_pend() {
    for version in VERSIONS {
        let mut gic = harness(version);
        gic.set_distributor(CPU0, 0x400 + u64::from(RTC_INTID), 1, 0xA0);
        assert!(gic.enable(CPU0, RTC_INTID).is_empty());
        assert_eq!(gic.set_pending(CPU0, RTC_INTID), [inject(CPU1, RTC_INTID, 0xA0)], "{version:?}");
        assert!(!gic.bit(CPU0, 0x200, RTC_INTID), "handed to the kernel");
    }
}

#[test]
fn pend_then_enable() {
    for version in VERSIONS {
        let mut gic = harness(version);
        assert!(gic.set_pending(CPU0, RTC_INTID).is_empty());
        assert!(gic.bit(CPU1, 0x200, RTC_INTID), "pending, not enabled");
        assert_eq!(gic.enable(CPU0, RTC_INTID), [inject(CPU1, RTC_INTID, 0)], "{version:?}");
        assert!(gic.enable(CPU0, RTC_INTID).is_empty(), "delivered once");
    }
}

#[test]
fn nothing_is_forwarded_while_the_group_is_disabled() {
    for version in VERSIONS {
        let mut gic = harness(version);
        gic.set_distributor(CPU0, 0, 4, 0);
        gic.enable(CPU1, TIMER_INTID);
        assert!(gic.enable(CPU0, RTC_INTID).is_empty());
        assert!(gic.set_pending(CPU0, RTC_INTID).is_empty());
        assert!(gic.send(&timer(CPU1, InterruptSource::TimerExpired)).is_empty());
        assert!(gic.set_pending(CPU1, TIMER_INTID).is_empty());
        let mut actions = gic.set_distributor(CPU0, 0, 4, 0b11);
        actions.sort_by_key(|action| format!("{action:?}"));
        assert_eq!(actions, [inject(CPU1, TIMER_INTID, 0), inject(CPU1, RTC_INTID, 0)], "{version:?}");
    }
}

#[test]
fn v2_spis_wait_for_a_target() {
    let mut gic = Harness::new(GicVersion::V2, &[(0, 2)]);
    gic.enable_distributor(CPU0);
    gic.enable(CPU0, 40);
    assert!(gic.set_pending(CPU0, 40).is_empty(), "ITARGETSR names no vCPU yet");
    assert_eq!(gic.set_distributor(CPU0, 0x800 + 40, 1, 0b10), [inject(CPU1, 40, 0)]);
}

#[test]
fn physical_interrupts_are_injected_or_discarded() {
    for version in VERSIONS {
        let mut gic = harness(version);
        gic.send(&Message::InterruptGranted { domain: domain(0), intid: RTC_INTID });
        assert_eq!(gic.physical(domain(0), RTC_INTID), [Action::DiscardPhysical { intid: RTC_INTID, vcpu: None }]);
        gic.enable(CPU0, RTC_INTID);
        assert_eq!(
            gic.physical(domain(0), RTC_INTID),
            [Action::InjectInterrupt {
                target: CPU1,
                intid: RTC_INTID,
                priority: 0,
                physical: Some(RTC_INTID),
                notify_end: false,
            }]
        );
        // Domain 1 does not own it, even if it enabled it.
        gic.enable(vcpu(1, 0), RTC_INTID);
        assert_eq!(gic.physical(domain(1), RTC_INTID), [Action::DiscardPhysical { intid: RTC_INTID, vcpu: None }]);
        // A stale domain's physical interrupt is still deactivated.
        let stale = DomainId { index: 0, generation: 7 };
        assert_eq!(gic.physical(stale, RTC_INTID), [Action::DiscardPhysical { intid: RTC_INTID, vcpu: None }]);
    }
}

#[test]
fn virtual_timer() {
    for version in VERSIONS {
        let mut gic = harness(version);
        assert_eq!(
            gic.send(&timer(CPU1, InterruptSource::Physical)),
            [Action::DiscardPhysical { intid: TIMER_INTID, vcpu: Some(CPU1) }]
        );
        assert!(gic.send(&timer(CPU1, InterruptSource::TimerExpired)).is_empty(), "disabled: nothing");
        gic.enable(CPU1, TIMER_INTID);
        assert_eq!(gic.send(&timer(CPU1, InterruptSource::TimerExpired)), [inject(CPU1, TIMER_INTID, 0)]);
        assert_eq!(
            gic.send(&timer(CPU1, InterruptSource::Physical)),
            [Action::InjectInterrupt {
                target: CPU1,
                intid: TIMER_INTID,
                priority: 0,
                physical: Some(TIMER_INTID),
                notify_end: false,
            }]
        );
        assert!(gic.send(&timer(CPU0, InterruptSource::TimerExpired)).is_empty(), "vCPU 0 did not enable it");
        assert!(gic.send(&timer(vcpu(0, 5), InterruptSource::TimerExpired)).is_empty(), "no such vCPU");
    }
}

#[test]
fn level_lines_are_resampled_at_the_end_of_interrupt() {
    for version in VERSIONS {
        let mut gic = harness(version);
        assert!(gic.line(domain(0), UART_INTID, true).is_empty(), "disabled");
        assert!(gic.bit(CPU0, 0x200, UART_INTID), "pending while high");
        assert_eq!(gic.enable(CPU0, UART_INTID), [level_inject(CPU0, UART_INTID)], "high and newly enabled");
        assert!(gic.line(domain(0), UART_INTID, true).is_empty(), "already queued");
        let ended = Message::InterruptEnded { vcpu: CPU0, intid: UART_INTID };
        assert_eq!(gic.send(&ended), [level_inject(CPU0, UART_INTID)], "still high: again");
        assert_eq!(gic.line(domain(0), UART_INTID, false), [withdraw(CPU0, UART_INTID)]);
        assert!(gic.send(&ended).is_empty(), "low: nothing more");
        assert_eq!(gic.line(domain(0), UART_INTID, true), [level_inject(CPU0, UART_INTID)], "{version:?}");
        assert!(gic.line(domain(1), UART_INTID, true).is_empty(), "domain 1's UART line is its own");
    }
}

#[test]
fn edge_triggered_lines_latch() {
    for version in VERSIONS {
        let mut gic = harness(version);
        gic.set_distributor(CPU0, 0xC08, 4, 0b10 << 2);
        gic.enable(CPU0, UART_INTID);
        assert_eq!(gic.line(domain(0), UART_INTID, true), [inject(CPU0, UART_INTID, 0)]);
        assert!(gic.line(domain(0), UART_INTID, false).is_empty(), "falling edge: nothing");
        assert!(gic.send(&Message::InterruptEnded { vcpu: CPU0, intid: UART_INTID }).is_empty());
    }
}

#[test]
fn clearing_or_disabling_withdraws() {
    for version in VERSIONS {
        let mut gic = harness(version);
        gic.enable(CPU0, RTC_INTID);
        gic.set_pending(CPU0, RTC_INTID);
        assert_eq!(gic.clear_pending(CPU0, RTC_INTID), [withdraw(CPU1, RTC_INTID)], "{version:?}");
        assert!(gic.clear_pending(CPU0, RTC_INTID).is_empty(), "once");
        gic.set_pending(CPU0, RTC_INTID);
        assert_eq!(gic.disable(CPU0, RTC_INTID), [withdraw(CPU1, RTC_INTID)]);
        assert!(gic.enable(CPU0, RTC_INTID).is_empty(), "consumed by the first delivery");
        // A high level line stays pending when its latch is cleared.
        gic.enable(CPU0, UART_INTID);
        gic.line(domain(0), UART_INTID, true);
        assert!(gic.clear_pending(CPU0, UART_INTID).is_empty());
        assert_eq!(gic.disable(CPU0, UART_INTID), [withdraw(CPU0, UART_INTID)]);
    }
}

#[test]
fn sgis_are_withdrawn_per_source_on_gicv2() {
    let mut gic = harness(GicVersion::V2);
    gic.set_distributor(CPU1, 0x100, 4, 1 << 6);
    assert_eq!(gic.set_distributor(CPU0, 0xF00, 4, 0b10 << 16 | 6), [inject(CPU1, 6, 0)]);
    assert_eq!(gic.set_distributor(CPU1, 0xF00, 4, 2 << 24 | 6), [inject(CPU1, 6 | 1 << 10, 0)]);
    assert_eq!(gic.set_distributor(CPU1, 0x180, 4, 1 << 6), [withdraw(CPU1, 6), withdraw(CPU1, 6 | 1 << 10)]);
}

#[test]
fn sgis_are_withdrawn_on_gicv3() {
    let mut gic = harness(GicVersion::V3);
    gic.set_redistributor(CPU0, 1, SGI_FRAME + 0x100, 1 << 6);
    let sgi = Message::GenerateSgi { caller: CPU0, value: 6 << 24 | 0b10 };
    assert_eq!(gic.send(&sgi)[1..], [inject(CPU1, 6, 0)]);
    assert_eq!(gic.set_redistributor(CPU0, 1, SGI_FRAME + 0x280, 1 << 6), [withdraw(CPU1, 6)]);
    assert_eq!(gic.set_redistributor(CPU0, 1, SGI_FRAME + 0x200, 1 << 6), [inject(CPU1, 6, 0)], "ISPENDR0");
}

#[test]
fn granted_spi_follows_its_owner() {
    for version in VERSIONS {
        let mut gic = harness(version);
        assert!(gic.send(&Message::InterruptGranted { domain: domain(0), intid: RTC_INTID }).is_empty());
        assert_eq!(gic.enable(CPU0, RTC_INTID), [route_physical(CPU1, true)], "{version:?}");
        assert_eq!(gic.route(CPU0, RTC_INTID, 0), [route_physical(CPU0, true)]);
        assert!(gic.route(CPU0, RTC_INTID, 0).is_empty(), "no change");
        assert_eq!(gic.set_distributor(CPU1, 0, 4, 0), [route_physical(CPU0, false)], "groups off");
        assert_eq!(gic.set_distributor(CPU1, 0, 4, 0b11), [route_physical(CPU0, true)]);
        assert_eq!(gic.disable(CPU1, RTC_INTID), [route_physical(CPU0, false)]);
        // Domain 1 programs its own SPI 34: purely virtual.
        let other = vcpu(1, 0);
        assert!(gic.enable(other, RTC_INTID).is_empty());
        assert!(gic.route(other, RTC_INTID, 0).is_empty());
        assert!(gic.disable(other, RTC_INTID).is_empty());
    }
}

#[test]
fn routing_outside_the_domain_disables_the_physical_interrupt() {
    let mut gic = harness(GicVersion::V3);
    gic.send(&Message::InterruptGranted { domain: domain(0), intid: RTC_INTID });
    gic.enable(CPU0, RTC_INTID);
    let actions = gic.set_distributor(CPU0, 0x6000 + 8 * u64::from(RTC_INTID), 8, 0x0100);
    assert_eq!(actions, [route_physical(CPU0, false)], "Aff1 = 1 names no vCPU");
}

#[test]
fn a_grant_to_an_enabled_spi_routes_it_and_moves_ownership() {
    for version in VERSIONS {
        let mut gic = harness(version);
        gic.enable(CPU0, RTC_INTID);
        let grant = |index| Message::InterruptGranted { domain: domain(index), intid: RTC_INTID };
        assert_eq!(gic.send(&grant(0)), [route_physical(CPU1, true)]);
        assert!(gic.service.domain(domain(0)).is_some_and(|state| state.owns(RTC_INTID)));
        assert!(gic.send(&grant(1)).is_empty(), "domain 1 has not enabled it");
        assert!(gic.service.domain(domain(0)).is_some_and(|state| !state.owns(RTC_INTID)));
        assert!(gic.disable(CPU0, RTC_INTID).is_empty(), "domain 0 no longer owns it");
        assert_eq!(gic.enable(vcpu(1, 0), RTC_INTID), [route_physical(vcpu(1, 0), true)]);
        let unsupported = Message::InterruptGranted { domain: domain(1), intid: 500 };
        assert!(gic.send(&unsupported).is_empty());
    }
}

#[test]
fn stale_interrupt_messages_are_ignored() {
    for version in VERSIONS {
        let mut gic = harness(version);
        gic.enable(CPU0, UART_INTID);
        let stale = DomainId { index: 0, generation: 3 };
        assert!(gic.line(stale, UART_INTID, true).is_empty());
        let stale_vcpu = VcpuId { domain: stale, index: 0 };
        assert!(gic.send(&Message::InterruptEnded { vcpu: stale_vcpu, intid: UART_INTID }).is_empty());
        assert!(gic.send(&Message::InterruptGranted { domain: stale, intid: RTC_INTID }).is_empty());
        assert!(!gic.bit(CPU0, 0x200, UART_INTID));
        // Wrong kinds of target: a PPI for a whole domain, an SPI for one vCPU.
        assert!(gic.line(domain(0), TIMER_INTID, true).is_empty());
        let spi_for_vcpu = Message::Interrupt {
            target: InterruptTarget::Vcpu(CPU0),
            intid: UART_INTID,
            source: InterruptSource::Level(true),
        };
        assert!(gic.send(&spi_for_vcpu).is_empty());
        assert!(gic.line(domain(0), 5000, true).is_empty(), "unsupported INTID");
        assert_eq!(gic.physical(domain(0), 5000), [Action::DiscardPhysical { intid: 5000, vcpu: None }]);
    }
}

#[test]
fn a_queued_spi_follows_a_new_target() {
    for version in VERSIONS {
        let mut gic = harness(version);
        gic.enable(CPU0, RTC_INTID);
        assert_eq!(gic.set_pending(CPU0, RTC_INTID), [inject(CPU1, RTC_INTID, 0)], "{version:?}");
        let moved = gic.route(CPU0, RTC_INTID, 0);
        assert_eq!(moved, [withdraw(CPU1, RTC_INTID), inject(CPU0, RTC_INTID, 0)], "{version:?}");
        assert!(gic.route(CPU0, RTC_INTID, 0).is_empty(), "{version:?}: same target, nothing moves");
        // A level line held high by a device model moves as well, still asking for its end.
        let line = Message::Interrupt {
            target: InterruptTarget::Domain(domain(0)),
            intid: UART_INTID,
            source: InterruptSource::Level(true),
        };
        gic.enable(CPU0, UART_INTID);
        assert_eq!(gic.send(&line), [level_inject(CPU0, UART_INTID)], "{version:?}");
        let moved = gic.route(CPU0, UART_INTID, 1);
        assert_eq!(moved, [withdraw(CPU0, UART_INTID), level_inject(CPU1, UART_INTID)], "{version:?}");
    }
}
