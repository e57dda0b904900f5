//! A guest-side driver for the guest platform's interrupt controller: GICv2 (GICD at 0x0800_0000, GICC
//! at 0x0801_0000) or GICv3 (GICD at 0x0800_0000, GICR at 0x080A_0000, ICC system registers).
//!
//! [`detect`] finds the version from the device tree's interrupt controller (`compatible`
//! "arm,gic-v3", or "arm,cortex-a15-gic"/"arm,gic-400"/...) and, without a tree (plain QEMU passes
//! x0 = 0 to ELF images), from GICD_PIDR2.ArchRev. Then [`init_distributor`] runs once and
//! [`init_cpu`] on every vCPU; [`init`] does all of it on vCPU 0 and installs the IRQ dispatch of
//! [`interrupts`](crate::interrupts). Interrupts are set up as Linux sets them: GICv2 group 0 (no
//! security extensions), GICv3 group 1 with affinity routing; priority mask 0xF0; every interrupt
//! disabled at priority 0xA0 until a guest enables it; SPIs level-sensitive and routed to vCPU 0.
//!
//! INTIDs are `u32` throughout; one past the distributor's range makes the guest fail.

mod cpu_interface;
mod distributor;
mod initialisation;
mod redistributor;
pub mod system_registers;

use core::fmt;
use core::sync::atomic::{AtomicU8, AtomicU32, Ordering};

use aarch64_cpu::asm::barrier;
use tock_registers::interfaces::{Readable, Writeable};

pub use cpu_interface::CPU_INTERFACE_BASE;
pub use distributor::{DISTRIBUTOR_BASE, FRAME_SIZE_V2, FRAME_SIZE_V3};
pub use initialisation::{DEFAULT_PRIORITY, PRIORITY_MASK, init_cpu, init_distributor};
pub use redistributor::{REDISTRIBUTOR_BASE, REDISTRIBUTOR_STRIDE};

use crate::{cpu, device_tree, fail};
use distributor::DistributorRegisters;
use system_registers::{ICC_EOIR1_EL1, ICC_IAR1_EL1, ICC_SGI1R_EL1};

/// First INTID that is not an interrupt (1020..=1023 are special, 1023 = nothing pending).
pub const SPECIAL_INTIDS_START: u32 = 1020;

/// Number of SGIs (INTIDs 0..=15); PPIs are 16..=31 and SPIs start at 32.
pub const SGI_COUNT: u32 = 16;

/// First SPI.
pub const FIRST_SPI: u32 = 32;

/// The GIC architecture version of the guest platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// GICv2: memory-mapped CPU interface.
    V2 = 2,
    /// GICv3: redistributors and system register CPU interface.
    V3 = 3,
}

impl fmt::Display for Version {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "v{}", *self as u8)
    }
}

/// The version found by [`detect`] and where it was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detection {
    /// The GIC version.
    pub version: Version,
    /// Whether the device tree named it (otherwise GICD_PIDR2 did).
    pub from_device_tree: bool,
}

impl fmt::Display for Detection {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = if self.from_device_tree { "device tree" } else { "GICD_PIDR2" };
        write!(formatter, "GIC{} from {source}", self.version)
    }
}

/// How a level-sensitive or edge-triggered interrupt is signalled (GICD_ICFGR).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Pending while the line is asserted.
    Level,
    /// Pending on an assertion edge (or a write to GICD_ISPENDR) until acknowledged.
    Edge,
}

/// An interrupt taken from the CPU interface by [`acknowledge`], to hand back to [`end_of_interrupt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acknowledged {
    /// The INTID.
    pub intid: u32,
    /// For an SGI on GICv2, the vCPU that sent it (GICC_IAR.CPUID); GICv3 does not report it.
    pub source_cpu: Option<usize>,
    /// The value read from GICC_IAR or ICC_IAR1_EL1.
    raw: u32,
}

/// Detected version (0 until [`detect`] ran).
static VERSION: AtomicU8 = AtomicU8::new(0);

/// Number of INTIDs the distributor supports, set by [`init_distributor`].
static LINES: AtomicU32 = AtomicU32::new(0);

