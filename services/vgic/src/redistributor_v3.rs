//! The GICv3 redistributors as a domain sees them: one per vCPU, each an RD_base frame (control,
//! GICR_TYPER with the vCPU's affinity and the Last bit on the last one, the GICR_WAKER sleep
//! handshake, identification) followed by an SGI_base frame with the vCPU's SGI and PPI
//! registers. No LPIs: GICR_CTLR, GICR_PROPBASER and GICR_PENDBASER are RAZ/WI. A single security
//! state: GICR_IGRPMODR0 and GICR_NSACR are RAZ/WI.

use somnus_abi::ipc::ActionSink;

use crate::domain_state::DomainState;
use crate::identification::{IMPLEMENTER_IDENTIFICATION, V3_IDENTIFICATION, identification_register};
use crate::interrupt_registers::{self, RegisterView};
use crate::limits::GicVersion;

/// GICR_IIDR.
const IMPLEMENTER: u64 = 0x0004;
/// GICR_TYPER (64 bits).
const TYPE: u64 = 0x0008;
/// Upper half of GICR_TYPER.
const TYPE_HIGH: u64 = 0x000C;
/// GICR_WAKER.
const WAKER: u64 = 0x0014;
/// The SGI_base frame follows the RD_base frame.
const SGI_FRAME: u64 = 0x1_0000;
/// GICR_WAKER.ProcessorSleep.
const WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
/// GICR_WAKER.ChildrenAsleep (read-only; follows ProcessorSleep at once).
const WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;
/// GICR_TYPER.Last.
const TYPE_LAST: u64 = 1 << 4;

const fn view(redistributor: u8) -> RegisterView {
    RegisterView { bank: redistributor, private: true, shared: false }
}

/// The value read `offset` bytes into the redistributor of vCPU `redistributor` (a vCPU of the
/// domain) with an access of `size` bytes.
pub fn read(state: &DomainState, redistributor: u8, offset: u64, size: u8) -> u64 {
    if offset >= SGI_FRAME {
        return interrupt_registers::read(state, view(redistributor), offset - SGI_FRAME, size).unwrap_or(0);
    }
    match (offset, size) {
        (IMPLEMENTER, 4) => u64::from(IMPLEMENTER_IDENTIFICATION),
        (TYPE, 8) => type_register(state, redistributor),
        (TYPE, 4) => type_register(state, redistributor) & 0xFFFF_FFFF,
        (TYPE_HIGH, 4) => type_register(state, redistributor) >> 32,
        (WAKER, 4) => {
            let asleep = state.processor_sleep & (1 << redistributor) != 0;
            u64::from(if asleep { WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP } else { 0 })
        }
        (V3_IDENTIFICATION..SGI_FRAME, 4) => {
            u64::from(identification_register(GicVersion::V3, offset - V3_IDENTIFICATION).unwrap_or(0))
        }
        _ => 0,
    }
}

/// Applies a write of `value` (`size` bytes) `offset` bytes into the redistributor of vCPU
/// `redistributor` (a vCPU of the domain).
pub fn write(
    state: &mut DomainState,
    redistributor: u8,
    offset: u64,
    size: u8,
    value: u64,
    actions: &mut dyn ActionSink,
) {
    if offset >= SGI_FRAME {
        interrupt_registers::write(state, view(redistributor), offset - SGI_FRAME, size, value, actions);
        return;
    }
    if (offset, size) == (WAKER, 4) {
        if value as u32 & WAKER_PROCESSOR_SLEEP != 0 {
            state.processor_sleep |= 1 << redistributor;
        } else {
            state.processor_sleep &= !(1 << redistributor);
        }
    }
    // Everything else in RD_base is read-only or RAZ/WI.
}

/// GICR_TYPER: Affinity_Value [63:32] = 0.0.0.index, Processor_Number [23:8] = index, Last [4].
fn type_register(state: &DomainState, redistributor: u8) -> u64 {
    let index = u64::from(redistributor);
    let last = if redistributor + 1 == state.vcpu_count { TYPE_LAST } else { 0 };
    (index << 32) | (index << 8) | last
}
