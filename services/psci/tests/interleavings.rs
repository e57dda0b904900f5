//! Model test of the PSCI service: small scenarios (one domain, 2–4 vCPUs, 2–3 calls each, with
//! wake-ups) run through every order in which their messages can reach the service — each vCPU
//! in program order, a vCPU calling only once its previous call was answered and only while it
//! is on, wake-ups at any point — checking after every message that no suspended domain has a
//! vCPU on, that no wake-up is lost, that every answer is the one the serial order of handling
//! gives, and that the service's table agrees with the model (see `world`).

mod common;
#[path = "interleavings/world.rs"]
mod world;

use std::time::Instant;

use common::{Actions, DOMAIN, MEMORY};
use somnus_abi::ipc::{Message, Service};
use somnus_service_psci::PsciService;
use world::Op::{AffinityInfo, CpuOff, CpuOn, PowerDown, SystemOff, SystemSuspend};
use world::{Scenario, Step, World};

const SCENARIOS: [Scenario; 9] = [
    // SYSTEM_SUSPEND against the CPU_OFF that would allow it, and CPU_ON after a resume.
    Scenario {
        name: "suspend races cpu_off",
        programs: &[&[CpuOn(1), SystemSuspend, CpuOn(1)], &[CpuOff, SystemSuspend, CpuOn(0)]],
        wakes: &[1, 0],
    },
    // Two CPU_OFFs: whichever comes second is the last vCPU on and is denied.
    Scenario {
        name: "last cpu_off is denied",
        programs: &[&[CpuOn(1), CpuOff, AffinityInfo(1)], &[CpuOff, SystemSuspend, CpuOn(0)]],
        wakes: &[0, 1],
    },
    // Either vCPU may be the one that suspends; wake-ups before, during and after.
    Scenario {
        name: "suspend from either vcpu",
        programs: &[&[CpuOn(1), CpuOff, SystemSuspend], &[SystemSuspend, CpuOn(0), SystemSuspend]],
        wakes: &[0, 1, 0],
    },
    // Two and three CPU_ONs to one target: exactly one succeeds while it stays on.
    Scenario {
        name: "cpu_ons to one target",
        programs: &[&[CpuOn(1), CpuOn(2), AffinityInfo(2)], &[CpuOn(2), CpuOff], &[CpuOff, CpuOn(1)]],
        wakes: &[2],
    },
    // CPU_ON against CPU_OFF of the same target, and SYSTEM_SUSPEND from a secondary.
    Scenario {
        name: "cpu_on races cpu_off",
        programs: &[&[CpuOn(1), CpuOn(2), CpuOn(1)], &[CpuOff, CpuOn(2)], &[CpuOn(1), CpuOff, SystemSuspend]],
        wakes: &[0],
    },
    // Power-down suspends, their wake-ups and SYSTEM_SUSPEND, which they deny.
    Scenario {
        name: "power-down and system suspend",
        programs: &[&[CpuOn(1), PowerDown, SystemSuspend], &[PowerDown, CpuOn(2), CpuOff], &[AffinityInfo(1), CpuOff]],
        wakes: &[1, 0, 2],
    },
    // Four vCPUs, three of them racing for the last one.
    Scenario {
        name: "four vcpus",
        programs: &[
            &[CpuOn(1), CpuOn(2), SystemSuspend],
            &[CpuOn(3), CpuOff],
            &[CpuOn(3), CpuOff],
            &[AffinityInfo(0), CpuOff],
        ],
        wakes: &[3, 0],
    },
    // Four vCPUs with power-down suspends in flight while the boot vCPU tries to suspend the domain.
    Scenario {
        name: "four vcpus with power-down",
        programs: &[
            &[CpuOn(1), CpuOn(3), SystemSuspend],
            &[CpuOn(2), PowerDown, CpuOff],
            &[CpuOff, CpuOn(0)],
            &[PowerDown, CpuOff],
        ],
        wakes: &[1, 3, 0],
    },
    // SYSTEM_OFF with the other vCPUs' calls still in the mailbox.
    Scenario {
        name: "system off with calls in flight",
        programs: &[&[CpuOn(1), CpuOn(2), SystemOff], &[CpuOn(2), SystemSuspend, CpuOff], &[CpuOn(0), PowerDown]],
        wakes: &[2, 1],
    },
];

/// Depth-first search over the messages' orders. The service is not `Clone`: each branch but
/// the last gets a fresh service that replays the messages so far (they carry their times, so
/// the replay is exact); the last branch takes the service itself.
struct Explorer<'a> {
    scenario: &'a Scenario,
    steps: Vec<Step>,
    messages: Vec<Message>,
    interleavings: u64,
    messages_handled: u64,
}

impl Explorer<'_> {
    fn fresh_service(&mut self) -> PsciService {
        let mut service = PsciService::new();
        let vcpu_count = self.scenario.programs.len() as u8;
        service.handle(
            &Message::DomainStarted { domain: DOMAIN, vcpu_count, memory_bytes: MEMORY },
            &mut Actions::default(),
        );
        for message in &self.messages {
            service.handle(message, &mut Actions::default());
        }
        self.messages_handled += self.messages.len() as u64;
        service
    }

    fn explore(&mut self, service: PsciService, world: &World) {
        let enabled = world.enabled(self.scenario);
        if enabled.is_empty() {
            self.interleavings += 1;
            return;
        }
        let mut own = Some(service);
        let last = enabled.len() - 1;
        for (branch, step) in enabled.into_iter().enumerate() {
            let mut service =
                if branch == last { own.take().expect("kept for the last branch") } else { self.fresh_service() };
            let mut world = *world;
            let time_ns = (self.messages.len() as u64 + 1) * 1_000;
            let message = world.message(self.scenario, step, time_ns);
            let mut actions = Actions::default();
            service.handle(&message, &mut actions);
            self.messages_handled += 1;
            let verdict = world.apply(self.scenario, step, &message, &actions.0).and_then(|()| world.check(&service));
            if let Err(why) = verdict {
                panic!("{}: {why}\nafter {:?}\nat {step:?}", self.scenario.name, self.steps);
            }
            self.steps.push(step);
            self.messages.push(message);
            self.explore(service, &world);
            self.steps.pop();
            self.messages.pop();
        }
    }
}

#[test]
fn every_interleaving_agrees_with_a_serial_order() {
    let started = Instant::now();
    let mut total = 0;
    let mut handled = 0;
    for scenario in &SCENARIOS {
        let mut explorer =
            Explorer { scenario, steps: Vec::new(), messages: Vec::new(), interleavings: 0, messages_handled: 0 };
        let service = explorer.fresh_service();
        let world = World::new(scenario);
        world.check(&service).unwrap_or_else(|why| panic!("{}: at the start: {why}", scenario.name));
        explorer.explore(service, &world);
        println!("{:>32}: {:>7} interleavings", scenario.name, explorer.interleavings);
        total += explorer.interleavings;
        handled += explorer.messages_handled;
    }
    println!("explored {total} interleavings ({handled} messages handled) in {:?}", started.elapsed());
    assert!(total >= 10_000, "the scenarios should cover tens of thousands of interleavings, not {total}");
}
