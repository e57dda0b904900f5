//! The calling CPU's virtual CPU interface, whichever GIC version: saving and restoring a vCPU's
//! list registers and interface state, filling list registers from its queue, and reading which
//! list registers the guest has ended.

use aarch64_cpu::registers::{
    ICH_AP1R0_EL2, ICH_HCR_EL2, ICH_LR0_EL2, ICH_LR1_EL2, ICH_LR2_EL2, ICH_LR3_EL2, ICH_LR4_EL2, ICH_LR5_EL2,
    ICH_LR6_EL2, ICH_LR7_EL2, ICH_LR8_EL2, ICH_LR9_EL2, ICH_LR10_EL2, ICH_LR11_EL2, ICH_LR12_EL2, ICH_LR13_EL2,
    ICH_LR14_EL2, ICH_LR15_EL2, ICH_VMCR_EL2, ICH_VTR_EL2,
};
use spin::Once;
use tock_registers::interfaces::{Readable, Writeable};

use super::sysregs::ICH_EISR_EL2;
use crate::drivers::gic_v2_hypervisor::{CONTROL_ENABLE, CONTROL_UNDERFLOW_INTERRUPT, GicV2HypervisorInterface};
use crate::list_register::{self, ListRegisterState};
use crate::vcpu_context::VirtualInterfaceState;
use crate::virtual_interrupts::{InterruptQueue, QueuedInterrupt};

/// The machine's virtual CPU interface.
pub enum VirtualCpuInterface {
    /// GICv2: the GICH frame.
    V2(GicV2HypervisorInterface),
    /// GICv3: the ICH system registers.
    V3,
}

static INTERFACE: Once<VirtualCpuInterface> = Once::new();

/// Records the machine's interface; boot CPU, once.
pub fn install(interface: VirtualCpuInterface) {
    INTERFACE.call_once(|| interface);
}

/// The machine's interface, if it has one.
#[must_use]
pub fn get() -> Option<&'static VirtualCpuInterface> {
    INTERFACE.get()
}

fn read_v3(index: usize) -> u64 {
    match index {
        0 => ICH_LR0_EL2.get(),
        1 => ICH_LR1_EL2.get(),
        2 => ICH_LR2_EL2.get(),
        3 => ICH_LR3_EL2.get(),
        4 => ICH_LR4_EL2.get(),
        5 => ICH_LR5_EL2.get(),
        6 => ICH_LR6_EL2.get(),
        7 => ICH_LR7_EL2.get(),
        8 => ICH_LR8_EL2.get(),
        9 => ICH_LR9_EL2.get(),
        10 => ICH_LR10_EL2.get(),
        11 => ICH_LR11_EL2.get(),
        12 => ICH_LR12_EL2.get(),
        13 => ICH_LR13_EL2.get(),
        14 => ICH_LR14_EL2.get(),
        _ => ICH_LR15_EL2.get(),
    }
}

fn write_v3(index: usize, value: u64) {
    match index {
        0 => ICH_LR0_EL2.set(value),
        1 => ICH_LR1_EL2.set(value),
        2 => ICH_LR2_EL2.set(value),
        3 => ICH_LR3_EL2.set(value),
        4 => ICH_LR4_EL2.set(value),
        5 => ICH_LR5_EL2.set(value),
        6 => ICH_LR6_EL2.set(value),
        7 => ICH_LR7_EL2.set(value),
        8 => ICH_LR8_EL2.set(value),
        9 => ICH_LR9_EL2.set(value),
        10 => ICH_LR10_EL2.set(value),
        11 => ICH_LR11_EL2.set(value),
        12 => ICH_LR12_EL2.set(value),
        13 => ICH_LR13_EL2.set(value),
        14 => ICH_LR14_EL2.set(value),
        _ => ICH_LR15_EL2.set(value),
    }
}

impl VirtualCpuInterface {
    /// Number of list registers (at most 16 are used).
    #[must_use]
    pub fn list_register_count(&self) -> usize {
        let count = match self {
            Self::V2(interface) => interface.list_register_count(),
            Self::V3 => ((ICH_VTR_EL2.get() & 0x1F) + 1) as usize,
        };
        count.min(16)
    }

    fn read(&self, index: usize) -> u64 {
        match self {
            Self::V2(interface) => u64::from(interface.list_register(index)),
            Self::V3 => read_v3(index),
        }
    }

    fn write(&self, index: usize, value: u64) {
        match self {
            Self::V2(interface) => interface.set_list_register(index, value as u32),
            Self::V3 => write_v3(index, value),
        }
    }

