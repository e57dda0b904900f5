//! Each vCPU's queue of virtual interrupts waiting for a list register, ordered by priority.
//! The vGIC service decides *what* is pending for whom; the kernel only keeps this queue and
//! moves its head into list registers when the vCPU runs. Pure logic, tested on the host.

/// Interrupts one vCPU can have queued beyond its list registers.
pub const QUEUE_CAPACITY: usize = 48;

/// One virtual interrupt to deliver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueuedInterrupt {
    /// Virtual INTID (for GICv2 SGIs, the source CPU in bits 12:10).
    pub intid: u32,
    /// Priority, lower is more urgent.
    pub priority: u8,
    /// Physical INTID the guest's EOI deactivates, if hardware-backed.
    pub physical: Option<u32>,
    /// Report the guest's EOI to the vGIC service.
    pub notify_end: bool,
}

/// Why an interrupt was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueError {
    /// The queue is full; the interrupt is lost unless the source raises it again.
    Full,
}

/// A vCPU's queue.
#[derive(Clone, Debug, Default)]
pub struct InterruptQueue {
    entries: heapless::Vec<QueuedInterrupt, QUEUE_CAPACITY>,
}

impl InterruptQueue {
    /// An empty queue.
    #[must_use]
    pub const fn new() -> Self {
        Self { entries: heapless::Vec::new() }
    }

    /// Queues `interrupt` behind every queued interrupt of the same or better priority. An
    /// INTID already queued stays queued once (pending is a state, not a count); a
    /// hardware-backed one replaces a software one, so the physical interrupt gets its end.
    pub fn push(&mut self, interrupt: QueuedInterrupt) -> Result<(), QueueError> {
        if let Some(queued) = self.entries.iter_mut().find(|queued| queued.intid == interrupt.intid) {
            if interrupt.physical.is_some() {
                queued.physical = interrupt.physical;
                queued.notify_end = false;
            }
            return Ok(());
        }
        let position = self.entries.iter().position(|queued| queued.priority > interrupt.priority);
        let position = position.unwrap_or(self.entries.len());
        self.entries.insert(position, interrupt).map_err(|_| QueueError::Full)
    }

    /// Removes `intid` if it is still queued; returns the physical interrupt it carried, which
    /// the caller must deactivate.
    pub fn withdraw(&mut self, intid: u32) -> Option<u32> {
        let position = self.entries.iter().position(|queued| queued.intid == intid)?;
        self.entries.remove(position).physical
    }

    /// The most urgent queued interrupt whose INTID `in_use` does not reject, removed from the
    /// queue.
    pub fn take_next(&mut self, in_use: impl Fn(u32) -> bool) -> Option<QueuedInterrupt> {
        let position = self.entries.iter().position(|queued| !in_use(queued.intid))?;
        Some(self.entries.remove(position))
    }

    /// The most urgent queued interrupt whose INTID `in_use` does not reject.
    #[must_use]
    pub fn peek_next(&self, in_use: impl Fn(u32) -> bool) -> Option<QueuedInterrupt> {
        self.entries.iter().find(|queued| !in_use(queued.intid)).copied()
    }

    /// Removes a queued `intid` that is not hardware-backed; whether there was one.
    pub fn withdraw_software(&mut self, intid: u32) -> bool {
        let Some(position) = self.entries.iter().position(|queued| queued.intid == intid && queued.physical.is_none())
        else {
            return false;
        };
        self.entries.remove(position);
        true
    }

    /// Whether an interrupt with this INTID (ignoring a GICv2 SGI's source bits) is queued.
    #[must_use]
    pub fn contains_line(&self, line: u32) -> bool {
        self.entries.iter().any(|queued| queued.intid & 0x3FF == line)
    }

    /// The INTID of the most urgent queued interrupt.
    #[must_use]
    pub fn peek_intid(&self) -> Option<u32> {
        self.entries.first().map(|queued| queued.intid)
    }

    /// Whether nothing is queued.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of queued interrupts.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drops everything (the vCPU was rebuilt), handing each physical interrupt a dropped entry
    /// carried to `deactivate`: nobody would end it otherwise, and it could never fire again.
    pub fn clear(&mut self, mut deactivate: impl FnMut(u32)) {
        for physical in self.entries.iter().filter_map(|queued| queued.physical) {
            deactivate(physical);
        }
        self.entries.clear();
    }
}

#[cfg(test)]
mod clear_tests {
    use super::*;

    #[test]
    fn clearing_hands_back_the_physical_interrupts() {
        let mut queue = InterruptQueue::new();
        queue.push(QueuedInterrupt { intid: 40, priority: 0x10, physical: None, notify_end: false }).unwrap();
        queue.push(QueuedInterrupt { intid: 54, priority: 0x20, physical: Some(54), notify_end: false }).unwrap();
        let mut deactivated = Vec::new();
        queue.clear(|physical| deactivated.push(physical));
        assert_eq!(deactivated, [54]);
        assert!(queue.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interrupt(intid: u32, priority: u8) -> QueuedInterrupt {
        QueuedInterrupt { intid, priority, physical: None, notify_end: false }
    }

    #[test]
    fn priority_order_then_arrival_order() {
        let mut queue = InterruptQueue::new();
        for (intid, priority) in [(40, 0xA0), (41, 0x80), (42, 0xA0), (27, 0x20)] {
            queue.push(interrupt(intid, priority)).unwrap();
        }
        let order: Vec<u32> = core::iter::from_fn(|| queue.take_next(|_| false).map(|queued| queued.intid)).collect();
        assert_eq!(order, [27, 41, 40, 42]);
    }

    #[test]
    fn pending_is_a_state_not_a_count() {
        let mut queue = InterruptQueue::new();
        queue.push(interrupt(33, 0xA0)).unwrap();
        queue.push(interrupt(33, 0xA0)).unwrap();
        assert_eq!(queue.len(), 1);
    }

    #[test]
    fn a_hardware_backed_copy_replaces_a_software_one() {
        let mut queue = InterruptQueue::new();
        queue.push(QueuedInterrupt { notify_end: true, ..interrupt(27, 0x20) }).unwrap();
        queue.push(QueuedInterrupt { physical: Some(27), ..interrupt(27, 0x20) }).unwrap();
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.withdraw(27), Some(27), "withdrawing it hands back the physical interrupt");
        assert_eq!(queue.withdraw(27), None);
    }

    #[test]
    fn interrupts_already_in_a_list_register_wait() {
        let mut queue = InterruptQueue::new();
        queue.push(interrupt(27, 0x20)).unwrap();
        queue.push(interrupt(33, 0xA0)).unwrap();
        assert_eq!(queue.take_next(|intid| intid == 27).map(|queued| queued.intid), Some(33));
        assert_eq!(queue.take_next(|intid| intid == 27), None);
        assert_eq!(queue.take_next(|_| false).map(|queued| queued.intid), Some(27));
    }

    #[test]
    fn withdraw_and_capacity() {
        let mut queue = InterruptQueue::new();
        for intid in 0..QUEUE_CAPACITY as u32 {
            queue.push(interrupt(100 + intid, 0xA0)).unwrap();
        }
        assert_eq!(queue.push(interrupt(99, 0x10)), Err(QueueError::Full));
        queue.withdraw(100);
        assert_eq!(queue.len(), QUEUE_CAPACITY - 1);
        queue.clear(|_| {});
        assert!(queue.is_empty());
    }
}
