//! Helpers shared by the integration tests: a harness that drives the vGIC service with messages
//! the way the kernel does, records its actions and checks that every access is completed.

#![allow(dead_code, reason = "each test binary uses a different part of the helpers")]

use somnus_abi::GuestPhysAddr;
use somnus_abi::guest_platform::{GIC_DISTRIBUTOR, GICV3_REDISTRIBUTOR_STRIDE, GICV3_REDISTRIBUTORS};
use somnus_abi::ids::{DomainId, VcpuId};
use somnus_abi::ipc::{Action, ActionSink, InterruptSource, InterruptTarget, Message, Service};
use somnus_service_vgic::{GicVersion, VgicService};

/// The SGI_base frame of a redistributor.
pub const SGI_FRAME: u64 = 0x1_0000;
/// The virtual UART's interrupt (SPI 1).
pub const UART_INTID: u32 = 33;
/// The RTC's interrupt (SPI 2), passed through in the tests.
pub const RTC_INTID: u32 = 34;
/// The virtual timer (PPI 11).
pub const TIMER_INTID: u32 = 27;

/// An action sink that keeps every action.
#[derive(Debug, Default)]
pub struct Recorder(pub Vec<Action>);

impl ActionSink for Recorder {
    fn push(&mut self, action: Action) {
        self.0.push(action);
    }
}

/// Domain `index`, generation 1.
pub const fn domain(index: u8) -> DomainId {
    DomainId { index, generation: 1 }
}

/// vCPU `index` of domain `domain_index` (generation 1).
pub const fn vcpu(domain_index: u8, index: u8) -> VcpuId {
    VcpuId { domain: domain(domain_index), index }
}

/// `DomainStarted` for `domain` with `vcpu_count` vCPUs.
pub fn started(domain: DomainId, vcpu_count: u8) -> Message {
    Message::DomainStarted { domain, vcpu_count, memory_bytes: 64 << 20 }
}

/// `InjectInterrupt` of a non-hardware, edge interrupt.
pub fn inject(target: VcpuId, intid: u32, priority: u8) -> Action {
    Action::InjectInterrupt { target, intid, priority, physical: None, notify_end: false }
}

/// The vGIC service under test with some domains started.
pub struct Harness {
    /// The service.
    pub service: VgicService,
    /// The GIC version.
    pub version: GicVersion,
}

impl Harness {
    /// A service of `version` with domains `(index, vCPUs)` started at generation 1.
    pub fn new(version: GicVersion, domains: &[(u8, u8)]) -> Self {
        let mut harness = Self { service: VgicService::new(version), version };
        for &(index, vcpu_count) in domains {
            assert!(harness.send(&started(domain(index), vcpu_count)).is_empty());
        }
        harness
    }

    /// Handles `message` and returns the actions.
    pub fn send(&mut self, message: &Message) -> Vec<Action> {
        let mut recorder = Recorder::default();
        self.service.handle(message, &mut recorder);
        recorder.0
    }

    /// A read by `caller` of `size` bytes at `address`; it must complete.
    pub fn read(&mut self, caller: VcpuId, address: u64, size: u8) -> u64 {
        let actions = self.send(&Message::MmioRead { caller, address: GuestPhysAddr(address), size, time_ns: 0 });
        match actions.as_slice() {
            [Action::CompleteRead { target, value }] if *target == caller => *value,
            other => panic!("read of {address:#x} by {caller:?}: {other:?}"),
        }
    }

    /// A write by `caller`; it must complete first. Returns the other actions.
    pub fn write(&mut self, caller: VcpuId, address: u64, size: u8, value: u64) -> Vec<Action> {
        let mut actions =
            self.send(&Message::MmioWrite { caller, address: GuestPhysAddr(address), size, value, time_ns: 0 });
        assert_eq!(actions.first(), Some(&Action::CompleteWrite { target: caller }), "write of {address:#x}");
        actions.remove(0);
        actions
    }

    /// A 32-bit distributor read.
    pub fn distributor(&mut self, caller: VcpuId, offset: u64) -> u64 {
        self.read(caller, GIC_DISTRIBUTOR.0 + offset, 4)
    }

    /// A distributor write of `size` bytes.
    pub fn set_distributor(&mut self, caller: VcpuId, offset: u64, size: u8, value: u64) -> Vec<Action> {
        self.write(caller, GIC_DISTRIBUTOR.0 + offset, size, value)
    }

