//! The per-INTID registers at the same offsets in the GICv2 distributor, the GICv3 distributor
//! and the GICv3 redistributor's SGI_base frame: IGROUPR, ISENABLER/ICENABLER, ISPENDR/ICPENDR,
//! ISACTIVER/ICACTIVER, IPRIORITYR and ICFGR. A [`RegisterView`] says which INTIDs a frame reaches
//! and whose SGIs and PPIs it shows; INTIDs outside it are RAZ/WI.
//!
//! The active state lives in the list registers, which this service does not see, so
//! ISACTIVER/ICACTIVER read as zero and ignore writes.

use somnus_abi::ipc::ActionSink;

use crate::domain_state::DomainState;
use crate::limits::{GicVersion, INTID_LIMIT, PRIORITY_MASK, SGI_COUNT, is_private, is_sgi};

/// IGROUPR.
const GROUP: u64 = 0x080;
/// ISENABLER.
const SET_ENABLE: u64 = 0x100;
/// ICENABLER.
const CLEAR_ENABLE: u64 = 0x180;
/// ISPENDR.
const SET_PENDING: u64 = 0x200;
/// ICPENDR.
const CLEAR_PENDING: u64 = 0x280;
/// ISACTIVER.
const SET_ACTIVE: u64 = 0x300;
/// ICACTIVER (up to IPRIORITYR).
const CLEAR_ACTIVE: u64 = 0x380;
/// IPRIORITYR, one byte per INTID.
const PRIORITY: u64 = 0x400;
/// End of IPRIORITYR (ITARGETSR follows, handled by the GICv2 distributor).
const PRIORITY_END: u64 = 0x800;
/// ICFGR, two bits per INTID.
const CONFIGURATION: u64 = 0xC00;
/// End of ICFGR.
const CONFIGURATION_END: u64 = 0xD00;

/// The INTIDs one frame reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegisterView {
    /// The vCPU whose SGIs and PPIs the frame shows.
    pub bank: u8,
    /// Whether SGIs and PPIs are reachable (GICv2 distributor, GICv3 redistributor).
    pub private: bool,
    /// Whether SPIs are reachable (the distributors).
    pub shared: bool,
}

impl RegisterView {
    fn reaches(self, intid: u32) -> bool {
        if is_private(intid) { self.private } else { self.shared && intid < INTID_LIMIT }
    }
}

/// A one-bit-per-INTID register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BitRegister {
    Group,
    SetEnable,
    ClearEnable,
    SetPending,
    ClearPending,
    Active,
}

/// Where in the block an offset falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Location {
    /// A bit register and its word index (INTIDs `32 * index` onwards).
    Bits(BitRegister, u32),
    /// IPRIORITYR of this INTID.
    Priority(u32),
    /// ICFGR word index (INTIDs `16 * index` onwards).
    Configuration(u32),
}

fn locate(offset: u64) -> Option<Location> {
    let word = |base: u64| ((offset - base) / 4) as u32;
    let location = match offset {
        GROUP..SET_ENABLE => Location::Bits(BitRegister::Group, word(GROUP)),
        SET_ENABLE..CLEAR_ENABLE => Location::Bits(BitRegister::SetEnable, word(SET_ENABLE)),
        CLEAR_ENABLE..SET_PENDING => Location::Bits(BitRegister::ClearEnable, word(CLEAR_ENABLE)),
        SET_PENDING..CLEAR_PENDING => Location::Bits(BitRegister::SetPending, word(SET_PENDING)),
        CLEAR_PENDING..SET_ACTIVE => Location::Bits(BitRegister::ClearPending, word(CLEAR_PENDING)),
        // ISACTIVER and ICACTIVER: the word index only selects which INTIDs the view reaches.
        SET_ACTIVE..CLEAR_ACTIVE => Location::Bits(BitRegister::Active, word(SET_ACTIVE)),
        CLEAR_ACTIVE..PRIORITY => Location::Bits(BitRegister::Active, word(CLEAR_ACTIVE)),
        PRIORITY..PRIORITY_END => Location::Priority((offset - PRIORITY) as u32),
        CONFIGURATION..CONFIGURATION_END => Location::Configuration(word(CONFIGURATION)),
        _ => return None,
    };
    Some(location)
}

