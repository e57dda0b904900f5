//! Property tests of `somnus_abi::framing` (they live here because the abi crate keeps no
//! dev-dependencies): the receiver never panics on any input; text and frames that follow the
//! protocol come out exactly; after any garbage or truncated frame every complete frame is still
//! recovered, and text after it passes through exactly.

use heapless::{String as BoundedString, Vec as BoundedVec};
use proptest::collection::vec;
use proptest::prelude::*;
use somnus_abi::framing::{FrameReceiver, MAX_ENCODED_FRAME, MAX_WIRE_FRAME, Received, decode_frame, encode_frame};
use somnus_abi::ids::DomainId;
use somnus_abi::management::{
    CALL_COUNTERS, DomainState, DomainStatus, ManagementError, RequestFrame, Response, ResponseFrame, VcpuState,
    VcpuStatus,
};

type Receiver = FrameReceiver<MAX_ENCODED_FRAME>;

fn domain_state() -> impl Strategy<Value = DomainState> {
    prop_oneof![
        Just(DomainState::Running),
        Just(DomainState::Paused),
        Just(DomainState::Suspended),
        Just(DomainState::Off),
        Just(DomainState::Crashed),
    ]
}

fn vcpu_status() -> impl Strategy<Value = VcpuStatus> {
    let state = prop_oneof![Just(VcpuState::On), Just(VcpuState::Off), Just(VcpuState::Suspended)];
    (any::<u8>(), state, any::<u8>(), any::<u64>(), any::<u64>()).prop_map(
        |(index, state, pcpu, power_down_count, power_down_residency_us)| VcpuStatus {
            index,
            state,
            pcpu,
            power_down_count,
            power_down_residency_us,
        },
    )
}

fn domain_status() -> impl Strategy<Value = DomainStatus> {
    let identity = (any::<u8>(), any::<u16>(), "[a-z0-9-]{1,32}", domain_state(), any::<u64>());
    let vcpus = vec(vcpu_status(), 0..=8);
    let suspend = (any::<Option<u64>>(), any::<Option<u64>>(), any::<u64>(), any::<u64>());
    let wake = (any::<Option<u32>>(), any::<Option<u64>>(), any::<[u64; CALL_COUNTERS]>());
    (identity, vcpus, suspend, wake).prop_map(|(identity, vcpus, suspend, wake)| DomainStatus {
        id: DomainId { index: identity.0, generation: identity.1 },
        name: BoundedString::try_from(identity.2.as_str()).unwrap(),
        state: identity.3,
        since_ns: identity.4,
        vcpus: BoundedVec::from_slice(&vcpus).unwrap(),
        suspend_entry: suspend.0,
        suspend_context_id: suspend.1,
        suspend_count: suspend.2,
        resume_count: suspend.3,
        last_wake_intid: wake.0,
        last_resume_latency_ns: wake.1,
        calls: wake.2,
    })
}

fn response() -> impl Strategy<Value = Response> {
    let error = prop_oneof![
        any::<u32>().prop_map(ManagementError::VersionMismatch),
        Just(ManagementError::UnknownDomain),
        domain_state().prop_map(ManagementError::InvalidState),
        Just(ManagementError::Busy),
    ];
    prop_oneof![
        (any::<u32>(), "[a-z-]{0,16}", any::<u64>()).prop_map(|(version, board, timer_frequency)| {
            Response::Hello { version, board: BoundedString::try_from(board.as_str()).unwrap(), timer_frequency }
        }),
        vec(domain_status(), 0..=3).prop_map(|domains| Response::Domains(BoundedVec::from_slice(&domains).unwrap())),
        domain_status().prop_map(Response::Domain),
        Just(Response::Done),
        error.prop_map(Response::Error),
        (any::<u8>(), any::<u16>(), domain_state(), any::<u64>()).prop_map(|(index, generation, state, time_ns)| {
            Response::Event { domain: DomainId { index, generation }, state, time_ns }
        }),
    ]
}

fn response_frame() -> impl Strategy<Value = ResponseFrame> {
    (any::<u32>(), response()).prop_map(|(sequence, response)| ResponseFrame { sequence, response })
}

fn wire(frame: &ResponseFrame) -> Vec<u8> {
    let mut buffer = vec![0u8; MAX_WIRE_FRAME];
    encode_frame(frame, &mut buffer).unwrap().to_vec()
}

/// A piece of a serial line.
#[derive(Clone, Debug)]
enum Segment {
    /// Console text (never 0x00).
    Text(Vec<u8>),
    /// A complete frame.
    Frame(ResponseFrame),
    /// The first `cut` bytes of a frame's wire bytes (its sender stopped).
    Head(ResponseFrame, usize),
    /// A frame's wire bytes from `cut` on (the receiver started listening late).
    Tail(ResponseFrame, usize),
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    vec(1..=u8::MAX, 1..80)
}

fn clean_segment() -> impl Strategy<Value = Segment> {
    prop_oneof![text().prop_map(Segment::Text), response_frame().prop_map(Segment::Frame)]
}

fn any_segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        3 => text().prop_map(Segment::Text),
        3 => response_frame().prop_map(Segment::Frame),
        1 => (response_frame(), any::<usize>()).prop_map(|(frame, cut)| Segment::Head(frame, cut)),
        1 => (response_frame(), any::<usize>()).prop_map(|(frame, cut)| Segment::Tail(frame, cut)),
    ]
}

