//! The service state machine: PSCI and SMCCC calls from guests and wake-ups from the kernel, one
//! message at a time. Every power-state change of every domain happens here and nowhere else,
//! so CPU_ON, CPU_OFF, SYSTEM_SUSPEND and wake-ups are ordered by the mailbox: no locks.

use somnus_abi::guest_platform::RAM_BASE;
use somnus_abi::ids::DomainId;
use somnus_abi::ids::VcpuId;
use somnus_abi::ipc::{Action, ActionSink, ConsoleText, ManagementCommand, Message, Service, WAKE_BY_REQUEST};
use somnus_abi::management::ManagementError;

use crate::function::return_code::{ALREADY_ON, DENIED, INVALID_ADDRESS, INVALID_PARAMETERS, SUCCESS};
use crate::function::{
    FUNCTION_COUNTERS, Function, NOT_SUPPORTED, PSCI_VERSION_1_1, SMCCC_ARCH_FEATURES, SMCCC_VERSION, SMCCC_VERSION_1_1,
};
use crate::management;
use crate::power_state::{DomainPower, DomainRecord, PowerTable, ResumePoint, VcpuPower};

/// MPIDR affinity fields Aff3..Aff0.
const AFFINITY_MASK: u64 = 0xFF_00FF_FFFF;
/// MIGRATE_INFO_TYPE: no Trusted OS that needs migration.
const MIGRATE_NOT_REQUIRED: u64 = 2;
/// AFFINITY_INFO results.
const AFFINITY_ON: u64 = 0;
const AFFINITY_OFF: u64 = 1;
/// CPU_SUSPEND power_state (original format): StateType bit and the bits that must be zero.
const POWER_STATE_TYPE_POWER_DOWN: u64 = 1 << 16;
const POWER_STATE_RESERVED: u64 = !0x0301_FFFF & 0xFFFF_FFFF;

/// The PSCI service.
#[derive(Debug, Default)]
pub struct PsciService {
    table: PowerTable,
}

/// A call in progress: who made it and with what.
struct Call {
    caller: VcpuId,
    registers: [u64; 4],
    wide: bool,
    now_ns: u64,
}

impl Call {
    /// Argument `index` (1..=3) with the upper half ignored for 32-bit calls.
    fn argument(&self, index: usize) -> u64 {
        if self.wide { self.registers[index] } else { self.registers[index] & 0xFFFF_FFFF }
    }

    fn reply(&self, x0: u64) -> Action {
        Action::Reply { target: self.caller, registers: [x0, self.registers[1], self.registers[2], self.registers[3]] }
    }
}

impl PsciService {
    /// A service with no domain known yet.
    #[must_use]
    pub const fn new() -> Self {
        Self { table: PowerTable::new() }
    }

    /// What the service knows about every domain.
    #[must_use]
    pub const fn table(&self) -> &PowerTable {
        &self.table
    }

