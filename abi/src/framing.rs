//! Frames of the management protocol on a serial line shared with console text.
//!
//! On the wire a frame is `0x00 0x00 COBS(postcard(value)) 0x00`. COBS removes every zero byte
//! from the encoded value, and console text never carries 0x00, so a zero byte always belongs to
//! a frame delimiter. A receiver in text mode passes every byte through as text; a 0x00 opens a
//! frame, the bytes up to the next 0x00 are the frame, and that 0x00 closes it (back to text
//! mode). An empty frame (two zeros in a row) keeps the receiver in frame mode, which is why a
//! frame starts with *two* zeros: whatever came before (line noise, the truncated frame of a
//! sender that stopped half-way), after `0x00 0x00` the receiver is in frame mode with an empty
//! buffer, so every complete frame is recovered. Keystrokes and text outside frames are never
//! swallowed while sender and receiver agree; after garbage, text is lost at most up to the next
//! frame.
//!
//! Decoding is strict: a frame must be valid COBS and its postcard value must use every decoded
//! byte. Frames that do not decode are the caller's to count and drop.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::management::MAX_FRAME;

/// Bytes `encode_frame` adds around the COBS-encoded value (two leading zeros, one trailing).
pub const DELIMITER_BYTES: usize = 3;

/// The longest COBS encoding of `length` bytes (one code byte per 254 bytes, plus one).
#[must_use]
pub const fn cobs_encoded_length(length: usize) -> usize {
    length + length / 254 + 1
}

/// Longest frame body (COBS bytes between the delimiters) of a `MAX_FRAME`-byte value; the
/// size of a receiver's buffer on either side.
pub const MAX_ENCODED_FRAME: usize = cobs_encoded_length(MAX_FRAME);

/// Buffer size for `encode_frame` of any value of at most `MAX_FRAME` encoded bytes.
pub const MAX_WIRE_FRAME: usize = MAX_ENCODED_FRAME + DELIMITER_BYTES;

/// Why a frame could not be encoded or decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The output buffer is too small for the encoded value.
    BufferFull,
    /// postcard could not serialize the value.
    Serialize,
    /// The frame is not valid COBS.
    BadEncoding,
    /// The decoded bytes are not a valid value of the expected type.
    Deserialize,
    /// A valid value was decoded but bytes were left over.
    TrailingBytes,
}

/// Encodes `value` as one frame, `0x00 0x00 COBS(postcard(value)) 0x00`, into `buffer`
/// (`MAX_WIRE_FRAME` bytes hold any value within `MAX_FRAME`); returns the bytes to send.
pub fn encode_frame<'a>(value: &impl Serialize, buffer: &'a mut [u8]) -> Result<&'a [u8], FrameError> {
    let Some((leading, body)) = buffer.split_first_chunk_mut::<2>() else {
        return Err(FrameError::BufferFull);
    };
    *leading = [0, 0];
    // `to_slice_cobs` writes the COBS bytes and the closing 0x00.
    let encoded_length = match postcard::to_slice_cobs(value, body) {
        Ok(encoded) => encoded.len(),
        Err(postcard::Error::SerializeBufferFull) => return Err(FrameError::BufferFull),
        Err(_) => return Err(FrameError::Serialize),
    };
    Ok(&buffer[..2 + encoded_length])
}

/// Decodes the body of a frame (as `Received::Frame` gives it) in place. Strict: the body must
/// be valid COBS and the value must use every decoded byte.
pub fn decode_frame<T: DeserializeOwned>(body: &mut [u8]) -> Result<T, FrameError> {
    let length = cobs_decode_in_place(body).ok_or(FrameError::BadEncoding)?;
    let (value, rest) = postcard::take_from_bytes::<T>(&body[..length]).map_err(|_| FrameError::Deserialize)?;
    if rest.is_empty() { Ok(value) } else { Err(FrameError::TrailingBytes) }
}

/// Undoes COBS in place (no terminating zero in `buffer`); returns the decoded length, or `None`
/// when `buffer` is not a complete COBS encoding. The write position never passes the read
/// position, so decoding in place is sound.
fn cobs_decode_in_place(buffer: &mut [u8]) -> Option<usize> {
    let mut read = 0;
    let mut write = 0;
    while read < buffer.len() {
        let code = usize::from(buffer[read]);
        if code == 0 || read + code > buffer.len() {
            return None;
        }
        read += 1;
        for _ in 1..code {
            let byte = buffer[read];
            if byte == 0 {
                return None;
            }
            buffer[write] = byte;
            write += 1;
            read += 1;
        }
        if code != 0xFF && read < buffer.len() {
            buffer[write] = 0;
            write += 1;
        }
    }
    Some(write)
}

/// What one byte fed to a `FrameReceiver` produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Received<'a> {
    /// A byte of console text (outside any frame).
    Text(u8),
    /// A complete frame body (COBS bytes, no delimiters); decode it with `decode_frame`.
    Frame(&'a mut [u8]),
}