/// What the receiver gave for one input byte.
#[derive(Debug, PartialEq)]
enum Outcome {
    Nothing,
    Text(u8),
    Frame(Option<Box<ResponseFrame>>),
}

fn feed_all(receiver: &mut Receiver, line: &[u8]) -> Vec<Outcome> {
    line.iter()
        .map(|&byte| match receiver.feed(byte) {
            None => Outcome::Nothing,
            Some(Received::Text(byte)) => Outcome::Text(byte),
            Some(Received::Frame(body)) => {
                assert!(!body.is_empty() && body.len() <= MAX_ENCODED_FRAME && !body.contains(&0));
                Outcome::Frame(decode_frame::<ResponseFrame>(body).ok().map(Box::new))
            }
        })
        .collect()
}

/// Lays `segments` after `garbage` and returns the line with what each byte must yield where
/// the protocol guarantees it (`None`: anything goes).
fn lay_out(garbage: &[u8], segments: &[Segment]) -> (Vec<u8>, Vec<Option<Outcome>>) {
    let mut line = garbage.to_vec();
    let mut expected: Vec<Option<Outcome>> = garbage.iter().map(|_| None).collect();
    let mut in_step = garbage.is_empty();
    for segment in segments {
        match segment {
            Segment::Text(text) => {
                line.extend_from_slice(text);
                expected.extend(text.iter().map(|&byte| in_step.then_some(Outcome::Text(byte))));
            }
            Segment::Frame(frame) => {
                let bytes = wire(frame);
                line.extend_from_slice(&bytes);
                // The first 0x00 may close a garbage frame; after the second the receiver is in
                // frame mode with an empty buffer, whatever came before.
                expected.push(in_step.then_some(Outcome::Nothing));
                expected.extend((2..bytes.len()).map(|_| Some(Outcome::Nothing)));
                expected.push(Some(Outcome::Frame(Some(Box::new(frame.clone())))));
                in_step = true;
            }
            Segment::Head(frame, cut) | Segment::Tail(frame, cut) => {
                let bytes = wire(frame);
                let cut = 1 + cut % (bytes.len() - 1);
                let piece = if matches!(segment, Segment::Head(..)) { &bytes[..cut] } else { &bytes[cut..] };
                line.extend_from_slice(piece);
                expected.extend(piece.iter().map(|_| None));
                in_step = false;
            }
        }
    }
    (line, expected)
}

fn check(line: &[u8], expected: &[Option<Outcome>], outcomes: &[Outcome]) -> Result<(), TestCaseError> {
    for (index, (expected, outcome)) in expected.iter().zip(outcomes).enumerate() {
        if let Some(expected) = expected {
            prop_assert_eq!(expected, outcome, "byte {} of {:?}", index, line);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_are_survived(line in vec(any::<u8>(), 0..3000)) {
        let mut receiver = FrameReceiver::<64>::new();
        for byte in line {
            match receiver.feed(byte) {
                Some(Received::Text(text)) => prop_assert_ne!(text, 0),
                Some(Received::Frame(body)) => {
                    prop_assert!(!body.is_empty() && body.len() <= 64);
                    let _ = decode_frame::<ResponseFrame>(&mut body.to_vec());
                    let _ = decode_frame::<RequestFrame>(body);
                }
                None => {}
            }
        }
    }

    #[test]
    fn text_and_frames_come_out_exactly(segments in vec(clean_segment(), 0..12)) {
        let mut receiver = Receiver::new();
        let (line, expected) = lay_out(&[], &segments);
        prop_assert!(expected.iter().all(Option::is_some));
        let outcomes = feed_all(&mut receiver, &line);
        check(&line, &expected, &outcomes)?;
        prop_assert_eq!(receiver.dropped_frames(), 0);
        prop_assert!(!receiver.in_frame());
    }

    #[test]
    fn frames_survive_garbage_and_truncation(
        garbage in vec(any::<u8>(), 0..300),
        segments in vec(any_segment(), 0..12),
    ) {
        let mut receiver = Receiver::new();
        let (line, expected) = lay_out(&garbage, &segments);
        let outcomes = feed_all(&mut receiver, &line);
        check(&line, &expected, &outcomes)?;
    }

    #[test]
    fn long_garbage_overflows_and_recovers(
        length in 0..3 * MAX_ENCODED_FRAME,
        first in response_frame(),
        rest in vec(clean_segment(), 0..3),
    ) {
        let mut receiver = Receiver::new();
        // A frame that never ends, `length` bytes long, then a complete frame.
        let mut garbage = vec![0u8];
        garbage.extend((0..length).map(|index| 1 + (index % 255) as u8));
        let segments: Vec<Segment> = [Segment::Frame(first)].into_iter().chain(rest).collect();
        let (line, expected) = lay_out(&garbage, &segments);
        let outcomes = feed_all(&mut receiver, &line);
        check(&line, &expected, &outcomes)?;
        prop_assert_eq!(receiver.dropped_frames(), u64::from(length > MAX_ENCODED_FRAME));
    }

    #[test]
    fn cobs_round_trips_any_bytes(bytes in vec(any::<u8>(), 0..1200)) {
        let mut buffer = vec![0u8; MAX_WIRE_FRAME];
        let frame = encode_frame(&bytes, &mut buffer).unwrap();
        prop_assert!(!frame[2..frame.len() - 1].contains(&0));
        let mut body = frame[2..frame.len() - 1].to_vec();
        prop_assert_eq!(decode_frame::<Vec<u8>>(&mut body), Ok(bytes));
    }
}