    fn call(&mut self, call: &Call, function: Option<Function>, actions: &mut dyn ActionSink) {
        let Some(record) = self.table.get_mut(call.caller.domain) else {
            actions.push(call.reply(NOT_SUPPORTED));
            return;
        };
        if record.power == DomainPower::Off {
            // A call that was already queued when SYSTEM_OFF or SYSTEM_RESET took effect: its
            // vCPU is off now, and nothing of a stopped domain may change or start again.
            actions.push(call.reply(NOT_SUPPORTED));
            return;
        }
        record.counters.calls[function.map_or(FUNCTION_COUNTERS - 1, Function::counter_index)] += 1;
        let answer = match function {
            None => Some(NOT_SUPPORTED),
            Some(Function::PsciVersion) => Some(PSCI_VERSION_1_1),
            Some(Function::SmcccVersion) => Some(SMCCC_VERSION_1_1),
            Some(Function::SmcccArchFeatures) => Some(match call.argument(1) as u32 {
                SMCCC_VERSION | SMCCC_ARCH_FEATURES => SUCCESS,
                // No SMCCC_ARCH_WORKAROUND_* is offered.
                _ => NOT_SUPPORTED,
            }),
            // Every implemented function is supported with no optional feature flags (CPU_SUSPEND:
            // original power_state format, platform-coordinated mode only).
            // SMCCC_ARCH_FEATURES is not a PSCI function: it is discovered through SMCCC_VERSION.
            Some(Function::PsciFeatures) => Some(match Function::decode(call.argument(1) as u32) {
                Some(Function::SmcccArchFeatures) | None => NOT_SUPPORTED,
                Some(_) => SUCCESS,
            }),
            Some(Function::MigrateInfoType) => Some(MIGRATE_NOT_REQUIRED),
            Some(Function::CpuOn { .. }) => Some(cpu_on(record, call, actions)),
            Some(Function::CpuOff) => cpu_off(record, call, actions),
            Some(Function::AffinityInfo { .. }) => Some(affinity_info(record, call)),
            Some(Function::CpuSuspend { .. }) => cpu_suspend(record, call, actions),
            Some(Function::SystemSuspend { .. }) => system_suspend(record, call, actions),
            Some(Function::SystemOff) => {
                stop(record);
                actions.push(Action::StopDomain { domain: record.id });
                management::changed(record, call.now_ns, actions);
                None
            }
            Some(Function::SystemReset) => {
                stop(record);
                actions.push(Action::RebootDomain { domain: record.id });
                None
            }
            Some(Function::SystemReset2 { .. }) => {
                let reset_type = call.argument(1) as u32;
                if reset_type & (1 << 31) != 0 {
                    // Vendor-specific resets.
                    Some(NOT_SUPPORTED)
                } else if reset_type == 0 {
                    // SYSTEM_WARM_RESET: the domain restarts from its pristine image.
                    stop(record);
                    actions.push(Action::RebootDomain { domain: record.id });
                    None
                } else {
                    Some(INVALID_PARAMETERS)
                }
            }
            Some(Function::StatResidency { .. }) => Some(statistics(record, call, true)),
            Some(Function::StatCount { .. }) => Some(statistics(record, call, false)),
        };
        if let Some(x0) = answer {
            actions.push(call.reply(x0));
        }
    }

    fn wake(&mut self, vcpu: VcpuId, intid: u32, now_ns: u64, actions: &mut dyn ActionSink) {
        let Some(record) = self.table.get_mut(vcpu.domain) else { return };
        match record.power {
            DomainPower::Suspended { resumer, resume, .. } => {
                record.power = DomainPower::Running;
                record.vcpus[resumer as usize] = VcpuPower::On;
                record.counters.resume_count += 1;
                if let Some(left_out) = record.line_budget.take(now_ns) {
                    actions.push(console_line(
                        record.id,
                        format_args!(
                            "somnus: domain {} resumed by {}{}",
                            record.id.index + 1,
                            WakeSource(intid),
                            LeftOut(left_out)
                        ),
                    ));
                }
                record.counters.last_wake_intid = Some(intid);
                record.leave_power_down(resumer, now_ns);
                management::changed(record, now_ns, actions);
                if let Some(target) = record.vcpu(resumer) {
                    actions.push(Action::StartVcpu { target, entry: resume.entry, context_id: resume.context_id });
                }
            }
            DomainPower::Running => {
                if let Some(VcpuPower::Suspended(resume)) = record.vcpus.get(vcpu.index as usize).copied() {
                    record.vcpus[vcpu.index as usize] = VcpuPower::On;
                    record.leave_power_down(vcpu.index, now_ns);
                    actions.push(Action::StartVcpu {
                        target: vcpu,
                        entry: resume.entry,
                        context_id: resume.context_id,
                    });
                }
            }
            // Off vCPUs of a running domain wait for CPU_ON; an off domain for a reset.
            DomainPower::Off => {}
        }
    }
}

/// SYSTEM_OFF, SYSTEM_RESET: the kernel powers every vCPU of this generation off (a reset then
/// builds a new generation, announced by `DomainStarted`), so the record says so too.
pub(crate) fn stop(record: &mut DomainRecord) {
    record.power = DomainPower::Off;
    record.vcpus = [VcpuPower::Off; somnus_abi::guest_platform::MAX_VCPUS];
}

/// The vCPU index `mpidr` names in `record`'s domain (vCPU n has affinity 0.0.0.n).
fn target_of(record: &DomainRecord, mpidr: u64) -> Option<u8> {
    let affinity = mpidr & AFFINITY_MASK;
    (affinity < u64::from(record.vcpu_count)).then_some(affinity as u8)
}