/// What a `FrameReceiver` is in the middle of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Passing bytes through as text.
    Text,
    /// Collecting a frame body.
    Frame,
    /// Skipping the rest of a frame too long for the buffer.
    Overflow,
}

/// Splits a byte stream into console text and frame bodies of at most `N` bytes, one byte at a
/// time, without allocating (the kernel keeps one per serial line; `N = MAX_ENCODED_FRAME`).
#[derive(Clone, Debug)]
pub struct FrameReceiver<const N: usize> {
    buffer: [u8; N],
    length: usize,
    mode: Mode,
    dropped_frames: u64,
}

impl<const N: usize> Default for FrameReceiver<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameReceiver<N> {
    /// A receiver in text mode.
    #[must_use]
    pub const fn new() -> Self {
        Self { buffer: [0; N], length: 0, mode: Mode::Text, dropped_frames: 0 }
    }

    /// Takes the next byte of the line: text outside frames is handed back at once, a frame when
    /// its closing 0x00 arrives, nothing while a frame is being collected.
    pub fn feed(&mut self, byte: u8) -> Option<Received<'_>> {
        match (self.mode, byte) {
            (Mode::Text, 0) => {
                self.mode = Mode::Frame;
                self.length = 0;
                None
            }
            (Mode::Text, text) => Some(Received::Text(text)),
            (Mode::Frame, 0) if self.length == 0 => None,
            (Mode::Frame, 0) => {
                self.mode = Mode::Text;
                let length = core::mem::take(&mut self.length);
                Some(Received::Frame(&mut self.buffer[..length]))
            }
            (Mode::Frame, body) => {
                if self.length == N {
                    self.mode = Mode::Overflow;
                    self.length = 0;
                    self.dropped_frames += 1;
                } else {
                    self.buffer[self.length] = body;
                    self.length += 1;
                }
                None
            }
            (Mode::Overflow, 0) => {
                self.mode = Mode::Text;
                None
            }
            (Mode::Overflow, _) => None,
        }
    }

    /// Frames dropped because they were longer than `N` bytes.
    #[must_use]
    pub const fn dropped_frames(&self) -> u64 {
        self.dropped_frames
    }

    /// Whether the receiver is inside a frame (bytes are not passed through as text).
    #[must_use]
    pub const fn in_frame(&self) -> bool {
        !matches!(self.mode, Mode::Text)
    }
}

#[cfg(test)]
mod tests {
    use heapless::{String, Vec};

    use super::*;
    use crate::ids::DomainId;
    use crate::management::{
        CALL_COUNTERS, DomainSelector, DomainState, DomainStatus, MANAGEMENT_VERSION, ManagementError, Request,
        RequestFrame, Response, ResponseFrame, VcpuState, VcpuStatus,
    };

    fn status() -> DomainStatus {
        let mut vcpus = Vec::new();
        for index in 0..2 {
            let state = if index == 0 { VcpuState::Suspended } else { VcpuState::Off };
            let vcpu =
                VcpuStatus { index, state, pcpu: index + 2, power_down_count: 7, power_down_residency_us: 1 << 40 };
            vcpus.push(vcpu).unwrap();
        }
        let mut calls = [0; CALL_COUNTERS];
        calls[4] = 1;
        calls[10] = u64::MAX;
        DomainStatus {
            id: DomainId { index: 0, generation: 3 },
            name: String::try_from("linux").unwrap(),
            state: DomainState::Suspended,
            since_ns: 123_456_789,
            vcpus,
            suspend_entry: Some(0x4008_1000),
            suspend_context_id: Some(0),
            suspend_count: 2,
            resume_count: 1,
            last_wake_intid: Some(u32::MAX),
            last_resume_latency_ns: None,
            calls,
        }
    }

    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + core::fmt::Debug>(value: &T) {
        let mut wire = [0u8; MAX_WIRE_FRAME];
        let frame = encode_frame(value, &mut wire).unwrap();
        assert_eq!(&frame[..2], &[0, 0]);
        assert_eq!(frame.last(), Some(&0));
        assert!(!frame[2..frame.len() - 1].contains(&0));
        let mut receiver = FrameReceiver::<MAX_ENCODED_FRAME>::new();
        let mut decoded = None;
        for &byte in frame {
            match receiver.feed(byte) {
                Some(Received::Frame(body)) => decoded = Some(decode_frame::<T>(body).unwrap()),
                Some(Received::Text(text)) => panic!("text byte {text:#x} inside a frame"),
                None => {}
            }
        }
        assert_eq!(decoded.as_ref(), Some(value));
        assert!(!receiver.in_frame());
    }