/// The value of a read at `offset`, or `None` if the offset is not in this block. Accesses of
/// a size the register does not allow read as zero.
pub fn read(state: &DomainState, view: RegisterView, offset: u64, size: u8) -> Option<u64> {
    let value = match (locate(offset)?, size) {
        (Location::Bits(register, index), 4) if view.reaches(index * 32) => match register {
            BitRegister::Group => state.group1.word(view.bank, index),
            BitRegister::SetEnable | BitRegister::ClearEnable => state.enabled.word(view.bank, index),
            BitRegister::SetPending | BitRegister::ClearPending => state.pending_word(view.bank, index),
            BitRegister::Active => 0,
        },
        (Location::Priority(first), 1 | 4) => (0..u32::from(size))
            .fold(0, |value, byte| value | (u32::from(priority(state, view, first + byte)) << (8 * byte))),
        (Location::Configuration(index), 4) => (0..16).fold(0, |value, field| {
            let intid = index * 16 + field;
            let edge = view.reaches(intid) && state.edge.get(view.bank, intid);
            value | (u32::from(edge) << (2 * field + 1))
        }),
        _ => 0,
    };
    Some(u64::from(value))
}

fn priority(state: &DomainState, view: RegisterView, intid: u32) -> u8 {
    if view.reaches(intid) { state.priority.get(view.bank, intid) } else { 0 }
}

/// Applies a write at `offset`; `false` if the offset is not in this block. Accesses of a size
/// the register does not allow are ignored.
pub fn write(
    state: &mut DomainState,
    view: RegisterView,
    offset: u64,
    size: u8,
    value: u64,
    actions: &mut dyn ActionSink,
) -> bool {
    let Some(location) = locate(offset) else { return false };
    let value = value as u32;
    match (location, size) {
        (Location::Bits(register, index), 4) if view.reaches(index * 32) => {
            write_bits(state, view.bank, register, index, value, actions);
        }
        (Location::Priority(first), 1 | 4) => {
            for byte in 0..u32::from(size) {
                let intid = first + byte;
                if view.reaches(intid) {
                    state.priority.set(view.bank, intid, (value >> (8 * byte)) as u8 & PRIORITY_MASK);
                }
            }
        }
        (Location::Configuration(index), 4) => {
            for field in 0..16 {
                let intid = index * 16 + field;
                // SGIs are always edge-triggered.
                if view.reaches(intid) && !is_sgi(intid) {
                    state.edge.set(view.bank, intid, value & (1 << (2 * field + 1)) != 0);
                    state.deliver_if_ready(view.bank, intid, actions);
                }
            }
        }
        _ => {}
    }
    true
}

fn write_bits(
    state: &mut DomainState,
    bank: u8,
    register: BitRegister,
    index: u32,
    value: u32,
    actions: &mut dyn ActionSink,
) {
    if register == BitRegister::Group {
        let changed = state.group1.word(bank, index) ^ value;
        if let Some(word) = state.group1.word_mut(bank, index) {
            *word = value;
        }
        for intid in set_bits(changed, index) {
            state.deliver_if_ready(bank, intid, actions);
        }
        return;
    }
    for intid in set_bits(value, index) {
        // A GICv2 distributor sets and clears SGIs' pending state per source through
        // SPENDSGIR/CPENDSGIR only.
        let v2_sgi = state.version == GicVersion::V2 && intid < SGI_COUNT;
        match register {
            BitRegister::SetEnable => state.set_enabled(bank, intid, true, actions),
            BitRegister::ClearEnable => state.set_enabled(bank, intid, false, actions),
            BitRegister::SetPending if !v2_sgi => state.set_pending(bank, intid, actions),
            BitRegister::ClearPending if !v2_sgi => state.clear_pending(bank, intid, actions),
            _ => {}
        }
    }
}

/// The INTIDs of the set bits of word `index`.
fn set_bits(word: u32, index: u32) -> impl Iterator<Item = u32> {
    (0..32).filter(move |bit| word & (1 << bit) != 0).map(move |bit| index * 32 + bit)
}
