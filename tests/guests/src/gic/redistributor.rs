//! GICv3 redistributors (GICR at 0x080A_0000, one 128 KiB pair of frames per vCPU): finding the one of
//! this vCPU by affinity, waking it, and its SGI frame that holds the state of INTIDs 0..=31.

use core::sync::atomic::{AtomicUsize, Ordering};

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite};

use super::distributor::DistributorRegisters;
use crate::start::MAX_CPUS;
use crate::{counter, cpu, fail};

/// Guest physical address of the first redistributor on the guest platform.
pub const REDISTRIBUTOR_BASE: usize = 0x080A_0000;

/// Distance between two redistributors (RD frame and SGI frame, 64 KiB each).
pub const REDISTRIBUTOR_STRIDE: usize = 0x2_0000;

/// Offset of the SGI frame within a redistributor.
const SGI_FRAME_OFFSET: usize = 0x1_0000;

/// Most redistributors searched for this vCPU's affinity (QEMU `virt` has room for 123).
const MAX_REDISTRIBUTORS: usize = 128;

/// GICR_TYPER bit 4: this is the last redistributor of the region.
const LAST: u64 = 1 << 4;

/// GICR_CTLR bit 3: a register write is still taking effect.
const REGISTER_WRITE_PENDING: u32 = 1 << 3;

/// GICR_WAKER bit 1: the connected CPU is asleep.
const PROCESSOR_SLEEP: u32 = 1 << 1;

/// GICR_WAKER bit 2: the redistributor's interface to the CPU is quiescent.
const CHILDREN_ASLEEP: u32 = 1 << 2;

/// How long waking a redistributor may take, in microseconds.
const WAKE_TIMEOUT_MICROS: u64 = 1_000_000;

register_structs! {
    /// The start of a redistributor's RD frame.
    pub RedistributorRegisters {
        /// GICR_CTLR.
        (0x00 => pub control: ReadWrite<u32>),
        /// GICR_IIDR.
        (0x04 => pub implementer: ReadOnly<u32>),
        /// GICR_TYPER: affinity in bits 63:32, Last in bit 4.
        (0x08 => pub redistributor_type: ReadOnly<u64>),
        /// GICR_STATUSR.
        (0x10 => pub status: ReadWrite<u32>),
        /// GICR_WAKER.
        (0x14 => pub waker: ReadWrite<u32>),
        (0x18 => @END),
    }
}

/// Base address of each vCPU's redistributor by index, 0 until that vCPU found it.
static BASES: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];

fn rd_frame(base: usize) -> &'static RedistributorRegisters {
    // SAFETY: `base` is REDISTRIBUTOR_BASE plus a multiple of the stride, below the region's last
    // redistributor (device memory, never RAM); every access is a volatile MMIO access.
    unsafe { &*(base as *const RedistributorRegisters) }
}

/// GICR_TYPER's affinity format (Aff3.Aff2.Aff1.Aff0, 32 bits) of an MPIDR_EL1 value.
#[must_use]
pub fn typer_affinity(mpidr: u64) -> u64 {
    ((mpidr >> 8) & 0xFF00_0000) | (mpidr & 0xFF_FFFF)
}

/// Finds this vCPU's redistributor (GICR_TYPER affinity equal to its MPIDR's) and records it.
pub fn find_own() -> usize {
    let affinity = typer_affinity(cpu::mpidr());
    for frame in 0..MAX_REDISTRIBUTORS {
        let base = REDISTRIBUTOR_BASE + frame * REDISTRIBUTOR_STRIDE;
        let redistributor_type = rd_frame(base).redistributor_type.get();
        if redistributor_type >> 32 == affinity {
            BASES[cpu::index()].store(base, Ordering::Release);
            return base;
        }
        if redistributor_type & LAST != 0 {
            break;
        }
    }
    fail!("no redistributor has the affinity {affinity:#x} of vCPU {}", cpu::index())
}

/// Base address of vCPU `cpu`'s redistributor (after that vCPU's initialisation).
#[must_use]
pub fn base(cpu: usize) -> usize {
    let base = BASES.get(cpu).map_or(0, |base| base.load(Ordering::Acquire));
    if base == 0 {
        fail!("vCPU {cpu} has not initialised its redistributor");
    }
    base
}

/// The SGI frame of vCPU `cpu`'s redistributor, laid out like the distributor's per-INTID registers.
#[must_use]
pub fn sgi_frame(cpu: usize) -> &'static DistributorRegisters {
    let address = base(cpu) + SGI_FRAME_OFFSET;
    // SAFETY: the SGI frame is the 64 KiB after the RD frame of a redistributor found by `find_own`; the
    // distributor layout covers its first 4 KiB, where GICR_IGROUPR0..GICR_IGRPMODR0 sit at the GICD
    // offsets, and callers only use those entries. Every access is a volatile MMIO access.
    unsafe { &*(address as *const DistributorRegisters) }
}

/// Wakes this vCPU's redistributor: clears GICR_WAKER.ProcessorSleep and waits for ChildrenAsleep to
/// clear.
pub fn wake(base: usize) {
    let waker = &rd_frame(base).waker;
    waker.set(waker.get() & !PROCESSOR_SLEEP);
    let deadline = counter::now() + counter::ticks_from_micros(WAKE_TIMEOUT_MICROS);
    while waker.get() & CHILDREN_ASLEEP != 0 {
        if counter::now() > deadline {
            fail!("redistributor at {base:#x} stayed asleep (GICR_WAKER={:#x})", waker.get());
        }
        core::hint::spin_loop();
    }
}

/// Clears GICR_CTLR (EnableLPIs and the rest): this driver uses no LPIs, and a stray write may have
/// enabled them with tables anywhere.
pub fn disable_lpis(base: usize) {
    rd_frame(base).control.set(0);
}

/// Waits until GICR_CTLR.RWP of vCPU `cpu`'s redistributor is clear.
pub fn wait_for_register_write(cpu: usize) {
    let control = &rd_frame(base(cpu)).control;
    while control.get() & REGISTER_WRITE_PENDING != 0 {
        core::hint::spin_loop();
    }
}
