//! The GIC distributor (GICD at 0x0800_0000) and the per-INTID register banks it shares with the GICv3
//! redistributor's SGI frame.
//!
//! GICD_IGROUPR, ISENABLER, ICENABLER, ISPENDR, ICPENDR, ISACTIVER, ICACTIVER, IPRIORITYR, ICFGR and
//! IGRPMODR sit at the same offsets in the GICD frame and in the GICR SGI frame (where only the entries
//! of INTIDs 0..=31 exist), so one [`DistributorRegisters`] layout and one set of bit helpers serve both.
//! GICv2 register ITARGETSR and SGIR, GICv3 register IROUTER (at GICD + 0x6000) and the ID registers
//! are only meaningful in the GICD frame.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

/// Guest physical address of the distributor on the guest platform (QEMU `virt` layout).
pub const DISTRIBUTOR_BASE: usize = 0x0800_0000;

/// Size of the GICv2 distributor frame, in bytes.
pub const FRAME_SIZE_V2: usize = 0x1000;

/// Size of the GICv3 distributor frame, in bytes.
pub const FRAME_SIZE_V3: usize = 0x1_0000;

/// Offset of GICD_PIDR2 in a GICv2 distributor.
const PERIPHERAL_ID2_V2: usize = 0xFE8;

/// Offset of GICD_PIDR2 in a GICv3 distributor.
const PERIPHERAL_ID2_V3: usize = 0xFFE8;

/// Offset of the GICv3 GICD_IROUTER<n> array (entries 0..=31 are reserved).
const ROUTER_OFFSET: usize = 0x6000;

/// GICD_CTLR bit 31 (GICv3): a register write is still taking effect.
const REGISTER_WRITE_PENDING: u32 = 1 << 31;

register_structs! {
    /// The distributor frame up to its GICv2 ID registers (4 KiB).
    pub DistributorRegisters {
        /// GICD_CTLR (not present in the GICR SGI frame).
        (0x000 => pub control: ReadWrite<u32>),
        /// GICD_TYPER.
        (0x004 => pub controller_type: ReadOnly<u32>),
        /// GICD_IIDR.
        (0x008 => pub implementer: ReadOnly<u32>),
        (0x00C => _reserved0),
        /// GICD_IGROUPR<n> (GICR_IGROUPR0 in the SGI frame).
        (0x080 => pub group: [ReadWrite<u32>; 32]),
        /// GICD_ISENABLER<n>.
        (0x100 => pub set_enable: [ReadWrite<u32>; 32]),
        /// GICD_ICENABLER<n>.
        (0x180 => pub clear_enable: [ReadWrite<u32>; 32]),
        /// GICD_ISPENDR<n>.
        (0x200 => pub set_pending: [ReadWrite<u32>; 32]),
        /// GICD_ICPENDR<n>.
        (0x280 => pub clear_pending: [ReadWrite<u32>; 32]),
        /// GICD_ISACTIVER<n>.
        (0x300 => pub set_active: [ReadWrite<u32>; 32]),
        /// GICD_ICACTIVER<n>.
        (0x380 => pub clear_active: [ReadWrite<u32>; 32]),
        /// GICD_IPRIORITYR, one byte per INTID.
        (0x400 => pub priority: [ReadWrite<u8>; 1020]),
        (0x7FC => _reserved1),
        /// GICD_ITARGETSR (GICv2), one CPU interface bit mask per INTID.
        (0x800 => pub targets: [ReadWrite<u8>; 1020]),
        (0xBFC => _reserved2),
        /// GICD_ICFGR<n>, two bits per INTID (the upper one set = edge-triggered).
        (0xC00 => pub configuration: [ReadWrite<u32>; 64]),
        /// GICD_IGRPMODR<n> (GICv3).
        (0xD00 => pub group_modifier: [ReadWrite<u32>; 32]),
        (0xD80 => _reserved3),
        /// GICD_SGIR (GICv2): target list in bits 23:16, INTID in bits 3:0.
        (0xF00 => pub software_interrupt: WriteOnly<u32>),
        (0xF04 => _reserved4),
        /// GICD_CPENDSGIR (GICv2), one byte per SGI with a bit per source CPU interface.
        (0xF10 => pub clear_pending_sgi: [ReadWrite<u8>; 16]),
        /// GICD_SPENDSGIR (GICv2).
        (0xF20 => pub set_pending_sgi: [ReadWrite<u8>; 16]),
        (0xF30 => _reserved5),
        (0x1000 => @END),
    }
}

register_structs! {
    /// The GICv3 GICD_IROUTER<n> array at GICD + 0x6000, indexed by INTID (SPIs only).
    pub RouterRegisters {
        (0x0000 => pub route: [ReadWrite<u64>; 1020]),
        (0x1FE0 => @END),
    }
}

/// The distributor's registers.
#[must_use]
pub fn registers() -> &'static DistributorRegisters {
    // SAFETY: the guest platform always has a distributor at DISTRIBUTOR_BASE (device memory, never
    // RAM); every access through the reference is a volatile MMIO access.
    unsafe { &*(DISTRIBUTOR_BASE as *const DistributorRegisters) }
}

