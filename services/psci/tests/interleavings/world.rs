//! The test's side of the mailbox. `World` is a tiny model of the kernel (which vCPUs run and what
//! each calls next) that applies the service's actions as the kernel does, together with a
//! reference model of PSCI that predicts every answer in the order the service handled the
//! messages (that order is the serial order the answers must agree with), and the invariants.

use somnus_abi::ipc::{Action, Conduit, Message};
use somnus_service_psci::PsciService;
use somnus_service_psci::power_state::{DomainPower, ResumePoint, VcpuPower};

use crate::common::{DOMAIN, POWER_DOWN, RAM, code, id, vcpu};

/// Most vCPUs in a scenario.
pub const MAX: usize = 4;

/// What a vCPU's program calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// CPU_ON of vCPU `n`.
    CpuOn(u8),
    /// CPU_OFF.
    CpuOff,
    /// SYSTEM_SUSPEND.
    SystemSuspend,
    /// AFFINITY_INFO of vCPU `n`, level 0.
    AffinityInfo(u8),
    /// CPU_SUSPEND to the power-down state.
    PowerDown,
    /// SYSTEM_OFF.
    SystemOff,
}

/// One domain: vCPU 0 starts on, the others off; `wakes` are the targets of the wake-ups the
/// kernel sends, in this order, each at any point.
pub struct Scenario {
    pub name: &'static str,
    pub programs: &'static [&'static [Op]],
    pub wakes: &'static [u8],
}

/// One message reaching the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// vCPU `n`, running, makes its next call.
    Call(u8),
    /// The call vCPU `n` had in the mailbox when its domain was stopped is handled.
    Late(u8),
    /// A wake-up for vCPU `n`.
    Wake(u8),
}

/// A vCPU as the kernel sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    Off,
    On,
}

/// A vCPU as PSCI sees it (the reference model).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Power {
    On,
    Off,
    Down(ResumePoint),
}

/// The kernel model and the reference model of one domain.
#[derive(Clone, Copy, Debug)]
pub struct World {
    count: usize,
    /// Calls in each vCPU's program.
    lengths: [usize; MAX],
    run: [Run; MAX],
    /// Index of each vCPU's next call in its program.
    next: [usize; MAX],
    /// A call possibly in the mailbox when the domain was stopped.
    late: [bool; MAX],
    power: [Power; MAX],
    suspended: Option<(u8, ResumePoint)>,
    stopped: bool,
    wakes_sent: usize,
    suspends: u64,
    resumes: u64,
    power_downs: [u64; MAX],
}

/// Where call `index` of vCPU `caller` asks to (re)start, and its context id.
fn resume_point(caller: u8, index: usize) -> ResumePoint {
    let tag = u64::from(caller) * 16 + index as u64;
    ResumePoint { entry: RAM + 0x10_0000 + tag * 0x1000, context_id: 0xC000 + tag }
}

impl World {
    /// The state right after `DomainStarted`.
    pub fn new(scenario: &Scenario) -> Self {
        let mut world = Self {
            count: scenario.programs.len(),
            lengths: [0; MAX],
            run: [Run::Off; MAX],
            next: [0; MAX],
            late: [false; MAX],
            power: [Power::Off; MAX],
            suspended: None,
            stopped: false,
            wakes_sent: 0,
            suspends: 0,
            resumes: 0,
            power_downs: [0; MAX],
        };
        for (length, program) in world.lengths.iter_mut().zip(scenario.programs) {
            *length = program.len();
        }
        world.run[0] = Run::On;
        world.power[0] = Power::On;
        world
    }

    /// Every message that may reach the service next.
    pub fn enabled(&self, scenario: &Scenario) -> Vec<Step> {
        let mut steps = Vec::new();
        for index in 0..self.count {
            if self.run[index] == Run::On && self.next[index] < scenario.programs[index].len() {
                steps.push(Step::Call(index as u8));
            }
            if self.late[index] {
                steps.push(Step::Late(index as u8));
            }
        }
        if let Some(&target) = scenario.wakes.get(self.wakes_sent) {
            steps.push(Step::Wake(target));
        }
        steps
    }

