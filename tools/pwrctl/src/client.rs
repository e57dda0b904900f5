//! A session with the hypervisor's management endpoint: `Hello` first (refusing another
//! protocol version), then requests and their answers, matched by sequence number. Console text
//! that arrives meanwhile goes to a text sink (dropped unless `--show-console`); malformed or
//! oversized frames are skipped and counted.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use somnus_abi::framing::{FrameReceiver, MAX_ENCODED_FRAME, MAX_WIRE_FRAME, Received, decode_frame, encode_frame};
use somnus_abi::management::{MANAGEMENT_VERSION, ManagementError, Request, RequestFrame, Response, ResponseFrame};

use crate::error::PwrctlError;
use crate::link::{Link, is_timeout};

/// Receive buffer: room for frames beyond `MAX_FRAME`, should the hypervisor's lists grow.
pub const RECEIVE_BUFFER: usize = 4 * MAX_ENCODED_FRAME;
/// Sequence number of the `Hello` request.
const HELLO_SEQUENCE: u32 = 1;

/// What the hypervisor said in answer to `Hello`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelloAnswer {
    /// Its protocol version (equal to ours).
    pub version: u32,
    /// Board name.
    pub board: String,
    /// Frequency of the counter its times come from, in Hz.
    pub timer_frequency: u64,
}

/// An open session.
pub struct Client {
    link: Box<dyn Link>,
    receiver: Box<FrameReceiver<RECEIVE_BUFFER>>,
    text_sink: Box<dyn Write + Send>,
    timeout: Duration,
    next_sequence: u32,
    pending: VecDeque<ResponseFrame>,
    malformed_frames: u64,
    hello: HelloAnswer,
}

impl Client {
    /// Says `Hello` on `link` and checks the hypervisor's protocol version. Console text seen
    /// while waiting goes to `text_sink`.
    pub fn connect(
        link: Box<dyn Link>,
        timeout: Duration,
        text_sink: Box<dyn Write + Send>,
    ) -> Result<Self, PwrctlError> {
        let hello = HelloAnswer { version: 0, board: String::new(), timer_frequency: 0 };
        let mut client = Self {
            link,
            receiver: Box::new(FrameReceiver::new()),
            text_sink,
            timeout,
            next_sequence: HELLO_SEQUENCE,
            pending: VecDeque::new(),
            malformed_frames: 0,
            hello,
        };
        match client.request(Request::Hello { version: MANAGEMENT_VERSION })? {
            Response::Hello { version, board, timer_frequency } if version == MANAGEMENT_VERSION => {
                client.hello = HelloAnswer { version, board: board.as_str().to_owned(), timer_frequency };
                Ok(client)
            }
            Response::Hello { version: theirs, .. } | Response::Error(ManagementError::VersionMismatch(theirs)) => {
                Err(PwrctlError::VersionMismatch { ours: MANAGEMENT_VERSION, theirs })
            }
            other => Err(PwrctlError::UnexpectedAnswer(format!("{other:?} to hello"))),
        }
    }

    /// The hypervisor's answer to `Hello`.
    #[must_use]
    pub fn hello(&self) -> &HelloAnswer {
        &self.hello
    }

    /// Frames skipped because they did not decode or did not fit.
    #[must_use]
    pub fn malformed_frames(&self) -> u64 {
        self.malformed_frames + self.receiver.dropped_frames()
    }

    /// Sends `request` and waits (up to the timeout) for the answer with its sequence number.
    /// Events that arrive meanwhile are kept for `next_event`; other frames are dropped.
    pub fn request(&mut self, request: Request) -> Result<Response, PwrctlError> {
        let sequence = self.next_sequence;
        self.next_sequence = self.next_sequence.checked_add(1).unwrap_or(HELLO_SEQUENCE + 1);
        let waiting_for = request_name(&request);
        send_request(&mut self.link, sequence, request).map_err(PwrctlError::ConnectionLost)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(position) = self.pending.iter().position(|frame| frame.sequence == sequence && !is_event(frame))
            {
                let answer = self.pending.remove(position).map(|frame| frame.response);
                self.pending.retain(is_event);
                if let Some(answer) = answer {
                    return Ok(answer);
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(PwrctlError::Timeout {
                    waiting_for: waiting_for.to_owned(),
                    seconds: self.timeout.as_secs_f64(),
                });
            }
            self.receive(deadline - now)?;
        }
    }

