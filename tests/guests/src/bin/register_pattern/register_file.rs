//! x19..x28, q0..q31, FPCR and FPSR: loaded with a pattern, held across a spin and stored back, all in
//! one assembly block so the compiler cannot keep the values anywhere else.

use somnus_test_guests::random::PseudoRandom;

use crate::{Mismatch, Register};

/// Number of general registers checked (x19..x28, the callee-saved ones the compiler lets us clobber;
/// x19 itself is saved and restored by hand).
const GENERAL_COUNT: usize = 10;

/// First general register checked.
const FIRST_GENERAL: usize = 19;

/// FPCR bits every implementation keeps: AHP, DN, FZ and RMode.
const FPCR_MASK: u64 = 0x07c0_0000;

/// FPSR bits: QC, IDC and the cumulative IXC, UFC, OFC, DZC, IOC flags.
const FPSR_MASK: u64 = 0x0800_009f;

/// Values to load. Field offsets are used by the assembly: general 0, FPCR 80, FPSR 88, vectors 96.
#[repr(C, align(16))]
struct Pattern {
    general: [u64; GENERAL_COUNT],
    fpcr: u64,
    fpsr: u64,
    vectors: [u128; 32],
}

/// Values stored back. Offsets: general 0, FPCR and FPSR right after loading 80 and 88, FPCR and FPSR
/// after the spin 96 and 104, vectors 112.
#[repr(C, align(16))]
struct Observed {
    general: [u64; GENERAL_COUNT],
    fpcr_loaded: u64,
    fpsr_loaded: u64,
    fpcr_final: u64,
    fpsr_final: u64,
    vectors: [u128; 32],
}

const _: () = assert!(size_of::<Pattern>() == 96 + 32 * 16);
const _: () = assert!(size_of::<Observed>() == 112 + 32 * 16);

impl Pattern {
    fn random(random: &mut PseudoRandom) -> Self {
        let mut pattern = Pattern {
            general: [0; GENERAL_COUNT],
            fpcr: random.next_u64() & FPCR_MASK,
            fpsr: random.next_u64() & FPSR_MASK,
            vectors: [0; 32],
        };
        for value in &mut pattern.general {
            *value = random.next_u64();
        }
        for value in &mut pattern.vectors {
            *value = (u128::from(random.next_u64()) << 64) | u128::from(random.next_u64());
        }
        pattern
    }
}

/// Loads a fresh pattern, spins `spins` times, and reports the first register that did not keep it.
pub fn check(random: &mut PseudoRandom, spins: u64) -> Result<(), Mismatch> {
    let pattern = Pattern::random(random);
    let observed = hold(&pattern, spins);
    compare(&pattern, &observed)
}

