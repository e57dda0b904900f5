//! The GICv2 distributor as a domain sees it: the architected 4 KiB of GICD at the start of the
//! guest platform's 64 KiB distributor frame; everything past it is RAZ/WI. SGIs and PPIs are
//! banked per accessing vCPU. No security extensions: GICD_CTLR has EnableGrp0 and EnableGrp1,
//! IGROUPR is read/write.

use somnus_abi::ipc::ActionSink;

use crate::domain_state::{CONTROL_ENABLE_GROUP0, CONTROL_ENABLE_GROUP1, DomainState};
use crate::identification::{IMPLEMENTER_IDENTIFICATION, V2_IDENTIFICATION, identification_register};
use crate::interrupt_registers::{self, RegisterView};
use crate::limits::{GicVersion, IT_LINES_NUMBER, PRIVATE_COUNT, spi_index, vcpu_mask};
use crate::sgi::decode_distributor_sgi;

/// GICD_CTLR.
const CONTROL: u64 = 0x000;
/// GICD_TYPER.
const TYPE: u64 = 0x004;
/// GICD_IIDR.
const IMPLEMENTER: u64 = 0x008;
/// GICD_ITARGETSR, one byte per INTID.
const TARGETS: u64 = 0x800;
/// End of GICD_ITARGETSR.
const TARGETS_END: u64 = 0xC00;
/// GICD_SGIR (write-only).
const SOFTWARE_INTERRUPT: u64 = 0xF00;
/// GICD_CPENDSGIR, one byte (source vCPU mask) per SGI.
const CLEAR_SGI_PENDING: u64 = 0xF10;
/// GICD_SPENDSGIR, one byte (source vCPU mask) per SGI.
const SET_SGI_PENDING: u64 = 0xF20;
/// End of GICD_SPENDSGIR.
const SET_SGI_PENDING_END: u64 = 0xF30;
/// End of the identification registers and of the architected GICv2 distributor.
const DISTRIBUTOR_END: u64 = 0x1000;

/// The frame as vCPU `vcpu` reaches it.
const fn view(vcpu: u8) -> RegisterView {
    RegisterView { bank: vcpu, private: true, shared: true }
}

/// The value vCPU `vcpu` reads at `offset` with an access of `size` bytes.
pub fn read(state: &DomainState, vcpu: u8, offset: u64, size: u8) -> u64 {
    if let Some(value) = interrupt_registers::read(state, view(vcpu), offset, size) {
        return value;
    }
    let value = match (offset, size) {
        (CONTROL, 4) => state.control,
        // ITLinesNumber [4:0], CPUNumber [7:5]; SecurityExtn [10] and LSPI clear.
        (TYPE, 4) => IT_LINES_NUMBER | (u32::from(state.vcpu_count.saturating_sub(1)) << 5),
        (IMPLEMENTER, 4) => IMPLEMENTER_IDENTIFICATION,
        (TARGETS..TARGETS_END, 1 | 4) => {
            let first = (offset - TARGETS) as u32;
            bytes(size, |byte| target_byte(state, vcpu, first + byte))
        }
        (CLEAR_SGI_PENDING..SET_SGI_PENDING_END, 1 | 4) => {
            let first = ((offset - CLEAR_SGI_PENDING) % 16) as usize;
            bytes(size, |byte| state.sgi_pending[usize::from(vcpu)][first + byte as usize])
        }
        (V2_IDENTIFICATION..DISTRIBUTOR_END, 4) => {
            identification_register(GicVersion::V2, offset - V2_IDENTIFICATION).unwrap_or(0)
        }
        _ => 0,
    };
    u64::from(value)
}

/// Applies vCPU `vcpu`'s write of `value` (`size` bytes) at `offset`.
pub fn write(state: &mut DomainState, vcpu: u8, offset: u64, size: u8, value: u64, actions: &mut dyn ActionSink) {
    if interrupt_registers::write(state, view(vcpu), offset, size, value, actions) {
        return;
    }
    let value = value as u32;
    match (offset, size) {
        (CONTROL, 4) => {
            let value = value & (CONTROL_ENABLE_GROUP0 | CONTROL_ENABLE_GROUP1);
            let enabling = value & !state.control;
            state.control = value;
            if enabling != 0 {
                state.deliver_all(actions);
            }
        }
        (TARGETS..TARGETS_END, 1 | 4) => {
            let first = (offset - TARGETS) as u32;
            for byte in 0..u32::from(size) {
                let intid = first + byte;
                // SGI and PPI targets are read-only; past the supported SPIs RAZ/WI.
                if let Some(index) = spi_index(intid) {
                    state.routing[index] = (value >> (8 * byte)) & 0xFF & vcpu_mask(state.vcpu_count);
                    state.retarget(intid, actions);
                }
            }
        }
        (SOFTWARE_INTERRUPT, 4) => {
            if let Some(request) = decode_distributor_sgi(value, vcpu, state.vcpu_count) {
                for target in 0..state.vcpu_count {
                    if request.targets & (1 << target) != 0 {
                        state.raise_sgi(target, request.intid, 1 << vcpu, actions);
                    }
                }
            }
        }
        (CLEAR_SGI_PENDING..SET_SGI_PENDING_END, 1 | 4) => {
            let first = ((offset - CLEAR_SGI_PENDING) % 16) as u32;
            let sources_allowed = vcpu_mask(state.vcpu_count);
            for byte in 0..u32::from(size) {
                let sources = ((value >> (8 * byte)) & sources_allowed) as u8;
                if offset < SET_SGI_PENDING {
                    state.clear_sgi(vcpu, first + byte, sources, actions);
                } else if sources != 0 {
                    state.raise_sgi(vcpu, first + byte, sources, actions);
                }
            }
        }
        // Read-only, reserved and past the architected frame: ignored.
        _ => {}
    }
}

/// GICD_ITARGETSR byte of `intid` as `vcpu` reads it: SGIs and PPIs show the reader's own bit.
fn target_byte(state: &DomainState, vcpu: u8, intid: u32) -> u8 {
    match spi_index(intid) {
        Some(index) => state.routing[index] as u8,
        None if intid < PRIVATE_COUNT => 1 << vcpu,
        None => 0,
    }
}

/// A little-endian value of `size` bytes, byte `n` given by `byte(n)`.
fn bytes(size: u8, byte: impl Fn(u32) -> u8) -> u32 {
    (0..u32::from(size)).fold(0, |value, index| value | (u32::from(byte(index)) << (8 * index)))
}