    fn state(&self, value: u64) -> ListRegisterState {
        match self {
            Self::V2(_) => list_register::state_v2(value as u32),
            Self::V3 => list_register::state_v3(value),
        }
    }

    fn intid(&self, value: u64) -> u32 {
        match self {
            Self::V2(_) => list_register::intid_v2(value as u32),
            Self::V3 => list_register::intid_v3(value),
        }
    }

    fn set_control(&self, underflow_interrupt: bool) {
        let value = CONTROL_ENABLE | if underflow_interrupt { CONTROL_UNDERFLOW_INTERRUPT } else { 0 };
        match self {
            Self::V2(interface) => interface.set_control(value),
            Self::V3 => ICH_HCR_EL2.set(u64::from(value)),
        }
    }

    /// Saves the loaded vCPU's interface into `state` and leaves the hardware empty.
    pub fn save(&self, state: &mut VirtualInterfaceState) {
        let count = self.list_register_count();
        for (index, slot) in state.list_registers.iter_mut().enumerate().take(count) {
            *slot = self.read(index);
            self.write(index, 0);
        }
        match self {
            Self::V2(interface) => {
                state.machine_control = u64::from(interface.virtual_machine_control());
                state.active_priorities = u64::from(interface.active_priorities());
            }
            Self::V3 => {
                state.machine_control = ICH_VMCR_EL2.get();
                state.active_priorities = ICH_AP1R0_EL2.get();
            }
        }
    }

    /// Loads `state` into the hardware for the vCPU about to run.
    pub fn restore(&self, state: &VirtualInterfaceState) {
        let count = self.list_register_count();
        for (index, &value) in state.list_registers.iter().enumerate().take(count) {
            self.write(index, value);
        }
        match self {
            Self::V2(interface) => {
                interface.set_virtual_machine_control(state.machine_control as u32);
                interface.set_active_priorities(state.active_priorities as u32);
            }
            Self::V3 => {
                ICH_VMCR_EL2.set(state.machine_control);
                ICH_AP1R0_EL2.set(state.active_priorities);
            }
        }
    }

    fn decode(&self, value: u64) -> QueuedInterrupt {
        match self {
            Self::V2(_) => list_register::decode_v2(value as u32),
            Self::V3 => list_register::decode_v3(value),
        }
    }

    fn encode(&self, interrupt: &QueuedInterrupt) -> u64 {
        match self {
            Self::V2(_) => u64::from(list_register::encode_v2(interrupt)),
            Self::V3 => list_register::encode_v3(interrupt),
        }
    }

    /// Loads the most urgent queued interrupts into the list registers: empty ones first, then
    /// in place of a less urgent interrupt that is only pending there (which goes back to the
    /// queue), so the guest always sees the most urgent ones. An interrupt already in a list
    /// register is not loaded twice: pending again while active, its list register becomes
    /// pending-and-active. Asks for a maintenance interrupt when interrupts are still queued:
    /// on underflow when every list register is taken, or on the end of the interrupt whose list
    /// register blocks them.
    pub fn fill(&self, queue: &mut InterruptQueue) {
        let count = self.list_register_count();
        let mut values = [0_u64; 16];
        for (index, value) in values.iter_mut().enumerate().take(count) {
            *value = self.read(index);
        }
        self.merge_duplicates(queue, &mut values[..count]);
        // Bounded: each round moves a strictly more urgent interrupt into a list register.
        for _ in 0..count + crate::virtual_interrupts::QUEUE_CAPACITY {
            let in_use = |intid: u32, except: Option<usize>| {
                values[..count].iter().enumerate().any(|(index, &value)| {
                    Some(index) != except
                        && self.state(value) != ListRegisterState::Invalid
                        && self.intid(value) & 0x3FF == intid & 0x3FF
                })
            };
            let empty = (0..count).find(|&index| self.state(values[index]) == ListRegisterState::Invalid);
            let (index, evicted) = if let Some(index) = empty {
                (index, None)
            } else {
                // The least urgent list register that is only pending.
                let victim = (0..count)
                    .filter(|&index| self.state(values[index]) == ListRegisterState::Pending)
                    .max_by_key(|&index| self.decode(values[index]).priority);
                let Some(victim) = victim else { break };
                let victim_entry = self.decode(values[victim]);
                match queue.peek_next(|intid| in_use(intid, Some(victim))) {
                    Some(best) if best.priority < victim_entry.priority => (victim, Some(victim_entry)),
                    _ => break,
                }
            };
            let Some(next) = queue.take_next(|intid| in_use(intid, evicted.map(|_| index))) else { break };
            if let Some(evicted) = evicted {
                let _ = queue.push(evicted);
            }
            values[index] = self.encode(&next);
            self.write(index, values[index]);
        }
        let full = (0..count).all(|index| self.state(values[index]) != ListRegisterState::Invalid);
        if !full {
            // Whatever is still queued waits for a list register holding the same INTID (a GICv2
            // SGI from another source): ask to hear when that one ends.
            self.request_end_notification(queue, &mut values[..count]);
        }
        self.set_control(full && !queue.is_empty());
    }