/// Loads `pattern` into the registers, spins `spins` times and stores the registers back.
fn hold(pattern: &Pattern, spins: u64) -> Observed {
    let mut observed = Observed {
        general: [0; GENERAL_COUNT],
        fpcr_loaded: 0,
        fpsr_loaded: 0,
        fpcr_final: 0,
        fpsr_final: 0,
        vectors: [0; 32],
    };
    // SAFETY: the block reads `pattern` and writes `observed` only through the pointers given, within
    // their sizes (checked above); it saves and restores x19 (which cannot be declared clobbered) on the
    // stack, restores FPCR and FPSR, and declares every other register it changes.
    unsafe {
        core::arch::asm!(
            "str x19, [sp, #-16]!",
            "mrs {saved_fpcr}, fpcr",
            "mrs {saved_fpsr}, fpsr",
            "ldp x19, x20, [{pattern}, #0]",
            "ldp x21, x22, [{pattern}, #16]",
            "ldp x23, x24, [{pattern}, #32]",
            "ldp x25, x26, [{pattern}, #48]",
            "ldp x27, x28, [{pattern}, #64]",
            "ldp {first}, {second}, [{pattern}, #80]",
            "msr fpcr, {first}",
            "msr fpsr, {second}",
            "mrs {first}, fpcr",
            "mrs {second}, fpsr",
            "stp {first}, {second}, [{observed}, #80]",
            "ldp q0, q1, [{pattern}, #96]",
            "ldp q2, q3, [{pattern}, #128]",
            "ldp q4, q5, [{pattern}, #160]",
            "ldp q6, q7, [{pattern}, #192]",
            "ldp q8, q9, [{pattern}, #224]",
            "ldp q10, q11, [{pattern}, #256]",
            "ldp q12, q13, [{pattern}, #288]",
            "ldp q14, q15, [{pattern}, #320]",
            "ldp q16, q17, [{pattern}, #352]",
            "ldp q18, q19, [{pattern}, #384]",
            "ldp q20, q21, [{pattern}, #416]",
            "ldp q22, q23, [{pattern}, #448]",
            "ldp q24, q25, [{pattern}, #480]",
            "ldp q26, q27, [{pattern}, #512]",
            "ldp q28, q29, [{pattern}, #544]",
            "ldp q30, q31, [{pattern}, #576]",
            "2:",
            "subs {spins}, {spins}, #1",
            "b.ne 2b",
            "stp x19, x20, [{observed}, #0]",
            "stp x21, x22, [{observed}, #16]",
            "stp x23, x24, [{observed}, #32]",
            "stp x25, x26, [{observed}, #48]",
            "stp x27, x28, [{observed}, #64]",
            "mrs {first}, fpcr",
            "mrs {second}, fpsr",
            "stp {first}, {second}, [{observed}, #96]",
            "stp q0, q1, [{observed}, #112]",
            "stp q2, q3, [{observed}, #144]",
            "stp q4, q5, [{observed}, #176]",
            "stp q6, q7, [{observed}, #208]",
            "stp q8, q9, [{observed}, #240]",
            "stp q10, q11, [{observed}, #272]",
            "stp q12, q13, [{observed}, #304]",
            "stp q14, q15, [{observed}, #336]",
            "stp q16, q17, [{observed}, #368]",
            "stp q18, q19, [{observed}, #400]",
            "stp q20, q21, [{observed}, #432]",
            "stp q22, q23, [{observed}, #464]",
            "stp q24, q25, [{observed}, #496]",
            "stp q26, q27, [{observed}, #528]",
            "stp q28, q29, [{observed}, #560]",
            "stp q30, q31, [{observed}, #592]",
            "msr fpcr, {saved_fpcr}",
            "msr fpsr, {saved_fpsr}",
            "ldr x19, [sp], #16",
            pattern = in(reg) core::ptr::from_ref(pattern),
            observed = in(reg) &raw mut observed,
            spins = inout(reg) spins.max(1) => _,
            saved_fpcr = out(reg) _,
            saved_fpsr = out(reg) _,
            first = out(reg) _,
            second = out(reg) _,
            out("x20") _,
            out("x21") _,
            out("x22") _,
            out("x23") _,
            out("x24") _,
            out("x25") _,
            out("x26") _,
            out("x27") _,
            out("x28") _,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _, out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("v8") _, out("v9") _, out("v10") _, out("v11") _, out("v12") _, out("v13") _, out("v14") _, out("v15") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _, out("v20") _, out("v21") _, out("v22") _, out("v23") _,
            out("v24") _, out("v25") _, out("v26") _, out("v27") _, out("v28") _, out("v29") _, out("v30") _, out("v31") _,
        );
    }
    observed
}

fn compare(pattern: &Pattern, observed: &Observed) -> Result<(), Mismatch> {
    for (index, (&expected, &found)) in pattern.general.iter().zip(&observed.general).enumerate() {
        if expected != found {
            let register = Register::General(FIRST_GENERAL + index);
            return Err(Mismatch { register, expected: u128::from(expected), found: u128::from(found) });
        }
    }
    for (index, (&expected, &found)) in pattern.vectors.iter().zip(&observed.vectors).enumerate() {
        if expected != found {
            return Err(Mismatch { register: Register::Vector(index), expected, found });
        }
    }
    if observed.fpcr_final != observed.fpcr_loaded {
        let (expected, found) = (u128::from(observed.fpcr_loaded), u128::from(observed.fpcr_final));
        return Err(Mismatch { register: Register::Fpcr, expected, found });
    }
    if observed.fpsr_final != observed.fpsr_loaded {
        let (expected, found) = (u128::from(observed.fpsr_loaded), u128::from(observed.fpsr_final));
        return Err(Mismatch { register: Register::Fpsr, expected, found });
    }
    Ok(())
}