    /// The address of `offset` in vCPU `index`'s redistributor.
    pub fn redistributor_address(index: u8, offset: u64) -> u64 {
        GICV3_REDISTRIBUTORS.0 + u64::from(index) * GICV3_REDISTRIBUTOR_STRIDE + offset
    }

    /// A 32-bit read of `offset` in vCPU `index`'s redistributor.
    pub fn redistributor(&mut self, caller: VcpuId, index: u8, offset: u64) -> u64 {
        self.read(caller, Self::redistributor_address(index, offset), 4)
    }

    /// A 32-bit write of `offset` in vCPU `index`'s redistributor.
    pub fn set_redistributor(&mut self, caller: VcpuId, index: u8, offset: u64, value: u64) -> Vec<Action> {
        self.write(caller, Self::redistributor_address(index, offset), 4, value)
    }

    /// Turns on forwarding of both groups in `caller`'s domain.
    pub fn enable_distributor(&mut self, caller: VcpuId) {
        assert!(self.set_distributor(caller, 0, 4, 0b11).is_empty());
    }

    /// Enables `intid` for `caller` (SPIs and, on GICv2, SGIs and PPIs through the distributor;
    /// on GICv3 private interrupts through `caller`'s redistributor).
    pub fn enable(&mut self, caller: VcpuId, intid: u32) -> Vec<Action> {
        self.bit_register(caller, 0x100, intid)
    }

    /// Disables `intid` (ICENABLER).
    pub fn disable(&mut self, caller: VcpuId, intid: u32) -> Vec<Action> {
        self.bit_register(caller, 0x180, intid)
    }

    /// Sets `intid` pending (ISPENDR).
    pub fn set_pending(&mut self, caller: VcpuId, intid: u32) -> Vec<Action> {
        self.bit_register(caller, 0x200, intid)
    }

    /// Clears `intid`'s pending state (ICPENDR).
    pub fn clear_pending(&mut self, caller: VcpuId, intid: u32) -> Vec<Action> {
        self.bit_register(caller, 0x280, intid)
    }

    /// Writes `intid`'s bit of the one-bit-per-INTID register at `base`.
    pub fn bit_register(&mut self, caller: VcpuId, base: u64, intid: u32) -> Vec<Action> {
        let offset = base + u64::from(intid / 32) * 4;
        let value = 1_u64 << (intid % 32);
        if self.version == GicVersion::V3 && intid < 32 {
            self.set_redistributor(caller, caller.index, SGI_FRAME + offset, value)
        } else {
            self.set_distributor(caller, offset, 4, value)
        }
    }

    /// Reads the one-bit-per-INTID register at `base` for `intid`.
    pub fn bit(&mut self, caller: VcpuId, base: u64, intid: u32) -> bool {
        let offset = base + u64::from(intid / 32) * 4;
        let word = if self.version == GicVersion::V3 && intid < 32 {
            self.redistributor(caller, caller.index, SGI_FRAME + offset)
        } else {
            self.distributor(caller, offset)
        };
        word & (1 << (intid % 32)) != 0
    }

    /// A device model drives the line of SPI `intid` of `domain` to `level`.
    pub fn line(&mut self, domain: DomainId, intid: u32, level: bool) -> Vec<Action> {
        self.send(&Message::Interrupt {
            target: InterruptTarget::Domain(domain),
            intid,
            source: InterruptSource::Level(level),
        })
    }

    /// The physical SPI `intid` fired for `domain`.
    pub fn physical(&mut self, domain: DomainId, intid: u32) -> Vec<Action> {
        self.send(&Message::Interrupt {
            target: InterruptTarget::Domain(domain),
            intid,
            source: InterruptSource::Physical,
        })
    }

    /// Routes SPI `intid` to vCPU `target` of `caller`'s domain (ITARGETSR or IROUTER).
    pub fn route(&mut self, caller: VcpuId, intid: u32, target: u8) -> Vec<Action> {
        match self.version {
            GicVersion::V2 => self.set_distributor(caller, 0x800 + u64::from(intid), 1, 1 << target),
            GicVersion::V3 => self.set_distributor(caller, 0x6000 + 8 * u64::from(intid), 8, u64::from(target)),
        }
    }
}