/// Whether a vCPU of this domain may start at `entry`: inside its RAM, and AArch64 (bit 0 clear).
fn valid_entry(record: &DomainRecord, entry: u64) -> bool {
    entry & 1 == 0 && entry >= RAM_BASE.0 && entry - RAM_BASE.0 < record.memory_bytes
}

fn cpu_on(record: &mut DomainRecord, call: &Call, actions: &mut dyn ActionSink) -> u64 {
    let Some(target) = target_of(record, call.argument(1)) else { return INVALID_PARAMETERS };
    let entry = call.argument(2);
    if !valid_entry(record, entry) {
        return INVALID_ADDRESS;
    }
    if record.vcpus[target as usize] != VcpuPower::Off {
        return ALREADY_ON;
    }
    record.vcpus[target as usize] = VcpuPower::On;
    if let Some(vcpu) = record.vcpu(target) {
        actions.push(Action::StartVcpu { target: vcpu, entry, context_id: call.argument(3) });
    }
    SUCCESS
}

/// CPU_OFF never returns on success. The last vCPU of a running domain is refused (DENIED):
/// turning the whole domain off is SYSTEM_OFF's job.
fn cpu_off(record: &mut DomainRecord, call: &Call, actions: &mut dyn ActionSink) -> Option<u64> {
    let index = call.caller.index;
    if record.all_others_off(index) {
        return Some(DENIED);
    }
    record.vcpus[index as usize] = VcpuPower::Off;
    actions.push(Action::PowerOffVcpu { target: call.caller });
    None
}

fn affinity_info(record: &DomainRecord, call: &Call) -> u64 {
    let target = call.argument(1) & AFFINITY_MASK;
    let level = call.argument(2);
    let is_on = |power: &VcpuPower| *power != VcpuPower::Off;
    match level {
        0 => target_of(record, target).map_or(INVALID_PARAMETERS, |index| {
            if is_on(&record.vcpus[index as usize]) { AFFINITY_ON } else { AFFINITY_OFF }
        }),
        // The domain's vCPUs form a single cluster 0.0.0: higher levels name all of them.
        1..=3 => {
            let above = match level {
                1 => target & !0xFF,
                2 => target & !0xFFFF,
                _ => target & !0xFF_FFFF,
            };
            if above != 0 {
                INVALID_PARAMETERS
            } else if record.vcpus[..record.vcpu_count as usize].iter().any(is_on) {
                AFFINITY_ON
            } else {
                AFFINITY_OFF
            }
        }
        _ => INVALID_PARAMETERS,
    }
}

fn cpu_suspend(record: &mut DomainRecord, call: &Call, actions: &mut dyn ActionSink) -> Option<u64> {
    let power_state = call.argument(1);
    if power_state & POWER_STATE_RESERVED != 0 {
        return Some(INVALID_PARAMETERS);
    }
    if power_state & POWER_STATE_TYPE_POWER_DOWN == 0 {
        // Standby: wait for an interrupt, then return SUCCESS.
        actions.push(Action::ReplyAfterInterrupt {
            target: call.caller,
            registers: [SUCCESS, call.registers[1], call.registers[2], call.registers[3]],
        });
        return None;
    }
    let entry = call.argument(2);
    if !valid_entry(record, entry) {
        return Some(INVALID_ADDRESS);
    }
    let index = call.caller.index;
    record.vcpus[index as usize] = VcpuPower::Suspended(ResumePoint { entry, context_id: call.argument(3) });
    record.enter_power_down(index, call.now_ns);
    actions.push(Action::PowerOffVcpu { target: call.caller });
    None
}

/// SYSTEM_SUSPEND as TF-A orders its checks: every other vCPU off (DENIED), then the entry point
/// (INVALID_ADDRESS). On success the caller powers off and the domain records its own resume
/// request; the kernel reports a pending or later wake-up interrupt, which resumes it.
fn system_suspend(record: &mut DomainRecord, call: &Call, actions: &mut dyn ActionSink) -> Option<u64> {
    let index = call.caller.index;
    if !record.all_others_off(index) {
        return Some(DENIED);
    }
    let entry = call.argument(1);
    if !valid_entry(record, entry) {
        return Some(INVALID_ADDRESS);
    }
    let resume = ResumePoint { entry, context_id: call.argument(2) };
    record.power = DomainPower::Suspended { resumer: index, resume, since_ns: call.now_ns };
    record.vcpus[index as usize] = VcpuPower::Off;
    record.counters.suspend_count += 1;
    record.last_resume_point = Some(resume);
    management::changed(record, call.now_ns, actions);
    if let Some(left_out) = record.line_budget.take(call.now_ns) {
        actions.push(console_line(
            record.id,
            format_args!(
                "somnus: domain {} suspended, resume at {:#x}{}",
                record.id.index + 1,
                resume.entry,
                LeftOut(left_out)
            ),
        ));
    }
    record.enter_power_down(index, call.now_ns);
    actions.push(Action::PowerOffVcpu { target: call.caller });
    None
}

