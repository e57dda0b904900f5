//! Stopping a whole domain (SYSTEM_OFF) and restarting it from scratch (SYSTEM_RESET). A restart
//! waits until every vCPU of the old generation has left its CPU; whichever CPU next looks at the
//! run queues then rebuilds the domain.

use core::sync::atomic::{AtomicBool, Ordering};

use somnus_abi::ids::DomainId;

use crate::arch::aarch64::cpu;
use crate::domain_builder;
use crate::run_loop::{self, SCHEDULER};
use crate::scheduler::MAX_DOMAINS;

static RESTART_PENDING: [AtomicBool; MAX_DOMAINS] = [const { AtomicBool::new(false) }; MAX_DOMAINS];

/// Powers off every vCPU of `domain`, silences its passed-through devices' interrupts, and
/// makes their CPUs notice.
pub fn stop(domain: DomainId) {
    crate::interrupt_delivery::disable_owned(domain);
    let mut kicks = heapless::Vec::<usize, 8>::new();
    {
        let mut scheduler = SCHEDULER.lock();
        let vcpus: heapless::Vec<_, 8> =
            scheduler.vcpus_of(domain.index).filter(|entry| entry.id.domain == domain).map(|entry| entry.id).collect();
        for vcpu in vcpus {
            if let Some(pcpu) = scheduler.power_off(vcpu)
                && !kicks.contains(&pcpu)
            {
                let _ = kicks.push(pcpu);
            }
        }
    }
    for pcpu in kicks {
        if pcpu != cpu::index() {
            crate::interrupts::kick(pcpu);
        }
    }
}

/// Stops `domain` and restarts it as a new generation once its vCPUs are off every CPU.
pub fn request_restart(domain: DomainId) {
    if let Some(flag) = RESTART_PENDING.get(domain.index as usize) {
        flag.store(true, Ordering::Release);
    }
    stop(domain);
}

/// Performs the restarts whose old vCPUs have all left their CPUs.
pub fn run_pending_restarts() {
    for (index, flag) in RESTART_PENDING.iter().enumerate() {
        if flag.load(Ordering::Acquire)
            && !run_loop::domain_is_loaded_anywhere(index as u8)
            && flag.swap(false, Ordering::AcqRel)
            && let Err(reason) = domain_builder::restart(index as u8)
        {
            crate::println!("somnus: domain {} could not be restarted: {reason}", index + 1);
        }
    }
}
