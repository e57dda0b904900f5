//! The byte stream to the hypervisor's serial line: a Unix socket, a TCP socket or a serial
//! device, behind one small trait.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use serialport::SerialPort;

use crate::cli::Target;
use crate::error::PwrctlError;

/// Shortest read timeout handed to the system (a zero timeout means "none" or is refused).
const SHORTEST_TIMEOUT: Duration = Duration::from_millis(1);

/// A connection to the serial line.
pub trait Link: Read + Write + Send {
    /// Makes the next reads return `TimedOut` or `WouldBlock` after `timeout` without data.
    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()>;
    /// A second handle to the same connection (one thread reads, another writes).
    fn try_clone_link(&self) -> io::Result<Box<dyn Link>>;
}

impl Link for UnixStream {
    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        UnixStream::set_read_timeout(self, Some(timeout.max(SHORTEST_TIMEOUT)))
    }

    fn try_clone_link(&self) -> io::Result<Box<dyn Link>> {
        Ok(Box::new(self.try_clone()?))
    }
}

impl Link for TcpStream {
    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        TcpStream::set_read_timeout(self, Some(timeout.max(SHORTEST_TIMEOUT)))
    }

    fn try_clone_link(&self) -> io::Result<Box<dyn Link>> {
        Ok(Box::new(self.try_clone()?))
    }
}

/// A serial device, as the `serialport` crate opens it.
struct SerialLink(Box<dyn SerialPort>);

impl Read for SerialLink {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.0.read(buffer)
    }
}

impl Write for SerialLink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Link for SerialLink {
    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.0.set_timeout(timeout.max(SHORTEST_TIMEOUT)).map_err(io::Error::from)
    }

    fn try_clone_link(&self) -> io::Result<Box<dyn Link>> {
        Ok(Box::new(SerialLink(self.0.try_clone().map_err(io::Error::from)?)))
    }
}

/// Opens the connection `--connect` names.
pub fn open(target: &Target, baud: u32, timeout: Duration) -> Result<Box<dyn Link>, PwrctlError> {
    let failed = |source: io::Error| PwrctlError::CannotConnect { target: target.to_string(), source };
    let link: Box<dyn Link> = match target {
        Target::Unix(path) => Box::new(UnixStream::connect(path).map_err(failed)?),
        Target::Tcp(address) => {
            let stream = TcpStream::connect(address.as_str()).map_err(failed)?;
            stream.set_nodelay(true).map_err(failed)?;
            Box::new(stream)
        }
        Target::Serial(path) => {
            let port = serialport::new(path.to_string_lossy(), baud)
                .timeout(timeout)
                .open()
                .map_err(|error| failed(io::Error::from(error)))?;
            Box::new(SerialLink(port))
        }
    };
    Ok(link)
}

/// Whether a read error only means "nothing arrived in time".
#[must_use]
pub fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)
}
