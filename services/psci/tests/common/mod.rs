//! Shared helpers of the PSCI service's integration tests: function identifiers and return codes
//! written out from the specification (not taken from the service), and a bench that drives a
//! `PsciService` only through the `Service` trait and collects the actions it answers with.
// Each test crate uses its own subset of these helpers.
#![allow(dead_code)]

use somnus_abi::ids::{DomainId, VcpuId};
use somnus_abi::ipc::{Action, ActionSink, Conduit, Message, Service};
use somnus_service_psci::PsciService;
use somnus_service_psci::power_state::DomainRecord;

/// Function identifiers (Arm DEN0022 and DEN0028).
pub mod id {
    pub const PSCI_VERSION: u64 = 0x8400_0000;
    pub const CPU_SUSPEND_32: u64 = 0x8400_0001;
    pub const CPU_SUSPEND_64: u64 = 0xC400_0001;
    pub const CPU_OFF: u64 = 0x8400_0002;
    pub const CPU_ON_32: u64 = 0x8400_0003;
    pub const CPU_ON_64: u64 = 0xC400_0003;
    pub const AFFINITY_INFO_32: u64 = 0x8400_0004;
    pub const AFFINITY_INFO_64: u64 = 0xC400_0004;
    pub const MIGRATE_32: u64 = 0x8400_0005;
    pub const MIGRATE_64: u64 = 0xC400_0005;
    pub const MIGRATE_INFO_TYPE: u64 = 0x8400_0006;
    pub const MIGRATE_INFO_UP_CPU_32: u64 = 0x8400_0007;
    pub const MIGRATE_INFO_UP_CPU_64: u64 = 0xC400_0007;
    pub const SYSTEM_OFF: u64 = 0x8400_0008;
    pub const SYSTEM_RESET: u64 = 0x8400_0009;
    pub const PSCI_FEATURES: u64 = 0x8400_000A;
    pub const CPU_FREEZE: u64 = 0x8400_000B;
    pub const CPU_DEFAULT_SUSPEND_32: u64 = 0x8400_000C;
    pub const CPU_DEFAULT_SUSPEND_64: u64 = 0xC400_000C;
    pub const NODE_HW_STATE_32: u64 = 0x8400_000D;
    pub const NODE_HW_STATE_64: u64 = 0xC400_000D;
    pub const SYSTEM_SUSPEND_32: u64 = 0x8400_000E;
    pub const SYSTEM_SUSPEND_64: u64 = 0xC400_000E;
    pub const SET_SUSPEND_MODE: u64 = 0x8400_000F;
    pub const STAT_RESIDENCY_32: u64 = 0x8400_0010;
    pub const STAT_RESIDENCY_64: u64 = 0xC400_0010;
    pub const STAT_COUNT_32: u64 = 0x8400_0011;
    pub const STAT_COUNT_64: u64 = 0xC400_0011;
    pub const SYSTEM_RESET2_32: u64 = 0x8400_0012;
    pub const SYSTEM_RESET2_64: u64 = 0xC400_0012;
    pub const MEM_PROTECT: u64 = 0x8400_0013;
    pub const MEM_PROTECT_CHECK_RANGE_32: u64 = 0x8400_0014;
    pub const MEM_PROTECT_CHECK_RANGE_64: u64 = 0xC400_0014;
    pub const SYSTEM_OFF2_32: u64 = 0x8400_0015;
    pub const SYSTEM_OFF2_64: u64 = 0xC400_0015;
    pub const SMCCC_VERSION: u64 = 0x8000_0000;
    pub const SMCCC_ARCH_FEATURES: u64 = 0x8000_0001;
    pub const SMCCC_ARCH_WORKAROUND_1: u64 = 0x8000_8000;
}

/// Return codes as register values.
pub mod code {
    pub const SUCCESS: u64 = 0;
    pub const NOT_SUPPORTED: u64 = (-1_i64).cast_unsigned();
    pub const INVALID_PARAMETERS: u64 = (-2_i64).cast_unsigned();
    pub const DENIED: u64 = (-3_i64).cast_unsigned();
    pub const ALREADY_ON: u64 = (-4_i64).cast_unsigned();
    pub const INVALID_ADDRESS: u64 = (-9_i64).cast_unsigned();
}

