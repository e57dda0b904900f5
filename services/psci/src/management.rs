//! Management requests (from `pwrctl`, through the kernel): power status reports and the
//! commands that change a domain's state. They arrive in the same mailbox as the guests' calls,
//! so a `wake` or `reset` is ordered with the guests' own PSCI calls like any of them.

use somnus_abi::guest_platform::MAX_VCPUS;
use somnus_abi::ipc::{Action, ActionSink, ManagementCommand, PowerReport, WAKE_BY_REQUEST};
use somnus_abi::management::{DomainState, ManagementError, VcpuState};

use crate::power_state::{DomainPower, DomainRecord, VcpuPower};

/// The state users see.
#[must_use]
pub fn domain_state(record: &DomainRecord) -> DomainState {
    match record.power {
        DomainPower::Off => DomainState::Off,
        _ if record.paused => DomainState::Paused,
        DomainPower::Suspended { .. } => DomainState::Suspended,
        DomainPower::Running => DomainState::Running,
    }
}

/// The report of one domain at `now_ns`.
#[must_use]
pub fn report(record: &DomainRecord, now_ns: u64) -> PowerReport {
    let mut vcpus = [VcpuState::Off; MAX_VCPUS];
    let mut power_down_count = [0; MAX_VCPUS];
    let mut power_down_residency_us = [0; MAX_VCPUS];
    let suspended_resumer = match record.power {
        DomainPower::Suspended { resumer, .. } => Some(resumer),
        _ => None,
    };
    for index in 0..record.vcpu_count as usize {
        vcpus[index] = match record.vcpus[index] {
            VcpuPower::On => VcpuState::On,
            VcpuPower::Suspended(_) => VcpuState::Suspended,
            VcpuPower::Off if suspended_resumer == Some(index as u8) => VcpuState::Suspended,
            VcpuPower::Off => VcpuState::Off,
        };
        let counters = &record.vcpu_counters[index];
        power_down_count[index] = counters.power_down_count;
        let ongoing = counters.power_down_since_ns.map_or(0, |since| now_ns.saturating_sub(since));
        power_down_residency_us[index] = (counters.power_down_residency_ns + ongoing) / 1000;
    }
    PowerReport {
        domain: record.id,
        state: domain_state(record),
        since_ns: record.since_ns,
        vcpu_count: record.vcpu_count,
        vcpus,
        power_down_count,
        power_down_residency_us,
        resume_point: record.last_resume_point.map(|point| (point.entry, point.context_id)),
        suspend_count: record.counters.suspend_count,
        resume_count: record.counters.resume_count,
        last_wake_intid: record.counters.last_wake_intid,
        calls: record.counters.calls,
    }
}

/// What a command does to `record`; `Err` when it makes no sense in the domain's state.
/// A `Wake` is carried out by the caller (it is the same path as a wake-up interrupt).
pub fn command(
    record: &mut DomainRecord,
    command: ManagementCommand,
    now_ns: u64,
    actions: &mut dyn ActionSink,
) -> Result<(), ManagementError> {
    let state = domain_state(record);
    let refuse = || Err(ManagementError::InvalidState(state));
    match command {
        ManagementCommand::Wake => {
            if state == DomainState::Suspended {
                Ok(())
            } else {
                refuse()
            }
        }
        ManagementCommand::Pause => {
            if matches!(state, DomainState::Running | DomainState::Suspended) {
                record.paused = true;
                actions.push(Action::PauseDomain { domain: record.id, paused: true });
                changed(record, now_ns, actions);
                Ok(())
            } else {
                refuse()
            }
        }
        ManagementCommand::Unpause => {
            if state == DomainState::Paused {
                record.paused = false;
                actions.push(Action::PauseDomain { domain: record.id, paused: false });
                changed(record, now_ns, actions);
                Ok(())
            } else {
                refuse()
            }
        }
        ManagementCommand::Reset => {
            record.paused = false;
            crate::service::stop(record);
            actions.push(Action::RebootDomain { domain: record.id });
            Ok(())
        }
        ManagementCommand::Off => {
            if state == DomainState::Off {
                return refuse();
            }
            record.paused = false;
            crate::service::stop(record);
            actions.push(Action::StopDomain { domain: record.id });
            changed(record, now_ns, actions);
            Ok(())
        }
    }
}

/// Records a state change and tells whoever watches.
pub fn changed(record: &mut DomainRecord, now_ns: u64, actions: &mut dyn ActionSink) {
    record.since_ns = now_ns;
    actions.push(Action::PowerEvent { domain: record.id, state: domain_state(record), time_ns: now_ns });
}

/// The interrupt number a management wake reports.
pub const WAKE_INTID: u32 = WAKE_BY_REQUEST;
