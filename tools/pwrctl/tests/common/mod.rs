//! Test support: sample domain statuses and a fake hypervisor serving the management protocol
//! on a Unix socket in a temporary directory, with console text and a malformed frame around
//! every answer.
// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::{self, JoinHandle};

use heapless::{String as BoundedString, Vec as BoundedVec};
use somnus_abi::framing::{FrameReceiver, MAX_ENCODED_FRAME, MAX_WIRE_FRAME, Received, decode_frame, encode_frame};
use somnus_abi::ids::DomainId;
use somnus_abi::management::{
    CALL_COUNTERS, DomainSelector, DomainState, DomainStatus, MANAGEMENT_VERSION, ManagementError, Request,
    RequestFrame, Response, ResponseFrame, VcpuState, VcpuStatus,
};

/// Counter frequency the fake reports (QEMU virt's).
pub const TIMER_FREQUENCY: u64 = 62_500_000;
/// A frame that is not valid COBS (code 5 promises four bytes, two follow).
pub const MALFORMED_FRAME: &[u8] = &[0, 0, 0x05, 0x01, 0x02, 0];
/// A valid COBS frame that is no `ResponseFrame` (a sequence number and nothing else).
pub const UNDECODABLE_FRAME: &[u8] = &[0, 0, 0x02, 0x63, 0];

fn vcpu(index: u8, state: VcpuState, pcpu: u8, power_down_count: u64, power_down_residency_us: u64) -> VcpuStatus {
    VcpuStatus { index, state, pcpu, power_down_count, power_down_residency_us }
}

/// Three domains: a suspended two-vCPU `linux` woken by its RTC before, a running `heartbeat`,
/// and a paused `rtos` last woken by management.
pub fn sample_domains() -> Vec<DomainStatus> {
    let mut linux_calls = [0; CALL_COUNTERS];
    linux_calls[0] = 1; // PSCI_VERSION
    linux_calls[1] = 4; // PSCI_FEATURES
    linux_calls[3] = 1; // CPU_OFF
    linux_calls[4] = 1; // CPU_ON
    linux_calls[10] = 3; // SYSTEM_SUSPEND
    let mut heartbeat_calls = [0; CALL_COUNTERS];
    heartbeat_calls[0] = 1;
    let linux = DomainStatus {
        id: DomainId { index: 0, generation: 2 },
        name: BoundedString::try_from("linux").unwrap(),
        state: DomainState::Suspended,
        since_ns: 12_345_678_901,
        vcpus: BoundedVec::from_slice(&[
            vcpu(0, VcpuState::Suspended, 0, 3, 1_500_000),
            vcpu(1, VcpuState::Off, 1, 1, 4_000_000),
        ])
        .unwrap(),
        suspend_entry: Some(0x4008_1234),
        suspend_context_id: Some(0),
        suspend_count: 3,
        resume_count: 2,
        last_wake_intid: Some(34),
        last_resume_latency_ns: Some(41_250),
        calls: linux_calls,
    };
    let heartbeat = DomainStatus {
        id: DomainId { index: 1, generation: 0 },
        name: BoundedString::try_from("heartbeat").unwrap(),
        state: DomainState::Running,
        since_ns: 0,
        vcpus: BoundedVec::from_slice(&[vcpu(0, VcpuState::On, 2, 0, 0)]).unwrap(),
        suspend_entry: None,
        suspend_context_id: None,
        suspend_count: 0,
        resume_count: 0,
        last_wake_intid: None,
        last_resume_latency_ns: None,
        calls: heartbeat_calls,
    };
    let rtos = DomainStatus {
        id: DomainId { index: 2, generation: 1 },
        name: BoundedString::try_from("rtos").unwrap(),
        state: DomainState::Paused,
        since_ns: 3_000_000_000,
        vcpus: BoundedVec::from_slice(&[vcpu(0, VcpuState::On, 3, 1, 250)]).unwrap(),
        suspend_entry: Some(0x4000_0000),
        suspend_context_id: Some(0xdead_beef),
        suspend_count: 1,
        resume_count: 1,
        last_wake_intid: Some(u32::MAX),
        last_resume_latency_ns: Some(7_008),
        calls: [0; CALL_COUNTERS],
    };
    vec![linux, heartbeat, rtos]
}

/// How the fake behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers every request.
    Normal,
    /// Answers `Hello` with another protocol version.
    WrongVersion,
    /// Never answers.
    Silent,
}

/// What the fake saw, once the connection closed.
#[derive(Debug, Default)]
pub struct Transcript {
    /// Requests, in order.
    pub requests: Vec<Request>,
    /// Console text (keystrokes) received outside frames.
    pub text: Vec<u8>,
}

/// A fake hypervisor serving one connection.
pub struct FakeHypervisor {
    /// The `--connect` argument that reaches it.
    connect: String,
    /// The socket file, for a Unix socket (`None` for TCP).
    pub socket: Option<PathBuf>,
    directory: Option<PathBuf>,
    server: Option<JoinHandle<Transcript>>,
}