/// The GICv3 distributor's GICD_IROUTER registers; only meaningful on GICv3.
#[must_use]
pub fn routers() -> &'static RouterRegisters {
    // SAFETY: a GICv3 distributor frame is 64 KiB, so GICD + 0x6000..0x7FE0 lies inside it; the caller
    // uses this only after detecting GICv3, and every access is a volatile MMIO access.
    unsafe { &*((DISTRIBUTOR_BASE + ROUTER_OFFSET) as *const RouterRegisters) }
}

/// The architecture revision (GICD_PIDR2 ArchRev: 1 = GICv1, 2 = GICv2, 3 = GICv3, 4 = GICv4) read at
/// the GICv2 offset, then at the GICv3 offset; 0 when neither holds one.
#[must_use]
pub fn architecture_revision() -> u32 {
    let read = |offset: usize| {
        // SAFETY: GICD + 0xFE8 lies in every distributor frame; GICD + 0xFFE8 is read only when the
        // GICv2 offset held no revision, i.e. when the frame is a 64 KiB GICv3 one (whose 0xFE8 is
        // reserved and reads as zero).
        let value = unsafe { ((DISTRIBUTOR_BASE + offset) as *const u32).read_volatile() };
        (value >> 4) & 0xF
    };
    match read(PERIPHERAL_ID2_V2) {
        revision @ (1 | 2) => revision,
        _ => read(PERIPHERAL_ID2_V3),
    }
}

/// Number of INTIDs the distributor supports (32 × (GICD_TYPER.ITLinesNumber + 1), at most 1020).
#[must_use]
pub fn interrupt_lines() -> u32 {
    (32 * ((registers().controller_type.get() & 0x1F) + 1)).min(1020)
}

/// Waits until GICD_CTLR.RWP is clear (GICv3): earlier writes to GICD_CTLR and ICENABLER took effect.
pub fn wait_for_register_write() {
    while registers().control.get() & REGISTER_WRITE_PENDING != 0 {
        core::hint::spin_loop();
    }
}

/// Index of the 32-bit register holding `intid`'s bit, and the bit.
#[must_use]
pub fn bit_position(intid: u32) -> (usize, u32) {
    ((intid / 32) as usize, 1 << (intid % 32))
}

/// Sets `intid`'s enable bit in `bank`.
pub fn enable(bank: &DistributorRegisters, intid: u32) {
    let (index, bit) = bit_position(intid);
    bank.set_enable[index].set(bit);
}

/// Clears `intid`'s enable bit in `bank` (the caller waits for RWP on GICv3).
pub fn disable(bank: &DistributorRegisters, intid: u32) {
    let (index, bit) = bit_position(intid);
    bank.clear_enable[index].set(bit);
}

/// Sets `intid`'s pending bit in `bank`.
pub fn set_pending(bank: &DistributorRegisters, intid: u32) {
    let (index, bit) = bit_position(intid);
    bank.set_pending[index].set(bit);
}

/// Clears `intid`'s pending bit in `bank`.
pub fn clear_pending(bank: &DistributorRegisters, intid: u32) {
    let (index, bit) = bit_position(intid);
    bank.clear_pending[index].set(bit);
}

/// Whether `intid` is pending in `bank`.
#[must_use]
pub fn is_pending(bank: &DistributorRegisters, intid: u32) -> bool {
    let (index, bit) = bit_position(intid);
    bank.set_pending[index].get() & bit != 0
}

/// Whether `intid` is enabled in `bank`.
#[must_use]
pub fn is_enabled(bank: &DistributorRegisters, intid: u32) -> bool {
    let (index, bit) = bit_position(intid);
    bank.set_enable[index].get() & bit != 0
}

/// Sets `intid`'s priority (lower is more urgent) with a byte write, as Linux does.
pub fn set_priority(bank: &DistributorRegisters, intid: u32, priority: u8) {
    bank.priority[intid as usize].set(priority);
}

/// Makes `intid` edge-triggered (`true`) or level-sensitive (`false`); SGIs ignore it.
pub fn set_edge_triggered(bank: &DistributorRegisters, intid: u32, edge: bool) {
    let register = &bank.configuration[(intid / 16) as usize];
    let bit = 1 << (2 * (intid % 16) + 1);
    let value = register.get();
    register.set(if edge { value | bit } else { value & !bit });
}

/// Resets the 32 INTIDs of register index `index` in `bank`: disabled, not pending, not active, in
/// the groups given by `group_bits`, each with priority `priority`. The caller waits for RWP on GICv3.
pub fn reset_block(bank: &DistributorRegisters, index: usize, group_bits: u32, priority: u8) {
    bank.clear_enable[index].set(u32::MAX);
    bank.clear_pending[index].set(u32::MAX);
    bank.clear_active[index].set(u32::MAX);
    bank.group[index].set(group_bits);
    for intid in index * 32..(index * 32 + 32).min(bank.priority.len()) {
        bank.priority[intid].set(priority);
    }
}
