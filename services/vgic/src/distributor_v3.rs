//! The GICv3 distributor as a domain sees it: affinity routing always enabled (GICD_CTLR.ARE
//! reads as one), a single security state (DS reads as one), so GICD_CTLR holds EnableGrp0 and
//! EnableGrp1. SGIs and PPIs live in the redistributors: the distributor's registers for INTIDs
//! 0 to 31, ITARGETSR, SGIR and the SGI pending registers are RAZ/WI. SPIs are routed by
//! GICD_IROUTER, accessible as 64 bits or as two 32-bit halves.

use somnus_abi::ipc::ActionSink;

use crate::domain_state::{CONTROL_ENABLE_GROUP0, CONTROL_ENABLE_GROUP1, DomainState, ROUTER_AFFINITY_MASK};
use crate::identification::{IMPLEMENTER_IDENTIFICATION, V3_IDENTIFICATION, identification_register};
use crate::interrupt_registers::{self, RegisterView};
use crate::limits::{GicVersion, IT_LINES_NUMBER, spi_index};

/// GICD_CTLR.
const CONTROL: u64 = 0x0000;
/// GICD_TYPER.
const TYPE: u64 = 0x0004;
/// GICD_IIDR.
const IMPLEMENTER: u64 = 0x0008;
/// GICD_IROUTER<n> at `ROUTER + 8 * n`.
const ROUTER: u64 = 0x6000;
/// End of GICD_IROUTER (INTID 1023).
const ROUTER_END: u64 = 0x8000;
/// End of the 64 KiB distributor frame.
const FRAME_END: u64 = 0x1_0000;
/// GICD_CTLR.ARE_NS / ARE: affinity routing enabled (fixed).
const CONTROL_AFFINITY_ROUTING: u32 = 1 << 4;
/// GICD_CTLR.DS: a single security state (fixed).
const CONTROL_DISABLE_SECURITY: u32 = 1 << 6;
/// GICD_TYPER.IDbits [23:19]: INTIDs have 10 bits.
const TYPE_ID_BITS: u32 = 9 << 19;
/// GICD_TYPER.No1N [25]: 1-of-N SPI routing is not supported.
const TYPE_NO_ONE_OF_N: u32 = 1 << 25;

const VIEW: RegisterView = RegisterView { bank: 0, private: false, shared: true };

/// The value read at `offset` with an access of `size` bytes.
pub fn read(state: &DomainState, offset: u64, size: u8) -> u64 {
    if let Some(value) = interrupt_registers::read(state, VIEW, offset, size) {
        return value;
    }
    match (offset, size) {
        (CONTROL, 4) => u64::from(state.control | CONTROL_AFFINITY_ROUTING | CONTROL_DISABLE_SECURITY),
        // ITLinesNumber, CPUNumber, IDbits and No1N; no LPIs, MBIs, Aff3 or range selector.
        (TYPE, 4) => u64::from(
            IT_LINES_NUMBER | (u32::from(state.vcpu_count.saturating_sub(1)) << 5) | TYPE_ID_BITS | TYPE_NO_ONE_OF_N,
        ),
        (IMPLEMENTER, 4) => u64::from(IMPLEMENTER_IDENTIFICATION),
        (ROUTER..ROUTER_END, 4 | 8) => {
            let routing = spi_index(((offset - ROUTER) / 8) as u32).map_or(0, |index| state.routing[index]);
            // The upper half holds Aff3, always zero here.
            if offset.is_multiple_of(8) { u64::from(routing) } else { 0 }
        }
        (V3_IDENTIFICATION..FRAME_END, 4) => {
            u64::from(identification_register(GicVersion::V3, offset - V3_IDENTIFICATION).unwrap_or(0))
        }
        _ => 0,
    }
}

/// Applies a write of `value` (`size` bytes) at `offset`.
pub fn write(state: &mut DomainState, offset: u64, size: u8, value: u64, actions: &mut dyn ActionSink) {
    if interrupt_registers::write(state, VIEW, offset, size, value, actions) {
        return;
    }
    match (offset, size) {
        (CONTROL, 4) => {
            let value = value as u32 & (CONTROL_ENABLE_GROUP0 | CONTROL_ENABLE_GROUP1);
            let enabling = value & !state.control;
            state.control = value;
            if enabling != 0 {
                state.deliver_all(actions);
            }
        }
        // A write of the lower half or of all 64 bits sets the affinity; the upper half holds
        // only Aff3, which is RES0.
        (ROUTER..ROUTER_END, 4 | 8) if offset.is_multiple_of(8) => {
            let intid = ((offset - ROUTER) / 8) as u32;
            if let Some(index) = spi_index(intid) {
                state.routing[index] = value as u32 & ROUTER_AFFINITY_MASK;
                state.retarget(intid, actions);
            }
        }
        // Read-only, reserved, RAZ/WI with affinity routing: ignored.
        _ => {}
    }
}