impl FakeHypervisor {
    /// Listens on a Unix socket in a new temporary directory.
    pub fn start(behaviour: Behaviour) -> Self {
        static INSTANCE: AtomicU32 = AtomicU32::new(0);
        let instance = INSTANCE.fetch_add(1, Ordering::Relaxed);
        let directory = std::env::temp_dir().join(format!("pwrctl-test-{}-{instance}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let socket = directory.join("console.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let server = thread::spawn(move || serve(listener.accept().unwrap().0, behaviour));
        let connect = format!("unix:{}", socket.display());
        Self { connect, socket: Some(socket), directory: Some(directory), server: Some(server) }
    }

    /// Listens on a TCP port of the loopback address.
    pub fn start_tcp(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let connect = format!("tcp:{}", listener.local_addr().unwrap());
        let server = thread::spawn(move || serve(listener.accept().unwrap().0, behaviour));
        Self { connect, socket: None, directory: None, server: Some(server) }
    }

    /// `--connect` argument.
    pub fn connect_argument(&self) -> String {
        self.connect.clone()
    }

    /// Waits for the connection to close and returns what the fake saw.
    pub fn finish(mut self) -> Transcript {
        self.server.take().unwrap().join().unwrap()
    }
}

impl Drop for FakeHypervisor {
    fn drop(&mut self) {
        if let Some(directory) = &self.directory {
            let _ = std::fs::remove_dir_all(directory);
        }
    }
}

/// Serves one connection until the client closes it.
fn serve(mut stream: impl Read + Write, behaviour: Behaviour) -> Transcript {
    let mut transcript = Transcript::default();
    let mut receiver = FrameReceiver::<MAX_ENCODED_FRAME>::new();
    let mut domains = sample_domains();
    let mut chunk = [0u8; 256];
    while let Ok(length) = stream.read(&mut chunk) {
        if length == 0 {
            break;
        }
        for &byte in &chunk[..length] {
            let request = match receiver.feed(byte) {
                Some(Received::Text(byte)) => {
                    transcript.text.push(byte);
                    continue;
                }
                Some(Received::Frame(body)) => decode_frame::<RequestFrame>(body).expect("pwrctl sent a bad frame"),
                None => continue,
            };
            transcript.requests.push(request.request.clone());
            if behaviour == Behaviour::Silent {
                continue;
            }
            let watch = request.request == Request::Watch(true);
            let response = answer(&request.request, behaviour, &mut domains);
            if send(&mut stream, request.sequence, response).is_err() {
                return transcript;
            }
            if watch {
                send_events(&mut stream);
                return transcript;
            }
        }
    }
    transcript
}

/// The answer to one request.
fn answer(request: &Request, behaviour: Behaviour, domains: &mut [DomainStatus]) -> Response {
    let find = |selector: &DomainSelector, domains: &[DomainStatus]| {
        domains.iter().position(|domain| match selector {
            DomainSelector::Number(number) => u16::from(domain.id.index) + 1 == u16::from(*number),
            DomainSelector::Name(name) => domain.name == *name,
        })
    };
    match request {
        Request::Hello { .. } => {
            let version =
                if behaviour == Behaviour::WrongVersion { MANAGEMENT_VERSION + 1 } else { MANAGEMENT_VERSION };
            let board = BoundedString::try_from("fake-board").unwrap();
            Response::Hello { version, board, timer_frequency: TIMER_FREQUENCY }
        }
        Request::List => Response::Domains(BoundedVec::from_slice(domains).unwrap()),
        Request::Watch(_) => Response::Done,
        Request::Show(selector) => match find(selector, domains) {
            Some(index) => Response::Domain(domains[index].clone()),
            None => Response::Error(ManagementError::UnknownDomain),
        },
        Request::Wake(selector) => match find(selector, domains) {
            Some(index) if domains[index].state == DomainState::Suspended => {
                domains[index].state = DomainState::Running;
                Response::Done
            }
            Some(index) => Response::Error(ManagementError::InvalidState(domains[index].state)),
            None => Response::Error(ManagementError::UnknownDomain),
        },
        Request::Pause(selector) | Request::Unpause(selector) | Request::Reset(selector) | Request::Off(selector) => {
            match find(selector, domains) {
                Some(_) => Response::Done,
                None => Response::Error(ManagementError::UnknownDomain),
            }
        }
    }
}

/// Sends an answer wrapped in console text and bad frames, as a busy serial line would.
fn send(stream: &mut impl Write, sequence: u32, response: Response) -> std::io::Result<()> {
    let mut wire = vec![0u8; MAX_WIRE_FRAME];
    let frame = encode_frame(&ResponseFrame { sequence, response }, &mut wire).unwrap();
    let stale = ResponseFrame { sequence: sequence.wrapping_add(1000), response: Response::Done };
    let mut stale_wire = vec![0u8; MAX_WIRE_FRAME];
    let stale = encode_frame(&stale, &mut stale_wire).unwrap();
    let mut line = Vec::new();
    line.extend_from_slice(b"(d1) console text before\r\n");
    line.extend_from_slice(MALFORMED_FRAME);
    line.extend_from_slice(b"(d2) between");
    line.extend_from_slice(UNDECODABLE_FRAME);
    line.extend_from_slice(stale);
    line.extend_from_slice(b" frames\r\n");
    // Split inside the frame, so pwrctl has to put it together from two reads.
    let split = line.len() + frame.len() / 2;
    line.extend_from_slice(frame);
    line.extend_from_slice(b"(d1) console text after\r\n");
    stream.write_all(&line[..split])?;
    stream.flush()?;
    thread::sleep(std::time::Duration::from_millis(5));
    stream.write_all(&line[split..])?;
    stream.flush()
}

/// After `Watch(true)`: the linux domain wakes, then suspends again; then the line closes.
fn send_events(stream: &mut impl Write) {
    let domain = DomainId { index: 0, generation: 2 };
    let events = [(DomainState::Running, 20_000_000_000), (DomainState::Suspended, 21_500_000_000)];
    for (state, time_ns) in events {
        let _ = send(stream, 0, Response::Event { domain, state, time_ns });
    }
}
