//! The hypervisor's console: one UART shared by all CPUs, behind a lock, with `println!`-style macros.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

use spin::Mutex;

use crate::arch::aarch64::cpu;

use crate::drivers::cadence_uart::CadenceUart;
use crate::drivers::pl011::Pl011;
use crate::platform::{UartInfo, UartKind};

/// The console UART, whichever kind the board has.
pub enum ConsoleUart {
    /// Arm PL011.
    Pl011(Pl011),
    /// Cadence UART.
    Cadence(CadenceUart),
}

impl ConsoleUart {
    /// The driver for `info`, initialised for output.
    ///
    /// # Safety
    /// `info.base` must be the UART's mapped register frame, used by nothing else.
    #[must_use]
    pub unsafe fn new(info: &UartInfo) -> Self {
        let base = info.base.0 as usize;
        match info.kind {
            UartKind::Pl011 => {
                // SAFETY: forwarded from the caller.
                let uart = unsafe { Pl011::new(base) };
                uart.init();
                Self::Pl011(uart)
            }
            UartKind::Cadence => {
                // SAFETY: forwarded from the caller.
                let uart = unsafe { CadenceUart::new(base) };
                uart.init();
                Self::Cadence(uart)
            }
        }
    }

    fn read_byte(&self) -> Option<u8> {
        match self {
            Self::Pl011(uart) => uart.read_byte(),
            Self::Cadence(uart) => uart.read_byte(),
        }
    }

    fn enable_receive_interrupt(&self) {
        match self {
            Self::Pl011(uart) => uart.enable_receive_interrupt(),
            Self::Cadence(uart) => uart.enable_receive_interrupt(),
        }
    }

    fn acknowledge_receive_interrupt(&self) {
        match self {
            Self::Pl011(uart) => uart.acknowledge_receive_interrupt(),
            Self::Cadence(uart) => uart.acknowledge_receive_interrupt(),
        }
    }

    fn write_byte(&self, byte: u8) {
        match self {
            Self::Pl011(uart) => uart.write_byte(byte),
            Self::Cadence(uart) => uart.write_byte(byte),
        }
    }
}

impl Write for ConsoleUart {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for byte in text.bytes() {
            if byte == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(byte);
        }
        Ok(())
    }
}

/// The console. Interrupt handlers print too, so the lock is only ever taken with IRQs masked.
static CONSOLE: Mutex<Option<ConsoleUart>> = Mutex::new(None);
/// A guest's unfinished line (a shell prompt) is on the console: the hypervisor's own lines
/// start on a fresh line. Changed only with the console lock held.
static LINE_OPEN: AtomicBool = AtomicBool::new(false);

/// What a line of the hypervisor or a service starts with (as opposed to a guest's text).
const HYPERVISOR_LINE: &[u8] = b"somnus: ";

/// Ends a guest's unfinished line before a line of the hypervisor.
fn close_open_line(uart: &ConsoleUart) {
    if LINE_OPEN.swap(false, Ordering::Relaxed) {
        uart.write_byte(b'\r');
        uart.write_byte(b'\n');
    }
}

/// Runs `write` on the console with IRQs masked on this CPU while the lock is held.
fn with_console(write: impl FnOnce(&mut ConsoleUart)) {
    let saved = cpu::save_and_mask_interrupts();
    if let Some(uart) = CONSOLE.lock().as_mut() {
        write(uart);
    }
    cpu::restore_interrupts(saved);
}

/// Makes `uart` the console.
pub fn install(uart: ConsoleUart) {
    let saved = cpu::save_and_mask_interrupts();
    *CONSOLE.lock() = Some(uart);
    cpu::restore_interrupts(saved);
}

/// Lets the console UART interrupt when input arrives.
pub fn enable_input() {
    with_console(|uart| uart.enable_receive_interrupt());
}

/// Takes the bytes received so far (at most `N`), acknowledging the receive interrupt first so
/// a byte that arrives meanwhile raises it again.
#[must_use]
pub fn take_input<const N: usize>() -> heapless::Vec<u8, N> {
    let mut bytes = heapless::Vec::new();
    with_console(|uart| {
        uart.acknowledge_receive_interrupt();
        while !bytes.is_full()
            && let Some(byte) = uart.read_byte()
        {
            let _ = bytes.push(byte);
        }
    });
    bytes
}

/// Writes formatted text to the console (dropped if there is none yet).
pub fn write_fmt(arguments: fmt::Arguments<'_>) {
    // Writing to a UART cannot fail.
    with_console(|uart| {
        close_open_line(uart);
        let _ = uart.write_fmt(arguments);
    });
}

/// Writes raw bytes (a guest's console line), turning each `\n` into `\r\n`.
pub fn write_bytes(bytes: &[u8]) {
    with_console(|uart| {
        if bytes.starts_with(HYPERVISOR_LINE) {
            close_open_line(uart);
        }
        if let Some(&last) = bytes.last() {
            LINE_OPEN.store(last != b'\n', Ordering::Relaxed);
        }
        for &byte in bytes {
            if byte == b'\n' {
                uart.write_byte(b'\r');
            }
            uart.write_byte(byte);
        }
    });
}

/// Writes bytes exactly as given (a management frame).
pub fn write_raw(bytes: &[u8]) {
    with_console(|uart| {
        for &byte in bytes {
            uart.write_byte(byte);
        }
    });
}

/// Writes formatted text even when another CPU holds the console lock and will never release it
/// (it stopped on an exception while printing): waits a bounded time, then writes anyway.
pub fn write_fmt_forcibly(arguments: fmt::Arguments<'_>) {
    for _ in 0..1_000_000 {
        if let Some(mut guard) = CONSOLE.try_lock() {
            if let Some(uart) = guard.as_mut() {
                let _ = uart.write_fmt(arguments);
            }
            return;
        }
        core::hint::spin_loop();
    }
    // SAFETY: the lock holder is presumed stopped; interleaved output is the worst outcome.
    unsafe { CONSOLE.force_unlock() };
    write_fmt(arguments);
}

/// Prints a line on the hypervisor console.
#[macro_export]
macro_rules! println {
    () => { $crate::console::write_fmt(format_args!("\n")) };
    ($($argument:tt)*) => {
        $crate::console::write_fmt(format_args!("{}\n", format_args!($($argument)*)))
    };
}