    /// The message of `step`, sent at `time_ns`. Calls alternate between the SMC32 and SMC64
    /// forms, and the SMC32 ones carry garbage in the upper halves of their arguments.
    pub fn message(&self, scenario: &Scenario, step: Step, time_ns: u64) -> Message {
        let (Step::Call(caller) | Step::Late(caller)) = step else {
            let Step::Wake(target) = step else { unreachable!() };
            return Message::WakeUp { vcpu: vcpu(DOMAIN, target), intid: 32 + self.wakes_sent as u32, time_ns };
        };
        let index = self.next[caller as usize];
        let at = resume_point(caller, index);
        let wide = (caller as usize + index).is_multiple_of(2);
        let noise = if wide { 0 } else { 0xFFFF_FFFF_0000_0000 };
        let pick = |narrow: u64, wide_id: u64| if wide { wide_id } else { narrow };
        let registers = match scenario.programs[caller as usize][index] {
            Op::CpuOn(target) => {
                [pick(id::CPU_ON_32, id::CPU_ON_64), u64::from(target) | noise, at.entry | noise, at.context_id]
            }
            Op::CpuOff => [id::CPU_OFF, 0, 0, 0],
            Op::SystemSuspend => {
                [pick(id::SYSTEM_SUSPEND_32, id::SYSTEM_SUSPEND_64), at.entry | noise, at.context_id, 0]
            }
            Op::AffinityInfo(target) => [pick(id::AFFINITY_INFO_32, id::AFFINITY_INFO_64), u64::from(target), 0, 0],
            Op::PowerDown => {
                [pick(id::CPU_SUSPEND_32, id::CPU_SUSPEND_64), POWER_DOWN | noise, at.entry | noise, at.context_id]
            }
            Op::SystemOff => [id::SYSTEM_OFF, 0, 0, 0],
        };
        let conduit = if wide { Conduit::Smc } else { Conduit::Hvc };
        Message::Call { caller: vcpu(DOMAIN, caller), conduit, registers, time_ns }
    }

    /// Handles the service's answer to `step` (`message`): checks it against the reference model,
    /// then applies it to the kernel model as the kernel would and advances the reference.
    pub fn apply(
        &mut self,
        scenario: &Scenario,
        step: Step,
        message: &Message,
        actions: &[Action],
    ) -> Result<(), String> {
        match step {
            Step::Call(caller) => {
                let index = self.next[caller as usize];
                self.next[caller as usize] += 1;
                self.call(caller, scenario.programs[caller as usize][index], index, message, actions)
            }
            Step::Late(caller) => {
                self.late[caller as usize] = false;
                self.next[caller as usize] += 1;
                // Its vCPU is off and its domain stopped: a reply (which the kernel drops) at most.
                match actions {
                    [] | [Action::Reply { .. }] => Ok(()),
                    _ => Err(format!("a call of a stopped domain was acted on: {actions:?}")),
                }
            }
            Step::Wake(target) => {
                self.wakes_sent += 1;
                self.wake(target, actions)
            }
        }
    }

    fn others_off(&self, caller: u8) -> bool {
        (0..self.count).filter(|&other| other != caller as usize).all(|other| self.power[other] == Power::Off)
    }

    fn call(&mut self, caller: u8, op: Op, index: usize, message: &Message, actions: &[Action]) -> Result<(), String> {
        let Message::Call { registers, .. } = *message else { unreachable!() };
        let me = vcpu(DOMAIN, caller);
        let at = resume_point(caller, index);
        let reply =
            |x0: u64| vec![Action::Reply { target: me, registers: [x0, registers[1], registers[2], registers[3]] }];
        let power_off = vec![Action::PowerOffVcpu { target: me }];
        if self.suspended.is_some() || self.stopped {
            return Err(format!("vCPU {caller} called while its domain was suspended or off"));
        }
        let expected = match op {
            Op::CpuOn(target) if self.power[target as usize] == Power::Off => {
                // Serial order: the target is off now, in the kernel too, and nobody has started it.
                if self.run[target as usize] != Run::Off {
                    return Err(format!("CPU_ON({target}) would succeed but the kernel runs it"));
                }
                self.power[target as usize] = Power::On;
                let start =
                    Action::StartVcpu { target: vcpu(DOMAIN, target), entry: at.entry, context_id: at.context_id };
                let mut expected = vec![start];
                expected.extend(reply(code::SUCCESS));
                expected
            }
            Op::CpuOn(_) => reply(code::ALREADY_ON),
            // CPU_OFF of the last vCPU that is on, SYSTEM_SUSPEND with another one not off.
            Op::CpuOff if self.others_off(caller) => reply(code::DENIED),
            Op::SystemSuspend if !self.others_off(caller) => reply(code::DENIED),
            Op::CpuOff => {
                self.power[caller as usize] = Power::Off;
                power_off
            }
            Op::SystemSuspend => {
                if (0..self.count).any(|other| other != caller as usize && self.run[other] != Run::Off) {
                    return Err(format!("SYSTEM_SUSPEND of vCPU {caller} would succeed while another vCPU runs"));
                }
                self.power[caller as usize] = Power::Off;
                self.suspended = Some((caller, at));
                self.suspends += 1;
                self.power_downs[caller as usize] += 1;
                power_off
            }
            Op::AffinityInfo(target) => reply(u64::from(self.power[target as usize] == Power::Off)),
            Op::PowerDown => {
                self.power[caller as usize] = Power::Down(at);
                self.power_downs[caller as usize] += 1;
                power_off
            }
            Op::SystemOff => {
                // The others may each have their next call in the mailbox already.
                for other in (0..self.count).filter(|&other| other != caller as usize) {
                    self.late[other] = self.run[other] == Run::On && self.next[other] < self.lengths[other];
                }
                self.stopped = true;
                self.power = [Power::Off; MAX];
                vec![Action::StopDomain { domain: DOMAIN }]
            }
        };
        if actions != expected.as_slice() {
            return Err(format!("vCPU {caller} {op:?}: expected {expected:?}, got {actions:?}"));
        }
        self.kernel_applies(actions)
    }

