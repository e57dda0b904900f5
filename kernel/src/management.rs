//! The hypervisor's end of the management channel: requests arrive as frames on the console's
//! serial line (`abi::framing`), between the keystrokes; status comes from the PSCI service,
//! which owns power state, and commands go through its mailbox like guests' calls. The kernel
//! only adds what it alone knows (names, pinning, resume latency) and writes the answers.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use somnus_abi::framing::{FrameReceiver, MAX_ENCODED_FRAME, MAX_WIRE_FRAME, Received, decode_frame, encode_frame};
use somnus_abi::ids::DomainId;
use somnus_abi::ipc::{ManagementCommand, Message, PowerReport};
use somnus_abi::management::{
    DomainSelector, DomainStatus, MANAGEMENT_VERSION, ManagementError, Request, RequestFrame, Response, ResponseFrame,
    VcpuStatus,
};
use spin::Mutex;

use crate::arch::aarch64::hypervisor_timer;
use crate::domain_builder::DOMAINS;
use crate::scheduler::MAX_DOMAINS;
use crate::services;

static RECEIVER: Mutex<FrameReceiver<MAX_ENCODED_FRAME>> = Mutex::new(FrameReceiver::new());
static WATCHING: AtomicBool = AtomicBool::new(false);
/// Frames that arrived but did not decode.
static MALFORMED: AtomicU64 = AtomicU64::new(0);
/// Per domain: when a wake-up was reported for it (ns; 0: none outstanding).
static WAKE_TIMES: [AtomicU64; MAX_DOMAINS] = [const { AtomicU64::new(0) }; MAX_DOMAINS];
/// Per domain: wake-up interrupt to first instruction at the entry point, last time (ns).
static RESUME_LATENCIES: [AtomicU64; MAX_DOMAINS] = [const { AtomicU64::new(0) }; MAX_DOMAINS];

/// A status request being answered: the reports gathered so far.
struct Query {
    sequence: u32,
    single: bool,
    statuses: heapless::Vec<DomainStatus, MAX_DOMAINS>,
}

static QUERY: Mutex<Option<Query>> = Mutex::new(None);

/// The board's name, for `Hello`.
static BOARD: spin::Once<&'static str> = spin::Once::new();

/// Records the board's name; boot CPU, once.
pub fn set_board(name: &'static str) {
    BOARD.call_once(|| name);
}

