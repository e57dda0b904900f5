//! EL1 and EL0 system registers a hypervisor must switch per vCPU: written with values that are safe
//! while the MMU is off, read back at once (bits an implementation does not keep read as it stores
//! them), and compared on every check.
//!
//! VBAR_EL1 and CPACR_EL1 are only compared: the runtime needs their values.

use somnus_test_guests::aarch64_cpu::registers::{
    AFSR0_EL1, AFSR1_EL1, AMAIR_EL1, CNTKCTL_EL1, CNTV_CTL_EL0, CNTV_CVAL_EL0, CONTEXTIDR_EL1, CPACR_EL1, CSSELR_EL1,
    ELR_EL1, ESR_EL1, FAR_EL1, MAIR_EL1, PAR_EL1, Readable, SP_EL0, SPSR_EL1, TCR_EL1, TPIDR_EL0, TPIDR_EL1,
    TPIDRRO_EL0, TTBR0_EL1, TTBR1_EL1, VBAR_EL1, Writeable,
};
use somnus_test_guests::random::PseudoRandom;

use crate::{Mismatch, Register};

/// One checked system register.
struct SystemRegister {
    name: &'static str,
    read: fn() -> u64,
    /// Writes a value derived from the random input; `None` for registers that are only compared.
    write: Option<fn(u64)>,
}

/// MAIR_EL1 attribute encodings that are all architecturally valid.
const MAIR_ATTRIBUTES: [u64; 8] = [0x00, 0x04, 0x08, 0x0c, 0x44, 0xff, 0xbb, 0x4f];

/// CNTKCTL_EL1 bits that only control EL0 access and the event stream's settings: everything but
/// EVNTEN (bit 2), so no event stream starts.
const CNTKCTL_MASK: u64 = 0x3fb;

/// SPSR_EL1 for an EL1h context with the NZCV and DAIF bits from the random value.
fn spsr_value(random: u64) -> u64 {
    (random & 0xf000_03c0) | 0b0101
}

/// MAIR_EL1: eight valid attributes.
fn mair_value(random: u64) -> u64 {
    (0..8).fold(0, |mair, index| mair | (MAIR_ATTRIBUTES[((random >> (index * 3)) & 7) as usize] << (index * 8)))
}

/// TCR_EL1 with valid field values (sizes 16..=39, no reserved granule or shareability encodings,
/// IPS up to 40 bits, top byte never ignored); all of it is ignored while the MMU is off.
fn tcr_value(random: u64) -> u64 {
    let mut random = PseudoRandom::new(random);
    let size = |random: &mut PseudoRandom| 16 + random.below(24);
    let shareability = |random: &mut PseudoRandom| [0, 2, 3][random.below(3) as usize];
    let t0sz = size(&mut random);
    let epd0 = random.below(2) << 7;
    let irgn0 = random.below(4) << 8;
    let orgn0 = random.below(4) << 10;
    let sh0 = shareability(&mut random) << 12;
    let tg0 = random.below(3) << 14;
    let t1sz = size(&mut random) << 16;
    let a1 = random.below(2) << 22;
    let epd1 = random.below(2) << 23;
    let irgn1 = random.below(4) << 24;
    let orgn1 = random.below(4) << 26;
    let sh1 = shareability(&mut random) << 28;
    let tg1 = (1 + random.below(3)) << 30;
    let ips = random.below(3) << 32;
    let asid_size = random.below(2) << 36;
    t0sz | epd0 | irgn0 | orgn0 | sh0 | tg0 | t1sz | a1 | epd1 | irgn1 | orgn1 | sh1 | tg1 | ips | asid_size
}

