//! What the kernel does when a guest leaves: decode the exit, turn calls and device accesses
//! into messages for services, apply their actions, then schedule.

use aarch64_cpu::registers::{ESR_EL2, FAR_EL2, HPFAR_EL2};
use somnus_abi::GuestPhysAddr;
use somnus_abi::ids::VcpuId;
use somnus_abi::ipc::{Conduit, Message};
use tock_registers::interfaces::Readable;

use super::hypervisor_timer::now_ns;
use super::{guest_memory, vcpu_table};
use crate::exception_injection::Injected;
use crate::instruction_decoding::{self, DecodedAccess};
use crate::interrupt_delivery;
use crate::run_loop::{self, SCHEDULER};
use crate::scheduler::{Completion, PendingAccess, RunState, slot_of};
use crate::service_host::DeliveryError;
use crate::services;
use crate::trap::{self, Trap, system_register_op0};

/// SErrors taken from guests (reported at a limited rate).
static SERRORS: crate::report_limit::ReportLimit = crate::report_limit::ReportLimit::new();

/// NOT_SUPPORTED, for calls no service takes.
const NOT_SUPPORTED: u64 = u64::MAX;

/// Called by the guest-exit assembly with the vector number (8..=15).
#[unsafe(no_mangle)]
extern "C" fn somnus_guest_exit(vector: u64) {
    match (run_loop::loaded_vcpu(), vector % 4) {
        (Some(id), 0) => handle_synchronous(id),
        (_, 1 | 2) => crate::interrupts::handle_irq(),
        (id, _) => {
            if let Some(times) = SERRORS.occurred() {
                crate::println!(
                    "somnus: SError from {id:?} (ESR_EL2 {:#x}, {times} so far); continuing",
                    ESR_EL2.get()
                );
            }
        }
    }
    run_loop::schedule();
}

fn handle_synchronous(id: VcpuId) {
    // SAFETY: `id` is loaded on this CPU, which owns its slot.
    let registers = unsafe { &mut vcpu_table::context(slot_of(id)).registers };
    match trap::decode(ESR_EL2.get()) {
        Trap::WaitFor { event: false } => {
            registers.pc += 4;
            if !interrupt_delivery::pending_for_loaded(id) {
                SCHEDULER.lock().block_for_interrupt(id);
                // An interrupt may have been queued between the check and the block.
                if interrupt_delivery::pending_for_loaded(id) {
                    SCHEDULER.lock().wake(id);
                }
            }
        }
        Trap::WaitFor { event: true } => {
            registers.pc += 4;
            run_loop::request_rotation();
        }
        Trap::Hypervisor => call(id, Conduit::Hvc, [registers.x[0], registers.x[1], registers.x[2], registers.x[3]]),
        Trap::SecureMonitor => {
            registers.pc += 4;
            call(id, Conduit::Smc, [registers.x[0], registers.x[1], registers.x[2], registers.x[3]]);
        }
        Trap::SystemRegister { encoding, register, is_read: false } if is_sgi_generation(encoding) => {
            let value = registers.x.get(register as usize).copied().unwrap_or(0);
            if !SCHEDULER.lock().block_for_service(id, None) {
                return;
            }
            if deliver(&Message::GenerateSgi { caller: id, value }).is_err() {
                // No interrupt service: the write is ignored.
                SCHEDULER.lock().complete(id, Completion::Write);
            }
        }
        Trap::SystemRegister { encoding, register, is_read } => {
            if reads_as_zero(encoding) {
                if is_read && let Some(destination) = registers.x.get_mut(register as usize) {
                    *destination = 0;
                }
                registers.pc += 4;
            } else {
                run_loop::inject_into_loaded(Injected::Undefined, 0);
            }
        }
        Trap::DataAbort { access, on_table_walk } => {
            let fault_address = FAR_EL2.get();
            let address = GuestPhysAddr(trap::fault_ipa(HPFAR_EL2.get(), fault_address));
            let is_write = ESR_EL2.get() & (1 << 6) != 0;
            let emulated = services::registry().emulates(address);
            // The hardware does not describe writeback forms (ISV = 0): decode the instruction.
            let decoded = match access {
                Some(access) => Some(DecodedAccess { access, writeback: None }),
                None if emulated && !on_table_walk => {
                    guest_memory::read_instruction(registers.pc).and_then(instruction_decoding::decode)
                }
                None => None,
            };
            match decoded {
                Some(DecodedAccess { access, writeback }) if emulated => {
                    let value = registers.x.get(access.register as usize).copied().unwrap_or(0);
                    let message = if access.is_write {
                        Message::MmioWrite {
                            caller: id,
                            address,
                            size: access.size,
                            value: access.stored_value(value),
                            time_ns: now_ns(),
                        }
                    } else {
                        Message::MmioRead { caller: id, address, size: access.size, time_ns: now_ns() }
                    };
                    let pending = PendingAccess { access, fault_address, writeback };
                    if !SCHEDULER.lock().block_for_service(id, Some(pending)) {
                        return;
                    }
                    if deliver(&message).is_err() {
                        // Not taken: let the vCPU retry the access later.
                        SCHEDULER.lock().set_state(id, RunState::Runnable);
                        run_loop::request_rotation();
                    }
                }
                _ => run_loop::inject_into_loaded(Injected::DataAbort { is_write }, fault_address),
            }
        }
        Trap::InstructionAbort => run_loop::inject_into_loaded(Injected::InstructionAbort, FAR_EL2.get()),
        Trap::Other { .. } => run_loop::inject_into_loaded(Injected::Undefined, 0),
    }
}

