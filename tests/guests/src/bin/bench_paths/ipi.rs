//! The virtual IPI: from vCPU 0's SGI write (GICD_SGIR on GICv2, ICC_SGI1R_EL1 on GICv3, both
//! trapped and handed to the vGIC service) to the first instruction of vCPU 1's IRQ vector.
//!
//! Both vCPUs share one physical CPU: vCPU 1 waits in WFI, which the hypervisor traps, so the CPU
//! never idles; the SGI wakes vCPU 1 and the hypervisor switches to it at once. The figure
//! therefore includes the switch from vCPU 0 to vCPU 1, and no physical IPI (which QEMU's
//! `-icount` would deliver only when its round robin reaches the other CPU).

use core::arch::asm;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use somnus_test_guests::conduit::Conduit;
use somnus_test_guests::gic::{self, Acknowledged, DISTRIBUTOR_BASE, Version};
use somnus_test_guests::timing::{Series, measure};
use somnus_test_guests::{fail, interrupts, psci, start};

use crate::interrupt_timestamps;

/// The SGI vCPU 0 sends.
const SGI: u64 = 3;

/// The partner vCPU.
const PARTNER: u64 = 1;

/// GICD_SGIR.
const SOFTWARE_INTERRUPT_REGISTER: usize = DISTRIBUTOR_BASE + 0xF00;

/// Context id of the partner's CPU_ON.
const CONTEXT_ID: u64 = 0xBE4C_0000_0000_0001;

/// AFFINITY_INFO's answer for a vCPU that is off.
const AFFINITY_OFF: u64 = 1;

/// The partner set up its GIC interface and waits for SGIs.
static PARTNER_READY: AtomicBool = AtomicBool::new(false);
/// SGIs the partner took.
static ROUNDS: AtomicU64 = AtomicU64::new(0);
/// The virtual counter at the first vector instruction of the partner's last SGI.
static RECEIVED_AT: AtomicU64 = AtomicU64::new(0);
/// Asks the partner to power itself off after its next SGI.
static STOP: AtomicBool = AtomicBool::new(false);

/// The SGI's handler: nothing to do, the vector took the timestamp.
fn received(_interrupt: Acknowledged) {}

/// Sends the SGI to the partner: the virtual counter just before the write.
fn timed_send() -> u64 {
    let start: u64;
    match gic::version() {
        Version::V2 => {
            // CPUTargetList (bits 23:16) = vCPU 1's CPU interface, SGIINTID (bits 3:0).
            let value = (1_u64 << (16 + PARTNER)) | SGI;
            // SAFETY: GICD_SGIR is a register of the guest platform's distributor (device memory).
            unsafe {
                asm!(
                    "mrs {start}, cntvct_el0",
                    "str {value:w}, [{address}]",
                    start = out(reg) start,
                    value = in(reg) value,
                    address = in(reg) SOFTWARE_INTERRUPT_REGISTER,
                    options(nostack),
                );
            }
        }
        Version::V3 => {
            // INTID (bits 27:24), target list (bits 15:0) = Aff0 1, Aff1..Aff3 = 0.
            let value = (SGI << 24) | (1 << PARTNER);
            // SAFETY: writing ICC_SGI1R_EL1 only generates the SGI.
            unsafe {
                asm!(
                    "mrs {start}, cntvct_el0",
                    "msr icc_sgi1r_el1, {value}",
                    "isb",
                    start = out(reg) start,
                    value = in(reg) value,
                    options(nostack),
                );
            }
        }
    }
    start
}

/// vCPU 1: takes SGIs until asked to stop, then powers off.
fn partner(_context_id: u64) -> ! {
    gic::init_cpu();
    gic::enable(SGI as u32);
    interrupt_timestamps::install();
    PARTNER_READY.store(true, Ordering::Release);
    loop {
        let taken = interrupt_timestamps::wait_until_interrupt();
        RECEIVED_AT.store(taken, Ordering::Release);
        ROUNDS.store(ROUNDS.load(Ordering::Relaxed) + 1, Ordering::Release);
        if STOP.load(Ordering::Acquire) {
            interrupt_timestamps::uninstall();
            let result = psci::cpu_off(Conduit::Hvc);
            fail!("vCPU 1: CPU_OFF returned {result:#x}");
        }
    }
}

/// Sends one SGI and spins (vCPU 0 never waits in WFI) until the partner took it; returns the
/// counter ticks from the write to the partner's vector.
fn one_round() -> u64 {
    let round = ROUNDS.load(Ordering::Acquire);
    let sent = timed_send();
    while ROUNDS.load(Ordering::Acquire) == round {
        core::hint::spin_loop();
    }
    let received = RECEIVED_AT.load(Ordering::Acquire);
    if received < sent {
        fail!("virtual-ipi: vCPU 1 took an SGI before vCPU 0 sent it");
    }
    received - sent
}

/// Starts vCPU 1, measures and reports `virtual-ipi`, and powers vCPU 1 off again.
pub fn run(series: Series, iterations: usize, empty: u64) {
    interrupts::set_handler(SGI as u32, Some(received));
    start::set_warm_handler(partner);
    let result = psci::cpu_on(Conduit::Hvc, PARTNER, CONTEXT_ID);
    if result != 0 {
        fail!("CPU_ON(1) returned {result:#x}");
    }
    while !PARTNER_READY.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    let statistics = measure(series, iterations, one_round);
    statistics.less(empty).report("virtual-ipi");
    STOP.store(true, Ordering::Release);
    let _ = one_round();
    while psci::affinity_info(Conduit::Hvc, PARTNER) != AFFINITY_OFF {
        core::hint::spin_loop();
    }
}