    /// Drops queued interrupts that are already pending in a list register, and makes an active
    /// one pending-and-active instead of loading it twice.
    fn merge_duplicates(&self, queue: &mut InterruptQueue, values: &mut [u64]) {
        for (index, value) in values.iter_mut().enumerate() {
            let state = self.state(*value);
            if state == ListRegisterState::Invalid {
                continue;
            }
            let interrupt = self.decode(*value);
            if queue.withdraw_software(interrupt.intid)
                && state == ListRegisterState::Active
                && interrupt.physical.is_none()
            {
                *value |= match self {
                    Self::V2(_) => 1 << 28,
                    Self::V3 => 1 << 62,
                };
                self.write(index, *value);
            }
        }
    }

    /// Sets the end-of-interrupt maintenance request on list registers whose INTID blocks a
    /// queued interrupt.
    fn request_end_notification(&self, queue: &InterruptQueue, values: &mut [u64]) {
        for (index, value) in values.iter_mut().enumerate() {
            if self.state(*value) == ListRegisterState::Invalid {
                continue;
            }
            let mut interrupt = self.decode(*value);
            if interrupt.physical.is_none() && !interrupt.notify_end && queue.contains_line(interrupt.intid & 0x3FF) {
                interrupt.notify_end = true;
                let state_bits = match self {
                    Self::V2(_) => u64::from(*value as u32 & (0b11 << 28)),
                    Self::V3 => *value & (0b11 << 62),
                };
                let pending_bit = match self {
                    Self::V2(_) => 1 << 28,
                    Self::V3 => 1 << 62,
                };
                *value = (self.encode(&interrupt) & !pending_bit) | state_bits;
                self.write(index, *value);
            }
        }
    }

    /// Empties the list registers of the loaded vCPU that is powering down: interrupts still
    /// pending go back to its queue (so they can wake it), hardware interrupts it had
    /// acknowledged are deactivated at the physical GIC (the vCPU will never end them).
    pub fn drain_into(&self, queue: &mut InterruptQueue, mut deactivate: impl FnMut(u32)) {
        for index in 0..self.list_register_count() {
            let value = self.read(index);
            let interrupt = match self {
                Self::V2(_) => list_register::decode_v2(value as u32),
                Self::V3 => list_register::decode_v3(value),
            };
            match self.state(value) {
                ListRegisterState::Invalid => {}
                ListRegisterState::Pending => {
                    let _ = queue.push(interrupt);
                }
                ListRegisterState::Active | ListRegisterState::PendingAndActive => {
                    if let Some(physical) = interrupt.physical {
                        deactivate(physical);
                    }
                }
            }
            self.write(index, 0);
        }
        self.set_control(false);
    }

    /// Empties the list register holding `intid` if the guest has not acknowledged it yet;
    /// returns the physical interrupt it carried, which the caller must deactivate.
    #[must_use]
    pub fn remove_pending(&self, intid: u32) -> Option<u32> {
        let mut physical = None;
        for index in 0..self.list_register_count() {
            let value = self.read(index);
            if self.state(value) == ListRegisterState::Pending && self.intid(value) == intid {
                self.write(index, 0);
                physical = physical.or(self.decode(value).physical);
            }
        }
        physical
    }

    /// Whether a list register holds an interrupt the vCPU has not acknowledged yet.
    #[must_use]
    pub fn has_pending(&self) -> bool {
        (0..self.list_register_count()).any(|index| {
            matches!(self.state(self.read(index)), ListRegisterState::Pending | ListRegisterState::PendingAndActive)
        })
    }

    /// Collects the INTIDs of list registers whose end of interrupt was requested and has
    /// happened, empties those list registers and turns the underflow interrupt off (the next
    /// fill turns it back on if needed). Calls `ended` for each INTID.
    pub fn take_ended(&self, mut ended: impl FnMut(u32)) {
        let status = match self {
            Self::V2(interface) => interface.end_of_interrupt_status(),
            Self::V3 => ICH_EISR_EL2.get(),
        };
        for index in 0..self.list_register_count() {
            if status & (1 << index) != 0 {
                let value = self.read(index);
                self.write(index, 0);
                ended(self.intid(value));
            }
        }
        self.set_control(false);
    }
}