/// PSCI_STAT_RESIDENCY (µs) or PSCI_STAT_COUNT of the power-down state for a vCPU. Standby
/// states are not tracked: their count and residency are 0.
fn statistics(record: &DomainRecord, call: &Call, residency: bool) -> u64 {
    let Some(target) = target_of(record, call.argument(1)) else { return INVALID_PARAMETERS };
    let power_state = call.argument(2);
    if power_state & POWER_STATE_RESERVED != 0 {
        return INVALID_PARAMETERS;
    }
    if power_state & POWER_STATE_TYPE_POWER_DOWN == 0 {
        return 0;
    }
    let counters = &record.vcpu_counters[target as usize];
    if residency {
        let ongoing = counters.power_down_since_ns.map_or(0, |since| call.now_ns.saturating_sub(since));
        (counters.power_down_residency_ns + ongoing) / 1000
    } else {
        counters.power_down_count
    }
}

impl Service for PsciService {
    fn handle(&mut self, message: &Message, actions: &mut dyn ActionSink) {
        match *message {
            Message::DomainStarted { domain, vcpu_count, memory_bytes } => {
                self.table.insert(DomainRecord::started(domain, vcpu_count, memory_bytes));
            }
            Message::Call { caller, registers, time_ns, .. } => {
                let function = Function::decode(registers[0] as u32);
                let call = Call { caller, registers, wide: function.is_some_and(Function::is_wide), now_ns: time_ns };
                self.call(&call, function, actions);
            }
            Message::WakeUp { vcpu, intid, time_ns } => self.wake(vcpu, intid, time_ns, actions),
            Message::Management { sequence, command, domain, time_ns } => {
                let result = match self.table.get_mut(domain) {
                    Some(record) => management::command(record, command, time_ns, actions),
                    None => Err(ManagementError::UnknownDomain),
                };
                if result.is_ok() && command == ManagementCommand::Wake {
                    self.wake(VcpuId { domain, index: 0 }, management::WAKE_INTID, time_ns, actions);
                }
                actions.push(Action::ManagementReply { sequence, result });
            }
            Message::PowerQuery { sequence, domain, time_ns } => {
                let mut found = false;
                for record in self.table.iter().filter(|record| domain.is_none_or(|domain| record.id == domain)) {
                    found = true;
                    actions.push(Action::PowerReport { sequence, report: management::report(record, time_ns) });
                }
                let result = if found || domain.is_none() { Ok(()) } else { Err(ManagementError::UnknownDomain) };
                actions.push(Action::ManagementReply { sequence, result });
            }
            _ => {}
        }
    }
}

/// What woke a domain, for the console.
struct WakeSource(u32);

impl core::fmt::Display for WakeSource {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0 == WAKE_BY_REQUEST {
            formatter.write_str("a wake request")
        } else {
            write!(formatter, "interrupt {}", self.0)
        }
    }
}

/// A line for the hypervisor console (truncated if it is longer than an action carries).
/// ` (N similar lines left out)` after a quiet spell, or nothing.
struct LeftOut(u32);

impl core::fmt::Display for LeftOut {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0 == 0 { Ok(()) } else { write!(formatter, " ({} similar lines left out)", self.0) }
    }
}

fn console_line(domain: DomainId, arguments: core::fmt::Arguments<'_>) -> Action {
    struct Writer(ConsoleText);
    impl core::fmt::Write for Writer {
        fn write_str(&mut self, text: &str) -> core::fmt::Result {
            for &byte in text.as_bytes() {
                // Longer text is cut, not refused.
                let _ = self.0.push(byte);
            }
            Ok(())
        }
    }
    let mut writer = Writer(ConsoleText::new());
    let _ = core::fmt::write(&mut writer, arguments);
    let _ = writer.0.push(b'\n');
    Action::ConsoleWrite { domain, text: writer.0 }
}
