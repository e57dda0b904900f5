//! The terminal on standard input while `console` or `watch` runs: raw mode for `console`
//! (every keystroke, Ctrl-C included, goes to the serial line as typed), key mode for `watch`
//! (keys arrive one by one, unechoed, Ctrl-C as a byte so `watch` can stop the events before it
//! leaves; output unchanged). The previous mode comes back when the guard is dropped.

use std::io::{self, IsTerminal};
use std::os::fd::AsRawFd;

use nix::sys::termios::{LocalFlags, SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};

/// Restores the terminal mode it saved when dropped.
pub struct TerminalMode {
    saved: Termios,
}

impl TerminalMode {
    /// Puts standard input in raw mode if it is a terminal; `None` if it is not (a pipe or a
    /// file), in which case nothing changes.
    pub fn raw_if_terminal() -> io::Result<Option<Self>> {
        Self::change_if_terminal(cfmakeraw)
    }

    /// Makes standard input deliver keys one by one, unechoed, with Ctrl-C as a byte (no
    /// signal), if it is a terminal; output processing is left alone.
    pub fn keys_if_terminal() -> io::Result<Option<Self>> {
        Self::change_if_terminal(|mode| {
            mode.local_flags.remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG);
        })
    }

    fn change_if_terminal(change: impl FnOnce(&mut Termios)) -> io::Result<Option<Self>> {
        let stdin = io::stdin();
        if !stdin.is_terminal() {
            return Ok(None);
        }
        let descriptor = stdin.as_raw_fd();
        let saved = tcgetattr(descriptor).map_err(io::Error::from)?;
        let mut changed = saved.clone();
        change(&mut changed);
        tcsetattr(descriptor, SetArg::TCSAFLUSH, &changed).map_err(io::Error::from)?;
        Ok(Some(Self { saved }))
    }
}

impl Drop for TerminalMode {
    fn drop(&mut self) {
        // Nothing more can be done if the terminal went away meanwhile.
        let _ = tcsetattr(io::stdin().as_raw_fd(), SetArg::TCSAFLUSH, &self.saved);
    }
}