/// Finds the GIC version from the device tree at `device_tree` (0 if none), else from GICD_PIDR2, and
/// records it for the other functions.
pub fn detect(device_tree: u64) -> Detection {
    let from_tree = device_tree::parse(device_tree).and_then(|tree| {
        if tree.find_compatible(&["arm,gic-v3"]).is_some() {
            Some(Version::V3)
        } else if tree
            .find_compatible(&["arm,cortex-a15-gic", "arm,gic-400", "arm,cortex-a9-gic", "arm,cortex-a7-gic"])
            .is_some()
        {
            Some(Version::V2)
        } else {
            None
        }
    });
    let detection = match from_tree {
        Some(version) => Detection { version, from_device_tree: true },
        None => match distributor::architecture_revision() {
            1 | 2 => Detection { version: Version::V2, from_device_tree: false },
            3 | 4 => Detection { version: Version::V3, from_device_tree: false },
            revision => fail!("no GIC found: no device tree node and GICD_PIDR2.ArchRev = {revision}"),
        },
    };
    VERSION.store(detection.version as u8, Ordering::Release);
    detection
}

/// The version recorded by [`detect`].
#[must_use]
pub fn version() -> Version {
    match VERSION.load(Ordering::Acquire) {
        2 => Version::V2,
        3 => Version::V3,
        _ => fail!("the GIC was used before gic::detect"),
    }
}

/// Detects the GIC, initialises the distributor and this vCPU's interface, and installs the IRQ
/// dispatch; for vCPU 0 at start-up (other vCPUs call [`init_cpu`]).
#[must_use]
pub fn init(device_tree: u64) -> Detection {
    let detection = detect(device_tree);
    init_distributor();
    init_cpu();
    crate::interrupts::install();
    detection
}

/// Number of INTIDs the distributor supports (SGIs, PPIs and SPIs), known after [`init_distributor`].
#[must_use]
pub fn interrupt_lines() -> u32 {
    LINES.load(Ordering::Acquire)
}

fn check(intid: u32) {
    let lines = interrupt_lines();
    if intid >= lines {
        fail!("INTID {intid} is past the {lines} INTIDs of the distributor");
    }
}

/// The registers that hold `intid`'s state for this vCPU: this vCPU's GICR SGI frame for SGIs and PPIs
/// on GICv3, the distributor otherwise.
fn bank(intid: u32) -> &'static DistributorRegisters {
    check(intid);
    if intid < FIRST_SPI && version() == Version::V3 {
        redistributor::sgi_frame(cpu::index())
    } else {
        distributor::registers()
    }
}

/// Waits until a write to `intid`'s GICv3 enable or control registers took effect.
fn wait_for_register_write(intid: u32) {
    if version() == Version::V3 {
        if intid < FIRST_SPI {
            redistributor::wait_for_register_write(cpu::index());
        } else {
            distributor::wait_for_register_write();
        }
    }
}

/// Enables `intid` (SGIs and PPIs: for this vCPU).
pub fn enable(intid: u32) {
    distributor::enable(bank(intid), intid);
}

/// Disables `intid` and waits until the GIC no longer signals it (SGIs and PPIs: for this vCPU).
pub fn disable(intid: u32) {
    distributor::disable(bank(intid), intid);
    wait_for_register_write(intid);
}

/// Whether `intid` is enabled.
#[must_use]
pub fn is_enabled(intid: u32) -> bool {
    distributor::is_enabled(bank(intid), intid)
}

/// Sets `intid`'s priority; lower values are more urgent, and only values below [`PRIORITY_MASK`]
/// are signalled.
pub fn set_priority(intid: u32, priority: u8) {
    distributor::set_priority(bank(intid), intid, priority);
}

/// Makes `intid` pending through GICD_ISPENDR (or GICR_ISPENDR0). GICv2 ignores this for SGIs: send
/// them with [`send_sgi`].
pub fn set_pending(intid: u32) {
    distributor::set_pending(bank(intid), intid);
}