/// The domain most tests use.
pub const DOMAIN: DomainId = DomainId { index: 0, generation: 1 };
/// Guest RAM base (`guest_platform::RAM_BASE`).
pub const RAM: u64 = 0x4000_0000;
/// Bytes of RAM the test domains get.
pub const MEMORY: u64 = 0x0400_0000;
/// An entry point inside RAM.
pub const ENTRY: u64 = 0x4008_0000;
/// CPU_SUSPEND power_state: power-down at level 0, StateID 0.
pub const POWER_DOWN: u64 = 1 << 16;
/// CPU_SUSPEND power_state: standby at level 0, StateID 0.
pub const STANDBY: u64 = 0;

/// vCPU `index` of `domain`.
pub const fn vcpu(domain: DomainId, index: u8) -> VcpuId {
    VcpuId { domain, index }
}

/// An `ActionSink` that keeps every action except console lines and power events (the
/// service's log of state changes for people and `pwrctl watch`, which the tests do not compare).
#[derive(Debug, Default)]
pub struct Actions(pub Vec<Action>);

impl ActionSink for Actions {
    fn push(&mut self, action: Action) {
        if !matches!(action, Action::ConsoleWrite { .. } | Action::PowerEvent { .. }) {
            self.0.push(action);
        }
    }
}

/// A service and the messages the tests send it.
#[derive(Debug, Default)]
pub struct Bench {
    pub service: PsciService,
    /// `time_ns` of the next call made without an explicit time.
    pub now_ns: u64,
}

impl Bench {
    /// A service that knows `DOMAIN` with `vcpu_count` vCPUs and `MEMORY` bytes of RAM.
    pub fn with_domain(vcpu_count: u8) -> Self {
        let mut bench = Self::default();
        bench.start(DOMAIN, vcpu_count);
        bench
    }

    /// Sends any message.
    pub fn send(&mut self, message: &Message) -> Vec<Action> {
        let mut actions = Actions::default();
        self.service.handle(message, &mut actions);
        actions.0
    }

    /// `DomainStarted` for `domain`.
    pub fn start(&mut self, domain: DomainId, vcpu_count: u8) -> Vec<Action> {
        self.send(&Message::DomainStarted { domain, vcpu_count, memory_bytes: MEMORY })
    }

    /// A call by HVC at `time_ns`.
    pub fn call_at(&mut self, caller: VcpuId, registers: [u64; 4], time_ns: u64) -> Vec<Action> {
        self.send(&Message::Call { caller, conduit: Conduit::Hvc, registers, time_ns })
    }

    /// A call by `conduit`.
    pub fn call_via(&mut self, conduit: Conduit, caller: VcpuId, registers: [u64; 4]) -> Vec<Action> {
        self.send(&Message::Call { caller, conduit, registers, time_ns: self.now_ns })
    }

    /// A call by HVC.
    pub fn call(&mut self, caller: VcpuId, registers: [u64; 4]) -> Vec<Action> {
        self.call_via(Conduit::Hvc, caller, registers)
    }

    /// x0 of a call that must be answered with exactly one `Reply` to the caller, x1..x3 kept.
    pub fn x0(&mut self, caller: VcpuId, registers: [u64; 4]) -> u64 {
        let actions = self.call(caller, registers);
        reply_of(caller, registers, &actions)
    }

    /// A wake-up for `vcpu` at `time_ns`.
    pub fn wake_at(&mut self, vcpu: VcpuId, intid: u32, time_ns: u64) -> Vec<Action> {
        self.send(&Message::WakeUp { vcpu, intid, time_ns })
    }

    /// A wake-up for `vcpu`.
    pub fn wake(&mut self, vcpu: VcpuId, intid: u32) -> Vec<Action> {
        self.wake_at(vcpu, intid, self.now_ns)
    }

    /// The service's record of `domain` (current generation).
    pub fn record(&self, domain: DomainId) -> DomainRecord {
        *self.service.table().get(domain).expect("the domain is known")
    }
}

/// x0 of the single `Reply` to `caller` in `actions`, checking that x1..x3 are kept.
pub fn reply_of(caller: VcpuId, registers: [u64; 4], actions: &[Action]) -> u64 {
    match actions {
        [Action::Reply { target, registers: reply }] => {
            assert_eq!(*target, caller, "the reply goes to the caller");
            assert_eq!(reply[1..], registers[1..], "x1..x3 are kept");
            reply[0]
        }
        other => panic!("expected exactly one Reply to {caller:?}, got {other:?}"),
    }
}