    /// The next event (`Response::Event`), waiting for it up to `wait` (forever if `None`).
    pub fn next_event(&mut self, wait: Option<Duration>) -> Result<Option<Response>, PwrctlError> {
        let deadline = wait.map(|wait| Instant::now() + wait);
        loop {
            self.pending.retain(is_event);
            if let Some(frame) = self.pending.pop_front() {
                return Ok(Some(frame.response));
            }
            let wait = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left,
                    _ => return Ok(None),
                },
                None => Duration::from_hours(1),
            };
            self.receive(wait)?;
        }
    }

    /// Every frame received so far and not yet taken (console mode reads them itself).
    pub fn take_frames(&mut self) -> impl Iterator<Item = ResponseFrame> + '_ {
        self.pending.drain(..)
    }

    /// Sends console text to `sink` from now on.
    pub fn set_text_sink(&mut self, sink: Box<dyn Write + Send>) {
        self.text_sink = sink;
    }

    /// A second handle on the connection, for a thread that writes while this one reads.
    pub fn try_clone_writer(&self) -> io::Result<Box<dyn Link>> {
        self.link.try_clone_link()
    }

    /// Reads what arrives within `wait` (returns early after the first chunk): text to the
    /// sink, frames to the pending queue.
    pub fn receive(&mut self, wait: Duration) -> Result<(), PwrctlError> {
        let mut chunk = [0u8; 1024];
        self.link.set_read_timeout(wait).map_err(PwrctlError::ConnectionLost)?;
        let length = match self.link.read(&mut chunk) {
            Ok(0) => {
                let closed = io::Error::new(io::ErrorKind::UnexpectedEof, "the other end closed the connection");
                return Err(PwrctlError::ConnectionLost(closed));
            }
            Ok(length) => length,
            Err(error) if is_timeout(&error) || error.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(error) => return Err(PwrctlError::ConnectionLost(error)),
        };
        let mut text = Vec::new();
        for &byte in &chunk[..length] {
            match self.receiver.feed(byte) {
                Some(Received::Text(byte)) => text.push(byte),
                Some(Received::Frame(body)) => match decode_frame::<ResponseFrame>(body) {
                    Ok(frame) => self.pending.push_back(frame),
                    Err(_) => self.malformed_frames += 1,
                },
                None => {}
            }
        }
        if !text.is_empty() {
            self.text_sink.write_all(&text).and_then(|()| self.text_sink.flush()).map_err(PwrctlError::Local)?;
        }
        Ok(())
    }
}

/// Encodes and sends one request frame.
pub fn send_request(writer: &mut dyn Write, sequence: u32, request: Request) -> io::Result<()> {
    let mut wire = vec![0u8; MAX_WIRE_FRAME];
    let frame = encode_frame(&RequestFrame { sequence, request }, &mut wire)
        .map_err(|error| io::Error::other(format!("cannot encode the request: {error:?}")))?;
    writer.write_all(frame)?;
    writer.flush()
}

/// Whether a frame is an unsolicited event.
fn is_event(frame: &ResponseFrame) -> bool {
    matches!(frame.response, Response::Event { .. })
}

/// The command name of a request, for messages.
#[must_use]
pub fn request_name(request: &Request) -> &'static str {
    match request {
        Request::Hello { .. } => "hello",
        Request::List => "list",
        Request::Show(_) => "show",
        Request::Wake(_) => "wake",
        Request::Pause(_) => "pause",
        Request::Unpause(_) => "unpause",
        Request::Reset(_) => "reset",
        Request::Off(_) => "off",
        Request::Watch(_) => "watch",
    }
}

/// Turns an answer that should be `Done` into `Ok`, and a refusal into the matching error.
pub fn expect_done(response: Response, command: &'static str, domain: &str) -> Result<(), PwrctlError> {
    match response {
        Response::Done => Ok(()),
        other => Err(refusal(other, command, domain)),
    }
}

/// The error for an answer that is not the expected one.
#[must_use]
pub fn refusal(response: Response, command: &'static str, domain: &str) -> PwrctlError {
    match response {
        Response::Error(ManagementError::UnknownDomain) => PwrctlError::UnknownDomain(domain.to_owned()),
        Response::Error(ManagementError::InvalidState(state)) => {
            PwrctlError::InvalidState { command, domain: domain.to_owned(), state }
        }
        Response::Error(ManagementError::Busy) => PwrctlError::Busy,
        Response::Error(ManagementError::VersionMismatch(theirs)) => {
            PwrctlError::VersionMismatch { ours: MANAGEMENT_VERSION, theirs }
        }
        other => PwrctlError::UnexpectedAnswer(format!("{other:?} to {command}")),
    }
}