    #[test]
    fn every_request_round_trips() {
        let name = DomainSelector::Name(String::try_from("rtos").unwrap());
        let requests = [
            Request::Hello { version: MANAGEMENT_VERSION },
            Request::List,
            Request::Show(name.clone()),
            Request::Wake(DomainSelector::Number(1)),
            Request::Pause(name.clone()),
            Request::Unpause(DomainSelector::Number(255)),
            Request::Reset(name.clone()),
            Request::Off(name),
            Request::Watch(true),
            Request::Watch(false),
        ];
        for (sequence, request) in (1..).zip(requests) {
            round_trip(&RequestFrame { sequence, request });
        }
    }

    #[test]
    fn every_response_round_trips() {
        let mut domains = Vec::new();
        for index in 0..crate::domain_bundle::MAX_DOMAINS as u8 {
            let mut domain = status();
            domain.id.index = index;
            domains.push(domain).unwrap();
        }
        let board = String::try_from("qemu-virt").unwrap();
        let event =
            Response::Event { domain: DomainId { index: 7, generation: 1 }, state: DomainState::Paused, time_ns: 9 };
        round_trip(&ResponseFrame {
            sequence: 1,
            response: Response::Hello { version: 1, board, timer_frequency: 62_500_000 },
        });
        round_trip(&ResponseFrame { sequence: 2, response: Response::Domains(Vec::new()) });
        round_trip(&ResponseFrame { sequence: 3, response: Response::Domains(domains) });
        round_trip(&ResponseFrame { sequence: 4, response: Response::Domain(status()) });
        round_trip(&ResponseFrame { sequence: 5, response: Response::Done });
        round_trip(&ResponseFrame { sequence: 0, response: event });
        let errors = [
            ManagementError::VersionMismatch(2),
            ManagementError::UnknownDomain,
            ManagementError::InvalidState(DomainState::Crashed),
            ManagementError::Busy,
        ];
        for (sequence, error) in (6..).zip(errors) {
            round_trip(&ResponseFrame { sequence, response: Response::Error(error) });
        }
    }

    #[test]
    fn text_between_frames_passes_through() {
        let mut wire = [0u8; 64];
        let mut line: Vec<u8, 256> = Vec::new();
        line.extend_from_slice(b"boot\r\n").unwrap();
        line.extend_from_slice(encode_frame(&Request::List, &mut wire).unwrap()).unwrap();
        line.extend_from_slice(b"(d1) hi").unwrap();
        line.extend_from_slice(encode_frame(&Request::Watch(true), &mut wire).unwrap()).unwrap();
        line.extend_from_slice(encode_frame(&Request::Watch(false), &mut wire).unwrap()).unwrap();
        line.extend_from_slice(b"!").unwrap();
        let mut receiver = FrameReceiver::<16>::new();
        let mut text: Vec<u8, 64> = Vec::new();
        let mut requests: Vec<Request, 4> = Vec::new();
        for &byte in &line {
            match receiver.feed(byte) {
                Some(Received::Text(byte)) => text.push(byte).unwrap(),
                Some(Received::Frame(body)) => requests.push(decode_frame(body).unwrap()).unwrap(),
                None => {}
            }
        }
        assert_eq!(&text[..], b"boot\r\n(d1) hi!");
        assert_eq!(&requests[..], &[Request::List, Request::Watch(true), Request::Watch(false)]);
    }

    #[test]
    fn long_frame_is_dropped_and_counted() {
        let mut receiver = FrameReceiver::<4>::new();
        let line = [0, 0, 1, 2, 3, 4, 5, 6, 0, b'a', 0, 2, 7, 0];
        let mut seen: Vec<Option<(bool, u8)>, 16> = Vec::new();
        for byte in line {
            let outcome = receiver.feed(byte).map(|received| match received {
                Received::Text(text) => (true, text),
                Received::Frame(body) => (false, body.len() as u8),
            });
            seen.push(outcome).unwrap();
        }
        assert_eq!(receiver.dropped_frames(), 1);
        assert_eq!(seen[9], Some((true, b'a')));
        assert_eq!(seen[13], Some((false, 2)));
        assert_eq!(seen.iter().flatten().count(), 2);
    }

    #[test]
    fn undecodable_frames_are_errors() {
        assert_eq!(decode_frame::<Request>(&mut [0x05, 1]), Err(FrameError::BadEncoding));
        assert_eq!(decode_frame::<Request>(&mut [0x02, 0x63]), Err(FrameError::Deserialize));
        // `List` (variant 1) followed by an extra byte.
        assert_eq!(decode_frame::<Request>(&mut [0x03, 0x01, 0x01]), Err(FrameError::TrailingBytes));
        assert_eq!(decode_frame::<Request>(&mut [0x02, 0x01]), Ok(Request::List));
        assert_eq!(encode_frame(&Request::List, &mut [0u8; 4]), Err(FrameError::BufferFull));
    }
}