static REGISTERS: [SystemRegister; 22] = [
    SystemRegister { name: "TPIDR_EL0", read: || TPIDR_EL0.get(), write: Some(|value| TPIDR_EL0.set(value)) },
    SystemRegister { name: "TPIDRRO_EL0", read: || TPIDRRO_EL0.get(), write: Some(|value| TPIDRRO_EL0.set(value)) },
    SystemRegister { name: "TPIDR_EL1", read: || TPIDR_EL1.get(), write: Some(|value| TPIDR_EL1.set(value)) },
    SystemRegister {
        name: "CONTEXTIDR_EL1",
        read: || CONTEXTIDR_EL1.get(),
        write: Some(|value| CONTEXTIDR_EL1.set(value & 0xffff_ffff)),
    },
    SystemRegister { name: "SP_EL0", read: || SP_EL0.get(), write: Some(|value| SP_EL0.set(value)) },
    SystemRegister { name: "PAR_EL1", read: || PAR_EL1.get(), write: Some(|value| PAR_EL1.set(value)) },
    SystemRegister { name: "AFSR0_EL1", read: || AFSR0_EL1.get(), write: Some(|value| AFSR0_EL1.set(value)) },
    SystemRegister { name: "AFSR1_EL1", read: || AFSR1_EL1.get(), write: Some(|value| AFSR1_EL1.set(value)) },
    SystemRegister { name: "AMAIR_EL1", read: || AMAIR_EL1.get(), write: Some(|value| AMAIR_EL1.set(value)) },
    SystemRegister {
        name: "CNTKCTL_EL1",
        read: || CNTKCTL_EL1.get(),
        write: Some(|value| CNTKCTL_EL1.set(value & CNTKCTL_MASK)),
    },
    SystemRegister { name: "MAIR_EL1", read: || MAIR_EL1.get(), write: Some(|value| MAIR_EL1.set(mair_value(value))) },
    SystemRegister { name: "TCR_EL1", read: || TCR_EL1.get(), write: Some(|value| TCR_EL1.set(tcr_value(value))) },
    SystemRegister { name: "TTBR0_EL1", read: || TTBR0_EL1.get(), write: Some(|value| TTBR0_EL1.set(value & !1)) },
    SystemRegister { name: "TTBR1_EL1", read: || TTBR1_EL1.get(), write: Some(|value| TTBR1_EL1.set(value & !1)) },
    SystemRegister { name: "FAR_EL1", read: || FAR_EL1.get(), write: Some(|value| FAR_EL1.set(value)) },
    SystemRegister { name: "ESR_EL1", read: || ESR_EL1.get(), write: Some(|value| ESR_EL1.set(value & 0xffff_ffff)) },
    SystemRegister { name: "ELR_EL1", read: || ELR_EL1.get(), write: Some(|value| ELR_EL1.set(value)) },
    SystemRegister { name: "SPSR_EL1", read: || SPSR_EL1.get(), write: Some(|value| SPSR_EL1.set(spsr_value(value))) },
    SystemRegister {
        name: "CNTV_CVAL_EL0",
        read: || CNTV_CVAL_EL0.get(),
        write: Some(|value| CNTV_CVAL_EL0.set(value)),
    },
    SystemRegister { name: "CSSELR_EL1", read: || CSSELR_EL1.get(), write: Some(|value| CSSELR_EL1.set(value % 3)) },
    SystemRegister { name: "VBAR_EL1", read: || VBAR_EL1.get(), write: None },
    SystemRegister { name: "CPACR_EL1", read: || CPACR_EL1.get(), write: None },
];

/// The values the registers held right after [`load`].
pub struct SystemRegisterValues {
    expected: [u64; REGISTERS.len()],
}

/// Writes new values derived from `random` into every writable register and records what each holds.
/// The virtual timer is disabled and masked first so its compare value can hold anything.
pub fn load(random: &mut PseudoRandom) -> SystemRegisterValues {
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR + CNTV_CTL_EL0::IMASK::SET);
    let mut expected = [0; REGISTERS.len()];
    for (register, expected) in REGISTERS.iter().zip(&mut expected) {
        if let Some(write) = register.write {
            write(random.next_u64());
        }
        *expected = (register.read)();
    }
    SystemRegisterValues { expected }
}

impl SystemRegisterValues {
    /// Reads every register again and reports the first one that changed.
    pub fn check(&self) -> Result<(), Mismatch> {
        for (register, &expected) in REGISTERS.iter().zip(&self.expected) {
            let found = (register.read)();
            if found != expected {
                return Err(Mismatch {
                    register: Register::System(register.name),
                    expected: u128::from(expected),
                    found: u128::from(found),
                });
            }
        }
        Ok(())
    }
}
