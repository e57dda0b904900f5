//! The alarm a service can set (`Action::ArmAlarm`): one deadline, checked at every hypervisor
//! tick, that becomes an `AlarmDue` message for the service registered with `Route::Alarm` (the
//! virtual RTC). Device models need no faster clock than the 1 ms tick.

use core::sync::atomic::{AtomicU64, Ordering};

use somnus_abi::ipc::Message;

use crate::services;

/// No alarm armed.
const NONE: u64 = u64::MAX;

/// The armed deadline in nanoseconds of the monotonic clock, or `NONE`.
static DEADLINE: AtomicU64 = AtomicU64::new(NONE);

/// Arms (or, with `None`, cancels) the alarm; a new deadline replaces the old one.
pub fn arm(deadline_ns: Option<u64>) {
    DEADLINE.store(deadline_ns.map_or(NONE, |deadline| deadline.min(NONE - 1)), Ordering::Release);
}

/// On a tick: if the deadline passed, disarm it and tell the service. Exactly one CPU claims a
/// given deadline.
pub fn check(now_ns: u64) {
    let deadline = DEADLINE.load(Ordering::Acquire);
    if deadline > now_ns || DEADLINE.compare_exchange(deadline, NONE, Ordering::AcqRel, Ordering::Acquire).is_err() {
        return;
    }
    let message = Message::AlarmDue { time_ns: now_ns };
    let delivered = services::registry().deliver(&message, services::run_on_service_stack, &mut services::apply_action);
    if delivered.is_err() {
        // Mailbox full: try again at the next tick rather than lose the alarm.
        let _ = DEADLINE.compare_exchange(NONE, deadline, Ordering::AcqRel, Ordering::Acquire);
    }
}