/// Sends a guest's HVC/SMC to the service that takes calls.
fn call(id: VcpuId, conduit: Conduit, arguments: [u64; 4]) {
    if !SCHEDULER.lock().block_for_service(id, None) {
        // Powered off by another vCPU meanwhile: the call is dropped with the vCPU.
        return;
    }
    let time_ns = super::hypervisor_timer::now_ns();
    match deliver(&Message::Call { caller: id, conduit, registers: arguments, time_ns }) {
        Ok(()) => {}
        Err(DeliveryError::NoRoute) => {
            SCHEDULER
                .lock()
                .complete(id, Completion::Registers([NOT_SUPPORTED, arguments[1], arguments[2], arguments[3]]));
        }
        Err(DeliveryError::MailboxFull) => {
            // Re-execute the call later: step back over the HVC or SMC.
            // SAFETY: `id` is loaded on this CPU, which owns its slot.
            unsafe { vcpu_table::context(slot_of(id)).registers.pc -= 4 };
            SCHEDULER.lock().set_state(id, RunState::Runnable);
            run_loop::request_rotation();
        }
    }
}

fn deliver(message: &Message) -> Result<(), DeliveryError> {
    services::registry().deliver(message, services::run_on_service_stack, &mut services::apply_action)
}

/// ICC_SGI1R_EL1 (op0 3, op1 0, CRn 12, CRm 11, op2 5), which a GICv3 guest writes to send SGIs.
fn is_sgi_generation(encoding: u32) -> bool {
    let op2 = (encoding >> 17) & 0x7;
    let op1 = (encoding >> 14) & 0x7;
    let control_register_n = (encoding >> 10) & 0xF;
    let control_register_m = (encoding >> 1) & 0xF;
    system_register_op0(encoding) == 3 && op1 == 0 && control_register_n == 12 && control_register_m == 11 && op2 == 5
}

/// Trapped system registers that read as zero and ignore writes: the debug and OS-lock space
/// (MDCR_EL2.TDA/TDOSA), the PMU (MDCR_EL2.TPM), the EL1 physical timer (CNTHCTL_EL2.EL1PCEN) and
/// ACTLR_EL1 (HCR_EL2.TACR). Anything else trapped is undefined for the guest.
fn reads_as_zero(encoding: u32) -> bool {
    let op1 = (encoding >> 14) & 0x7;
    let control_register_n = (encoding >> 10) & 0xF;
    let control_register_m = (encoding >> 1) & 0xF;
    let op2 = (encoding >> 17) & 0x7;
    let op0 = system_register_op0(encoding);
    let debug = op0 == 2;
    let performance_monitors = op0 == 3 && control_register_n == 9 && (12..=14).contains(&control_register_m);
    let physical_timer = op0 == 3 && op1 == 3 && control_register_n == 14 && control_register_m == 2;
    let auxiliary_control = op0 == 3 && op1 == 0 && control_register_n == 1 && control_register_m == 0 && op2 == 1;
    // ICC_ASGI1R_EL1 and ICC_SGI0R_EL1: SGIs for a group the guest does not have.
    let other_sgi_groups =
        op0 == 3 && op1 == 0 && control_register_n == 12 && control_register_m == 11 && (op2 == 6 || op2 == 7);
    debug || performance_monitors || physical_timer || auxiliary_control || other_sgi_groups
}
