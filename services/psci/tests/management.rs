//! Management requests (pwrctl, through the kernel) handled by the PSCI service: status reports
//! and the commands wake, pause, unpause, reset and off, in the same mailbox as guests' calls.

mod common;

use common::ENTRY;
use common::{Bench, DOMAIN, id as function, vcpu};
use somnus_abi::ids::DomainId;
use somnus_abi::ipc::{Action, ManagementCommand, Message};
use somnus_abi::management::{DomainState, ManagementError, VcpuState};

fn command(bench: &mut Bench, command: ManagementCommand, domain: DomainId) -> Vec<Action> {
    bench.send(&Message::Management { sequence: 7, command, domain, time_ns: 1_000 })
}

fn reply(actions: &[Action]) -> Result<(), ManagementError> {
    match actions.last() {
        Some(Action::ManagementReply { sequence: 7, result }) => *result,
        other => panic!("no reply to request 7: {other:?}"),
    }
}

fn status(bench: &mut Bench) -> somnus_abi::ipc::PowerReport {
    let actions = bench.send(&Message::PowerQuery { sequence: 7, domain: Some(DOMAIN), time_ns: 2_000 });
    assert_eq!(reply(&actions), Ok(()));
    match actions.first() {
        Some(Action::PowerReport { sequence: 7, report }) => *report,
        other => panic!("no report: {other:?}"),
    }
}

fn suspend(bench: &mut Bench) {
    let actions = bench.call(vcpu(DOMAIN, 0), [function::SYSTEM_SUSPEND_64, ENTRY, 0x5, 0]);
    assert!(matches!(actions.as_slice(), [Action::PowerOffVcpu { .. }]), "{actions:?}");
}

#[test]
fn reports_show_state_vcpus_and_the_resume_point() {
    let mut bench = Bench::with_domain(2);
    let report = status(&mut bench);
    assert_eq!(report.state, DomainState::Running);
    assert_eq!(report.vcpu_count, 2);
    assert_eq!(&report.vcpus[..2], [VcpuState::On, VcpuState::Off]);
    suspend(&mut bench);
    let report = status(&mut bench);
    assert_eq!(report.state, DomainState::Suspended);
    assert_eq!(report.vcpus[0], VcpuState::Suspended);
    assert_eq!(report.resume_point, Some((ENTRY, 0x5)));
    assert_eq!(report.suspend_count, 1);
}

#[test]
fn wake_resumes_a_suspended_domain_and_is_refused_otherwise() {
    let mut bench = Bench::with_domain(1);
    assert_eq!(
        reply(&command(&mut bench, ManagementCommand::Wake, DOMAIN)),
        Err(ManagementError::InvalidState(DomainState::Running))
    );
    suspend(&mut bench);
    let actions = command(&mut bench, ManagementCommand::Wake, DOMAIN);
    assert!(
        actions.contains(&Action::StartVcpu { target: vcpu(DOMAIN, 0), entry: ENTRY, context_id: 0x5 }),
        "{actions:?}"
    );
    assert_eq!(reply(&actions), Ok(()));
    let report = status(&mut bench);
    assert_eq!(report.state, DomainState::Running);
    assert_eq!(report.resume_count, 1);
    assert_eq!(report.last_wake_intid, Some(u32::MAX));
}

#[test]
fn pause_and_unpause() {
    let mut bench = Bench::with_domain(1);
    let actions = command(&mut bench, ManagementCommand::Pause, DOMAIN);
    assert!(actions.contains(&Action::PauseDomain { domain: DOMAIN, paused: true }));
    assert_eq!(status(&mut bench).state, DomainState::Paused);
    assert_eq!(
        reply(&command(&mut bench, ManagementCommand::Pause, DOMAIN)),
        Err(ManagementError::InvalidState(DomainState::Paused))
    );
    let actions = command(&mut bench, ManagementCommand::Unpause, DOMAIN);
    assert!(actions.contains(&Action::PauseDomain { domain: DOMAIN, paused: false }));
    assert_eq!(status(&mut bench).state, DomainState::Running);
    assert_eq!(
        reply(&command(&mut bench, ManagementCommand::Unpause, DOMAIN)),
        Err(ManagementError::InvalidState(DomainState::Running))
    );
}

#[test]
fn off_and_reset_act_like_system_off_and_system_reset() {
    let mut bench = Bench::with_domain(1);
    let actions = command(&mut bench, ManagementCommand::Off, DOMAIN);
    assert!(actions.contains(&Action::StopDomain { domain: DOMAIN }));
    assert_eq!(status(&mut bench).state, DomainState::Off);
    assert_eq!(
        reply(&command(&mut bench, ManagementCommand::Off, DOMAIN)),
        Err(ManagementError::InvalidState(DomainState::Off))
    );
    let actions = command(&mut bench, ManagementCommand::Reset, DOMAIN);
    assert!(actions.contains(&Action::RebootDomain { domain: DOMAIN }));
    assert_eq!(reply(&actions), Ok(()));
}

#[test]
fn unknown_or_stale_domains_are_refused() {
    let mut bench = Bench::with_domain(1);
    let stale = DomainId { index: DOMAIN.index, generation: DOMAIN.generation.wrapping_add(1) };
    assert_eq!(reply(&command(&mut bench, ManagementCommand::Pause, stale)), Err(ManagementError::UnknownDomain));
    let actions = bench.send(&Message::PowerQuery { sequence: 7, domain: Some(stale), time_ns: 0 });
    assert_eq!(reply(&actions), Err(ManagementError::UnknownDomain));
    assert_eq!(status(&mut bench).state, DomainState::Running, "the current generation is untouched");
}