    fn wake(&mut self, target: u8, actions: &[Action]) -> Result<(), String> {
        let suspended = self.suspended;
        let expected = match (self.stopped, self.suspended.take(), self.power[target as usize]) {
            (false, Some((resumer, at)), _) => {
                self.power[resumer as usize] = Power::On;
                self.resumes += 1;
                vec![Action::StartVcpu { target: vcpu(DOMAIN, resumer), entry: at.entry, context_id: at.context_id }]
            }
            (false, None, Power::Down(at)) => {
                self.power[target as usize] = Power::On;
                vec![Action::StartVcpu { target: vcpu(DOMAIN, target), entry: at.entry, context_id: at.context_id }]
            }
            // A stopped domain, or no vCPU to resume.
            _ => vec![],
        };
        if actions != expected.as_slice() {
            return Err(format!("wake-up of vCPU {target}: expected {expected:?}, got {actions:?}"));
        }
        self.kernel_applies(actions)?;
        // (b) Never a lost wake-up: a suspended domain's resumer runs again.
        match suspended {
            Some((resumer, _)) if self.run[resumer as usize] != Run::On => {
                Err(format!("wake-up of vCPU {target} lost: resumer {resumer} still off"))
            }
            _ => Ok(()),
        }
    }

    /// The kernel's side: `StartVcpu` only starts a vCPU that is off (else it is ignored, and the
    /// guest would wait forever for a vCPU it was told is starting), `PowerOffVcpu` powers off,
    /// `StopDomain` powers every vCPU off, leaving the calls they had already made in the mailbox.
    fn kernel_applies(&mut self, actions: &[Action]) -> Result<(), String> {
        for action in actions {
            match *action {
                Action::StartVcpu { target, .. } => {
                    let run = &mut self.run[target.index as usize];
                    if *run != Run::Off {
                        return Err(format!("StartVcpu of vCPU {}, which the kernel runs", target.index));
                    }
                    *run = Run::On;
                }
                Action::PowerOffVcpu { target } => self.run[target.index as usize] = Run::Off,
                Action::StopDomain { .. } => self.run = [Run::Off; MAX],
                _ => {}
            }
        }
        Ok(())
    }

    /// The invariants that hold between any two messages.
    pub fn check(&self, service: &PsciService) -> Result<(), String> {
        let record = service.table().get(DOMAIN).ok_or("the domain is gone")?;
        let anyone_runs = self.run[..self.count].contains(&Run::On);
        // (a) Never a suspended domain with a vCPU on.
        if matches!(record.power, DomainPower::Suspended { .. }) && anyone_runs {
            return Err(format!("suspended with a vCPU on: {:?}", self.run));
        }
        // The kernel runs exactly the vCPUs PSCI calls on.
        for index in 0..self.count {
            if (self.run[index] == Run::On) != (self.power[index] == Power::On) {
                return Err(format!("vCPU {index}: kernel {:?}, reference {:?}", self.run[index], self.power[index]));
            }
        }
        // (d) The service's table agrees with the model.
        let power = match (self.stopped, self.suspended) {
            (true, _) => DomainPower::Off,
            (false, None) => DomainPower::Running,
            (false, Some((resumer, resume))) => match record.power {
                DomainPower::Suspended { since_ns, .. } => DomainPower::Suspended { resumer, resume, since_ns },
                _ => return Err(format!("table {:?}, model suspended by vCPU {resumer}", record.power)),
            },
        };
        let vcpus: Vec<VcpuPower> = self.power[..self.count]
            .iter()
            .map(|power| match *power {
                Power::On => VcpuPower::On,
                Power::Off => VcpuPower::Off,
                Power::Down(at) => VcpuPower::Suspended(at),
            })
            .collect();
        let counters = (record.counters.suspend_count, record.counters.resume_count);
        let power_downs: Vec<u64> = record.vcpu_counters[..self.count].iter().map(|c| c.power_down_count).collect();
        if record.power != power
            || record.vcpus[..self.count] != vcpus[..]
            || counters != (self.suspends, self.resumes)
            || power_downs[..] != self.power_downs[..self.count]
        {
            return Err(format!("table {record:?}\nmodel {self:?}"));
        }
        Ok(())
    }
}