/// Clears `intid`'s pending state.
pub fn clear_pending(intid: u32) {
    distributor::clear_pending(bank(intid), intid);
}

/// Whether `intid` is pending.
#[must_use]
pub fn is_pending(intid: u32) -> bool {
    distributor::is_pending(bank(intid), intid)
}

/// Makes `intid` (a PPI or an SPI) level-sensitive or edge-triggered.
pub fn set_trigger(intid: u32, trigger: Trigger) {
    distributor::set_edge_triggered(bank(intid), intid, trigger == Trigger::Edge);
}

/// MPIDR_EL1 affinity (Aff3 in bits 39:32, Aff2.Aff1.Aff0 in bits 23:0) of vCPU `target`: this vCPU's
/// with Aff0 replaced, as the runtime numbers vCPUs by Aff0.
fn affinity(target: usize) -> u64 {
    (cpu::mpidr() & !0xFF) | (target as u64 & 0xFF)
}

/// Routes SPI `intid` to vCPU `target` (GICD_ITARGETSR on GICv2, GICD_IROUTER on GICv3).
pub fn route_spi(intid: u32, target: usize) {
    check(intid);
    if intid < FIRST_SPI {
        fail!("INTID {intid} is not an SPI and cannot be routed");
    }
    match version() {
        Version::V2 => {
            distributor::registers().targets[intid as usize].set(cpu_interface::interface_mask(target));
        }
        Version::V3 => distributor::routers().route[intid as usize].set(affinity(target)),
    }
}

/// Sends SGI `intid` (0..=15) to vCPU `target` (GICD_SGIR on GICv2, ICC_SGI1R_EL1 on GICv3); memory
/// written before is visible to the target's handler.
pub fn send_sgi(intid: u32, target: usize) {
    if intid >= SGI_COUNT {
        fail!("INTID {intid} is not an SGI");
    }
    barrier::dsb(barrier::SY);
    match version() {
        Version::V2 => {
            let mask = u32::from(cpu_interface::interface_mask(target));
            distributor::registers().software_interrupt.set((mask << 16) | intid);
        }
        Version::V3 => {
            let affinity = affinity(target);
            let aff0 = affinity & 0xFF;
            let value = (((affinity >> 32) & 0xFF) << 48)
                | ((aff0 >> 4) << 44)
                | (((affinity >> 16) & 0xFF) << 32)
                | (u64::from(intid) << 24)
                | (((affinity >> 8) & 0xFF) << 16)
                | (1 << (aff0 & 0xF));
            ICC_SGI1R_EL1.set(value);
            barrier::isb(barrier::SY);
        }
    }
}

/// Acknowledges the most urgent pending interrupt of this vCPU, or `None` when nothing is pending
/// (INTID 1020..=1023).
#[must_use]
pub fn acknowledge() -> Option<Acknowledged> {
    let (raw, intid, source_cpu) = match version() {
        Version::V2 => {
            let raw = cpu_interface::acknowledge();
            let intid = raw & 0x3FF;
            let source = (intid < SGI_COUNT).then(|| cpu_interface::cpu_of_interface((raw >> 10) & 0x7));
            (raw, intid, source)
        }
        Version::V3 => {
            let raw = ICC_IAR1_EL1.get() as u32;
            (raw, raw & 0xFF_FFFF, None)
        }
    };
    (!(SPECIAL_INTIDS_START..=1023).contains(&intid)).then_some(Acknowledged { intid, source_cpu, raw })
}

/// Ends `interrupt` (priority drop and deactivation: GICC_EOIR or ICC_EOIR1_EL1).
pub fn end_of_interrupt(interrupt: Acknowledged) {
    match version() {
        Version::V2 => cpu_interface::end_of_interrupt(interrupt.raw),
        Version::V3 => {
            ICC_EOIR1_EL1.set(u64::from(interrupt.raw));
            barrier::isb(barrier::SY);
        }
    }
}

/// Base address of vCPU `cpu`'s GICv3 redistributor (after its [`init_cpu`]).
#[must_use]
pub fn redistributor_base(cpu: usize) -> usize {
    redistributor::base(cpu)
}
