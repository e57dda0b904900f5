//! What a panic in the hypervisor does: report on the console and stop the calling CPU only.

use core::panic::PanicInfo;

use crate::arch::aarch64::cpu;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let index = cpu::index();
    crate::console::write_fmt_forcibly(format_args!("somnus: panic on cpu {index}: {info}\n"));
    crate::boot::mark_stopped(index);
    cpu::stop()
}