/// A byte from the console: keystrokes go to the virtual UART service, frames are requests.
pub fn console_byte(byte: u8) {
    let mut receiver = RECEIVER.lock();
    match receiver.feed(byte) {
        None => {}
        Some(Received::Text(text)) => {
            drop(receiver);
            let _ = services::registry().deliver(
                &Message::ConsoleInput { byte: text },
                services::run_on_service_stack,
                &mut services::apply_action,
            );
        }
        Some(Received::Frame(bytes)) => {
            let request = decode_frame::<RequestFrame>(bytes);
            drop(receiver);
            match request {
                Ok(frame) => handle(&frame),
                Err(_) => {
                    MALFORMED.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

fn send(sequence: u32, response: Response) {
    static BUFFER: Mutex<[u8; MAX_WIRE_FRAME]> = Mutex::new([0; MAX_WIRE_FRAME]);
    let mut buffer = BUFFER.lock();
    let encoded = encode_frame(&ResponseFrame { sequence, response }, &mut buffer[..]).map(<[u8]>::len);
    // Too large to encode (not with MAX_FRAME sized for 8 domains): answer with an error instead.
    let length = encoded.or_else(|_| {
        let error = ResponseFrame { sequence, response: Response::Error(ManagementError::Busy) };
        encode_frame(&error, &mut buffer[..]).map(<[u8]>::len)
    });
    let Ok(length) = length else { return };
    let frame = &buffer[..length];
    crate::console::write_raw(frame);
}

/// The domain a selector names (current generation).
fn resolve(selector: &DomainSelector) -> Option<DomainId> {
    let domains = DOMAINS.lock();
    domains
        .iter()
        .flatten()
        .find(|slot| match selector {
            DomainSelector::Number(number) => slot.id.index.checked_add(1) == Some(*number),
            DomainSelector::Name(name) => slot.name == *name,
        })
        .map(|slot| slot.id)
}

fn handle(frame: &RequestFrame) {
    let sequence = frame.sequence;
    let now = hypervisor_timer::now_ns();
    let command = |command, selector: &DomainSelector| match resolve(selector) {
        Some(domain) => deliver(Message::Management { sequence, command, domain, time_ns: now }),
        None => send(sequence, Response::Error(ManagementError::UnknownDomain)),
    };
    match &frame.request {
        Request::Hello { version } if *version == MANAGEMENT_VERSION => send(
            sequence,
            Response::Hello {
                version: MANAGEMENT_VERSION,
                board: heapless::String::try_from(BOARD.get().copied().unwrap_or("")).unwrap_or_default(),
                timer_frequency: hypervisor_timer::frequency(),
            },
        ),
        Request::Hello { .. } => send(sequence, Response::Error(ManagementError::VersionMismatch(MANAGEMENT_VERSION))),
        Request::List => query(sequence, None),
        Request::Show(selector) => match resolve(selector) {
            Some(domain) => query(sequence, Some(domain)),
            None => send(sequence, Response::Error(ManagementError::UnknownDomain)),
        },
        Request::Wake(selector) => command(ManagementCommand::Wake, selector),
        Request::Pause(selector) => command(ManagementCommand::Pause, selector),
        Request::Unpause(selector) => command(ManagementCommand::Unpause, selector),
        Request::Reset(selector) => command(ManagementCommand::Reset, selector),
        Request::Off(selector) => command(ManagementCommand::Off, selector),
        Request::Watch(enabled) => {
            WATCHING.store(*enabled, Ordering::Relaxed);
            send(sequence, Response::Done);
        }
    }
}

fn query(sequence: u32, domain: Option<DomainId>) {
    {
        let mut pending = QUERY.lock();
        if pending.is_some() {
            drop(pending);
            send(sequence, Response::Error(ManagementError::Busy));
            return;
        }
        *pending = Some(Query { sequence, single: domain.is_some(), statuses: heapless::Vec::new() });
    }
    deliver(Message::PowerQuery { sequence, domain, time_ns: hypervisor_timer::now_ns() });
}

fn deliver(message: Message) {
    let sequence = match message {
        Message::Management { sequence, .. } | Message::PowerQuery { sequence, .. } => sequence,
        _ => 0,
    };
    if services::registry().deliver(&message, services::run_on_service_stack, &mut services::apply_action).is_err() {
        QUERY.lock().take_if(|query| query.sequence == sequence);
        send(sequence, Response::Error(ManagementError::Busy));
    }
}

/// A `PowerReport` action: one domain's status for the pending query.
pub fn add_report(sequence: u32, report: &PowerReport) {
    let domains = DOMAINS.lock();
    let Some(slot) = domains.get(report.domain.index as usize).and_then(Option::as_ref) else { return };
    let mut vcpus = heapless::Vec::new();
    for index in 0..usize::from(report.vcpu_count).min(slot.vcpu_count) {
        let _ = vcpus.push(VcpuStatus {
            index: index as u8,
            state: report.vcpus[index],
            pcpu: slot.pcpus[index] as u8,
            power_down_count: report.power_down_count[index],
            power_down_residency_us: report.power_down_residency_us[index],
        });
    }
    let latency = RESUME_LATENCIES[report.domain.index as usize % MAX_DOMAINS].load(Ordering::Relaxed);
    let status = DomainStatus {
        id: report.domain,
        name: slot.name.clone(),
        state: report.state,
        since_ns: report.since_ns,
        vcpus,
        suspend_entry: report.resume_point.map(|(entry, _)| entry),
        suspend_context_id: report.resume_point.map(|(_, context_id)| context_id),
        suspend_count: report.suspend_count,
        resume_count: report.resume_count,
        last_wake_intid: report.last_wake_intid,
        last_resume_latency_ns: (latency != 0).then_some(latency),
        calls: report.calls,
    };
    drop(domains);
    if let Some(query) = QUERY.lock().as_mut().filter(|query| query.sequence == sequence) {
        let _ = query.statuses.push(status);
    }
}

/// A `ManagementReply` action: the request is finished.
pub fn finish(sequence: u32, result: Result<(), ManagementError>) {
    let query = QUERY.lock().take_if(|query| query.sequence == sequence);
    let response = match (result, query) {
        (Err(error), _) => Response::Error(error),
        (Ok(()), Some(query)) if query.single => match query.statuses.into_iter().next() {
            Some(status) => Response::Domain(status),
            None => Response::Error(ManagementError::UnknownDomain),
        },
        (Ok(()), Some(query)) => Response::Domains(query.statuses),
        (Ok(()), None) => Response::Done,
    };
    send(sequence, response);
}

/// A `PowerEvent` action: sent to a watching host.
pub fn event(domain: DomainId, state: somnus_abi::management::DomainState, time_ns: u64) {
    if WATCHING.load(Ordering::Relaxed) {
        send(0, Response::Event { domain, state, time_ns });
    }
}

/// The kernel reported a wake-up for `domain` (to time the resume).
pub fn wake_reported(domain: DomainId, time_ns: u64) {
    if let Some(time) = WAKE_TIMES.get(domain.index as usize) {
        let _ = time.compare_exchange(0, time_ns.max(1), Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// A vCPU of `domain` is about to run its first instruction after a start: the resume latency.
pub fn vcpu_started(domain: DomainId) {
    let index = domain.index as usize;
    if let (Some(time), Some(latency)) = (WAKE_TIMES.get(index), RESUME_LATENCIES.get(index)) {
        let woken = time.swap(0, Ordering::Relaxed);
        if woken != 0 {
            latency.store(hypervisor_timer::now_ns().saturating_sub(woken).max(1), Ordering::Relaxed);
        }
    }
}
